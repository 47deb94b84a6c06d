//! The entries of MSAL's unified cache schema, typed for reading and writing, with MSAL's field
//! names.
//!
//! Reading is as lenient as MSAL: only the fields a look-up needs are required; a field this
//! crate writes but never reads is skipped when another SDK wrote it with another type. Fields
//! this crate does not know are kept in `other` (`#[serde(flatten)]`), so an entry read and
//! written back keeps what other apps stored in it.

use crate::{
    cache_keys::{account_key, app_metadata_key, credential_key},
    cache_write::ResolvedWrite,
    AccessTokenSecret, IdTokenSecret, RefreshTokenSecret,
};
use serde::{de::DeserializeOwned, Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};
use time::OffsetDateTime;

pub(crate) const ACCESS_TOKEN: &str = "AccessToken";
pub(crate) const REFRESH_TOKEN: &str = "RefreshToken";
pub(crate) const ID_TOKEN: &str = "IdToken";
pub(crate) const ACCOUNT: &str = "Account";
pub(crate) const APP_METADATA: &str = "AppMetadata";
/// The sections of the schema, each a map from an entry's key to the entry.
pub(crate) const SECTIONS: [&str; 5] =
    [ACCESS_TOKEN, REFRESH_TOKEN, ID_TOKEN, ACCOUNT, APP_METADATA];
/// The sections of credentials (entries with a `client_id` and a `home_account_id`).
pub(crate) const CREDENTIAL_SECTIONS: [&str; 3] = [ACCESS_TOKEN, REFRESH_TOKEN, ID_TOKEN];

/// `authority_type` of accounts signed in at Entra ID (not ADFS).
const AUTHORITY_TYPE_MSSTS: &str = "MSSTS";

/// An entry of one of the schema's sections.
pub(crate) trait CacheEntry: Serialize + DeserializeOwned {
    /// The section the entry is stored in.
    const SECTION: &'static str;

    /// The entry's key in its section (see `cache_keys`).
    fn key(&self) -> String;
}

/// A time in the cache: Unix seconds, written as a string by MSAL (and by this crate), as a
/// number by some other SDKs. Written back as it was read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub(crate) enum UnixTime {
    Text(String),
    Number(i64),
}

impl UnixTime {
    /// `seconds`, as MSAL writes times.
    pub(crate) fn at(seconds: i64) -> Self {
        Self::Text(seconds.to_string())
    }

    /// The time, if it is one.
    pub(crate) fn time(&self) -> Option<OffsetDateTime> {
        let seconds = match self {
            Self::Text(s) => s.trim().parse().ok()?,
            Self::Number(n) => *n,
        };
        OffsetDateTime::from_unix_timestamp(seconds).ok()
    }
}

/// For fields this crate writes but does not need to read: a value of another type is read as
/// absent instead of making the whole entry unreadable.
fn lenient<'de, D: Deserializer<'de>, T: DeserializeOwned>(
    deserializer: D,
) -> Result<Option<T>, D::Error> {
    let value = Value::deserialize(deserializer)?;
    Ok(T::deserialize(value).ok())
}

/// An `AccessToken` entry.
#[derive(Serialize, Deserialize)]
pub(crate) struct AccessTokenEntry {
    #[serde(
        default,
        deserialize_with = "lenient",
        skip_serializing_if = "Option::is_none"
    )]
    pub(crate) credential_type: Option<String>,
    pub(crate) secret: AccessTokenSecret,
    pub(crate) home_account_id: String,
    pub(crate) environment: String,
    pub(crate) client_id: String,
    #[serde(default)]
    pub(crate) target: String,
    #[serde(default)]
    pub(crate) realm: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) token_type: Option<String>,
    #[serde(
        default,
        deserialize_with = "lenient",
        skip_serializing_if = "Option::is_none"
    )]
    pub(crate) cached_at: Option<UnixTime>,
    pub(crate) expires_on: UnixTime,
    #[serde(
        default,
        deserialize_with = "lenient",
        skip_serializing_if = "Option::is_none"
    )]
    pub(crate) extended_expires_on: Option<UnixTime>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) refresh_on: Option<UnixTime>,
    #[serde(flatten)]
    pub(crate) other: Map<String, Value>,
}

impl CacheEntry for AccessTokenEntry {
    const SECTION: &'static str = ACCESS_TOKEN;

    fn key(&self) -> String {
        credential_key(
            &self.home_account_id,
            &self.environment,
            ACCESS_TOKEN,
            &self.client_id,
            &self.realm,
            &self.target,
        )
    }
}

impl AccessTokenEntry {
    /// The entry MSAL's `TokenCache.add` writes for the response's access token.
    pub(crate) fn new(w: &ResolvedWrite<'_>, home: &str, secret: &AccessTokenSecret) -> Self {
        let (write, now) = (w.write, w.now);
        let ext_expires_in = write.ext_expires_in.unwrap_or(write.expires_in);
        Self {
            credential_type: Some(ACCESS_TOKEN.to_owned()),
            secret: secret.clone(),
            home_account_id: home.to_owned(),
            environment: w.environment.clone(),
            client_id: write.client_id.clone(),
            target: w.target.clone(),
            realm: w.realm.clone(),
            token_type: Some(write.token_type.as_deref().unwrap_or("Bearer").to_owned()),
            cached_at: Some(UnixTime::at(now)),
            expires_on: UnixTime::at(now.saturating_add(write.expires_in)),
            extended_expires_on: Some(UnixTime::at(now.saturating_add(ext_expires_in))),
            refresh_on: write
                .refresh_in
                .map(|refresh_in| UnixTime::at(now.saturating_add(refresh_in))),
            other: Map::new(),
        }
    }
}

/// A `RefreshToken` entry.
#[derive(Serialize, Deserialize)]
pub(crate) struct RefreshTokenEntry {
    #[serde(
        default,
        deserialize_with = "lenient",
        skip_serializing_if = "Option::is_none"
    )]
    pub(crate) credential_type: Option<String>,
    pub(crate) secret: RefreshTokenSecret,
    pub(crate) home_account_id: String,
    pub(crate) environment: String,
    pub(crate) client_id: String,
    #[serde(
        default,
        deserialize_with = "lenient",
        skip_serializing_if = "Option::is_none"
    )]
    pub(crate) target: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) last_modification_time: Option<UnixTime>,
    #[serde(flatten)]
    pub(crate) other: Map<String, Value>,
}

impl CacheEntry for RefreshTokenEntry {
    const SECTION: &'static str = REFRESH_TOKEN;

    fn key(&self) -> String {
        // Refresh tokens are cross-tenant: the realm part of the key is empty.
        credential_key(
            &self.home_account_id,
            &self.environment,
            REFRESH_TOKEN,
            &self.client_id,
            "",
            self.target.as_deref().unwrap_or_default(),
        )
    }
}

impl RefreshTokenEntry {
    /// The entry MSAL's `TokenCache.add` writes for the response's refresh token.
    pub(crate) fn new(w: &ResolvedWrite<'_>, home: &str, secret: &RefreshTokenSecret) -> Self {
        Self {
            credential_type: Some(REFRESH_TOKEN.to_owned()),
            secret: secret.clone(),
            home_account_id: home.to_owned(),
            environment: w.environment.clone(),
            client_id: w.write.client_id.clone(),
            target: Some(w.target.clone()),
            last_modification_time: Some(UnixTime::at(w.now)),
            other: w.family_fields(),
        }
    }

    /// When the entry was written, for choosing the newest of several.
    pub(crate) fn modified(&self) -> i64 {
        self.last_modification_time
            .as_ref()
            .and_then(UnixTime::time)
            .map_or(i64::MIN, OffsetDateTime::unix_timestamp)
    }
}

/// An `IdToken` entry. Nothing reads its secret, so every field may be missing.
#[derive(Serialize, Deserialize)]
pub(crate) struct IdTokenEntry {
    #[serde(
        default,
        deserialize_with = "lenient",
        skip_serializing_if = "Option::is_none"
    )]
    pub(crate) credential_type: Option<String>,
    #[serde(
        default,
        deserialize_with = "lenient",
        skip_serializing_if = "Option::is_none"
    )]
    pub(crate) secret: Option<IdTokenSecret>,
    #[serde(default)]
    pub(crate) home_account_id: String,
    #[serde(
        default,
        deserialize_with = "lenient",
        skip_serializing_if = "Option::is_none"
    )]
    pub(crate) environment: Option<String>,
    #[serde(
        default,
        deserialize_with = "lenient",
        skip_serializing_if = "Option::is_none"
    )]
    pub(crate) realm: Option<String>,
    #[serde(default)]
    pub(crate) client_id: String,
    #[serde(flatten)]
    pub(crate) other: Map<String, Value>,
}

impl CacheEntry for IdTokenEntry {
    const SECTION: &'static str = ID_TOKEN;

    fn key(&self) -> String {
        credential_key(
            &self.home_account_id,
            self.environment.as_deref().unwrap_or_default(),
            ID_TOKEN,
            &self.client_id,
            self.realm.as_deref().unwrap_or_default(),
            "",
        )
    }
}

impl IdTokenEntry {
    /// The entry MSAL's `TokenCache.add` writes for the response's id token.
    pub(crate) fn new(w: &ResolvedWrite<'_>, home: &str, secret: &IdTokenSecret) -> Self {
        Self {
            credential_type: Some(ID_TOKEN.to_owned()),
            secret: Some(secret.clone()),
            home_account_id: home.to_owned(),
            environment: Some(w.environment.clone()),
            realm: Some(w.realm.clone()),
            client_id: w.write.client_id.clone(),
            other: Map::new(),
        }
    }
}

/// An `Account` entry.
#[derive(Serialize, Deserialize)]
pub(crate) struct AccountEntry {
    pub(crate) home_account_id: String,
    pub(crate) environment: String,
    #[serde(default)]
    pub(crate) realm: String,
    #[serde(default)]
    pub(crate) local_account_id: String,
    /// May be empty: MSAL's schema does not allow null.
    #[serde(default)]
    pub(crate) username: String,
    #[serde(
        default,
        deserialize_with = "lenient",
        skip_serializing_if = "Option::is_none"
    )]
    pub(crate) authority_type: Option<String>,
    #[serde(
        default,
        deserialize_with = "lenient",
        skip_serializing_if = "Option::is_none"
    )]
    pub(crate) account_source: Option<String>,
    #[serde(flatten)]
    pub(crate) other: Map<String, Value>,
}

impl CacheEntry for AccountEntry {
    const SECTION: &'static str = ACCOUNT;

    fn key(&self) -> String {
        account_key(&self.home_account_id, &self.environment, &self.realm)
    }
}

/// The grants whose tokens name the account's source in its entry (`account_source`), as
/// MSAL Python's `TokenCache` lists them: a sign-in of the user, never a refresh.
const GRANTS_THAT_ESTABLISH_AN_ACCOUNT: [&str; 5] = [
    "authorization_code",
    "urn:ietf:params:oauth:grant-type:device_code",
    "password",
    "broker",
    "user_fic",
];

impl AccountEntry {
    /// The entry MSAL's `TokenCache.add` writes for the account `client_info` named: the
    /// object id and user name from the id token's claims.
    pub(crate) fn new(w: &ResolvedWrite<'_>, home: &str) -> Self {
        Self {
            home_account_id: home.to_owned(),
            environment: w.environment.clone(),
            realm: w.realm.clone(),
            local_account_id: w.claim(&["oid", "sub"]).unwrap_or_default().to_owned(),
            username: w
                .claim(&["preferred_username", "upn", "email"])
                .unwrap_or_default()
                .to_owned(),
            authority_type: Some(AUTHORITY_TYPE_MSSTS.to_owned()),
            // Only a sign-in establishes an account; a refresh keeps what that wrote.
            account_source: w
                .write
                .grant_type
                .clone()
                .filter(|grant| GRANTS_THAT_ESTABLISH_AN_ACCOUNT.contains(&grant.as_str())),
            other: Map::new(),
        }
    }
}

/// An `AppMetadata` entry: which apps have used the cache at an environment.
#[derive(Serialize, Deserialize)]
pub(crate) struct AppMetadataEntry {
    #[serde(
        default,
        deserialize_with = "lenient",
        skip_serializing_if = "Option::is_none"
    )]
    pub(crate) client_id: Option<String>,
    #[serde(
        default,
        deserialize_with = "lenient",
        skip_serializing_if = "Option::is_none"
    )]
    pub(crate) environment: Option<String>,
    #[serde(flatten)]
    pub(crate) other: Map<String, Value>,
}

impl CacheEntry for AppMetadataEntry {
    const SECTION: &'static str = APP_METADATA;

    fn key(&self) -> String {
        app_metadata_key(
            self.environment.as_deref().unwrap_or_default(),
            self.client_id.as_deref().unwrap_or_default(),
        )
    }
}

impl AppMetadataEntry {
    /// The entry MSAL's `TokenCache.add` writes for the app.
    pub(crate) fn new(w: &ResolvedWrite<'_>) -> Self {
        Self {
            client_id: Some(w.write.client_id.clone()),
            environment: Some(w.environment.clone()),
            other: w.family_fields(),
        }
    }
}

/// Whose a credential entry (of any credential section) is: enough to find an app's or an
/// account's entries, whatever else the entry holds.
#[derive(Deserialize)]
pub(crate) struct CredentialOwner {
    #[serde(default)]
    pub(crate) home_account_id: String,
    #[serde(default)]
    pub(crate) client_id: String,
}

impl CredentialOwner {
    /// Whether the entry is `client_id`'s, for the account `home_account_id` (any account
    /// when `None`).
    pub(crate) fn is(&self, client_id: &str, home_account_id: Option<&str>) -> bool {
        self.client_id.eq_ignore_ascii_case(client_id)
            && home_account_id.is_none_or(|h| self.home_account_id.eq_ignore_ascii_case(h))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn unknown_fields_survive_a_typed_round_trip() {
        let stored = json!({
            "credential_type": "AccessToken",
            "secret": "at",
            "home_account_id": "u.t",
            "environment": "login.microsoftonline.com",
            "client_id": "c",
            "target": "s",
            "realm": "t",
            "token_type": "pop",
            "cached_at": 1,
            "expires_on": "100",
            "extended_expires_on": "100",
            "key_id": "k-1",
            "x_future": {"nested": [1, 2]},
        });
        let entry = AccessTokenEntry::deserialize(&stored).unwrap();
        assert_eq!(entry.other.len(), 2, "key_id and x_future are not known");
        assert_eq!(serde_json::to_value(&entry).unwrap(), stored);
        assert_eq!(
            entry.key(),
            "u.t-login.microsoftonline.com-accesstoken-c-t-s"
        );
    }

    #[test]
    fn only_what_look_ups_need_is_required() {
        // Another SDK's types in the fields this crate only writes: the entry still reads.
        let rt = json!({
            "secret": "rt", "home_account_id": "u.t", "environment": "e", "client_id": "c",
            "credential_type": 7, "target": ["a"],
        });
        let entry = RefreshTokenEntry::deserialize(&rt).unwrap();
        assert!(entry.target.is_none() && entry.credential_type.is_none());
        // A secret that is not a string is not a refresh token.
        assert!(RefreshTokenEntry::deserialize(&json!({
            "secret": 42, "home_account_id": "u.t", "environment": "e", "client_id": "c",
        }))
        .is_err());
        assert!(IdTokenEntry::deserialize(&json!({"secret": 1})).is_ok());
        assert!(AppMetadataEntry::deserialize(&json!({})).is_ok());
        assert!(AppMetadataEntry::deserialize(&json!("x")).is_err());
        assert!(AccountEntry::deserialize(&json!({"home_account_id": "u.t"})).is_err());
    }

    #[test]
    fn times_are_strings_or_numbers() {
        assert_eq!(UnixTime::at(5), UnixTime::Text("5".to_owned()));
        assert_eq!(
            UnixTime::Number(7).time(),
            OffsetDateTime::from_unix_timestamp(7).ok()
        );
        assert_eq!(
            UnixTime::Text(" 9 ".to_owned()).time(),
            OffsetDateTime::from_unix_timestamp(9).ok()
        );
        assert_eq!(UnixTime::Text("soon".to_owned()).time(), None);
        assert_eq!(UnixTime::Number(i64::MAX).time(), None);
    }
}
