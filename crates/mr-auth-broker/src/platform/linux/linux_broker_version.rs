//! `getLinuxBrokerVersion`: the request, the answer, and whether this client supports it.

use super::protocol::{MAX_FIELD_BYTES, MAX_RESPONSE_BYTES, MIN_BROKER_VERSION, MSAL_CPP_VERSION};
use crate::error::{Error, ErrorKind, Result};
use std::fmt;

/// A broker version, `major.minor.patch` (missing parts are 0; a `-suffix` or `+build` is kept
/// for display only).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct BrokerVersion {
    pub(crate) numbers: (u32, u32, u32),
    text: String,
}

impl fmt::Display for BrokerVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl BrokerVersion {
    /// Parses `2.0.1`, `2.5`, `2.0.1-beta.3`; `None` for anything else.
    pub(crate) fn parse(text: &str) -> Option<Self> {
        if text.is_empty() || text.len() > 64 {
            return None;
        }
        let core = text.split(['-', '+']).next().unwrap_or_default();
        let mut parts = core.split('.');
        let mut numbers = [0u32; 3];
        for (i, slot) in numbers.iter_mut().enumerate() {
            match parts.next() {
                Some(p) if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) => {
                    *slot = p.parse().ok()?;
                }
                None if i > 0 => break,
                _ => return None,
            }
        }
        // A fourth part (`2.0.1.7`) is allowed; more, or a non-number, is not a version.
        match parts.next() {
            Some(p) if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) => {}
            Some(_) => return None,
            None => {}
        }
        if parts.next().is_some() || text.chars().any(char::is_control) {
            return None;
        }
        Some(Self {
            numbers: (numbers[0], numbers[1], numbers[2]),
            text: text.to_owned(),
        })
    }
}

/// The request body of `getLinuxBrokerVersion`.
pub(crate) fn version_request() -> String {
    serde_json::json!({ "msalCppVersion": MSAL_CPP_VERSION }).to_string()
}

fn unavailable(message: String) -> Error {
    Error::new(ErrorKind::BrokerUnavailable, message)
}

/// Reads the answer of `getLinuxBrokerVersion` and checks it is one this client supports:
/// anything else (garbage, too old) is [`ErrorKind::BrokerUnavailable`] with the reason.
pub(crate) fn check_version(response: &str) -> Result<BrokerVersion> {
    if response.len() > MAX_RESPONSE_BYTES {
        return Err(unavailable(format!(
            "the service at com.microsoft.identity.broker1 answered getLinuxBrokerVersion with {} bytes, more than the {MAX_RESPONSE_BYTES} accepted; it does not look like the microsoft identity broker",
            response.len()
        )));
    }
    let value: serde_json::Value = serde_json::from_str(response).map_err(|e| {
        unavailable(
            "the service at com.microsoft.identity.broker1 answered getLinuxBrokerVersion with something that is not json; it does not look like the microsoft identity broker".to_owned(),
        )
        .with_source(e)
    })?;
    let Some(text) = value.get("linuxBrokerVersion").and_then(|v| v.as_str()) else {
        return Err(unavailable(
            "the broker's getLinuxBrokerVersion answer has no linuxBrokerVersion text; update microsoft-identity-broker".to_owned(),
        ));
    };
    let Some(version) = BrokerVersion::parse(text) else {
        let shown: String = text.chars().take(MAX_FIELD_BYTES.min(64)).collect();
        return Err(unavailable(format!(
            "the broker reports the version {shown:?}, which is not a version number; update microsoft-identity-broker"
        )));
    };
    if version.numbers < MIN_BROKER_VERSION {
        let (a, b, c) = MIN_BROKER_VERSION;
        return Err(unavailable(format!(
            "the microsoft identity broker here is version {version}, older than {a}.{b}.{c}, the oldest this client supports; update microsoft-identity-broker"
        )));
    }
    Ok(version)
}

/// Fuzzing entry: the version check on arbitrary bytes.
#[cfg(feature = "fuzzing")]
pub(crate) fn fuzz(data: &[u8]) {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = check_version(text);
        let _ = BrokerVersion::parse(text);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_parse_and_compare() {
        assert_eq!(BrokerVersion::parse("2.0.1").unwrap().numbers, (2, 0, 1));
        assert_eq!(BrokerVersion::parse("2.5").unwrap().numbers, (2, 5, 0));
        assert_eq!(BrokerVersion::parse("3").unwrap().numbers, (3, 0, 0));
        assert_eq!(
            BrokerVersion::parse("2.0.1-beta.3").unwrap().numbers,
            (2, 0, 1)
        );
        assert_eq!(BrokerVersion::parse("2.0.1.7").unwrap().numbers, (2, 0, 1));
        for bad in [
            "",
            "v2",
            "2..1",
            "2.x",
            ".2",
            "2.0.1.7.8",
            "99999999999",
            "2.0\n",
            "-1",
            "2.0.",
        ] {
            assert_eq!(BrokerVersion::parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn supported_old_and_garbage_answers() {
        let v = check_version(r#"{"linuxBrokerVersion":"2.0.1"}"#).unwrap();
        assert_eq!(v.to_string(), "2.0.1");
        let cases = [
            (r#"{"linuxBrokerVersion":"1.7.3"}"#, "older than 2.0.0"),
            (r#"{"linuxBrokerVersion":"soon"}"#, "not a version number"),
            (r#"{"linuxBrokerVersion":2}"#, "no linuxBrokerVersion"),
            (r#"{}"#, "no linuxBrokerVersion"),
            ("not json", "not json"),
            ("[]", "no linuxBrokerVersion"),
        ];
        for (answer, says) in cases {
            let e = check_version(answer).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::BrokerUnavailable, "{answer}");
            assert!(e.message().contains(says), "{answer}: {e}");
        }
        let huge = format!(
            r#"{{"linuxBrokerVersion":"{}"}}"#,
            "1".repeat(MAX_RESPONSE_BYTES)
        );
        assert!(check_version(&huge)
            .unwrap_err()
            .message()
            .contains("bytes"));
    }

    #[test]
    fn the_request_names_the_msal_cpp_version() {
        let v: serde_json::Value = serde_json::from_str(&version_request()).unwrap();
        assert_eq!(v["msalCppVersion"], MSAL_CPP_VERSION);
    }
}
