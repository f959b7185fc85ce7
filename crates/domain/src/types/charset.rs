//! Which Unicode characters identifiers and display text may hold.
//!
//! Security intent: a value must look like what it is. Characters that draw
//! nothing (U+200B ZERO WIDTH SPACE, U+00AD SOFT HYPHEN, variation
//! selectors, Hangul fillers), that reorder the text around them (U+202E
//! RIGHT-TO-LEFT OVERRIDE and the other bidi controls) or that have no
//! agreed glyph at all (unassigned and private-use code points) let
//! `al\u{200b}ice` pass for `alice`, or `\u{202e}nimda` for `admin`.
//!
//! The profile follows PRECIS (RFC 8264 `IdentifierClass`, RFC 8265
//! usernames) in what it refuses — controls, format characters, default
//! ignorable code points, spaces, unassigned and private-use code points —
//! but not in what it requires: PRECIS also refuses every symbol, non-ASCII
//! punctuation and compatibility character, which would refuse usernames
//! that are stored today, and the uniqueness key already folds
//! compatibility forms. The Unicode data comes from the unicode-rs crates
//! (general categories from `unicode-properties`, UTS #39 identifier types
//! from `unicode-security`) so that it follows Unicode releases instead of
//! a table of our own going stale.

use unicode_properties::{GeneralCategory, UnicodeGeneralCategory};
use unicode_security::GeneralSecurityProfile;
use unicode_security::general_security_profile::IdentifierType;

/// U+200C ZERO WIDTH NON-JOINER and U+200D ZERO WIDTH JOINER: format
/// characters that Persian and Indic spelling and emoji sequences need, so
/// display text keeps them (identifiers do not).
const JOINERS: [char; 2] = ['\u{200c}', '\u{200d}'];

/// Letters and symbols that render as blank space without being whitespace
/// or (all of them) default ignorable: the usual way to make a name that
/// looks empty, or like another name with a trailing blank.
const BLANK_GLYPHS: [char; 5] = [
    '\u{115f}', // HANGUL CHOSEONG FILLER
    '\u{1160}', // HANGUL JUNGSEONG FILLER
    '\u{3164}', // HANGUL FILLER
    '\u{ffa0}', // HALFWIDTH HANGUL FILLER
    '\u{2800}', // BRAILLE PATTERN BLANK
];

/// Whether `c` may not appear in a username or an e-mail address: any
/// whitespace, control, format (bidi controls included), surrogate,
/// private-use or unassigned code point, any default ignorable code point
/// (variation selectors, fillers), and blank glyphs.
pub(crate) fn refused_in_identifier(c: char) -> bool {
    c.is_whitespace()
        || matches!(
            c.general_category(),
            GeneralCategory::Control
                | GeneralCategory::Format
                | GeneralCategory::Surrogate
                | GeneralCategory::PrivateUse
                | GeneralCategory::Unassigned
                | GeneralCategory::SpaceSeparator
                | GeneralCategory::LineSeparator
                | GeneralCategory::ParagraphSeparator
        )
        // Default ignorable code points that are not format characters
        // (U+034F, variation selectors, Mongolian selectors, fillers). All
        // of them have this identifier type in UTS #39's data.
        || c.identifier_type() == Some(IdentifierType::Default_Ignorable)
        || BLANK_GLYPHS.contains(&c)
}

/// Whether `c` may not appear in display text (names, labels, remarks),
/// beyond the control characters each text type decides about: format
/// characters (bidi overrides, embeddings, isolates and marks, soft hyphen,
/// zero-width space, word joiner, BOM, tag characters) except the two
/// joiners, the Unicode line and paragraph separators, and blank glyphs.
///
/// Unassigned and private-use code points stay allowed here: a display
/// name is not unique, and some people's names are only written with
/// private-use characters in legacy systems.
pub(crate) fn refused_in_text(c: char) -> bool {
    match c.general_category() {
        GeneralCategory::Format => !JOINERS.contains(&c),
        GeneralCategory::LineSeparator | GeneralCategory::ParagraphSeparator => true,
        _ => BLANK_GLYPHS.contains(&c),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The characters of issue 15: zero width space, zero width joiner,
    /// soft hyphen, right-to-left override.
    const PROBED: [char; 4] = ['\u{200b}', '\u{200d}', '\u{ad}', '\u{202e}'];

    #[test]
    fn identifiers_refuse_invisible_and_reordering_characters() {
        for c in PROBED {
            assert!(refused_in_identifier(c), "{c:?}");
        }
        for c in [
            '\u{0}',
            '\u{1b}',
            '\u{7f}',
            '\u{85}',
            ' ',
            '\u{a0}',
            '\u{3000}',
            '\u{2028}',
            '\u{2029}',
            '\u{200c}',
            '\u{200e}',
            '\u{200f}',
            '\u{202a}',
            '\u{202d}',
            '\u{2066}',
            '\u{2069}',
            '\u{2060}',
            '\u{2064}',
            '\u{61c}',
            '\u{feff}',
            '\u{180e}',
            '\u{34f}',
            '\u{fe0f}',
            '\u{e0100}',
            '\u{e0041}',
            '\u{3164}',
            '\u{ffa0}',
            '\u{2800}',
            '\u{e000}',
            '\u{f0000}',
            '\u{fffe}',
            '\u{ffff}',
            '\u{10ffff}',
            '\u{e0fff}',
        ] {
            assert!(refused_in_identifier(c), "U+{:04X}", u32::from(c));
        }
    }

    #[test]
    fn identifiers_keep_letters_digits_and_ascii_punctuation() {
        for c in "aZ09._-@+!#$%&'*/=?^`{|}~äÅßиαדعक中あ한ñ€™😀".chars() {
            assert!(!refused_in_identifier(c), "{c:?}");
        }
    }

    #[test]
    fn text_refuses_format_characters_but_keeps_joiners() {
        for c in PROBED.into_iter().filter(|c| !JOINERS.contains(c)) {
            assert!(refused_in_text(c), "{c:?}");
        }
        for c in [
            '\u{200e}',
            '\u{200f}',
            '\u{202a}',
            '\u{202e}',
            '\u{2066}',
            '\u{2069}',
            '\u{61c}',
            '\u{feff}',
            '\u{2028}',
            '\u{2029}',
            '\u{e0041}',
            '\u{3164}',
            '\u{2800}',
        ] {
            assert!(refused_in_text(c), "U+{:04X}", u32::from(c));
        }
        // Persian needs U+200C; emoji sequences U+200D and U+FE0F; Japanese
        // names ideographic variation selectors.
        for c in [
            '\u{200c}',
            '\u{200d}',
            '\u{fe0f}',
            '\u{e0100}',
            'a',
            'ü',
            ' ',
        ] {
            assert!(!refused_in_text(c), "U+{:04X}", u32::from(c));
        }
    }
}
