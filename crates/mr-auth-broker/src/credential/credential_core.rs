//! What every interactive credential of this crate does with a request, whatever its
//! interactive step: the silent half ([`SilentTokens`]: the silent chain through the shared
//! single-flight cache), then one interactive sign-in at a time in the caller's own task; and
//! `authenticate`. [`InteractiveBrowserBrokerCredential`] and [`DeviceCodeCredential`] are
//! this with their own configuration and silent chain; [`SharedTokenCacheCredential`], which
//! never shows UI, is the silent half alone.
//!
//! [`InteractiveBrowserBrokerCredential`]: super::InteractiveBrowserBrokerCredential
//! [`DeviceCodeCredential`]: super::DeviceCodeCredential
//! [`SharedTokenCacheCredential`]: super::SharedTokenCacheCredential

use super::{
    authentication_record::AuthenticationRecord,
    broker_token_request_options::BrokerTokenRequestOptions,
    credential_config::CredentialConfig,
    interactive_sign_in::{sign_in_interactively, CacheCheck},
    silent_chain::SilentChain,
    silent_tokens::SilentTokens,
};
use crate::{
    error::{Error, ErrorKind, Result},
    oauth::AccessTokenInfo,
};
use azure_core::{
    credentials::{AccessToken, TokenRequestOptions},
    http::Context,
};
use std::{
    fmt,
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc,
    },
};

/// A credential's state and its way through a request; see the module documentation.
pub(crate) struct CredentialCore {
    /// The session, the silent chain and the in-memory cache it runs in.
    pub(crate) tokens: SilentTokens,
    /// At most one interactive sign-in (dialog, browser or device code) per credential.
    interactive: tokio::sync::Mutex<()>,
    /// Interactive sign-ins finished so far: a caller that queued behind one can tell that the
    /// silent steps may work now.
    sign_ins: AtomicU64,
}

impl CredentialCore {
    pub(crate) fn new(config: CredentialConfig, silent: SilentChain) -> Self {
        Self {
            tokens: SilentTokens::new(config, silent),
            interactive: tokio::sync::Mutex::new(()),
            sign_ins: AtomicU64::new(0),
        }
    }

    pub(crate) fn config(&self) -> &CredentialConfig {
        self.tokens.config()
    }

    /// A token: a fresh one from memory at once, else silently if any silent step has one,
    /// else (unless automatic authentication is disabled) through the interactive step.
    pub(crate) async fn get_token_info(
        &self,
        scopes: &[&str],
        options: BrokerTokenRequestOptions,
        context: &Context<'_>,
    ) -> Result<AccessTokenInfo> {
        if let Some(token) = self.tokens.fresh_if_plain(scopes, &options) {
            return Ok(token);
        }
        // The rest in a box of its own, so that a hit's future stays a few words: moving and
        // setting up the whole request's state was most of a hit's time.
        Box::pin(self.get_token_info_from_cache_or_sign_in(scopes, options, context)).await
    }

    async fn get_token_info_from_cache_or_sign_in(
        &self,
        scopes: &[&str],
        options: BrokerTokenRequestOptions,
        context: &Context<'_>,
    ) -> Result<AccessTokenInfo> {
        let plain = options.is_plain();
        let (request, key) = self.tokens.resolve(scopes, &options)?;
        let ui_allowed = !self.config().disable_automatic_authentication;

        let sign_ins_before = self.sign_ins.load(Ordering::SeqCst);
        match (self.tokens)
            .get_remembering(scopes, plain, &key, &request, context)
            .await
        {
            Err(e) if ui_allowed && e.kind() == ErrorKind::AuthenticationRequired => {}
            other => return other,
        }

        let _one_sign_in_at_a_time = self.interactive.lock().await;
        if self.sign_ins.load(Ordering::SeqCst) != sign_ins_before {
            // Another caller signed in while this one waited: its token or account may
            // answer this request without a second sign-in.
            match (self.tokens)
                .get_remembering(scopes, plain, &key, &request, context)
                .await
            {
                Err(e) if e.kind() == ErrorKind::AuthenticationRequired => {}
                other => return other,
            }
        }
        let sign_in = sign_in_interactively(
            &self.tokens.session,
            &request,
            context,
            CacheCheck::BestEffort,
        )
        .await?;
        self.sign_ins.fetch_add(1, Ordering::SeqCst);
        self.tokens.insert(&key, sign_in.token)
    }

    /// `get_token` of `azure_core`'s `TokenCredential`: the per-request options from the
    /// context, when a caller put them there.
    pub(crate) async fn get_token(
        &self,
        scopes: &[&str],
        options: Option<TokenRequestOptions<'_>>,
    ) -> azure_core::Result<AccessToken> {
        if let Some(token) = self.tokens.fresh_for_sdk(scopes, options.as_ref()) {
            return Ok(token.into());
        }
        let (request, context) = BrokerTokenRequestOptions::from_sdk(options);
        // The hit index was just looked up for these scopes: on to the cache, boxed as in
        // `get_token_info`.
        let token =
            Box::pin(self.get_token_info_from_cache_or_sign_in(scopes, request, &context)).await?;
        Ok(token.into())
    }

    /// Signs in interactively, always, and returns the account's record.
    pub(crate) async fn authenticate(
        &self,
        scopes: &[&str],
        options: Option<BrokerTokenRequestOptions>,
    ) -> Result<AuthenticationRecord> {
        let (request, key) = self.tokens.resolve(scopes, &options.unwrap_or_default())?;
        let _one_sign_in_at_a_time = self.interactive.lock().await;
        let sign_in = sign_in_interactively(
            &self.tokens.session,
            &request,
            &Context::new(),
            CacheCheck::Required,
        )
        .await?;
        self.sign_ins.fetch_add(1, Ordering::SeqCst);
        self.tokens.insert(&key, sign_in.token)?;
        if let Some(e) = sign_in.persist_error {
            return Err(e);
        }
        sign_in.record.map(Arc::unwrap_or_clone).ok_or_else(|| {
            Error::protocol(
                "the sign-in succeeded but the authority's answer did not identify the account \
                 (no usable client_info or id token), so there is no record to return",
            )
        })
    }
}

impl fmt::Debug for CredentialCore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let config = self.config();
        f.debug_struct("CredentialCore")
            .field("client_id", &config.client_id)
            .field("tenant_id", &config.tenant_id)
            .field("authority", &config.authority.to_string())
            .field("tokens", &self.tokens)
            .finish_non_exhaustive()
    }
}
