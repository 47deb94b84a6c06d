//! The refusal of a token request: the status and the `WWW-Authenticate` message the STS
//! answers with. Every check (request shape, account, credential, AAD token) returns one.

use hyper::StatusCode;

/// Why a token request is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Rejection {
    pub(super) status: StatusCode,
    pub(super) www_authenticate: Option<&'static str>,
}

impl Rejection {
    pub(super) const fn bad_request(message: &'static str) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            www_authenticate: Some(message),
        }
    }

    pub(super) const fn unauthorized(message: &'static str) -> Self {
        Self {
            status: StatusCode::UNAUTHORIZED,
            www_authenticate: Some(message),
        }
    }

    pub(super) const fn status(status: StatusCode) -> Self {
        Self {
            status,
            www_authenticate: None,
        }
    }
}
