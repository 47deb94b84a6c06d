use std::{fmt, str::FromStr, time::Duration};

use crate::{Error, ErrorKind, Result};

/// The longest delay a [`Fault::Delay`] may ask for.
const MAX_DELAY: Duration = Duration::from_secs(600);

/// One scripted misbehaviour, consumed by one token request.
///
/// Faults are queued with [`EmulatorBuilder::faults`](crate::EmulatorBuilder::faults) or
/// [`RunningEmulator::push_faults`](crate::RunningEmulator::push_faults). Every request to the
/// token route takes the next fault, if any, before anything else is checked; when the queue
/// is empty the emulator serves normally. Other routes (JWKS, discovery) never consume faults.
///
/// A script can also be written as text (for command lines and environment variables), one
/// fault per comma-separated item; [`Fault::parse_script`] reads it and `Display` writes it:
///
/// | text | fault |
/// |---|---|
/// | `500`, `503` | [`Fault::Status`] without `Retry-After` |
/// | `429:2` | [`Fault::Status`] with `Retry-After: 2` |
/// | `delay:250ms`, `delay:2s` | [`Fault::Delay`] |
/// | `drop` | [`Fault::DropConnection`] |
/// | `truncate` | [`Fault::TruncatedBody`] |
/// | `garbage` | [`Fault::GarbageBody`] |
/// | `no-exp` | [`Fault::TokenWithoutExp`] |
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Fault {
    /// Answer with this status (400..=599) and an empty body. 400 and 401 carry the spec's
    /// `WWW-Authenticate` header (`Invalid request: injected fault` /
    /// `Invalid token: injected fault`); `retry_after_secs` adds `Retry-After`.
    Status {
        /// The HTTP status, 400..=599.
        status: u16,
        /// The `Retry-After` value in seconds, if any.
        retry_after_secs: Option<u32>,
    },
    /// Wait this long (at most 10 minutes), then serve the request normally.
    Delay(Duration),
    /// Close the connection without sending a response.
    DropConnection,
    /// Send a 200 whose headers promise the full token body, send half of it, then close the
    /// connection.
    TruncatedBody,
    /// Send a 200 with `Content-Type: application/json` and a body that is not JSON.
    GarbageBody,
    /// Issue a properly signed token whose claims lack `exp` (if the request is otherwise
    /// valid for a configured account; else the normal error is served).
    TokenWithoutExp,
}

impl Fault {
    /// A status fault; fails unless `status` is in 400..=599.
    pub fn status(status: u16, retry_after_secs: Option<u32>) -> Result<Self> {
        let fault = Self::Status {
            status,
            retry_after_secs,
        };
        fault.validate()?;
        Ok(fault)
    }

    /// Checks that the emulator can serve this fault.
    pub fn validate(&self) -> Result<()> {
        match *self {
            Self::Status { status, .. } if !(400..=599).contains(&status) => Err(Error::new(
                ErrorKind::InvalidConfig,
                format!("fault status {status} is not in 400..=599"),
            )),
            Self::Delay(delay) if delay > MAX_DELAY => Err(Error::new(
                ErrorKind::InvalidConfig,
                "fault delay is longer than 10 minutes",
            )),
            _ => Ok(()),
        }
    }

    /// Parses a comma-separated script such as `429:1,500,drop,delay:200ms,no-exp`.
    /// Whitespace around items is ignored; an empty script is an empty list.
    pub fn parse_script(script: &str) -> Result<Vec<Self>> {
        script
            .split(',')
            .map(str::trim)
            .filter(|item| !item.is_empty())
            .map(str::parse)
            .collect()
    }
}

fn parse_duration(text: &str) -> Option<Duration> {
    let (number, unit) = text
        .find(|c: char| !c.is_ascii_digit())
        .map_or((text, ""), |at| text.split_at(at));
    let value: u64 = number.parse().ok()?;
    match unit {
        "ms" => Some(Duration::from_millis(value)),
        "s" | "" => Some(Duration::from_secs(value)),
        _ => None,
    }
}

impl FromStr for Fault {
    type Err = Error;

    fn from_str(text: &str) -> Result<Self> {
        let invalid = || {
            Error::new(
                ErrorKind::InvalidConfig,
                format!(
                    "unknown fault `{text}`; use STATUS, STATUS:RETRY_AFTER_SECS, delay:MS ms|S s, drop, truncate, garbage or no-exp"
                ),
            )
        };
        let lower = text.trim().to_ascii_lowercase();
        let fault = match lower.as_str() {
            "drop" => Self::DropConnection,
            "truncate" => Self::TruncatedBody,
            "garbage" => Self::GarbageBody,
            "no-exp" => Self::TokenWithoutExp,
            other => {
                if let Some(delay) = other.strip_prefix("delay:") {
                    Self::Delay(parse_duration(delay).ok_or_else(invalid)?)
                } else {
                    let (status, retry) = match other.split_once(':') {
                        Some((status, retry)) => (status, Some(retry)),
                        None => (other, None),
                    };
                    let status: u16 = status.parse().map_err(|_| invalid())?;
                    let retry_after_secs = match retry {
                        Some(retry) => Some(retry.parse().map_err(|_| invalid())?),
                        None => None,
                    };
                    Self::Status {
                        status,
                        retry_after_secs,
                    }
                }
            }
        };
        fault.validate()?;
        Ok(fault)
    }
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Status {
                status,
                retry_after_secs: Some(retry),
            } => write!(f, "{status}:{retry}"),
            Self::Status { status, .. } => write!(f, "{status}"),
            Self::Delay(delay) => write!(f, "delay:{}ms", delay.as_millis()),
            Self::DropConnection => f.write_str("drop"),
            Self::TruncatedBody => f.write_str("truncate"),
            Self::GarbageBody => f.write_str("garbage"),
            Self::TokenWithoutExp => f.write_str("no-exp"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_kind() {
        let faults =
            Fault::parse_script(" 429:2, 500 ,delay:250ms,delay:3s,drop,truncate,garbage,no-exp,")
                .unwrap();
        assert_eq!(
            faults,
            vec![
                Fault::Status {
                    status: 429,
                    retry_after_secs: Some(2)
                },
                Fault::Status {
                    status: 500,
                    retry_after_secs: None
                },
                Fault::Delay(Duration::from_millis(250)),
                Fault::Delay(Duration::from_secs(3)),
                Fault::DropConnection,
                Fault::TruncatedBody,
                Fault::GarbageBody,
                Fault::TokenWithoutExp,
            ]
        );
    }

    #[test]
    fn display_round_trips() {
        let script = "429:1,503,delay:20ms,drop,truncate,garbage,no-exp";
        let faults = Fault::parse_script(script).unwrap();
        let text = faults
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(",");
        assert_eq!(text, script);
    }

    #[test]
    fn rejects_bad_items() {
        for bad in [
            "200",
            "302",
            "600",
            "abc",
            "429:x",
            "429:-1",
            "delay:",
            "delay:5h",
            "delay:-1ms",
            "delay:700s",
            "70000",
        ] {
            let err = bad.parse::<Fault>().unwrap_err();
            assert_eq!(err.kind(), ErrorKind::InvalidConfig, "{bad}");
        }
        assert!(Fault::status(200, None).is_err());
        assert!(Fault::status(503, Some(1)).is_ok());
    }

    #[test]
    fn empty_script_is_empty() {
        assert!(Fault::parse_script("").unwrap().is_empty());
        assert!(Fault::parse_script(" , ").unwrap().is_empty());
    }
}
