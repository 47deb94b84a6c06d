//! One macro for every protocol secret this crate holds, after oauth2-rs' `new_secret_type!`.

/// Declares a newtype for a protocol secret (an authorization code, a refresh token, the
/// sign-in's `state` and `nonce`, a PKCE verifier): no `Display`, a `Debug` that prints only
/// the type's name, the value only through an explicit `secret()` call, and zeroized when
/// dropped. It is not `Clone` unless the declaration derives it: a PKCE verifier, used
/// exactly once, must not be copied.
macro_rules! secret_type {
    ($(#[$attribute:meta])* $visibility:vis struct $name:ident;) => {
        $(#[$attribute])*
        $visibility struct $name(zeroize::Zeroizing<String>);

        impl $name {
            /// Takes the value; it is zeroized when this is dropped.
            $visibility fn new(value: String) -> Self {
                Self(zeroize::Zeroizing::new(value))
            }

            /// The value, for the one place that must send or compare it. Never log it.
            $visibility fn secret(&self) -> &str {
                &self.0
            }
        }

        impl std::fmt::Debug for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(concat!(stringify!($name), "(<redacted>)"))
            }
        }
    };
}

pub(crate) use secret_type;

#[cfg(test)]
mod tests {
    secret_type! {
        /// A secret for the test.
        struct Sample;
    }

    #[test]
    fn debug_is_redacted_and_the_value_is_read_explicitly() {
        let secret = Sample::new("the-value".into());
        assert_eq!(secret.secret(), "the-value");
        assert_eq!(format!("{secret:?}"), "Sample(<redacted>)");
    }
}
