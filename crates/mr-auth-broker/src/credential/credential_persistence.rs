//! How the credential uses the persistent token cache: opened once per CAE mode, read for an
//! account's tokens, and given every token response of the browser flow. The token endpoint
//! only reports what it got; this is where a response becomes MSAL's cache entries (MSAL
//! Python's `on_obtaining_tokens` wired to `TokenCache.add`).

use super::{
    authentication_record::AuthenticationRecord, credential_config::EXPIRY_BUFFER,
    token_request::TokenRequest,
};
use crate::{
    error::Result,
    oauth::{AccessTokenInfo, RefreshToken, TokenResponse, TokenType},
    CacheWrite, EnvironmentSource, MsalTokenCache, PersistentTokenCache,
    TokenCachePersistenceOptions,
};
use azure_core::credentials::Secret;
use mr_auth_core::Clock;
use mr_auth_msal_cache::{AccessTokenSecret, IdTokenSecret, RefreshTokenSecret};
use std::{fmt, sync::Arc};
use time::OffsetDateTime;
use tokio::sync::OnceCell;

/// The credential's persistent caches (`<name>.nocae` and `<name>.cae`), opened on first use
/// (opening probes the Secret Service over D-Bus, so it cannot happen in `new`). A failure to
/// open is kept: the credential then runs from memory.
pub(crate) struct CredentialPersistence {
    options: TokenCachePersistenceOptions,
    environment: Arc<dyn EnvironmentSource>,
    /// Whose entries: the client id and the authority host's name (MSAL's `environment`).
    client_id: String,
    authority_name: String,
    clock: Arc<dyn Clock>,
    nocae: OnceCell<Result<PersistentTokenCache>>,
    cae: OnceCell<Result<PersistentTokenCache>>,
}

/// Who a token response's entries are for, and when it came: what MSAL's `TokenCache.add`
/// takes besides the response.
#[derive(Debug)]
pub(crate) struct WriteKeys<'a> {
    pub(crate) client_id: &'a str,
    pub(crate) environment: &'a str,
    /// The tenant as requested, as MSAL keys its entries (and looks them up).
    pub(crate) realm: &'a str,
    pub(crate) requested_scopes: &'a [String],
    /// `authorization_code`, the device code grant or `refresh_token`.
    pub(crate) grant_type: &'a str,
    pub(crate) now: OffsetDateTime,
}

impl CredentialPersistence {
    pub(crate) fn new(
        options: TokenCachePersistenceOptions,
        environment: Arc<dyn EnvironmentSource>,
        client_id: &str,
        authority_name: &str,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            options,
            environment,
            client_id: client_id.to_owned(),
            authority_name: authority_name.to_owned(),
            clock,
            nocae: OnceCell::new(),
            cae: OnceCell::new(),
        }
    }

    /// The cache of the CAE mode, or why it cannot be used.
    pub(crate) async fn cache(&self, cae: bool) -> Result<&PersistentTokenCache> {
        let cell = if cae { &self.cae } else { &self.nocae };
        let opened = cell
            .get_or_init(|| async {
                let opened = PersistentTokenCache::open_with_environment(&self.options, cae, &*self.environment)
                    .await
                    .map_err(crate::error::Error::from);
                match &opened {
                    Ok(cache) => tracing::debug!(cache = %cache.describe(), "persistent token cache opened"),
                    Err(e) => tracing::warn!(error = %e, "the persistent token cache cannot be used; tokens are kept in memory only"),
                }
                opened
            })
            .await;
        opened.as_ref().map_err(Clone::clone)
    }

    /// Whether the cache of the CAE mode can be read and written now, without waiting for its
    /// lock or changing it.
    pub(crate) async fn check(&self, cae: bool) -> Result<()> {
        let cache = self.cache(cae).await?;
        cache.check_access().await?;
        Ok(())
    }

    /// A Bearer access token of `account` for the request's scopes and tenant, valid beyond
    /// the expiry buffer. None for a claims challenge: cached access tokens do not answer one
    /// (MSAL skips them too).
    pub(crate) async fn access_token(
        &self,
        request: &TokenRequest,
        account: &AuthenticationRecord,
    ) -> Option<AccessTokenInfo> {
        if request.claims.is_some() {
            return None;
        }
        let document = self.document(request.enable_cae).await?;
        let realm = request.tenant.as_str().to_ascii_lowercase();
        let at = document.access_token(
            &self.client_id,
            account.home_account_id(),
            &self.authority_name,
            &realm,
            &request.scopes,
            self.clock.now() + EXPIRY_BUFFER,
        )?;
        (TokenType::parse(&at.token_type) == Some(TokenType::Bearer)).then(|| AccessTokenInfo {
            token: Secret::new(at.secret.secret().to_owned()),
            expires_on: at.expires_on,
            token_type: TokenType::Bearer,
            refresh_on: at.refresh_on,
        })
    }

    /// `account`'s refresh token for this client.
    pub(crate) async fn refresh_token(
        &self,
        request: &TokenRequest,
        account: &AuthenticationRecord,
    ) -> Option<RefreshToken> {
        let document = self.document(request.enable_cae).await?;
        document
            .refresh_token(
                &self.client_id,
                account.home_account_id(),
                &self.authority_name,
            )
            .map(|rt| RefreshToken::new(rt.secret().to_owned()))
    }

    /// Merges a token response into the cache, under its lock. Nothing is written when the
    /// response cannot be stored (a malformed `client_info`) or the stored document cannot be
    /// read.
    pub(crate) async fn store(
        &self,
        request: &TokenRequest,
        response: &TokenResponse,
        grant_type: &str,
    ) -> Result<()> {
        let realm = request.tenant.as_str().to_ascii_lowercase();
        let write = cache_write(
            response,
            &WriteKeys {
                client_id: &self.client_id,
                environment: &self.authority_name,
                realm: &realm,
                requested_scopes: &request.scopes,
                grant_type,
                now: self.clock.now(),
            },
        );
        // Check the response on an empty document first, so a bad one never reaches the store.
        MsalTokenCache::new().add(&write)?;
        let cache = self.cache(request.enable_cae).await?;
        cache.modify(|document| document.add(&write)).await??;
        tracing::debug!(cache = %cache.describe(), "token response stored in the persistent token cache");
        Ok(())
    }

    /// The stored document, or why it cannot be read: for a credential whose only source is
    /// this cache.
    pub(crate) async fn read(&self, cae: bool) -> Result<MsalTokenCache> {
        let cache = self.cache(cae).await?;
        Ok(cache.load().await?)
    }

    /// Where the cache of the CAE mode is, for messages (`None` when it cannot be opened).
    pub(crate) async fn describe(&self, cae: bool) -> Option<String> {
        self.cache(cae)
            .await
            .ok()
            .map(PersistentTokenCache::describe)
    }

    /// The stored document. A cache that cannot be read (no store, corrupt, locked) is a
    /// warning and `None`: the credential goes on from memory.
    async fn document(&self, cae: bool) -> Option<MsalTokenCache> {
        let cache = self.cache(cae).await.ok()?;
        match cache.load().await {
            Ok(document) => Some(document),
            Err(e) => {
                tracing::warn!(cache = %cache.describe(), error = %e, "the persistent token cache cannot be read; going on without it");
                None
            }
        }
    }
}

/// A token response as MSAL's `TokenCache.add` takes it: the granted `scope` when the response
/// has one, else the requested scopes.
pub(crate) fn cache_write(response: &TokenResponse, keys: &WriteKeys<'_>) -> CacheWrite {
    let details = &response.details;
    let scopes = match &details.scope {
        Some(granted) => granted.split_whitespace().map(str::to_owned).collect(),
        None => keys.requested_scopes.to_vec(),
    };
    CacheWrite {
        client_id: keys.client_id.to_owned(),
        environment: keys.environment.to_owned(),
        realm: keys.realm.to_owned(),
        scopes,
        access_token: Some(AccessTokenSecret::new(response.token.token.secret())),
        token_type: Some(response.token.token_type.scheme().to_owned()),
        expires_in: details.expires_in,
        ext_expires_in: details.ext_expires_in,
        refresh_in: details.refresh_in,
        refresh_token: response
            .refresh_token
            .as_ref()
            .map(|rt| RefreshTokenSecret::new(rt.secret())),
        id_token: details.id_token.as_deref().map(IdTokenSecret::new),
        client_info: details.client_info.clone(),
        grant_type: Some(keys.grant_type.to_owned()),
        family_id: details.family_id.clone(),
        now: Some(keys.now),
    }
}

/// What the credential does with a token response (the `fuzzing` feature): its account
/// record, and its entries in a token cache, which must read back.
#[cfg(feature = "fuzzing")]
pub(crate) fn fuzz_token_response(response: &TokenResponse, now: OffsetDateTime) {
    let client_id = crate::oauth::ClientId::default();
    let tenant = crate::oauth::TenantId::default();
    let details = &response.details;
    let _ = AuthenticationRecord::from_token_response(
        "login.microsoftonline.com",
        &client_id,
        details.client_info.as_deref(),
        &details.id_token_account,
        &tenant,
    );
    let write = cache_write(
        response,
        &WriteKeys {
            client_id: client_id.as_str(),
            environment: "login.microsoftonline.com",
            realm: tenant.as_str(),
            requested_scopes: &["s".to_owned()],
            grant_type: "authorization_code",
            now,
        },
    );
    let mut cache = MsalTokenCache::new();
    if cache.add(&write).is_ok() {
        MsalTokenCache::from_slice(&cache.to_vec())
            .unwrap_or_else(|e| panic!("a cache this crate wrote does not parse: {e}"));
    }
}

impl fmt::Debug for CredentialPersistence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CredentialPersistence")
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_response_becomes_msals_add_input() {
        let clock = mr_auth_core::ManualClock::at_fixed_start();
        let keys = |requested: &'static [String]| WriteKeys {
            client_id: "c",
            environment: "login.example.com",
            realm: "organizations",
            requested_scopes: requested,
            grant_type: "refresh_token",
            now: clock.now(),
        };
        static REQUESTED: std::sync::LazyLock<Vec<String>> =
            std::sync::LazyLock::new(|| vec!["r".to_owned()]);
        let granted = TokenResponse::from_json(
            &clock,
            200,
            br#"{"access_token":"at","expires_in":60,"ext_expires_in":120,"refresh_token":"rt","scope":"a b","client_info":"ci","foci":"1"}"#,
        )
        .unwrap();
        let write = cache_write(&granted, &keys(&REQUESTED));
        assert_eq!(write.scopes, ["a", "b"], "the granted scopes win");
        assert_eq!(
            write.access_token.as_ref().map(AccessTokenSecret::secret),
            Some("at")
        );
        assert_eq!(
            write.refresh_token.as_ref().map(RefreshTokenSecret::secret),
            Some("rt")
        );
        assert_eq!((write.expires_in, write.ext_expires_in), (60, Some(120)));
        assert_eq!(write.token_type.as_deref(), Some("Bearer"));
        assert_eq!(write.client_info.as_deref(), Some("ci"));
        assert_eq!(write.grant_type.as_deref(), Some("refresh_token"));
        assert_eq!(write.family_id.as_deref(), Some("1"));
        assert_eq!(
            (write.realm.as_str(), write.environment.as_str()),
            ("organizations", "login.example.com")
        );
        assert_eq!(write.now, Some(clock.now()));
        let bare =
            TokenResponse::from_json(&clock, 200, br#"{"access_token":"at","expires_in":60}"#)
                .unwrap();
        assert_eq!(cache_write(&bare, &keys(&REQUESTED)).scopes, ["r"]);
    }
}
