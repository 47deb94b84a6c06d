//! Requests to the authority's endpoints (token, devicecode), as the STS client makes its own
//! (`mr-auth-core`'s retry loop): a form POST whose every try reads the whole answer within a
//! per-try timeout, transient failures retried only where the grant allows a second send,
//! the whole call bounded, and errors that name the cause and the tries.

use super::{form_body::FormBody, lazy_pipeline::LazyPipeline};
use crate::error::{Error, ErrorKind, Result};
use azure_core::http::{
    headers::{self, content_type, RETRY_AFTER},
    ClientOptions, Context, Method, Pipeline, PipelineStreamOptions, Request, RetryOptions,
};
use mr_auth_core::{
    describe_transport_failure, is_retryable_status, read_bounded_body, run_with_retries,
    BodyReadError, CallRequestId, FailedTry, RetryProgress, StsRetryOptions, TransportFailure,
};
use std::{
    fmt,
    sync::atomic::{AtomicBool, Ordering},
    time::Duration,
};
use tokio::time::Instant;
use url::Url;

/// The most an answer's body may be: 64 KiB, far beyond any token response (the same bound as
/// the STS client's, `mr_auth_core::MAX_RESPONSE_BYTES`).
pub(crate) const MAX_RESPONSE_BYTES: usize = mr_auth_core::MAX_RESPONSE_BYTES;

/// How long one try may take, from sending the request to the last byte of the answer.
pub(crate) const TRY_TIMEOUT: Duration = Duration::from_secs(20);

/// The default bound of one request to the authority (its token or devicecode endpoint),
/// every try and every wait between them: 60 seconds.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

/// When a request may be sent again after a try failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Resend {
    /// After any transient failure (a refused, reset or cut connection, 408, 429, 500, 502,
    /// 503, 504, the per-try timeout): a refresh token grant, a device authorization request.
    Transient,
    /// Only when the server cannot have received it (the connection was refused, or never
    /// made): an authorization code, which the authority redeems once.
    IfNotReceived,
    /// Never: one poll of the device code grant (the flow polls again after its interval).
    Never,
}

impl Resend {
    fn after(self, failure: Option<TransportFailure>) -> bool {
        match (self, failure) {
            (_, Some(TransportFailure::Tls)) | (Self::Never, _) => false,
            (Self::Transient, _) => true,
            (Self::IfNotReceived, Some(failure)) => failure.request_not_sent(),
            (Self::IfNotReceived, None) => false,
        }
    }
}

/// An answer of the authority (any status), and how many tries it took.
#[derive(Debug)]
pub(crate) struct Answer {
    pub(crate) status: u16,
    pub(crate) body: Vec<u8>,
    pub(crate) tries: u32,
}

/// Why a try failed: an answer with a status worth retrying (kept, so that when the retries
/// run out the caller reads the authority's own error), or an error.
enum Failure {
    Answer { status: u16, body: Vec<u8> },
    Error(Error),
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Answer { status, .. } => write!(f, "the authority answered {status}"),
            Self::Error(e) => write!(f, "{}", e.message()),
        }
    }
}

/// The authority's endpoints as this crate calls them: one `azure_core` pipeline without its
/// own retries (the tries are this client's, each reading the whole answer), and the limits.
#[derive(Debug, Clone)]
pub(crate) struct AuthorityClient {
    /// Built at the first request, not with the credential: a credential that answers from
    /// its caches never builds an HTTP client, its TLS setup or the root certificates.
    pipeline: LazyPipeline,
    try_timeout: Duration,
    timeout: Duration,
    retry: StsRetryOptions,
}

impl AuthorityClient {
    /// A client through a pipeline of `client_options` (its `retry` is replaced: this client
    /// retries itself), each request bounded by `timeout` in all.
    pub(crate) fn new(client_options: ClientOptions, timeout: Duration) -> Self {
        let options = ClientOptions {
            retry: RetryOptions::none(),
            ..client_options
        };
        let pipeline = LazyPipeline::new(options);
        Self {
            pipeline,
            try_timeout: TRY_TIMEOUT.min(timeout),
            timeout,
            retry: StsRetryOptions::default(),
        }
    }

    /// Posts `form` to `url` (`endpoint` names it in messages: "token endpoint"), trying again
    /// as `resend` allows, and returns the authority's answer, whatever its status, or an
    /// error naming what failed: the connection (refused, reset, DNS, TLS), the per-try
    /// timeout, the whole call's, or an oversized answer.
    pub(crate) async fn post_form(
        &self,
        endpoint: &'static str,
        url: &Url,
        form: &FormBody,
        resend: Resend,
        context: &Context<'_>,
    ) -> Result<Answer> {
        // Building the HTTP client (the first request only) fails as a typed error here.
        let pipeline = self.pipeline.get()?;
        let started = Instant::now();
        let progress = RetryProgress::default();
        let call = Call {
            client: self,
            pipeline,
            endpoint,
            url,
            form,
            request_id: CallRequestId::new(context),
            resend,
            context,
            deadline: started + self.timeout,
            progress: &progress,
        };
        let retry = if resend == Resend::Never {
            StsRetryOptions::none()
        } else {
            self.retry.clone()
        };
        let tries = run_with_retries(&retry, started, &progress, endpoint, |_| call.try_once());
        // Each try's own timer ends at the call's deadline at the latest (and then reports the
        // call's timeout); this one bounds the waits between tries.
        let outcome = match tokio::time::timeout_at(call.deadline, tries).await {
            Ok(outcome) => outcome,
            Err(_) => return Err(call.timeout_error()),
        };
        let tries = progress.tries();
        match outcome {
            Ok((status, body)) | Err(Failure::Answer { status, body }) => Ok(Answer {
                status,
                body,
                tries,
            }),
            Err(Failure::Error(e)) => Err(e.with_tries(tries)),
        }
    }
}

/// The POST of `form` to `url`, with the call's request id set before `azure_core`'s policies
/// see it (see `mr_auth_core::CallRequestId`).
fn form_request(url: &Url, form: &FormBody, request_id: &CallRequestId) -> Request {
    let mut request = Request::new(url.clone(), Method::Post);
    request.insert_header(
        headers::CONTENT_TYPE,
        content_type::APPLICATION_X_WWW_FORM_URLENCODED,
    );
    request_id.insert_into(&mut request);
    // A handle to the form's one zeroizing buffer, never logged (azure_core logs no bodies).
    request.set_body(form.bytes());
    request
}

/// One request being made.
struct Call<'a> {
    client: &'a AuthorityClient,
    pipeline: &'a Pipeline,
    endpoint: &'static str,
    url: &'a Url,
    form: &'a FormBody,
    /// The call's `x-ms-client-request-id`, sent with each of its tries.
    request_id: CallRequestId,
    resend: Resend,
    context: &'a Context<'a>,
    /// When the whole call ends, every try and wait included.
    deadline: Instant,
    progress: &'a RetryProgress<Failure>,
}

impl Call<'_> {
    /// `host:port`, for messages.
    fn host_port(&self) -> String {
        let host = self.url.host_str().unwrap_or_default();
        match self.url.port_or_known_default() {
            Some(port) => format!("{host}:{port}"),
            None => host.to_owned(),
        }
    }

    /// One try: send, read the whole answer, within the per-try timeout and the call's
    /// deadline.
    async fn try_once(&self) -> std::result::Result<(u16, Vec<u8>), FailedTry<Failure>> {
        let answered = AtomicBool::new(false);
        let own_deadline = Instant::now() + self.client.try_timeout;
        let cut_by_call = self.deadline <= own_deadline;
        let deadline = own_deadline.min(self.deadline);
        match tokio::time::timeout_at(deadline, self.send_and_read(&answered)).await {
            Ok(result) => result,
            Err(_) if cut_by_call => Err(FailedTry::fatal(Failure::Error(self.timeout_error()))),
            Err(_) => {
                let what = if answered.load(Ordering::Relaxed) {
                    "sent the response headers, then the body stalled"
                } else {
                    "did not answer"
                };
                let error = Error::new(
                    ErrorKind::Timeout,
                    format!(
                        "the authority's {} at {} {what}: no complete answer within the per-try timeout of {} s{}",
                        self.endpoint,
                        self.host_port(),
                        self.client.try_timeout.as_secs(),
                        self.not_resent_note(None),
                    ),
                );
                Err(self.failed(Failure::Error(error), None, None))
            }
        }
    }

    async fn send_and_read(
        &self,
        answered: &AtomicBool,
    ) -> std::result::Result<(u16, Vec<u8>), FailedTry<Failure>> {
        let mut request = form_request(self.url, self.form, &self.request_id);
        let options = PipelineStreamOptions {
            skip_checks: true,
            ..Default::default()
        };
        let response = self
            .pipeline
            .stream(self.context, &mut request, Some(options))
            .await
            .map_err(|e| self.transport_failure(e))?;
        drop(request);
        answered.store(true, Ordering::Relaxed);
        let status = u16::from(response.status());
        let (_, headers, body) = response.deconstruct();
        let retry_after = headers
            .iter()
            .find(|(name, _)| **name == RETRY_AFTER)
            .and_then(|(_, value)| value.as_str().trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let body = match read_bounded_body(body, MAX_RESPONSE_BYTES).await {
            Ok(body) => body,
            Err(BodyReadError::TooLarge) => {
                let error = Error::protocol(format!(
                    "the authority's {}'s answer is larger than {MAX_RESPONSE_BYTES} bytes, far beyond any token response; refusing to read it",
                    self.endpoint
                ))
                .with_status(status);
                return Err(FailedTry::fatal(Failure::Error(error)));
            }
            Err(BodyReadError::Cut(e)) => {
                let cause = describe_transport_failure(&e);
                let error = Error::new(
                    ErrorKind::Transport,
                    format!(
                        "the connection to {} closed before the whole answer of the authority's {} arrived ({}){}",
                        self.host_port(),
                        self.endpoint,
                        cause.cause,
                        self.not_resent_note(None),
                    ),
                )
                .with_status(status)
                .with_source(e);
                return Err(self.failed(Failure::Error(error), None, None));
            }
        };
        if is_retryable_status(status) {
            return Err(self.failed(Failure::Answer { status, body }, None, retry_after));
        }
        Ok((status, body))
    }

    /// A failed try, retried as the request's [`Resend`] allows after `transport` (`None`: the
    /// server may have received the request).
    fn failed(
        &self,
        failure: Failure,
        transport: Option<TransportFailure>,
        retry_after: Option<Duration>,
    ) -> FailedTry<Failure> {
        FailedTry {
            error: failure,
            retry: self.resend.after(transport),
            retry_after,
        }
    }

    /// For a request sent once only, why a failure that another try might repair is final.
    fn not_resent_note(&self, transport: Option<TransportFailure>) -> &'static str {
        match self.resend {
            Resend::IfNotReceived if !transport.is_some_and(TransportFailure::request_not_sent) => {
                "; not sent again: the authority may have received it, and an authorization code can be redeemed once (sign in again)"
            }
            _ => "",
        }
    }

    fn transport_failure(&self, error: azure_core::Error) -> FailedTry<Failure> {
        let described = describe_transport_failure(&error);
        let host_port = self.host_port();
        let note = self.not_resent_note(Some(described.failure));
        let (kind, message) = match described.failure {
            TransportFailure::Tls => (
                ErrorKind::Transport,
                format!(
                    "the TLS connection to the authority at {host_port} failed: {}",
                    described.cause
                ),
            ),
            TransportFailure::ConnectTimeout => (
                ErrorKind::Timeout,
                format!("connecting to the authority at {host_port} timed out; check the network and the authority host"),
            ),
            TransportFailure::Refused => (
                ErrorKind::Transport,
                format!("connection refused by {host_port}: nothing accepts connections there; check the authority host and its port"),
            ),
            TransportFailure::Reset => (
                ErrorKind::Transport,
                format!("the connection to {host_port} was reset before the authority's {} answered{note}", self.endpoint),
            ),
            TransportFailure::Closed => (
                ErrorKind::Transport,
                format!("the connection to {host_port} was closed before the authority's {} answered{note}", self.endpoint),
            ),
            TransportFailure::Connect => (
                ErrorKind::Transport,
                format!("could not connect to the authority at {host_port}: {}", described.cause),
            ),
            _ => (
                ErrorKind::Transport,
                format!(
                    "the request to the authority's {} at {host_port} failed: {}{note}",
                    self.endpoint, described.cause
                ),
            ),
        };
        let error = Error::new(kind, message).with_source(error);
        self.failed(Failure::Error(error), Some(described.failure), None)
    }

    /// The error of a call its overall timeout cut: what it had done, and the failure before.
    fn timeout_error(&self) -> Error {
        let progress = self.progress;
        // The number of tries is the error's own (its `Display` ends with it).
        let tries = progress.tries();
        let detail = match progress.take_last_failure() {
            Some(last) if progress.in_try() => {
                format!("the last try without a complete answer; the one before: {last}")
            }
            Some(last) => format!("waiting to retry after: {last}"),
            None => "the last try without a complete answer".to_owned(),
        };
        Error::new(
            ErrorKind::Timeout,
            format!(
                "the authority's {} at {} did not answer within {} s ({detail})",
                self.endpoint,
                self.host_port(),
                self.client.timeout.as_secs()
            ),
        )
        .with_tries(tries)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_request_carries_its_id_before_the_pipeline_sees_it() {
        use azure_core::http::headers::CLIENT_REQUEST_ID;
        let url = Url::parse("https://127.0.0.1/tenant/oauth2/v2.0/token").unwrap();
        let form = FormBody::new(&[("grant_type", "refresh_token")]);
        let id = CallRequestId::new(&Context::new());
        let request = form_request(&url, &form, &id);
        assert_eq!(
            request.headers().get_optional_str(&CLIENT_REQUEST_ID),
            Some(id.as_str())
        );
    }

    #[test]
    fn only_an_unsent_code_is_sent_again() {
        use TransportFailure as F;
        for failure in [F::Refused, F::ConnectTimeout, F::Connect] {
            assert!(Resend::IfNotReceived.after(Some(failure)), "{failure:?}");
            assert!(Resend::Transient.after(Some(failure)), "{failure:?}");
            assert!(!Resend::Never.after(Some(failure)), "{failure:?}");
        }
        for failure in [F::Reset, F::Closed, F::Other] {
            assert!(!Resend::IfNotReceived.after(Some(failure)), "{failure:?}");
            assert!(Resend::Transient.after(Some(failure)), "{failure:?}");
        }
        // A timeout after sending, a cut answer or a 5xx: the server may have it.
        assert!(!Resend::IfNotReceived.after(None));
        assert!(Resend::Transient.after(None));
        for resend in [Resend::Transient, Resend::IfNotReceived, Resend::Never] {
            assert!(!resend.after(Some(F::Tls)), "{resend:?}");
        }
    }
}
