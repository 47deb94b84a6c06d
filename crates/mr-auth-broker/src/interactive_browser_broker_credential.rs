use crate::{
    interactive_browser_flow::{with_oidc_scopes, InteractiveBrowserFlow},
    refresh_token::RefreshToken,
    token_endpoint::{Grant, TokenEndpoint, TokenResponse},
    AccessTokenInfo, AuthorityHost, BrokerAccount, BrokerRequest, BrokerToken,
    BrokerTokenRequestOptions, ClientId, Error, ErrorKind,
    InteractiveBrowserBrokerCredentialOptions, ParentWindowHandle, PlatformBroker, PopParameters,
    Result, SystemBrowser, TenantId, TokenType,
};
use azure_core::{
    cloud::CloudConfiguration,
    credentials::{AccessToken, TokenCredential, TokenRequestOptions},
    http::{Context, Pipeline},
};
use mr_auth_core::{TokenCache, TokenCacheOptions};
use std::{
    collections::HashMap,
    fmt,
    sync::{Arc, Mutex, MutexGuard},
    time::Duration,
};
use url::Url;

/// Tokens count as expired this long before `expires_on`.
const EXPIRY_BUFFER: Duration = Duration::from_secs(5 * 60);

/// Signs a user in to Entra ID through the platform broker (WAM on Windows, the Microsoft
/// identity broker on Linux) or, where there is none, the system browser; the Rust
/// counterpart of the Python `azure.identity.broker.InteractiveBrowserBrokerCredential`.
///
/// For each request it tries, in order, and stops at the first that gives a token:
///
/// 1. the in-memory cache (keyed by authority, tenant, client, scopes, claims, CAE and PoP);
/// 2. with a broker: the broker's silent call for the account signed in before; then, when
///    `use_default_broker_account` is set, the OS default account; then (unless
///    `disable_interactive_fallback`) the broker's interactive dialog;
/// 3. without a broker (none on this platform, or it reported itself unavailable): the refresh
///    token from an earlier sign-in; then (unless `disable_interactive_fallback`) the
///    interactive browser flow.
///
/// A proof-of-possession request is never answered with a Bearer token: without a broker that
/// can make PoP tokens it fails with [`ErrorKind::PopNeedsBroker`].
pub struct InteractiveBrowserBrokerCredential {
    inner: Arc<Inner>,
}

struct Inner {
    client_id: ClientId,
    tenant_id: TenantId,
    authority_host: AuthorityHost,
    additionally_allowed_tenants: Vec<String>,
    allow_any_tenant: bool,
    parent_window_handle: Option<ParentWindowHandle>,
    use_default_broker_account: bool,
    enable_msa_passthrough: bool,
    disable_interactive_fallback: bool,
    disable_instance_discovery: bool,
    login_hint: Option<String>,
    broker_redirect_uri: Option<String>,
    timeout: Duration,
    broker: Option<Arc<dyn PlatformBroker>>,
    flow: InteractiveBrowserFlow,
    token_endpoint: TokenEndpoint,
    cache: TokenCache<CacheKey, AccessTokenInfo, Error>,
    refresh_tokens: Mutex<HashMap<String, RefreshToken>>,
    broker_account: Mutex<Option<BrokerAccount>>,
}

/// What a cached token is for. Never scopes alone: a PoP token must not answer a Bearer
/// request, a CAE token a non-CAE one, or one tenant's token another tenant's request.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct CacheKey {
    authority: String,
    tenant: String,
    client_id: ClientId,
    scopes: Vec<String>,
    claims: Option<String>,
    enable_cae: bool,
    pop: Option<PopParameters>,
}

/// One request, validated and resolved against the credential's options.
#[derive(Debug, Clone)]
struct ResolvedRequest {
    tenant: TenantId,
    scopes: Vec<String>,
    claims: Option<String>,
    pop: Option<PopParameters>,
}

impl InteractiveBrowserBrokerCredential {
    /// Builds the credential, validating every option.
    pub fn new(options: Option<InteractiveBrowserBrokerCredentialOptions>) -> Result<Arc<Self>> {
        let options = options.unwrap_or_default();
        let client_id = match &options.client_id {
            Some(id) => ClientId::new(id)?,
            None => ClientId::default(),
        };
        let tenant_id = match &options.tenant_id {
            Some(t) => TenantId::new(t.clone())?,
            None => TenantId::default(),
        };
        let authority_host = resolve_authority_host(
            options.authority_host.as_deref(),
            options.client_options.cloud.as_deref(),
        )?;
        let mut allow_any_tenant = false;
        let mut additionally_allowed_tenants = Vec::new();
        for t in &options.additionally_allowed_tenants {
            if t == "*" {
                allow_any_tenant = true;
            } else {
                additionally_allowed_tenants
                    .push(TenantId::new(t.clone())?.as_str().to_ascii_lowercase());
            }
        }
        if options.timeout.is_zero() {
            return Err(Error::invalid_input("timeout must be more than zero"));
        }
        if options.loopback_ports.is_empty() || *options.loopback_ports.start() == 0 {
            return Err(Error::invalid_input(
                "loopback_ports must be a non-empty range of non-zero ports",
            ));
        }
        if let Some(hint) = &options.login_hint {
            if hint.trim().is_empty() || hint.chars().any(char::is_control) {
                return Err(Error::invalid_input(
                    "login_hint must be a user name such as someone@contoso.com",
                ));
            }
        }
        let (browser_redirect_uri, broker_redirect_uri) =
            split_redirect_uri(options.redirect_uri.as_deref())?;

        let token_endpoint = TokenEndpoint::new(
            Pipeline::new(
                option_env!("CARGO_PKG_NAME"),
                option_env!("CARGO_PKG_VERSION"),
                options.client_options,
                Vec::new(),
                Vec::new(),
                None,
            ),
            options.clock.clone(),
        );
        let flow = InteractiveBrowserFlow {
            authority_host: authority_host.clone(),
            client_id: client_id.clone(),
            redirect_uri: browser_redirect_uri,
            port_range: options.loopback_ports,
            timeout: options.timeout,
            login_hint: options.login_hint.clone(),
            browser: options.browser.unwrap_or_else(|| Arc::new(SystemBrowser)),
            token_endpoint: token_endpoint.clone(),
        };
        let broker = options
            .platform_broker
            .or_else(crate::default_platform_broker);
        let cache = TokenCache::new(TokenCacheOptions {
            expiry_buffer: EXPIRY_BUFFER,
            clock: options.clock,
            ..TokenCacheOptions::default()
        });
        Ok(Arc::new(Self {
            inner: Arc::new(Inner {
                client_id,
                tenant_id,
                authority_host,
                additionally_allowed_tenants,
                allow_any_tenant,
                parent_window_handle: options.parent_window_handle,
                use_default_broker_account: options.use_default_broker_account,
                enable_msa_passthrough: options.enable_msa_passthrough,
                disable_interactive_fallback: options.disable_interactive_fallback,
                disable_instance_discovery: options.disable_instance_discovery,
                login_hint: options.login_hint,
                broker_redirect_uri,
                timeout: options.timeout,
                broker,
                flow,
                token_endpoint,
                cache,
                refresh_tokens: Mutex::new(HashMap::new()),
                broker_account: Mutex::new(None),
            }),
        }))
    }

    /// A token for `scopes` with per-request options: the equivalent of the Python
    /// `get_token_info`. Returns the token type (`Bearer` or `pop`) and refresh time too.
    pub async fn get_token_info(
        &self,
        scopes: &[&str],
        options: Option<BrokerTokenRequestOptions>,
    ) -> Result<AccessTokenInfo> {
        self.get_token_info_with_context(scopes, options.unwrap_or_default(), &Context::new())
            .await
    }

    async fn get_token_info_with_context(
        &self,
        scopes: &[&str],
        options: BrokerTokenRequestOptions,
        context: &Context<'_>,
    ) -> Result<AccessTokenInfo> {
        let inner = &self.inner;
        let request = inner.resolve(scopes, &options)?;
        let key = CacheKey {
            authority: inner.authority_host.to_string(),
            tenant: request.tenant.as_str().to_ascii_lowercase(),
            client_id: inner.client_id.clone(),
            scopes: request.scopes.clone(),
            claims: options.claims.clone(),
            enable_cae: options.enable_cae,
            pop: request.pop.clone(),
        };
        let ui_allowed = !inner.disable_interactive_fallback;
        // A still-valid cached token means any fetch the cache starts now is a background
        // refresh: it must never open a window, so it runs silent steps only.
        let background = inner.cache.cached(&key).is_some();
        let fetch = |allow_ui: bool| {
            let inner = Arc::clone(&self.inner);
            let request = request.clone();
            let context = context.to_owned();
            move || async move { inner.acquire(request, allow_ui, context).await }
        };
        let result = inner
            .cache
            .get_or_fetch(&key, fetch(ui_allowed && !background))
            .await;
        match result {
            // The cached token expired between the check and the fetch: go again, with UI.
            Err(e) if background && ui_allowed && e.kind() == ErrorKind::AuthenticationRequired => {
                inner.cache.get_or_fetch(&key, fetch(true)).await
            }
            other => other,
        }
    }
}

impl Inner {
    /// Validates scopes and options and picks the tenant.
    fn resolve(
        &self,
        scopes: &[&str],
        options: &BrokerTokenRequestOptions,
    ) -> Result<ResolvedRequest> {
        if scopes.is_empty() {
            return Err(Error::invalid_input(
                "at least one scope is required, such as https://management.azure.com/.default",
            ));
        }
        let mut sorted = Vec::with_capacity(scopes.len());
        for s in scopes {
            if s.is_empty()
                || s.chars()
                    .any(|c| c.is_whitespace() || c.is_control() || c == '"')
            {
                return Err(Error::invalid_input(format!(
                    "scope {s:?} is not valid; pass each scope separately, without spaces"
                )));
            }
            sorted.push((*s).to_owned());
        }
        sorted.sort();
        sorted.dedup();
        let tenant = self.resolve_tenant(options.tenant_id.as_ref())?;
        Ok(ResolvedRequest {
            tenant,
            scopes: sorted,
            claims: options.effective_claims()?,
            pop: options.pop.clone(),
        })
    }

    /// The Python rule: the configured tenant, unless the request names another that is in
    /// `additionally_allowed_tenants` (or that list has `*`).
    fn resolve_tenant(&self, requested: Option<&TenantId>) -> Result<TenantId> {
        let Some(requested) = requested else {
            return Ok(self.tenant_id.clone());
        };
        let wanted = requested.as_str().to_ascii_lowercase();
        if wanted == self.tenant_id.as_str().to_ascii_lowercase()
            || self.allow_any_tenant
            || self.additionally_allowed_tenants.contains(&wanted)
        {
            return Ok(requested.clone());
        }
        Err(Error::new(
            ErrorKind::TenantNotAllowed,
            format!(
                "the credential is configured for tenant {} and may not get tokens for tenant {requested}; add {requested} to additionally_allowed_tenants (or \"*\" to allow any tenant)",
                self.tenant_id
            ),
        ))
    }

    fn broker_request(
        &self,
        broker: &dyn PlatformBroker,
        request: &ResolvedRequest,
    ) -> BrokerRequest {
        BrokerRequest {
            client_id: self.client_id.clone(),
            tenant_id: request.tenant.clone(),
            authority: self.authority_host.authority(&request.tenant),
            scopes: request.scopes.clone(),
            redirect_uri: self
                .broker_redirect_uri
                .clone()
                .unwrap_or_else(|| broker.redirect_uri(&self.client_id)),
            claims: request.claims.clone(),
            pop: request.pop.clone(),
            login_hint: self.login_hint.clone(),
            enable_msa_passthrough: self.enable_msa_passthrough,
            validate_authority: !self.disable_instance_discovery,
        }
    }

    /// Everything after the cache: the broker steps, or the refresh token and browser flow.
    async fn acquire(
        self: Arc<Self>,
        request: ResolvedRequest,
        allow_ui: bool,
        context: Context<'static>,
    ) -> Result<AccessTokenInfo> {
        let mut silent_failure: Option<Error> = None;
        let mut unavailable: Option<Error> = None;

        if let Some(broker) = self.broker.clone() {
            match self
                .acquire_with_broker(&*broker, &request, allow_ui, &mut silent_failure)
                .await
            {
                Ok(token) => return self.accept_broker_token(token, &request),
                Err(e) if e.kind() == ErrorKind::BrokerUnavailable => {
                    tracing::info!(reason = %e, "the platform broker is unavailable; using the browser flow");
                    unavailable = Some(e);
                }
                Err(e) => return Err(e),
            }
        }

        if request.pop.is_some() {
            let reason = match &unavailable {
                Some(e) => format!("the platform broker is unavailable: {}", e.message()),
                None => "this platform has no authentication broker".to_owned(),
            };
            return Err(Error::new(
                ErrorKind::PopNeedsBroker,
                format!("a proof-of-possession token needs the platform broker and {reason}; the request is not downgraded to a bearer token"),
            ));
        }

        let token_endpoint = self.authority_host.token_endpoint(&request.tenant);
        let rt_key = request.tenant.as_str().to_ascii_lowercase();
        let refresh_token = self.lock_refresh_tokens().get(&rt_key).cloned();
        if let Some(refresh_token) = refresh_token {
            let scopes = with_oidc_scopes(&request.scopes);
            let redirect = self
                .flow
                .redirect_uri
                .as_ref()
                .map_or("http://localhost", Url::as_str)
                .to_owned();
            match self
                .token_endpoint
                .request(
                    token_endpoint,
                    &self.client_id,
                    Grant::RefreshToken(&refresh_token),
                    &scopes,
                    request.claims.as_deref(),
                    &redirect,
                    &context,
                )
                .await
            {
                Ok(response) => return Ok(self.accept_browser_response(response, &rt_key)),
                Err(e)
                    if matches!(
                        e.kind(),
                        ErrorKind::AuthenticationRequired | ErrorKind::AuthenticationFailed
                    ) =>
                {
                    tracing::info!(reason = %e, "the refresh token was refused; signing in again");
                    self.lock_refresh_tokens().remove(&rt_key);
                    silent_failure = Some(e);
                }
                Err(e) => return Err(e),
            }
        }

        if !allow_ui {
            return Err(authentication_required(
                silent_failure,
                self.disable_interactive_fallback,
            ));
        }
        let response = self
            .flow
            .sign_in(
                &request.tenant,
                &request.scopes,
                request.claims.as_deref(),
                &context,
            )
            .await?;
        Ok(self.accept_browser_response(response, &rt_key))
    }

    async fn acquire_with_broker(
        &self,
        broker: &dyn PlatformBroker,
        request: &ResolvedRequest,
        allow_ui: bool,
        silent_failure: &mut Option<Error>,
    ) -> Result<BrokerToken> {
        if request.pop.is_some() && !broker.supports_pop() {
            return Err(Error::new(
                ErrorKind::PopNeedsBroker,
                "the platform broker here cannot issue proof-of-possession tokens; the request is not downgraded to a bearer token",
            ));
        }
        let broker_request = self.broker_request(broker, request);
        let known = self.lock_account().clone();
        if let Some(account) = known {
            match broker
                .acquire_token_silently(&broker_request, &account)
                .await
            {
                Ok(token) => return Ok(token),
                Err(e) if is_silent_miss(&e) => *silent_failure = Some(e),
                Err(e) => return Err(e),
            }
        }
        if self.use_default_broker_account {
            match broker
                .acquire_token_with_default_account(&broker_request)
                .await
            {
                Ok(token) => return Ok(token),
                Err(e) if is_silent_miss(&e) => *silent_failure = Some(e),
                Err(e) => return Err(e),
            }
        }
        if !allow_ui {
            return Err(authentication_required(
                silent_failure.take(),
                self.disable_interactive_fallback,
            ));
        }
        match tokio::time::timeout(
            self.timeout,
            broker.acquire_token_interactively(&broker_request, self.parent_window_handle),
        )
        .await
        {
            Ok(result) => result,
            Err(_) => Err(Error::new(
                ErrorKind::TimedOut,
                format!("the broker's sign-in did not finish within {} s; finish it sooner, or raise the timeout", self.timeout.as_secs()),
            )),
        }
    }

    /// Checks a broker token against the request (never a Bearer for PoP or the reverse) and
    /// remembers its account for later silent calls.
    fn accept_broker_token(
        &self,
        token: BrokerToken,
        request: &ResolvedRequest,
    ) -> Result<AccessTokenInfo> {
        let wanted = if request.pop.is_some() {
            TokenType::Pop
        } else {
            TokenType::Bearer
        };
        if token.token.token_type != wanted {
            return Err(Error::protocol(format!(
                "the broker returned a {} token for a {} request; refusing it",
                token.token.token_type, wanted
            )));
        }
        if let Some(account) = token.account {
            *self.lock_account() = Some(account);
        }
        Ok(token.token)
    }

    fn accept_browser_response(&self, response: TokenResponse, rt_key: &str) -> AccessTokenInfo {
        if let Some(rt) = response.refresh_token {
            self.lock_refresh_tokens().insert(rt_key.to_owned(), rt);
        }
        response.token
    }

    fn lock_refresh_tokens(&self) -> MutexGuard<'_, HashMap<String, RefreshToken>> {
        // Only whole values move in and out under this lock, so a poisoned one is consistent.
        self.refresh_tokens
            .lock()
            .unwrap_or_else(|p| p.into_inner())
    }

    fn lock_account(&self) -> MutexGuard<'_, Option<BrokerAccount>> {
        self.broker_account
            .lock()
            .unwrap_or_else(|p| p.into_inner())
    }
}

/// A silent step that missed (go on to the next step) rather than failed.
fn is_silent_miss(e: &Error) -> bool {
    matches!(
        e.kind(),
        ErrorKind::AuthenticationRequired | ErrorKind::AuthenticationFailed
    )
}

fn authentication_required(cause: Option<Error>, ui_disabled: bool) -> Error {
    let message = if ui_disabled {
        "no token could be obtained silently and interactive sign-in is disabled (disable_interactive_fallback); sign in interactively once, or enable the fallback"
    } else {
        "no token could be obtained silently"
    };
    match cause {
        Some(cause) => Error::new(
            ErrorKind::AuthenticationRequired,
            format!("{message} ({})", cause.message()),
        )
        .with_error_codes(cause.error_codes().to_vec())
        .with_correlation_id(cause.correlation_id().map(str::to_owned))
        .with_source(cause),
        None => Error::new(ErrorKind::AuthenticationRequired, message),
    }
}

/// The authority host: the option, else the cloud configuration, else
/// `AZURE_AUTHORITY_HOST`, else the public cloud.
fn resolve_authority_host(
    option: Option<&str>,
    cloud: Option<&CloudConfiguration>,
) -> Result<AuthorityHost> {
    if let Some(host) = option {
        return AuthorityHost::new(host);
    }
    match cloud {
        Some(CloudConfiguration::AzurePublic) => return Ok(AuthorityHost::default()),
        Some(CloudConfiguration::AzureGovernment) => {
            return AuthorityHost::new("https://login.microsoftonline.us")
        }
        Some(CloudConfiguration::AzureChina) => {
            return AuthorityHost::new("https://login.chinacloudapi.cn")
        }
        Some(CloudConfiguration::Custom(custom)) => {
            return AuthorityHost::new(&custom.authority_host)
        }
        Some(other) => {
            return Err(Error::invalid_input(format!(
                "the cloud configuration {other:?} is not known; set authority_host"
            )))
        }
        None => {}
    }
    match std::env::var("AZURE_AUTHORITY_HOST") {
        Ok(host) if !host.trim().is_empty() => AuthorityHost::new(host.trim()).map_err(|e| {
            Error::new(
                e.kind(),
                format!(
                    "the AZURE_AUTHORITY_HOST environment variable: {}",
                    e.message()
                ),
            )
        }),
        _ => Ok(AuthorityHost::default()),
    }
}

/// Splits a configured redirect URI into the browser flow's (http loopback) or the broker's
/// (any other scheme).
fn split_redirect_uri(configured: Option<&str>) -> Result<(Option<Url>, Option<String>)> {
    let Some(value) = configured else {
        return Ok((None, None));
    };
    let url = Url::parse(value).map_err(|e| {
        Error::invalid_input(format!(
            "redirect uri {value:?} is not an absolute uri such as http://localhost:8400"
        ))
        .with_source(e)
    })?;
    match url.scheme() {
        "http" if mr_auth_core::is_loopback_url(&url) && url.query().is_none() && url.fragment().is_none() => Ok((Some(url), None)),
        "http" => Err(Error::invalid_input(format!(
            "redirect uri {value:?}: a browser-flow redirect uri must be http://localhost[:port][/path] (loopback, no query)"
        ))),
        _ => Ok((None, Some(value.to_owned()))),
    }
}

impl fmt::Debug for InteractiveBrowserBrokerCredential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = &self.inner;
        f.debug_struct("InteractiveBrowserBrokerCredential")
            .field("client_id", &inner.client_id)
            .field("tenant_id", &inner.tenant_id)
            .field("authority_host", &inner.authority_host.to_string())
            .field("broker", &inner.broker)
            .finish_non_exhaustive()
    }
}

#[async_trait::async_trait]
impl TokenCredential for InteractiveBrowserBrokerCredential {
    /// A token for `scopes`. Per-request options ([`BrokerTokenRequestOptions`]: claims, CAE,
    /// tenant, PoP) are read from `options.method_options.context` when a caller put them
    /// there.
    async fn get_token(
        &self,
        scopes: &[&str],
        options: Option<TokenRequestOptions<'_>>,
    ) -> azure_core::Result<AccessToken> {
        let options = options.unwrap_or_default();
        let context = &options.method_options.context;
        let request_options = context
            .value::<BrokerTokenRequestOptions>()
            .cloned()
            .unwrap_or_default();
        Ok(self
            .get_token_info_with_context(scopes, request_options, context)
            .await?
            .into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn credential(
        o: InteractiveBrowserBrokerCredentialOptions,
    ) -> Result<Arc<InteractiveBrowserBrokerCredential>> {
        InteractiveBrowserBrokerCredential::new(Some(o))
    }

    #[test]
    fn construction_validates_options() {
        let cases: Vec<(InteractiveBrowserBrokerCredentialOptions, ErrorKind)> = vec![
            (
                InteractiveBrowserBrokerCredentialOptions {
                    authority_host: Some("http://login.example.com".into()),
                    ..Default::default()
                },
                ErrorKind::InvalidInput,
            ),
            (
                InteractiveBrowserBrokerCredentialOptions {
                    authority_host: Some("https://contoso.b2clogin.com".into()),
                    ..Default::default()
                },
                ErrorKind::UnsupportedAuthority,
            ),
            (
                InteractiveBrowserBrokerCredentialOptions {
                    tenant_id: Some("bad/tenant".into()),
                    ..Default::default()
                },
                ErrorKind::InvalidInput,
            ),
            (
                InteractiveBrowserBrokerCredentialOptions {
                    client_id: Some("not-a-guid".into()),
                    ..Default::default()
                },
                ErrorKind::InvalidInput,
            ),
            (
                InteractiveBrowserBrokerCredentialOptions {
                    timeout: Duration::ZERO,
                    ..Default::default()
                },
                ErrorKind::InvalidInput,
            ),
            (
                InteractiveBrowserBrokerCredentialOptions {
                    redirect_uri: Some("http://example.com/cb".into()),
                    ..Default::default()
                },
                ErrorKind::InvalidInput,
            ),
            (
                InteractiveBrowserBrokerCredentialOptions {
                    additionally_allowed_tenants: vec!["a b".into()],
                    ..Default::default()
                },
                ErrorKind::InvalidInput,
            ),
            #[allow(clippy::reversed_empty_ranges)] // an empty range is the case under test
            (
                InteractiveBrowserBrokerCredentialOptions {
                    loopback_ports: 9000..=8999,
                    ..Default::default()
                },
                ErrorKind::InvalidInput,
            ),
            (
                InteractiveBrowserBrokerCredentialOptions {
                    login_hint: Some(" ".into()),
                    ..Default::default()
                },
                ErrorKind::InvalidInput,
            ),
        ];
        for (o, kind) in cases {
            let debug = format!("{o:?}");
            assert_eq!(credential(o).unwrap_err().kind(), kind, "{debug}");
        }
        credential(InteractiveBrowserBrokerCredentialOptions {
            authority_host: Some("https://login.microsoftonline.us".into()),
            redirect_uri: Some("http://localhost:8765/callback".into()),
            additionally_allowed_tenants: vec!["*".into(), "contoso.com".into()],
            ..Default::default()
        })
        .unwrap();
    }

    #[test]
    fn redirect_uri_goes_to_the_browser_or_the_broker() {
        let (browser, broker) = split_redirect_uri(Some("http://localhost:9/cb")).unwrap();
        assert_eq!(browser.unwrap().port(), Some(9));
        assert!(broker.is_none());
        let (browser, broker) = split_redirect_uri(Some(
            "ms-appx-web://Microsoft.AAD.BrokerPlugin/04b07795-8ddb-461a-bbee-02f9e1bf7b46",
        ))
        .unwrap();
        assert!(browser.is_none());
        assert!(broker.unwrap().starts_with("ms-appx-web://"));
    }

    #[test]
    fn cloud_configuration_picks_the_authority() {
        let host = resolve_authority_host(None, Some(&CloudConfiguration::AzureChina)).unwrap();
        assert_eq!(host.to_string(), "https://login.chinacloudapi.cn");
        let host = resolve_authority_host(
            Some("https://login.example.com"),
            Some(&CloudConfiguration::AzureChina),
        )
        .unwrap();
        assert_eq!(host.to_string(), "https://login.example.com");
    }

    #[test]
    fn tenant_rules() {
        let c = credential(InteractiveBrowserBrokerCredentialOptions {
            tenant_id: Some("home.onmicrosoft.com".into()),
            additionally_allowed_tenants: vec!["Guest.onmicrosoft.com".into()],
            ..Default::default()
        })
        .unwrap();
        let t = |s: &str| TenantId::new(s).unwrap();
        assert_eq!(
            c.inner.resolve_tenant(None).unwrap(),
            t("home.onmicrosoft.com")
        );
        assert_eq!(
            c.inner
                .resolve_tenant(Some(&t("HOME.onmicrosoft.com")))
                .unwrap(),
            t("HOME.onmicrosoft.com")
        );
        assert_eq!(
            c.inner
                .resolve_tenant(Some(&t("guest.onmicrosoft.com")))
                .unwrap(),
            t("guest.onmicrosoft.com")
        );
        let e = c
            .inner
            .resolve_tenant(Some(&t("other.onmicrosoft.com")))
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::TenantNotAllowed);
        assert!(e.message().contains("additionally_allowed_tenants"));

        let any = credential(InteractiveBrowserBrokerCredentialOptions {
            additionally_allowed_tenants: vec!["*".into()],
            ..Default::default()
        })
        .unwrap();
        assert!(any.inner.resolve_tenant(Some(&t("whatever.com"))).is_ok());
    }

    #[test]
    fn scopes_are_validated_sorted_and_deduplicated() {
        let c = credential(InteractiveBrowserBrokerCredentialOptions::default()).unwrap();
        let o = BrokerTokenRequestOptions::default();
        let r = c.inner.resolve(&["b", "a", "b"], &o).unwrap();
        assert_eq!(r.scopes, ["a", "b"]);
        assert_eq!(
            c.inner.resolve(&[], &o).unwrap_err().kind(),
            ErrorKind::InvalidInput
        );
        assert_eq!(
            c.inner.resolve(&["a b"], &o).unwrap_err().kind(),
            ErrorKind::InvalidInput
        );
    }
}
