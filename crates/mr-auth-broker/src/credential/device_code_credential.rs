use super::{
    authentication_record::AuthenticationRecord,
    broker_token_request_options::BrokerTokenRequestOptions,
    credential_config::{CredentialConfig, Surroundings},
    credential_core::CredentialCore,
    device_code_credential_options::DeviceCodeCredentialOptions,
    interactive_step::{device_code_flow, InteractiveStep},
    silent_steps::device_code_chain,
};
use crate::{
    error::{Error, Result},
    oauth::{AccessTokenInfo, DeviceCodePromptCallback},
};
use azure_core::{
    credentials::{AccessToken, TokenCredential, TokenRequestOptions},
    http::Context,
};
use std::{fmt, sync::Arc};

/// Signs a user in to Entra ID with a device code (RFC 8628): the user opens an address on
/// any device with a browser (a phone, another computer), enters a short code and signs in
/// there, while this credential polls the authority. The Rust counterpart of the Python
/// `azure.identity.DeviceCodeCredential`, for machines without a browser of their own: SSH
/// sessions, containers, Codespaces, servers.
///
/// For each request it tries, in order, and stops at the first that gives a token:
///
/// 1. **silent**, shared by every caller of the same request (one run for any number of
///    callers): the in-memory cache, then, with `cache_persistence_options` and an account
///    known (an `authentication_record`, or a sign-in), the persistent cache's access token
///    and the refresh token (this credential's, or the one stored by any MSAL application
///    with the same client id);
/// 2. **the device code sign-in** (unless `disable_automatic_authentication`): the
///    authority's `devicecode` endpoint gives a code, the prompt callback shows it, and the
///    token endpoint is polled at the authority's interval (5 s, 5 s more after each
///    `slow_down`) until the user signed in, declined ([`ErrorKind::UserCancelled`]), or the
///    code expired ([`ErrorKind::DeviceCodeExpired`]) or the `timeout` passed
///    ([`ErrorKind::Timeout`]). It runs in the caller's own task, one at a time per
///    credential: dropping the caller's future stops polling at once.
///
/// Tokens go where [`InteractiveBrowserBrokerCredential`](crate::InteractiveBrowserBrokerCredential)'s
/// go: memory, and the persistent cache with MSAL's entries, so azure-identity's
/// `DeviceCodeCredential` (or any MSAL application with the client id) reads them silently.
/// A proof-of-possession request fails with [`ErrorKind::PopNeedsBroker`].
///
/// ```no_run
/// use azure_core::credentials::TokenCredential;
/// use mr_auth_broker::{DeviceCodeCredential, DeviceCodeCredentialOptions, DeviceCodePromptCallback};
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let prompt = DeviceCodePromptCallback::new(|prompt| {
///     // "To sign in, use a web browser to open the page https://microsoft.com/devicelogin
///     // and enter the code ... to authenticate."
///     eprintln!("{}", prompt.message);
///     Ok(())
/// });
/// let credential = DeviceCodeCredential::new(
///     prompt,
///     Some(DeviceCodeCredentialOptions {
///         tenant_id: "contoso.onmicrosoft.com".parse()?,
///         ..Default::default()
///     }),
/// )?;
/// let token = credential.get_token(&["https://management.azure.com/.default"], None).await?;
/// # let _ = token;
/// # Ok(()) }
/// ```
///
/// [`ErrorKind::UserCancelled`]: crate::ErrorKind::UserCancelled
/// [`ErrorKind::DeviceCodeExpired`]: crate::ErrorKind::DeviceCodeExpired
/// [`ErrorKind::Timeout`]: crate::ErrorKind::Timeout
/// [`ErrorKind::PopNeedsBroker`]: crate::ErrorKind::PopNeedsBroker
pub struct DeviceCodeCredential {
    core: CredentialCore,
}

impl DeviceCodeCredential {
    /// Builds the credential, validating every option. `prompt_callback` shows the user what
    /// to do (azure-identity's `prompt_callback`; required: this library never prints).
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) for a zero `timeout`, or an
    /// `authentication_record` of another client or authority host;
    /// [`ErrorKind::UnsupportedAuthority`](crate::ErrorKind::UnsupportedAuthority) for a B2C
    /// authority from the environment.
    pub fn new(
        prompt_callback: DeviceCodePromptCallback,
        options: Option<DeviceCodeCredentialOptions>,
    ) -> Result<Arc<Self>> {
        Self::with_surroundings(
            prompt_callback,
            options.unwrap_or_default(),
            Surroundings::default(),
        )
    }

    /// The same, with the clock and environment given (tests inject theirs).
    pub(crate) fn with_surroundings(
        prompt_callback: DeviceCodePromptCallback,
        options: DeviceCodeCredentialOptions,
        surroundings: Surroundings,
    ) -> Result<Arc<Self>> {
        let timeout = options.timeout;
        if timeout.is_some_and(|t| t.is_zero()) {
            return Err(Error::invalid_input(
                "timeout must be more than zero (or None: as long as the code is valid)",
            ));
        }
        let mut config = CredentialConfig::new(options.into_shared(), surroundings)?;
        let flow = device_code_flow(
            &config.authority,
            &config.client_id,
            timeout,
            prompt_callback,
            &config.authority_client,
            &config.clock,
        );
        config.interactive = InteractiveStep::DeviceCode(Box::new(flow));
        Ok(Arc::new(Self {
            core: CredentialCore::new(config, device_code_chain()),
        }))
    }

    /// A token for `scopes` with per-request options (claims, CAE, tenant): the equivalent of
    /// the Python `get_token_info`.
    ///
    /// # Errors
    ///
    /// Those of the device code sign-in (see the type's documentation), or
    /// [`ErrorKind::AuthenticationRequired`](crate::ErrorKind::AuthenticationRequired) with
    /// `disable_automatic_authentication` when no silent step had a token.
    pub async fn get_token_info(
        &self,
        scopes: &[&str],
        options: Option<BrokerTokenRequestOptions>,
    ) -> Result<AccessTokenInfo> {
        self.core
            .get_token_info(scopes, options.unwrap_or_default(), &Context::new())
            .await
    }

    /// Signs the user in with a device code for `scopes`, always (even with
    /// `disable_automatic_authentication`), and returns the [`AuthenticationRecord`] of the
    /// account: the Python `authenticate`. Afterwards `get_token` is silent for it; with
    /// `cache_persistence_options` the tokens are stored, so a later process with this record
    /// is silent too.
    ///
    /// # Errors
    ///
    /// Those of the device code sign-in; [`ErrorKind::PersistentCache`](crate::ErrorKind::PersistentCache)
    /// when `cache_persistence_options` is set and the cache cannot be opened (checked before
    /// a code is asked for) or the tokens could not be stored;
    /// [`ErrorKind::Protocol`](crate::ErrorKind::Protocol) when the answer did not identify
    /// the account.
    pub async fn authenticate(
        &self,
        scopes: &[&str],
        options: Option<BrokerTokenRequestOptions>,
    ) -> Result<AuthenticationRecord> {
        self.core.authenticate(scopes, options).await
    }
}

impl fmt::Debug for DeviceCodeCredential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let config = self.core.config();
        f.debug_struct("DeviceCodeCredential")
            .field("client_id", &config.client_id)
            .field("tenant_id", &config.tenant_id)
            .field("authority", &config.authority.to_string())
            .field("tokens", &self.core.tokens)
            .finish_non_exhaustive()
    }
}

#[async_trait::async_trait]
impl TokenCredential for DeviceCodeCredential {
    /// A token for `scopes`. Per-request options ([`BrokerTokenRequestOptions`]: claims, CAE,
    /// tenant) are read from `options.method_options.context` when a caller put them there.
    async fn get_token(
        &self,
        scopes: &[&str],
        options: Option<TokenRequestOptions<'_>>,
    ) -> azure_core::Result<AccessToken> {
        self.core.get_token(scopes, options).await
    }
}
