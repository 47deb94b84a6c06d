use std::{
    collections::{BTreeMap, VecDeque},
    sync::{
        atomic::{AtomicU64, Ordering},
        Mutex, PoisonError,
    },
};

use tokio::sync::watch;
use uuid::Uuid;

use crate::Fault;

/// Which kind of credential a token request carried. Never the credential itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CredentialKind {
    /// No `Authorization` header.
    Missing,
    /// `Bearer <account id>:<key>`.
    AccountKey,
    /// `Bearer <jwt>` (Azure AD).
    AadToken,
    /// Something else (another scheme, a malformed value).
    Unrecognized,
}

/// How a token request ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Outcome {
    /// A complete response with this status (a garbage body still counts as its status).
    Status(u16),
    /// The connection was closed without a response ([`Fault::DropConnection`]).
    Dropped,
    /// A 200 whose body was cut short ([`Fault::TruncatedBody`]).
    Truncated,
}

/// One token request, without secrets: no key, no token, no `Authorization` value.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RequestSummary {
    /// The account id from the path, when it parsed as a UUID.
    pub account_id: Option<Uuid>,
    /// The request's `X-MRC-CV`, if present (cut to 64 characters).
    pub correlation_vector: Option<String>,
    /// The `MS-CV` the emulator answered with (none when the connection was dropped).
    pub ms_cv: Option<String>,
    /// The kind of credential presented.
    pub credential: CredentialKind,
    /// The fault consumed by this request, if any.
    pub fault: Option<Fault>,
    /// How the request ended.
    pub outcome: Outcome,
}

/// A snapshot of the emulator's counters, from
/// [`RunningEmulator::stats`](crate::RunningEmulator::stats).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Stats {
    /// Requests to the token route, whatever their outcome.
    pub token_requests: u64,
    /// Tokens issued (200 with a token, including [`Fault::TokenWithoutExp`] and truncated
    /// bodies).
    pub tokens_issued: u64,
    /// Completed token-route responses by HTTP status.
    pub by_status: BTreeMap<u16, u64>,
    /// Token requests answered by closing the connection.
    pub dropped: u64,
    /// Token requests whose body was cut short.
    pub truncated: u64,
    /// Faults consumed so far.
    pub faults_injected: u64,
    /// Faults still queued.
    pub faults_pending: usize,
    /// Requests to other routes (JWKS, discovery, unknown paths).
    pub other_requests: u64,
    /// TCP connections accepted.
    pub connections_accepted: u64,
    /// The most recent token requests, oldest first (bounded by
    /// [`Limits::request_log_capacity`](crate::Limits::request_log_capacity)).
    pub recent: Vec<RequestSummary>,
}

impl Stats {
    /// How many token-route responses had `status`.
    pub fn count(&self, status: u16) -> u64 {
        self.by_status.get(&status).copied().unwrap_or(0)
    }
}

#[derive(Debug, Default)]
struct Inner {
    token_requests: u64,
    tokens_issued: u64,
    by_status: BTreeMap<u16, u64>,
    dropped: u64,
    truncated: u64,
    faults_injected: u64,
    recent: VecDeque<RequestSummary>,
}

/// Thread-safe counters behind [`Stats`].
#[derive(Debug)]
pub(crate) struct StatsRecorder {
    inner: Mutex<Inner>,
    capacity: usize,
    other_requests: AtomicU64,
    connections_accepted: AtomicU64,
    /// Ticks on every change, for [`RunningEmulator::wait_for_stats`](crate::RunningEmulator::wait_for_stats).
    changes: watch::Sender<()>,
}

impl StatsRecorder {
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            inner: Mutex::new(Inner::default()),
            capacity,
            other_requests: AtomicU64::new(0),
            connections_accepted: AtomicU64::new(0),
            changes: watch::Sender::new(()),
        }
    }

    /// A receiver that sees every later change (its current value counts as seen).
    pub(crate) fn subscribe(&self) -> watch::Receiver<()> {
        self.changes.subscribe()
    }

    /// Tells waiters something changed (also used when a fault is consumed).
    pub(crate) fn touch(&self) {
        self.changes.send_replace(());
    }

    pub(crate) fn record(&self, summary: RequestSummary, token_issued: bool) {
        let mut inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        inner.token_requests += 1;
        if token_issued {
            inner.tokens_issued += 1;
        }
        if summary.fault.is_some() {
            inner.faults_injected += 1;
        }
        match summary.outcome {
            Outcome::Status(status) => *inner.by_status.entry(status).or_insert(0) += 1,
            Outcome::Dropped => inner.dropped += 1,
            Outcome::Truncated => inner.truncated += 1,
        }
        if self.capacity > 0 {
            if inner.recent.len() == self.capacity {
                inner.recent.pop_front();
            }
            inner.recent.push_back(summary);
        }
        drop(inner);
        self.touch();
    }

    pub(crate) fn record_other(&self) {
        self.other_requests.fetch_add(1, Ordering::Relaxed);
        self.touch();
    }

    pub(crate) fn record_connection(&self) {
        self.connections_accepted.fetch_add(1, Ordering::Relaxed);
        self.touch();
    }

    pub(crate) fn snapshot(&self, faults_pending: usize) -> Stats {
        let inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        Stats {
            token_requests: inner.token_requests,
            tokens_issued: inner.tokens_issued,
            by_status: inner.by_status.clone(),
            dropped: inner.dropped,
            truncated: inner.truncated,
            faults_injected: inner.faults_injected,
            faults_pending,
            other_requests: self.other_requests.load(Ordering::Relaxed),
            connections_accepted: self.connections_accepted.load(Ordering::Relaxed),
            recent: inner.recent.iter().cloned().collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary(outcome: Outcome, fault: Option<Fault>) -> RequestSummary {
        RequestSummary {
            account_id: None,
            correlation_vector: Some("cv".to_owned()),
            ms_cv: None,
            credential: CredentialKind::Missing,
            fault,
            outcome,
        }
    }

    #[test]
    fn counts_and_bounds_the_log() {
        let recorder = StatsRecorder::new(2);
        recorder.record(summary(Outcome::Status(200), None), true);
        recorder.record(summary(Outcome::Status(401), None), false);
        recorder.record(
            summary(Outcome::Dropped, Some(Fault::DropConnection)),
            false,
        );
        recorder.record_other();
        recorder.record_connection();
        let stats = recorder.snapshot(3);
        assert_eq!(stats.token_requests, 3);
        assert_eq!(stats.tokens_issued, 1);
        assert_eq!(stats.count(200), 1);
        assert_eq!(stats.count(401), 1);
        assert_eq!(stats.count(500), 0);
        assert_eq!(stats.dropped, 1);
        assert_eq!(stats.faults_injected, 1);
        assert_eq!(stats.faults_pending, 3);
        assert_eq!(stats.other_requests, 1);
        assert_eq!(stats.connections_accepted, 1);
        assert_eq!(stats.recent.len(), 2);
        assert_eq!(stats.recent[0].outcome, Outcome::Status(401));
        assert_eq!(stats.recent[1].outcome, Outcome::Dropped);
    }
}
