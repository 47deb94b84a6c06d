use mr_auth_core::without_control_characters;
use std::sync::Arc;

/// What went wrong, in a form a caller can `match` on.
///
/// The kinds that mean the same as `mr_auth_core::ErrorKind`'s carry the same names
/// (`InvalidInput`, `Protocol`, `Timeout`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
#[non_exhaustive]
pub enum ErrorKind {
    /// A value given to this crate was not valid, such as a cache name that is not a plain
    /// file name.
    #[error("invalid input")]
    InvalidInput,
    /// A token response cannot be stored as given: its `client_info` is not the authority's
    /// base64url JSON with `uid` and `utid`.
    #[error("protocol error")]
    Protocol,
    /// The stored cache is not an MSAL cache document (not a JSON object, larger than
    /// [`MAX_CACHE_BYTES`](crate::MAX_CACHE_BYTES), or not a regular file at all, such as a
    /// named pipe): a corrupt, truncated or foreign file. It was left as it is: repair or
    /// remove it.
    #[error("invalid cache document")]
    InvalidDocument,
    /// There is no store to keep the cache in: no Secret Service answers on the session bus,
    /// or it has no default collection that persists, and unencrypted storage is not allowed;
    /// the directory the cache lives in is not known (`HOME`, `LOCALAPPDATA`); or that
    /// directory is not private (another user's, or one others can write to that cannot be
    /// repaired).
    #[error("store unavailable")]
    StoreUnavailable,
    /// The store is not implemented on this platform: DPAPI off Windows, the Secret Service
    /// off Linux, the macOS Keychain anywhere.
    #[error("unsupported on this platform")]
    Unsupported,
    /// Reading or writing the store failed: a file, DPAPI, or a Secret Service call.
    #[error("storage error")]
    Storage,
    /// Another process held the cache's lock (`<cache>.lockfile`) for longer than the lock
    /// timeout, while a change waited for it (reads take no lock). The message names the lock
    /// and its holder.
    #[error("timed out")]
    Timeout,
    /// A bug: a background task of this crate failed. Please report it.
    #[error("internal error")]
    Internal,
}

type Source = Arc<dyn std::error::Error + Send + Sync + 'static>;

/// The error of every fallible operation in this crate: a [`kind`](Self::kind) to match on,
/// a message that says what was wrong and what to do, and the underlying cause as its
/// [`source`](std::error::Error::source). It never holds a token. It is cheap to clone.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{kind}: {message}")]
pub struct Error {
    kind: ErrorKind,
    message: String,
    #[source]
    source: Option<Source>,
}

impl Error {
    /// An error of `kind` whose message says what was wrong and, when known, what to do.
    /// Control characters in the message (from a file name, an OS or D-Bus message) are
    /// replaced, so the message is safe to show on a terminal.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: without_control_characters(message.into()),
            source: None,
        }
    }

    /// The same error, its message prefixed with where it happened (a store's description).
    pub(crate) fn at(mut self, location: &str) -> Self {
        self.message = without_control_characters(format!("{location}: {}", self.message));
        self
    }

    /// Attaches the underlying cause.
    #[must_use]
    pub fn with_source(mut self, source: impl std::error::Error + Send + Sync + 'static) -> Self {
        self.source = Some(Arc::new(source));
        self
    }

    /// What kind of failure this is.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The message, without the kind.
    pub fn message(&self) -> &str {
        &self.message
    }
}

/// The result of every fallible operation in this crate.
pub type Result<T> = std::result::Result<T, Error>;

#[cfg(test)]
mod tests {
    use super::*;
    use std::error::Error as _;

    #[test]
    fn display_is_kind_then_message_and_the_source_is_kept() {
        let io = std::io::Error::new(std::io::ErrorKind::PermissionDenied, "denied");
        let e = Error::new(ErrorKind::Storage, "cannot read the token cache /x: denied")
            .with_source(io);
        assert_eq!(
            e.to_string(),
            "storage error: cannot read the token cache /x: denied"
        );
        assert_eq!(e.source().unwrap().to_string(), "denied");
        assert_eq!(e.clone().kind(), ErrorKind::Storage);
    }

    #[test]
    fn control_characters_never_reach_the_message() {
        let e = Error::new(ErrorKind::Storage, "cannot read /tmp/a\u{1b}[2Jb\n");
        assert_eq!(e.message(), "cannot read /tmp/a\u{fffd}[2Jb\u{fffd}");
    }
}
