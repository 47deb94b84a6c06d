use crate::{Error, ErrorKind, Result};
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine as _};
use serde::Deserialize;

/// The longest `client_info` read: the authority's is about a hundred characters.
const MAX_CLIENT_INFO_LEN: usize = 4096;

/// The longest `uid` or `utid` accepted (object and tenant ids are 36 characters).
const MAX_ID_LEN: usize = 128;

/// The account a token response names in its `client_info` (returned when the request says
/// `client_info=1`): base64url JSON `{"uid": "<object id>", "utid": "<home tenant id>"}`.
///
/// MSAL names the account by its home account id, `<uid>.<utid>`, in every cache entry.
///
/// ```
/// use mr_auth_msal_cache::ClientInfo;
///
/// // {"uid":"u-1","utid":"t-1"}
/// let info = ClientInfo::decode("eyJ1aWQiOiJ1LTEiLCJ1dGlkIjoidC0xIn0")?;
/// assert_eq!(info.home_account_id(), "u-1.t-1");
/// assert_eq!(info.utid(), "t-1");
/// # Ok::<(), mr_auth_msal_cache::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientInfo {
    uid: String,
    utid: String,
}

impl ClientInfo {
    /// Decodes a response's `client_info` value (with or without base64 padding).
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Protocol`] when it is longer than 4096 characters, not base64url, not
    /// JSON with string `uid` and `utid`, or either id is empty, longer than 128 characters or
    /// has characters other than letters, digits, `-` and `_`.
    pub fn decode(client_info: &str) -> Result<Self> {
        #[derive(Deserialize)]
        struct Wire {
            uid: String,
            utid: String,
        }
        let bad = |why: String| {
            Error::new(
                ErrorKind::Protocol,
                format!("the authority's client_info {why}; the token response cannot be stored"),
            )
        };
        if client_info.len() > MAX_CLIENT_INFO_LEN {
            return Err(bad("is too long".to_owned()));
        }
        let bytes = URL_SAFE_NO_PAD
            .decode(client_info.trim_end_matches('='))
            .map_err(|e| bad(format!("is not base64url: {e}")))?;
        let wire: Wire = serde_json::from_slice(&bytes)
            .map_err(|e| bad(format!("is not JSON with uid and utid: {e}")))?;
        if is_id(&wire.uid) && is_id(&wire.utid) {
            Ok(Self {
                uid: wire.uid,
                utid: wire.utid,
            })
        } else {
            Err(bad("has a uid or utid that is not an id".to_owned()))
        }
    }

    /// The account's object id in its home tenant.
    pub fn uid(&self) -> &str {
        &self.uid
    }

    /// The account's home tenant id.
    pub fn utid(&self) -> &str {
        &self.utid
    }

    /// MSAL's home account id: `<uid>.<utid>`.
    pub fn home_account_id(&self) -> String {
        format!("{}.{}", self.uid, self.utid)
    }
}

fn is_id(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= MAX_ID_LEN
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_padded_and_unpadded() {
        let json = r#"{"uid":"00000000-0000-0000-0000-000000000001","utid":"72f988bf-86f1-41af-91ab-2d7cd011db47","x":1}"#;
        let unpadded = URL_SAFE_NO_PAD.encode(json);
        let padded = base64::engine::general_purpose::URL_SAFE.encode(json);
        for encoded in [unpadded, padded] {
            let info = ClientInfo::decode(&encoded).unwrap();
            assert_eq!(info.uid(), "00000000-0000-0000-0000-000000000001");
            assert_eq!(
                info.home_account_id(),
                "00000000-0000-0000-0000-000000000001.72f988bf-86f1-41af-91ab-2d7cd011db47"
            );
        }
    }

    #[test]
    fn anything_else_is_a_protocol_error() {
        let long_id = "a".repeat(MAX_ID_LEN + 1);
        let cases = [
            "%%%".to_owned(),
            "e30".to_owned(), // {}
            URL_SAFE_NO_PAD.encode(r#"{"uid":"a b","utid":"c"}"#),
            URL_SAFE_NO_PAD.encode(r#"{"uid":"","utid":"c"}"#),
            URL_SAFE_NO_PAD.encode(r#"{"uid":1,"utid":"c"}"#),
            URL_SAFE_NO_PAD.encode(format!(r#"{{"uid":"{long_id}","utid":"c"}}"#)),
            "A".repeat(MAX_CLIENT_INFO_LEN + 1),
        ];
        for bad in cases {
            let err = ClientInfo::decode(&bad).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Protocol, "{bad:.40}");
            assert!(err.message().contains("client_info"), "{err}");
        }
    }
}
