use std::time::Duration;

use crate::{Error, ErrorKind, Result};

/// Resource bounds of a running emulator. Public fields; start from [`Limits::default`]
/// (`Limits { max_connections: 64, ..Limits::default() }`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Largest request head (request line and headers) in bytes; at least 8192.
    /// Larger requests get `431` or a closed connection. Default 16 KiB.
    pub max_header_bytes: usize,
    /// Largest declared request body (`Content-Length`); larger requests get `413`.
    /// Bodies are never read. Default 4 KiB.
    pub max_body_bytes: u64,
    /// Connections served at once; further connections wait in the listen backlog.
    /// Default 512.
    pub max_connections: usize,
    /// Time allowed for the TLS handshake and for each request head to arrive. Default 10 s.
    pub header_read_timeout: Duration,
    /// A connection with no request in flight for this long is closed. Default 60 s.
    pub idle_timeout: Duration,
    /// A connection older than this is closed after its current request. Default 10 min.
    pub connection_lifetime: Duration,
    /// On shutdown (and at the end of a connection's lifetime), how long in-flight requests
    /// may take before their connections are dropped. Default 5 s.
    pub shutdown_grace: Duration,
    /// How many request summaries [`Stats::recent`](crate::Stats::recent) keeps. Default 128.
    pub request_log_capacity: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_header_bytes: 16 * 1024,
            max_body_bytes: 4 * 1024,
            max_connections: 512,
            header_read_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            connection_lifetime: Duration::from_secs(600),
            shutdown_grace: Duration::from_secs(5),
            request_log_capacity: 128,
        }
    }
}

impl Limits {
    /// Checks the bounds the server needs.
    pub fn validate(&self) -> Result<()> {
        let invalid = |message: &str| Err(Error::new(ErrorKind::InvalidConfig, message));
        if self.max_header_bytes < 8192 {
            return invalid("max_header_bytes must be at least 8192");
        }
        if self.max_connections == 0 {
            return invalid("max_connections must be at least 1");
        }
        for (value, name) in [
            (self.header_read_timeout, "header_read_timeout"),
            (self.idle_timeout, "idle_timeout"),
            (self.connection_lifetime, "connection_lifetime"),
        ] {
            if value.is_zero() {
                return Err(Error::new(
                    ErrorKind::InvalidConfig,
                    format!("{name} must be longer than zero"),
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_is_valid() {
        assert!(Limits::default().validate().is_ok());
    }

    #[test]
    fn rejects_small_header_buffer_and_zero_bounds() {
        let small = Limits {
            max_header_bytes: 100,
            ..Limits::default()
        };
        assert_eq!(
            small.validate().unwrap_err().kind(),
            ErrorKind::InvalidConfig
        );
        let no_conn = Limits {
            max_connections: 0,
            ..Limits::default()
        };
        assert!(no_conn.validate().is_err());
        let zero_idle = Limits {
            idle_timeout: Duration::ZERO,
            ..Limits::default()
        };
        assert!(zero_idle
            .validate()
            .unwrap_err()
            .message()
            .contains("idle_timeout"));
    }
}
