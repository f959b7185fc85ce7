//! The log's format: text for a person at a terminal, or one JSON object a
//! line for a log shipper (`USERHUB_LOG_FORMAT=json`). The level filter is
//! `RUST_LOG` (env_logger's syntax).
//!
//! A line carries its message and its key-value pairs (the access line is
//! nothing but pairs: `id`, `dialect`, `method`, `route`, `status`,
//! `latency_ms`). In text they follow the message as `key=value`; in JSON
//! they are members of the object beside `time`, `level`, `target` and
//! `message`.
//!
//! Security intent: what is logged is chosen where it is logged; no line
//! carries a request's headers, body or query string (see `access`).

use std::fmt::Write as _;
use std::io::Write as _;

use log::kv::{Error as KvError, Key, Value, VisitSource};
use serde_json::{Map, Value as Json};

/// How log lines are written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// `TIME LEVEL target: message key=value ...`, for a person.
    #[default]
    Text,
    /// One JSON object a line, for log shippers.
    Json,
}

/// Start logging to standard error in `format`, at `default_filter` unless
/// `RUST_LOG` says otherwise. A second call does nothing.
pub fn init(format: LogFormat, default_filter: &str) {
    let mut builder =
        env_logger::Builder::from_env(env_logger::Env::default().default_filter_or(default_filter));
    match format {
        LogFormat::Text => builder.format(|buf, record| {
            let line = text_line(&buf.timestamp_millis().to_string(), record);
            writeln!(buf, "{line}")
        }),
        LogFormat::Json => builder.format(|buf, record| {
            let line = json_line(&buf.timestamp_millis().to_string(), record);
            writeln!(buf, "{line}")
        }),
    };
    let _ = builder.try_init();
}

/// A record as a line of text.
pub fn text_line(time: &str, record: &log::Record<'_>) -> String {
    let mut line = format!(
        "{time} {:<5} {}: {}",
        record.level(),
        record.target(),
        record.args()
    );
    let mut pairs = TextPairs(&mut line);
    let _ = record.key_values().visit(&mut pairs);
    line
}

/// A record as a JSON object on one line.
pub fn json_line(time: &str, record: &log::Record<'_>) -> String {
    let mut object = Map::new();
    object.insert("time".into(), Json::from(time));
    object.insert("level".into(), Json::from(record.level().as_str()));
    object.insert("target".into(), Json::from(record.target()));
    object.insert("message".into(), Json::from(record.args().to_string()));
    let mut pairs = JsonPairs(&mut object);
    let _ = record.key_values().visit(&mut pairs);
    Json::Object(object).to_string()
}

struct TextPairs<'a>(&'a mut String);

impl<'kvs> VisitSource<'kvs> for TextPairs<'_> {
    fn visit_pair(&mut self, key: Key<'kvs>, value: Value<'kvs>) -> Result<(), KvError> {
        let text = value.to_string();
        if text.is_empty() || text.contains(|c: char| c.is_whitespace() || c == '"') {
            let _ = write!(self.0, " {key}={text:?}");
        } else {
            let _ = write!(self.0, " {key}={text}");
        }
        Ok(())
    }
}

struct JsonPairs<'a>(&'a mut Map<String, Json>);

impl<'kvs> VisitSource<'kvs> for JsonPairs<'_> {
    fn visit_pair(&mut self, key: Key<'kvs>, value: Value<'kvs>) -> Result<(), KvError> {
        let json = if let Some(n) = value.to_u64() {
            Json::from(n)
        } else if let Some(n) = value.to_i64() {
            Json::from(n)
        } else if let Some(b) = value.to_bool() {
            Json::from(b)
        } else if let Some(x) = value.to_f64() {
            Json::from(x)
        } else {
            Json::from(value.to_string())
        };
        // The fixed members keep their meaning.
        let name = match key.as_str() {
            "time" | "level" | "target" | "message" => format!("kv_{key}"),
            other => other.to_owned(),
        };
        self.0.insert(name, json);
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn with_record<T>(f: impl FnOnce(&log::Record<'_>) -> T) -> T {
        let pairs: [(&str, Value<'_>); 3] = [
            ("id", Value::from("abc-1")),
            ("status", Value::from(404u16)),
            ("route", Value::from("/v1/accounts/{userId}")),
        ];
        let record = log::Record::builder()
            .level(log::Level::Info)
            .target("userhub::access")
            .args(format_args!("request"))
            .key_values(&pairs)
            .build();
        f(&record)
    }

    #[test]
    fn text_lines_carry_the_pairs() {
        let line = with_record(|r| text_line("T", r));
        assert_eq!(
            line,
            "T INFO  userhub::access: request id=abc-1 status=404 route=/v1/accounts/{userId}"
        );
    }

    #[test]
    fn json_lines_are_one_object_with_typed_members() {
        let line = with_record(|r| json_line("T", r));
        assert!(!line.contains('\n'));
        let parsed: Json = serde_json::from_str(&line).unwrap();
        assert_eq!(parsed["level"], "INFO");
        assert_eq!(parsed["target"], "userhub::access");
        assert_eq!(parsed["message"], "request");
        assert_eq!(parsed["id"], "abc-1");
        assert_eq!(parsed["status"], 404);
        assert_eq!(parsed["route"], "/v1/accounts/{userId}");
    }
}
