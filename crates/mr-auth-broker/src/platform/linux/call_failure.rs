//! What a failed call on the broker's bus tells the broker client.

use crate::error::Error;

/// A failed call: the credential's error, and whether the connection itself is gone (so the
/// next call should connect again).
#[derive(Debug)]
pub(crate) struct CallFailure {
    pub(crate) error: Error,
    pub(crate) connection_lost: bool,
}

impl From<CallFailure> for Error {
    fn from(failure: CallFailure) -> Self {
        failure.error
    }
}
