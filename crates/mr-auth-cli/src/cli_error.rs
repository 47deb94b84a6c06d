use mr_auth_core::ErrorKind;
use std::fmt;

/// A failure of a command: a message for people and an exit code for scripts.
#[derive(Debug)]
pub(crate) struct CliError {
    code: u8,
    message: String,
}

pub(crate) const EXIT_OTHER: u8 = 1;
pub(crate) const EXIT_BAD_INPUT: u8 = 2;
pub(crate) const EXIT_AUTHENTICATION: u8 = 3;
pub(crate) const EXIT_TRANSIENT: u8 = 4;
pub(crate) const EXIT_PROTOCOL: u8 = 5;
pub(crate) const EXIT_NOT_SIGNED_IN: u8 = 6;
/// Interrupted by Ctrl-C (SIGINT), as shells report it: 128 + 2.
pub(crate) const EXIT_INTERRUPTED: u8 = 130;

impl CliError {
    pub(crate) fn bad_input(message: impl Into<String>) -> Self {
        Self {
            code: EXIT_BAD_INPUT,
            message: message.into(),
        }
    }

    /// No saved or cached sign-in can give the token: the user must run `mr-auth login`.
    pub(crate) fn not_signed_in(message: impl Into<String>) -> Self {
        Self {
            code: EXIT_NOT_SIGNED_IN,
            message: message.into(),
        }
    }

    /// The user pressed Ctrl-C.
    pub(crate) fn interrupted(message: impl Into<String>) -> Self {
        Self {
            code: EXIT_INTERRUPTED,
            message: message.into(),
        }
    }

    pub(crate) fn other(message: impl Into<String>) -> Self {
        Self {
            code: EXIT_OTHER,
            message: message.into(),
        }
    }

    pub(crate) fn exit_code(&self) -> u8 {
        self.code
    }

    /// The message on one line, whatever the underlying errors contained: whitespace runs
    /// (line breaks included) become one space, other control characters U+FFFD (the libraries
    /// replace them where their errors are built; this is the last line of defence for a
    /// terminal).
    pub(crate) fn one_line(&self) -> String {
        let line = self
            .message
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        mr_auth_core::without_control_characters(line)
    }
}

impl From<mr_auth_core::Error> for CliError {
    fn from(error: mr_auth_core::Error) -> Self {
        let code = match error.kind() {
            ErrorKind::InvalidInput => EXIT_BAD_INPUT,
            ErrorKind::AuthenticationFailed | ErrorKind::RequestRejected => EXIT_AUTHENTICATION,
            _ if error.is_transient() => EXIT_TRANSIENT,
            // A server error retrying cannot fix (501, 505): the service is unusable as it is.
            ErrorKind::Protocol | ErrorKind::ServiceError => EXIT_PROTOCOL,
            // TLS (certificate, trust) problems are configuration, not transient.
            _ => EXIT_OTHER,
        };
        Self {
            code,
            message: error.to_string(),
        }
    }
}

impl From<mr_auth_broker::Error> for CliError {
    fn from(error: mr_auth_broker::Error) -> Self {
        use mr_auth_broker::ErrorKind as Kind;
        let code = match error.kind() {
            Kind::InvalidInput | Kind::UnsupportedAuthority | Kind::TenantNotAllowed => {
                EXIT_BAD_INPUT
            }
            Kind::AuthenticationRequired => EXIT_NOT_SIGNED_IN,
            Kind::UserCancelled
            | Kind::AuthenticationFailed
            | Kind::RedirectUriNotRegistered
            | Kind::DeviceCodeExpired
            | Kind::BadVerificationCode
            | Kind::Timeout => EXIT_AUTHENTICATION,
            Kind::Throttled | Kind::ServiceError | Kind::Transport => EXIT_TRANSIENT,
            Kind::Protocol => EXIT_PROTOCOL,
            // Broker unavailable, PoP without a broker, no loopback port, the persistent
            // cache, internal errors: configuration or environment, said in the message.
            _ => EXIT_OTHER,
        };
        let mut message = error.to_string();
        if error.kind() == Kind::PersistentCache {
            // The library names its option; here it is a flag.
            message = message.replace(
                "set allow_unencrypted_storage",
                "pass --allow-unencrypted-storage",
            );
        }
        if code == EXIT_NOT_SIGNED_IN {
            message.push_str("; run `mr-auth login`");
        }
        Self { code, message }
    }
}

impl From<mr_auth_msal_cache::Error> for CliError {
    /// As the broker's error for the same failure: the cache is the broker's persistent cache.
    fn from(error: mr_auth_msal_cache::Error) -> Self {
        mr_auth_broker::Error::from(error).into()
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.one_line())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_map_to_distinct_exit_codes() {
        let code = |kind| CliError::from(mr_auth_core::Error::new(kind, "x")).exit_code();
        assert_eq!(code(ErrorKind::InvalidInput), EXIT_BAD_INPUT);
        assert_eq!(code(ErrorKind::AuthenticationFailed), EXIT_AUTHENTICATION);
        assert_eq!(code(ErrorKind::RequestRejected), EXIT_AUTHENTICATION);
        assert_eq!(code(ErrorKind::Throttled), EXIT_TRANSIENT);
        assert_eq!(code(ErrorKind::Transport), EXIT_TRANSIENT);
        assert_eq!(code(ErrorKind::Timeout), EXIT_TRANSIENT);
        assert_eq!(code(ErrorKind::ServiceError), EXIT_TRANSIENT);
        assert_eq!(code(ErrorKind::Protocol), EXIT_PROTOCOL);
        assert_eq!(code(ErrorKind::Tls), EXIT_OTHER);
    }

    #[test]
    fn broker_kinds_map_to_exit_codes() {
        use mr_auth_broker::ErrorKind as Kind;
        let code = |kind| CliError::from(mr_auth_broker::Error::new(kind, "x")).exit_code();
        assert_eq!(code(Kind::InvalidInput), EXIT_BAD_INPUT);
        assert_eq!(code(Kind::AuthenticationRequired), EXIT_NOT_SIGNED_IN);
        assert_eq!(code(Kind::UserCancelled), EXIT_AUTHENTICATION);
        assert_eq!(code(Kind::AuthenticationFailed), EXIT_AUTHENTICATION);
        assert_eq!(code(Kind::DeviceCodeExpired), EXIT_AUTHENTICATION);
        assert_eq!(code(Kind::BadVerificationCode), EXIT_AUTHENTICATION);
        assert_eq!(CliError::interrupted("x").exit_code(), EXIT_INTERRUPTED);
        assert_eq!(code(Kind::Throttled), EXIT_TRANSIENT);
        assert_eq!(code(Kind::ServiceError), EXIT_TRANSIENT);
        assert_eq!(code(Kind::Protocol), EXIT_PROTOCOL);
        assert_eq!(code(Kind::PersistentCache), EXIT_OTHER);
        let required = CliError::from(mr_auth_broker::Error::new(
            Kind::AuthenticationRequired,
            "x",
        ));
        assert!(required.one_line().ends_with("run `mr-auth login`"));
    }

    #[test]
    fn cache_errors_map_as_the_broker_s() {
        use mr_auth_msal_cache::{Error, ErrorKind as Kind};
        let unavailable = CliError::from(Error::new(
            Kind::StoreUnavailable,
            "no Secret Service; start one, or set allow_unencrypted_storage to keep a file",
        ));
        assert_eq!(unavailable.exit_code(), EXIT_OTHER);
        assert!(
            unavailable
                .one_line()
                .contains("pass --allow-unencrypted-storage"),
            "{unavailable}"
        );
        let bad_name = CliError::from(Error::new(Kind::InvalidInput, "bad name"));
        assert_eq!(bad_name.exit_code(), EXIT_BAD_INPUT);
    }

    #[test]
    fn messages_fit_on_one_line() {
        let error = CliError::other("first\nsecond\r\n  third");
        assert_eq!(error.one_line(), "first second third");
        let hostile = CliError::other("a\u{1b}]0;title\u{7}b\u{9b}2J");
        assert_eq!(hostile.one_line(), "a\u{fffd}]0;title\u{fffd}b\u{fffd}2J");
    }
}
