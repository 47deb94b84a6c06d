use crate::{
    cache_entries::{
        AccessTokenEntry, AccountEntry, AppMetadataEntry, CacheEntry, CredentialOwner,
        IdTokenEntry, RefreshTokenEntry, UnixTime, ACCESS_TOKEN, ACCOUNT, APP_METADATA,
        CREDENTIAL_SECTIONS, ID_TOKEN, REFRESH_TOKEN, SECTIONS,
    },
    same_environment, AccessTokenSecret, CacheWrite, Error, ErrorKind, RefreshTokenSecret, Result,
};
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};
use std::{collections::BTreeSet, fmt};
use time::OffsetDateTime;
use zeroize::Zeroizing;

/// The largest cache document [`MsalTokenCache::from_slice`] reads, in bytes. A cache with a
/// few hundred accounts stays far below it; a larger file is not something MSAL wrote.
pub const MAX_CACHE_BYTES: usize = 16 * 1024 * 1024;

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
/// The cache holds secrets (refresh and access tokens): its `Debug` shows counts only, look-ups
/// return secret types, and [`to_vec`](Self::to_vec) hands the bytes out in a buffer that is
/// zeroized on drop.
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
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct CachedAccessToken {
    /// The token.
    pub secret: AccessTokenSecret,
    /// `Bearer` unless the entry says otherwise.
    pub token_type: String,
    /// When the token expires.
    pub expires_on: OffsetDateTime,
    /// When MSAL would refresh it ahead of expiry, when the authority said (`refresh_in`).
    pub refresh_on: Option<OffsetDateTime>,
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
    /// [`ErrorKind::InvalidDocument`] when the bytes are not a JSON object (a corrupt,
    /// truncated or foreign file), or larger than [`MAX_CACHE_BYTES`]. The caller must then not
    /// overwrite the file blindly: it may hold another app's tokens.
    pub fn from_slice(bytes: &[u8]) -> Result<Self> {
        if bytes.len() > MAX_CACHE_BYTES {
            return Err(Error::new(
                ErrorKind::InvalidDocument,
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
                ErrorKind::InvalidDocument,
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
        for entry in self.entries::<AccountEntry>() {
            if let Some(client_id) = client_id {
                let has_rt = self.entries::<RefreshTokenEntry>().any(|rt| {
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

    /// The tenants (`realm`) the account has entries for at `environment` (or one of its
    /// aliases): MSAL writes an `Account` entry per tenant an account signed in to, while
    /// [`accounts`](Self::accounts) names each account once. Sorted, without duplicates.
    pub fn account_realms(&self, home_account_id: &str, environment: &str) -> Vec<String> {
        let realms: BTreeSet<String> = self
            .entries::<AccountEntry>()
            .filter(|a| {
                a.home_account_id.eq_ignore_ascii_case(home_account_id)
                    && same_environment(&a.environment, environment)
                    && !a.realm.is_empty()
            })
            .map(|a| a.realm)
            .collect();
        realms.into_iter().collect()
    }

    /// The refresh token `client_id` holds for the account, the most recently written first
    /// when there are several (refresh tokens are cross-tenant in Entra ID).
    pub fn refresh_token(
        &self,
        client_id: &str,
        home_account_id: &str,
        environment: &str,
    ) -> Option<RefreshTokenSecret> {
        self.entries::<RefreshTokenEntry>()
            .filter(|rt| {
                rt.client_id.eq_ignore_ascii_case(client_id)
                    && rt.home_account_id.eq_ignore_ascii_case(home_account_id)
                    && same_environment(&rt.environment, environment)
                    && !rt.secret.secret().is_empty()
            })
            .max_by_key(RefreshTokenEntry::modified)
            .map(|rt| rt.secret)
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
        self.entries::<AccessTokenEntry>()
            .filter(|at| {
                at.client_id.eq_ignore_ascii_case(client_id)
                    && at.home_account_id.eq_ignore_ascii_case(home_account_id)
                    && same_environment(&at.environment, environment)
                    && at.realm.eq_ignore_ascii_case(realm)
                    && !at.secret.secret().is_empty()
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
                    secret: at.secret,
                    token_type: at.token_type.unwrap_or_else(|| "Bearer".to_owned()),
                    expires_on,
                    refresh_on: at.refresh_on.as_ref().and_then(UnixTime::time),
                })
            })
            .max_by_key(|at| at.expires_on)
    }

    /// Adds what a token response brought, as MSAL's `TokenCache.add` does: the access token,
    /// the account (when `client_info` identifies it), the id token, the refresh token (which
    /// replaces the app's older refresh tokens for the account) and the app's metadata.
    /// Fields other apps added to an entry that is rewritten are kept. Returns the home account
    /// id, `None` when the response did not identify an account (then only the app metadata is
    /// written).
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Protocol`] when `client_info` is present but not MSAL's base64url JSON;
    /// nothing is written then.
    pub fn add(&mut self, write: &CacheWrite) -> Result<Option<String>> {
        let w = write.resolve()?;
        if let Some(home) = &w.home_account_id {
            if let Some(secret) = &write.access_token {
                self.put(&AccessTokenEntry::new(&w, home, secret))?;
            }
            if w.has_client_info {
                self.put(&AccountEntry::new(&w, home))?;
            }
            if let Some(secret) = &write.id_token {
                self.put(&IdTokenEntry::new(&w, home, secret))?;
            }
            if let Some(secret) = &write.refresh_token {
                self.put_refresh_token(&RefreshTokenEntry::new(&w, home, secret))?;
            }
        }
        self.put(&AppMetadataEntry::new(&w))?;
        Ok(w.home_account_id)
    }

    /// Removes `client_id`'s tokens (access, refresh and id tokens) for the account, or for
    /// every account when `home_account_id` is `None`, and any account entry no app holds a
    /// token for any more. Other apps' entries stay. Returns how many entries were removed.
    pub fn remove_client_tokens(
        &mut self,
        client_id: &str,
        home_account_id: Option<&str>,
    ) -> usize {
        let mut removed = 0;
        for section in CREDENTIAL_SECTIONS {
            removed += self.retain(section, |_, owner: &CredentialOwner| {
                !owner.is(client_id, home_account_id)
            });
        }
        // Accounts left without any credential of any app go too.
        let still_used: BTreeSet<String> = CREDENTIAL_SECTIONS
            .iter()
            .flat_map(|s| self.section_entries::<CredentialOwner>(s))
            .map(|e| e.home_account_id.to_ascii_lowercase())
            .collect();
        removed += self.retain(ACCOUNT, |_, e: &AccountEntry| {
            still_used.contains(&e.home_account_id.to_ascii_lowercase())
                || home_account_id.is_some_and(|h| !e.home_account_id.eq_ignore_ascii_case(h))
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

    /// The entries of `E`'s section that read as `E`.
    fn entries<'a, E: CacheEntry + 'a>(&'a self) -> impl Iterator<Item = E> + 'a {
        self.section_entries(E::SECTION)
    }

    /// The entries of `section` that read as `T`.
    fn section_entries<'a, T: DeserializeOwned + 'a>(
        &'a self,
        section: &str,
    ) -> impl Iterator<Item = T> + 'a {
        self.section(section)
            .into_iter()
            .flat_map(Map::values)
            .filter_map(|v| T::deserialize(v).ok())
    }

    fn count_unreadable(&self) -> usize {
        fn unreadable<E: CacheEntry>(root: &Map<String, Value>) -> usize {
            match root.get(E::SECTION) {
                None => 0,
                Some(Value::Object(map)) => {
                    map.values().filter(|v| E::deserialize(*v).is_err()).count()
                }
                Some(_) => 1,
            }
        }
        let root = &self.root;
        unreadable::<AccessTokenEntry>(root)
            + unreadable::<RefreshTokenEntry>(root)
            + unreadable::<IdTokenEntry>(root)
            + unreadable::<AccountEntry>(root)
            + unreadable::<AppMetadataEntry>(root)
    }

    /// Stores `entry` under its key. Fields another app added to an entry already stored there
    /// stay (MSAL's `modify` keeps them too); the entry's own fields replace theirs.
    fn put<E: CacheEntry>(&mut self, entry: &E) -> Result<()> {
        let Ok(Value::Object(fields)) = serde_json::to_value(entry) else {
            return Err(Error::new(
                ErrorKind::Internal,
                format!("a {} entry is not a JSON object", E::SECTION),
            ));
        };
        let key = entry.key();
        let section = self.section_mut(E::SECTION);
        match section.get_mut(&key) {
            Some(Value::Object(existing)) => existing.extend(fields),
            _ => {
                section.insert(key, Value::Object(fields));
            }
        }
        Ok(())
    }

    /// Stores a refresh token as the app's only one for the account: the authority rotates
    /// them, so older ones stored under other targets go. One stored under the same key is
    /// updated in place, keeping what other apps added to it.
    fn put_refresh_token(&mut self, entry: &RefreshTokenEntry) -> Result<()> {
        let key = entry.key();
        self.retain(REFRESH_TOKEN, |k, owner: &CredentialOwner| {
            k == key || !owner.is(&entry.client_id, Some(&entry.home_account_id))
        });
        self.put(entry)
    }

    /// Keeps the entries of `section` that `keep` accepts (by key and content), and those that
    /// do not read as `T`; returns how many were removed.
    fn retain<T: DeserializeOwned>(
        &mut self,
        section: &str,
        keep: impl Fn(&str, &T) -> bool,
    ) -> usize {
        let Some(Value::Object(map)) = self.root.get_mut(section) else {
            return 0;
        };
        let before = map.len();
        map.retain(|key, v| T::deserialize(&*v).map_or(true, |e| keep(key, &e)));
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
            .field("app_metadata", &count(APP_METADATA))
            .field("skipped_entries", &self.skipped)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CLIENT: &str = "04b07795-8ddb-461a-bbee-02f9e1bf7b46";
    const OTHER_CLIENT: &str = "11111111-2222-3333-4444-555555555555";
    const UID: &str = "00000000-0000-0000-0000-000000000001";
    const UTID: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";

    use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine as _};
    use serde_json::json;

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
            access_token: Some(AccessTokenSecret::new(format!("at-{client_id}-{now}"))),
            token_type: Some("Bearer".to_owned()),
            expires_in: 3600,
            ext_expires_in: None,
            refresh_in: Some(1800),
            refresh_token: Some(RefreshTokenSecret::new(format!("rt-{client_id}-{now}"))),
            id_token: Some(crate::IdTokenSecret::new(id_token())),
            client_info: Some(client_info()),
            grant_type: Some("authorization_code".to_owned()),
            family_id: None,
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
        assert_eq!(rt.secret(), format!("rt-{CLIENT}-1000"));
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
        assert_eq!(token.secret.secret(), format!("at-{CLIENT}-1000"));
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
        assert_eq!(rt.secret(), format!("rt-{CLIENT}-2000"));
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
            assert_eq!(err.kind(), ErrorKind::InvalidDocument, "{bytes:?}");
            assert!(err.to_string().contains("left as it is"), "{err}");
        }
        assert!(MsalTokenCache::from_slice(b"").unwrap().is_empty());
        assert!(MsalTokenCache::from_slice(b" \n").unwrap().is_empty());
        let big = vec![b' '; MAX_CACHE_BYTES + 1];
        assert_eq!(
            MsalTokenCache::from_slice(&big).unwrap_err().kind(),
            ErrorKind::InvalidDocument
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

    /// The whole document `add` writes for one sign-in, field by field: what MSAL Python's
    /// `TokenCache.add` writes for the same response.
    #[test]
    fn add_writes_exactly_msal_s_document() {
        let mut cache = MsalTokenCache::new();
        cache.add(&write(CLIENT, 1000)).unwrap();
        let home = format!("{UID}.{UTID}");
        let env = "login.microsoftonline.com";
        let target =
            "https://storage.azure.com/.default https://storage.azure.com/user_impersonation";
        let doc: Value = serde_json::from_slice(&cache.to_vec()).unwrap();
        let expected = json!({
            "AccessToken": {
                format!("{home}-{env}-accesstoken-{CLIENT}-{UTID}-{target}"): {
                    "credential_type": "AccessToken",
                    "secret": format!("at-{CLIENT}-1000"),
                    "home_account_id": home,
                    "environment": env,
                    "client_id": CLIENT,
                    "target": target,
                    "realm": UTID,
                    "token_type": "Bearer",
                    "cached_at": "1000",
                    "expires_on": "4600",
                    "extended_expires_on": "4600",
                    "refresh_on": "2800",
                }
            },
            "Account": {
                format!("{home}-{env}-{UTID}"): {
                    "home_account_id": home,
                    "environment": env,
                    "realm": UTID,
                    "local_account_id": UID,
                    "username": "user@contoso.com",
                    "authority_type": "MSSTS",
                    "account_source": "authorization_code",
                }
            },
            "IdToken": {
                format!("{home}-{env}-idtoken-{CLIENT}-{UTID}-"): {
                    "credential_type": "IdToken",
                    "secret": id_token(),
                    "home_account_id": home,
                    "environment": env,
                    "realm": UTID,
                    "client_id": CLIENT,
                }
            },
            "RefreshToken": {
                format!("{home}-{env}-refreshtoken-{CLIENT}--{target}"): {
                    "credential_type": "RefreshToken",
                    "secret": format!("rt-{CLIENT}-1000"),
                    "home_account_id": home,
                    "environment": env,
                    "client_id": CLIENT,
                    "target": target,
                    "last_modification_time": "1000",
                }
            },
            "AppMetadata": {
                format!("appmetadata-{env}-{CLIENT}"): {"client_id": CLIENT, "environment": env}
            },
        });
        assert_eq!(doc, expected);
    }

    #[test]
    fn without_client_info_the_id_token_s_subject_is_the_account() {
        let mut cache = MsalTokenCache::new();
        let mut w = write(CLIENT, 1000);
        w.client_info = None;
        w.realm = String::new();
        assert_eq!(cache.add(&w).unwrap().as_deref(), Some("s"));
        let doc: Value = serde_json::from_slice(&cache.to_vec()).unwrap();
        assert!(
            doc.get("Account").is_none(),
            "no account without client_info"
        );
        assert!(cache
            .refresh_token(CLIENT, "s", "login.microsoftonline.com")
            .is_some());

        // Neither client_info nor an id token: nothing names the account.
        let mut cache = MsalTokenCache::new();
        w.id_token = None;
        assert_eq!(cache.add(&w).unwrap(), None);
        let doc: Value = serde_json::from_slice(&cache.to_vec()).unwrap();
        assert_eq!(doc.as_object().unwrap().len(), 1, "only AppMetadata: {doc}");
        assert!(doc["AppMetadata"].is_object());
    }

    #[test]
    fn a_sign_in_names_its_grant_as_the_account_s_source_and_a_refresh_does_not() {
        let source = |grant: &str| {
            let mut cache = MsalTokenCache::new();
            let mut w = write(CLIENT, 1000);
            w.grant_type = Some(grant.to_owned());
            cache.add(&w).unwrap();
            let doc: Value = serde_json::from_slice(&cache.to_vec()).unwrap();
            let account = doc["Account"]
                .as_object()
                .unwrap()
                .values()
                .next()
                .unwrap()
                .clone();
            account.get("account_source").cloned()
        };
        // As MSAL Python writes it for `acquire_token_by_device_flow`.
        let device_code = "urn:ietf:params:oauth:grant-type:device_code";
        assert_eq!(source(device_code), Some(Value::from(device_code)));
        assert_eq!(
            source("authorization_code"),
            Some(Value::from("authorization_code"))
        );
        assert_eq!(source("refresh_token"), None);
    }

    #[test]
    fn a_rewritten_refresh_token_keeps_what_other_apps_added_to_it() {
        let mut cache = MsalTokenCache::new();
        cache.add(&write(CLIENT, 1000)).unwrap();
        let mut doc: Value = serde_json::from_slice(&cache.to_vec()).unwrap();
        for rt in doc["RefreshToken"].as_object_mut().unwrap().values_mut() {
            rt["family_id"] = "1".into();
        }
        let mut cache = MsalTokenCache::from_slice(&serde_json::to_vec(&doc).unwrap()).unwrap();
        cache.add(&write(CLIENT, 2000)).unwrap();
        let doc: Value = serde_json::from_slice(&cache.to_vec()).unwrap();
        let rts = doc["RefreshToken"].as_object().unwrap();
        assert_eq!(rts.len(), 1);
        let rt = rts.values().next().unwrap();
        assert_eq!(rt["secret"], format!("rt-{CLIENT}-2000"));
        assert_eq!(rt["last_modification_time"], "2000");
        assert_eq!(rt["family_id"], "1");
    }

    #[test]
    fn a_family_app_s_refresh_token_and_metadata_carry_its_family_id() {
        let mut cache = MsalTokenCache::new();
        let family = CacheWrite {
            family_id: Some("1".to_owned()),
            ..write(CLIENT, 1000)
        };
        cache.add(&family).unwrap();
        // The document, and its only refresh token.
        let written = |cache: &MsalTokenCache| {
            let doc: Value = serde_json::from_slice(&cache.to_vec()).unwrap();
            let rt = doc["RefreshToken"]
                .as_object()
                .unwrap()
                .values()
                .next()
                .unwrap()
                .clone();
            (doc, rt)
        };
        let (doc, rt) = written(&cache);
        assert_eq!(rt["family_id"], "1");
        let env = "login.microsoftonline.com";
        assert_eq!(
            doc["AppMetadata"][format!("appmetadata-{env}-{CLIENT}")]["family_id"],
            "1"
        );
        // A later response without `foci` keeps it, as MSAL does.
        cache.add(&write(CLIENT, 2000)).unwrap();
        let (_, rt) = written(&cache);
        assert_eq!(rt["secret"], format!("rt-{CLIENT}-2000"));
        assert_eq!(rt["family_id"], "1");
        // Without one, none is written.
        let mut plain = MsalTokenCache::new();
        plain.add(&write(OTHER_CLIENT, 1000)).unwrap();
        let (_, rt) = written(&plain);
        assert!(rt.get("family_id").is_none(), "{rt}");
    }

    #[test]
    fn an_account_s_realms_are_every_tenant_it_signed_in_to() {
        let mut cache = MsalTokenCache::new();
        cache.add(&write(CLIENT, 1000)).unwrap();
        let guest = CacheWrite {
            realm: "guest.onmicrosoft.com".to_owned(),
            ..write(CLIENT, 1100)
        };
        cache.add(&guest).unwrap();
        let home = format!("{UID}.{UTID}");
        assert_eq!(
            cache.account_realms(&home, "login.windows.net"),
            [UTID, "guest.onmicrosoft.com"],
            "both tenants, found through the public cloud's alias"
        );
        assert_eq!(
            cache.accounts(Some(CLIENT)).len(),
            1,
            "one account all the same"
        );
        assert!(cache
            .account_realms(&home, "login.microsoftonline.us")
            .is_empty());
        assert!(cache
            .account_realms("someone.else", "login.microsoftonline.com")
            .is_empty());
    }

    #[test]
    fn look_ups_hand_out_secret_types() {
        let mut cache = MsalTokenCache::new();
        cache.add(&write(CLIENT, 1000)).unwrap();
        let home = format!("{UID}.{UTID}");
        let rt = cache
            .refresh_token(CLIENT, &home, "login.microsoftonline.com")
            .unwrap();
        let scopes = vec!["https://storage.azure.com/.default".to_owned()];
        let at = cache
            .access_token(
                CLIENT,
                &home,
                "login.microsoftonline.com",
                UTID,
                &scopes,
                at(0),
            )
            .unwrap();
        let debug = format!("{rt:?} {at:?}");
        assert!(!debug.contains("rt-") && !debug.contains("at-"), "{debug}");
    }
}
