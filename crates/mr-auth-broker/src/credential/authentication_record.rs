use crate::{
    error::{Error, Result},
    oauth::{AuthorityHost, ClientId, IdTokenAccount, TenantId},
    platform::BrokerToken,
};
use serde::{Deserialize, Serialize};
use std::fmt;

/// The only `version` of the [`AuthenticationRecord`] JSON this crate reads and writes.
pub const AUTHENTICATION_RECORD_VERSION: &str = "1.0";

/// The longest serialized record [`AuthenticationRecord::from_json`] accepts, in bytes. Real
/// records are a few hundred bytes; anything larger is not one.
const MAX_RECORD_JSON_BYTES: usize = 16 * 1024;

/// Which account a credential signed in, so that a later process can find that account's
/// tokens in the persistent cache without asking the user again.
///
/// It holds no secret (no token): an application may store it wherever it keeps its settings.
/// [`to_json`](Self::to_json) and [`from_json`](Self::from_json) use the same JSON as Python's
/// `azure-identity` `AuthenticationRecord.serialize()` / `deserialize()`:
///
/// ```json
/// {"authority":"login.microsoftonline.com","clientId":"04b07795-8ddb-461a-bbee-02f9e1bf7b46",
///  "homeAccountId":"<object id>.<tenant id>","tenantId":"<tenant id>",
///  "username":"user@contoso.com","version":"1.0"}
/// ```
///
/// ```
/// use mr_auth_broker::AuthenticationRecord;
///
/// let json = r#"{"authority":"login.microsoftonline.com",
///     "clientId":"04b07795-8ddb-461a-bbee-02f9e1bf7b46",
///     "homeAccountId":"a5a7a5a7-0000-4000-8000-000000000001.72f988bf-86f1-41af-91ab-2d7cd011db47",
///     "tenantId":"72f988bf-86f1-41af-91ab-2d7cd011db47",
///     "username":"user@contoso.com","version":"1.0"}"#;
/// let record = AuthenticationRecord::from_json(json)?;
/// assert_eq!(record.username(), "user@contoso.com");
/// assert_eq!(AuthenticationRecord::from_json(&record.to_json())?, record);
/// # Ok::<(), mr_auth_broker::Error>(())
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct AuthenticationRecord {
    authority: String,
    client_id: ClientId,
    home_account_id: String,
    tenant_id: TenantId,
    username: String,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireRecord {
    authority: String,
    client_id: String,
    home_account_id: String,
    tenant_id: String,
    username: String,
    version: String,
}

impl AuthenticationRecord {
    /// A record for the account `home_account_id` (`<object id>.<tenant id>`), signed in at the
    /// authority `authority`: its host name (`login.microsoftonline.com`), with `:port` when
    /// the authority is not on its scheme's default port (`localhost:8443`), as azure-identity
    /// writes it. A record without a port is of the default port.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) when the authority is not a
    /// host name with an optional port, or the home account id is not of the `<oid>.<tid>`
    /// form.
    pub fn new(
        authority: impl Into<String>,
        client_id: ClientId,
        home_account_id: impl Into<String>,
        tenant_id: TenantId,
        username: impl Into<String>,
    ) -> Result<Self> {
        let authority = authority.into();
        let home_account_id = home_account_id.into();
        validate_authority(&authority)?;
        validate_home_account_id(&home_account_id)?;
        Ok(Self {
            authority: authority.to_ascii_lowercase(),
            client_id,
            home_account_id,
            tenant_id,
            username: username.into(),
        })
    }

    /// The record of the account a token response signed in, as azure-identity builds it:
    /// `homeAccountId` from `client_info` (`<uid>.<utid>`), `username` from the id token
    /// (`preferred_username`, `upn` or `email`; empty for accounts without one), `tenantId`
    /// from its `tid` (else the `utid`, else the requested tenant). `None` when the response
    /// does not identify the account well enough. The id token's claims come read with the
    /// response (it is decoded once).
    pub(crate) fn from_token_response(
        environment: &str,
        client_id: &ClientId,
        client_info: Option<&str>,
        id_token: &IdTokenAccount,
        requested_tenant: &TenantId,
    ) -> Option<Self> {
        let client_info = mr_auth_msal_cache::ClientInfo::decode(client_info?).ok()?;
        let username = id_token
            .username
            .as_deref()
            .filter(|u| u.len() <= 256 && !u.chars().any(char::is_control))
            .unwrap_or_default();
        let tenant = id_token
            .tenant_id
            .as_deref()
            .and_then(|t| TenantId::new(t).ok())
            .or_else(|| TenantId::new(client_info.utid()).ok())
            .unwrap_or_else(|| requested_tenant.clone());
        Self::new(
            environment,
            client_id.clone(),
            client_info.home_account_id(),
            tenant,
            username,
        )
        .ok()
    }

    /// The record of the account a platform broker signed in: its home account id (the Linux
    /// broker's `homeAccountId`, the part after the last `:` of its account id), else the
    /// access token's `oid.tid`; its user name, else the token's; the token's tenant, else the
    /// account's home tenant (after the dot), else the requested one. `None` when neither
    /// names the account.
    pub(crate) fn from_broker_token(
        environment: &str,
        client_id: &ClientId,
        token: &BrokerToken,
        requested_tenant: &TenantId,
    ) -> Option<Self> {
        let claims = mr_auth_core::decode_jwt_parts_unverified(token.token.token.secret())
            .map(|parts| parts.claims)
            .unwrap_or_default();
        let claim = |name: &str| claims.get(name).and_then(serde_json::Value::as_str);
        let from_account = token
            .account
            .as_ref()
            .and_then(|a| a.id.rsplit(':').next())
            .map(str::to_owned);
        let from_token = match (claim("oid"), claim("tid")) {
            (Some(oid), Some(tid)) => Some(format!("{oid}.{tid}")),
            _ => None,
        };
        let username = token
            .account
            .as_ref()
            .and_then(|a| a.username.clone())
            .or_else(|| {
                ["preferred_username", "upn", "unique_name"]
                    .into_iter()
                    .find_map(claim)
                    .map(str::to_owned)
            })
            .unwrap_or_default();
        let token_tenant = claim("tid").and_then(|t| TenantId::new(t).ok());
        [from_account, from_token]
            .into_iter()
            .flatten()
            .find_map(|home| {
                let tenant = token_tenant
                    .clone()
                    .or_else(|| {
                        home.split_once('.')
                            .and_then(|(_, tid)| TenantId::new(tid).ok())
                    })
                    .unwrap_or_else(|| requested_tenant.clone());
                Self::new(
                    environment,
                    client_id.clone(),
                    home,
                    tenant,
                    username.as_str(),
                )
                .ok()
            })
    }

    /// Reads a record from the JSON that [`to_json`](Self::to_json) (or Python's
    /// `AuthenticationRecord.serialize()`) wrote.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) when the text is not such a
    /// record: not JSON, a field missing or invalid, or a `version` other than
    /// [`AUTHENTICATION_RECORD_VERSION`] (written by a newer library: sign in again with this one).
    pub fn from_json(json: &str) -> Result<Self> {
        if json.len() > MAX_RECORD_JSON_BYTES {
            return Err(Error::invalid_input(format!(
                "an authentication record is at most {MAX_RECORD_JSON_BYTES} bytes; this text has {}",
                json.len()
            )));
        }
        let wire: WireRecord = serde_json::from_str(json).map_err(|e| {
            Error::invalid_input(format!(
                "not an authentication record (expected the JSON object AuthenticationRecord::to_json writes): {e}"
            ))
        })?;
        if wire.version != AUTHENTICATION_RECORD_VERSION {
            return Err(Error::invalid_input(format!(
                "authentication record version {:?} is not supported (this library reads version \
                 {AUTHENTICATION_RECORD_VERSION}); sign in again to get a record it can read",
                truncate(&wire.version, 32)
            )));
        }
        let client_id = ClientId::new(&wire.client_id).map_err(|e| {
            Error::invalid_input(format!("authentication record: bad clientId: {e}"))
        })?;
        let tenant_id = TenantId::new(&wire.tenant_id).map_err(|e| {
            Error::invalid_input(format!("authentication record: bad tenantId: {e}"))
        })?;
        Self::new(
            wire.authority,
            client_id,
            wire.home_account_id,
            tenant_id,
            wire.username,
        )
    }

    /// The record as the JSON Python's `azure-identity` reads and writes (version `1.0`).
    pub fn to_json(&self) -> String {
        let wire = WireRecord {
            authority: self.authority.clone(),
            client_id: self.client_id.as_str().to_owned(),
            home_account_id: self.home_account_id.clone(),
            tenant_id: self.tenant_id.as_str().to_owned(),
            username: self.username.clone(),
            version: AUTHENTICATION_RECORD_VERSION.to_owned(),
        };
        // Serialising a struct of strings cannot fail.
        serde_json::to_string(&wire).unwrap_or_default()
    }

    /// The authority the account signed in at: its host name, e.g. `login.microsoftonline.com`,
    /// with `:port` when it was not on the default port.
    pub fn authority(&self) -> &str {
        &self.authority
    }

    /// Whether the record is of `authority`: the same host (or, for the public cloud, one of
    /// its aliases, as MSAL treats them) on the same port, a record without a port being of the
    /// default port. A credential sends a record's refresh token only to its own authority.
    pub(crate) fn is_of(&self, authority: &AuthorityHost) -> bool {
        let (host, port) = authority.host_and_port();
        let (record_host, record_port) = split_authority(&self.authority);
        let default_port = match authority.url().scheme() {
            "http" => 80,
            _ => 443,
        };
        let record_port = Some(record_port.unwrap_or(default_port));
        mr_auth_msal_cache::same_environment(record_host, &host) && record_port == port
    }

    /// The app registration that signed the account in.
    pub fn client_id(&self) -> &ClientId {
        &self.client_id
    }

    /// The account's id across tenants: `<object id>.<home tenant id>`.
    pub fn home_account_id(&self) -> &str {
        &self.home_account_id
    }

    /// The tenant the account signed in to.
    pub fn tenant_id(&self) -> &TenantId {
        &self.tenant_id
    }

    /// The account's user name (usually an email address).
    pub fn username(&self) -> &str {
        &self.username
    }
}

impl fmt::Debug for AuthenticationRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // No secret here, but the user name is personal data: tracing output shows the
        // account id, which support can match, and not who the user is.
        f.debug_struct("AuthenticationRecord")
            .field("authority", &self.authority)
            .field("client_id", &self.client_id)
            .field("home_account_id", &self.home_account_id)
            .field("tenant_id", &self.tenant_id)
            .finish_non_exhaustive()
    }
}

/// A record's authority as its host (an IPv6 literal keeps its brackets) and its port, if it
/// names one (`None` also for a port that is not a number: [`validate_authority`] refuses it).
fn split_authority(authority: &str) -> (&str, Option<u16>) {
    let host_end = if authority.starts_with('[') {
        authority.find(']').map_or(authority.len(), |end| end + 1)
    } else {
        authority.find(':').unwrap_or(authority.len())
    };
    let (host, rest) = authority.split_at(host_end);
    (host, rest.strip_prefix(':').and_then(|p| p.parse().ok()))
}

fn validate_authority(authority: &str) -> Result<()> {
    let (host, port) = split_authority(authority);
    let rest = &authority[host.len()..];
    let host_ok = if let Some(literal) = host.strip_prefix('[') {
        literal
            .strip_suffix(']')
            .is_some_and(|ip| ip.parse::<std::net::Ipv6Addr>().is_ok())
    } else {
        !host.is_empty()
            && host.len() <= 253
            && host
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-'))
    };
    let port_ok = rest.is_empty() || port.is_some_and(|p| p != 0 && rest == format!(":{p}"));
    if host_ok && port_ok {
        Ok(())
    } else {
        Err(Error::invalid_input(format!(
            "authentication record: authority {:?} is not a host name with an optional port, such as login.microsoftonline.com",
            truncate(authority, 64)
        )))
    }
}

fn validate_home_account_id(id: &str) -> Result<()> {
    let part_ok = |p: &str| {
        !p.is_empty()
            && p.len() <= 128
            && p.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    };
    match id.split_once('.') {
        Some((oid, tid)) if part_ok(oid) && part_ok(tid) => Ok(()),
        _ => Err(Error::invalid_input(format!(
            "authentication record: homeAccountId {:?} is not of the form <object id>.<tenant id>",
            truncate(id, 64)
        ))),
    }
}

/// At most `max` characters of `s`, for quoting untrusted text in an error message.
fn truncate(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((i, _)) => format!("{}...", &s[..i]),
        None => s.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;

    const PYTHON_JSON: &str = r#"{"authority": "login.microsoftonline.com", "clientId": "04b07795-8ddb-461a-bbee-02f9e1bf7b46", "homeAccountId": "00000000-0000-0000-0000-000000000001.72f988bf-86f1-41af-91ab-2d7cd011db47", "tenantId": "72f988bf-86f1-41af-91ab-2d7cd011db47", "username": "user@contoso.com", "version": "1.0"}"#;

    #[test]
    fn reads_what_python_writes_and_writes_the_same_fields() {
        let record = AuthenticationRecord::from_json(PYTHON_JSON).unwrap();
        assert_eq!(record.authority(), "login.microsoftonline.com");
        assert_eq!(
            record.client_id().as_str(),
            "04b07795-8ddb-461a-bbee-02f9e1bf7b46"
        );
        assert_eq!(
            record.tenant_id().as_str(),
            "72f988bf-86f1-41af-91ab-2d7cd011db47"
        );
        let written: serde_json::Value = serde_json::from_str(&record.to_json()).unwrap();
        let python: serde_json::Value = serde_json::from_str(PYTHON_JSON).unwrap();
        assert_eq!(written, python);
    }

    #[test]
    fn other_versions_are_refused_with_a_clear_error() {
        let json = PYTHON_JSON.replace("\"1.0\"", "\"2.0\"");
        let err = AuthenticationRecord::from_json(&json).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
        assert!(err.to_string().contains("version \"2.0\""), "{err}");
        assert!(err.to_string().contains("sign in again"), "{err}");
    }

    #[test]
    fn malformed_records_are_invalid_input_never_a_panic() {
        for json in [
            "",
            "null",
            "[]",
            "{}",
            r#"{"version":"1.0"}"#,
            &PYTHON_JSON.replace("login.microsoftonline.com", "https://x/"),
            &PYTHON_JSON.replace(".72f988bf", "72f988bf"),
            &PYTHON_JSON.replace("04b07795-8ddb-461a-bbee-02f9e1bf7b46", ""),
            &"x".repeat(MAX_RECORD_JSON_BYTES + 1),
        ] {
            let err = AuthenticationRecord::from_json(json).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::InvalidInput, "{json:.80}: {err}");
        }
    }

    #[test]
    fn the_authority_keeps_its_port_and_a_record_without_one_is_of_the_default_port() {
        let record = |authority: &str| {
            AuthenticationRecord::from_json(
                &PYTHON_JSON.replace("login.microsoftonline.com", authority),
            )
        };
        let host = |url: &str| AuthorityHost::new(url).unwrap();
        let python = record("login.microsoftonline.com").unwrap();
        assert!(python.is_of(&host("https://login.microsoftonline.com")));
        assert!(
            python.is_of(&host("https://login.windows.net:443")),
            "an alias, the default port"
        );
        assert!(!python.is_of(&host("https://login.microsoftonline.com:8443")));
        assert!(!python.is_of(&host("https://login.microsoftonline.us")));
        let ported = record("login.example.com:8443").unwrap();
        assert_eq!(ported.authority(), "login.example.com:8443");
        assert!(ported.is_of(&host("https://login.example.com:8443/")));
        assert!(!ported.is_of(&host("https://login.example.com")));
        assert!(!ported.is_of(&host("https://login.example.com:9443")));
        assert!(record("login.example.com:443")
            .unwrap()
            .is_of(&host("https://login.example.com")));
        assert!(record("[::1]:8400")
            .unwrap()
            .is_of(&host("http://[::1]:8400")));
        for bad in [
            "host:",
            "host:0",
            "host:65536",
            "host:80:81",
            "host:+80",
            "[::1",
            "[x]:1",
            "a:b",
        ] {
            assert!(record(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn debug_leaves_out_the_user_name() {
        let record = AuthenticationRecord::from_json(PYTHON_JSON).unwrap();
        assert!(!format!("{record:?}").contains("user@contoso.com"));
    }

    #[test]
    fn a_response_names_its_account_whatever_the_id_token_says_of_exp() {
        use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine as _};
        let client_info = URL_SAFE_NO_PAD.encode(br#"{"uid":"u-1","utid":"t-home"}"#);
        let client_id = ClientId::new("04b07795-8ddb-461a-bbee-02f9e1bf7b46").unwrap();
        let requested = TenantId::new("organizations").unwrap();
        for claims in [
            &br#"{"preferred_username":"a@contoso.com","tid":"t-1.example","exp":1700000000}"#[..],
            br#"{"preferred_username":"a@contoso.com","tid":"t-1.example"}"#,
            br#"{"preferred_username":"a@contoso.com","tid":"t-1.example","exp":"never"}"#,
        ] {
            let id_token = format!("e30.{}.sig", URL_SAFE_NO_PAD.encode(claims));
            let record = AuthenticationRecord::from_token_response(
                "login.microsoftonline.com",
                &client_id,
                Some(&client_info),
                &IdTokenAccount::read(&id_token),
                &requested,
            )
            .unwrap();
            let what = String::from_utf8_lossy(claims);
            assert_eq!(record.username(), "a@contoso.com", "{what}");
            assert_eq!(record.tenant_id().as_str(), "t-1.example", "{what}");
            assert_eq!(record.home_account_id(), "u-1.t-home", "{what}");
        }
    }
}
