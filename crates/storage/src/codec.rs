//! How domain values become column values and back: times as microseconds
//! since the Unix epoch, ids as lowercase hyphenated UUID text, versions as
//! signed 64-bit integers.

use time::OffsetDateTime;
use userhub_domain::StorageError;

use crate::error::corrupt;

/// Microseconds since the Unix epoch (floored, so times before 1970 keep
/// their order). The storage's precision: finer parts are dropped.
pub(crate) fn micros(at: OffsetDateTime) -> i64 {
    let micros = at.unix_timestamp_nanos().div_euclid(1_000);
    // `OffsetDateTime` spans ±9999 years, about ±3.2e17 µs: always in range.
    i64::try_from(micros).unwrap_or(if micros < 0 { i64::MIN } else { i64::MAX })
}

/// The UTC time `micros` microseconds after the Unix epoch.
pub(crate) fn from_micros(op: &'static str, micros: i64) -> Result<OffsetDateTime, StorageError> {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(micros) * 1_000)
        .map_err(|_| corrupt(op, "timestamp out of range"))
}

pub(crate) fn opt_from_micros(
    op: &'static str,
    micros: Option<i64>,
) -> Result<Option<OffsetDateTime>, StorageError> {
    micros.map(|m| from_micros(op, m)).transpose()
}

/// A version as stored (versions start at 1 and grow by one per change).
pub(crate) fn version_column(version: u64) -> i64 {
    i64::try_from(version).unwrap_or(i64::MAX)
}

pub(crate) fn version_value(op: &'static str, stored: i64) -> Result<u64, StorageError> {
    u64::try_from(stored).map_err(|_| corrupt(op, "negative version"))
}

/// Parse a stored value with the domain's own parser: a stored value is
/// re-validated on the way out, like any other input.
pub(crate) fn parse<T, E>(
    op: &'static str,
    what: &'static str,
    result: Result<T, E>,
) -> Result<T, StorageError> {
    result.map_err(|_| corrupt(op, what))
}

/// Read a JSON column.
pub(crate) fn from_json<T: serde::de::DeserializeOwned>(
    op: &'static str,
    what: &'static str,
    text: &str,
) -> Result<T, StorageError> {
    serde_json::from_str(text).map_err(|e| {
        // serde's message names the field and the rule, not the value.
        log::error!("storage: {op}: {what}: {e}");
        corrupt(op, what)
    })
}

/// Write a JSON column.
pub(crate) fn to_json<T: serde::Serialize>(
    op: &'static str,
    what: &'static str,
    value: &T,
) -> Result<String, StorageError> {
    serde_json::to_string(value).map_err(|e| {
        log::error!("storage: {op}: cannot encode {what}: {e}");
        StorageError::new("cannot encode value")
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn micros_round_trip_and_floor() {
        let at = OffsetDateTime::from_unix_timestamp_nanos(1_700_000_000_123_456_789).unwrap();
        assert_eq!(micros(at), 1_700_000_000_123_456);
        assert_eq!(
            from_micros("t", micros(at)).unwrap().unix_timestamp_nanos(),
            1_700_000_000_123_456_000
        );
        let before_epoch = OffsetDateTime::from_unix_timestamp_nanos(-1).unwrap();
        assert_eq!(micros(before_epoch), -1);
        assert!(from_micros("t", i64::MAX).is_err());
    }
}
