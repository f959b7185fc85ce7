//! The one field reader every dialect uses for request bodies.
//!
//! A request shape is a struct whose fields are [`In<T>`]: each one left out,
//! `null`, a value of the expected JSON type, or a value of another type.
//! Deserializing such a struct from a JSON object never fails (unknown fields
//! are ignored), so every problem becomes a field error at the field's JSON
//! path, next to the others, rather than the first serde failure. An error
//! says what was expected, never the value that was sent (it may be a
//! secret) and never a Rust type name.
//!
//! Reading a field is one call that says what the field is: `required`,
//! `optional`, `patch` (left out leaves, `null` clears) or `not_null` (left
//! out leaves, `null` is refused), with or without a value parser.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};
use serde_json::{Map, Value};
use userhub_domain::error::ValueError;
use userhub_domain::user::Patch;
use userhub_domain::{Field, ValidationErrors};

use super::report::{Failure, RequestError};

/// What a JSON value must be, in words for a client.
pub trait Expected {
    /// "a string", "an array", ...
    const EXPECTED: &'static str;
    /// Whether the value is a JSON object (a request shape): serde would
    /// also fill a struct from an array, positionally, which no dialect
    /// accepts.
    const OBJECT: bool = false;
}

impl Expected for String {
    const EXPECTED: &'static str = "a string";
}

impl Expected for bool {
    const EXPECTED: &'static str = "true or false";
}

impl Expected for u64 {
    const EXPECTED: &'static str = "a whole number of at least 0";
}

impl Expected for i64 {
    const EXPECTED: &'static str = "a whole number";
}

impl Expected for Value {
    const EXPECTED: &'static str = "a JSON value";
}

impl Expected for Map<String, Value> {
    const EXPECTED: &'static str = "an object";
    const OBJECT: bool = true;
}

impl<T> Expected for Vec<T> {
    const EXPECTED: &'static str = "an array";
}

/// Declare request shapes (structs of [`In`] fields) as JSON objects.
#[macro_export]
macro_rules! json_objects {
    ($($shape:ty),* $(,)?) => {
        $(impl $crate::toolkit::fields::Expected for $shape {
            const EXPECTED: &'static str = "an object";
            const OBJECT: bool = true;
        })*
    };
}

/// One field of a request body, as sent.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum In<T> {
    /// Not in the body.
    #[default]
    Absent,
    /// `null`.
    Null,
    /// A value of the expected JSON type.
    Value(T),
    /// A value of another JSON type.
    WrongType,
}

impl<'de, T: DeserializeOwned + Expected> Deserialize<'de> for In<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Ok(match Value::deserialize(deserializer)? {
            Value::Null => In::Null,
            value if T::OBJECT && !value.is_object() => In::WrongType,
            value => serde_json::from_value(value).map_or(In::WrongType, In::Value),
        })
    }
}

fn wrong_type<T: Expected>() -> ValueError {
    ValueError::new("invalid_type", format!("must be {}", T::EXPECTED))
}

impl<T: Expected> In<T> {
    /// Whether the body had the field (`null` included).
    pub fn is_present(&self) -> bool {
        !matches!(self, In::Absent)
    }

    /// A field that must have a value: left out and `null` are `required`.
    pub fn required(self, errors: &mut ValidationErrors, path: &str) -> Option<T> {
        match self {
            In::Absent | In::Null => {
                errors.push(ValueError::required().at(path));
                None
            }
            other => other.optional(errors, path),
        }
    }

    /// A field that may be left out or `null` (both `None`).
    pub fn optional(self, errors: &mut ValidationErrors, path: &str) -> Option<T> {
        match self {
            In::Absent | In::Null => None,
            In::Value(value) => Some(value),
            In::WrongType => {
                errors.push(wrong_type::<T>().at(path));
                None
            }
        }
    }

    /// A field of a partial update: left out leaves it, `null` clears it.
    pub fn patch(self, errors: &mut ValidationErrors, path: &str) -> Patch<T> {
        match self {
            In::Absent => Patch::Leave,
            In::Null => Patch::Clear,
            In::Value(value) => Patch::Set(value),
            In::WrongType => {
                errors.push(wrong_type::<T>().at(path));
                Patch::Leave
            }
        }
    }

    /// A field of a partial update that cannot be removed: left out leaves
    /// it, `null` is refused.
    pub fn not_null(self, errors: &mut ValidationErrors, path: &str) -> Option<T> {
        match self {
            In::Null => {
                errors.push(
                    ValueError::new(
                        "not_nullable",
                        "cannot be removed: give a value or leave it out",
                    )
                    .at(path),
                );
                None
            }
            other => other.optional(errors, path),
        }
    }
}

impl In<String> {
    /// A blank string counts as `null` (for dialects where `""` removes).
    pub fn blank_as_null(self) -> Self {
        match self {
            In::Value(text) if text.trim().is_empty() => In::Null,
            other => other,
        }
    }

    /// A required text, parsed.
    pub fn parse_required<U>(
        self,
        errors: &mut ValidationErrors,
        path: &str,
        parse: impl FnOnce(&str) -> Result<U, ValueError>,
    ) -> Option<U> {
        let text = self.required(errors, path)?;
        errors.check(path, parse(&text))
    }

    /// An optional text, parsed.
    pub fn parse_optional<U>(
        self,
        errors: &mut ValidationErrors,
        path: &str,
        parse: impl FnOnce(&str) -> Result<U, ValueError>,
    ) -> Option<U> {
        let text = self.optional(errors, path)?;
        errors.check(path, parse(&text))
    }

    /// A text of a partial update, parsed: left out leaves, `null` clears.
    pub fn parse_patch<U>(
        self,
        errors: &mut ValidationErrors,
        path: &str,
        parse: impl FnOnce(&str) -> Result<U, ValueError>,
    ) -> Patch<U> {
        match self.patch(errors, path) {
            Patch::Leave => Patch::Leave,
            Patch::Clear => Patch::Clear,
            Patch::Set(text) => errors
                .check(path, parse(&text))
                .map_or(Patch::Leave, Patch::Set),
        }
    }

    /// A text of a partial update that cannot be removed, parsed.
    pub fn parse_not_null<U>(
        self,
        errors: &mut ValidationErrors,
        path: &str,
        parse: impl FnOnce(&str) -> Result<U, ValueError>,
    ) -> Option<U> {
        let text = self.not_null(errors, path)?;
        errors.check(path, parse(&text))
    }
}

/// A secret as a request carries it (a password, a token): it does not
/// print, so a `Debug` of a request shape shows `***` in its place.
#[derive(Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct SecretText(String);

impl SecretText {
    /// The text, to check or hash.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The text as a password to judge or verify.
    pub fn into_password(self) -> userhub_domain::password::PlainPassword {
        userhub_domain::password::PlainPassword::new(self.0)
    }
}

impl std::fmt::Debug for SecretText {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("***")
    }
}

impl Expected for SecretText {
    const EXPECTED: &'static str = "a string";
}

/// Every item of a list, each read with `item` at `path[i]`; bad items are
/// named by index and left out.
pub fn items<T, U>(
    errors: &mut ValidationErrors,
    path: &str,
    list: Vec<In<T>>,
    mut item: impl FnMut(&mut ValidationErrors, &str, In<T>) -> Option<U>,
) -> Vec<U> {
    list.into_iter()
        .enumerate()
        .filter_map(|(i, value)| item(errors, &format!("{path}[{i}]"), value))
        .collect()
}

/// Every item of a list of texts, each parsed and required.
pub fn parse_items<U>(
    errors: &mut ValidationErrors,
    path: &str,
    list: Vec<In<String>>,
    parse: impl Fn(&str) -> Result<U, ValueError>,
) -> Vec<U> {
    items(errors, path, list, |errors, at, value| {
        value.parse_required(errors, at, &parse)
    })
}

/// A request shape read from a JSON object. Cannot fail for shapes made of
/// [`In`] fields; a shape that can is a programming error, reported as such.
pub fn shape<T: DeserializeOwned>(object: Map<String, Value>) -> Result<T, Failure> {
    serde_json::from_value(Value::Object(object)).map_err(|_| {
        RequestError::Internal(format!(
            "a request shape ({}) refused an object",
            std::any::type_name::<T>()
        ))
        .into()
    })
}

/// `Ok(())` when nothing was recorded, the errors otherwise (for dialects
/// that refuse before calling the domain).
pub fn finish(errors: ValidationErrors) -> Result<(), Failure> {
    errors.into_result().map_err(Failure::from)
}

/// A field error at `path`, for a rule a dialect states about its own
/// shape (a field only one route accepts, say).
pub fn refuse(path: &str, code: &'static str, message: &str) -> userhub_domain::FieldError {
    ValueError::new(code, message.to_owned()).at(Field::Path(path.to_owned()))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use serde_json::json;

    use super::*;

    #[derive(Debug, Default, Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Shape {
        #[serde(default)]
        name: In<String>,
        #[serde(default)]
        tags: In<Vec<In<String>>>,
        #[serde(default)]
        nested: In<Nested>,
    }

    #[derive(Debug, Default, Deserialize)]
    struct Nested {
        #[serde(default)]
        flag: In<bool>,
    }

    json_objects!(Nested);

    fn read(body: Value) -> Shape {
        let Value::Object(object) = body else {
            panic!("not an object")
        };
        shape(object).unwrap()
    }

    #[test]
    fn an_array_is_not_an_object_shape() {
        // serde alone would fill `Nested` from `[true]` positionally.
        let s = read(json!({"nested": [true]}));
        assert!(matches!(s.nested, In::WrongType));
        let mut errors = ValidationErrors::new();
        assert!(s.nested.optional(&mut errors, "nested").is_none());
        assert_eq!(errors.errors()[0].code, "invalid_type");
    }

    #[test]
    fn absent_null_value_and_wrong_type_stay_apart() {
        let s = read(json!({"name": null, "tags": "x", "nested": {"flag": 5}}));
        assert_eq!(s.name, In::Null);
        assert_eq!(s.tags, In::WrongType);
        let mut errors = ValidationErrors::new();
        assert_eq!(s.name.clone().patch(&mut errors, "name"), Patch::Clear);
        assert!(s.tags.optional(&mut errors, "tags").is_none());
        let nested = s.nested.required(&mut errors, "nested").unwrap();
        assert!(nested.flag.optional(&mut errors, "nested.flag").is_none());
        let found: Vec<(String, &str, String)> = errors
            .errors()
            .iter()
            .map(|e| (e.field.to_string(), e.code, e.message.clone()))
            .collect();
        assert_eq!(
            found,
            [
                (
                    "tags".to_owned(),
                    "invalid_type",
                    "must be an array".to_owned()
                ),
                (
                    "nested.flag".to_owned(),
                    "invalid_type",
                    "must be true or false".to_owned()
                ),
            ]
        );
    }

    #[test]
    fn errors_never_carry_the_value_sent() {
        let s = read(json!({"name": 31415926535_u64}));
        let mut errors = ValidationErrors::new();
        assert!(s.name.required(&mut errors, "name").is_none());
        let text = format!("{errors}");
        assert!(!text.contains("31415926535"), "{text}");
        assert!(!text.contains("String"), "{text}");
    }

    #[test]
    fn list_items_are_named_by_index() {
        let s = read(json!({"tags": ["a", 5, " "]}));
        let mut errors = ValidationErrors::new();
        let tags = s.tags.required(&mut errors, "tags").unwrap();
        let parsed = parse_items(&mut errors, "tags", tags, |t| {
            if t.trim().is_empty() {
                Err(ValueError::required())
            } else {
                Ok(t.to_owned())
            }
        });
        assert_eq!(parsed, ["a"]);
        let fields: Vec<String> = errors
            .errors()
            .iter()
            .map(|e| e.field.to_string())
            .collect();
        assert_eq!(fields, ["tags[1]", "tags[2]"]);
    }
}
