//! Countries, as ISO 3166-1 alpha-2 codes (Nevis `address.countryCode`).

use serde::{Deserialize, Serialize};

use crate::error::ValueError;

/// An assigned ISO 3166-1 alpha-2 country code, stored uppercase (`CH`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct CountryCode([u8; 2]);

impl CountryCode {
    /// Accepts a code in any case (`ch`, `CH`); refuses codes that are not
    /// assigned (`XX`).
    pub fn parse(input: &str) -> Result<Self, ValueError> {
        let code = input.trim();
        if code.is_empty() {
            return Err(ValueError::required());
        }
        let [a, b] = <[u8; 2]>::try_from(code.as_bytes())
            .ok()
            .filter(|bytes| bytes.iter().all(u8::is_ascii_alphabetic))
            .ok_or_else(|| {
                ValueError::new("invalid_format", "must be a two-letter ISO 3166-1 code")
            })?;
        celes::Country::from_alpha2(code).map_err(|_| {
            ValueError::new(
                "unknown_country",
                "must be an assigned ISO 3166-1 alpha-2 code",
            )
        })?;
        Ok(Self([a.to_ascii_uppercase(), b.to_ascii_uppercase()]))
    }

    /// The uppercase code.
    pub fn as_str(&self) -> &str {
        // Built only from two ASCII letters, so this never falls back.
        std::str::from_utf8(&self.0).unwrap_or_default()
    }

    /// The country's English name (`Switzerland`).
    pub fn name(&self) -> &'static str {
        celes::Country::from_alpha2(self.as_str()).map_or("", |c| c.long_name)
    }
}

string_conversions!(CountryCode);

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn accepts_assigned_codes_in_any_case() {
        for (input, code) in [
            ("CH", "CH"),
            ("ch", "CH"),
            ("Tr", "TR"),
            (" us ", "US"),
            ("DE", "DE"),
        ] {
            assert_eq!(CountryCode::parse(input).unwrap().as_str(), code);
        }
        assert_eq!(CountryCode::parse("CH").unwrap().name(), "Switzerland");
    }

    #[test]
    fn rejects_unassigned_and_malformed_codes() {
        for input in ["XX", "ZZ", "UK", "QQ"] {
            assert_eq!(
                CountryCode::parse(input).unwrap_err().code,
                "unknown_country",
                "{input}"
            );
        }
        for input in ["CHE", "C", "C1", "12", "ÇH", "Ｃ"] {
            assert_eq!(
                CountryCode::parse(input).unwrap_err().code,
                "invalid_format",
                "{input}"
            );
        }
        assert_eq!(CountryCode::parse("").unwrap_err().code, "required");
    }

    #[test]
    fn serde_revalidates() {
        let code: CountryCode = serde_json::from_str("\"ch\"").unwrap();
        assert_eq!(serde_json::to_string(&code).unwrap(), "\"CH\"");
        assert!(serde_json::from_str::<CountryCode>("\"XX\"").is_err());
    }

    proptest! {
        #[test]
        fn round_trips(s in "[a-zA-Z]{2}") {
            if let Ok(code) = CountryCode::parse(&s) {
                prop_assert_eq!(CountryCode::parse(code.as_str()).unwrap(), code);
                prop_assert_eq!(code.as_str(), s.to_ascii_uppercase());
            }
        }

        #[test]
        fn never_panics(s in "\\PC*") {
            let _ = CountryCode::parse(&s);
        }
    }
}
