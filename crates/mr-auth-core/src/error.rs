use std::{fmt, sync::Arc, time::Duration};

/// What went wrong, in a form a caller can `match` on.
///
/// Authentication failures are told apart from transient ones by the kind, not only by the
/// message: retrying an [`ErrorKind::AuthenticationFailed`] will not help, retrying a
/// [`ErrorKind::Throttled`] or [`ErrorKind::ServiceError`] later may.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
#[non_exhaustive]
pub enum ErrorKind {
    /// A value given to a constructor or option was not valid (bad account id, domain, URL...).
    #[error("invalid input")]
    InvalidInput,
    /// The STS rejected the credential (401), or the credential could not produce a token.
    #[error("authentication failed")]
    AuthenticationFailed,
    /// The STS rejected the request itself (400, 403, 404 or another 4xx that is not retried).
    #[error("request rejected")]
    RequestRejected,
    /// The STS kept answering 429 until the retry budget ran out.
    #[error("throttled")]
    Throttled,
    /// The STS failed with a server error: a transient one (500, 502, 503, 504, 408) until the
    /// retry budget ran out, or one that retrying cannot fix (501, 505, ...; then
    /// [`Error::is_transient`] is false).
    #[error("service error")]
    ServiceError,
    /// The request could not be sent or the response could not be read (connection refused,
    /// reset, closed before the whole response arrived, DNS). TLS problems are
    /// [`ErrorKind::Tls`].
    #[error("transport error")]
    Transport,
    /// The TLS handshake failed, usually because of the server's certificate (not trusted,
    /// not valid for the host name, expired). Not retried: it cannot succeed until the
    /// certificate or the trusted roots change.
    #[error("TLS error")]
    Tls,
    /// The request did not complete within the configured timeout.
    #[error("timed out")]
    Timeout,
    /// The STS answered 200 with something that is not a usable token response.
    #[error("protocol error")]
    Protocol,
}

type Source = Arc<dyn std::error::Error + Send + Sync + 'static>;

/// The error of every fallible operation in this crate.
///
/// It carries what support needs: the HTTP status, the service's `WWW-Authenticate` message,
/// the response's `MS-CV` and the request's `X-MRC-CV`, and for throttling the delay the
/// service asked for. It is cheap to clone, so one failed exchange can be handed to every
/// caller that waited for it.
#[derive(Clone)]
pub struct Error {
    inner: Arc<Inner>,
}

#[derive(Clone)]
struct Inner {
    kind: ErrorKind,
    message: String,
    status: Option<u16>,
    service_message: Option<String>,
    service_error_code: Option<String>,
    service_error_message: Option<String>,
    ms_cv: Option<String>,
    request_cv: Option<String>,
    retry_after: Option<Duration>,
    tries: Option<u32>,
    transient: bool,
    source: Option<Source>,
}

impl Error {
    /// An error of `kind` with a message that says what was wrong (and what to do, when known).
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            inner: Arc::new(Inner {
                kind,
                message: message.into(),
                status: None,
                service_message: None,
                service_error_code: None,
                service_error_message: None,
                ms_cv: None,
                request_cv: None,
                retry_after: None,
                tries: None,
                transient: matches!(
                    kind,
                    ErrorKind::Throttled
                        | ErrorKind::ServiceError
                        | ErrorKind::Transport
                        | ErrorKind::Timeout
                ),
                source: None,
            }),
        }
    }

    pub(crate) fn invalid_input(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::InvalidInput, message)
    }

    fn inner_mut(&mut self) -> &mut Inner {
        Arc::make_mut(&mut self.inner)
    }

    /// Attaches the underlying cause.
    #[must_use]
    pub fn with_source(mut self, source: impl std::error::Error + Send + Sync + 'static) -> Self {
        self.inner_mut().source = Some(Arc::new(source));
        self
    }

    pub(crate) fn with_status(mut self, status: u16) -> Self {
        self.inner_mut().status = Some(status);
        self
    }

    pub(crate) fn with_service_message(mut self, message: Option<String>) -> Self {
        self.inner_mut().service_message = message;
        self
    }

    pub(crate) fn with_service_error(
        mut self,
        code: Option<String>,
        message: Option<String>,
    ) -> Self {
        let inner = self.inner_mut();
        inner.service_error_code = code;
        inner.service_error_message = message;
        self
    }

    pub(crate) fn with_tries(mut self, tries: u32) -> Self {
        self.inner_mut().tries = Some(tries);
        self
    }

    pub(crate) fn with_transient(mut self, transient: bool) -> Self {
        self.inner_mut().transient = transient;
        self
    }

    pub(crate) fn with_ms_cv(mut self, ms_cv: Option<String>) -> Self {
        self.inner_mut().ms_cv = ms_cv;
        self
    }

    pub(crate) fn with_request_cv(mut self, request_cv: Option<String>) -> Self {
        self.inner_mut().request_cv = request_cv;
        self
    }

    pub(crate) fn with_retry_after(mut self, retry_after: Option<Duration>) -> Self {
        self.inner_mut().retry_after = retry_after;
        self
    }

    /// What kind of failure this is.
    pub fn kind(&self) -> ErrorKind {
        self.inner.kind
    }

    /// Our description of the failure, without the service's details.
    pub fn message(&self) -> &str {
        &self.inner.message
    }

    /// The HTTP status of the STS response, if one was received.
    pub fn status(&self) -> Option<u16> {
        self.inner.status
    }

    /// The message of the response's `WWW-Authenticate` header (for example
    /// `Invalid token: ...`), if the service sent one.
    pub fn service_message(&self) -> Option<&str> {
        self.inner.service_message.as_deref()
    }

    /// The `error.code` of the service's JSON error body (`{"error":{"code":...,"message":...}}`),
    /// if it sent one; bounded in length and stripped of control characters.
    pub fn service_error_code(&self) -> Option<&str> {
        self.inner.service_error_code.as_deref()
    }

    /// The `error.message` of the service's JSON error body, if it sent one; bounded in length
    /// and stripped of control characters.
    pub fn service_error_message(&self) -> Option<&str> {
        self.inner.service_error_message.as_deref()
    }

    /// How many tries were made before this error was returned, when requests were sent.
    pub fn tries(&self) -> Option<u32> {
        self.inner.tries
    }

    /// The service's correlation vector (`MS-CV` response header). Quote it to support.
    pub fn ms_cv(&self) -> Option<&str> {
        self.inner.ms_cv.as_deref()
    }

    /// The correlation vector this client sent (`X-MRC-CV` request header).
    pub fn request_correlation_vector(&self) -> Option<&str> {
        self.inner.request_cv.as_deref()
    }

    /// The delay the service asked for with `Retry-After`, if it sent one.
    pub fn retry_after(&self) -> Option<Duration> {
        self.inner.retry_after
    }

    /// Whether trying again later may succeed: throttling, transient service errors (not 501
    /// or 505), transport errors and timeouts. TLS, authentication, rejected requests,
    /// protocol errors and invalid input are not transient.
    pub fn is_transient(&self) -> bool {
        self.inner.transient
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = &self.inner;
        write!(f, "{}: {}", inner.kind, inner.message)?;
        if let Some(status) = inner.status {
            write!(f, " (status {status}")?;
            if let Some(message) = &inner.service_message {
                write!(f, ", WWW-Authenticate \"{message}\"")?;
            }
            match (&inner.service_error_code, &inner.service_error_message) {
                (Some(code), Some(message)) => write!(f, ", service error {code}: \"{message}\"")?,
                (Some(code), None) => write!(f, ", service error {code}")?,
                (None, Some(message)) => write!(f, ", service error \"{message}\"")?,
                (None, None) => {}
            }
            f.write_str(")")?;
        }
        if let Some(tries) = inner.tries.filter(|tries| *tries > 1) {
            write!(f, " (after {tries} tries)")?;
        }
        if let Some(retry_after) = inner.retry_after {
            write!(f, " (retry after {}s)", retry_after.as_secs_f32())?;
        }
        if let Some(ms_cv) = &inner.ms_cv {
            write!(f, " [MS-CV {ms_cv}]")?;
        }
        if let Some(cv) = &inner.request_cv {
            write!(f, " [X-MRC-CV {cv}]")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = &self.inner;
        f.debug_struct("Error")
            .field("kind", &inner.kind)
            .field("message", &inner.message)
            .field("status", &inner.status)
            .field("service_message", &inner.service_message)
            .field("service_error_code", &inner.service_error_code)
            .field("service_error_message", &inner.service_error_message)
            .field("ms_cv", &inner.ms_cv)
            .field("request_cv", &inner.request_cv)
            .field("retry_after", &inner.retry_after)
            .field("tries", &inner.tries)
            .field("source", &inner.source)
            .finish()
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.inner
            .source
            .as_deref()
            .map(|source| source as &(dyn std::error::Error + 'static))
    }
}

impl From<Error> for azure_core::Error {
    /// Converts at the `TokenCredential` boundary. The original [`Error`] stays reachable
    /// through `azure_core::Error::downcast_ref::<mr_auth_core::Error>()`.
    fn from(error: Error) -> Self {
        use azure_core::error::ErrorKind as Core;
        let kind = match error.kind() {
            ErrorKind::Transport | ErrorKind::Tls => Core::Connection,
            ErrorKind::Timeout => Core::Io,
            ErrorKind::Protocol => Core::DataConversion,
            _ => Core::Credential,
        };
        azure_core::Error::new(kind, error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_carries_status_service_message_and_correlation_vectors() {
        let error = Error::new(
            ErrorKind::AuthenticationFailed,
            "the STS rejected the credential",
        )
        .with_status(401)
        .with_service_message(Some("Invalid token: bad key".into()))
        .with_ms_cv(Some("cT1Z1Q1eTki0YgIK2wMXNQ.0".into()))
        .with_request_cv(Some("DQzdx06xR5GYcLGnQTzs3w".into()));
        let text = error.to_string();
        assert!(
            text.starts_with("authentication failed: the STS rejected"),
            "{text}"
        );
        assert!(text.contains("status 401"), "{text}");
        assert!(text.contains("Invalid token: bad key"), "{text}");
        assert!(text.contains("cT1Z1Q1eTki0YgIK2wMXNQ.0"), "{text}");
        assert!(text.contains("DQzdx06xR5GYcLGnQTzs3w"), "{text}");
        assert!(!error.is_transient());
    }

    #[test]
    fn converts_into_azure_core_error_keeping_the_source() {
        let error = Error::new(ErrorKind::Throttled, "slow down")
            .with_retry_after(Some(Duration::from_secs(3)));
        assert!(error.is_transient());
        let core: azure_core::Error = error.into();
        assert_eq!(*core.kind(), azure_core::error::ErrorKind::Credential);
        let back = core.downcast_ref::<Error>().expect("source kept");
        assert_eq!(back.kind(), ErrorKind::Throttled);
        assert_eq!(back.retry_after(), Some(Duration::from_secs(3)));
    }

    #[test]
    fn transport_errors_map_to_connection() {
        let core: azure_core::Error = Error::new(ErrorKind::Transport, "refused").into();
        assert_eq!(*core.kind(), azure_core::error::ErrorKind::Connection);
    }
}
