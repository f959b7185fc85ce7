//! Multi-factor authentication settings (Blocks `mfaEnabled`, `userMfaType`).

use serde::{Deserialize, Serialize};

/// Whether a user must pass a second factor, and which kind.
///
/// `mfa_type` is Blocks's numeric type code, kept opaque: userhub stores it
/// for the client but does not itself run the second factor.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct MfaSettings {
    /// Whether a second factor is required at login.
    pub enabled: bool,
    /// The client's code for the kind of second factor, if chosen.
    pub mfa_type: Option<u8>,
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn default_is_disabled() {
        assert_eq!(
            MfaSettings::default(),
            MfaSettings {
                enabled: false,
                mfa_type: None
            }
        );
    }

    #[test]
    fn serde_uses_camel_case() {
        let mfa = MfaSettings {
            enabled: true,
            mfa_type: Some(2),
        };
        let json = serde_json::to_string(&mfa).unwrap();
        assert_eq!(json, r#"{"enabled":true,"mfaType":2}"#);
        assert_eq!(serde_json::from_str::<MfaSettings>(&json).unwrap(), mfa);
        assert!(serde_json::from_str::<MfaSettings>(r#"{"mfaType":300}"#).is_err());
    }
}
