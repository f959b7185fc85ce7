//! A user's time zone, as an IANA tz database name.

use std::cmp::Ordering;
use std::hash::{Hash, Hasher};

use serde::{Deserialize, Serialize};
use time_tz::{TimeZone as _, Tz};

use crate::error::ValueError;

/// An IANA time zone name known to the bundled tz database, such as
/// `Europe/Istanbul` or `UTC`. Names are case-sensitive, as in the database.
///
/// `time_tz::timezones::get_by_name` also resolves Windows zone names
/// (`Turkey Standard Time`); those are refused, as no dialect documents them
/// and storing one would give two names for one zone.
#[derive(Clone, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct TimeZone {
    name: String,
    tz: &'static Tz,
}

impl TimeZone {
    /// Looks `input` (trimmed) up in the tz database.
    pub fn parse(input: &str) -> Result<Self, ValueError> {
        let name = input.trim();
        if name.is_empty() {
            return Err(ValueError::required());
        }
        // Every IANA entry's own name equals its key; a Windows name resolves
        // to a zone with a different name. "UTC" is both, so it resolves to
        // `Etc/UTC` but is still an IANA name.
        match time_tz::timezones::get_by_name(name) {
            Some(tz) if tz.name() == name || name == "UTC" => Ok(Self {
                name: name.to_owned(),
                tz,
            }),
            _ => Err(ValueError::new(
                "unknown_time_zone",
                "must be an IANA time zone name such as Europe/Istanbul",
            )),
        }
    }

    /// The name as given.
    pub fn as_str(&self) -> &str {
        &self.name
    }

    /// The zone's rules, for converting instants to local time.
    pub fn tz(&self) -> &'static Tz {
        self.tz
    }
}

string_conversions!(TimeZone);

// Identity is the name: two links to the same rules (`Asia/Istanbul`,
// `Europe/Istanbul`) stay distinct values, as the user chose them.
impl PartialEq for TimeZone {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name
    }
}

impl Eq for TimeZone {}

impl Hash for TimeZone {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.name.hash(state);
    }
}

impl PartialOrd for TimeZone {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for TimeZone {
    fn cmp(&self, other: &Self) -> Ordering {
        self.name.cmp(&other.name)
    }
}

impl std::fmt::Debug for TimeZone {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("TimeZone").field(&self.name).finish()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn accepts_iana_names() {
        for name in [
            "Europe/Istanbul",
            "UTC",
            "Etc/UTC",
            "Europe/Zurich",
            "America/Argentina/Buenos_Aires",
            "Asia/Kolkata",
            "Asia/Istanbul",
        ] {
            let tz = TimeZone::parse(name).unwrap();
            assert_eq!(tz.as_str(), name);
        }
        assert_eq!(
            TimeZone::parse(" Europe/Istanbul ").unwrap().as_str(),
            "Europe/Istanbul"
        );
        assert_eq!(TimeZone::parse("UTC").unwrap().tz().name(), "Etc/UTC");
    }

    #[test]
    fn rejects_unknown_and_windows_names() {
        for name in [
            "europe/istanbul",
            "Europe/Atlantis",
            "Turkey Standard Time",
            "W. Europe Standard Time",
            "UTC-11",
            "+03:00",
            "Europe/",
        ] {
            assert_eq!(
                TimeZone::parse(name).unwrap_err().code,
                "unknown_time_zone",
                "{name}"
            );
        }
        assert_eq!(TimeZone::parse("").unwrap_err().code, "required");
    }

    #[test]
    fn serde_revalidates() {
        let tz: TimeZone = serde_json::from_str("\"Europe/Istanbul\"").unwrap();
        assert_eq!(serde_json::to_string(&tz).unwrap(), "\"Europe/Istanbul\"");
        assert!(serde_json::from_str::<TimeZone>("\"Mars/Olympus\"").is_err());
    }

    proptest! {
        #[test]
        fn round_trips(index in 0usize..600) {
            let names: Vec<&str> = time_tz::timezones::iter().map(|tz| tz.name()).collect();
            let name = names[index % names.len()];
            let tz = TimeZone::parse(name).unwrap();
            prop_assert_eq!(TimeZone::parse(&format!("{tz}")).unwrap(), tz);
        }

        #[test]
        fn never_panics(s in "\\PC*") {
            let _ = TimeZone::parse(&s);
        }
    }
}
