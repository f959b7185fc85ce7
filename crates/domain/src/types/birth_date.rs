//! Birth dates (Nevis `birthDate`, ISO 8601).

use serde::{Deserialize, Serialize};
use time::Date;
use time::macros::{date, format_description};

use crate::error::ValueError;

/// The earliest accepted birth date; anything earlier is a typo, not a person.
const EARLIEST: Date = date!(1900 - 01 - 01);

/// A calendar date of birth between 1900-01-01 and today, rendered `YYYY-MM-DD`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct BirthDate(Date);

impl BirthDate {
    /// Parses `YYYY-MM-DD` and checks it against today's date in UTC.
    pub fn parse(input: &str) -> Result<Self, ValueError> {
        Self::parse_at(input, today_utc())
    }

    /// Parses `YYYY-MM-DD` and checks it is not after `today` nor before
    /// 1900-01-01. The clock is a parameter so that the rule is testable.
    pub fn parse_at(input: &str, today: Date) -> Result<Self, ValueError> {
        let input = input.trim();
        if input.is_empty() {
            return Err(ValueError::required());
        }
        let invalid = || ValueError::new("invalid_format", "must be a date in the form YYYY-MM-DD");
        // `time` also accepts a sign and wider years; the shape check keeps to
        // exactly the ISO 8601 calendar date form.
        let shape_ok = input.len() == 10
            && input.bytes().enumerate().all(|(i, b)| match i {
                4 | 7 => b == b'-',
                _ => b.is_ascii_digit(),
            });
        if !shape_ok {
            return Err(invalid());
        }
        let date = Date::parse(input, format_description!("[year]-[month]-[day]"))
            .map_err(|_| invalid())?;
        Self::from_date_at(date, today)
    }

    /// Checks an already-typed date against `today`.
    pub fn from_date_at(date: Date, today: Date) -> Result<Self, ValueError> {
        if date > today {
            return Err(ValueError::new("in_future", "must not be in the future"));
        }
        if date < EARLIEST {
            return Err(ValueError::new(
                "too_early",
                "must not be before 1900-01-01",
            ));
        }
        Ok(Self(date))
    }

    /// The date.
    pub fn date(&self) -> Date {
        self.0
    }
}

fn today_utc() -> Date {
    time::OffsetDateTime::now_utc().date()
}

impl std::str::FromStr for BirthDate {
    type Err = ValueError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl TryFrom<&str> for BirthDate {
    type Error = ValueError;
    fn try_from(s: &str) -> Result<Self, Self::Error> {
        Self::parse(s)
    }
}

impl TryFrom<String> for BirthDate {
    type Error = ValueError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

/// `YYYY-MM-DD`.
impl std::fmt::Display for BirthDate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Years are 1900..=today, so always four digits.
        write!(
            f,
            "{:04}-{:02}-{:02}",
            self.0.year(),
            u8::from(self.0.month()),
            self.0.day()
        )
    }
}

impl From<BirthDate> for String {
    fn from(value: BirthDate) -> String {
        value.to_string()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const TODAY: Date = date!(2025 - 06 - 15);

    #[test]
    fn accepts_documented_and_boundary_dates() {
        let birth = BirthDate::parse_at("1990-01-31", TODAY).unwrap();
        assert_eq!(birth.date(), date!(1990 - 01 - 31));
        assert_eq!(birth.to_string(), "1990-01-31");
        assert!(BirthDate::parse_at("1900-01-01", TODAY).is_ok());
        assert!(BirthDate::parse_at("2025-06-15", TODAY).is_ok());
        assert!(BirthDate::parse_at("2000-02-29", TODAY).is_ok());
        assert!(BirthDate::parse("1990-01-31").is_ok());
    }

    #[test]
    fn rejects_future_and_too_early_dates() {
        assert_eq!(
            BirthDate::parse_at("2025-06-16", TODAY).unwrap_err().code,
            "in_future"
        );
        assert_eq!(
            BirthDate::parse_at("1899-12-31", TODAY).unwrap_err().code,
            "too_early"
        );
        assert_eq!(
            BirthDate::parse("9999-12-31").unwrap_err().code,
            "in_future"
        );
        assert_eq!(
            BirthDate::from_date_at(date!(2030 - 01 - 01), TODAY)
                .unwrap_err()
                .code,
            "in_future"
        );
    }

    #[test]
    fn rejects_other_formats() {
        for input in [
            "1990-1-31",
            "31.01.1990",
            "1990/01/31",
            "19900131",
            "1990-02-30",
            "1990-13-01",
            "+1990-01-31",
            "1990-01-31T00:00:00Z",
            "１９９０-01-31",
        ] {
            assert_eq!(
                BirthDate::parse_at(input, TODAY).unwrap_err().code,
                "invalid_format",
                "{input}"
            );
        }
        assert_eq!(
            BirthDate::parse_at(" ", TODAY).unwrap_err().code,
            "required"
        );
    }

    #[test]
    fn serde_uses_the_iso_string() {
        let birth: BirthDate = serde_json::from_str("\"1990-01-31\"").unwrap();
        assert_eq!(serde_json::to_string(&birth).unwrap(), "\"1990-01-31\"");
        assert!(serde_json::from_str::<BirthDate>("\"1990-02-30\"").is_err());
    }

    proptest! {
        #[test]
        fn round_trips(days in 0i32..45_000) {
            let date = EARLIEST + time::Duration::days(i64::from(days));
            if let Ok(birth) = BirthDate::from_date_at(date, TODAY) {
                prop_assert_eq!(BirthDate::parse_at(&birth.to_string(), TODAY).unwrap(), birth);
            }
        }

        #[test]
        fn never_panics(s in "\\PC*") {
            let _ = BirthDate::parse_at(&s, TODAY);
        }
    }
}
