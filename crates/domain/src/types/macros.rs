//! Boilerplate shared by the string-shaped value types, so that every one of
//! them offers the same conversions and none can be built around `parse`.

/// Implements `FromStr`, `TryFrom<&str>`, `TryFrom<String>`, `AsRef<str>`,
/// `Display` and `From<T> for String` for a type that already has
/// `parse(&str) -> Result<Self, ValueError>` and `as_str(&self) -> &str`.
///
/// Every conversion goes through `parse`, so none can bypass the rules.
macro_rules! string_conversions {
    ($ty:ty) => {
        impl ::std::str::FromStr for $ty {
            type Err = $crate::error::ValueError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::parse(s)
            }
        }

        impl TryFrom<&str> for $ty {
            type Error = $crate::error::ValueError;
            fn try_from(s: &str) -> Result<Self, Self::Error> {
                Self::parse(s)
            }
        }

        impl TryFrom<String> for $ty {
            type Error = $crate::error::ValueError;
            fn try_from(s: String) -> Result<Self, Self::Error> {
                Self::parse(&s)
            }
        }

        impl AsRef<str> for $ty {
            fn as_ref(&self) -> &str {
                self.as_str()
            }
        }

        impl ::std::fmt::Display for $ty {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl From<$ty> for String {
            fn from(value: $ty) -> String {
                value.as_str().to_owned()
            }
        }
    };
}
