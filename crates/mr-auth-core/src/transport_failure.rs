//! Naming the cause of a failed request from the error chain `azure_core` and `reqwest` build
//! (`azure_core::Error` -> `reqwest::Error` -> `hyper_util` -> `hyper` / `io::Error` ->
//! `rustls::Error`), so the top-level message says what happened.

use std::{error::Error as StdError, io};

/// What went wrong with a request that got no usable response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TransportFailure {
    /// The TLS handshake failed (certificate or protocol).
    Tls,
    /// Establishing the connection took longer than the connect timeout.
    ConnectTimeout,
    /// The server refused the connection.
    Refused,
    /// The connection was reset.
    Reset,
    /// The connection was closed before a (complete) response.
    Closed,
    /// Connecting failed for another reason (DNS, unreachable network).
    Connect,
    /// Anything else.
    Other,
}

impl TransportFailure {
    /// Whether the request cannot have reached the server: no connection was made (refused,
    /// the connect timeout, DNS or an unreachable network). A request that must never be sent
    /// twice (a single-use authorization code) may be sent again only after such a failure.
    pub fn request_not_sent(self) -> bool {
        matches!(self, Self::Refused | Self::ConnectTimeout | Self::Connect)
    }
}

/// A failed request's cause, as [`describe_transport_failure`] reads it.
#[derive(Debug, Clone)]
pub struct DescribedTransportFailure {
    /// What went wrong.
    pub failure: TransportFailure,
    /// A short lowercase description of the cause, for an error's message (bounded, without
    /// control characters).
    pub cause: String,
}

/// The longest cause text quoted from an inner error.
const MAX_CAUSE: usize = 300;

/// Names the cause of a request that failed before a usable response, from the error chain
/// `azure_core` and `reqwest` build (`azure_core::Error` -> `reqwest::Error` -> `hyper_util` ->
/// `hyper` / `io::Error` -> `rustls::Error`): refused, reset, closed early, the connect
/// timeout, TLS (with the certificate's problem), or the innermost error's text.
pub fn describe_transport_failure(error: &azure_core::Error) -> DescribedTransportFailure {
    let mut connect = false;
    let mut timeout = false;
    let mut io_kind = None;
    let mut closed = false;
    let mut tls = None;
    let mut innermost = error.to_string();

    let mut current: Option<&(dyn StdError + 'static)> = error
        .get_ref()
        .map(|inner| inner as &(dyn StdError + 'static));
    while let Some(err) = current {
        innermost = err.to_string();
        if let Some(reqwest_error) = err.downcast_ref::<reqwest::Error>() {
            connect |= reqwest_error.is_connect();
            timeout |= reqwest_error.is_timeout();
        }
        if let Some(hyper_error) = err.downcast_ref::<hyper::Error>() {
            closed |= hyper_error.is_incomplete_message() || hyper_error.is_closed();
        }
        let mut next = err.source();
        if let Some(io_error) = err.downcast_ref::<io::Error>() {
            // The most specific kind: wrappers are often `Other`.
            if matches!(io_kind, None | Some(io::ErrorKind::Other)) {
                io_kind = Some(io_error.kind());
            }
            // `io::Error::source` skips the wrapped error itself (it returns the wrapped
            // error's own source), so step into the wrapped error instead.
            if let Some(inner) = io_error.get_ref() {
                next = Some(inner);
            }
        }
        if tls.is_none() {
            tls = tls_cause(err);
        }
        current = next;
    }

    let (failure, cause) = if let Some(cause) = tls {
        (TransportFailure::Tls, cause)
    } else if connect && timeout {
        (
            TransportFailure::ConnectTimeout,
            "connect timeout".to_owned(),
        )
    } else {
        match io_kind {
            Some(io::ErrorKind::ConnectionRefused) => {
                (TransportFailure::Refused, "connection refused".to_owned())
            }
            Some(io::ErrorKind::ConnectionReset | io::ErrorKind::ConnectionAborted) => {
                (TransportFailure::Reset, "connection reset".to_owned())
            }
            Some(io::ErrorKind::UnexpectedEof | io::ErrorKind::BrokenPipe) => (
                TransportFailure::Closed,
                "the connection was closed early".to_owned(),
            ),
            _ if closed => (
                TransportFailure::Closed,
                "the connection was closed early".to_owned(),
            ),
            _ if connect => (
                TransportFailure::Connect,
                crate::outside_text(&innermost, MAX_CAUSE),
            ),
            _ => (
                TransportFailure::Other,
                crate::outside_text(&innermost, MAX_CAUSE),
            ),
        }
    };
    DescribedTransportFailure { failure, cause }
}

#[cfg(not(windows))]
fn tls_cause(error: &(dyn StdError + 'static)) -> Option<String> {
    use rustls::{CertificateError, Error as TlsError};
    let tls = error.downcast_ref::<TlsError>()?;
    let cause = match tls {
        TlsError::InvalidCertificate(certificate) => match certificate {
            CertificateError::UnknownIssuer => "the server's certificate is not trusted (unknown issuer); if this is a private STS or the emulator, trust its CA (extra_root_certificates_pem, or --ca-file)".to_owned(),
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => "the server's certificate is not valid for this host name (name mismatch); check the endpoint's host".to_owned(),
            CertificateError::Expired | CertificateError::ExpiredContext { .. } => "the server's certificate has expired; check the server's certificate and this machine's clock".to_owned(),
            CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => "the server's certificate is not valid yet; check this machine's clock".to_owned(),
            CertificateError::Revoked => "the server's certificate has been revoked".to_owned(),
            CertificateError::BadSignature => "the server's certificate has a bad signature (it is not signed by the trusted CA of that name)".to_owned(),
            other => format!("the server's certificate was rejected ({other:?})"),
        },
        other => format!("the TLS handshake failed ({})", crate::outside_text(&other.to_string(), MAX_CAUSE)),
    };
    Some(cause)
}

/// On Windows the OS stack (schannel) reports TLS failures as OS errors, so they read as the
/// OS says (through the innermost cause) rather than being told apart.
#[cfg(windows)]
fn tls_cause(_error: &(dyn StdError + 'static)) -> Option<String> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn core_error(inner: io::Error) -> azure_core::Error {
        azure_core::Error::new(azure_core::error::ErrorKind::Io, inner)
    }

    #[test]
    fn io_kinds_deep_in_the_chain_name_the_cause() {
        let wrapped = |kind| core_error(io::Error::other(io::Error::from(kind)));
        let refused = describe_transport_failure(&wrapped(io::ErrorKind::ConnectionRefused));
        assert_eq!(refused.failure, TransportFailure::Refused);
        let reset = describe_transport_failure(&wrapped(io::ErrorKind::ConnectionReset));
        assert_eq!(reset.failure, TransportFailure::Reset);
        let eof = describe_transport_failure(&wrapped(io::ErrorKind::UnexpectedEof));
        assert_eq!(eof.failure, TransportFailure::Closed);
        let other = describe_transport_failure(&core_error(io::Error::other("strange\r\nthing")));
        assert_eq!(other.failure, TransportFailure::Other);
        assert_eq!(other.cause, "strange\u{fffd}\u{fffd}thing");
    }

    #[cfg(not(windows))]
    #[test]
    fn certificate_problems_are_tls_failures_with_their_reason() {
        use rustls::{CertificateError, Error as TlsError};
        let tls = |error: TlsError| {
            let inner = io::Error::new(io::ErrorKind::InvalidData, error);
            describe_transport_failure(&core_error(io::Error::other(inner)))
        };
        for (error, expected) in [
            (
                CertificateError::UnknownIssuer,
                "not trusted (unknown issuer)",
            ),
            (CertificateError::NotValidForName, "name mismatch"),
            (CertificateError::Expired, "has expired"),
            (CertificateError::NotValidYet, "not valid yet"),
            (CertificateError::Revoked, "revoked"),
        ] {
            let described = tls(TlsError::InvalidCertificate(error));
            assert_eq!(described.failure, TransportFailure::Tls);
            assert!(described.cause.contains(expected), "{}", described.cause);
        }
        let handshake = tls(TlsError::HandshakeNotComplete);
        assert_eq!(handshake.failure, TransportFailure::Tls);
        assert!(
            handshake.cause.starts_with("the TLS handshake failed"),
            "{}",
            handshake.cause
        );
    }
}
