//! What every credential of this crate does with a request, whatever its interactive step:
//! the silent chain through the shared single-flight cache, then one interactive sign-in at a
//! time in the caller's own task; and `authenticate`. [`InteractiveBrowserBrokerCredential`]
//! and [`DeviceCodeCredential`] are this with their own configuration and silent chain.
//!
//! [`InteractiveBrowserBrokerCredential`]: super::InteractiveBrowserBrokerCredential
//! [`DeviceCodeCredential`]: super::DeviceCodeCredential

use super::{
    authentication_record::AuthenticationRecord,
    broker_token_request_options::BrokerTokenRequestOptions,
    credential_config::{CredentialConfig, EXPIRY_BUFFER},
    interactive_sign_in::{sign_in_interactively, CacheCheck},
    session::Session,
    silent_chain::SilentChain,
    token_request::{CacheKey, TokenRequest},
};
use crate::{
    error::{Error, ErrorKind, Result},
    oauth::AccessTokenInfo,
};
use azure_core::{
    credentials::{AccessToken, TokenRequestOptions},
    http::Context,
};
use mr_auth_core::{TokenCache, TokenCacheOptions};
use std::{
    fmt,
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc,
    },
};

/// A credential's state and its way through a request; see the module documentation.
pub(crate) struct CredentialCore {
    pub(crate) session: Arc<Session>,
    silent: Arc<SilentChain>,
    pub(crate) cache: TokenCache<CacheKey, AccessTokenInfo, Error>,
    /// At most one interactive sign-in (dialog, browser or device code) per credential.
    interactive: tokio::sync::Mutex<()>,
    /// Interactive sign-ins finished so far: a caller that queued behind one can tell that the
    /// silent steps may work now.
    sign_ins: AtomicU64,
}

impl CredentialCore {
    pub(crate) fn new(config: CredentialConfig, silent: SilentChain) -> Self {
        let cache = TokenCache::new(TokenCacheOptions {
            expiry_buffer: EXPIRY_BUFFER,
            clock: config.clock.clone(),
            ..TokenCacheOptions::default()
        });
        Self {
            session: Arc::new(Session::new(config)),
            silent: Arc::new(silent),
            cache,
            interactive: tokio::sync::Mutex::new(()),
            sign_ins: AtomicU64::new(0),
        }
    }

    pub(crate) fn config(&self) -> &CredentialConfig {
        &self.session.config
    }

    /// A token: silently if any silent step has one, else (unless automatic authentication
    /// is disabled) through the interactive step.
    pub(crate) async fn get_token_info(
        &self,
        scopes: &[&str],
        options: BrokerTokenRequestOptions,
        context: &Context<'_>,
    ) -> Result<AccessTokenInfo> {
        let config = self.config();
        let request = TokenRequest::resolve(config, scopes, &options)?;
        let key = request.cache_key(config);
        let ui_allowed = !config.disable_automatic_authentication;

        let sign_ins_before = self.sign_ins.load(Ordering::SeqCst);
        match self.silently(&key, &request, context).await {
            Err(e) if ui_allowed && e.kind() == ErrorKind::AuthenticationRequired => {}
            other => return other,
        }

        let _one_sign_in_at_a_time = self.interactive.lock().await;
        if self.sign_ins.load(Ordering::SeqCst) != sign_ins_before {
            // Another caller signed in while this one waited: its token or account may
            // answer this request without a second sign-in.
            match self.silently(&key, &request, context).await {
                Err(e) if e.kind() == ErrorKind::AuthenticationRequired => {}
                other => return other,
            }
        }
        let sign_in =
            sign_in_interactively(&self.session, &request, context, CacheCheck::BestEffort).await?;
        self.sign_ins.fetch_add(1, Ordering::SeqCst);
        self.cache.insert(&key, sign_in.token)
    }

    /// `get_token` of `azure_core`'s `TokenCredential`: the per-request options from the
    /// context, when a caller put them there.
    pub(crate) async fn get_token(
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
            .get_token_info(scopes, request_options, context)
            .await?
            .into())
    }

    /// Signs in interactively, always, and returns the account's record.
    pub(crate) async fn authenticate(
        &self,
        scopes: &[&str],
        options: Option<BrokerTokenRequestOptions>,
    ) -> Result<AuthenticationRecord> {
        let config = self.config();
        let request = TokenRequest::resolve(config, scopes, &options.unwrap_or_default())?;
        let key = request.cache_key(config);
        let _one_sign_in_at_a_time = self.interactive.lock().await;
        let sign_in = sign_in_interactively(
            &self.session,
            &request,
            &Context::new(),
            CacheCheck::Required,
        )
        .await?;
        self.sign_ins.fetch_add(1, Ordering::SeqCst);
        self.cache.insert(&key, sign_in.token)?;
        if let Some(e) = sign_in.persist_error {
            return Err(e);
        }
        sign_in.record.ok_or_else(|| {
            Error::protocol(
                "the sign-in succeeded but the authority's answer did not identify the account \
                 (no usable client_info or id token), so there is no record to return",
            )
        })
    }

    /// The silent steps, through the shared single-flight cache.
    async fn silently(
        &self,
        key: &CacheKey,
        request: &TokenRequest,
        context: &Context<'_>,
    ) -> Result<AccessTokenInfo> {
        let session = Arc::clone(&self.session);
        let silent = Arc::clone(&self.silent);
        let request = request.clone();
        let context = context.to_owned();
        self.cache
            .get_or_fetch(key, move || async move {
                silent.run(&session, &request, &context).await
            })
            .await
    }
}

impl fmt::Debug for CredentialCore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let config = self.config();
        f.debug_struct("CredentialCore")
            .field("client_id", &config.client_id)
            .field("tenant_id", &config.tenant_id)
            .field("authority", &config.authority.to_string())
            .field("cache", &self.cache)
            .finish_non_exhaustive()
    }
}
