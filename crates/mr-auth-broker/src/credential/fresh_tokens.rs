//! The hit path of a plain request (no per-request options): the tokens the in-memory cache
//! would hand out at once, by the scopes exactly as the caller passed them, read without a
//! lock and without a shared write, so that any number of threads asking for a token they
//! already have never wait for each other. Every Azure SDK client request goes through it.
//!
//! It is an index in front of the single-flight cache, never a second source of truth: an
//! entry is copied from the cache (value and refresh point read together) after a plain
//! request was answered, it is served only before that refresh point (after it, the call goes
//! to the cache, which refreshes ahead), and a token the cache gets from outside a fetch (an
//! interactive sign-in, `authenticate`) removes the entries of its key first.

use super::token_request::CacheKey;
use crate::oauth::AccessTokenInfo;
use arc_swap::ArcSwap;
use std::{
    fmt,
    sync::{Arc, Mutex, MutexGuard},
};
use time::OffsetDateTime;

/// The most entries kept. A hit scans them and a new one copies them (sharing each), so they
/// are kept to the scope sets a credential serves often; the rest are answered by the cache
/// (64 keys), one lock away.
const MAX_ENTRIES: usize = 16;

/// One plain request's fresh token.
struct Fresh {
    /// The scopes as the caller gave them (order and repeats included): a lookup compares
    /// them with the caller's borrowed scopes, so a hit builds no key.
    scopes: Box<[Box<str>]>,
    /// The cache key those scopes resolve to.
    key: CacheKey,
    token: AccessTokenInfo,
    /// The cache's refresh point of `token`, in nanoseconds since the Unix epoch.
    refresh_at: i128,
}

/// See the module documentation.
pub(crate) struct FreshTokens {
    /// Replaced as a whole by writers (sharing the entries they keep); readers load it
    /// without a lock.
    entries: ArcSwap<Vec<Arc<Fresh>>>,
    /// Serialises writers, and holds the cache read inside [`remember`](Self::remember) and
    /// [`forget`](Self::forget)'s removal in one order: an entry removed for a new token
    /// cannot be put back with the old one.
    writer: Mutex<()>,
}

impl FreshTokens {
    pub(crate) fn new() -> Self {
        Self {
            entries: ArcSwap::from_pointee(Vec::new()),
            writer: Mutex::new(()),
        }
    }

    /// The token remembered for exactly `scopes`, if `now` (Unix nanoseconds) is before its
    /// refresh point.
    pub(crate) fn get(&self, scopes: &[&str], now: i128) -> Option<AccessTokenInfo> {
        let entries = self.entries.load();
        let fresh = entries.iter().find(|f| same_scopes(&f.scopes, scopes))?;
        (now < fresh.refresh_at).then(|| fresh.token.clone())
    }

    /// After a plain request for `scopes` (resolved to `key`) was answered: keeps what
    /// `cached` reads from the cache (the key's value and refresh point, if it is fresh), so
    /// the next call with the same scopes is a lock-free hit. `now` is in Unix nanoseconds.
    pub(crate) fn remember(
        &self,
        scopes: &[&str],
        key: &CacheKey,
        now: i128,
        cached: impl FnOnce() -> Option<(AccessTokenInfo, OffsetDateTime)>,
    ) {
        let _writer = self.lock_writer();
        let Some((token, refresh_at)) = cached() else {
            return;
        };
        let refresh_at = refresh_at.unix_timestamp_nanos();
        let current = self.entries.load();
        if current
            .iter()
            .any(|f| same_scopes(&f.scopes, scopes) && f.refresh_at == refresh_at)
        {
            return;
        }
        let mut entries: Vec<Arc<Fresh>> = current
            .iter()
            .filter(|f| !same_scopes(&f.scopes, scopes) && now < f.refresh_at)
            .cloned()
            .collect();
        if entries.len() >= MAX_ENTRIES {
            // The oldest entries go; their requests find the cache, which keeps them anyway.
            entries.drain(..=entries.len() - MAX_ENTRIES);
        }
        entries.push(Arc::new(Fresh {
            scopes: scopes.iter().map(|s| Box::from(*s)).collect(),
            key: key.clone(),
            token,
            refresh_at,
        }));
        self.entries.store(Arc::new(entries));
    }

    /// Removes every entry of `key`: the cache is about to get another token for it.
    pub(crate) fn forget(&self, key: &CacheKey) {
        let _writer = self.lock_writer();
        let current = self.entries.load();
        if current.iter().any(|f| f.key == *key) {
            let entries = current.iter().filter(|f| f.key != *key).cloned().collect();
            self.entries.store(Arc::new(entries));
        }
    }

    /// How many entries there are.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.entries.load().len()
    }

    fn lock_writer(&self) -> MutexGuard<'_, ()> {
        // It guards no data of its own: a panic while it was held leaves nothing half done.
        self.writer
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

fn same_scopes(remembered: &[Box<str>], asked: &[&str]) -> bool {
    remembered.len() == asked.len() && remembered.iter().zip(asked).all(|(r, a)| **r == **a)
}

impl fmt::Debug for FreshTokens {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FreshTokens")
            .field("entries", &self.entries.load().len())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        credential::{
            credential_config::CredentialConfig, BrokerTokenRequestOptions,
            InteractiveBrowserBrokerCredentialOptions,
        },
        oauth::TokenType,
    };
    use azure_core::credentials::Secret;
    use std::sync::{
        atomic::{AtomicBool, Ordering},
        Barrier,
    };

    const NOW: i128 = 1_000;

    fn key(scopes: &[&str]) -> CacheKey {
        let config =
            CredentialConfig::for_test(InteractiveBrowserBrokerCredentialOptions::default());
        super::super::token_request::TokenRequest::resolve(
            &config,
            scopes,
            &BrokerTokenRequestOptions::default(),
        )
        .unwrap()
        .cache_key(&config)
    }

    fn token(secret: &str) -> AccessTokenInfo {
        AccessTokenInfo {
            token: Secret::new(secret.to_owned()),
            expires_on: OffsetDateTime::UNIX_EPOCH + time::Duration::hours(1),
            token_type: TokenType::Bearer,
            refresh_on: None,
        }
    }

    /// A refresh point `nanos` after the epoch.
    fn at(nanos: i128) -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp_nanos(nanos).unwrap()
    }

    #[test]
    fn a_hit_needs_the_same_scopes_and_a_time_before_the_refresh_point() {
        let fresh = FreshTokens::new();
        let k = key(&["b", "a"]);
        fresh.remember(&["b", "a"], &k, NOW, || Some((token("t"), at(2_000))));
        fresh.remember(&["a", "b", "a"], &k, NOW, || Some((token("t"), at(2_000))));
        assert_eq!(fresh.len(), 2);
        assert_eq!(fresh.get(&["b", "a"], NOW).unwrap().token.secret(), "t");
        assert_eq!(
            fresh.get(&["a", "b", "a"], 1_999).unwrap().token.secret(),
            "t"
        );
        assert!(
            fresh.get(&["b", "a"], 2_000).is_none(),
            "at the refresh point"
        );
        assert!(fresh.get(&["a", "b"], NOW).is_none(), "other scopes");
        assert!(fresh.get(&["b"], NOW).is_none());
        // Nothing fresh in the cache: nothing remembered.
        fresh.remember(&["c"], &key(&["c"]), NOW, || None);
        assert!(fresh.get(&["c"], NOW).is_none());
        // Forgetting the key removes every spelling of its scopes.
        fresh.forget(&k);
        assert_eq!(fresh.len(), 0);
    }

    #[test]
    fn the_entries_stay_bounded_and_stale_ones_go_first() {
        let fresh = FreshTokens::new();
        fresh.remember(&["stale"], &key(&["stale"]), NOW, || {
            Some((token("s"), at(NOW + 1)))
        });
        for i in 0..(2 * MAX_ENTRIES) {
            let scope = format!("s{i}");
            fresh.remember(&[scope.as_str()], &key(&[scope.as_str()]), NOW + 1, || {
                Some((token("t"), at(10_000)))
            });
        }
        assert_eq!(fresh.len(), MAX_ENTRIES);
        assert!(fresh.get(&["stale"], NOW).is_none());
        let newest = format!("s{}", 2 * MAX_ENTRIES - 1);
        assert!(fresh.get(&[newest.as_str()], NOW).is_some());
        assert!(fresh.get(&["s0"], NOW).is_none(), "the oldest went");
    }

    /// Readers on several threads hit while a writer replaces the key's token (as an
    /// interactive sign-in does: the cache gets the new token, then the key is forgotten):
    /// every hit gives a whole token, and none after the replacement gives the old one.
    #[test]
    fn concurrent_hits_never_see_a_replaced_token() {
        const READERS: usize = 4;
        const READS: usize = 20_000;
        let fresh = FreshTokens::new();
        let k = key(&["s"]);
        fresh.remember(&["s"], &k, NOW, || Some((token("old"), at(1_000_000))));
        // Set before the key is forgotten (a miss may follow from then on) and after (no hit
        // may give the old token from then on).
        let forgetting = AtomicBool::new(false);
        let replaced = AtomicBool::new(false);
        let start = Barrier::new(READERS + 1);
        std::thread::scope(|scope| {
            let readers: Vec<_> = (0..READERS)
                .map(|_| {
                    scope.spawn(|| {
                        start.wait();
                        for _ in 0..READS {
                            let was_replaced = replaced.load(Ordering::SeqCst);
                            match fresh.get(&["s"], NOW) {
                                Some(t) => {
                                    assert!(
                                        !was_replaced,
                                        "a hit after the replacement gave {:?}",
                                        t.token.secret()
                                    );
                                    assert_eq!(t.token.secret(), "old");
                                }
                                None => assert!(forgetting.load(Ordering::SeqCst)),
                            }
                        }
                    })
                })
                .collect();
            start.wait();
            // The writer, while the readers read.
            forgetting.store(true, Ordering::SeqCst);
            fresh.forget(&k);
            replaced.store(true, Ordering::SeqCst);
            for reader in readers {
                reader.join().unwrap();
            }
        });
        fresh.remember(&["s"], &k, NOW, || Some((token("new"), at(1_000_000))));
        assert_eq!(fresh.get(&["s"], NOW).unwrap().token.secret(), "new");
    }
}
