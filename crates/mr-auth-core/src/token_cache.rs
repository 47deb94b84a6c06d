use std::{
    collections::HashMap,
    fmt,
    future::Future,
    hash::Hash,
    panic::AssertUnwindSafe,
    pin::Pin,
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc, Mutex, MutexGuard,
    },
    task::{Context, Poll},
    time::Duration,
};

use azure_core::credentials::AccessToken;
use rand::Rng as _;
use time::{OffsetDateTime, PrimitiveDateTime};
use tokio::sync::watch;

use crate::{Clock, Error, ErrorKind, SystemClock};

/// A cached value that knows when it stops being usable.
pub trait Expiring {
    /// When the value expires. [`TokenCache`] never hands out a value at or after this instant
    /// (less [`TokenCacheOptions::expiry_buffer`]).
    fn expires_on(&self) -> OffsetDateTime;

    /// When the issuer asked for the value to be refreshed, if it did (for example the
    /// `refresh_in` of an Entra ID token response). When `None`, the cache refreshes
    /// [`TokenCacheOptions::refresh_before`] ahead of [`expires_on`](Self::expires_on).
    fn refresh_on(&self) -> Option<OffsetDateTime> {
        None
    }
}

impl Expiring for AccessToken {
    fn expires_on(&self) -> OffsetDateTime {
        self.expires_on
    }
}

impl<T: Expiring + ?Sized> Expiring for Arc<T> {
    fn expires_on(&self) -> OffsetDateTime {
        (**self).expires_on()
    }

    fn refresh_on(&self) -> Option<OffsetDateTime> {
        (**self).refresh_on()
    }
}

/// A fetch produced a value that was already expired by the cache's clock.
///
/// The cache does not hand such a value out, and does not store it. It usually means the local
/// clock is wrong. Error types used with [`TokenCache`] convert from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FetchedTokenExpired {
    /// The fetched value's expiry.
    pub expires_on: OffsetDateTime,
    /// The time on the cache's clock when the value arrived.
    pub now: OffsetDateTime,
}

impl fmt::Display for FetchedTokenExpired {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the new token was already expired when it arrived (it expires on {}, the local clock says {}); check the system clock",
            self.expires_on, self.now
        )
    }
}

impl std::error::Error for FetchedTokenExpired {}

impl From<FetchedTokenExpired> for Error {
    fn from(expired: FetchedTokenExpired) -> Self {
        Error::new(ErrorKind::Protocol, expired.to_string())
    }
}

/// A fetch ended without a result: it panicked, or the runtime it ran on shut down.
///
/// Every caller waiting for that fetch gets this (converted into the cache's error type)
/// instead of a panic, and the next call for the key starts a new fetch. Error types used with
/// [`TokenCache`] convert from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FetchAborted {
    /// `true` when the fetch panicked; `false` when its runtime shut down first.
    pub panicked: bool,
}

impl fmt::Display for FetchAborted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.panicked {
            f.write_str("the token fetch panicked (a bug in the code that fetches tokens); the next call tries again, report the bug if it persists")
        } else {
            f.write_str("the token fetch ended without a result because its runtime shut down; call again from a running tokio runtime")
        }
    }
}

impl std::error::Error for FetchAborted {}

impl From<FetchAborted> for Error {
    /// An [`ErrorKind::AuthenticationFailed`]: the credential could not produce a token.
    fn from(aborted: FetchAborted) -> Self {
        Error::new(ErrorKind::AuthenticationFailed, aborted.to_string())
    }
}

/// How far ahead of expiry [`TokenCache`] refreshes by default: 5 minutes, as the Azure SDKs'
/// bearer policies do.
pub const DEFAULT_REFRESH_BEFORE: Duration = Duration::from_secs(5 * 60);

/// The default bound of the random extra lead time added to each cached value's refresh point:
/// 30 seconds.
pub const DEFAULT_MAX_JITTER: Duration = Duration::from_secs(30);

/// How long [`TokenCache`] waits by default, after a refresh failed while the cached value was
/// still valid, before it tries again: 30 seconds.
pub const DEFAULT_RETRY_DELAY: Duration = Duration::from_secs(30);

/// How many keys a [`TokenCache`] holds by default: 64, as `aws-config`'s lazy credentials
/// cache does.
pub const DEFAULT_MAX_ENTRIES: usize = 64;

/// Tuning of a [`TokenCache`].
#[derive(Clone, Debug)]
pub struct TokenCacheOptions {
    /// Refresh this long before the value expires (unless the value names its own
    /// [`refresh_on`](Expiring::refresh_on)). Default [`DEFAULT_REFRESH_BEFORE`].
    pub refresh_before: Duration,
    /// Each stored value's refresh point moves earlier by a random amount in
    /// `[0, max_jitter]`, drawn once when the value is stored, so a fleet of processes started
    /// together does not refresh in lockstep. Zero turns jitter off. Default
    /// [`DEFAULT_MAX_JITTER`].
    pub max_jitter: Duration,
    /// Treat a value as expired this long before its real expiry, so that a value handed out is
    /// still usable when it reaches the service. Default zero.
    pub expiry_buffer: Duration,
    /// After a refresh failed while the cached value was still valid, wait this long before the
    /// next refresh attempt (the cached value is served meanwhile). Does not apply once the
    /// value has expired: then every call that finds no fetch running starts one. Default
    /// [`DEFAULT_RETRY_DELAY`].
    pub retry_delay: Duration,
    /// The most keys the cache holds (at least 1). When a new key arrives at the bound, expired
    /// entries go first, then the least recently used. Default [`DEFAULT_MAX_ENTRIES`].
    pub max_entries: usize,
    /// The source of "now". Default [`SystemClock`]; tests inject a
    /// [`ManualClock`](crate::ManualClock).
    pub clock: Arc<dyn Clock>,
}

impl Default for TokenCacheOptions {
    fn default() -> Self {
        Self {
            refresh_before: DEFAULT_REFRESH_BEFORE,
            max_jitter: DEFAULT_MAX_JITTER,
            expiry_buffer: Duration::ZERO,
            retry_delay: DEFAULT_RETRY_DELAY,
            max_entries: DEFAULT_MAX_ENTRIES,
            clock: Arc::new(SystemClock),
        }
    }
}

/// A single-flight, refresh-ahead, bounded cache of expiring values (access tokens), shared by
/// the Mixed Reality caching credential (one key) and the broker credential (one key per
/// authority, tenant, client, scopes, claims, ...).
///
/// [`get_or_fetch`](Self::get_or_fetch) behaves as follows for a key:
///
/// - **fresh** (before the refresh point): the cached value, without fetching;
/// - **refresh window** (after the refresh point, still valid): the cached value at once, and a
///   background refresh is started unless one is already running (or a failed one is being
///   backed off, see [`TokenCacheOptions::retry_delay`]). If that refresh fails, the cached value
///   keeps being served and a warning is logged;
/// - **empty or expired**: the caller waits for a fetch. However many callers arrive, only one
///   fetch runs; all of them get its value or its error.
///
/// An expired value is never returned. The refresh point is
/// `refresh_on` (or `expires_on - refresh_before`) minus a random jitter in `[0, max_jitter]`,
/// but never earlier than halfway through the value's remaining lifetime when it was stored
/// (so short-lived values do not cause a fetch on every call).
///
/// The cache holds at most [`TokenCacheOptions::max_entries`] keys: a key whose fetch failed
/// (with nothing valid cached) is dropped at once, and a new key arriving at the bound first
/// sweeps out expired entries, then evicts the least recently used one.
///
/// A fetch a caller must wait for runs in that caller's task (no task is spawned, no wake-up
/// crosses tasks on the common path); if that caller drops its future first (a timeout, a
/// `select!`), the fetch goes on in a spawned tokio task, so it neither cancels the fetch
/// others wait for nor loses its value (a rotated refresh token) nor leaves the key stuck. A
/// background refresh runs in a spawned task from the start. That is also why a fetch must
/// never need the caller (no user interaction: a caller cannot cancel it). Call it from within
/// a tokio runtime. If a fetch panics, every caller waiting for it gets [`FetchAborted`] as its
/// error (never a panic) and the next call starts a new fetch.
///
/// All time is read through [`TokenCacheOptions::clock`].
pub struct TokenCache<K, V, E> {
    inner: Arc<Inner<K, V, E>>,
}

struct Inner<K, V, E> {
    options: TokenCacheOptions,
    slots: Mutex<Slots<K, V, E>>,
    next_fetch_id: AtomicU64,
}

struct Slots<K, V, E> {
    map: HashMap<K, Slot<V, E>>,
    /// Advanced on every use of a key; a slot's `last_used` orders eviction.
    tick: u64,
}

struct Slot<V, E> {
    cached: Option<Cached<V>>,
    in_flight: Option<InFlight<V, E>>,
    /// Set after a refresh failed while the value was still valid.
    retry_not_before: Option<OffsetDateTime>,
    last_used: u64,
}

impl<V, E> Slot<V, E> {
    fn empty(last_used: u64) -> Self {
        Self {
            cached: None,
            in_flight: None,
            retry_not_before: None,
            last_used,
        }
    }

    /// Evicted first, the lowest: idle slots before ones with a fetch running (whose waiters
    /// still get its result), each by least recent use.
    fn eviction_rank(&self) -> (bool, u64) {
        (self.in_flight.is_some(), self.last_used)
    }
}

struct Cached<V> {
    value: V,
    refresh_at: OffsetDateTime,
    usable_until: OffsetDateTime,
    /// `usable_until` in nanoseconds since the Unix epoch: the eviction scan compares every
    /// slot's, and an integer compares in a fraction of an `OffsetDateTime`'s time.
    usable_until_nanos: i128,
}

type Outcome<V, E> = Option<Result<V, E>>;

struct InFlight<V, E> {
    id: u64,
    outcome: watch::Receiver<Outcome<V, E>>,
}

impl<K, V, E> TokenCache<K, V, E>
where
    K: Eq + Hash + Clone + Send + Sync + 'static,
    V: Expiring + Clone + Send + Sync + 'static,
    E: From<FetchedTokenExpired>
        + From<FetchAborted>
        + Clone
        + fmt::Display
        + Send
        + Sync
        + 'static,
{
    /// An empty cache.
    pub fn new(options: TokenCacheOptions) -> Self {
        Self {
            inner: Arc::new(Inner {
                options,
                slots: Mutex::new(Slots {
                    map: HashMap::new(),
                    tick: 0,
                }),
                next_fetch_id: AtomicU64::new(0),
            }),
        }
    }

    /// The options this cache was built with.
    pub fn options(&self) -> &TokenCacheOptions {
        &self.inner.options
    }

    /// The value for `key`: the cached one while it is fresh, otherwise the result of `fetch`
    /// (see the type's documentation for the exact rules).
    ///
    /// `fetch` is called at most once, synchronously, and only when this call has to start a
    /// fetch; the future it returns runs in this call's task while this call waits for it, and
    /// in a spawned task otherwise (a background refresh, or this call dropped first). It must
    /// not call back into this cache synchronously (the future it returns may).
    pub async fn get_or_fetch<F, Fut>(&self, key: &K, fetch: F) -> Result<V, E>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<V, E>> + Send + 'static,
    {
        let now = self.inner.options.clock.now();
        let next = {
            let mut slots = self.inner.lock();
            let slot = slots.touch(key, now, self.inner.options.max_entries);
            if let Some(cached) = &slot.cached {
                if now < cached.refresh_at {
                    return Ok(cached.value.clone());
                }
            }
            let still_valid = slot
                .cached
                .as_ref()
                .filter(|cached| now < cached.usable_until)
                .map(|cached| cached.value.clone());
            match (still_valid, &slot.in_flight) {
                (Some(value), Some(_)) => return Ok(value),
                (Some(value), None) => {
                    let backing_off = slot.retry_not_before.is_some_and(|at| now < at);
                    if !backing_off {
                        let start = self.inner.begin(slot);
                        drop(slots);
                        tracing::debug!(
                            "the cached token is due for refresh; fetching a new one in the background"
                        );
                        self.spawn_fetch(key.clone(), start, fetch);
                    }
                    return Ok(value);
                }
                (None, Some(in_flight)) => Next::Wait(in_flight.outcome.clone()),
                (None, None) => {
                    slot.cached = None;
                    let start = self.inner.begin(slot);
                    drop(slots);
                    Next::Lead(self.fetch_run(key.clone(), start, fetch))
                }
            }
        };
        // Awaited with the lock's guard out of scope (it must not be held across an await).
        match next {
            Next::Wait(outcome) => wait(outcome).await,
            Next::Lead(run) => LeadingFetch { run: Some(run) }.await,
        }
    }

    /// The cached value for `key` if it has not expired, without fetching.
    pub fn cached(&self, key: &K) -> Option<V> {
        self.read_cached(key, |cached, now| {
            (now < cached.usable_until).then(|| cached.value.clone())
        })
    }

    /// The cached value for `key` and its refresh point (jitter included), when one is cached
    /// and still before that point: what [`get_or_fetch`](Self::get_or_fetch) would return at
    /// once. Read under one lock, so the value and the point belong together (a caller that
    /// keeps a copy elsewhere, such as a lock-free index of fresh values, serves it no longer
    /// than this cache would).
    pub fn fresh_with_refresh_at(&self, key: &K) -> Option<(V, OffsetDateTime)> {
        self.read_cached(key, |cached, now| {
            (now < cached.refresh_at).then(|| (cached.value.clone(), cached.refresh_at))
        })
    }

    /// What `read` makes of `key`'s cached value and the time now, under the lock.
    fn read_cached<T>(
        &self,
        key: &K,
        read: impl FnOnce(&Cached<V>, OffsetDateTime) -> Option<T>,
    ) -> Option<T> {
        let now = self.inner.options.clock.now();
        let slots = self.inner.lock();
        read(slots.map.get(key)?.cached.as_ref()?, now)
    }

    /// Stores `value` for `key` as if a fetch had produced it (for values obtained outside the
    /// cache, such as an interactive sign-in that must run in the caller's task). A fetch
    /// running for `key` keeps running; if it succeeds, its value replaces this one.
    ///
    /// Returns the value, or [`FetchedTokenExpired`] (converted) when it is already expired, in
    /// which case nothing is stored.
    pub fn insert(&self, key: &K, value: V) -> Result<V, E> {
        let options = &self.inner.options;
        let now = options.clock.now();
        let value = check_not_expired::<V, E>(options, value, now)?;
        let mut slots = self.inner.lock();
        let slot = slots.touch(key, now, options.max_entries);
        slot.retry_not_before = None;
        slot.cached = Some(cache_entry(options, value.clone(), now));
        Ok(value)
    }

    /// When the cached value for `key` is due for refresh (jitter included), if one is cached.
    pub fn refresh_at(&self, key: &K) -> Option<OffsetDateTime> {
        let slots = self.inner.lock();
        slots
            .map
            .get(key)
            .and_then(|slot| slot.cached.as_ref())
            .map(|cached| cached.refresh_at)
    }

    /// How many keys the cache holds now (cached values and fetches running), at most
    /// [`TokenCacheOptions::max_entries`].
    pub fn len(&self) -> usize {
        self.inner.lock().map.len()
    }

    /// Whether the cache holds no key.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Forgets `key`: its cached value, and any fetch running for it (that fetch still
    /// completes for the callers already waiting on it, but its result is not stored). The next
    /// call for `key` fetches.
    pub fn invalidate(&self, key: &K) {
        self.inner.lock().map.remove(key);
    }

    /// Forgets every key, as [`invalidate`](Self::invalidate) does for one.
    pub fn clear(&self) {
        self.inner.lock().map.clear();
    }

    /// The fetch `start` marked for `key`, ready to run wherever it is polled.
    fn fetch_run<F, Fut>(&self, key: K, start: FetchStart<V, E>, fetch: F) -> FetchRun<K, V, E>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<V, E>> + Send + 'static,
    {
        // Created before anything that can panic (`fetch()`), so the key is never left marked
        // as fetching with nobody fetching.
        let guard = FetchGuard {
            inner: Arc::clone(&self.inner),
            key: Some(key),
            id: start.id,
        };
        FetchRun {
            future: Box::pin(fetch()),
            guard,
            sender: start.sender,
        }
    }

    fn spawn_fetch<F, Fut>(&self, key: K, start: FetchStart<V, E>, fetch: F)
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<V, E>> + Send + 'static,
    {
        self.fetch_run(key, start, fetch).spawn();
    }
}

/// What a caller that found no usable value does next.
enum Next<K, V, E>
where
    K: Eq + Hash,
{
    /// Waits for the fetch another caller started.
    Wait(watch::Receiver<Outcome<V, E>>),
    /// Runs the fetch it started.
    Lead(FetchRun<K, V, E>),
}

/// What a fetch run needs of the cache's keys, values and errors (the bounds of
/// [`TokenCache`]'s methods), named once for the types below.
trait RunKey: Eq + Hash + Send + Sync + 'static {}
impl<T: Eq + Hash + Send + Sync + 'static> RunKey for T {}
trait RunValue: Expiring + Clone + Send + Sync + 'static {}
impl<T: Expiring + Clone + Send + Sync + 'static> RunValue for T {}
trait RunError:
    From<FetchedTokenExpired> + From<FetchAborted> + Clone + fmt::Display + Send + Sync + 'static
{
}
impl<T> RunError for T where
    T: From<FetchedTokenExpired>
        + From<FetchAborted>
        + Clone
        + fmt::Display
        + Send
        + Sync
        + 'static
{
}

/// A fetch under way: its future, the mark it holds on its key, and the channel its waiters
/// read its outcome from.
struct FetchRun<K, V, E>
where
    K: Eq + Hash,
{
    future: Pin<Box<dyn Future<Output = Result<V, E>> + Send>>,
    guard: FetchGuard<K, V, E>,
    sender: watch::Sender<Outcome<V, E>>,
}

impl<K, V, E> FetchRun<K, V, E>
where
    K: RunKey,
    V: RunValue,
    E: RunError,
{
    /// Polls the fetch; a panic becomes its error (for every waiter), never the caller's panic.
    fn poll_fetch(&mut self, cx: &mut Context<'_>) -> Poll<Result<V, E>> {
        match std::panic::catch_unwind(AssertUnwindSafe(|| self.future.as_mut().poll(cx))) {
            Ok(poll) => poll,
            Err(_) => Poll::Ready(Err(fetch_panicked())),
        }
    }

    /// Stores the fetch's result and hands it to every waiter; returns it.
    fn finish(mut self, result: Result<V, E>) -> Result<V, E> {
        let outcome = self.guard.complete(result);
        // The key's own receiver went with `complete`: any left belong to waiting callers.
        if self.sender.receiver_count() > 0 {
            self.sender.send_replace(Some(outcome.clone()));
        }
        outcome
    }

    /// Runs the rest of the fetch in a task of its own.
    fn spawn(mut self) {
        tokio::spawn(async move {
            let result = std::future::poll_fn(|cx| self.poll_fetch(cx)).await;
            // Nobody is left to return it to: the cache and the waiters have it.
            let _ = self.finish(result);
        });
    }
}

fn fetch_panicked<E: From<FetchAborted>>() -> E {
    tracing::error!(
        "a token fetch panicked; its callers get an error and the next call fetches again"
    );
    E::from(FetchAborted { panicked: true })
}

/// The caller that started a fetch, running it: it gets the result as the fetch ends. Dropped
/// before that, it hands the fetch to a spawned task (when there is a runtime to spawn on), so
/// the callers waiting for it, and the cache, still get its result.
struct LeadingFetch<K, V, E>
where
    K: RunKey,
    V: RunValue,
    E: RunError,
{
    run: Option<FetchRun<K, V, E>>,
}

// Nothing of it is pinned in place: the fetch's future is boxed.
impl<K, V, E> Unpin for LeadingFetch<K, V, E>
where
    K: RunKey,
    V: RunValue,
    E: RunError,
{
}

impl<K, V, E> Future for LeadingFetch<K, V, E>
where
    K: RunKey,
    V: RunValue,
    E: RunError,
{
    type Output = Result<V, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let Some(run) = this.run.as_mut() else {
            return Poll::Ready(Err(E::from(FetchAborted { panicked: false })));
        };
        let result = std::task::ready!(run.poll_fetch(cx));
        match this.run.take() {
            Some(run) => Poll::Ready(run.finish(result)),
            None => Poll::Ready(result),
        }
    }
}

impl<K, V, E> Drop for LeadingFetch<K, V, E>
where
    K: RunKey,
    V: RunValue,
    E: RunError,
{
    fn drop(&mut self) {
        if let Some(run) = self.run.take() {
            // Without a runtime (it is shutting down), the fetch goes with it: its guard
            // clears the key's mark and the waiters get `FetchAborted`.
            if tokio::runtime::Handle::try_current().is_ok() {
                run.spawn();
            }
        }
    }
}

impl<K: Eq + Hash + Clone, V: Expiring, E> Slots<K, V, E> {
    /// The slot of `key`, created (within the bound) if absent, marked as just used.
    fn touch(&mut self, key: &K, now: OffsetDateTime, max_entries: usize) -> &mut Slot<V, E> {
        self.tick += 1;
        let tick = self.tick;
        if !self.map.contains_key(key) {
            self.make_room(now, max_entries.max(1));
        }
        let slot = self
            .map
            .entry(key.clone())
            .or_insert_with(|| Slot::empty(tick));
        slot.last_used = tick;
        slot
    }

    /// Brings the map below `max_entries`: expired or empty idle slots first, then the least
    /// recently used (idle ones before ones with a fetch running, whose waiters still get its
    /// result).
    fn make_room(&mut self, now: OffsetDateTime, max_entries: usize) {
        if self.map.len() < max_entries {
            return;
        }
        let now = now.unix_timestamp_nanos();
        let keep = |slot: &Slot<V, E>| {
            slot.in_flight.is_some()
                || slot
                    .cached
                    .as_ref()
                    .is_some_and(|c| now < c.usable_until_nanos)
        };
        // One pass when nothing has expired (the common case at the bound): it finds the
        // victim while it checks.
        let mut victim: Option<(&K, (bool, u64))> = None;
        let mut sweep = false;
        for (key, slot) in &self.map {
            if !keep(slot) {
                sweep = true;
                break;
            }
            let rank = slot.eviction_rank();
            if victim.is_none_or(|(_, least)| rank < least) {
                victim = Some((key, rank));
            }
        }
        if !sweep {
            if let Some(key) = victim.map(|(key, _)| key.clone()) {
                self.map.remove(&key);
            }
            return;
        }
        self.map.retain(|_, slot| keep(slot));
        while self.map.len() >= max_entries {
            match self.least_recently_used() {
                Some(key) => {
                    self.map.remove(&key);
                }
                None => break,
            }
        }
    }
}

impl<K: Eq + Hash + Clone, V, E> Slots<K, V, E> {
    /// The key to evict: the least recently used idle one, else the least recently used one
    /// with a fetch running (its waiters still get its result).
    fn least_recently_used(&self) -> Option<K> {
        self.map
            .iter()
            .min_by_key(|(_, slot)| slot.eviction_rank())
            .map(|(key, _)| key.clone())
    }
}

impl<K, V, E> Inner<K, V, E> {
    fn lock(&self) -> MutexGuard<'_, Slots<K, V, E>> {
        // Critical sections only move values in and out of the map; a panic in one (from a
        // user's `Clone` or `Hash`) leaves the map consistent, so poisoning is ignored.
        self.slots
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn begin(&self, slot: &mut Slot<V, E>) -> FetchStart<V, E> {
        let id = self.next_fetch_id.fetch_add(1, Ordering::Relaxed);
        let (sender, outcome) = watch::channel(None);
        slot.in_flight = Some(InFlight { id, outcome });
        FetchStart { id, sender }
    }
}

struct FetchStart<V, E> {
    id: u64,
    sender: watch::Sender<Outcome<V, E>>,
}

/// Owns the "fetching" mark of one key while its fetch runs; clears it if the fetch never
/// completes (panic, runtime shut down).
struct FetchGuard<K, V, E>
where
    K: Eq + Hash,
{
    inner: Arc<Inner<K, V, E>>,
    key: Option<K>,
    id: u64,
}

fn check_not_expired<V: Expiring, E: From<FetchedTokenExpired>>(
    options: &TokenCacheOptions,
    value: V,
    now: OffsetDateTime,
) -> Result<V, E> {
    let usable_until = minus(value.expires_on(), options.expiry_buffer);
    if now < usable_until {
        Ok(value)
    } else {
        Err(E::from(FetchedTokenExpired {
            expires_on: value.expires_on(),
            now,
        }))
    }
}

impl<K, V, E> FetchGuard<K, V, E>
where
    K: Eq + Hash,
    V: Expiring + Clone,
    E: From<FetchedTokenExpired> + Clone + fmt::Display,
{
    /// Stores the result of the fetch (if the key was not invalidated meanwhile) and decides
    /// what the callers waiting for it get.
    fn complete(&mut self, result: Result<V, E>) -> Result<V, E> {
        let Some(key) = self.key.take() else {
            return result;
        };
        let options = &self.inner.options;
        let now = options.clock.now();
        let mut slots = self.inner.lock();
        let result = result.and_then(|value| check_not_expired(options, value, now));
        let Some(slot) = slots
            .map
            .get_mut(&key)
            .filter(|slot| slot.in_flight.as_ref().is_some_and(|f| f.id == self.id))
        else {
            // Invalidated or evicted while fetching: the waiters get the result, the cache
            // stays as it is.
            return result;
        };
        slot.in_flight = None;
        match result {
            Ok(value) => {
                slot.retry_not_before = None;
                slot.cached = Some(cache_entry(options, value.clone(), now));
                Ok(value)
            }
            Err(error) => match slot.cached.as_ref().filter(|c| now < c.usable_until) {
                Some(cached) => {
                    slot.retry_not_before = Some(plus(now, options.retry_delay));
                    tracing::warn!(
                        error = %error,
                        valid_until = %cached.usable_until,
                        retry_in_seconds = options.retry_delay.as_secs(),
                        "refreshing the token failed; serving the cached token until it expires"
                    );
                    Ok(cached.value.clone())
                }
                None => {
                    // Nothing worth keeping: the slot goes, so failures never accumulate.
                    slots.map.remove(&key);
                    Err(error)
                }
            },
        }
    }
}

impl<K, V, E> Drop for FetchGuard<K, V, E>
where
    K: Eq + Hash,
{
    fn drop(&mut self) {
        if let Some(key) = self.key.take() {
            let mut slots = self.inner.lock();
            if let Some(slot) = slots.map.get_mut(&key) {
                if slot.in_flight.as_ref().is_some_and(|f| f.id == self.id) {
                    slot.in_flight = None;
                }
            }
        }
    }
}

async fn wait<V: Clone, E: Clone + From<FetchAborted>>(
    mut outcome: watch::Receiver<Outcome<V, E>>,
) -> Result<V, E> {
    match outcome.wait_for(Option::is_some).await {
        Ok(outcome) => match &*outcome {
            Some(result) => result.clone(),
            None => Err(E::from(FetchAborted { panicked: false })),
        },
        // The sender went without a value: `fetch()` panicked in the caller that started the
        // fetch, or the fetch's runtime shut down.
        Err(_) => Err(E::from(FetchAborted { panicked: false })),
    }
}

fn cache_entry<V: Expiring>(
    options: &TokenCacheOptions,
    value: V,
    now: OffsetDateTime,
) -> Cached<V> {
    let usable_until = minus(value.expires_on(), options.expiry_buffer);
    let planned = value
        .refresh_on()
        .unwrap_or_else(|| minus(value.expires_on(), options.refresh_before));
    let jittered = minus(planned, jitter(options.max_jitter));
    let halfway = now + (usable_until - now) / 2;
    let refresh_at = jittered.max(halfway).min(usable_until);
    Cached {
        value,
        refresh_at,
        usable_until,
        usable_until_nanos: usable_until.unix_timestamp_nanos(),
    }
}

fn jitter(max: Duration) -> Duration {
    if max.is_zero() {
        return Duration::ZERO;
    }
    let max_nanos = u64::try_from(max.as_nanos()).unwrap_or(u64::MAX);
    Duration::from_nanos(rand::rng().random_range(0..=max_nanos))
}

fn minus(at: OffsetDateTime, by: Duration) -> OffsetDateTime {
    time::Duration::try_from(by)
        .ok()
        .and_then(|by| at.checked_sub(by))
        .unwrap_or_else(|| PrimitiveDateTime::MIN.assume_utc())
}

fn plus(at: OffsetDateTime, by: Duration) -> OffsetDateTime {
    time::Duration::try_from(by)
        .ok()
        .and_then(|by| at.checked_add(by))
        .unwrap_or_else(|| PrimitiveDateTime::MAX.assume_utc())
}

impl<K, V, E> fmt::Debug for TokenCache<K, V, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let entries = self
            .inner
            .slots
            .lock()
            .map(|slots| slots.map.len())
            .unwrap_or_default();
        f.debug_struct("TokenCache")
            .field("entries", &entries)
            .field("options", &self.inner.options)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ManualClock;
    use std::sync::atomic::AtomicUsize;
    use tokio::sync::{Notify, Semaphore};

    #[derive(Debug, Clone, PartialEq)]
    struct Token {
        id: usize,
        expires_on: OffsetDateTime,
    }

    impl Expiring for Token {
        fn expires_on(&self) -> OffsetDateTime {
            self.expires_on
        }
    }

    #[derive(Debug, Clone, PartialEq)]
    struct TestError(String);

    impl fmt::Display for TestError {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str(&self.0)
        }
    }

    impl From<FetchedTokenExpired> for TestError {
        fn from(expired: FetchedTokenExpired) -> Self {
            Self(expired.to_string())
        }
    }

    impl From<FetchAborted> for TestError {
        fn from(aborted: FetchAborted) -> Self {
            Self(aborted.to_string())
        }
    }

    /// Bounds a test, so a regression that hangs fails instead.
    async fn bounded<T>(test: impl Future<Output = T>) -> T {
        tokio::time::timeout(Duration::from_secs(30), test)
            .await
            .expect("the test finished within 30 s")
    }

    /// A gate fetches wait at; `open` lets every present and future waiter through (a closed
    /// semaphore fails every `acquire` at once), so no late caller can wait forever.
    fn gate() -> Arc<Semaphore> {
        Arc::new(Semaphore::new(0))
    }

    async fn pass(gate: &Semaphore) {
        let _ = gate.acquire().await;
    }

    /// Spawns a caller of `get_or_fetch(&"k", fetch)` into `callers` and returns once that call
    /// has registered with the cache (its first poll ran), so callers provably overlap.
    async fn spawn_caller<F, Fut>(
        callers: &mut tokio::task::JoinSet<Result<Token, TestError>>,
        cache: Arc<Cache>,
        fetch: F,
    ) where
        F: FnOnce() -> Fut + Send + 'static,
        Fut: Future<Output = Result<Token, TestError>> + Send + 'static,
    {
        let (registered, on_registered) = tokio::sync::oneshot::channel();
        callers.spawn(async move {
            let mut call = std::pin::pin!(cache.get_or_fetch(&"k", fetch));
            let first = std::future::poll_fn(|cx| Poll::Ready(call.as_mut().poll(cx))).await;
            let _ = registered.send(());
            match first {
                Poll::Ready(result) => result,
                Poll::Pending => call.await,
            }
        });
        on_registered.await.expect("the caller registered");
    }

    type Cache = TokenCache<&'static str, Token, TestError>;

    const HOUR: Duration = Duration::from_secs(3600);

    struct Fixture {
        clock: Arc<ManualClock>,
        cache: Arc<Cache>,
        fetches: Arc<AtomicUsize>,
    }

    impl Fixture {
        fn new(max_jitter: Duration) -> Self {
            let clock = Arc::new(ManualClock::at_fixed_start());
            let cache = Arc::new(Cache::new(TokenCacheOptions {
                max_jitter,
                clock: clock.clone(),
                ..TokenCacheOptions::default()
            }));
            Self {
                clock,
                cache,
                fetches: Arc::new(AtomicUsize::new(0)),
            }
        }

        /// A fetch that counts itself and yields a token living `lifetime` from now, or `error`.
        fn fetch(
            &self,
            lifetime: Duration,
            error: Option<&str>,
        ) -> impl FnOnce() -> futures_like::Ready<Token> {
            let fetches = self.fetches.clone();
            let expires_on = self.clock.now() + lifetime;
            let error = error.map(|e| TestError(e.to_owned()));
            move || {
                let id = fetches.fetch_add(1, Ordering::SeqCst) + 1;
                futures_like::Ready(Some(match error {
                    Some(error) => Err(error),
                    None => Ok(Token { id, expires_on }),
                }))
            }
        }

        fn count(&self) -> usize {
            self.fetches.load(Ordering::SeqCst)
        }

        /// `get_or_fetch` of key `"k"` with [`fetch`](Self::fetch).
        async fn get(&self, lifetime: Duration, error: Option<&str>) -> Result<Token, TestError> {
            self.cache
                .get_or_fetch(&"k", self.fetch(lifetime, error))
                .await
        }

        /// Lets spawned background fetches finish.
        async fn settle(&self) {
            for _ in 0..100 {
                tokio::task::yield_now().await;
            }
        }
    }

    /// A tiny ready future, to avoid a dependency on `futures` in this crate.
    mod futures_like {
        use super::*;
        use std::pin::Pin;

        pub(super) struct Ready<T>(pub(super) Option<Result<T, TestError>>);

        impl<T: Unpin> Future for Ready<T> {
            type Output = Result<T, TestError>;
            fn poll(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Self::Output> {
                Poll::Ready(self.0.take().expect("polled after completion"))
            }
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn cold_start_many_concurrent_callers_share_one_fetch() {
        bounded(async move {
            let fx = Fixture::new(Duration::ZERO);
            let gate = gate();
            let mut callers = tokio::task::JoinSet::new();
            for _ in 0..200 {
                let fetches = fx.fetches.clone();
                let gate = gate.clone();
                let expires_on = fx.clock.now() + HOUR;
                spawn_caller(&mut callers, fx.cache.clone(), move || async move {
                    let id = fetches.fetch_add(1, Ordering::SeqCst) + 1;
                    pass(&gate).await;
                    Ok(Token { id, expires_on })
                })
                .await;
            }
            // Every caller is waiting while the one fetch is held at the gate.
            assert_eq!(fx.count(), 1);
            gate.close();
            let mut results = 0;
            while let Some(result) = callers.join_next().await {
                assert_eq!(result.unwrap().unwrap().id, 1);
                results += 1;
            }
            assert_eq!(results, 200);
            assert_eq!(fx.count(), 1);
        })
        .await
    }

    #[tokio::test]
    async fn serves_cached_until_the_refresh_point_then_refreshes_once_in_the_background() {
        bounded(async move {
            let fx = Fixture::new(Duration::ZERO);
            let first = fx.get(HOUR, None).await.unwrap();
            assert_eq!(first.id, 1);
            assert_eq!(
                fx.cache.refresh_at(&"k"),
                Some(first.expires_on - DEFAULT_REFRESH_BEFORE)
            );

            // One second before the refresh point: cached, no fetch.
            fx.clock
                .set(first.expires_on - DEFAULT_REFRESH_BEFORE - Duration::from_secs(1));
            for _ in 0..10 {
                let got = fx.get(HOUR, None).await.unwrap();
                assert_eq!(got.id, 1);
            }
            assert_eq!(fx.count(), 1);

            // At the refresh point: the still-valid token at once, one background fetch.
            fx.clock.set(first.expires_on - DEFAULT_REFRESH_BEFORE);
            for _ in 0..10 {
                let got = fx.get(HOUR, None).await.unwrap();
                assert!(got.id == 1 || got.id == 2);
            }
            fx.settle().await;
            assert_eq!(fx.count(), 2);
            let refreshed = fx.get(HOUR, None).await.unwrap();
            assert_eq!(refreshed.id, 2);
            assert_eq!(fx.count(), 2);
        })
        .await
    }

    #[tokio::test]
    async fn jitter_moves_the_refresh_point_earlier_within_the_bound() {
        bounded(async move {
            let max_jitter = Duration::from_secs(60);
            let fx = Fixture::new(max_jitter);
            let mut points = std::collections::HashSet::new();
            for _ in 0..100 {
                fx.cache.invalidate(&"k");
                let token = fx.get(HOUR, None).await.unwrap();
                let refresh_at = fx.cache.refresh_at(&"k").unwrap();
                let latest = token.expires_on - DEFAULT_REFRESH_BEFORE;
                assert!(refresh_at <= latest, "{refresh_at} after {latest}");
                assert!(
                    refresh_at >= latest - max_jitter,
                    "{refresh_at} before the jitter bound"
                );
                points.insert(refresh_at);
            }
            assert!(points.len() > 1, "jitter never varied the refresh point");
        })
        .await
    }

    #[tokio::test]
    async fn short_lived_values_refresh_halfway_not_on_every_call() {
        bounded(async move {
            let fx = Fixture::new(Duration::ZERO);
            let token = fx.get(Duration::from_secs(120), None).await.unwrap();
            assert_eq!(
                fx.cache.refresh_at(&"k"),
                Some(token.expires_on - Duration::from_secs(60))
            );
            fx.get(HOUR, None).await.unwrap();
            assert_eq!(fx.count(), 1);
        })
        .await
    }

    #[tokio::test]
    async fn a_failed_refresh_keeps_serving_the_valid_token_then_returns_the_error_once_expired() {
        bounded(async move {
            let fx = Fixture::new(Duration::ZERO);
            let first = fx.get(HOUR, None).await.unwrap();

            fx.clock.set(first.expires_on - Duration::from_secs(60));
            let got = fx.get(HOUR, Some("sts down")).await.unwrap();
            assert_eq!(got, first);
            fx.settle().await;
            assert_eq!(fx.count(), 2);
            // Still valid: served, and no new attempt within the retry delay.
            let got = fx.get(HOUR, Some("sts down")).await.unwrap();
            assert_eq!(got, first);
            fx.settle().await;
            assert_eq!(fx.count(), 2);
            assert_eq!(fx.cache.cached(&"k"), Some(first.clone()));

            // Expired: never handed out; the caller waits for the fetch and gets its error.
            fx.clock.set(first.expires_on);
            assert_eq!(fx.cache.cached(&"k"), None);
            let error = fx.get(HOUR, Some("sts still down")).await.unwrap_err();
            assert_eq!(error, TestError("sts still down".into()));
            assert_eq!(fx.count(), 3);

            // The next call tries again and recovers.
            let recovered = fx.get(HOUR, None).await.unwrap();
            assert_eq!(recovered.id, 4);
        })
        .await
    }

    #[tokio::test]
    async fn a_failed_refresh_is_retried_after_the_retry_delay() {
        bounded(async move {
            let fx = Fixture::new(Duration::ZERO);
            let first = fx.get(HOUR, None).await.unwrap();
            fx.clock.set(first.expires_on - Duration::from_secs(120));
            fx.get(HOUR, Some("down")).await.unwrap();
            fx.settle().await;
            fx.clock.advance(DEFAULT_RETRY_DELAY);
            let got = fx.get(HOUR, None).await.unwrap();
            assert_eq!(got.id, 1, "the valid token is served while the retry runs");
            fx.settle().await;
            assert_eq!(fx.count(), 3);
            assert_eq!(fx.cache.cached(&"k").unwrap().id, 3);
        })
        .await
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_callers_on_an_empty_cache_all_get_the_one_error() {
        bounded(async move {
            let fx = Fixture::new(Duration::ZERO);
            let gate = gate();
            let mut callers = tokio::task::JoinSet::new();
            for _ in 0..50 {
                let fetches = fx.fetches.clone();
                let gate = gate.clone();
                spawn_caller(&mut callers, fx.cache.clone(), move || async move {
                    fetches.fetch_add(1, Ordering::SeqCst);
                    pass(&gate).await;
                    Err::<Token, _>(TestError("boom".into()))
                })
                .await;
            }
            gate.close();
            while let Some(result) = callers.join_next().await {
                assert_eq!(result.unwrap().unwrap_err(), TestError("boom".into()));
            }
            assert_eq!(fx.count(), 1);
            assert!(fx.cache.is_empty(), "a failed slot is swept, not kept");
        })
        .await
    }

    #[tokio::test]
    async fn an_already_expired_value_is_neither_returned_nor_cached() {
        bounded(async move {
            let fx = Fixture::new(Duration::ZERO);
            let fetches = fx.fetches.clone();
            let expires_on = fx.clock.now() - Duration::from_secs(1);
            let error = fx
                .cache
                .get_or_fetch(&"k", move || async move {
                    fetches.fetch_add(1, Ordering::SeqCst);
                    Ok(Token { id: 1, expires_on })
                })
                .await
                .unwrap_err();
            assert!(error.0.contains("check the system clock"), "{error}");
            assert_eq!(fx.cache.cached(&"k"), None);
        })
        .await
    }

    #[tokio::test]
    async fn the_expiry_buffer_counts_as_expired() {
        bounded(async move {
            let clock = Arc::new(ManualClock::at_fixed_start());
            let cache = Cache::new(TokenCacheOptions {
                max_jitter: Duration::ZERO,
                expiry_buffer: Duration::from_secs(60),
                clock: clock.clone(),
                ..TokenCacheOptions::default()
            });
            let expires_on = clock.now() + HOUR;
            cache
                .get_or_fetch(&"k", move || async move { Ok(Token { id: 1, expires_on }) })
                .await
                .unwrap();
            clock.set(expires_on - Duration::from_secs(61));
            assert!(cache.cached(&"k").is_some());
            clock.set(expires_on - Duration::from_secs(60));
            assert!(cache.cached(&"k").is_none());
        })
        .await
    }

    #[tokio::test]
    async fn dropping_the_caller_that_started_the_fetch_does_not_strand_the_others() {
        bounded(async move {
            let fx = Fixture::new(Duration::ZERO);
            let gate = Arc::new(Notify::new());
            let make_fetch = |gate: Arc<Notify>, fetches: Arc<AtomicUsize>, expires_on| {
                move || async move {
                    let id = fetches.fetch_add(1, Ordering::SeqCst) + 1;
                    gate.notified().await;
                    Ok(Token { id, expires_on })
                }
            };
            let expires_on = fx.clock.now() + HOUR;
            let leader = {
                let cache = fx.cache.clone();
                let fetch = make_fetch(gate.clone(), fx.fetches.clone(), expires_on);
                tokio::spawn(async move { cache.get_or_fetch(&"k", fetch).await })
            };
            let follower = {
                let cache = fx.cache.clone();
                let fetch = make_fetch(gate.clone(), fx.fetches.clone(), expires_on);
                tokio::spawn(async move { cache.get_or_fetch(&"k", fetch).await })
            };
            fx.settle().await;
            assert_eq!(fx.count(), 1);
            leader.abort();
            assert!(leader.await.unwrap_err().is_cancelled());
            gate.notify_one();
            assert_eq!(follower.await.unwrap().unwrap().id, 1);
            assert_eq!(fx.count(), 1);
            // And the value was cached for the next caller.
            assert_eq!(fx.cache.cached(&"k").unwrap().id, 1);
        })
        .await
    }

    #[tokio::test]
    async fn a_fetch_abandoned_by_every_caller_still_completes_into_the_cache() {
        bounded(async move {
            let fx = Fixture::new(Duration::ZERO);
            let gate = Arc::new(Notify::new());
            let (fetches, g, expires_on) =
                (fx.fetches.clone(), gate.clone(), fx.clock.now() + HOUR);
            let caller = {
                let cache = fx.cache.clone();
                tokio::spawn(async move {
                    cache
                        .get_or_fetch(&"k", move || async move {
                            fetches.fetch_add(1, Ordering::SeqCst);
                            g.notified().await;
                            Ok(Token { id: 1, expires_on })
                        })
                        .await
                })
            };
            fx.settle().await;
            caller.abort();
            let _ = caller.await;
            gate.notify_one();
            fx.settle().await;
            assert_eq!(fx.cache.cached(&"k").unwrap().id, 1);
            assert_eq!(fx.count(), 1);
        })
        .await
    }

    #[tokio::test]
    async fn a_panicking_fetch_fails_its_waiters_and_does_not_leave_the_key_stuck() {
        bounded(async move {
            let fx = Fixture::new(Duration::ZERO);
            let gate = gate();
            let mut callers = tokio::task::JoinSet::new();
            for _ in 0..100 {
                let gate = gate.clone();
                let fetches = fx.fetches.clone();
                spawn_caller(&mut callers, fx.cache.clone(), move || async move {
                    fetches.fetch_add(1, Ordering::SeqCst);
                    pass(&gate).await;
                    panic!("fetch bug")
                })
                .await;
            }
            gate.close();
            let mut errors = 0;
            while let Some(result) = callers.join_next().await {
                let error = result.expect("a waiter does not panic").unwrap_err();
                assert!(error.0.contains("panicked"), "{error}");
                errors += 1;
            }
            assert_eq!((errors, fx.count()), (100, 1));
            let token = fx.get(HOUR, None).await.unwrap();
            assert_eq!(token.id, 2, "the next call fetches again");
        })
        .await
    }

    #[tokio::test]
    async fn distinct_keys_beyond_the_bound_evict_expired_then_least_recently_used() {
        bounded(async move {
            let clock = Arc::new(ManualClock::at_fixed_start());
            let cache = TokenCache::<u32, Token, TestError>::new(TokenCacheOptions {
                max_jitter: Duration::ZERO,
                clock: clock.clone(),
                ..TokenCacheOptions::default()
            });
            let token = |id| {
                let expires_on = clock.now() + HOUR;
                move || async move { Ok(Token { id, expires_on }) }
            };
            for key in 0..10_000u32 {
                cache.get_or_fetch(&key, token(key as usize)).await.unwrap();
                // Key 0 is used all along: the least recently used go, never it.
                cache.get_or_fetch(&0, token(0)).await.unwrap();
                assert!(cache.len() <= DEFAULT_MAX_ENTRIES);
            }
            assert_eq!(cache.len(), DEFAULT_MAX_ENTRIES);
            assert_eq!(cache.cached(&0).unwrap().id, 0);
            assert_eq!(cache.cached(&9_999).unwrap().id, 9_999);
            assert!(
                cache.cached(&1).is_none(),
                "the oldest unused entry was evicted"
            );

            // Once every entry has expired, the next new key sweeps them all out.
            clock.advance(2 * HOUR);
            cache.get_or_fetch(&20_000, token(1)).await.unwrap();
            assert_eq!(cache.len(), 1);
        })
        .await
    }

    #[tokio::test]
    async fn insert_stores_a_value_fetched_elsewhere_and_refuses_an_expired_one() {
        bounded(async move {
            let fx = Fixture::new(Duration::ZERO);
            let expires_on = fx.clock.now() + HOUR;
            let stored = fx.cache.insert(&"k", Token { id: 9, expires_on }).unwrap();
            assert_eq!(stored.id, 9);
            assert_eq!(fx.get(HOUR, None).await.unwrap().id, 9);
            assert_eq!(fx.count(), 0, "served from the inserted value");

            let expired = Token {
                id: 10,
                expires_on: fx.clock.now(),
            };
            let error = fx.cache.insert(&"other", expired).unwrap_err();
            assert!(error.0.contains("check the system clock"), "{error}");
            assert_eq!(fx.cache.cached(&"other"), None);
        })
        .await
    }

    #[tokio::test]
    async fn distinct_keys_are_fetched_independently_and_invalidated_alone() {
        bounded(async move {
            let fx = Fixture::new(Duration::ZERO);
            let a = fx
                .cache
                .get_or_fetch(&"a", fx.fetch(HOUR, None))
                .await
                .unwrap();
            let b = fx
                .cache
                .get_or_fetch(&"b", fx.fetch(HOUR, None))
                .await
                .unwrap();
            assert_ne!(a.id, b.id);
            assert_eq!(fx.count(), 2);
            assert_eq!(
                fx.cache
                    .get_or_fetch(&"a", fx.fetch(HOUR, None))
                    .await
                    .unwrap(),
                a
            );
            assert_eq!(fx.count(), 2);

            fx.cache.invalidate(&"a");
            assert_eq!(fx.cache.cached(&"a"), None);
            assert_eq!(fx.cache.cached(&"b"), Some(b.clone()));
            assert_eq!(
                fx.cache
                    .get_or_fetch(&"a", fx.fetch(HOUR, None))
                    .await
                    .unwrap()
                    .id,
                3
            );

            fx.cache.clear();
            assert_eq!(fx.cache.cached(&"b"), None);
        })
        .await
    }

    #[tokio::test]
    async fn a_fetch_running_across_an_invalidation_is_not_stored() {
        bounded(async move {
            let fx = Fixture::new(Duration::ZERO);
            let gate = Arc::new(Notify::new());
            let (g, expires_on) = (gate.clone(), fx.clock.now() + HOUR);
            let cache = fx.cache.clone();
            let caller = tokio::spawn(async move {
                cache
                    .get_or_fetch(&"k", move || async move {
                        g.notified().await;
                        Ok(Token { id: 7, expires_on })
                    })
                    .await
            });
            fx.settle().await;
            fx.cache.invalidate(&"k");
            gate.notify_one();
            assert_eq!(
                caller.await.unwrap().unwrap().id,
                7,
                "its waiters still get the result"
            );
            assert_eq!(fx.cache.cached(&"k"), None);
        })
        .await
    }

    #[tokio::test]
    async fn an_explicit_refresh_on_is_honoured() {
        bounded(async move {
            #[derive(Clone)]
            struct WithRefreshOn(OffsetDateTime, OffsetDateTime);
            impl Expiring for WithRefreshOn {
                fn expires_on(&self) -> OffsetDateTime {
                    self.0
                }
                fn refresh_on(&self) -> Option<OffsetDateTime> {
                    Some(self.1)
                }
            }
            let clock = Arc::new(ManualClock::at_fixed_start());
            let cache = TokenCache::<(), WithRefreshOn, TestError>::new(TokenCacheOptions {
                max_jitter: Duration::ZERO,
                clock: clock.clone(),
                ..TokenCacheOptions::default()
            });
            let (expires, refresh) = (
                clock.now() + 2 * HOUR,
                clock.now() + 90 * Duration::from_secs(60),
            );
            cache
                .get_or_fetch(
                    &(),
                    move || async move { Ok(WithRefreshOn(expires, refresh)) },
                )
                .await
                .unwrap();
            assert_eq!(cache.refresh_at(&()), Some(refresh));
        })
        .await
    }

    #[test]
    fn fetch_aborted_converts_to_an_authentication_failure() {
        let error = Error::from(FetchAborted { panicked: true });
        assert_eq!(error.kind(), ErrorKind::AuthenticationFailed);
        assert!(error.to_string().contains("panicked"));
    }

    #[test]
    fn fetched_token_expired_converts_to_a_protocol_error_naming_the_clock() {
        let now = OffsetDateTime::UNIX_EPOCH;
        let error = Error::from(FetchedTokenExpired {
            expires_on: now,
            now,
        });
        assert_eq!(error.kind(), ErrorKind::Protocol);
        assert!(error.to_string().contains("check the system clock"));
    }
}
