//! The MSAL token cache's errors as this crate's: the one place the cache crate's error kinds
//! meet the broker's (the credential is the layer that uses the cache).

use crate::error::{Error, ErrorKind};

impl From<mr_auth_msal_cache::Error> for Error {
    /// The cache's invalid input and protocol errors keep their kind; every other cache error
    /// (no store, unsupported, a corrupt document, the lock, a file or keyring failure) is
    /// [`ErrorKind::PersistentCache`]. The message is the cache's, and the cache's error is the
    /// source, for its own kind.
    fn from(error: mr_auth_msal_cache::Error) -> Self {
        use mr_auth_msal_cache::ErrorKind as Cache;
        let kind = match error.kind() {
            Cache::InvalidInput => ErrorKind::InvalidInput,
            Cache::Protocol => ErrorKind::Protocol,
            _ => ErrorKind::PersistentCache,
        };
        Error::new(kind, error.message()).with_source(error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cache_errors_keep_their_kind_message_and_source() {
        use mr_auth_msal_cache::ErrorKind as Cache;
        use std::error::Error as _;
        for (cache, broker) in [
            (Cache::InvalidInput, ErrorKind::InvalidInput),
            (Cache::Protocol, ErrorKind::Protocol),
            (Cache::Timeout, ErrorKind::PersistentCache),
            (Cache::InvalidDocument, ErrorKind::PersistentCache),
            (Cache::StoreUnavailable, ErrorKind::PersistentCache),
        ] {
            let e = Error::from(mr_auth_msal_cache::Error::new(cache, "left as it is"));
            assert_eq!(e.kind(), broker);
            assert_eq!(e.message(), "left as it is");
            let source = e
                .source()
                .and_then(|s| s.downcast_ref::<mr_auth_msal_cache::Error>());
            assert_eq!(source.map(mr_auth_msal_cache::Error::kind), Some(cache));
        }
    }
}
