use super::{parent_window_handle::ParentWindowHandle, pop_parameters::PopParameters};
use crate::{
    error::Result,
    oauth::{AccessTokenInfo, ClientId, TenantId},
};
use async_trait::async_trait;
use std::fmt;
use url::Url;

/// What the credential asks a platform broker for. Built by the credential from its options
/// and the per-request options; the broker only has to carry it to the OS.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct BrokerRequest {
    /// The app registration.
    pub client_id: ClientId,
    /// The tenant the token is for.
    pub tenant_id: TenantId,
    /// `{authority host}/{tenant}`.
    pub authority: Url,
    /// The scopes, sorted and deduplicated.
    pub scopes: Vec<String>,
    /// The redirect URI the app registration lists for the broker.
    pub redirect_uri: String,
    /// The `claims` to send: the claims challenge merged with `CP1` when CAE is on.
    pub claims: Option<String>,
    /// For a proof-of-possession token: the request it is bound to.
    pub pop: Option<PopParameters>,
    /// Pre-fills the account in the interactive step.
    pub login_hint: Option<String>,
    /// List personal Microsoft accounts too (first-party apps configured for it).
    pub enable_msa_passthrough: bool,
    /// Whether the broker should validate the authority (`!disable_instance_discovery`).
    pub validate_authority: bool,
}

/// An account the broker signed in, kept by the credential for later silent requests.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct BrokerAccount {
    /// The broker's id for the account (opaque).
    pub id: String,
    /// The user name, when known.
    pub username: Option<String>,
}

/// A token from the broker, and the account it is for.
#[derive(Debug, Clone)]
pub struct BrokerToken {
    /// The token.
    pub token: AccessTokenInfo,
    /// The account, when the broker reports it.
    pub account: Option<BrokerAccount>,
}

/// An operating-system authentication broker (WAM on Windows, the Microsoft identity broker
/// on Linux): the seam between the platform-neutral orchestration in
/// [`InteractiveBrowserBrokerCredential`](crate::InteractiveBrowserBrokerCredential) and the
/// platform code.
///
/// Error contract, which the orchestration relies on:
/// - [`ErrorKind::BrokerUnavailable`](crate::ErrorKind::BrokerUnavailable) from any method:
///   the broker cannot be used at all here (not installed, activation failed); the credential
///   falls back to the browser flow where interaction is allowed.
/// - [`ErrorKind::AuthenticationRequired`](crate::ErrorKind::AuthenticationRequired) from a
///   silent method: no token without UI; the credential moves on to the next step.
/// - [`ErrorKind::UserCancelled`](crate::ErrorKind::UserCancelled),
///   [`ErrorKind::RedirectUriNotRegistered`](crate::ErrorKind::RedirectUriNotRegistered) and
///   every other kind end the request with that error.
///
/// Cancellation is dropping the future: the credential runs
/// [`acquire_token_interactively`](Self::acquire_token_interactively) in its caller's task and
/// drops it when the caller's future is dropped or the interactive timeout elapses. An
/// implementation must then stop the OS operation promptly (WAM: cancel the WinRT operation;
/// the Linux broker: `cancelInteractiveFlow`), so no dialog outlives the request. The silent
/// methods run in the credential's shared cache and are not cancelled by one caller.
///
/// A panic in any method is a bug; the credential turns it into
/// [`ErrorKind::Internal`](crate::ErrorKind::Internal) for the callers waiting on it.
///
/// Methods may block on OS calls only through `spawn_blocking` (never on the executor).
#[async_trait]
pub trait PlatformBroker: Send + Sync + fmt::Debug {
    /// Whether this broker can issue proof-of-possession tokens.
    fn supports_pop(&self) -> bool;

    /// The redirect URI the app registration must list for this broker.
    fn redirect_uri(&self, client_id: &ClientId) -> String;

    /// This broker's handle for an account that an earlier process signed in, known by its
    /// home account id (`<object id>.<home tenant id>`, as an `AuthenticationRecord` keeps
    /// it), so that a new process's first request can be silent for that account. `None`,
    /// the default, where the broker cannot find its accounts by that id (WAM's accounts have
    /// ids of their own); the Microsoft identity broker on Linux can.
    fn account_for_home_account_id(
        &self,
        home_account_id: &str,
        username: Option<&str>,
    ) -> Option<BrokerAccount> {
        let _ = (home_account_id, username);
        None
    }

    /// A token for a known account without UI.
    async fn acquire_token_silently(
        &self,
        request: &BrokerRequest,
        account: &BrokerAccount,
    ) -> Result<BrokerToken>;

    /// A token for the OS's default account without UI.
    async fn acquire_token_with_default_account(
        &self,
        request: &BrokerRequest,
    ) -> Result<BrokerToken>;

    /// The broker's account picker / sign-in dialog, parented to `parent_window`.
    async fn acquire_token_interactively(
        &self,
        request: &BrokerRequest,
        parent_window: Option<ParentWindowHandle>,
    ) -> Result<BrokerToken>;
}
