//! What tests of code built on this crate inject into an
//! [`InteractiveBrowserBrokerCredential`], a [`DeviceCodeCredential`] or a
//! [`SharedTokenCacheCredential`]: the clock its tokens expire by, and the environment it reads
//! (`AZURE_AUTHORITY_HOST`; where the persistent cache is kept: `HOME`, `LOCALAPPDATA`,
//! `DBUS_SESSION_BUS_ADDRESS`; whether a browser here can be used: `DISPLAY`,
//! `WAYLAND_DISPLAY`, `SSH_CONNECTION`, `SSH_TTY`, `BROWSER`). Not needed to use the
//! credentials: they take the system clock and the process environment.
//!
//! ```
//! # fn run() -> mr_auth_broker::Result<()> {
//! use std::sync::Arc;
//! use mr_auth_broker::test_util::{credential_with_hooks, TestHooks};
//! use mr_auth_core::EnvironmentMap;
//!
//! let credential = credential_with_hooks(
//!     None,
//!     TestHooks {
//!         clock: Arc::new(mr_auth_core::ManualClock::at_fixed_start()),
//!         environment: Arc::new(EnvironmentMap::from_iter([("HOME", "/tmp/test-home")])),
//!     },
//! )?;
//! # let _ = credential; Ok(()) }
//! ```

use crate::{
    credential::Surroundings, DeviceCodeCredential, DeviceCodeCredentialOptions,
    DeviceCodePromptCallback, EnvironmentSource, InteractiveBrowserBrokerCredential,
    InteractiveBrowserBrokerCredentialOptions, ProcessEnvironment, Result,
    SharedTokenCacheCredential, SharedTokenCacheCredentialOptions,
};
use mr_auth_core::{Clock, SystemClock};
use std::sync::Arc;

/// The clock and environment a credential takes; [`Default`] is what
/// [`InteractiveBrowserBrokerCredential::new`] uses.
#[derive(Debug, Clone)]
pub struct TestHooks {
    /// The source of "now" for token expiry (`mr_auth_core::ManualClock` in tests).
    pub clock: Arc<dyn Clock>,
    /// Where configuration read from the environment comes from.
    pub environment: Arc<dyn EnvironmentSource>,
}

impl Default for TestHooks {
    fn default() -> Self {
        Self {
            clock: Arc::new(SystemClock),
            environment: Arc::new(ProcessEnvironment),
        }
    }
}

/// [`InteractiveBrowserBrokerCredential::new`] with `hooks` in place of the system clock and
/// the process environment.
///
/// # Errors
///
/// Those of [`InteractiveBrowserBrokerCredential::new`].
pub fn credential_with_hooks(
    options: Option<InteractiveBrowserBrokerCredentialOptions>,
    hooks: TestHooks,
) -> Result<Arc<InteractiveBrowserBrokerCredential>> {
    InteractiveBrowserBrokerCredential::with_surroundings(options.unwrap_or_default(), hooks.into())
}

/// [`SharedTokenCacheCredential::new`] with `hooks` in place of the system clock and the
/// process environment (`HOME` places the cache).
///
/// # Errors
///
/// Those of [`SharedTokenCacheCredential::new`].
pub fn shared_token_cache_credential_with_hooks(
    options: Option<SharedTokenCacheCredentialOptions>,
    hooks: TestHooks,
) -> Result<Arc<SharedTokenCacheCredential>> {
    SharedTokenCacheCredential::with_surroundings(options.unwrap_or_default(), hooks.into())
}

impl From<TestHooks> for Surroundings {
    fn from(hooks: TestHooks) -> Self {
        Self {
            clock: hooks.clock,
            environment: hooks.environment,
        }
    }
}

/// [`DeviceCodeCredential::new`] with `hooks` in place of the system clock and the process
/// environment.
///
/// # Errors
///
/// Those of [`DeviceCodeCredential::new`].
pub fn device_code_credential_with_hooks(
    prompt_callback: DeviceCodePromptCallback,
    options: Option<DeviceCodeCredentialOptions>,
    hooks: TestHooks,
) -> Result<Arc<DeviceCodeCredential>> {
    DeviceCodeCredential::with_surroundings(
        prompt_callback,
        options.unwrap_or_default(),
        hooks.into(),
    )
}

/// How many HTTP clients of their own (each with its TLS configuration and the system's root
/// certificates) the credentials of this process have built so far: one per pipeline, at the
/// first request it sends, never when a credential is made or answers from a cache. A
/// credential given a transport in its `client_options` builds none.
#[must_use]
pub fn default_http_clients_built() -> usize {
    crate::oauth::default_clients_built()
}

/// The token endpoint's refresh grant alone, as the credentials send it: the form, the
/// bounded tries through an `azure_core` pipeline of `client_options`, the answer read and
/// checked (status, tokens, expiry, the id token's audience). Without a credential around it:
/// no request resolution, no cache, no account record. For benchmarks that split a
/// credential's refresh into the protocol and what the credential does around it.
#[derive(Debug)]
pub struct RefreshGrant {
    endpoint: crate::oauth::TokenEndpoint,
    url: url::Url,
    client_id: crate::ClientId,
}

impl RefreshGrant {
    /// The grant at `authority`'s token endpoint for `tenant`, as `client_id`.
    #[must_use]
    pub fn new(
        authority: &crate::AuthorityHost,
        tenant: &crate::TenantId,
        client_id: crate::ClientId,
        client_options: azure_core::http::ClientOptions,
    ) -> Self {
        let client =
            crate::oauth::AuthorityClient::new(client_options, crate::DEFAULT_REQUEST_TIMEOUT);
        Self {
            endpoint: crate::oauth::TokenEndpoint::new(client, Arc::new(SystemClock)),
            url: authority.token_endpoint(tenant),
            client_id,
        }
    }

    /// Redeems `refresh_token` for `scopes` (the OpenID Connect scopes added, as the
    /// credentials add them) and returns the access token.
    ///
    /// # Errors
    ///
    /// The token endpoint's: the network, the authority's refusal, a malformed answer.
    pub async fn redeem(
        &self,
        refresh_token: &str,
        scopes: &[&str],
    ) -> Result<crate::AccessTokenInfo> {
        let refresh_token = crate::oauth::RefreshToken::new(refresh_token.to_owned());
        let scopes: Vec<String> = scopes.iter().map(|s| (*s).to_owned()).collect();
        let response = self
            .endpoint
            .request(
                self.url.clone(),
                &self.client_id,
                crate::oauth::Grant::RefreshToken(&refresh_token),
                &crate::oauth::with_oidc_scopes(&scopes),
                None,
                "http://localhost",
                &azure_core::http::Context::new(),
            )
            .await?;
        Ok(response.token)
    }
}
