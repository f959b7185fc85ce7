//! Usernames and e-mail addresses, and the keys that make them unique.
//!
//! The display form is kept as the user typed it (trimmed, NFC), but two
//! values that differ only in letter case or in Unicode compatibility forms
//! (full-width letters, ligatures) must not both be registered: otherwise
//! `alice` and `ＡＬＩＣＥ` could impersonate each other. The key — NFKC, then
//! lowercase, repeated to a fixed point — is what storage makes unique, and
//! what lookups, logins, filters and sorting use.
//!
//! Usernames have a second unique value, the [`UsernameSkeleton`]: the UTS #39
//! confusable skeleton of the key, so that Cyrillic `аlice` is refused while
//! Latin `alice` is taken. It is only ever compared for equality, never used
//! to find a user: a skeleton lookup would let `rnary` log in as `mary`.
//!
//! Both identifiers refuse the characters that make a value look like
//! another one or like nothing (see the `charset` module): zero-width and
//! format characters, bidi controls, default ignorable, unassigned and
//! private-use code points.

use serde::{Deserialize, Serialize};
use unicode_normalization::UnicodeNormalization;

use super::charset::refused_in_identifier;
use crate::error::ValueError;

/// The case-insensitive NFKC key of `s`: what [`Username::key`] and
/// [`Email::key`] compute, public for matching key prefixes in list filters.
///
/// `nfkc(lowercase(nfkc(s)))`, repeated until nothing changes, so that the key
/// of a key is the key itself (a few characters only normalise fully after a
/// second pass). Converges in one or two rounds; the bound is a safety net.
pub fn uniqueness_key(s: &str) -> String {
    let mut key: String = s.nfkc().collect::<String>().to_lowercase().nfkc().collect();
    for _ in 0..8 {
        let next: String = key.to_lowercase().nfkc().collect();
        if next == key {
            break;
        }
        key = next;
    }
    key
}

/// The UTS #39 skeleton of a key, lowercased, repeated to a fixed point.
///
/// Lowercased because the confusables table's prototypes are sometimes
/// capitals (`0` maps to `O`) while keys are lowercase: without it `0` would
/// look like `O` but not like `o`. Repeated because lowercasing a prototype
/// can yield a character that has a prototype of its own; over every code
/// point one extra round suffices, the bound is a safety net.
fn skeleton_of(key: &str) -> String {
    let round = |s: &str| -> String {
        unicode_security::skeleton(s)
            .collect::<String>()
            .to_lowercase()
            .nfd()
            .collect()
    };
    let mut skeleton = round(key);
    for _ in 0..8 {
        let next = round(&skeleton);
        if next == skeleton {
            break;
        }
        skeleton = next;
    }
    skeleton
}

/// An e-mail address used as a login name (iklim's `username`, Nevis's
/// `loginId`): it becomes both the user's username and e-mail. One error at
/// most, the e-mail's if it is not one.
///
/// ```
/// use userhub_domain::types::email_login;
///
/// let (username, email) = email_login("Jane@Example.com").unwrap();
/// assert_eq!((username.as_str(), email.as_str()), ("Jane@Example.com", "Jane@Example.com"));
/// assert!(email_login("jane").is_err());
/// ```
pub fn email_login(raw: &str) -> Result<(Username, Email), ValueError> {
    let email = Email::parse(raw)?;
    Ok((Username::parse(raw)?, email))
}

/// Trimmed, NFC-normalised display form.
fn display_form(input: &str) -> String {
    input.trim().nfc().collect::<String>().trim().to_owned()
}

/// Which rule about characters `s` breaks, as a message for a person, or
/// `None`. Names the rule, never the value or the character (which may not
/// even display). Whitespace and control characters keep the message they
/// always had; the rest of the profile has its own.
fn refused_characters(s: &str) -> Option<&'static str> {
    if s.chars().any(|c| c.is_whitespace() || c.is_control()) {
        Some("must not contain whitespace or control characters")
    } else if s.chars().any(refused_in_identifier) {
        Some(
            "must not contain format, bidirectional, invisible, private-use or unassigned \
             characters",
        )
    } else {
        None
    }
}

/// A login name, unique per tenant case-insensitively (see [`UsernameKey`]).
///
/// It may be an e-mail address (`newuser@example.com`) or a plain name
/// (`johndoe`). 1 to 128 characters, none of them whitespace, control,
/// format (zero-width, bidi controls, soft hyphen), default ignorable,
/// private-use or unassigned — in the display form and in its key, so that a
/// key can always be parsed back as a username. This is the one username
/// rule: every dialect parses its username field with it.
///
/// ```
/// use userhub_domain::types::Username;
///
/// let display = Username::parse("JohnDoe").unwrap();
/// assert_eq!(display.as_str(), "JohnDoe");
/// assert_eq!(display.key(), Username::parse("ｊｏｈｎｄｏｅ").unwrap().key());
/// assert_eq!(Username::parse("john doe").unwrap_err().code, "invalid_characters");
/// assert_eq!(Username::parse("john\u{200b}doe").unwrap_err().code, "invalid_characters");
///
/// // Cyrillic "а" looks like Latin "a": different keys, the same skeleton.
/// let latin = Username::parse("alice").unwrap();
/// let cyrillic = Username::parse("\u{430}lice").unwrap();
/// assert_ne!(latin.key(), cyrillic.key());
/// assert_eq!(latin.skeleton(), cyrillic.skeleton());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Username(String);

impl Username {
    /// The longest accepted username, in characters.
    pub const MAX_CHARS: usize = 128;

    /// Trims and NFC-normalises `input` and checks the username rules.
    pub fn parse(input: &str) -> Result<Self, ValueError> {
        let display = display_form(input);
        if display.is_empty() {
            return Err(ValueError::required());
        }
        if let Some(message) = refused_characters(&display) {
            return Err(ValueError::new("invalid_characters", message));
        }
        if display.chars().count() > Self::MAX_CHARS {
            return Err(ValueError::new(
                "too_long",
                format!("must be at most {} characters", Self::MAX_CHARS),
            ));
        }
        // A few compatibility characters expand (U+FB03 becomes `ffi`) or
        // decompose to a space (U+00A8): refuse them, or the key would not be
        // a username itself.
        let key = uniqueness_key(&display);
        if refused_characters(&key).is_some() {
            return Err(ValueError::new(
                "invalid_characters",
                "must not contain characters that normalise to whitespace",
            ));
        }
        if key.chars().count() > Self::MAX_CHARS {
            return Err(ValueError::new(
                "too_long",
                format!(
                    "must be at most {} characters after normalisation",
                    Self::MAX_CHARS
                ),
            ));
        }
        Ok(Self(display))
    }

    /// The username as given (trimmed, NFC).
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The uniqueness key: equal for usernames that differ only in case or
    /// compatibility form.
    pub fn key(&self) -> UsernameKey {
        UsernameKey(uniqueness_key(&self.0))
    }

    /// The confusable skeleton: equal for usernames that look alike (see
    /// [`UsernameSkeleton`]).
    pub fn skeleton(&self) -> UsernameSkeleton {
        UsernameSkeleton(skeleton_of(&uniqueness_key(&self.0)))
    }
}

string_conversions!(Username);

/// The value storage makes unique per tenant for usernames. Only obtainable
/// from [`Username::key`], so it is always correctly normalised.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct UsernameKey(String);

impl UsernameKey {
    /// The key's text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for UsernameKey {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for UsernameKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// The second value storage makes unique per tenant for usernames: the
/// UTS #39 confusable skeleton of the [`UsernameKey`], lowercased.
///
/// Two usernames with the same skeleton look alike in common fonts —
/// Cyrillic `аlice` and Latin `alice`, `ｐａｙｐａｌ` and `paypal`, `mary` and
/// `rnary`, and also `paypa1` and `paypal` or `b0b` and `bob`: the Unicode
/// table maps the digits `1` and `0` to `l` and `o`, and we keep that,
/// because in many fonts they are told apart only with effort, which is
/// what an impersonator counts on. The price is that such a pair cannot
/// both be registered in one tenant.
///
/// Computed from the key, so it is case-insensitive like the key: `ALICE`
/// and `аlice` collide because their lowercase forms look alike. The price
/// is that confusions which exist only between capitals (Greek `Η` and
/// Latin `H` — their lowercase forms `η` and `h` differ — or capital `I`
/// and small `l`) are not caught; a skeleton of the uppercased key in a
/// further unique column would catch them.
///
/// Only obtainable from [`Username::skeleton`]. Never a lookup key: it is
/// not a username (`rnary`'s skeleton is that of `mary`), it only decides
/// whether a new or renamed username is taken.
///
/// ```
/// use userhub_domain::types::Username;
///
/// let skeleton = |s: &str| Username::parse(s).unwrap().skeleton();
/// assert_eq!(skeleton("PayPal"), skeleton("\u{ff50}\u{ff41}\u{ff59}\u{ff50}\u{ff41}\u{ff4c}"));
/// assert_eq!(skeleton("paypal"), skeleton("paypa1"));
/// assert_ne!(skeleton("alice"), skeleton("alicia"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct UsernameSkeleton(String);

impl UsernameSkeleton {
    /// The skeleton's text (NFD; not meant for display).
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for UsernameSkeleton {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for UsernameSkeleton {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// An e-mail address, unique per tenant case-insensitively (see [`EmailKey`]).
///
/// Syntax per the `email_address` crate (RFC 5322 addr-spec, UTF-8 allowed),
/// without display text (`Name <a@b>`) or domain literals (`a@[10.0.0.1]`),
/// and stricter in three ways: the domain needs at least two labels (so
/// `a@localhost` and `a@b.` are refused), none of the characters a
/// [`Username`] refuses (whitespace, control, format and bidi characters,
/// default ignorable, private-use or unassigned code points) even inside
/// quotes, and at most 254 characters. (`email_address` 0.2 refuses most of
/// those characters only because it accepts no non-ASCII character beyond
/// letters and digits; stating the rule here keeps it if the crate grows
/// full RFC 6531 support.) The key must satisfy the
/// same rules, so that a key can be parsed back as an e-mail address.
///
/// ```
/// use userhub_domain::types::Email;
///
/// let email = Email::parse("John.Doe@Example.com").unwrap();
/// assert_eq!(email.as_str(), "John.Doe@Example.com");
/// assert_eq!(email.key().as_str(), "john.doe@example.com");
/// assert_eq!(Email::parse("a@localhost").unwrap_err().code, "invalid_email");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Email(String);

impl Email {
    /// The longest accepted address, in characters (RFC 5321's path limit
    /// less the angle brackets).
    pub const MAX_CHARS: usize = 254;

    /// Trims and NFC-normalises `input` and checks the e-mail rules.
    pub fn parse(input: &str) -> Result<Self, ValueError> {
        let display = display_form(input);
        if display.is_empty() {
            return Err(ValueError::required());
        }
        check_email(&display)?;
        check_email(&uniqueness_key(&display)).map_err(|_| {
            ValueError::new(
                "invalid_email",
                "must remain a valid e-mail address after case and Unicode normalisation",
            )
        })?;
        Ok(Self(display))
    }

    /// The address as given (trimmed, NFC).
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The part after the `@`, as given.
    pub fn domain(&self) -> &str {
        self.0.rsplit_once('@').map_or("", |(_, domain)| domain)
    }

    /// The part before the `@`, as given.
    pub fn local_part(&self) -> &str {
        self.0.rsplit_once('@').map_or("", |(local, _)| local)
    }

    /// The uniqueness key: equal for addresses that differ only in case or
    /// compatibility form.
    pub fn key(&self) -> EmailKey {
        EmailKey(uniqueness_key(&self.0))
    }
}

fn check_email(s: &str) -> Result<(), ValueError> {
    if s.chars().count() > Email::MAX_CHARS {
        return Err(ValueError::new(
            "too_long",
            format!("must be at most {} characters", Email::MAX_CHARS),
        ));
    }
    if let Some(message) = refused_characters(s) {
        return Err(ValueError::new("invalid_email", message));
    }
    let options = email_address::Options::default()
        .without_display_text()
        .without_domain_literal()
        .with_required_tld();
    if email_address::EmailAddress::parse_with_options(s, options).is_err() {
        return Err(ValueError::new(
            "invalid_email",
            "must be an e-mail address like name@example.com",
        ));
    }
    // email_address already refuses empty labels; this states our own rule
    // explicitly so that a future version of the crate cannot relax it.
    let domain = s.rsplit_once('@').map_or("", |(_, d)| d);
    if !domain.contains('.') || domain.split('.').any(str::is_empty) {
        return Err(ValueError::new(
            "invalid_email",
            "the domain must contain a dot between non-empty labels",
        ));
    }
    Ok(())
}

string_conversions!(Email);

/// The value storage makes unique per tenant for e-mail addresses. Only
/// obtainable from [`Email::key`], so it is always correctly normalised.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct EmailKey(String);

impl EmailKey {
    /// The key's text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for EmailKey {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for EmailKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn username_valid_examples() {
        for input in [
            "newuser",
            "johndoe",
            "newuser@example.com",
            "ÅsaÖberg",
            "a",
            "user_1.x-y",
        ] {
            assert_eq!(Username::parse(input).unwrap().as_str(), input);
        }
        assert_eq!(Username::parse("  johndoe ").unwrap().as_str(), "johndoe");
        assert!(Username::parse(&"a".repeat(128)).is_ok());
    }

    #[test]
    fn username_invalid_examples() {
        assert_eq!(Username::parse("").unwrap_err().code, "required");
        assert_eq!(Username::parse("   ").unwrap_err().code, "required");
        assert_eq!(
            Username::parse("john doe").unwrap_err().code,
            "invalid_characters"
        );
        assert_eq!(
            Username::parse("john\u{a0}doe").unwrap_err().code,
            "invalid_characters"
        );
        assert_eq!(
            Username::parse("john\u{0}").unwrap_err().code,
            "invalid_characters"
        );
        assert_eq!(
            Username::parse(&"a".repeat(129)).unwrap_err().code,
            "too_long"
        );
        // U+00A8 DIAERESIS normalises (NFKC) to a space and a combining mark.
        assert_eq!(
            Username::parse("a\u{a8}").unwrap_err().code,
            "invalid_characters"
        );
        // U+FB03 LATIN SMALL LIGATURE FFI expands to 3 characters under NFKC.
        assert_eq!(
            Username::parse(&"\u{fb03}".repeat(50)).unwrap_err().code,
            "too_long"
        );
        // U+FDFA expands to a phrase with spaces.
        assert_eq!(
            Username::parse("\u{fdfa}").unwrap_err().code,
            "invalid_characters"
        );
    }

    /// The characters issue 15 found accepted by cl2c and Blocks: zero
    /// width space, zero width joiner, soft hyphen, right-to-left override.
    const INVISIBLE: [char; 4] = ['\u{200b}', '\u{200d}', '\u{ad}', '\u{202e}'];

    #[test]
    fn username_refuses_invisible_and_bidi_characters() {
        for c in INVISIBLE {
            for input in [
                format!("al{c}ice"),
                format!("{c}alice"),
                format!("alice{c}"),
            ] {
                let err = Username::parse(&input).unwrap_err();
                assert_eq!(err.code, "invalid_characters", "{input:?}");
                // The message names the rule, never the value.
                assert!(!err.message.contains("ice"), "{}", err.message);
                assert!(!err.message.contains(c), "{}", err.message);
            }
        }
        for input in [
            "a\u{2066}b\u{2069}", // isolate
            "a\u{200e}",          // left-to-right mark
            "\u{feff}alice",      // byte order mark
            "a\u{2060}b",         // word joiner
            "alice\u{fe0f}",      // variation selector (default ignorable)
            "a\u{34f}b",          // combining grapheme joiner
            "\u{3164}",           // Hangul filler
            "alice\u{2800}",      // Braille blank
            "a\u{e000}",          // private use
            "a\u{50000}",         // unassigned
            "a\u{e0041}",         // tag character
        ] {
            assert_eq!(
                Username::parse(input).unwrap_err().code,
                "invalid_characters",
                "{input:?}"
            );
        }
    }

    #[test]
    fn email_refuses_invisible_and_bidi_characters() {
        for c in INVISIBLE
            .into_iter()
            .chain(['\u{200c}', '\u{2066}', '\u{fe0f}'])
        {
            for input in [
                format!("al{c}ice@example.com"),
                format!("\"al{c}ice\"@example.com"),
                format!("alice@exa{c}mple.com"),
            ] {
                assert_eq!(
                    Email::parse(&input).unwrap_err().code,
                    "invalid_email",
                    "{input:?}"
                );
            }
        }
    }

    #[test]
    fn look_alike_usernames_share_a_skeleton() {
        let skeleton = |s: &str| Username::parse(s).unwrap().skeleton();
        let key = |s: &str| Username::parse(s).unwrap().key();
        // Cyrillic U+0430 in place of Latin a: another key, the same look.
        assert_ne!(key("\u{430}lice"), key("alice"));
        assert_eq!(skeleton("\u{430}lice"), skeleton("alice"));
        // Greek omicron, Cyrillic o.
        assert_eq!(skeleton("b\u{3bf}b"), skeleton("bob"));
        assert_eq!(skeleton("b\u{43e}b"), skeleton("bob"));
        // Full-width: the key already folds it.
        assert_eq!(key("ｐａｙｐａｌ"), key("paypal"));
        assert_eq!(skeleton("ｐａｙｐａｌ"), skeleton("paypal"));
        // Case never matters, as for the key.
        assert_eq!(skeleton("ALICE"), skeleton("alice"));
        assert_eq!(skeleton("\u{410}LICE"), skeleton("alice"));
        // Letter sequences and digits that pass for letters.
        assert_eq!(skeleton("rnary"), skeleton("mary"));
        assert_eq!(skeleton("paypa1"), skeleton("paypal"));
        // Computed from the lowercase key: a confusion that exists only
        // between capitals (capital I and small l) is not one here.
        assert_ne!(skeleton("PAYPAI"), skeleton("paypal"));
        assert_eq!(skeleton("b0b"), skeleton("bob"));
        assert_eq!(skeleton("B0B"), skeleton("bob"));
        // Names that only resemble each other do not collide.
        for (a, b) in [
            ("alice", "alicia"),
            ("bob", "rob"),
            ("mary", "marry"),
            ("user1", "user2"),
            ("jürgen", "jurgen"),
            ("alice@example.com", "alice@example.org"),
        ] {
            assert_ne!(skeleton(a), skeleton(b), "{a} / {b}");
        }
    }

    #[test]
    fn username_keeps_display_but_keys_case_and_width_insensitively() {
        let upper = Username::parse("Alice@Example.COM").unwrap();
        let lower = Username::parse("alice@example.com").unwrap();
        assert_ne!(upper, lower);
        assert_eq!(upper.key(), lower.key());
        assert_eq!(upper.key().as_str(), "alice@example.com");

        let wide = Username::parse("ａｌｉｃｅ").unwrap();
        assert_eq!(wide.as_str(), "ａｌｉｃｅ");
        assert_eq!(wide.key(), Username::parse("alice").unwrap().key());
        assert_eq!(
            Username::parse("ＡＬＩＣＥ").unwrap().key(),
            Username::parse("alice").unwrap().key()
        );
        // Canonically equivalent spellings are the same username, not just the same key.
        assert_eq!(
            Username::parse("Jose\u{301}").unwrap(),
            Username::parse("Jos\u{e9}").unwrap()
        );
    }

    #[test]
    fn email_valid_examples() {
        for input in [
            "name@domain.com",
            "newuser@example.com",
            "john.doe@example.com",
            "Alice@Example.COM",
            "first.last+tag@sub.example.co.uk",
            "üser@bücher.example",
        ] {
            assert_eq!(Email::parse(input).unwrap().as_str(), input);
        }
        let email = Email::parse(" john.doe@example.com ").unwrap();
        assert_eq!(email.as_str(), "john.doe@example.com");
        assert_eq!(email.domain(), "example.com");
        assert_eq!(email.local_part(), "john.doe");
    }

    #[test]
    fn email_invalid_examples() {
        for input in [
            "plainaddress",
            "@example.com",
            "a@",
            "a@localhost",
            "a@b.",
            "a@.com",
            "a@b..com",
            "a b@example.com",
            "\"a b\"@example.com",
            "Name <a@example.com>",
            "<a@example.com>",
            "a@[127.0.0.1]",
            "a@@example.com",
            "a@exam ple.com",
            "a@example.com\u{0}",
        ] {
            assert_eq!(
                Email::parse(input).unwrap_err().code,
                "invalid_email",
                "{input}"
            );
        }
        assert_eq!(Email::parse(" ").unwrap_err().code, "required");
        let long = format!("{}@{}.com", "a".repeat(64), "b".repeat(190));
        assert_eq!(Email::parse(&long).unwrap_err().code, "too_long");
    }

    #[test]
    fn email_keys_ignore_case_and_width() {
        let a = Email::parse("Alice@Example.COM").unwrap();
        let b = Email::parse("alice@example.com").unwrap();
        assert_ne!(a, b);
        assert_eq!(a.key(), b.key());
        assert_eq!(a.key().to_string(), "alice@example.com");
        let wide = Email::parse("ａｌｉｃｅ@example.com").unwrap();
        assert_eq!(wide.key(), b.key());
    }

    #[test]
    fn email_whose_key_would_be_invalid_is_refused() {
        // U+FF20 FULLWIDTH COMMERCIAL AT is an ordinary UTF-8 atext character,
        // but its key would contain two '@'.
        assert_eq!(
            Email::parse("a\u{ff20}b@example.com").unwrap_err().code,
            "invalid_email"
        );
    }

    #[test]
    fn serde_revalidates() {
        let email: Email = serde_json::from_str("\"name@domain.com\"").unwrap();
        assert_eq!(
            serde_json::to_string(&email).unwrap(),
            "\"name@domain.com\""
        );
        assert!(serde_json::from_str::<Email>("\"a@localhost\"").is_err());
        assert!(serde_json::from_str::<Username>("\"a b\"").is_err());
        assert_eq!(
            serde_json::to_string(&Username::parse("Bob").unwrap().key()).unwrap(),
            "\"bob\""
        );
    }

    fn email_strategy() -> impl Strategy<Value = String> {
        "[a-zA-Z0-9!#$%&'*+/=?^_`{|}~-]{1,20}(\\.[a-zA-Z0-9_-]{1,10}){0,2}@[a-zA-Z0-9]([a-zA-Z0-9-]{0,10}[a-zA-Z0-9])?(\\.[a-zA-Z]{2,8}){1,3}"
    }

    proptest! {
        #[test]
        fn username_round_trips(s in "\\PC{1,64}") {
            if let Ok(username) = Username::parse(&s) {
                prop_assert_eq!(Username::parse(username.as_str()).unwrap(), username.clone());
                prop_assert_eq!(Username::parse(&format!("{username}")).unwrap(), username);
            }
        }

        #[test]
        fn username_key_is_idempotent(s in "\\PC{1,64}") {
            if let Ok(username) = Username::parse(&s) {
                let key = username.key();
                let again = Username::parse(key.as_str()).unwrap();
                prop_assert_eq!(again.as_str(), key.as_str());
                prop_assert_eq!(again.key(), key);
            }
        }

        #[test]
        fn username_skeleton_is_idempotent(s in "\\PC{1,64}") {
            if let Ok(username) = Username::parse(&s) {
                let skeleton = username.skeleton();
                prop_assert_eq!(skeleton_of(skeleton.as_str()), skeleton.as_str());
                // Computed from the key: the key's username has the same one.
                let keyed = Username::parse(username.key().as_str()).unwrap();
                prop_assert_eq!(keyed.skeleton(), skeleton);
            }
        }

        #[test]
        fn username_skeleton_is_case_insensitive(s in "[a-zA-Z0-9._@-]{1,64}") {
            let upper = Username::parse(&s.to_ascii_uppercase()).unwrap();
            let lower = Username::parse(&s.to_ascii_lowercase()).unwrap();
            prop_assert_eq!(upper.skeleton(), lower.skeleton());
        }

        #[test]
        fn usernames_with_an_invisible_character_are_refused(
            s in "[a-z0-9._@-]{0,20}",
            i in 0usize..4,
            at in 0usize..21,
        ) {
            let mut chars: Vec<char> = s.chars().collect();
            chars.insert(at.min(chars.len()), INVISIBLE[i]);
            let input: String = chars.into_iter().collect();
            prop_assert_eq!(Username::parse(&input).unwrap_err().code, "invalid_characters");
        }

        #[test]
        fn username_key_is_case_insensitive(s in "[a-zA-Z0-9._@-]{1,64}") {
            let upper = Username::parse(&s.to_ascii_uppercase()).unwrap();
            let lower = Username::parse(&s.to_ascii_lowercase()).unwrap();
            prop_assert_eq!(upper.key(), lower.key());
        }

        #[test]
        fn email_round_trips(s in email_strategy()) {
            let email = Email::parse(&s).unwrap();
            prop_assert_eq!(Email::parse(email.as_str()).unwrap(), email);
        }

        #[test]
        fn email_key_is_idempotent(s in email_strategy(), local in "\\PC{1,10}") {
            let inputs = [s.clone(), format!("{local}@example.com")];
            for input in inputs {
                if let Ok(email) = Email::parse(&input) {
                    let key = email.key();
                    let again = Email::parse(key.as_str()).unwrap();
                    prop_assert_eq!(again.as_str(), key.as_str());
                    prop_assert_eq!(again.key(), key);
                }
            }
        }

        #[test]
        fn email_key_is_case_insensitive(s in email_strategy()) {
            let upper = Email::parse(&s.to_ascii_uppercase()).unwrap();
            let lower = Email::parse(&s.to_ascii_lowercase()).unwrap();
            prop_assert_eq!(upper.key(), lower.key());
        }

        #[test]
        fn never_panics(s in "\\PC*") {
            let _ = Username::parse(&s);
            let _ = Email::parse(&s);
        }
    }
}
