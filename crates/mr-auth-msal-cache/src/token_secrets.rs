//! The tokens a cache holds, as secret types: no `Display`, a redacted `Debug`, an explicit
//! [`secret`](AccessTokenSecret::secret) accessor, zeroized on drop. Serialized as the plain
//! string MSAL's schema has (`"secret": "..."`).

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use zeroize::Zeroizing;

/// Declares a secret newtype over a zeroizing `String`.
macro_rules! secret_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        ///
        /// A secret: no `Display`, a redacted `Debug`, zeroized on drop.
        #[derive(Clone)]
        pub struct $name(Zeroizing<String>);

        impl $name {
            /// Wraps `secret`.
            pub fn new(secret: impl Into<String>) -> Self {
                Self(Zeroizing::new(secret.into()))
            }

            /// The secret itself: hand it only to what needs it, never to a log.
            pub fn secret(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(concat!(stringify!($name), "(<redacted>)"))
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(&self.0)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                String::deserialize(deserializer).map(Self::new)
            }
        }
    };
}

secret_type!(
    /// An access token (the `secret` of an `AccessToken` entry).
    AccessTokenSecret
);
secret_type!(
    /// A refresh token (the `secret` of a `RefreshToken` entry): it gets new access tokens
    /// without the user, for as long as the authority accepts it.
    RefreshTokenSecret
);
secret_type!(
    /// An id token, a JWT naming the user (the `secret` of an `IdToken` entry).
    IdTokenSecret
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_is_redacted_and_serde_is_the_plain_string() {
        let token = RefreshTokenSecret::new("rt-value");
        assert_eq!(token.secret(), "rt-value");
        assert_eq!(format!("{token:?}"), "RefreshTokenSecret(<redacted>)");
        let json = serde_json::to_string(&AccessTokenSecret::new("at-value")).unwrap();
        assert_eq!(json, "\"at-value\"");
        let back: IdTokenSecret = serde_json::from_str("\"a.b.c\"").unwrap();
        assert_eq!(back.secret(), "a.b.c");
        assert!(!format!("{back:?}").contains("a.b.c"));
    }
}
