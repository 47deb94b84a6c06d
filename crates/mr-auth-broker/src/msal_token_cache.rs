use crate::{Error, ErrorKind, Result};
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine as _};
use serde::Deserialize;
use serde_json::{Map, Value};
use std::{collections::BTreeSet, fmt};
use time::OffsetDateTime;
use zeroize::Zeroizing;

/// The largest cache document [`MsalTokenCache::from_slice`] reads, in bytes. A cache with a
/// few hundred accounts stays far below it; a larger file is not something MSAL wrote.
pub const MAX_CACHE_BYTES: usize = 16 * 1024 * 1024;

const ACCESS_TOKEN: &str = "AccessToken";
const REFRESH_TOKEN: &str = "RefreshToken";
const ID_TOKEN: &str = "IdToken";
const ACCOUNT: &str = "Account";
const APP_METADATA: &str = "AppMetadata";
const SECTIONS: [&str; 5] = [ACCESS_TOKEN, REFRESH_TOKEN, ID_TOKEN, ACCOUNT, APP_METADATA];

/// Host names of the public cloud's authority that MSAL treats as one environment.
const PUBLIC_CLOUD_ALIASES: [&str; 4] = [
    "login.microsoftonline.com",
    "login.windows.net",
    "login.microsoft.com",
    "sts.windows.net",
];

/// A token cache in MSAL's unified schema: the JSON document that MSAL for Python, .NET, Java
/// and Node (and their `msal-extensions` persistence) read and write, with the sections
/// `AccessToken`, `RefreshToken`, `IdToken`, `Account` and `AppMetadata`, each a map from
/// MSAL's lower-cased key (`<homeAccountId>-<environment>-<credentialtype>-<clientId>-<realm>-<target>`)
/// to an entry.
///
/// Everything this type does not understand is kept as it was: other sections, other fields
/// of an entry, entries of other apps and entries that do not parse. Such an entry is skipped
/// for look-ups (and counted in [`skipped_entries`](Self::skipped_entries)), so one bad entry
/// never hides the good ones, and writing the cache back loses nothing another app stored.
///
/// The cache holds secrets (refresh and access tokens): its `Debug` shows counts only and
/// [`to_vec`](Self::to_vec) hands the bytes out in a buffer that is zeroized on drop.
#[derive(Clone, Default)]
pub struct MsalTokenCache {
    root: Map<String, Value>,
    skipped: usize,
}

/// An account found in the cache.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct CachedAccount {
    /// `<object id>.<home tenant id>`.
    pub home_account_id: String,
    /// The authority host the account signed in at.
    pub environment: String,
    /// The tenant of this entry.
    pub realm: String,
    /// The user name (may be empty: MSAL's schema does not allow null).
    pub username: String,
    /// The account's object id in `realm`.
    pub local_account_id: String,
}

/// An access token found in the cache.
#[derive(Clone)]
#[non_exhaustive]
pub struct CachedAccessToken {
    /// The token.
    pub secret: Zeroizing<String>,
    /// `Bearer` unless the entry says otherwise.
    pub token_type: String,
    /// When the token expires.
    pub expires_on: OffsetDateTime,
    /// When MSAL would refresh it ahead of expiry, when the authority said (`refresh_in`).
    pub refresh_on: Option<OffsetDateTime>,
}

impl fmt::Debug for CachedAccessToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CachedAccessToken")
            .field("secret", &"<redacted>")
            .field("token_type", &self.token_type)
            .field("expires_on", &self.expires_on)
            .field("refresh_on", &self.refresh_on)
            .finish()
    }
}

/// What a successful token response puts into the cache (MSAL's `TokenCache.add`).
#[derive(Clone, Default)]
#[non_exhaustive]
pub struct CacheWrite {
    /// The app registration that got the tokens.
    pub client_id: String,
    /// The authority host, e.g. `login.microsoftonline.com`.
    pub environment: String,
    /// The tenant the tokens were issued in (the `utid` of `client_info` when not given).
    pub realm: String,
    /// The scopes granted (the response's `scope`, else the scopes requested).
    pub scopes: Vec<String>,
    /// The access token.
    pub access_token: Option<Zeroizing<String>>,
    /// The token type from the response (`Bearer` when absent).
    pub token_type: Option<String>,
    /// `expires_in`, seconds.
    pub expires_in: i64,
    /// `ext_expires_in`, seconds, when given.
    pub ext_expires_in: Option<i64>,
    /// `refresh_in`, seconds, when given.
    pub refresh_in: Option<i64>,
    /// The refresh token.
    pub refresh_token: Option<Zeroizing<String>>,
    /// The id token (a JWT).
    pub id_token: Option<Zeroizing<String>>,
    /// The response's `client_info` (base64url JSON with `uid` and `utid`).
    pub client_info: Option<String>,
    /// The grant that got the tokens (`authorization_code`, `refresh_token`...).
    pub grant_type: Option<String>,
    /// Now, for `cached_at` and the expiry times.
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
            .finish_non_exhaustive()
    }
}

#[derive(Deserialize)]
struct AccessTokenEntry {
    home_account_id: String,
    environment: String,
    client_id: String,
    #[serde(default)]
    realm: String,
    #[serde(default)]
    target: String,
    secret: String,
    expires_on: StringOrNumber,
    #[serde(default)]
    refresh_on: Option<StringOrNumber>,
    #[serde(default)]
    token_type: Option<String>,
}

#[derive(Deserialize)]
struct RefreshTokenEntry {
    home_account_id: String,
    environment: String,
    client_id: String,
    secret: String,
    #[serde(default)]
    last_modification_time: Option<StringOrNumber>,
}

#[derive(Deserialize)]
struct AccountEntry {
    home_account_id: String,
    environment: String,
    #[serde(default)]
    realm: String,
    #[serde(default)]
    username: String,
    #[serde(default)]
    local_account_id: String,
}

#[derive(Deserialize)]
struct CredentialEntry {
    #[serde(default)]
    home_account_id: String,
    #[serde(default)]
    client_id: String,
}

/// MSAL writes times as strings of Unix seconds; some other SDKs as numbers.
#[derive(Deserialize)]
#[serde(untagged)]
enum StringOrNumber {
    String(String),
    Number(i64),
}

impl StringOrNumber {
    fn time(&self) -> Option<OffsetDateTime> {
        let seconds = match self {
            Self::String(s) => s.trim().parse().ok()?,
            Self::Number(n) => *n,
        };
        OffsetDateTime::from_unix_timestamp(seconds).ok()
    }
}

impl MsalTokenCache {
    /// An empty cache.
    pub fn new() -> Self {
        Self::default()
    }

    /// Reads a cache document. An empty document (a cache file that was created but never
    /// written) is an empty cache.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::PersistentCache`] when the bytes are not a JSON object (a corrupt,
    /// truncated or foreign file), or larger than [`MAX_CACHE_BYTES`]. The caller must then not
    /// overwrite the file blindly: it may hold another app's tokens.
    pub fn from_slice(bytes: &[u8]) -> Result<Self> {
        if bytes.len() > MAX_CACHE_BYTES {
            return Err(Error::new(
                ErrorKind::PersistentCache,
                format!(
                    "the token cache is {} bytes, more than the {MAX_CACHE_BYTES} an MSAL cache can be; \
                     it was left as it is",
                    bytes.len()
                ),
            ));
        }
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(Self::new());
        }
        let root: Map<String, Value> = serde_json::from_slice(bytes).map_err(|e| {
            Error::new(
                ErrorKind::PersistentCache,
                format!(
                    "the token cache is not an MSAL cache document (a JSON object): {e}; it was left \
                     as it is, so sign-in state is not shared until it is repaired or removed"
                ),
            )
        })?;
        let mut cache = Self { root, skipped: 0 };
        cache.skipped = cache.count_unreadable();
        Ok(cache)
    }

    /// The cache as MSAL writes it (JSON), in a buffer zeroized on drop.
    pub fn to_vec(&self) -> Zeroizing<Vec<u8>> {
        let mut out = Zeroizing::new(Vec::with_capacity(4096));
        // Writing a `Map` of JSON values into a Vec cannot fail.
        let _ = serde_json::to_writer_pretty(&mut *out, &self.root);
        out
    }

    /// How many entries of the known sections could not be read and were skipped for look-ups
    /// (they are kept when the cache is written back).
    pub fn skipped_entries(&self) -> usize {
        self.skipped
    }

    /// Whether the cache holds no entry in any of MSAL's sections.
    pub fn is_empty(&self) -> bool {
        SECTIONS
            .iter()
            .all(|s| self.section(s).is_none_or(Map::is_empty))
    }

    /// The accounts in the cache that `client_id` holds a refresh token for (every account
    /// when `client_id` is `None`), one per home account and environment.
    pub fn accounts(&self, client_id: Option<&str>) -> Vec<CachedAccount> {
        let mut seen = BTreeSet::new();
        let mut out = Vec::new();
        for entry in self.entries::<AccountEntry>(ACCOUNT) {
            if let Some(client_id) = client_id {
                let has_rt = self.entries::<RefreshTokenEntry>(REFRESH_TOKEN).any(|rt| {
                    rt.client_id.eq_ignore_ascii_case(client_id)
                        && rt
                            .home_account_id
                            .eq_ignore_ascii_case(&entry.home_account_id)
                        && same_environment(&rt.environment, &entry.environment)
                });
                if !has_rt {
                    continue;
                }
            }
            let key = (
                entry.home_account_id.to_ascii_lowercase(),
                entry.environment.to_ascii_lowercase(),
            );
            if seen.insert(key) {
                out.push(CachedAccount {
                    home_account_id: entry.home_account_id,
                    environment: entry.environment,
                    realm: entry.realm,
                    username: entry.username,
                    local_account_id: entry.local_account_id,
                });
            }
        }
        out
    }

    /// The refresh token `client_id` holds for the account, the most recently written first
    /// when there are several (refresh tokens are cross-tenant in Entra ID).
    pub fn refresh_token(
        &self,
        client_id: &str,
        home_account_id: &str,
        environment: &str,
    ) -> Option<Zeroizing<String>> {
        self.entries::<RefreshTokenEntry>(REFRESH_TOKEN)
            .filter(|rt| {
                rt.client_id.eq_ignore_ascii_case(client_id)
                    && rt.home_account_id.eq_ignore_ascii_case(home_account_id)
                    && same_environment(&rt.environment, environment)
                    && !rt.secret.is_empty()
            })
            .max_by_key(|rt| {
                rt.last_modification_time
                    .as_ref()
                    .and_then(StringOrNumber::time)
                    .map_or(i64::MIN, OffsetDateTime::unix_timestamp)
            })
            .map(|rt| Zeroizing::new(rt.secret))
    }

    /// An access token for every scope in `scopes` (MSAL matches a superset of the scopes), in
    /// `realm`, that has not expired at `now`.
    pub fn access_token(
        &self,
        client_id: &str,
        home_account_id: &str,
        environment: &str,
        realm: &str,
        scopes: &[String],
        now: OffsetDateTime,
    ) -> Option<CachedAccessToken> {
        let wanted: BTreeSet<String> = scopes.iter().map(|s| s.to_ascii_lowercase()).collect();
        self.entries::<AccessTokenEntry>(ACCESS_TOKEN)
            .filter(|at| {
                at.client_id.eq_ignore_ascii_case(client_id)
                    && at.home_account_id.eq_ignore_ascii_case(home_account_id)
                    && same_environment(&at.environment, environment)
                    && at.realm.eq_ignore_ascii_case(realm)
                    && !at.secret.is_empty()
            })
            .filter(|at| {
                let have: BTreeSet<String> = at
                    .target
                    .split_whitespace()
                    .map(str::to_ascii_lowercase)
                    .collect();
                wanted.is_subset(&have)
            })
            .filter_map(|at| {
                let expires_on = at.expires_on.time()?;
                (expires_on > now).then(|| CachedAccessToken {
                    secret: Zeroizing::new(at.secret),
                    token_type: at.token_type.unwrap_or_else(|| "Bearer".to_owned()),
                    expires_on,
                    refresh_on: at.refresh_on.as_ref().and_then(StringOrNumber::time),
                })
            })
            .max_by_key(|at| at.expires_on)
    }

    /// Adds what a token response brought, as MSAL's `TokenCache.add` does: the access token,
    /// the account and id token (when `client_info` identifies the account), the refresh token
    /// and the app's metadata. Returns the home account id, `None` when the response did not
    /// identify an account (then only the app metadata is written).
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Protocol`] when `client_info` is present but not MSAL's base64url JSON.
    pub fn add(&mut self, write: &CacheWrite) -> Result<Option<String>> {
        let now = write
            .now
            .unwrap_or(OffsetDateTime::UNIX_EPOCH)
            .unix_timestamp();
        let environment = write.environment.to_ascii_lowercase();
        let client_info = write
            .client_info
            .as_deref()
            .map(parse_client_info)
            .transpose()?;
        let claims = write
            .id_token
            .as_deref()
            .and_then(|t| mr_auth_core::decode_jwt_parts_unverified(t).ok())
            .map(|parts| parts.claims)
            .unwrap_or_default();
        let home_account_id = match &client_info {
            Some((uid, utid)) => Some(format!("{uid}.{utid}")),
            None => claims.get("sub").and_then(Value::as_str).map(str::to_owned),
        };
        let realm = if write.realm.is_empty() {
            client_info
                .as_ref()
                .map(|(_, utid)| utid.clone())
                .unwrap_or_default()
        } else {
            write.realm.clone()
        };
        let mut scopes: Vec<&str> = write.scopes.iter().map(String::as_str).collect();
        scopes.sort_unstable();
        scopes.dedup();
        let target = scopes.join(" ");
        let Some(home) = home_account_id.clone() else {
            self.put_app_metadata(&environment, &write.client_id);
            return Ok(None);
        };

        if let Some(secret) = &write.access_token {
            let mut at = Map::new();
            at.insert("credential_type".into(), ACCESS_TOKEN.into());
            at.insert("secret".into(), secret.as_str().into());
            at.insert("home_account_id".into(), home.as_str().into());
            at.insert("environment".into(), environment.as_str().into());
            at.insert("client_id".into(), write.client_id.as_str().into());
            at.insert("target".into(), target.as_str().into());
            at.insert("realm".into(), realm.as_str().into());
            at.insert(
                "token_type".into(),
                write.token_type.as_deref().unwrap_or("Bearer").into(),
            );
            at.insert("cached_at".into(), now.to_string().into());
            at.insert(
                "expires_on".into(),
                now.saturating_add(write.expires_in).to_string().into(),
            );
            at.insert(
                "extended_expires_on".into(),
                now.saturating_add(write.ext_expires_in.unwrap_or(write.expires_in))
                    .to_string()
                    .into(),
            );
            if let Some(refresh_in) = write.refresh_in {
                at.insert(
                    "refresh_on".into(),
                    now.saturating_add(refresh_in).to_string().into(),
                );
            }
            let key = credential_key(
                &home,
                &environment,
                ACCESS_TOKEN,
                &write.client_id,
                &realm,
                &target,
            );
            self.put(ACCESS_TOKEN, key, at);
        }

        if client_info.is_some() {
            let mut account = Map::new();
            account.insert("home_account_id".into(), home.as_str().into());
            account.insert("environment".into(), environment.as_str().into());
            account.insert("realm".into(), realm.as_str().into());
            let local = claims
                .get("oid")
                .or_else(|| claims.get("sub"))
                .and_then(Value::as_str)
                .unwrap_or_default();
            account.insert("local_account_id".into(), local.into());
            let username = ["preferred_username", "upn", "email"]
                .iter()
                .find_map(|c| claims.get(*c).and_then(Value::as_str))
                .unwrap_or_default();
            account.insert("username".into(), username.into());
            account.insert("authority_type".into(), "MSSTS".into());
            if let Some(grant) = write
                .grant_type
                .as_deref()
                .filter(|g| *g == "authorization_code")
            {
                account.insert("account_source".into(), grant.into());
            }
            let key = [home.as_str(), &environment, &realm]
                .join("-")
                .to_ascii_lowercase();
            self.put(ACCOUNT, key, account);
        }

        if let Some(secret) = &write.id_token {
            let mut idt = Map::new();
            idt.insert("credential_type".into(), ID_TOKEN.into());
            idt.insert("secret".into(), secret.as_str().into());
            idt.insert("home_account_id".into(), home.as_str().into());
            idt.insert("environment".into(), environment.as_str().into());
            idt.insert("realm".into(), realm.as_str().into());
            idt.insert("client_id".into(), write.client_id.as_str().into());
            let key = credential_key(&home, &environment, ID_TOKEN, &write.client_id, &realm, "");
            self.put(ID_TOKEN, key, idt);
        }

        if let Some(secret) = &write.refresh_token {
            let mut rt = Map::new();
            rt.insert("credential_type".into(), REFRESH_TOKEN.into());
            rt.insert("secret".into(), secret.as_str().into());
            rt.insert("home_account_id".into(), home.as_str().into());
            rt.insert("environment".into(), environment.as_str().into());
            rt.insert("client_id".into(), write.client_id.as_str().into());
            rt.insert("target".into(), target.as_str().into());
            rt.insert("last_modification_time".into(), now.to_string().into());
            // Refresh tokens are cross-tenant: the realm part of the key is empty.
            let key = credential_key(
                &home,
                &environment,
                REFRESH_TOKEN,
                &write.client_id,
                "",
                &target,
            );
            // One refresh token per account and app: a newer one replaces older ones stored
            // under other targets, as the authority rotates them.
            self.remove_where(REFRESH_TOKEN, |e: &CredentialEntry| {
                e.client_id.eq_ignore_ascii_case(&write.client_id)
                    && e.home_account_id.eq_ignore_ascii_case(&home)
            });
            self.put(REFRESH_TOKEN, key, rt);
        }

        self.put_app_metadata(&environment, &write.client_id);
        Ok(home_account_id)
    }

    /// Removes `client_id`'s tokens (access, refresh and id tokens) for the account, or for
    /// every account when `home_account_id` is `None`, and any account entry no app holds a
    /// token for any more. Other apps' entries stay. Returns how many entries were removed.
    pub fn remove_client_tokens(
        &mut self,
        client_id: &str,
        home_account_id: Option<&str>,
    ) -> usize {
        let matches = |e: &CredentialEntry| {
            e.client_id.eq_ignore_ascii_case(client_id)
                && home_account_id.is_none_or(|h| e.home_account_id.eq_ignore_ascii_case(h))
        };
        let mut removed = 0;
        for section in [ACCESS_TOKEN, REFRESH_TOKEN, ID_TOKEN] {
            removed += self.remove_where(section, matches);
        }
        // Accounts left without any credential of any app go too.
        let still_used: BTreeSet<String> = [ACCESS_TOKEN, REFRESH_TOKEN, ID_TOKEN]
            .iter()
            .flat_map(|s| self.entries::<CredentialEntry>(s))
            .map(|e| e.home_account_id.to_ascii_lowercase())
            .collect();
        removed += self.remove_where(ACCOUNT, |e: &AccountEntry| {
            !still_used.contains(&e.home_account_id.to_ascii_lowercase())
                && home_account_id.is_none_or(|h| e.home_account_id.eq_ignore_ascii_case(h))
        });
        removed
    }

    fn section(&self, name: &str) -> Option<&Map<String, Value>> {
        self.root.get(name).and_then(Value::as_object)
    }

    fn section_mut(&mut self, name: &str) -> &mut Map<String, Value> {
        let slot = self
            .root
            .entry(name.to_owned())
            .or_insert_with(|| Value::Object(Map::new()));
        if !slot.is_object() {
            // A section that is not a map cannot hold entries; MSAL would replace it too.
            *slot = Value::Object(Map::new());
        }
        match slot {
            Value::Object(map) => map,
            _ => unreachable!("the slot was just made an object"),
        }
    }

    fn entries<'a, T: serde::de::DeserializeOwned + 'a>(
        &'a self,
        section: &str,
    ) -> impl Iterator<Item = T> + 'a {
        self.section(section)
            .into_iter()
            .flat_map(Map::values)
            .filter_map(|v| T::deserialize(v).ok())
    }

    fn count_unreadable(&self) -> usize {
        let bad = |section: &str, ok: fn(&Value) -> bool| match self.root.get(section) {
            None => 0,
            Some(Value::Object(map)) => map.values().filter(|v| !ok(v)).count(),
            Some(_) => 1,
        };
        bad(ACCESS_TOKEN, |v| AccessTokenEntry::deserialize(v).is_ok())
            + bad(REFRESH_TOKEN, |v| RefreshTokenEntry::deserialize(v).is_ok())
            + bad(ID_TOKEN, |v| CredentialEntry::deserialize(v).is_ok())
            + bad(ACCOUNT, |v| AccountEntry::deserialize(v).is_ok())
            + bad(APP_METADATA, Value::is_object)
    }

    fn put(&mut self, section: &str, key: String, entry: Map<String, Value>) {
        // Keep fields other SDKs added to an existing entry, as MSAL's `modify` does.
        let map = self.section_mut(section);
        match map.get_mut(&key) {
            Some(Value::Object(existing)) => existing.extend(entry),
            _ => {
                map.insert(key, Value::Object(entry));
            }
        }
    }

    fn put_app_metadata(&mut self, environment: &str, client_id: &str) {
        let mut meta = Map::new();
        meta.insert("client_id".into(), client_id.into());
        meta.insert("environment".into(), environment.into());
        self.put(
            APP_METADATA,
            format!("appmetadata-{environment}-{client_id}"),
            meta,
        );
    }

    fn remove_where<T: serde::de::DeserializeOwned>(
        &mut self,
        section: &str,
        predicate: impl Fn(&T) -> bool,
    ) -> usize {
        let Some(Value::Object(map)) = self.root.get_mut(section) else {
            return 0;
        };
        let before = map.len();
        map.retain(|_, v| T::deserialize(&*v).map_or(true, |e| !predicate(&e)));
        before - map.len()
    }
}

impl fmt::Debug for MsalTokenCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let count = |s: &str| self.section(s).map_or(0, Map::len);
        f.debug_struct("MsalTokenCache")
            .field("access_tokens", &count(ACCESS_TOKEN))
            .field("refresh_tokens", &count(REFRESH_TOKEN))
            .field("id_tokens", &count(ID_TOKEN))
            .field("accounts", &count(ACCOUNT))
            .field("skipped_entries", &self.skipped)
            .finish_non_exhaustive()
    }
}

/// MSAL's key for a credential entry, lower-cased as MSAL writes it.
fn credential_key(
    home_account_id: &str,
    environment: &str,
    credential_type: &str,
    client_id: &str,
    realm: &str,
    target: &str,
) -> String {
    [
        home_account_id,
        environment,
        credential_type,
        client_id,
        realm,
        target,
    ]
    .join("-")
    .to_ascii_lowercase()
}

/// Whether two authority hosts are one environment (equal, or both public-cloud aliases).
pub(crate) fn same_environment(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b)
        || (PUBLIC_CLOUD_ALIASES
            .iter()
            .any(|h| h.eq_ignore_ascii_case(a))
            && PUBLIC_CLOUD_ALIASES
                .iter()
                .any(|h| h.eq_ignore_ascii_case(b)))
}

/// `(uid, utid)` from a `client_info` value: base64url JSON `{"uid":"...","utid":"..."}`.
pub(crate) fn parse_client_info(client_info: &str) -> Result<(String, String)> {
    #[derive(Deserialize)]
    struct ClientInfo {
        uid: String,
        utid: String,
    }
    let bad = |why: String| Error::protocol(format!("the authority's client_info {why}"));
    if client_info.len() > 4096 {
        return Err(bad("is too long".to_owned()));
    }
    let bytes = URL_SAFE_NO_PAD
        .decode(client_info.trim_end_matches('='))
        .map_err(|e| bad(format!("is not base64url: {e}")))?;
    let info: ClientInfo = serde_json::from_slice(&bytes)
        .map_err(|e| bad(format!("is not JSON with uid and utid: {e}")))?;
    let ok = |s: &str| {
        !s.is_empty()
            && s.len() <= 128
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    };
    if ok(&info.uid) && ok(&info.utid) {
        Ok((info.uid, info.utid))
    } else {
        Err(bad("has a uid or utid that is not an id".to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CLIENT: &str = "04b07795-8ddb-461a-bbee-02f9e1bf7b46";
    const OTHER_CLIENT: &str = "11111111-2222-3333-4444-555555555555";
    const UID: &str = "00000000-0000-0000-0000-000000000001";
    const UTID: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";

    fn client_info() -> String {
        URL_SAFE_NO_PAD.encode(format!(r#"{{"uid":"{UID}","utid":"{UTID}"}}"#))
    }

    fn id_token() -> String {
        let header = URL_SAFE_NO_PAD.encode(r#"{"alg":"none"}"#);
        let claims = URL_SAFE_NO_PAD.encode(format!(
            r#"{{"oid":"{UID}","sub":"s","tid":"{UTID}","preferred_username":"user@contoso.com","exp":4000000000}}"#
        ));
        format!("{header}.{claims}.")
    }

    fn write(client_id: &str, now: i64) -> CacheWrite {
        CacheWrite {
            client_id: client_id.to_owned(),
            environment: "login.microsoftonline.com".to_owned(),
            realm: UTID.to_owned(),
            scopes: vec![
                "https://storage.azure.com/user_impersonation".to_owned(),
                "https://storage.azure.com/.default".to_owned(),
            ],
            access_token: Some(Zeroizing::new(format!("at-{client_id}-{now}"))),
            token_type: Some("Bearer".to_owned()),
            expires_in: 3600,
            ext_expires_in: None,
            refresh_in: Some(1800),
            refresh_token: Some(Zeroizing::new(format!("rt-{client_id}-{now}"))),
            id_token: Some(Zeroizing::new(id_token())),
            client_info: Some(client_info()),
            grant_type: Some("authorization_code".to_owned()),
            now: Some(OffsetDateTime::from_unix_timestamp(now).unwrap()),
        }
    }

    fn at(seconds: i64) -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(seconds).unwrap()
    }

    #[test]
    fn add_writes_msal_keys_and_fields() {
        let mut cache = MsalTokenCache::new();
        let home = cache.add(&write(CLIENT, 1000)).unwrap().unwrap();
        assert_eq!(home, format!("{UID}.{UTID}"));
        let doc: Value = serde_json::from_slice(&cache.to_vec()).unwrap();
        let rt_key = format!("{UID}.{UTID}-login.microsoftonline.com-refreshtoken-{CLIENT}--https://storage.azure.com/.default https://storage.azure.com/user_impersonation");
        let rt = &doc["RefreshToken"][&rt_key];
        assert_eq!(rt["secret"], format!("rt-{CLIENT}-1000"));
        assert_eq!(rt["credential_type"], "RefreshToken");
        let at_key = format!("{UID}.{UTID}-login.microsoftonline.com-accesstoken-{CLIENT}-{UTID}-https://storage.azure.com/.default https://storage.azure.com/user_impersonation");
        let at = &doc["AccessToken"][&at_key];
        assert_eq!(at["expires_on"], "4600");
        assert_eq!(at["cached_at"], "1000");
        assert_eq!(at["refresh_on"], "2800");
        let account = &doc["Account"][format!("{UID}.{UTID}-login.microsoftonline.com-{UTID}")];
        assert_eq!(account["username"], "user@contoso.com");
        assert_eq!(account["local_account_id"], UID);
        assert_eq!(account["authority_type"], "MSSTS");
        let idt_key = format!("{UID}.{UTID}-login.microsoftonline.com-idtoken-{CLIENT}-{UTID}-");
        assert!(doc["IdToken"][&idt_key].is_object());
        assert!(
            doc["AppMetadata"][format!("appmetadata-login.microsoftonline.com-{CLIENT}")]
                .is_object()
        );
    }

    #[test]
    fn look_ups_find_what_add_wrote() {
        let mut cache = MsalTokenCache::new();
        cache.add(&write(CLIENT, 1000)).unwrap();
        let home = format!("{UID}.{UTID}");
        let rt = cache
            .refresh_token(CLIENT, &home, "login.windows.net")
            .unwrap();
        assert_eq!(rt.as_str(), format!("rt-{CLIENT}-1000"));
        let scopes = vec!["https://storage.azure.com/.default".to_owned()];
        let token = cache
            .access_token(
                CLIENT,
                &home,
                "login.microsoftonline.com",
                UTID,
                &scopes,
                at(2000),
            )
            .unwrap();
        assert_eq!(token.secret.as_str(), format!("at-{CLIENT}-1000"));
        assert_eq!(token.expires_on, at(4600));
        assert_eq!(token.refresh_on, Some(at(2800)));
        assert!(cache
            .access_token(
                CLIENT,
                &home,
                "login.microsoftonline.com",
                UTID,
                &scopes,
                at(4600)
            )
            .is_none());
        let other_scope = vec!["https://graph.microsoft.com/.default".to_owned()];
        assert!(cache
            .access_token(
                CLIENT,
                &home,
                "login.microsoftonline.com",
                UTID,
                &other_scope,
                at(2000)
            )
            .is_none());
        assert!(cache
            .refresh_token(OTHER_CLIENT, &home, "login.microsoftonline.com")
            .is_none());
        let accounts = cache.accounts(Some(CLIENT));
        assert_eq!(accounts.len(), 1);
        assert_eq!(accounts[0].username, "user@contoso.com");
        assert!(cache.accounts(Some(OTHER_CLIENT)).is_empty());
    }

    #[test]
    fn a_newer_refresh_token_replaces_the_old_one() {
        let mut cache = MsalTokenCache::new();
        cache.add(&write(CLIENT, 1000)).unwrap();
        let mut second = write(CLIENT, 2000);
        second.scopes = vec!["https://graph.microsoft.com/.default".to_owned()];
        cache.add(&second).unwrap();
        let home = format!("{UID}.{UTID}");
        let rt = cache
            .refresh_token(CLIENT, &home, "login.microsoftonline.com")
            .unwrap();
        assert_eq!(rt.as_str(), format!("rt-{CLIENT}-2000"));
        let doc: Value = serde_json::from_slice(&cache.to_vec()).unwrap();
        assert_eq!(doc["RefreshToken"].as_object().unwrap().len(), 1);
    }

    #[test]
    fn unknown_fields_sections_and_bad_entries_survive_a_round_trip() {
        let mut cache = MsalTokenCache::new();
        cache.add(&write(CLIENT, 1000)).unwrap();
        let mut doc: Value = serde_json::from_slice(&cache.to_vec()).unwrap();
        doc["FutureSection"] = serde_json::json!({"k": {"v": 1}});
        doc["RefreshToken"]["broken"] = serde_json::json!({"secret": 42});
        doc["AccessToken"]
            .as_object_mut()
            .unwrap()
            .values_mut()
            .for_each(|v| v["x_future_field"] = "kept".into());
        let bytes = serde_json::to_vec(&doc).unwrap();

        let mut cache = MsalTokenCache::from_slice(&bytes).unwrap();
        assert_eq!(cache.skipped_entries(), 1);
        let home = format!("{UID}.{UTID}");
        // The bad entry does not hide the good one.
        assert!(cache
            .refresh_token(CLIENT, &home, "login.microsoftonline.com")
            .is_some());
        cache.add(&write(CLIENT, 1500)).unwrap();
        let again: Value = serde_json::from_slice(&cache.to_vec()).unwrap();
        assert_eq!(again["FutureSection"]["k"]["v"], 1);
        assert!(again["RefreshToken"]["broken"].is_object());
        let at = again["AccessToken"]
            .as_object()
            .unwrap()
            .values()
            .next()
            .unwrap();
        assert_eq!(at["x_future_field"], "kept");
        assert_eq!(at["cached_at"], "1500");
    }

    #[test]
    fn corrupt_documents_are_errors_and_empty_ones_are_empty() {
        for bytes in [
            &b"{"[..],
            b"[]",
            b"null",
            b"\"x\"",
            b"{\"AccessToken\": }",
            b"\xff\xfe",
        ] {
            let err = MsalTokenCache::from_slice(bytes).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::PersistentCache, "{bytes:?}");
            assert!(err.to_string().contains("left as it is"), "{err}");
        }
        assert!(MsalTokenCache::from_slice(b"").unwrap().is_empty());
        assert!(MsalTokenCache::from_slice(b" \n").unwrap().is_empty());
        let big = vec![b' '; MAX_CACHE_BYTES + 1];
        assert_eq!(
            MsalTokenCache::from_slice(&big).unwrap_err().kind(),
            ErrorKind::PersistentCache
        );
    }

    #[test]
    fn a_section_of_the_wrong_type_is_skipped_not_fatal() {
        let cache =
            MsalTokenCache::from_slice(br#"{"RefreshToken": [1, 2], "Account": {}}"#).unwrap();
        assert_eq!(cache.skipped_entries(), 1);
        assert!(cache.accounts(None).is_empty());
    }

    #[test]
    fn remove_client_tokens_leaves_other_apps_alone() {
        let mut cache = MsalTokenCache::new();
        cache.add(&write(CLIENT, 1000)).unwrap();
        cache.add(&write(OTHER_CLIENT, 1000)).unwrap();
        let home = format!("{UID}.{UTID}");
        let removed = cache.remove_client_tokens(CLIENT, Some(&home));
        assert_eq!(removed, 3, "one access, refresh and id token");
        assert!(cache
            .refresh_token(CLIENT, &home, "login.microsoftonline.com")
            .is_none());
        assert!(cache
            .refresh_token(OTHER_CLIENT, &home, "login.microsoftonline.com")
            .is_some());
        // The account stays: the other app still uses it.
        assert_eq!(cache.accounts(None).len(), 1);
        cache.remove_client_tokens(OTHER_CLIENT, None);
        assert!(cache.accounts(None).is_empty());
        assert!(!cache.is_empty(), "app metadata stays, as MSAL leaves it");
    }

    #[test]
    fn client_info_is_validated() {
        let mut cache = MsalTokenCache::new();
        for bad in [
            "%%%",
            "e30",
            &URL_SAFE_NO_PAD.encode(r#"{"uid":"a b","utid":"c"}"#),
        ] {
            let mut w = write(CLIENT, 1);
            w.client_info = Some(bad.to_owned());
            assert_eq!(
                cache.add(&w).unwrap_err().kind(),
                ErrorKind::Protocol,
                "{bad}"
            );
        }
    }

    #[test]
    fn debug_shows_counts_not_secrets() {
        let mut cache = MsalTokenCache::new();
        cache.add(&write(CLIENT, 1000)).unwrap();
        let debug = format!("{cache:?}");
        assert!(!debug.contains("rt-"), "{debug}");
        assert!(debug.contains("refresh_tokens: 1"), "{debug}");
    }
}
