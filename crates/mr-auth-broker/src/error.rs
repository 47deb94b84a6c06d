use std::{fmt, sync::Arc};

/// What went wrong, in a form a caller can `match` on.
///
/// Each step of sign-in fails with its own kind, so an application can tell "ask the user to
/// sign in" from "the app registration is wrong" from "try again later" without reading
/// messages. The crate documentation has a troubleshooting section for every kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
#[non_exhaustive]
pub enum ErrorKind {
    /// A value given to a constructor or option was not valid (authority, tenant, scope...).
    #[error("invalid input")]
    InvalidInput,
    /// The authority is of a kind this credential does not support (Azure AD B2C).
    #[error("unsupported authority")]
    UnsupportedAuthority,
    /// A token was requested for a tenant that the credential is not allowed to use.
    #[error("tenant not allowed")]
    TenantNotAllowed,
    /// Silent sign-in failed and interaction was not allowed
    /// (`disable_automatic_authentication`); the message lists what each silent source said.
    #[error("authentication required")]
    AuthenticationRequired,
    /// The user closed or cancelled the sign-in.
    #[error("cancelled by user")]
    UserCancelled,
    /// The platform broker (WAM on Windows) is not available; the error says why.
    #[error("broker unavailable")]
    BrokerUnavailable,
    /// A proof-of-possession token was asked for where only the platform broker could make
    /// one, and there is no (capable) broker. A PoP request is never downgraded to Bearer.
    #[error("proof-of-possession needs the platform broker")]
    PopNeedsBroker,
    /// The app registration does not list the redirect URI used (AADSTS50011), or is not a
    /// public client (AADSTS7000218). [`Error::redirect_uri`] names the URI to register.
    #[error("redirect uri not registered")]
    RedirectUriNotRegistered,
    /// The interactive step did not finish within the configured timeout, or a broker did not
    /// answer a call within its bound (`mr-auth-core`'s `Timeout`).
    #[error("timed out")]
    Timeout,
    /// No loopback port was free for the browser flow's redirect receiver.
    #[error("loopback port unavailable")]
    LoopbackUnavailable,
    /// The authority refused the sign-in or the token request (`error` from the redirect or
    /// the token endpoint, other than the cases with their own kind).
    #[error("authentication failed")]
    AuthenticationFailed,
    /// The authority answered 429 (too many requests, after `azure_core`'s retries): retry
    /// later (`mr-auth-core`'s `Throttled`).
    #[error("throttled")]
    Throttled,
    /// The authority (or a broker on its behalf) answered 5xx or said it is temporarily
    /// unavailable: retrying later may help.
    #[error("service error")]
    ServiceError,
    /// The request could not be sent or the answer could not be read.
    #[error("transport error")]
    Transport,
    /// Something did not follow the protocol: a wrong or missing `state` or `nonce`, or a
    /// token response that cannot be used.
    #[error("protocol error")]
    Protocol,
    /// A bug: a step of the sign-in panicked (in a platform broker, or in this crate). The
    /// callers that waited for it get this error; the next call tries again.
    #[error("internal error")]
    Internal,
    /// The persistent token cache could not be used: no secure store (Secret Service,
    /// Keychain, DPAPI) and unencrypted storage not allowed, a cache document that is corrupt or
    /// of a foreign format (left untouched), or the cache's lock not obtained in time.
    #[error("persistent token cache error")]
    PersistentCache,
    /// The device code expired before the user finished signing in (the authority's
    /// `expired_token`, or the code's `expires_in` passed while polling). Sign in again: the
    /// user gets a new code.
    #[error("device code expired")]
    DeviceCodeExpired,
    /// The authority did not recognise the device code the credential polled with (its
    /// `bad_verification_code`). Sign in again; if it persists, the device code flow is
    /// misbehaving between this credential and the authority.
    #[error("bad verification code")]
    BadVerificationCode,
}

type Source = Arc<dyn std::error::Error + Send + Sync + 'static>;

/// The error of every fallible operation in this crate.
///
/// Besides the [`ErrorKind`] it carries what support needs, when known: the authority's
/// `AADSTS` error codes, its correlation id, the HTTP status, and for
/// [`ErrorKind::RedirectUriNotRegistered`] the redirect URI to add to the app registration.
/// It never carries a secret (no code, verifier or token), and never a control character:
/// text from a server, a broker or a file that goes into it (the message, the codes, the
/// correlation id) has them replaced with U+FFFD where the error is built, so printing an
/// error cannot drive a terminal or forge log lines. It is cheap to clone.
#[derive(Clone)]
pub struct Error {
    inner: Arc<Inner>,
}

#[derive(Clone)]
struct Inner {
    kind: ErrorKind,
    message: String,
    status: Option<u16>,
    error_codes: Vec<String>,
    correlation_id: Option<String>,
    redirect_uri: Option<String>,
    oauth_error: Option<String>,
    tries: Option<u32>,
    source: Option<Source>,
}

/// The longest correlation id kept (Entra ID's are GUIDs).
const MAX_CORRELATION_ID: usize = 128;
/// The longest error code kept (`AADSTS` and a number).
const MAX_ERROR_CODE: usize = 64;

impl Error {
    /// An error of `kind` whose message says what was wrong and, when known, what to do.
    /// Control characters in `message` are replaced with U+FFFD.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            inner: Arc::new(Inner {
                kind,
                message: mr_auth_core::without_control_characters(message.into()),
                status: None,
                error_codes: Vec::new(),
                correlation_id: None,
                redirect_uri: None,
                oauth_error: None,
                tries: None,
                source: None,
            }),
        }
    }

    pub(crate) fn invalid_input(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::InvalidInput, message)
    }

    pub(crate) fn protocol(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Protocol, message)
    }

    /// The same details under another kind.
    pub(crate) fn retyped(mut self, kind: ErrorKind) -> Self {
        self.inner_mut().kind = kind;
        self
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

    /// Sets the HTTP status of the response that failed.
    #[must_use]
    pub fn with_status(mut self, status: u16) -> Self {
        self.inner_mut().status = Some(status);
        self
    }

    /// Sets the authority's error codes (`AADSTS50011`, ...), each bounded and without control
    /// characters.
    #[must_use]
    pub fn with_error_codes(mut self, codes: Vec<String>) -> Self {
        self.inner_mut().error_codes = codes
            .iter()
            .map(|code| mr_auth_core::outside_text(code, MAX_ERROR_CODE))
            .collect();
        self
    }

    /// Sets the authority's correlation id, bounded and without control characters.
    #[must_use]
    pub fn with_correlation_id(mut self, correlation_id: Option<String>) -> Self {
        self.inner_mut().correlation_id =
            correlation_id.map(|id| mr_auth_core::outside_text(&id, MAX_CORRELATION_ID));
        self
    }

    /// Sets the redirect URI the app registration must list (control characters replaced).
    #[must_use]
    pub fn with_redirect_uri(mut self, redirect_uri: impl Into<String>) -> Self {
        self.inner_mut().redirect_uri = Some(mr_auth_core::without_control_characters(
            redirect_uri.into(),
        ));
        self
    }

    /// The same error with `note` appended to its message (what the caller did about it).
    #[must_use]
    pub(crate) fn with_note(mut self, note: &str) -> Self {
        let inner = self.inner_mut();
        inner.message = format!("{}; {note}", inner.message);
        self
    }

    /// Sets how many tries of a request were made before this error.
    #[must_use]
    pub(crate) fn with_tries(mut self, tries: u32) -> Self {
        self.inner_mut().tries = Some(tries);
        self
    }

    /// Sets the authority's OAuth `error` code (`invalid_grant`, `authorization_pending`...).
    #[must_use]
    pub(crate) fn with_oauth_error(mut self, error: impl Into<String>) -> Self {
        self.inner_mut().oauth_error = Some(error.into());
        self
    }

    /// What kind of failure this is.
    pub fn kind(&self) -> ErrorKind {
        self.inner.kind
    }

    /// The message, without the kind.
    pub fn message(&self) -> &str {
        &self.inner.message
    }

    /// The HTTP status of the failed response, if one was received.
    pub fn status(&self) -> Option<u16> {
        self.inner.status
    }

    /// The authority's error codes, as `AADSTS<number>`.
    pub fn error_codes(&self) -> &[String] {
        &self.inner.error_codes
    }

    /// The authority's correlation id, for a support request.
    pub fn correlation_id(&self) -> Option<&str> {
        self.inner.correlation_id.as_deref()
    }

    /// For [`ErrorKind::RedirectUriNotRegistered`]: the redirect URI to add to the app
    /// registration.
    pub fn redirect_uri(&self) -> Option<&str> {
        self.inner.redirect_uri.as_deref()
    }

    /// The authority's OAuth `error` code (`invalid_grant`, `authorization_declined`,
    /// `expired_token`...), when the error is the authority's answer.
    pub fn oauth_error(&self) -> Option<&str> {
        self.inner.oauth_error.as_deref()
    }

    /// How many tries of the request to the authority were made, when requests were sent
    /// (the token endpoint retries transient failures; an authorization code is sent once).
    pub fn tries(&self) -> Option<u32> {
        self.inner.tries
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Error");
        d.field("kind", &self.inner.kind)
            .field("message", &self.inner.message);
        if let Some(status) = self.inner.status {
            d.field("status", &status);
        }
        if !self.inner.error_codes.is_empty() {
            d.field("error_codes", &self.inner.error_codes);
        }
        if let Some(id) = &self.inner.correlation_id {
            d.field("correlation_id", id);
        }
        if let Some(uri) = &self.inner.redirect_uri {
            d.field("redirect_uri", uri);
        }
        if let Some(error) = &self.inner.oauth_error {
            d.field("oauth_error", error);
        }
        if let Some(tries) = self.inner.tries {
            d.field("tries", &tries);
        }
        if let Some(source) = &self.inner.source {
            d.field("source", source);
        }
        d.finish()
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.inner.kind, self.inner.message)?;
        if !self.inner.error_codes.is_empty() {
            write!(f, " ({})", self.inner.error_codes.join(", "))?;
        }
        if let Some(id) = &self.inner.correlation_id {
            write!(f, " (correlation id {id})")?;
        }
        match self.inner.tries {
            Some(1) => f.write_str(" (1 try)")?,
            Some(tries) => write!(f, " ({tries} tries)")?,
            None => {}
        }
        Ok(())
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.inner
            .source
            .as_ref()
            .map(|s| s.as_ref() as &(dyn std::error::Error + 'static))
    }
}

impl From<Error> for azure_core::Error {
    /// Becomes an `azure_core` credential error that keeps this error as its source, so
    /// callers can downcast back to [`Error`] and match on its kind.
    fn from(error: Error) -> Self {
        azure_core::Error::new(azure_core::error::ErrorKind::Credential, error)
    }
}

impl From<mr_auth_core::FetchAborted> for Error {
    fn from(aborted: mr_auth_core::FetchAborted) -> Self {
        Error::new(ErrorKind::Internal, aborted.to_string())
    }
}

impl From<mr_auth_core::FetchedTokenExpired> for Error {
    fn from(expired: mr_auth_core::FetchedTokenExpired) -> Self {
        Error::protocol(expired.to_string())
    }
}

/// The result of every fallible operation in this crate.
pub type Result<T> = std::result::Result<T, Error>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_has_kind_message_codes_and_correlation_id() {
        let e = Error::new(ErrorKind::RedirectUriNotRegistered, "add http://localhost")
            .with_error_codes(vec!["AADSTS50011".into()])
            .with_correlation_id(Some("abc".into()))
            .with_redirect_uri("http://localhost");
        assert_eq!(
            e.to_string(),
            "redirect uri not registered: add http://localhost (AADSTS50011) (correlation id abc)"
        );
        assert_eq!(e.redirect_uri(), Some("http://localhost"));
    }

    #[test]
    fn text_from_outside_cannot_drive_a_terminal() {
        let e = Error::new(
            ErrorKind::AuthenticationFailed,
            "the authority refused (\u{1b}]0;owned\u{7}\u{1b}[2J\r\nforged)",
        )
        .with_error_codes(vec!["AADSTS1\u{9b}2J".into()])
        .with_correlation_id(Some(format!("c\u{1b}[8m{}", "x".repeat(500))))
        .with_redirect_uri("http://localhost\n");
        let shown = e.to_string();
        assert!(!shown.chars().any(char::is_control), "{shown:?}");
        assert!(shown.contains("\u{fffd}]0;owned"), "{shown:?}");
        assert!(e.correlation_id().unwrap().len() <= MAX_CORRELATION_ID + 3);
        assert!(!e.redirect_uri().unwrap().contains('\n'));
        assert!(!format!("{e:?}").contains('\u{1b}'));
    }

    #[test]
    fn converts_to_azure_core_keeping_the_kind() {
        let e = Error::new(ErrorKind::UserCancelled, "the user closed the window");
        let core: azure_core::Error = e.into();
        assert!(matches!(
            core.kind(),
            azure_core::error::ErrorKind::Credential
        ));
        let back = core.downcast_ref::<Error>().expect("source kept");
        assert_eq!(back.kind(), ErrorKind::UserCancelled);
    }

    #[test]
    fn clones_share_details_and_builders_do_not_panic_after_clone() {
        let e = Error::new(ErrorKind::Protocol, "x");
        let shared = e.clone();
        let e = e.with_status(400);
        assert_eq!(e.status(), Some(400));
        assert_eq!(shared.status(), None);
    }
}
