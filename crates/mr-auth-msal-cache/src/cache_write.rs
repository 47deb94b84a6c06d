use crate::{AccessTokenSecret, ClientInfo, IdTokenSecret, RefreshTokenSecret, Result};
use serde_json::{Map, Value};
use std::fmt;
use time::OffsetDateTime;

/// What a successful token response puts into the cache, as MSAL's `TokenCache.add` takes it:
/// give it to [`MsalTokenCache::add`](crate::MsalTokenCache::add).
///
/// Fill in what the response had and leave the rest at its default:
///
/// ```
/// use mr_auth_msal_cache::{CacheWrite, RefreshTokenSecret};
///
/// let write = CacheWrite {
///     client_id: "04b07795-8ddb-461a-bbee-02f9e1bf7b46".to_owned(),
///     environment: "login.microsoftonline.com".to_owned(),
///     refresh_token: Some(RefreshTokenSecret::new("rt")),
///     // {"uid":"u-1","utid":"t-1"}
///     client_info: Some("eyJ1aWQiOiJ1LTEiLCJ1dGlkIjoidC0xIn0".to_owned()),
///     ..Default::default()
/// };
/// # let _ = write;
/// ```
#[derive(Clone, Default)]
pub struct CacheWrite {
    /// The app registration that got the tokens.
    pub client_id: String,
    /// The authority host, e.g. `login.microsoftonline.com` (stored lower-cased).
    pub environment: String,
    /// The tenant the tokens were issued in (the `utid` of `client_info` when empty).
    pub realm: String,
    /// The scopes granted (the response's `scope`, else the scopes requested).
    pub scopes: Vec<String>,
    /// The access token.
    pub access_token: Option<AccessTokenSecret>,
    /// The token type from the response (`Bearer` when absent).
    pub token_type: Option<String>,
    /// `expires_in`, seconds.
    pub expires_in: i64,
    /// `ext_expires_in`, seconds, when given.
    pub ext_expires_in: Option<i64>,
    /// `refresh_in`, seconds, when given.
    pub refresh_in: Option<i64>,
    /// The refresh token.
    pub refresh_token: Option<RefreshTokenSecret>,
    /// The id token (a JWT).
    pub id_token: Option<IdTokenSecret>,
    /// The response's `client_info` (base64url JSON with `uid` and `utid`).
    pub client_info: Option<String>,
    /// The grant that got the tokens (`authorization_code`, `refresh_token`...).
    pub grant_type: Option<String>,
    /// The response's `foci` (the app's family of client ids, `"1"` for Microsoft's first-party
    /// family), when given: MSAL stores it as the refresh token's and the app's `family_id`, and
    /// azure-identity's `SharedTokenCacheCredential` lists only accounts whose refresh token has
    /// one.
    pub family_id: Option<String>,
    /// Now, for `cached_at` and the expiry times (the Unix epoch when `None`).
    pub now: Option<OffsetDateTime>,
}

impl fmt::Debug for CacheWrite {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CacheWrite")
            .field("client_id", &self.client_id)
            .field("environment", &self.environment)
            .field("realm", &self.realm)
            .field("scopes", &self.scopes)
            .field("has_access_token", &self.access_token.is_some())
            .field("has_refresh_token", &self.refresh_token.is_some())
            .field("has_id_token", &self.id_token.is_some())
            .field("family_id", &self.family_id)
            .finish_non_exhaustive()
    }
}

/// A [`CacheWrite`] with what its entries are made of worked out once: the account's ids, the
/// realm, the sorted scopes, the time.
pub(crate) struct ResolvedWrite<'a> {
    pub(crate) write: &'a CacheWrite,
    /// The authority host, lower-cased.
    pub(crate) environment: String,
    /// `<uid>.<utid>` from `client_info`, else the id token's `sub`; `None` when the response
    /// names no account.
    pub(crate) home_account_id: Option<String>,
    /// Whether `client_info` named the account (only then is an `Account` entry written).
    pub(crate) has_client_info: bool,
    /// The write's realm, else the home tenant of `client_info`.
    pub(crate) realm: String,
    /// The scopes, sorted, without duplicates, space-separated.
    pub(crate) target: String,
    /// Unix seconds.
    pub(crate) now: i64,
    /// The id token's claims (empty without a readable id token).
    pub(crate) claims: Map<String, Value>,
}

impl CacheWrite {
    /// # Errors
    ///
    /// [`ErrorKind::Protocol`](crate::ErrorKind::Protocol) for a `client_info` that is not
    /// the authority's.
    pub(crate) fn resolve(&self) -> Result<ResolvedWrite<'_>> {
        let client_info = self
            .client_info
            .as_deref()
            .map(ClientInfo::decode)
            .transpose()?;
        let claims = self
            .id_token
            .as_ref()
            .and_then(|t| mr_auth_core::decode_jwt_parts_unverified(t.secret()).ok())
            .map(|parts| parts.claims)
            .unwrap_or_default();
        let home_account_id = match &client_info {
            Some(info) => Some(info.home_account_id()),
            None => claims.get("sub").and_then(Value::as_str).map(str::to_owned),
        };
        let realm = match &client_info {
            Some(info) if self.realm.is_empty() => info.utid().to_owned(),
            _ => self.realm.clone(),
        };
        let mut scopes: Vec<&str> = self.scopes.iter().map(String::as_str).collect();
        scopes.sort_unstable();
        scopes.dedup();
        Ok(ResolvedWrite {
            write: self,
            environment: self.environment.to_ascii_lowercase(),
            home_account_id,
            has_client_info: client_info.is_some(),
            realm,
            target: scopes.join(" "),
            now: self
                .now
                .unwrap_or(OffsetDateTime::UNIX_EPOCH)
                .unix_timestamp(),
            claims,
        })
    }
}

impl ResolvedWrite<'_> {
    /// `family_id` as MSAL adds it to the refresh token and app metadata entries: only when
    /// the response had one, so that a write without it keeps what an earlier one stored.
    pub(crate) fn family_fields(&self) -> Map<String, Value> {
        let mut fields = Map::new();
        if let Some(family) = &self.write.family_id {
            fields.insert("family_id".to_owned(), Value::String(family.clone()));
        }
        fields
    }

    /// The first of the id token's string claims `names` that is present.
    pub(crate) fn claim(&self, names: &[&str]) -> Option<&str> {
        names
            .iter()
            .find_map(|name| self.claims.get(*name).and_then(Value::as_str))
    }
}
