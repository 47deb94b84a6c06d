use crate::{
    response_body::{read_bounded_body, BodyReadError},
    retry_loop::{run_with_retries, FailedTry, RetryProgress},
    retry_policy::is_retryable_status,
    sts_response::{parse_success, status_error, ResponseMeta},
    transport_failure::{describe_transport_failure, TransportFailure},
    AccountDomain, AccountId, CallRequestId, Clock as _, CorrelationVector, Error, ErrorKind,
    StsEndpoint, StsRetryOptions, SystemClock,
};
use azure_core::{
    credentials::{AccessToken, Secret, TokenCredential, TokenRequestOptions},
    http::{
        headers::{HeaderName, Headers, ACCEPT, AUTHORIZATION, RETRY_AFTER, WWW_AUTHENTICATE},
        ClientMethodOptions, ClientOptions, Context, Method, Pipeline, PipelineStreamOptions,
        Request, RetryOptions, Transport, Url,
    },
};
use std::{
    fmt,
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc,
    },
    time::Duration,
};
use tokio::{sync::Semaphore, time::Instant};
use tracing::Instrument as _;

/// The Azure AD scope requested for the STS call unless overridden: the regionless scope that
/// works for accounts in every region (the double slash is real).
pub const DEFAULT_AAD_SCOPE: &str = "https://sts.mixedreality.azure.com//.default";

/// The largest STS response body read. A real token response is about 2 KiB.
pub const MAX_RESPONSE_BYTES: usize = 64 * 1024;

/// The default of [`MixedRealityStsClientOptions::max_connections_per_host`].
pub const DEFAULT_MAX_CONNECTIONS_PER_HOST: usize = 16;

const X_MRC_CV: HeaderName = HeaderName::from_static("x-mrc-cv");
const MS_CV: HeaderName = HeaderName::from_static("ms-cv");

/// Options of [`MixedRealityStsClient`].
#[derive(Debug, Clone)]
pub struct MixedRealityStsClientOptions {
    /// `azure_core` client options: transport, user agent, logging, per-call and per-try
    /// policies. Its `retry` is not used: the client retries by [`retry`](Self::retry)
    /// itself, so that reading the body is part of each try.
    pub client_options: ClientOptions,
    /// A custom STS endpoint replacing `https://sts.<account domain>` (a sovereign cloud, a
    /// self-hosted STS, the local emulator). See [`StsEndpoint`] for what is accepted.
    pub custom_endpoint: Option<StsEndpoint>,
    /// The Azure AD scope requested from the credential. Defaults to [`DEFAULT_AAD_SCOPE`].
    /// The account-key credential ignores it.
    pub aad_scope: Option<String>,
    /// Retries of transient failures.
    pub retry: StsRetryOptions,
    /// How long establishing a connection (TCP and TLS) may take. Default 10 s. Applies to the
    /// default transport only (a custom `client_options.transport` brings its own).
    pub connect_timeout: Duration,
    /// How long one try may take, from sending the request to the last byte of the response
    /// body. Default 20 s. A try that hits it is retried.
    pub try_timeout: Duration,
    /// How long a whole `get_token` call may take, from its start: the credential, every try
    /// and every wait between tries. Default 60 s (the Python client's 300 s leaves a caller
    /// hanging for five minutes).
    pub timeout: Duration,
    /// Extra root certificates (PEM) the default transport trusts, for example the local
    /// emulator's CA or a private STS's. Nothing is added to any global trust store.
    pub extra_root_certificates_pem: Vec<String>,
    /// Whether the default transport trusts the system's root certificates besides
    /// [`extra_root_certificates_pem`](Self::extra_root_certificates_pem). Default `true`.
    /// Set it to `false` to trust **only** the given certificates (a pinned private STS);
    /// construction then fails if none are given.
    pub trust_system_roots: bool,
    /// How many requests may be in flight to the STS at once, and so how many connections
    /// the client opens at most (HTTP/1.1 uses one connection per request in flight). Further
    /// callers wait for a free slot, within their timeout. Default
    /// [`DEFAULT_MAX_CONNECTIONS_PER_HOST`]; must be at least 1.
    pub max_connections_per_host: usize,
}

impl Default for MixedRealityStsClientOptions {
    fn default() -> Self {
        Self {
            client_options: ClientOptions::default(),
            custom_endpoint: None,
            aad_scope: None,
            retry: StsRetryOptions::default(),
            connect_timeout: Duration::from_secs(10),
            try_timeout: Duration::from_secs(20),
            timeout: Duration::from_secs(60),
            extra_root_certificates_pem: Vec::new(),
            trust_system_roots: true,
            max_connections_per_host: DEFAULT_MAX_CONNECTIONS_PER_HOST,
        }
    }
}

/// Options of one [`MixedRealityStsClient::get_token_with_options`] call (and of the caching
/// credential's calls in `mr-auth-credentials`). Unset fields take the client's options.
///
/// Through `TokenCredential::get_token`, which only takes a [`Context`], put a
/// `StsTokenRequestOptions` into the context with `Context::with_value`; the caching
/// credential reads it from there (its own `method_options` are then not used: the request's
/// context is).
#[derive(Debug, Clone, Default)]
pub struct StsTokenRequestOptions<'a> {
    /// Bounds this call instead of [`MixedRealityStsClientOptions::timeout`]; must be greater
    /// than zero.
    pub timeout: Option<Duration>,
    /// Retries for this call instead of [`MixedRealityStsClientOptions::retry`].
    pub retry: Option<StsRetryOptions>,
    /// The `X-MRC-CV` to send instead of a fresh one, to tie the STS call to the caller's own
    /// request id.
    pub correlation_vector: Option<CorrelationVector>,
    /// The `azure_core` method options; their [`Context`] reaches the pipeline's policies and
    /// the credential.
    pub method_options: ClientMethodOptions<'a>,
}

/// A Mixed Reality access token and the STS correlation vector of the response that issued it.
#[derive(Debug, Clone)]
pub struct StsToken {
    /// The token and its expiry, read from the JWT's `exp`.
    pub access_token: AccessToken,
    /// The response's `MS-CV` header (the service's request id), if it sent one.
    pub ms_cv: Option<String>,
}

/// Exchanges a credential for a Mixed Reality access token at the STS.
///
/// One call is `GET {sts}/Accounts/{account id}/token?api-version=2019-02-28-preview` with
/// `Authorization: Bearer <credential token>`, `Accept: application/json` and a fresh
/// `X-MRC-CV`, sent through an `azure_core` pipeline (user agent, client request id, logging).
/// Each try sends the request and reads the whole body; a try that fails transiently is
/// retried as [`StsRetryOptions`] says.
///
/// Limits, all counted from the start of the call: the whole call ends within
/// [`timeout`](MixedRealityStsClientOptions::timeout) (60 s); each try within
/// [`try_timeout`](MixedRealityStsClientOptions::try_timeout) (20 s); no retry starts after
/// [`max_total_elapsed`](StsRetryOptions::max_total_elapsed) (30 s). So with the defaults a
/// silent server fails the call after two tries, about 40 s in.
pub struct MixedRealityStsClient {
    account_id: AccountId,
    endpoint: StsEndpoint,
    token_url: Url,
    credential: Arc<dyn TokenCredential>,
    scope: String,
    pipeline: Pipeline,
    timeout: Duration,
    try_timeout: Duration,
    connect_timeout: Duration,
    retry: StsRetryOptions,
    connections: Semaphore,
}

impl MixedRealityStsClient {
    /// A client for one account. `credential` is an account-key credential, or any Azure AD
    /// credential from `azure_identity`.
    pub fn new(
        account_id: AccountId,
        account_domain: AccountDomain,
        credential: Arc<dyn TokenCredential>,
        options: Option<MixedRealityStsClientOptions>,
    ) -> Result<Arc<Self>, Error> {
        let options = options.unwrap_or_default();
        let endpoint = options
            .custom_endpoint
            .clone()
            .unwrap_or_else(|| StsEndpoint::for_domain(&account_domain));
        let scope = match &options.aad_scope {
            Some(scope) if scope.trim().is_empty() => {
                return Err(Error::invalid_input(
                    "the AAD scope override is empty; leave it unset to use https://sts.mixedreality.azure.com//.default",
                ))
            }
            Some(scope) => scope.trim().to_owned(),
            None => DEFAULT_AAD_SCOPE.to_owned(),
        };
        check_timeout("timeout", options.timeout)?;
        check_timeout("try_timeout", options.try_timeout)?;
        if options.max_connections_per_host == 0 {
            return Err(Error::invalid_input(
                "max_connections_per_host is zero; allow at least one connection",
            ));
        }
        let mut client_options = options.client_options.clone();
        client_options.retry = RetryOptions::none();
        if client_options.transport.is_none() {
            client_options.transport = Some(default_transport(&options)?);
        }
        let pipeline = Pipeline::new(
            Some(env!("CARGO_PKG_NAME")),
            Some(env!("CARGO_PKG_VERSION")),
            client_options,
            Vec::new(),
            Vec::new(),
            None,
        );
        Ok(Arc::new(Self {
            token_url: endpoint.token_url(&account_id),
            account_id,
            endpoint,
            credential,
            scope,
            pipeline,
            timeout: options.timeout,
            try_timeout: options.try_timeout,
            connect_timeout: options.connect_timeout,
            retry: options.retry,
            connections: Semaphore::new(options.max_connections_per_host),
        }))
    }

    /// The account this client gets tokens for.
    pub fn account_id(&self) -> AccountId {
        self.account_id
    }

    /// The STS endpoint in use.
    pub fn endpoint(&self) -> &StsEndpoint {
        &self.endpoint
    }

    /// The Azure AD scope requested from the credential.
    pub fn aad_scope(&self) -> &str {
        &self.scope
    }

    /// Gets a fresh Mixed Reality access token from the STS with the client's options (no
    /// caching here; see the caching credential in `mr-auth-credentials`).
    pub async fn get_token(&self) -> Result<StsToken, Error> {
        self.get_token_with_options(None).await
    }

    /// Gets a fresh Mixed Reality access token from the STS; `options` override the client's
    /// timeout, retries and correlation vector for this call.
    ///
    /// ```no_run
    /// use std::time::Duration;
    /// use mr_auth_core::{CorrelationVector, MixedRealityStsClient, StsRetryOptions, StsTokenRequestOptions};
    ///
    /// # async fn run(client: &MixedRealityStsClient) -> Result<(), mr_auth_core::Error> {
    /// let token = client
    ///     .get_token_with_options(Some(StsTokenRequestOptions {
    ///         timeout: Some(Duration::from_secs(5)),
    ///         retry: Some(StsRetryOptions::none()),
    ///         correlation_vector: Some("DQzdx06xR5GYcLGnQTzs3w".parse()?),
    ///         ..StsTokenRequestOptions::default()
    ///     }))
    ///     .await?;
    /// # let _ = token; Ok(()) }
    /// ```
    pub async fn get_token_with_options(
        &self,
        options: Option<StsTokenRequestOptions<'_>>,
    ) -> Result<StsToken, Error> {
        let started = Instant::now();
        let options = options.unwrap_or_default();
        let cv = options.correlation_vector.clone().unwrap_or_default();
        let result = self.run(&options, &cv, started).await;
        result.map_err(|error| error.with_request_cv(Some(cv.as_str().to_owned())))
    }

    async fn run(
        &self,
        options: &StsTokenRequestOptions<'_>,
        cv: &CorrelationVector,
        started: Instant,
    ) -> Result<StsToken, Error> {
        let timeout = options.timeout.unwrap_or(self.timeout);
        check_timeout("the per-call timeout", timeout)?;
        let retry = options.retry.as_ref().unwrap_or(&self.retry);
        let progress = RetryProgress::default();
        let span =
            tracing::debug_span!("mr_sts_get_token", account_id = %self.account_id, x_mrc_cv = %cv);
        let exchange = self.exchange(
            cv,
            retry,
            &options.method_options.context,
            started,
            &progress,
        );
        match tokio::time::timeout_at(started + timeout, exchange)
            .instrument(span)
            .await
        {
            Ok(result) => result,
            Err(_) => Err(timeout_error(&progress, &self.endpoint, timeout)),
        }
    }

    async fn exchange(
        &self,
        cv: &CorrelationVector,
        retry: &StsRetryOptions,
        ctx: &Context<'_>,
        started: Instant,
        progress: &RetryProgress<Error>,
    ) -> Result<StsToken, Error> {
        let credential_options = TokenRequestOptions {
            method_options: ClientMethodOptions {
                context: ctx.clone(),
            },
        };
        let credential_token = self
            .credential
            .get_token(&[self.scope.as_str()], Some(credential_options))
            .await
            .map_err(|error| {
                Error::new(
                    ErrorKind::AuthenticationFailed,
                    format!(
                        "the credential could not produce a token for the STS request: {error}"
                    ),
                )
                .with_source(error)
            })?;
        let secret = credential_token.token;
        let request_id = CallRequestId::new(ctx);
        run_with_retries(retry, started, progress, "the STS request", |tries| {
            self.try_once(cv, &request_id, &secret, ctx, tries)
        })
        .await
        .map_err(|error| error.with_tries(progress.tries()))
    }

    /// One try: wait for a connection slot, send, read the whole body, within the per-try
    /// timeout.
    async fn try_once(
        &self,
        cv: &CorrelationVector,
        request_id: &CallRequestId,
        secret: &Secret,
        ctx: &Context<'_>,
        tries: u32,
    ) -> Result<StsToken, FailedTry<Error>> {
        let _slot = self.connections.acquire().await.map_err(|_| {
            FailedTry::fatal(Error::new(
                ErrorKind::Transport,
                "the client's connection slots were closed",
            ))
        })?;
        let headers_received = AtomicBool::new(false);
        let attempt = self.send_and_read(cv, request_id, secret, ctx, tries, &headers_received);
        match tokio::time::timeout(self.try_timeout, attempt).await {
            Ok(result) => result,
            Err(_) => {
                let what = if headers_received.load(Ordering::Relaxed) {
                    "sent the response headers, then the body stalled"
                } else {
                    "did not answer"
                };
                Err(FailedTry::transient(Error::new(
                    ErrorKind::Timeout,
                    format!(
                        "the STS at {} {what}: no complete response within the per-try timeout of {:?}",
                        self.endpoint, self.try_timeout
                    ),
                )))
            }
        }
    }

    async fn send_and_read(
        &self,
        cv: &CorrelationVector,
        request_id: &CallRequestId,
        secret: &Secret,
        ctx: &Context<'_>,
        tries: u32,
        headers_received: &AtomicBool,
    ) -> Result<StsToken, FailedTry<Error>> {
        // The Authorization header is set here rather than by azure_core's
        // BearerTokenAuthorizationPolicy: that policy refuses plain-http URLs, and the spec
        // allows http for loopback emulators; it also requests its own token per try.
        let mut request = Request::new(self.token_url.clone(), Method::Get);
        request.insert_header(ACCEPT, "application/json");
        request.insert_header(X_MRC_CV, cv.as_str().to_owned());
        // The call's id, the same on every try, set before the pipeline, whose
        // ClientRequestIdPolicy would otherwise build an error per request (see
        // `client_request_id`).
        request_id.insert_into(&mut request);
        request.insert_header(AUTHORIZATION, format!("Bearer {}", secret.secret()));

        let response = self
            .pipeline
            .stream(
                ctx,
                &mut request,
                Some(PipelineStreamOptions {
                    skip_checks: true,
                    ..PipelineStreamOptions::default()
                }),
            )
            .await
            .map_err(|error| self.transport_error(error))?;
        drop(request);
        headers_received.store(true, Ordering::Relaxed);

        let (status, headers, body) = response.deconstruct();
        let meta = ResponseMeta {
            status: u16::from(status),
            ms_cv: header(&headers, &MS_CV),
            www_authenticate: header(&headers, &WWW_AUTHENTICATE),
            retry_after: header(&headers, &RETRY_AFTER),
        };
        let body = read_bounded_body(body, MAX_RESPONSE_BYTES).await;
        let bytes = match body {
            Ok(bytes) => bytes,
            // An error status's body only adds detail: keep the status error if it is cut.
            Err(BodyReadError::TooLarge | BodyReadError::Cut(_)) if meta.status != 200 => Vec::new(),
            Err(BodyReadError::TooLarge) => {
                return Err(FailedTry::fatal(
                    Error::new(
                        ErrorKind::Protocol,
                        format!("the STS response body is larger than {MAX_RESPONSE_BYTES} bytes, far beyond any token; refusing to read it"),
                    )
                    .with_status(meta.status)
                    .with_ms_cv(meta.ms_cv),
                ))
            }
            Err(BodyReadError::Cut(error)) => {
                let failure = describe_transport_failure(&error);
                return Err(FailedTry::transient(
                    Error::new(
                        ErrorKind::Transport,
                        format!(
                            "the connection to {} closed before the whole STS response arrived ({})",
                            self.endpoint.host_port(),
                            failure.cause
                        ),
                    )
                    .with_status(meta.status)
                    .with_ms_cv(meta.ms_cv)
                    .with_source(error),
                ));
            }
        };
        if meta.status != 200 {
            tracing::debug!(status = meta.status, ms_cv = ?meta.ms_cv, "the STS returned an error status");
            let error = status_error(
                &meta,
                &self.endpoint.to_string(),
                &bytes,
                secret.secret(),
                tries,
                SystemClock.now(),
            );
            let retry_after = error.retry_after();
            return Err(FailedTry {
                error,
                retry: is_retryable_status(meta.status),
                retry_after,
            });
        }
        let access_token = parse_success(&bytes).map_err(|error| {
            FailedTry::fatal(error.with_status(200).with_ms_cv(meta.ms_cv.clone()))
        })?;
        tracing::debug!(ms_cv = ?meta.ms_cv, expires_on = %access_token.expires_on, "the STS issued a token");
        Ok(StsToken {
            access_token,
            ms_cv: meta.ms_cv,
        })
    }

    fn transport_error(&self, error: azure_core::Error) -> FailedTry<Error> {
        let failure = describe_transport_failure(&error);
        let host_port = self.endpoint.host_port();
        let (kind, message, retry) = match failure.failure {
            TransportFailure::Tls => (
                ErrorKind::Tls,
                format!("the TLS connection to {host_port} failed: {}", failure.cause),
                false,
            ),
            TransportFailure::ConnectTimeout => (
                ErrorKind::Timeout,
                format!(
                    "connecting to {host_port} timed out after {:?}; check the endpoint and that the network lets the connection through",
                    self.connect_timeout
                ),
                true,
            ),
            TransportFailure::Refused => (
                ErrorKind::Transport,
                format!("connection refused by {host_port}; check that the STS runs there and the endpoint's port"),
                true,
            ),
            TransportFailure::Reset => (
                ErrorKind::Transport,
                format!("the connection to {host_port} was reset before a response arrived"),
                true,
            ),
            TransportFailure::Closed => (
                ErrorKind::Transport,
                format!("the connection to {host_port} was closed before a response arrived"),
                true,
            ),
            TransportFailure::Connect => (
                ErrorKind::Transport,
                format!("could not connect to {host_port}: {}", failure.cause),
                true,
            ),
            TransportFailure::Other => (
                ErrorKind::Transport,
                format!("the request to the STS at {} failed: {}", self.endpoint, failure.cause),
                true,
            ),
        };
        let error = Error::new(kind, message).with_source(error);
        FailedTry {
            error,
            retry,
            retry_after: None,
        }
    }
}

fn check_timeout(what: &str, timeout: Duration) -> Result<(), Error> {
    if timeout.is_zero() {
        return Err(Error::invalid_input(format!(
            "{what} is zero; it must be greater than zero"
        )));
    }
    Ok(())
}

/// The error of a call its overall timeout cut: what it had done, and the failure before.
fn timeout_error(
    progress: &RetryProgress<Error>,
    endpoint: &StsEndpoint,
    timeout: Duration,
) -> Error {
    let tries = progress.tries();
    let last = progress.take_last_failure();
    let count = if tries == 1 {
        "1 try".to_owned()
    } else {
        format!("{tries} tries")
    };
    if tries == 0 && last.is_none() {
        // The STS was never asked: the time went to the credential (a sign-in nobody finished,
        // a broker or bus that did not answer), so the error says so and does not name the STS
        // as the cause.
        return Error::new(
            ErrorKind::Timeout,
            format!(
                "the credential did not produce an Azure AD token within {timeout:?} (a sign-in \
                 not finished, or a broker or identity endpoint that did not answer); the STS at \
                 {endpoint} was not asked"
            ),
        );
    }
    let detail = match (tries, &last) {
        (0, _) => "the credential had not produced a token yet".to_owned(),
        (_, Some(last)) if progress.in_try() => format!(
            "{count}, the last without a complete response; the one before failed with: {}",
            last.message()
        ),
        (_, Some(last)) => format!("{count}, waiting to retry after: {}", last.message()),
        (_, None) => format!("{count}, the last without a complete response"),
    };
    let mut error = Error::new(
        ErrorKind::Timeout,
        format!("the STS at {endpoint} did not issue a token within {timeout:?} ({detail})"),
    );
    if tries > 0 {
        error = error.with_tries(tries);
    }
    if let Some(last) = last {
        error = error
            .with_ms_cv(last.ms_cv().map(str::to_owned))
            .with_source(last);
    }
    error
}

/// A response header's value. `Headers::get_optional_string` builds an `azure_core::Error` for
/// every absent header, which captures a backtrace when `RUST_BACKTRACE` is set (about 10 us
/// each); most STS responses lack two of the three headers read here.
fn header(headers: &Headers, name: &HeaderName) -> Option<String> {
    headers
        .iter()
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.as_str().to_owned())
}

fn default_transport(options: &MixedRealityStsClientOptions) -> Result<Transport, Error> {
    let builder = reqwest::Client::builder()
        .connect_timeout(options.connect_timeout)
        .pool_max_idle_per_host(options.max_connections_per_host)
        .redirect(reqwest::redirect::Policy::none());
    let builder = crate::tls_config::configure(builder, options)?;
    let client = builder.build().map_err(|error| {
        Error::new(ErrorKind::Transport, "could not build the HTTP client").with_source(error)
    })?;
    Ok(Transport::new(Arc::new(client)))
}

impl fmt::Debug for MixedRealityStsClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MixedRealityStsClient")
            .field("account_id", &self.account_id)
            .field("endpoint", &self.endpoint)
            .field("scope", &self.scope)
            .field("credential", &self.credential)
            .field("timeout", &self.timeout)
            .field("try_timeout", &self.try_timeout)
            .field("retry", &self.retry)
            .finish_non_exhaustive()
    }
}
