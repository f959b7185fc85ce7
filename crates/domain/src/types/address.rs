//! A postal address (Nevis `address.*`, SCIM `addresses[]`).

use serde::{Deserialize, Serialize};

use super::{AddressLine, CountryCode};

/// A postal address; every part is optional, and each present part is valid.
///
/// The fields are the union of what the dialects carry, so that none loses a
/// part on a round trip through another.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Address {
    /// ISO 3166-1 alpha-2 country.
    pub country: Option<CountryCode>,
    /// City or town.
    pub city: Option<AddressLine>,
    /// Postal (ZIP) code.
    pub postal_code: Option<AddressLine>,
    /// First free-form address line.
    pub address_line1: Option<AddressLine>,
    /// Second free-form address line.
    pub address_line2: Option<AddressLine>,
    /// Street name.
    pub street: Option<AddressLine>,
    /// House number (text: `12a` is one).
    pub house_number: Option<AddressLine>,
    /// Apartment or unit number.
    pub dwelling_number: Option<AddressLine>,
    /// Post office box label.
    pub post_office_box_text: Option<AddressLine>,
    /// Post office box number.
    pub post_office_box_number: Option<AddressLine>,
    /// Locality within the city (district, village).
    pub locality: Option<AddressLine>,
}

impl Address {
    /// Whether no part is set, so that callers can store "no address".
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn default_is_empty() {
        assert!(Address::default().is_empty());
        let address = Address {
            city: Some(AddressLine::parse("Zürich").unwrap()),
            ..Address::default()
        };
        assert!(!address.is_empty());
    }

    #[test]
    fn serde_uses_camel_case_and_revalidates_parts() {
        let address = Address {
            country: Some(CountryCode::parse("ch").unwrap()),
            postal_code: Some(AddressLine::parse("8001").unwrap()),
            address_line1: Some(AddressLine::parse("Bahnhofstrasse 1").unwrap()),
            house_number: Some(AddressLine::parse("1").unwrap()),
            ..Address::default()
        };
        let json = serde_json::to_value(&address).unwrap();
        assert_eq!(json["country"], "CH");
        assert_eq!(json["postalCode"], "8001");
        assert_eq!(json["addressLine1"], "Bahnhofstrasse 1");
        assert_eq!(json["houseNumber"], "1");
        assert_eq!(json["postOfficeBoxNumber"], serde_json::Value::Null);
        let back: Address = serde_json::from_value(json).unwrap();
        assert_eq!(back, address);

        let partial: Address = serde_json::from_str(r#"{"city":"Bern"}"#).unwrap();
        assert_eq!(partial.city.unwrap().as_str(), "Bern");
        assert!(serde_json::from_str::<Address>(r#"{"country":"XX"}"#).is_err());
        assert!(serde_json::from_str::<Address>(r#"{"city":""}"#).is_err());
    }
}
