use std::fmt;

/// What went wrong while configuring, starting or controlling the emulator.
///
/// Nothing a client sends to a running emulator produces an [`Error`]: bad requests are
/// answered on the wire (400, 401, 404, ...) and recorded in [`Stats`](crate::Stats).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The configuration is invalid (no account, empty key, too many keys, a fault that
    /// cannot be served, a non-loopback address without opting in, limits out of range, ...).
    InvalidConfig,
    /// The listening socket could not be bound.
    Bind,
    /// The local certificate authority, the server certificate or the TLS configuration
    /// could not be created.
    TlsSetup,
    /// The token signing key could not be created or used.
    Signing,
    /// The emulator was not started inside a Tokio runtime.
    NoRuntime,
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::InvalidConfig => "invalid emulator configuration",
            Self::Bind => "cannot bind the emulator address",
            Self::TlsSetup => "cannot set up emulator TLS",
            Self::Signing => "cannot set up the token signing key",
            Self::NoRuntime => "no tokio runtime",
        })
    }
}

/// The error type of `mr-auth-emulator`.
///
/// Match on [`Error::kind`]; the message says what to change. Messages never contain
/// account keys or tokens.
#[derive(Debug, thiserror::Error)]
#[error("{kind}: {message}")]
pub struct Error {
    kind: ErrorKind,
    message: String,
    #[source]
    source: Option<Box<dyn std::error::Error + Send + Sync + 'static>>,
}

impl Error {
    /// Creates an error of `kind` with a lowercase message without a trailing period.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
            source: None,
        }
    }

    /// Creates an error of `kind` that keeps `source` as its cause.
    pub fn with_source(
        kind: ErrorKind,
        message: impl Into<String>,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        Self {
            kind,
            message: message.into(),
            source: Some(Box::new(source)),
        }
    }

    /// What kind of failure this is.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The message, without the kind prefix.
    pub fn message(&self) -> &str {
        &self.message
    }
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_has_kind_and_message() {
        let err = Error::new(ErrorKind::InvalidConfig, "no account configured");
        assert_eq!(
            err.to_string(),
            "invalid emulator configuration: no account configured"
        );
        assert_eq!(err.kind(), ErrorKind::InvalidConfig);
        assert_eq!(err.message(), "no account configured");
    }

    #[test]
    fn source_is_kept() {
        let io = std::io::Error::new(std::io::ErrorKind::AddrInUse, "in use");
        let err = Error::with_source(ErrorKind::Bind, "cannot bind 127.0.0.1:1", io);
        assert!(std::error::Error::source(&err).is_some());
    }
}
