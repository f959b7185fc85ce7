//! Phone numbers, in E.164 only.
//!
//! Every dialect documents international numbers; accepting national forms
//! would need a default country per request and give one number several
//! spellings. The `phonenumber` crate (libphonenumber's metadata) decides
//! whether the digits are a real number plan's number.

use serde::{Deserialize, Serialize};

use crate::error::ValueError;

/// A phone number in E.164 form: `+`, then 2 to 15 digits, the first not `0`,
/// valid for its country calling code (e.g. `+41446681800`).
///
/// ```
/// use userhub_domain::types::PhoneNumber;
///
/// assert!(PhoneNumber::parse("+41446681800").is_ok());
/// assert_eq!(PhoneNumber::parse("+41 44 668 18 00").unwrap_err().code, "invalid_format");
/// // Right shape, but +1 numbers have ten national digits.
/// assert_eq!(PhoneNumber::parse("+1234567890").unwrap_err().code, "invalid_phone_number");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PhoneNumber(String);

impl PhoneNumber {
    /// Checks the E.164 shape of `input` (trimmed), then that the number is
    /// valid for its country calling code.
    pub fn parse(input: &str) -> Result<Self, ValueError> {
        let value = input.trim();
        if value.is_empty() {
            return Err(ValueError::required());
        }
        let digits = value.strip_prefix('+').unwrap_or_default();
        if !(2..=15).contains(&digits.len())
            || !digits.bytes().all(|b| b.is_ascii_digit())
            || digits.starts_with('0')
        {
            return Err(ValueError::new(
                "invalid_format",
                "must be in E.164 form: + and 2 to 15 digits, no spaces",
            ));
        }
        let not_valid = || {
            ValueError::new(
                "invalid_phone_number",
                "is not a valid number for its country calling code",
            )
        };
        let number = phonenumber::parse(None, value).map_err(|_| not_valid())?;
        if !phonenumber::is_valid(&number) {
            return Err(not_valid());
        }
        // The crate strips what it takes for a national trunk prefix written
        // after the country code (`+7888...` becomes `+78...`). Such input is
        // not the number's E.164 form, and the stripped form may not even be
        // valid, so only input that is already canonical is accepted.
        let e164 = number.format().mode(phonenumber::Mode::E164).to_string();
        if e164 != value {
            return Err(not_valid());
        }
        Ok(Self(e164))
    }

    /// The number in E.164 form.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

string_conversions!(PhoneNumber);

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn accepts_valid_e164_numbers() {
        for number in [
            "+41446681800",   // Zurich landline
            "+905321234567",  // Turkish mobile (Turkcell range)
            "+905551234567",  // Turkish mobile
            "+14155552671",   // US, San Francisco
            "+12345678901",   // US, area code 234 (Ohio): 10 national digits
            "+447911123456",  // UK mobile
            "+4915112345678", // German mobile
        ] {
            assert_eq!(PhoneNumber::parse(number).unwrap().as_str(), number);
        }
        assert_eq!(
            PhoneNumber::parse(" +41446681800 ").unwrap().as_str(),
            "+41446681800"
        );
    }

    #[test]
    fn vendor_example_is_not_a_valid_number() {
        // The vendors' documented example `+1234567890` has the right E.164
        // shape, but +1 (NANP) numbers have 10 national digits and this has 9,
        // so libphonenumber's metadata refuses it (verified with phonenumber
        // 0.3.10+9.0.33).
        assert_eq!(
            PhoneNumber::parse("+1234567890").unwrap_err().code,
            "invalid_phone_number"
        );
    }

    #[test]
    fn rejects_other_shapes() {
        for input in [
            "41446681800",
            "+41 44 668 18 00",
            "+41-44-668-18-00",
            "+(41)446681800",
            "+0123456789",
            "+1",
            "+1234567890123456",
            "++41446681800",
            "+４１446681800",
            "tel:+41446681800",
        ] {
            assert_eq!(
                PhoneNumber::parse(input).unwrap_err().code,
                "invalid_format",
                "{input}"
            );
        }
        assert_eq!(PhoneNumber::parse("").unwrap_err().code, "required");
    }

    #[test]
    fn rejects_numbers_invalid_for_their_country() {
        // `+7888149516110` is valid to the crate only after it strips `88` as
        // a Russian trunk prefix, so it is not in E.164 form.
        for input in [
            "+999123456",
            "+4144668",
            "+90532123456789",
            "+12",
            "+7888149516110",
        ] {
            assert_eq!(
                PhoneNumber::parse(input).unwrap_err().code,
                "invalid_phone_number",
                "{input}"
            );
        }
    }

    #[test]
    fn serde_revalidates() {
        let number: PhoneNumber = serde_json::from_str("\"+41446681800\"").unwrap();
        assert_eq!(serde_json::to_string(&number).unwrap(), "\"+41446681800\"");
        assert!(serde_json::from_str::<PhoneNumber>("\"+1234567890\"").is_err());
    }

    proptest! {
        #[test]
        fn round_trips_and_never_panics(s in "\\+[1-9][0-9]{1,14}") {
            if let Ok(number) = PhoneNumber::parse(&s) {
                prop_assert_eq!(PhoneNumber::parse(number.as_str()).unwrap(), number);
            }
        }

        #[test]
        fn valid_swiss_numbers_round_trip(n in 0u32..10_000) {
            let number = PhoneNumber::parse(&format!("+4144668{n:04}")).unwrap();
            prop_assert_eq!(PhoneNumber::parse(&format!("{number}")).unwrap(), number);
        }

        #[test]
        fn never_panics(s in "\\PC*") {
            let _ = PhoneNumber::parse(&s);
        }
    }
}
