use std::{
    collections::{HashMap, VecDeque},
    fmt,
    net::{IpAddr, Ipv4Addr, SocketAddr},
    sync::{Arc, Mutex},
    time::Duration,
};

use tokio::{net::TcpListener, sync::watch};
use tokio_rustls::TlsAcceptor;
use url::Url;
use uuid::Uuid;

use crate::{
    local_ca::LocalCa,
    server,
    stats::StatsRecorder,
    sts_service::{StsService, JWKS_PATH},
    token_signer::TokenSigner,
    AadMode, Account, AccountKey, Clock, Error, ErrorKind, Fault, Limits, Result, RunningEmulator,
    SystemClock,
};

/// The audience written into issued tokens unless [`EmulatorBuilder::audience`] says
/// otherwise: the one seen in real East US tokens.
pub const DEFAULT_AUDIENCE: &str = "https://manage.sa.eastus.mixedreality.azure.com/";

/// Lifetime of issued tokens unless [`EmulatorBuilder::token_lifetime`] says otherwise: 24 h,
/// as the real STS.
pub const DEFAULT_TOKEN_LIFETIME: Duration = Duration::from_secs(24 * 60 * 60);

/// Configures and starts an emulator; from [`Emulator::builder`](crate::Emulator::builder).
///
/// Setters never fail; every check happens in [`EmulatorBuilder::start`], which reports the
/// first problem as [`ErrorKind::InvalidConfig`].
pub struct EmulatorBuilder {
    accounts: Vec<Account>,
    deferred_error: Option<Error>,
    tls: bool,
    address: SocketAddr,
    allow_non_loopback: bool,
    tls_names: Vec<String>,
    path_prefix: String,
    aad: AadMode,
    token_lifetime: Duration,
    issuer: Option<String>,
    audience: String,
    faults: Vec<Fault>,
    limits: Limits,
    clock: Arc<dyn Clock>,
}

impl fmt::Debug for EmulatorBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EmulatorBuilder")
            .field("accounts", &self.accounts)
            .field("tls", &self.tls)
            .field("address", &self.address)
            .field("allow_non_loopback", &self.allow_non_loopback)
            .field("path_prefix", &self.path_prefix)
            .field("aad", &self.aad)
            .field("token_lifetime", &self.token_lifetime)
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .field("faults", &self.faults)
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

impl Default for EmulatorBuilder {
    fn default() -> Self {
        Self::new()
    }
}

impl EmulatorBuilder {
    /// Same as [`Emulator::builder`](crate::Emulator::builder).
    pub fn new() -> Self {
        Self {
            accounts: Vec::new(),
            deferred_error: None,
            tls: true,
            address: SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0),
            allow_non_loopback: false,
            tls_names: Vec::new(),
            path_prefix: String::new(),
            aad: AadMode::Disabled,
            token_lifetime: DEFAULT_TOKEN_LIFETIME,
            issuer: None,
            audience: DEFAULT_AUDIENCE.to_owned(),
            faults: Vec::new(),
            limits: Limits::default(),
            clock: Arc::new(SystemClock),
        }
    }

    /// Serves account `id` with one key (region `eastus`, see [`Account::new`]).
    /// An empty key or the nil UUID makes [`start`](Self::start) fail.
    pub fn account(self, id: Uuid, key: impl Into<String>) -> Self {
        let account = account_key(key).and_then(|key| Account::new(id, key));
        self.push_account(account)
    }

    /// Serves account `id` with a primary and a secondary key; either is accepted.
    pub fn account_with_keys(
        self,
        id: Uuid,
        primary: impl Into<String>,
        secondary: impl Into<String>,
    ) -> Self {
        let account = account_key(primary)
            .and_then(|primary| Account::new(id, primary))
            .and_then(|account| account.with_key(account_key(secondary)?));
        self.push_account(account)
    }

    /// Serves a fully described [`Account`] (tenant, resource id, region, keys).
    pub fn with_account(self, account: Account) -> Self {
        self.push_account(Ok(account))
    }

    fn push_account(mut self, account: Result<Account>) -> Self {
        match account {
            Ok(account) => self.accounts.push(account),
            Err(e) => {
                self.deferred_error.get_or_insert(e);
            }
        }
        self
    }

    /// HTTPS with a generated local CA (`true`, the default) or plain HTTP (`false`).
    pub fn tls(mut self, tls: bool) -> Self {
        self.tls = tls;
        self
    }

    /// The address to listen on; default `127.0.0.1:0` (a free port). Must be a loopback
    /// address unless [`allow_non_loopback`](Self::allow_non_loopback) is set.
    pub fn address(mut self, address: SocketAddr) -> Self {
        self.address = address;
        self
    }

    /// Allows a non-loopback listen address (e.g. `0.0.0.0:8443` in a container). Off by
    /// default: the emulator accepts account keys and is meant for one machine. The server
    /// certificate covers `localhost`, `127.0.0.1` and `::1`; add other names with
    /// [`tls_names`](Self::tls_names).
    pub fn allow_non_loopback(mut self, allow: bool) -> Self {
        self.allow_non_loopback = allow;
        self
    }

    /// Extra DNS names or IP addresses for the server certificate.
    pub fn tls_names(mut self, names: impl IntoIterator<Item = impl Into<String>>) -> Self {
        self.tls_names.extend(names.into_iter().map(Into::into));
        self
    }

    /// A path prefix before every route (`/sts` serves `/sts/Accounts/{id}/token`); default
    /// none. A trailing `/` is dropped and a leading one added.
    pub fn path_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.path_prefix = prefix.into();
        self
    }

    /// How AAD bearer tokens are treated; default [`AadMode::Disabled`].
    pub fn aad(mut self, mode: AadMode) -> Self {
        self.aad = mode;
        self
    }

    /// Lifetime of issued tokens (`exp - iat`); default 24 h. From 1 s to 10 years.
    pub fn token_lifetime(mut self, lifetime: Duration) -> Self {
        self.token_lifetime = lifetime;
        self
    }

    /// The `iss` of issued tokens; default the endpoint URL with a trailing `/`
    /// (e.g. `https://127.0.0.1:50123/`), as the real STS uses its own URL.
    pub fn issuer(mut self, issuer: impl Into<String>) -> Self {
        self.issuer = Some(issuer.into());
        self
    }

    /// The `aud` of issued tokens; default [`DEFAULT_AUDIENCE`].
    pub fn audience(mut self, audience: impl Into<String>) -> Self {
        self.audience = audience.into();
        self
    }

    /// Faults served, one per token request, before normal service (see [`Fault`]).
    pub fn faults(mut self, faults: impl IntoIterator<Item = Fault>) -> Self {
        self.faults.extend(faults);
        self
    }

    /// Resource bounds; default [`Limits::default`].
    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// The clock for `iat`/`nbf`/`exp` and for checking AAD tokens; default the system clock.
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    fn normalized_prefix(&self) -> Result<String> {
        let trimmed = self.path_prefix.trim().trim_end_matches('/');
        if trimmed.is_empty() {
            return Ok(String::new());
        }
        let prefix = if trimmed.starts_with('/') {
            trimmed.to_owned()
        } else {
            format!("/{trimmed}")
        };
        let valid = prefix
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'/' | b'-' | b'_' | b'.' | b'~'))
            && !prefix.contains("//");
        if !valid {
            return Err(Error::new(
                ErrorKind::InvalidConfig,
                "path prefix may hold only letters, digits, '/', '-', '_', '.' and '~'",
            ));
        }
        Ok(prefix)
    }

    fn validate(&self) -> Result<String> {
        if let Some(e) = &self.deferred_error {
            return Err(Error::new(e.kind(), e.message()));
        }
        if self.accounts.is_empty() {
            return Err(Error::new(
                ErrorKind::InvalidConfig,
                "no account configured; add one with account(id, key)",
            ));
        }
        let mut seen = std::collections::HashSet::new();
        for account in &self.accounts {
            if !seen.insert(account.id()) {
                return Err(Error::new(
                    ErrorKind::InvalidConfig,
                    format!("account {} is configured twice", account.id()),
                ));
            }
        }
        if !self.address.ip().is_loopback() && !self.allow_non_loopback {
            return Err(Error::new(
                ErrorKind::InvalidConfig,
                format!(
                    "{} is not a loopback address; call allow_non_loopback(true) to serve other hosts",
                    self.address.ip()
                ),
            ));
        }
        if self.token_lifetime < Duration::from_secs(1)
            || self.token_lifetime > Duration::from_secs(10 * 365 * 24 * 3600)
        {
            return Err(Error::new(
                ErrorKind::InvalidConfig,
                "token lifetime must be between 1 second and 10 years",
            ));
        }
        for fault in &self.faults {
            fault.validate()?;
        }
        self.limits.validate()?;
        self.normalized_prefix()
    }

    /// Binds, generates the CA and the signing key, and starts serving on the current Tokio
    /// runtime. Returns when the socket is listening.
    ///
    /// Errors: [`ErrorKind::InvalidConfig`], [`ErrorKind::Bind`], [`ErrorKind::TlsSetup`],
    /// [`ErrorKind::Signing`], or [`ErrorKind::NoRuntime`] outside a Tokio runtime.
    pub async fn start(self) -> Result<RunningEmulator> {
        let prefix = self.validate()?;
        if tokio::runtime::Handle::try_current().is_err() {
            return Err(Error::new(
                ErrorKind::NoRuntime,
                "start the emulator from within a tokio runtime",
            ));
        }
        let ca = if self.tls {
            Some(LocalCa::generate(&self.tls_names)?)
        } else {
            None
        };
        let signer = TokenSigner::generate()?;
        let listener = TcpListener::bind(self.address).await.map_err(|e| {
            Error::with_source(
                ErrorKind::Bind,
                format!("cannot listen on {}", self.address),
                e,
            )
        })?;
        let local_addr = listener
            .local_addr()
            .map_err(|e| Error::with_source(ErrorKind::Bind, "cannot read the bound address", e))?;

        // Reach an unspecified bind address (0.0.0.0, ::) through loopback.
        let host = match local_addr.ip() {
            IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
            IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(std::net::Ipv6Addr::LOCALHOST),
            ip => ip,
        };
        let scheme = if self.tls { "https" } else { "http" };
        let authority = SocketAddr::new(host, local_addr.port());
        let parse = |text: String| {
            Url::parse(&text).map_err(|e| {
                Error::with_source(ErrorKind::InvalidConfig, "cannot form the endpoint url", e)
            })
        };
        let endpoint = parse(format!("{scheme}://{authority}{prefix}"))?;
        let jwks_url = parse(format!("{scheme}://{authority}{prefix}{JWKS_PATH}"))?;
        let issuer = self
            .issuer
            .clone()
            .unwrap_or_else(|| format!("{scheme}://{authority}{prefix}/"));
        let discovery = serde_json::json!({
            "issuer": issuer,
            "jwks_uri": jwks_url.as_str(),
            "token_endpoint": format!("{scheme}://{authority}{prefix}/Accounts/{{accountId}}/token?api-version=2019-02-28-preview"),
            "id_token_signing_alg_values_supported": ["ES256"],
        })
        .to_string();

        let initial_faults: VecDeque<Fault> = self.faults.into_iter().collect();
        let service = Arc::new(StsService {
            accounts: self
                .accounts
                .into_iter()
                .map(|account| (account.id(), account))
                .collect::<HashMap<_, _>>(),
            aad: self.aad,
            signer,
            clock: self.clock,
            token_lifetime: self.token_lifetime,
            issuer,
            audience: self.audience,
            prefix,
            discovery,
            max_body_bytes: self.limits.max_body_bytes,
            faults: Mutex::new(initial_faults),
            stats: StatsRecorder::new(self.limits.request_log_capacity),
        });
        let (ca_pem, acceptor) = match ca {
            Some(ca) => (Some(ca.ca_pem), Some(TlsAcceptor::from(ca.server_config))),
            None => (None, None),
        };
        let (shutdown_tx, shutdown_rx) = watch::channel(false);
        let task = server::spawn(
            listener,
            acceptor,
            service.clone(),
            self.limits,
            shutdown_rx,
        );
        Ok(RunningEmulator::new(
            service,
            endpoint,
            jwks_url,
            local_addr,
            ca_pem,
            shutdown_tx,
            task,
        ))
    }
}

/// `key` as an [`AccountKey`], its refusal (empty, control characters) as a configuration error
/// of the emulator.
fn account_key(key: impl Into<String>) -> Result<AccountKey> {
    AccountKey::new(key).map_err(|e| Error::new(ErrorKind::InvalidConfig, e.message()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id() -> Uuid {
        Uuid::parse_str("87e9abb1-79b9-4502-bbae-cfae8c610f23").unwrap()
    }

    fn config_error(builder: EmulatorBuilder) -> String {
        let err = builder.validate().unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidConfig);
        err.message().to_owned()
    }

    #[test]
    fn needs_an_account() {
        assert!(config_error(EmulatorBuilder::new()).contains("no account"));
    }

    #[test]
    fn reports_bad_accounts_at_start() {
        assert!(config_error(EmulatorBuilder::new().account(id(), "")).contains("empty"));
        assert!(config_error(EmulatorBuilder::new().account(id(), "a\nb")).contains("control"));
        assert!(
            config_error(EmulatorBuilder::new().account_with_keys(id(), "a", " "))
                .contains("empty")
        );
        assert!(config_error(EmulatorBuilder::new().account(Uuid::nil(), "k")).contains("nil"));
        assert!(
            config_error(EmulatorBuilder::new().account(id(), "a").account(id(), "b"))
                .contains("twice")
        );
        assert!(EmulatorBuilder::new()
            .account_with_keys(id(), "a", "b")
            .validate()
            .is_ok());
    }

    #[test]
    fn refuses_non_loopback_unless_allowed() {
        let any: SocketAddr = "0.0.0.0:0".parse().unwrap();
        let builder = EmulatorBuilder::new().account(id(), "k").address(any);
        assert!(config_error(builder).contains("allow_non_loopback"));
        let allowed = EmulatorBuilder::new()
            .account(id(), "k")
            .address(any)
            .allow_non_loopback(true);
        assert!(allowed.validate().is_ok());
        let v6: SocketAddr = "[::1]:0".parse().unwrap();
        assert!(EmulatorBuilder::new()
            .account(id(), "k")
            .address(v6)
            .validate()
            .is_ok());
    }

    #[test]
    fn normalizes_and_checks_the_prefix() {
        let b = |p: &str| EmulatorBuilder::new().account(id(), "k").path_prefix(p);
        assert_eq!(b("").validate().unwrap(), "");
        assert_eq!(b("/").validate().unwrap(), "");
        assert_eq!(b("sts/").validate().unwrap(), "/sts");
        assert_eq!(b("/a/b").validate().unwrap(), "/a/b");
        assert!(b("/a b").validate().is_err());
        assert!(b("/a//b").validate().is_err());
        assert!(b("/a?x").validate().is_err());
    }

    #[test]
    fn checks_lifetime_faults_and_limits() {
        let b = || EmulatorBuilder::new().account(id(), "k");
        assert!(config_error(b().token_lifetime(Duration::ZERO)).contains("lifetime"));
        let bad_fault = Fault::Status {
            status: 200,
            retry_after_secs: None,
        };
        assert!(config_error(b().faults([bad_fault])).contains("200"));
        let limits = Limits {
            max_header_bytes: 10,
            ..Limits::default()
        };
        assert!(config_error(b().limits(limits)).contains("max_header_bytes"));
    }

    #[test]
    fn debug_hides_keys() {
        let builder = EmulatorBuilder::new().account(id(), "very-secret-key");
        assert!(!format!("{builder:?}").contains("very-secret-key"));
    }
}
