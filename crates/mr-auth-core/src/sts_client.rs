use crate::{
    retry_policy::StsRetryPolicy,
    sts_response::{parse_success, status_error, ResponseMeta},
    AccountDomain, AccountId, Clock as _, CorrelationVector, Error, ErrorKind, StsEndpoint,
    StsRetryOptions, SystemClock,
};
use azure_core::{
    credentials::{AccessToken, TokenCredential},
    http::{
        headers::{
            HeaderName, Headers, ACCEPT, AUTHORIZATION, CLIENT_REQUEST_ID, RETRY_AFTER,
            WWW_AUTHENTICATE,
        },
        ClientOptions, Context, Method, Pipeline, PipelineStreamOptions, Request, RetryOptions,
        Transport, Url,
    },
};
use futures::StreamExt as _;
use std::{fmt, sync::Arc, time::Duration};
use tracing::Instrument as _;

/// The Azure AD scope requested for the STS call unless overridden: the regionless scope that
/// works for accounts in every region (the double slash is real).
pub const DEFAULT_AAD_SCOPE: &str = "https://sts.mixedreality.azure.com//.default";

/// The largest STS response body read. A real token response is about 2 KiB.
pub const MAX_RESPONSE_BYTES: usize = 64 * 1024;

const X_MRC_CV: HeaderName = HeaderName::from_static("x-mrc-cv");
const MS_CV: HeaderName = HeaderName::from_static("ms-cv");

/// Options of [`MixedRealityStsClient`].
#[derive(Debug, Clone)]
pub struct MixedRealityStsClientOptions {
    /// `azure_core` client options: transport, user agent, logging, per-call and per-try
    /// policies. Its `retry` is replaced by [`retry`](Self::retry).
    pub client_options: ClientOptions,
    /// A custom STS endpoint replacing `https://sts.<account domain>` (a sovereign cloud, a
    /// self-hosted STS, the local emulator). See [`StsEndpoint`] for what is accepted.
    pub custom_endpoint: Option<StsEndpoint>,
    /// The Azure AD scope requested from the credential. Defaults to [`DEFAULT_AAD_SCOPE`].
    /// The account-key credential ignores it.
    pub aad_scope: Option<String>,
    /// Retries of transient failures.
    pub retry: StsRetryOptions,
    /// How long establishing a connection may take. Default 10 s. Applies to the default
    /// transport only (a custom `client_options.transport` brings its own).
    pub connect_timeout: Duration,
    /// How long one try (request and response) may take. Default 20 s. Default transport only.
    pub try_timeout: Duration,
    /// How long a whole `get_token` call may take, retries and the credential included.
    /// Default 60 s (the Python client's 300 s leaves a caller hanging for five minutes).
    pub timeout: Duration,
    /// Extra root certificates (PEM) the default transport trusts besides the system's, for
    /// example the local emulator's CA. Nothing is added to any global trust store.
    pub extra_root_certificates_pem: Vec<String>,
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
        }
    }
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
/// `X-MRC-CV`, sent through an `azure_core` pipeline (user agent, client request id, logging,
/// retries).
pub struct MixedRealityStsClient {
    account_id: AccountId,
    endpoint: StsEndpoint,
    token_url: Url,
    credential: Arc<dyn TokenCredential>,
    scope: String,
    pipeline: Pipeline,
    timeout: Duration,
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
        if options.timeout.is_zero() {
            return Err(Error::invalid_input(
                "the overall timeout must be greater than zero",
            ));
        }
        let mut client_options = options.client_options.clone();
        client_options.retry =
            RetryOptions::custom(Arc::new(StsRetryPolicy::new(options.retry.clone())));
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

    /// Gets a fresh Mixed Reality access token from the STS (no caching here; see the caching
    /// credential in `mr-auth-credentials`).
    pub async fn get_token(&self) -> Result<StsToken, Error> {
        let cv = CorrelationVector::new();
        let span =
            tracing::debug_span!("mr_sts_get_token", account_id = %self.account_id, x_mrc_cv = %cv);
        let result = match tokio::time::timeout(self.timeout, self.exchange(&cv))
            .instrument(span)
            .await
        {
            Ok(result) => result,
            Err(_) => Err(Error::new(
                ErrorKind::Timeout,
                format!(
                    "the STS at {} did not issue a token within {:?}",
                    self.endpoint, self.timeout
                ),
            )),
        };
        result.map_err(|error| error.with_request_cv(Some(cv.as_str().to_owned())))
    }

    async fn exchange(&self, cv: &CorrelationVector) -> Result<StsToken, Error> {
        let credential_token = self
            .credential
            .get_token(&[self.scope.as_str()], None)
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

        // The Authorization header is set here rather than by azure_core's
        // BearerTokenAuthorizationPolicy: that policy refuses plain-http URLs, and the spec
        // allows http for loopback emulators; it also requests its own token per try.
        let mut request = Request::new(self.token_url.clone(), Method::Get);
        request.insert_header(ACCEPT, "application/json");
        request.insert_header(X_MRC_CV, cv.as_str().to_owned());
        // azure_core's ClientRequestIdPolicy would add this too, but it first probes for the
        // header through a lookup that builds an error (and, with RUST_BACKTRACE set, captures
        // a backtrace) whenever the header is absent: setting it here avoids that per-call cost.
        request.insert_header(CLIENT_REQUEST_ID, uuid::Uuid::new_v4().to_string());
        request.insert_header(
            AUTHORIZATION,
            format!("Bearer {}", credential_token.token.secret()),
        );
        drop(credential_token);

        let ctx = Context::new();
        let response = self
            .pipeline
            .stream(
                &ctx,
                &mut request,
                Some(PipelineStreamOptions {
                    skip_checks: true,
                    ..PipelineStreamOptions::default()
                }),
            )
            .await
            .map_err(|error| self.transport_error(error))?;
        drop(request);

        let (status, headers, body) = response.deconstruct();
        let meta = ResponseMeta {
            status: u16::from(status),
            ms_cv: header(&headers, &MS_CV),
            www_authenticate: header(&headers, &WWW_AUTHENTICATE),
            retry_after: header(&headers, &RETRY_AFTER),
        };
        if meta.status != 200 {
            tracing::debug!(status = meta.status, ms_cv = ?meta.ms_cv, "the STS returned an error status");
            return Err(status_error(
                &meta,
                &self.endpoint.to_string(),
                SystemClock.now(),
            ));
        }
        let bytes = read_bounded(body, MAX_RESPONSE_BYTES)
            .await
            .map_err(|error| error.with_status(200).with_ms_cv(meta.ms_cv.clone()))?;
        let access_token = parse_success(&bytes)
            .map_err(|error| error.with_status(200).with_ms_cv(meta.ms_cv.clone()))?;
        tracing::debug!(ms_cv = ?meta.ms_cv, expires_on = %access_token.expires_on, "the STS issued a token");
        Ok(StsToken {
            access_token,
            ms_cv: meta.ms_cv,
        })
    }

    fn transport_error(&self, error: azure_core::Error) -> Error {
        let timed_out = is_timeout(&error);
        let (kind, what) = if timed_out {
            (ErrorKind::Timeout, "timed out")
        } else {
            (ErrorKind::Transport, "failed")
        };
        Error::new(
            kind,
            format!(
                "the request to the STS at {} {what} (after retries); check the endpoint and network",
                self.endpoint
            ),
        )
        .with_source(error)
    }
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

fn is_timeout(error: &azure_core::Error) -> bool {
    let mut current: Option<&(dyn std::error::Error + 'static)> = error
        .get_ref()
        .map(|inner| inner as &(dyn std::error::Error + 'static));
    while let Some(err) = current {
        if let Some(reqwest_error) = err.downcast_ref::<reqwest::Error>() {
            if reqwest_error.is_timeout() {
                return true;
            }
        }
        current = err.source();
    }
    false
}

async fn read_bounded(
    mut body: azure_core::http::AsyncResponseBody,
    limit: usize,
) -> Result<Vec<u8>, Error> {
    let mut bytes = Vec::new();
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(|error| {
            Error::new(
                ErrorKind::Transport,
                "the connection failed before the whole STS response arrived",
            )
            .with_source(error)
        })?;
        if bytes.len() + chunk.len() > limit {
            return Err(Error::new(
                ErrorKind::Protocol,
                format!("the STS response body is larger than {limit} bytes, far beyond any token; refusing to read it"),
            ));
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(bytes)
}

fn default_transport(options: &MixedRealityStsClientOptions) -> Result<Transport, Error> {
    let mut builder = reqwest::Client::builder()
        .connect_timeout(options.connect_timeout)
        .timeout(options.try_timeout)
        .redirect(reqwest::redirect::Policy::none());
    for pem in &options.extra_root_certificates_pem {
        let certificates =
            reqwest::Certificate::from_pem_bundle(pem.as_bytes()).map_err(|error| {
                Error::invalid_input("an extra root certificate is not valid PEM")
                    .with_source(error)
            })?;
        if certificates.is_empty() {
            return Err(Error::invalid_input(
                "an extra root certificate is not valid PEM (no BEGIN CERTIFICATE block found)",
            ));
        }
        for certificate in certificates {
            builder = builder.add_root_certificate(certificate);
        }
    }
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
            .finish_non_exhaustive()
    }
}
