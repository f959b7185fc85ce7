//! Custom attributes (Nevis `properties`, SCIM extension): free key/value
//! pairs, but only under names the tenant declared first, so that a typo in a
//! client cannot silently create a new attribute.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::AttributeValue;
use crate::error::{ValidationErrors, ValueError};

/// The name of a custom attribute: 1 to 64 ASCII characters, a letter first,
/// then letters, digits, `_`, `-` or `.`. Case-sensitive, and not trimmed:
/// a name is a key, and two spellings must not silently become one.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct AttributeName(String);

impl AttributeName {
    /// The longest accepted name, in characters.
    pub const MAX_CHARS: usize = 64;

    /// Checks the naming rule; the input is taken exactly as given.
    pub fn parse(input: &str) -> Result<Self, ValueError> {
        let Some(first) = input.chars().next() else {
            return Err(ValueError::required());
        };
        if input.chars().count() > Self::MAX_CHARS {
            return Err(ValueError::new(
                "too_long",
                format!("must be at most {} characters", Self::MAX_CHARS),
            ));
        }
        if !first.is_ascii_alphabetic() {
            return Err(ValueError::new(
                "invalid_format",
                "must start with an ASCII letter",
            ));
        }
        if !input
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
        {
            return Err(ValueError::new(
                "invalid_characters",
                "must contain only ASCII letters, digits, '_', '-' and '.'",
            ));
        }
        Ok(Self(input.to_owned()))
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

string_conversions!(AttributeName);

/// The attribute names a tenant has declared; only these may be set.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct DeclaredAttributes(BTreeSet<AttributeName>);

impl DeclaredAttributes {
    /// The set of `names` (duplicates collapse).
    pub fn new(names: impl IntoIterator<Item = AttributeName>) -> Self {
        Self(names.into_iter().collect())
    }

    /// Whether `name` was declared.
    pub fn contains(&self, name: &AttributeName) -> bool {
        self.0.contains(name)
    }

    /// The declared names, sorted.
    pub fn iter(&self) -> impl Iterator<Item = &AttributeName> {
        self.0.iter()
    }
}

/// A user's custom attributes: declared names mapped to non-empty values.
///
/// Serialized as a JSON object. Deserializing checks each name and value but
/// not whether the name is declared — declarations can change after a value
/// was stored, so that check belongs to [`CustomAttributes::parse`], at input.
///
/// ```
/// use userhub_domain::types::{AttributeName, CustomAttributes, DeclaredAttributes};
///
/// let declared = DeclaredAttributes::new([AttributeName::parse("color").unwrap()]);
/// let input = [("color".to_owned(), "blue".to_owned()), ("size".to_owned(), "XL".to_owned())];
/// let errors = CustomAttributes::parse(input, &declared).unwrap_err();
/// assert_eq!(errors.errors()[0].field, "size");
/// assert_eq!(errors.errors()[0].code, "undeclared_attribute");
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct CustomAttributes(BTreeMap<AttributeName, AttributeValue>);

impl CustomAttributes {
    /// Parses client input against the tenant's `declared` names, reporting
    /// every bad entry (not only the first) under the entry's own key.
    ///
    /// A key given twice keeps its last value, as in a JSON object.
    pub fn parse(
        entries: impl IntoIterator<Item = (String, String)>,
        declared: &DeclaredAttributes,
    ) -> Result<Self, ValidationErrors> {
        let entries = entries.into_iter().map(|(name, value)| AttributeEntry {
            path: name.clone(),
            name,
            value: Some(value),
        });
        let mut errors = ValidationErrors::new();
        let map = entries
            .filter_map(|entry| judge(&mut errors, &entry, declared))
            .filter_map(|(name, value)| Some((name, value?)))
            .collect();
        errors.into_result().map(|()| Self(map))
    }

    /// The value of `name`, if set.
    pub fn get(&self, name: &AttributeName) -> Option<&AttributeValue> {
        self.0.get(name)
    }

    /// The attributes, sorted by name.
    pub fn iter(&self) -> impl Iterator<Item = (&AttributeName, &AttributeValue)> {
        self.0.iter()
    }

    /// Sets `name` to `value`, returning the previous value. Declared-ness
    /// is the caller's to check here: both arguments are already valid.
    pub fn insert(&mut self, name: AttributeName, value: AttributeValue) -> Option<AttributeValue> {
        self.0.insert(name, value)
    }

    /// Removes `name`, returning its value.
    pub fn remove(&mut self, name: &AttributeName) -> Option<AttributeValue> {
        self.0.remove(name)
    }

    /// Whether no attribute is set.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// How many attributes are set.
    pub fn len(&self) -> usize {
        self.0.len()
    }
}

/// One custom attribute as a request gave it: where (its path in the
/// request, for errors), which, and the value to set (`None` removes it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttributeEntry {
    /// The entry's place in the request, as the dialect names it
    /// (`properties.color`), so an error points at what the caller sent.
    pub path: String,
    /// The attribute's name, as given.
    pub name: String,
    /// The value to set, as given; `None` removes the attribute.
    pub value: Option<String>,
}

/// Custom attributes as a request gave them, still to be judged against the
/// tenant's declarations: the operation that receives them loads the
/// declarations and calls [`AttributeInput::resolve`], the one place where
/// the "declared first" rule lives.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AttributeInput {
    /// Remove every attribute before the entries apply (Nevis's
    /// `"properties": null`).
    pub clear: bool,
    /// The entries, in the order given.
    pub entries: Vec<AttributeEntry>,
}

impl AttributeInput {
    /// Whether the request said nothing about attributes.
    pub fn is_empty(&self) -> bool {
        !self.clear && self.entries.is_empty()
    }

    /// The changes these entries make, each name declared and each value
    /// valid; every bad entry is an error at its own path. With
    /// [`clear`](Self::clear), every declared name is removed first.
    pub fn resolve(
        &self,
        declared: &DeclaredAttributes,
    ) -> Result<BTreeMap<AttributeName, Option<AttributeValue>>, ValidationErrors> {
        let mut errors = ValidationErrors::new();
        let mut changes: BTreeMap<AttributeName, Option<AttributeValue>> = BTreeMap::new();
        if self.clear {
            changes.extend(declared.iter().map(|name| (name.clone(), None)));
        }
        for entry in &self.entries {
            if let Some((name, value)) = judge(&mut errors, entry, declared) {
                changes.insert(name, value);
            }
        }
        errors.into_result().map(|()| changes)
    }
}

/// The rule for one entry: a valid name the tenant declared, and a valid
/// value (or a removal). Records every problem of the entry.
fn judge(
    errors: &mut ValidationErrors,
    entry: &AttributeEntry,
    declared: &DeclaredAttributes,
) -> Option<(AttributeName, Option<AttributeValue>)> {
    let name = match AttributeName::parse(&entry.name) {
        Ok(name) if declared.contains(&name) => Some(name),
        Ok(_) => {
            errors.push(
                ValueError::new(
                    "undeclared_attribute",
                    "is not a declared attribute of this tenant",
                )
                .at(entry.path.as_str()),
            );
            None
        }
        Err(error) => {
            errors.push(error.at(entry.path.as_str()));
            None
        }
    };
    let value = match &entry.value {
        None => Some(None),
        Some(raw) => errors
            .check(entry.path.as_str(), AttributeValue::parse(raw))
            .map(Some),
    };
    Some((name?, value?))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn name(s: &str) -> AttributeName {
        AttributeName::parse(s).unwrap()
    }

    fn declared(names: &[&str]) -> DeclaredAttributes {
        DeclaredAttributes::new(names.iter().map(|n| name(n)))
    }

    fn entries(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn attribute_name_rules() {
        for valid in ["color", "a", "employee_id", "x-ref.v2", "Color"] {
            assert_eq!(name(valid).as_str(), valid);
        }
        assert_ne!(name("Color"), name("color"));
        assert!(AttributeName::parse(&"a".repeat(64)).is_ok());
        assert_eq!(AttributeName::parse("").unwrap_err().code, "required");
        assert_eq!(
            AttributeName::parse(&"a".repeat(65)).unwrap_err().code,
            "too_long"
        );
        assert_eq!(
            AttributeName::parse("1st").unwrap_err().code,
            "invalid_format"
        );
        assert_eq!(
            AttributeName::parse("_x").unwrap_err().code,
            "invalid_format"
        );
        assert_eq!(
            AttributeName::parse(" color").unwrap_err().code,
            "invalid_format"
        );
        assert_eq!(
            AttributeName::parse("co lor").unwrap_err().code,
            "invalid_characters"
        );
        assert_eq!(
            AttributeName::parse("färbe").unwrap_err().code,
            "invalid_characters"
        );
        assert_eq!(
            AttributeName::parse("a/b").unwrap_err().code,
            "invalid_characters"
        );
    }

    #[test]
    fn parse_accepts_declared_attributes() {
        let declared = declared(&["color", "size"]);
        let attrs =
            CustomAttributes::parse(entries(&[("color", " blue "), ("size", "XL")]), &declared)
                .unwrap();
        assert_eq!(attrs.len(), 2);
        assert_eq!(attrs.get(&name("color")).unwrap().as_str(), "blue");
        assert!(attrs.get(&name("weight")).is_none());
        let names: Vec<&str> = attrs.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(names, ["color", "size"]);
    }

    #[test]
    fn parse_reports_every_bad_entry_under_its_key() {
        let declared = declared(&["color", "size"]);
        let errors = CustomAttributes::parse(
            entries(&[
                ("color", "blue"),
                ("weight", "80"),
                ("size", ""),
                ("9lives", "yes"),
                ("Color", "red"),
            ]),
            &declared,
        )
        .unwrap_err();
        let found: Vec<(String, &str)> = errors
            .errors()
            .iter()
            .map(|e| (e.field.to_string(), e.code))
            .collect();
        let found: Vec<(&str, &str)> = found.iter().map(|(f, c)| (f.as_str(), *c)).collect();
        assert_eq!(
            found,
            [
                ("weight", "undeclared_attribute"),
                ("size", "required"),
                ("9lives", "invalid_format"),
                ("Color", "undeclared_attribute"),
            ]
        );
    }

    #[test]
    fn insert_remove_and_emptiness() {
        let mut attrs = CustomAttributes::default();
        assert!(attrs.is_empty());
        let value = AttributeValue::parse("blue").unwrap();
        assert!(attrs.insert(name("color"), value.clone()).is_none());
        assert_eq!(attrs.len(), 1);
        assert_eq!(attrs.remove(&name("color")), Some(value));
        assert!(attrs.is_empty());
    }

    #[test]
    fn declared_attributes_set() {
        let declared = declared(&["b", "a", "b"]);
        assert!(declared.contains(&name("a")));
        assert!(!declared.contains(&name("c")));
        assert_eq!(declared.iter().count(), 2);
    }

    #[test]
    fn serde_is_a_json_object_and_revalidates() {
        let attrs = CustomAttributes::parse(
            entries(&[("size", "XL"), ("color", "blue")]),
            &declared(&["color", "size"]),
        )
        .unwrap();
        let json = serde_json::to_string(&attrs).unwrap();
        assert_eq!(json, r#"{"color":"blue","size":"XL"}"#);
        assert_eq!(
            serde_json::from_str::<CustomAttributes>(&json).unwrap(),
            attrs
        );
        assert!(serde_json::from_str::<CustomAttributes>(r#"{"1x":"v"}"#).is_err());
        assert!(serde_json::from_str::<CustomAttributes>(r#"{"x":""}"#).is_err());
    }

    proptest! {
        #[test]
        fn name_round_trips(s in "[a-zA-Z][a-zA-Z0-9_.-]{0,63}") {
            let n = AttributeName::parse(&s).unwrap();
            prop_assert_eq!(AttributeName::parse(&format!("{n}")).unwrap(), n);
        }

        #[test]
        fn never_panics(s in "\\PC*") {
            let _ = AttributeName::parse(&s);
        }
    }
}
