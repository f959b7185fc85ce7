//! Short free-text values (names, labels, address lines) and the one rule
//! they share: trimmed, NFC-normalised, non-empty, bounded, and free of
//! control and format characters.
//!
//! NFC keeps a visually identical name from being stored in two byte forms;
//! refusing control characters keeps terminal escapes, NULs and line breaks
//! out of logs and of the single-line fields other systems display; refusing
//! format characters (bidi overrides, embeddings, isolates and marks,
//! zero-width space, soft hyphen, tag characters) and blank glyphs keeps a
//! name from reordering the text it is shown in (`\u{202e}` turns
//! `Bob\u{202e}nimda` into "Bobadmin" on screen) or from hiding what it
//! holds. The zero-width joiner and non-joiner stay allowed: Persian and
//! Indic spelling and emoji sequences need them.

use serde::{Deserialize, Serialize};
use unicode_normalization::UnicodeNormalization;

use super::charset::refused_in_text;
use crate::error::ValueError;

/// Which characters, beyond the common rules, a text value may contain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Lines {
    /// One line: no control character at all.
    Single,
    /// Free text: line feeds and tabs allowed, other control characters not.
    Multi,
    /// A token: no whitespace of any kind and no control character.
    NoWhitespace,
}

/// The shared rule of every bounded text value. Returns the normalised text.
fn parse_bounded(input: &str, max_chars: usize, lines: Lines) -> Result<String, ValueError> {
    // Trim before and after NFC so that the result is a fixed point: parsing
    // the rendered value gives the same value back.
    let normalised: String = input.trim().nfc().collect();
    let value = normalised.trim();
    if value.is_empty() {
        return Err(ValueError::required());
    }
    let allowed = |c: char| match lines {
        Lines::Single => !c.is_control(),
        Lines::Multi => !c.is_control() || c == '\n' || c == '\t',
        Lines::NoWhitespace => !c.is_control() && !c.is_whitespace(),
    };
    if !value.chars().all(allowed) {
        let message = match lines {
            Lines::Single => "must not contain control characters or line breaks",
            Lines::Multi => "must not contain control characters other than line breaks and tabs",
            Lines::NoWhitespace => "must not contain whitespace or control characters",
        };
        return Err(ValueError::new("invalid_characters", message));
    }
    if value.chars().any(refused_in_text) {
        return Err(ValueError::new(
            "invalid_characters",
            "must not contain format, bidirectional, invisible or line-separator characters",
        ));
    }
    if value.chars().count() > max_chars {
        return Err(ValueError::new(
            "too_long",
            format!("must be at most {max_chars} characters"),
        ));
    }
    Ok(value.to_owned())
}

macro_rules! bounded_text {
    ($(#[$doc:meta])* $name:ident, $max:expr, $lines:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            /// The longest accepted value, in Unicode scalar values (`char`s).
            pub const MAX_CHARS: usize = $max;

            /// Trims and NFC-normalises `input`, then checks it is non-empty,
            /// at most [`Self::MAX_CHARS`] characters and free of forbidden
            /// characters.
            pub fn parse(input: &str) -> Result<Self, ValueError> {
                parse_bounded(input, Self::MAX_CHARS, $lines).map(Self)
            }

            /// The normalised text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        string_conversions!($name);
    };
}

bounded_text!(
    /// One part of a person's name (first, middle or last).
    PersonName, 100, Lines::Single
);
bounded_text!(
    /// A title or salutation such as "Dr." or "Ms".
    Title, 50, Lines::Single
);
bounded_text!(
    /// Free-form remarks about a user; may span lines.
    Remarks, 1000, Lines::Multi
);
bounded_text!(
    /// A blockchain wallet address (cl2c); a token, so no whitespace at all.
    WalletAddress, 128, Lines::NoWhitespace
);
bounded_text!(
    /// A label attached to a user (Blocks `tags`).
    Tag, 64, Lines::Single
);
bounded_text!(
    /// The platform a user belongs to (Blocks `platform`).
    Platform, 32, Lines::Single
);
bounded_text!(
    /// An organization's id as the client names it (Blocks `organizationId`);
    /// opaque to userhub, hence text rather than a UUID.
    OrganizationId, 128, Lines::Single
);
bounded_text!(
    /// The id an identity provider gives a user or group (SCIM `externalId`):
    /// unique per tenant and compared exactly (case-sensitive), as the
    /// provider issued it.
    ExternalId, 255, Lines::Single
);
bounded_text!(
    /// A group's display name (SCIM `displayName`).
    GroupName, 256, Lines::Single
);
bounded_text!(
    /// A role held within an organization (distinct from the user's global [`Role`](super::Role)).
    MembershipRole, 64, Lines::Single
);
bounded_text!(
    /// A permission granted within an organization.
    Permission, 128, Lines::Single
);
bounded_text!(
    /// The company an account belongs to.
    Company, 200, Lines::Single
);
bounded_text!(
    /// The industry of an account's company.
    Industry, 100, Lines::Single
);
bounded_text!(
    /// Where an account is based, as free text.
    Location, 200, Lines::Single
);
bounded_text!(
    /// An opaque id of a stored profile picture (Blocks `profileImageId`).
    PictureId, 128, Lines::Single
);
bounded_text!(
    /// One component of a postal address (city, street, postal code, ...).
    AddressLine, 200, Lines::Single
);
bounded_text!(
    /// Where the last authentication happened, as the client reports it (cl2c `authLocation`).
    AuthLocation, 200, Lines::Single
);
bounded_text!(
    /// The value of a custom attribute. Never empty: an empty value means
    /// "remove the attribute", which the dialect handles before parsing.
    AttributeValue, 1024, Lines::Single
);

/// An absolute `http` or `https` URL of a profile picture.
///
/// Only web URLs are accepted so that a client rendering the picture cannot be
/// handed a `javascript:` or `file:` URL. The text is kept as given (trimmed).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PictureUrl(String);

impl PictureUrl {
    /// The longest accepted URL, in characters.
    pub const MAX_CHARS: usize = 2048;

    /// Checks that `input` (trimmed) is an absolute `http://` or `https://`
    /// URL with a non-empty host, without whitespace, of at most
    /// [`Self::MAX_CHARS`] characters.
    pub fn parse(input: &str) -> Result<Self, ValueError> {
        let value = input.trim();
        if value.is_empty() {
            return Err(ValueError::required());
        }
        if value.chars().count() > Self::MAX_CHARS {
            return Err(ValueError::new(
                "too_long",
                format!("must be at most {} characters", Self::MAX_CHARS),
            ));
        }
        if value.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(invalid_url(
                "must not contain whitespace or control characters",
            ));
        }
        let rest = strip_prefix_ignore_ascii_case(value, "https://")
            .or_else(|| strip_prefix_ignore_ascii_case(value, "http://"))
            .ok_or_else(|| invalid_url("must be an absolute http:// or https:// URL"))?;
        let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
        let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
        if !valid_host_port(host_port) {
            return Err(invalid_url("must name a valid host"));
        }
        Ok(Self(value.to_owned()))
    }

    /// The URL as given (trimmed).
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

string_conversions!(PictureUrl);

fn invalid_url(message: &str) -> ValueError {
    ValueError::new("invalid_url", message)
}

fn strip_prefix_ignore_ascii_case<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| s.get(prefix.len()..))
        .flatten()
}

/// A host name (letters, digits, `-`, `.`, `_`, `%` escapes; IDNs allowed) or
/// a bracketed IPv6 literal, optionally followed by `:port`.
fn valid_host_port(host_port: &str) -> bool {
    let (host, port) = if let Some(bracketed) = host_port.strip_prefix('[') {
        let Some((inner, after)) = bracketed.split_once(']') else {
            return false;
        };
        if inner.is_empty()
            || !inner
                .chars()
                .all(|c| c.is_ascii_hexdigit() || c == ':' || c == '.')
        {
            return false;
        }
        match after {
            "" => return true,
            _ => match after.strip_prefix(':') {
                Some(port) => ("ipv6", Some(port)),
                None => return false,
            },
        }
    } else {
        match host_port.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (host_port, None),
        }
    };
    let host_ok = !host.is_empty()
        && host
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '-' | '.' | '_' | '%'))
        && host.chars().any(char::is_alphanumeric);
    let port_ok =
        port.is_none_or(|p| !p.is_empty() && p.len() <= 5 && p.bytes().all(|b| b.is_ascii_digit()));
    host_ok && port_ok
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn trims_and_normalises_to_nfc() {
        // "é" as e + combining acute becomes the single precomposed character.
        let name = PersonName::parse("  Jose\u{301} ").unwrap();
        assert_eq!(name.as_str(), "Jos\u{e9}");
        assert_eq!(name, PersonName::parse("Jos\u{e9}").unwrap());
    }

    #[test]
    fn valid_examples() {
        assert!(PersonName::parse("John").is_ok());
        assert!(Title::parse("Dr.").is_ok());
        assert!(Remarks::parse("line one\nline two\tend").is_ok());
        assert!(WalletAddress::parse("0x52908400098527886E0F7030069857D2E4169EE7").is_ok());
        assert!(Tag::parse("vip").is_ok());
        assert!(Platform::parse("web").is_ok());
        assert!(OrganizationId::parse("org-42").is_ok());
        assert!(MembershipRole::parse("owner").is_ok());
        assert!(Permission::parse("users.read").is_ok());
        assert!(Company::parse("Acme AG").is_ok());
        assert!(Industry::parse("Software").is_ok());
        assert!(Location::parse("Zürich").is_ok());
        assert!(PictureId::parse("pic-1").is_ok());
        assert!(AddressLine::parse("Bahnhofstrasse 1").is_ok());
        assert!(AuthLocation::parse("Istanbul, TR").is_ok());
        assert!(AttributeValue::parse("blue").is_ok());
    }

    #[test]
    fn rejects_blank_as_required() {
        for input in ["", "   ", "\n\t"] {
            assert_eq!(PersonName::parse(input).unwrap_err().code, "required");
            assert_eq!(Remarks::parse(input).unwrap_err().code, "required");
            assert_eq!(AttributeValue::parse(input).unwrap_err().code, "required");
        }
    }

    #[test]
    fn rejects_control_characters() {
        for input in ["a\u{0}b", "a\nb", "a\rb", "esc\u{1b}[31m", "a\u{7f}"] {
            assert_eq!(
                PersonName::parse(input).unwrap_err().code,
                "invalid_characters",
                "{input:?}"
            );
        }
        assert_eq!(
            Remarks::parse("a\rb").unwrap_err().code,
            "invalid_characters"
        );
        assert_eq!(
            Remarks::parse("a\u{0}b").unwrap_err().code,
            "invalid_characters"
        );
        assert_eq!(
            WalletAddress::parse("0xab cd").unwrap_err().code,
            "invalid_characters"
        );
        assert_eq!(
            WalletAddress::parse("0xab\u{a0}cd").unwrap_err().code,
            "invalid_characters"
        );
    }

    #[test]
    fn rejects_format_and_bidi_characters() {
        // Zero width space, soft hyphen, right-to-left override, embedding,
        // isolate, right-to-left mark, BOM, word joiner, a tag character,
        // the Unicode line separator, Hangul filler.
        for input in [
            "al\u{200b}ice",
            "Mül\u{ad}ler",
            "Bob\u{202e}nimda",
            "a\u{202b}b",
            "a\u{2067}b\u{2069}",
            "\u{200f}Dana",
            "\u{feff}Ann",
            "a\u{2060}b",
            "a\u{e0041}",
            "a\u{2028}b",
            "\u{3164}",
        ] {
            assert_eq!(
                PersonName::parse(input).unwrap_err().code,
                "invalid_characters",
                "{input:?}"
            );
            assert_eq!(
                Title::parse(input).unwrap_err().code,
                "invalid_characters",
                "{input:?}"
            );
            assert_eq!(
                Remarks::parse(input).unwrap_err().code,
                "invalid_characters",
                "{input:?}"
            );
            assert_eq!(
                WalletAddress::parse(input).unwrap_err().code,
                "invalid_characters",
                "{input:?}"
            );
        }
        let err = PersonName::parse("Bob\u{202e}nimda").unwrap_err();
        assert!(!err.message.contains("nimda"), "{}", err.message);
    }

    #[test]
    fn keeps_joiners_and_variation_selectors() {
        // Persian "Mohammadreza" with a zero-width non-joiner; a family
        // emoji joined with U+200D; a heart with its emoji presentation
        // selector; a Japanese name with an ideographic variation selector.
        for input in [
            "\u{645}\u{62d}\u{645}\u{62f}\u{200c}\u{631}\u{636}\u{627}",
            "\u{1f468}\u{200d}\u{1f469}\u{200d}\u{1f467}",
            "\u{2764}\u{fe0f}",
            "\u{8fbb}\u{e0100}",
        ] {
            assert_eq!(PersonName::parse(input).unwrap().as_str(), input);
        }
    }

    #[test]
    fn enforces_length_in_characters_not_bytes() {
        // 100 two-byte characters fit; 101 do not.
        assert!(PersonName::parse(&"ü".repeat(100)).is_ok());
        let err = PersonName::parse(&"ü".repeat(101)).unwrap_err();
        assert_eq!(err.code, "too_long");
        assert_eq!(err.message, "must be at most 100 characters");
        assert_eq!(Title::parse(&"a".repeat(51)).unwrap_err().code, "too_long");
        assert_eq!(
            Remarks::parse(&"a".repeat(1001)).unwrap_err().code,
            "too_long"
        );
        assert_eq!(
            Platform::parse(&"a".repeat(33)).unwrap_err().code,
            "too_long"
        );
        assert_eq!(
            AttributeValue::parse(&"a".repeat(1025)).unwrap_err().code,
            "too_long"
        );
        assert!(AttributeValue::parse(&"a".repeat(1024)).is_ok());
    }

    #[test]
    fn serde_revalidates() {
        let tag: Tag = serde_json::from_str("\" vip \"").unwrap();
        assert_eq!(tag.as_str(), "vip");
        assert_eq!(serde_json::to_string(&tag).unwrap(), "\"vip\"");
        assert!(serde_json::from_str::<Tag>("\"\"").is_err());
    }

    #[test]
    fn picture_url_valid() {
        for input in [
            "https://example.com/p/1.png",
            "http://example.com",
            "HTTPS://cdn.example.com:8443/a?b=c#d",
            "https://user@example.com/x",
            "https://[2001:db8::1]:8080/x",
            "https://bücher.example/x.jpg",
        ] {
            assert_eq!(PictureUrl::parse(input).unwrap().as_str(), input);
        }
    }

    #[test]
    fn picture_url_invalid() {
        for input in [
            "javascript:alert(1)",
            "ftp://example.com/x",
            "//example.com/x",
            "https://",
            "https:///path",
            "https://exa mple.com",
            "https://example.com:port/",
            "https://[::1/x",
            "example.com/x.png",
        ] {
            assert_eq!(
                PictureUrl::parse(input).unwrap_err().code,
                "invalid_url",
                "{input}"
            );
        }
        assert_eq!(PictureUrl::parse("").unwrap_err().code, "required");
        let long = format!("https://example.com/{}", "a".repeat(2048));
        assert_eq!(PictureUrl::parse(&long).unwrap_err().code, "too_long");
    }

    proptest! {
        #[test]
        fn single_line_round_trips(s in "\\PC{1,120}") {
            if let Ok(name) = PersonName::parse(&s) {
                prop_assert_eq!(PersonName::parse(name.as_str()).unwrap(), name.clone());
                prop_assert_eq!(PersonName::parse(&format!("{name}")).unwrap(), name);
            }
        }

        #[test]
        fn multi_line_round_trips(s in "[\\PC\n\t]{1,200}") {
            if let Ok(remarks) = Remarks::parse(&s) {
                prop_assert_eq!(Remarks::parse(remarks.as_str()).unwrap(), remarks);
            }
        }

        #[test]
        fn token_round_trips(s in "[[:alnum:]]{1,128}") {
            let wallet = WalletAddress::parse(&s).unwrap();
            prop_assert_eq!(WalletAddress::parse(wallet.as_str()).unwrap(), wallet);
        }

        #[test]
        fn every_bounded_type_round_trips(s in "[a-zA-Z0-9 ,.'-]{0,30}[a-zA-Z]") {
            macro_rules! check {
                ($($ty:ty),*) => {$(
                    let v = <$ty>::parse(&s).unwrap();
                    prop_assert_eq!(<$ty>::parse(v.as_str()).unwrap(), v);
                )*};
            }
            check!(PersonName, Title, Remarks, Tag, Platform, OrganizationId, MembershipRole,
                Permission, Company, Industry, Location, PictureId, AddressLine, AuthLocation,
                AttributeValue);
        }

        #[test]
        fn picture_url_round_trips(host in "[a-z][a-z0-9-]{0,20}(\\.[a-z]{2,6}){1,2}", path in "(/[a-zA-Z0-9._~-]{0,10}){0,4}") {
            let url = PictureUrl::parse(&format!("https://{host}{path}")).unwrap();
            prop_assert_eq!(PictureUrl::parse(url.as_str()).unwrap(), url);
        }

        #[test]
        fn never_panics(s in "\\PC*") {
            let _ = PersonName::parse(&s);
            let _ = PictureUrl::parse(&s);
        }
    }
}
