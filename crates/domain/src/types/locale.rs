//! A user's locale, stored in one canonical BCP 47 form whatever form the
//! dialect sent (iklim `tr_TR`, Nevis `en`, Blocks `en-US`), so that values
//! compare and filter equal across dialects.

use serde::{Deserialize, Serialize};

use crate::error::ValueError;

/// A language tag of the shape `language[-Script][-REGION]`.
///
/// Language is 2–3 ASCII letters, script 4 letters, region 2 letters or 3
/// digits (UN M.49, e.g. `es-419`); `-` and `_` both separate, and input case
/// does not matter. Stored canonically: `tr-TR`, `zh-Hant-TW`, `en`.
/// Subtags are checked for shape only, not against the IANA registry.
///
/// ```
/// use userhub_domain::types::Locale;
///
/// let locale = Locale::parse("tr_TR").unwrap();
/// assert_eq!(locale.as_str(), "tr-TR");
/// assert_eq!(locale.to_posix(), "tr_TR");
/// assert_eq!(locale.language(), "tr");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Locale(String);

impl Locale {
    /// Parses `tr_TR`, `tr-TR`, `en`, `en-US`, `zh-Hant-TW`, `es-419` and the like.
    pub fn parse(input: &str) -> Result<Self, ValueError> {
        let input = input.trim();
        if input.is_empty() {
            return Err(ValueError::required());
        }
        let invalid = || {
            ValueError::new(
                "invalid_format",
                "must be a language tag such as en, en-US or zh-Hant-TW",
            )
        };
        let mut parts = input.split(['-', '_']);
        let language = parts.next().unwrap_or_default();
        if !(2..=3).contains(&language.len()) || !language.bytes().all(|b| b.is_ascii_alphabetic())
        {
            return Err(invalid());
        }
        let mut canonical = language.to_ascii_lowercase();
        let mut next = parts.next();
        if let Some(script) =
            next.filter(|s| s.len() == 4 && s.bytes().all(|b| b.is_ascii_alphabetic()))
        {
            canonical.push('-');
            canonical.push_str(&script[..1].to_ascii_uppercase());
            canonical.push_str(&script[1..].to_ascii_lowercase());
            next = parts.next();
        }
        if let Some(region) = next {
            let letters = region.len() == 2 && region.bytes().all(|b| b.is_ascii_alphabetic());
            let digits = region.len() == 3 && region.bytes().all(|b| b.is_ascii_digit());
            if !(letters || digits) {
                return Err(invalid());
            }
            canonical.push('-');
            canonical.push_str(&region.to_ascii_uppercase());
        }
        if parts.next().is_some() {
            return Err(invalid());
        }
        Ok(Self(canonical))
    }

    /// The canonical BCP 47 tag (`tr-TR`).
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The POSIX-style form with `_` separators (`tr_TR`), as iklim writes it.
    pub fn to_posix(&self) -> String {
        self.0.replace('-', "_")
    }

    /// The language subtag, lowercase (`tr` of `tr-TR`).
    pub fn language(&self) -> &str {
        self.0.split('-').next().unwrap_or_default()
    }
}

string_conversions!(Locale);

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn canonicalises_documented_forms() {
        for (input, bcp47, posix) in [
            ("tr_TR", "tr-TR", "tr_TR"),
            ("tr-TR", "tr-TR", "tr_TR"),
            ("en", "en", "en"),
            ("en-US", "en-US", "en_US"),
            ("EN-us", "en-US", "en_US"),
            ("zh-Hant-TW", "zh-Hant-TW", "zh_Hant_TW"),
            ("ZH_hANT_tw", "zh-Hant-TW", "zh_Hant_TW"),
            ("sr-Latn", "sr-Latn", "sr_Latn"),
            ("es-419", "es-419", "es_419"),
            ("gsw-CH", "gsw-CH", "gsw_CH"),
            (" de ", "de", "de"),
        ] {
            let locale = Locale::parse(input).unwrap();
            assert_eq!(locale.as_str(), bcp47, "{input}");
            assert_eq!(locale.to_posix(), posix, "{input}");
        }
        assert_eq!(Locale::parse("zh-Hant-TW").unwrap().language(), "zh");
        assert_eq!(
            Locale::parse("tr_TR").unwrap(),
            Locale::parse("tr-TR").unwrap()
        );
    }

    #[test]
    fn rejects_other_shapes() {
        for input in [
            "e",
            "english",
            "en-",
            "en--US",
            "en_US.UTF-8",
            "en-USA",
            "en-1234",
            "en-U1",
            "en-US-x",
            "en-Latn-US-extra",
            "1en",
            "tr TR",
            "é",
            "en-Latn-Hant",
        ] {
            assert_eq!(
                Locale::parse(input).unwrap_err().code,
                "invalid_format",
                "{input}"
            );
        }
        assert_eq!(Locale::parse("").unwrap_err().code, "required");
    }

    #[test]
    fn serde_uses_bcp47() {
        let locale: Locale = serde_json::from_str("\"tr_TR\"").unwrap();
        assert_eq!(serde_json::to_string(&locale).unwrap(), "\"tr-TR\"");
    }

    proptest! {
        #[test]
        fn round_trips_through_both_forms(s in "[a-zA-Z]{2,3}([-_][a-zA-Z]{4})?([-_]([a-zA-Z]{2}|[0-9]{3}))?") {
            let locale = Locale::parse(&s).unwrap();
            prop_assert_eq!(Locale::parse(locale.as_str()).unwrap(), locale.clone());
            prop_assert_eq!(Locale::parse(&locale.to_posix()).unwrap(), locale.clone());
            prop_assert_eq!(Locale::parse(&format!("{locale}")).unwrap(), locale);
        }

        #[test]
        fn never_panics(s in "\\PC*") {
            let _ = Locale::parse(&s);
        }
    }
}
