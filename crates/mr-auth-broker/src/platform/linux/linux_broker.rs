//! [`LinuxBroker`]: the [`PlatformBroker`] of Linux, the Microsoft identity broker over D-Bus.

use super::{
    broker_bus::BrokerBus,
    call_failure::CallFailure,
    interactive_cancel_guard::InteractiveCancelGuard,
    linux_accounts::{
        account_for_home_account_id, accounts_request, default_account, home_account_id,
        parse_accounts, LinuxAccount,
    },
    linux_broker_error::BrokerCall,
    linux_broker_version::{check_version, version_request, BrokerVersion},
    linux_token_request::{interactive_request, silent_request},
    linux_token_response::parse_token_response,
    protocol::{DEFAULT_CALL_TIMEOUT, DEFAULT_CONNECT_TIMEOUT, NATIVE_CLIENT_REDIRECT_URI},
};
use crate::{
    error::{Error, ErrorKind, Result},
    oauth::{ClientId, TokenType},
    platform::{BrokerAccount, BrokerRequest, BrokerToken, ParentWindowHandle, PlatformBroker},
};
use async_trait::async_trait;
use std::{
    fmt,
    sync::{Arc, Mutex, MutexGuard},
    time::Duration,
};

/// The tenant id of personal Microsoft accounts.
const MSA_TENANT_ID: &str = "9188040d-6c67-4c5b-b112-36a304b66dad";

/// How many broker accounts are remembered for silent calls.
const MAX_REMEMBERED_ACCOUNTS: usize = 16;

/// Options of [`LinuxBroker`].
#[derive(Debug, Clone)]
pub struct LinuxBrokerOptions {
    /// The D-Bus address of the bus the broker is on (`unix:path=/run/user/1000/bus`).
    /// Default: the session bus (`DBUS_SESSION_BUS_ADDRESS`, else `$XDG_RUNTIME_DIR/bus`).
    pub bus_address: Option<String>,
    /// How long reaching the broker may take: connecting to the bus (its authentication and
    /// `Hello`) and the broker's answer to its version call, together. A bus that accepts the
    /// connection and never answers, or a broker that does not answer, is then
    /// [`ErrorKind::BrokerUnavailable`] (the credential goes on with the browser flow).
    /// Default 5 s.
    pub connect_timeout: Duration,
    /// The bound of every later call that shows no UI (accounts, silent token, cancel).
    /// The interactive call is bounded by the credential's `timeout` instead. Default 60 s.
    pub call_timeout: Duration,
}

impl Default for LinuxBrokerOptions {
    fn default() -> Self {
        Self {
            bus_address: None,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            call_timeout: DEFAULT_CALL_TIMEOUT,
        }
    }
}

/// The Microsoft identity broker of Intune-enrolled Linux desktops
/// (`microsoft-identity-broker`), reached over the D-Bus session bus
/// (`com.microsoft.identity.broker1`).
///
/// [`default_platform_broker`](crate::default_platform_broker) returns one on Linux, so the
/// credential tries it first and uses the browser flow where there is none. Build one yourself
/// to point it at another bus or change its call timeout:
///
/// ```no_run
/// # async fn run() -> mr_auth_broker::Result<()> {
/// use mr_auth_broker::{
///     BrokerMode, InteractiveBrowserBrokerCredential, InteractiveBrowserBrokerCredentialOptions,
///     LinuxBroker,
/// };
/// use std::sync::Arc;
///
/// let broker = LinuxBroker::new(None)?;
/// // Is there a broker, and which version? (BrokerUnavailable, with the reason, when not.)
/// println!("broker {}", broker.broker_version().await?);
/// let credential = InteractiveBrowserBrokerCredential::new(Some(InteractiveBrowserBrokerCredentialOptions {
///     broker: BrokerMode::Custom(Arc::new(broker)),
///     ..Default::default()
/// }))?;
/// # Ok(()) }
/// ```
///
/// - Silent with a known account: `acquireTokenSilently` (`authorizationType` 1) with the
///   broker's own account object.
/// - `use_default_broker_account`: the broker has no default account, so `getAccounts` and
///   the account matching the login hint, else the only one in the tenant, else the only one.
/// - Interactive: `acquireTokenInteractively` (`authorizationType` 6), the broker's own
///   window; the account picker, or the login hint's user. The protocol has no parent-window
///   field, so [`ParentWindowHandle`] is not sent. Dropping the call's future (the
///   credential's timeout, a caller giving up) sends `cancelInteractiveFlow`.
/// - Proof-of-possession: `popParams` on the request; the broker signs with a device-held
///   key. A Bearer answer to a PoP request is an error, never returned.
/// - Personal Microsoft accounts: the Linux broker signs in work and school accounts only, so
///   the `consumers` tenant reports [`ErrorKind::BrokerUnavailable`] and the credential uses
///   the browser flow; `enable_msa_passthrough` changes nothing here.
///
/// Broker absent (no bus, nothing owns the name), older than 2.0, or answering outside its
/// protocol: [`ErrorKind::BrokerUnavailable`] with the reason. The version is checked once
/// per connection.
///
/// Calls need a tokio runtime (with its I/O and time drivers). The D-Bus connection is made
/// on the first call and its reader task runs on that call's runtime: use one broker (and
/// one credential) per runtime, or keep that runtime alive as long as the broker.
#[derive(Clone)]
pub struct LinuxBroker {
    inner: Arc<Inner>,
}

struct Inner {
    options: LinuxBrokerOptions,
    /// The connection and the broker's checked version; `None` until the first call works.
    /// Held across connecting, so concurrent first calls check the version once.
    connected: tokio::sync::Mutex<Option<Connected>>,
    /// Accounts from earlier answers, sent back whole in silent calls.
    accounts: Mutex<Vec<LinuxAccount>>,
}

#[derive(Clone)]
struct Connected {
    bus: BrokerBus,
    version: BrokerVersion,
}

impl fmt::Debug for LinuxBroker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LinuxBroker")
            .field("bus_address", &self.inner.options.bus_address)
            .field("connect_timeout", &self.inner.options.connect_timeout)
            .field("call_timeout", &self.inner.options.call_timeout)
            .finish_non_exhaustive()
    }
}

fn silent_miss(message: impl Into<String>) -> Error {
    Error::new(ErrorKind::AuthenticationRequired, message)
}

fn correlation_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

fn wanted_type(request: &BrokerRequest) -> TokenType {
    if request.pop.is_some() {
        TokenType::Pop
    } else {
        TokenType::Bearer
    }
}

impl LinuxBroker {
    /// A broker client with `options` (default: the session bus, 60 s call timeout). Nothing
    /// is connected until the first call.
    pub fn new(options: Option<LinuxBrokerOptions>) -> Result<Self> {
        let options = options.unwrap_or_default();
        if options.call_timeout.is_zero() || options.connect_timeout.is_zero() {
            return Err(Error::invalid_input(
                "call_timeout and connect_timeout must be more than zero",
            ));
        }
        if let Some(address) = &options.bus_address {
            if address.trim().is_empty() || address.chars().any(char::is_control) {
                return Err(Error::invalid_input(
                    "bus_address must be a d-bus address such as unix:path=/run/user/1000/bus",
                ));
            }
        }
        Ok(Self {
            inner: Arc::new(Inner {
                options,
                connected: tokio::sync::Mutex::new(None),
                accounts: Mutex::new(Vec::new()),
            }),
        })
    }

    /// The version the broker reports (`getLinuxBrokerVersion`): the way to tell whether this
    /// machine has a broker this crate can use. [`ErrorKind::BrokerUnavailable`], with the
    /// reason, when it has none, or one that is too old.
    pub async fn broker_version(&self) -> Result<String> {
        Ok(self.connected().await?.version.to_string())
    }

    async fn connected(&self) -> Result<Connected> {
        let mut slot = self.inner.connected.lock().await;
        if let Some(connected) = slot.as_ref() {
            return Ok(connected.clone());
        }
        let address = self.inner.options.bus_address.as_deref();
        let limit = self.inner.options.connect_timeout;
        let reach = async {
            let bus = BrokerBus::connect(address).await?;
            let answer = bus
                .call(
                    "getLinuxBrokerVersion",
                    &correlation_id(),
                    &version_request(),
                    None,
                )
                .await?;
            Ok::<_, Error>((bus, answer))
        };
        let (bus, answer) = match tokio::time::timeout(limit, reach).await {
            Ok(reached) => reached?,
            Err(_) => {
                let error = Error::new(
                    ErrorKind::BrokerUnavailable,
                    format!(
                        "{} did not answer within {} s (connecting to it, or the microsoft identity broker's version call): the bus or the broker is hung, so the broker is not used; restart the session bus or the broker",
                        address.unwrap_or("the session bus"),
                        limit.as_secs_f32()
                    ),
                );
                tracing::info!(error = %error, "the microsoft identity broker cannot be reached");
                return Err(error);
            }
        };
        let version = check_version(&answer)?;
        tracing::debug!(%version, "found the microsoft identity broker");
        let connected = Connected { bus, version };
        *slot = Some(connected.clone());
        Ok(connected)
    }

    /// One call; forgets the connection when it is gone, so the next call connects again.
    async fn call(
        &self,
        bus: &BrokerBus,
        method: &str,
        correlation_id: &str,
        body: &str,
        timeout: Option<Duration>,
    ) -> Result<String> {
        match bus.call(method, correlation_id, body, timeout).await {
            Ok(answer) => Ok(answer),
            Err(CallFailure {
                error,
                connection_lost,
            }) => {
                if connection_lost {
                    *self.inner.connected.lock().await = None;
                }
                Err(error.with_correlation_id(Some(correlation_id.to_owned())))
            }
        }
    }

    fn lock_accounts(&self) -> MutexGuard<'_, Vec<LinuxAccount>> {
        // Only whole values move in and out under this lock, so a poisoned one is consistent.
        self.inner
            .accounts
            .lock()
            .unwrap_or_else(|p| p.into_inner())
    }

    fn remember(&self, account: &LinuxAccount) {
        let mut accounts = self.lock_accounts();
        accounts.retain(|a| a.home_account_id != account.home_account_id);
        if accounts.len() >= MAX_REMEMBERED_ACCOUNTS {
            accounts.remove(0);
        }
        accounts.push(account.clone());
    }

    async fn accounts(
        &self,
        bus: &BrokerBus,
        request: &BrokerRequest,
    ) -> Result<Vec<LinuxAccount>> {
        let id = correlation_id();
        let answer = self
            .call(
                bus,
                "getAccounts",
                &id,
                &accounts_request(&request.client_id, &request.redirect_uri),
                Some(self.inner.options.call_timeout),
            )
            .await?;
        parse_accounts(&answer, &request.redirect_uri).map_err(|e| e.with_correlation_id(Some(id)))
    }

    async fn silently(
        &self,
        bus: &BrokerBus,
        request: &BrokerRequest,
        account: &LinuxAccount,
    ) -> Result<BrokerToken> {
        let id = correlation_id();
        let answer = self
            .call(
                bus,
                "acquireTokenSilently",
                &id,
                &silent_request(request, account),
                Some(self.inner.options.call_timeout),
            )
            .await?;
        self.token(&answer, request, BrokerCall::Silent, &id)
    }

    fn token(
        &self,
        answer: &str,
        request: &BrokerRequest,
        call: BrokerCall,
        correlation_id: &str,
    ) -> Result<BrokerToken> {
        let response =
            parse_token_response(answer, wanted_type(request), call, &request.redirect_uri)
                .map_err(|e| e.with_correlation_id(Some(correlation_id.to_owned())))?;
        let account = response.account.as_ref().map(|a| {
            self.remember(a);
            a.broker_account()
        });
        Ok(BrokerToken {
            token: response.token,
            account,
        })
    }
}

/// The Linux broker serves work and school accounts only.
fn refuse_personal_accounts(request: &BrokerRequest) -> Result<()> {
    let tenant = request.tenant_id.as_str();
    if tenant.eq_ignore_ascii_case("consumers") || tenant.eq_ignore_ascii_case(MSA_TENANT_ID) {
        return Err(Error::new(
            ErrorKind::BrokerUnavailable,
            "the microsoft identity broker on linux signs in work and school accounts only; personal microsoft accounts (tenant consumers) sign in through the browser",
        ));
    }
    if request.enable_msa_passthrough {
        tracing::debug!("enable_msa_passthrough has no effect with the linux broker (work and school accounts only)");
    }
    Ok(())
}

#[async_trait]
impl PlatformBroker for LinuxBroker {
    fn supports_pop(&self) -> bool {
        true
    }

    fn redirect_uri(&self, _client_id: &ClientId) -> String {
        NATIVE_CLIENT_REDIRECT_URI.to_owned()
    }

    /// The broker knows its accounts by their home account id: the handle is found on the
    /// first silent call.
    fn account_for_home_account_id(
        &self,
        home_account_id: &str,
        username: Option<&str>,
    ) -> Option<BrokerAccount> {
        Some(account_for_home_account_id(
            home_account_id,
            username.map(str::to_owned),
        ))
    }

    async fn acquire_token_silently(
        &self,
        request: &BrokerRequest,
        account: &BrokerAccount,
    ) -> Result<BrokerToken> {
        refuse_personal_accounts(request)?;
        let Some(home) = home_account_id(account) else {
            return Err(silent_miss(
                "the account was not signed in through the linux broker",
            ));
        };
        let bus = self.connected().await?.bus;
        let known = self
            .lock_accounts()
            .iter()
            .find(|a| a.home_account_id == home)
            .cloned();
        let account = match known {
            Some(a) => a,
            None => match self
                .accounts(&bus, request)
                .await?
                .into_iter()
                .find(|a| a.home_account_id == home)
            {
                Some(a) => a,
                None => {
                    return Err(silent_miss(
                        "the broker no longer knows the account signed in earlier",
                    ))
                }
            },
        };
        self.silently(&bus, request, &account).await
    }

    async fn acquire_token_with_default_account(
        &self,
        request: &BrokerRequest,
    ) -> Result<BrokerToken> {
        refuse_personal_accounts(request)?;
        let bus = self.connected().await?.bus;
        let accounts = self.accounts(&bus, request).await?;
        let Some(account) = default_account(
            &accounts,
            request.login_hint.as_deref(),
            request.tenant_id.as_str(),
        ) else {
            return Err(silent_miss(match (accounts.len(), &request.login_hint) {
                (0, _) => "the broker has no signed-in account".to_owned(),
                (_, Some(_)) => "no account of the broker matches the login hint".to_owned(),
                (n, None) => format!("the broker has {n} accounts and none is the only one in tenant {}; set login_hint to choose", request.tenant_id),
            }));
        };
        self.silently(&bus, request, account).await
    }

    async fn acquire_token_interactively(
        &self,
        request: &BrokerRequest,
        parent_window: Option<ParentWindowHandle>,
    ) -> Result<BrokerToken> {
        refuse_personal_accounts(request)?;
        if parent_window.is_some() {
            tracing::debug!(
                "the linux broker opens its own window; the parent window handle is not sent"
            );
        }
        let bus = self.connected().await?.bus;
        let id = correlation_id();
        let guard = InteractiveCancelGuard::arm(
            &bus,
            &request.client_id,
            &id,
            self.inner.options.call_timeout,
        );
        // No timeout here: the user is at the broker's window; the credential bounds this.
        let answer = self
            .call(
                &bus,
                "acquireTokenInteractively",
                &id,
                &interactive_request(request),
                None,
            )
            .await;
        guard.disarm();
        self.token(&answer?, request, BrokerCall::Interactive, &id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oauth::TenantId;

    fn request(tenant: &str) -> BrokerRequest {
        BrokerRequest {
            client_id: ClientId::default(),
            tenant_id: TenantId::new(tenant).unwrap(),
            authority: format!("https://login.microsoftonline.com/{tenant}")
                .parse()
                .unwrap(),
            scopes: vec!["https://management.azure.com/.default".into()],
            redirect_uri: NATIVE_CLIENT_REDIRECT_URI.into(),
            claims: None,
            pop: None,
            login_hint: None,
            enable_msa_passthrough: true,
            validate_authority: true,
        }
    }

    #[test]
    fn options_are_validated() {
        for zero in [
            LinuxBrokerOptions {
                call_timeout: Duration::ZERO,
                ..Default::default()
            },
            LinuxBrokerOptions {
                connect_timeout: Duration::ZERO,
                ..Default::default()
            },
        ] {
            let e = LinuxBroker::new(Some(zero)).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidInput);
        }
        let e = LinuxBroker::new(Some(LinuxBrokerOptions {
            bus_address: Some(" ".into()),
            ..Default::default()
        }))
        .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput);
        let b = LinuxBroker::new(None).unwrap();
        assert!(b.supports_pop());
        assert_eq!(
            b.redirect_uri(&ClientId::default()),
            "https://login.microsoftonline.com/common/oauth2/nativeclient"
        );
    }

    #[tokio::test]
    async fn personal_accounts_and_foreign_ids_never_reach_the_bus() {
        mr_auth_test_support::bounded(async move {
            // An address nobody listens on: reaching the bus would be BrokerUnavailable with
            // "cannot connect", which these checks must come before.
            let b = LinuxBroker::new(Some(LinuxBrokerOptions {
                bus_address: Some("unix:path=/nonexistent/mr-auth-test-bus".into()),
                ..Default::default()
            }))
            .unwrap();
            let e = b
                .acquire_token_interactively(&request("consumers"), None)
                .await
                .unwrap_err();
            assert_eq!(e.kind(), ErrorKind::BrokerUnavailable);
            assert!(e.message().contains("work and school accounts only"), "{e}");
            let foreign = BrokerAccount {
                id: "wam:work:1".into(),
                username: None,
            };
            let e = b
                .acquire_token_silently(&request("organizations"), &foreign)
                .await
                .unwrap_err();
            assert_eq!(e.kind(), ErrorKind::AuthenticationRequired);
            let e = b.broker_version().await.unwrap_err();
            assert_eq!(e.kind(), ErrorKind::BrokerUnavailable);
            let reason = if cfg!(target_os = "linux") {
                "cannot connect"
            } else {
                "runs on linux only"
            };
            assert!(e.message().contains(reason), "{e}");
        })
        .await;
    }
}
