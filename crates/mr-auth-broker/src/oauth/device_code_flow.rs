//! The device code flow (RFC 8628, as Entra ID v2.0 serves it): get a code, have the
//! application show it, and poll the token endpoint until the user has signed in elsewhere.

use super::{
    authority_client::AuthorityClient,
    authority_host::AuthorityHost,
    authorization_request::with_oidc_scopes,
    client_id::ClientId,
    device_authorization::{
        request_device_authorization, DeviceAuthorization, MAX_EXPIRES_IN, MIN_INTERVAL,
    },
    device_code_prompt::DeviceCodePromptCallback,
    tenant_id::TenantId,
    token_endpoint::{Grant, TokenEndpoint},
    token_response::TokenResponse,
};
use crate::error::{Error, ErrorKind, Result};
use azure_core::http::Context;
use mr_auth_core::Clock;
use std::{sync::Arc, time::Duration};
use tokio::time::Instant;

/// How much `slow_down` adds to the interval, for that poll and every later one (RFC 8628
/// section 3.5).
pub(crate) const SLOW_DOWN_STEP: Duration = Duration::from_secs(5);
/// Transient failures (429, 5xx, the network, a poll's per-try timeout) in a row before the flow
/// gives up; each doubles the interval (RFC 8628 section 3.5), up to [`MAX_BACKOFF_INTERVAL`].
pub(crate) const MAX_TRANSIENT_FAILURES: u32 = 5;
/// The interval a transient failure doubles it to, at most.
pub(crate) const MAX_BACKOFF_INTERVAL: Duration = Duration::from_secs(60);

/// The most polls one sign-in can make: the longest wait at the shortest interval.
const MAX_POLLS: u64 = MAX_EXPIRES_IN.as_secs() / MIN_INTERVAL.as_secs() + 1;

/// A device code sign-in's settings.
#[derive(Debug, Clone)]
pub(crate) struct DeviceCodeFlow {
    pub(crate) authority_host: AuthorityHost,
    pub(crate) client_id: ClientId,
    /// How long to wait for the user, at most; `None`: until the code expires.
    pub(crate) timeout: Option<Duration>,
    pub(crate) prompt: DeviceCodePromptCallback,
    /// The devicecode endpoint's client (its request is retried when it fails transiently).
    pub(crate) client: AuthorityClient,
    /// The token endpoint: a poll is sent once (bounded by the client's per-try timeout), and
    /// the next one only after the interval.
    pub(crate) token_endpoint: TokenEndpoint,
    /// For the prompt's `expires_on`.
    pub(crate) clock: Arc<dyn Clock>,
}

/// What one poll said.
enum Poll {
    Tokens(Box<TokenResponse>),
    Pending,
    SlowDown,
    /// 429, 5xx, the network, or the poll's own timeout: poll again, less often.
    Transient(Error),
    /// The answer that ends the sign-in (declined, expired, a bad code, any other refusal).
    Final(Error),
}

/// Why polling stops when nothing else stopped it first.
#[derive(Clone, Copy)]
enum Deadline {
    /// The code's `expires_in` passed.
    CodeExpired(Duration),
    /// The flow's timeout passed.
    Timeout(Duration),
}

impl Deadline {
    fn error(self) -> Error {
        match self {
            Self::CodeExpired(after) => Error::new(
                ErrorKind::DeviceCodeExpired,
                format!("the device code expired after {} s before the sign-in was finished; sign in again and enter the new code sooner", after.as_secs()),
            ),
            Self::Timeout(after) => Error::new(
                ErrorKind::Timeout,
                format!("the device code sign-in did not finish within {} s; finish it sooner, or raise the timeout", after.as_secs()),
            ),
        }
    }
}

impl DeviceCodeFlow {
    /// Gets a device code, shows it through the prompt callback, and polls until the user
    /// signed in, declined, or the code expired (or the timeout passed). Runs in the caller's
    /// task: dropping the future stops polling at once.
    pub(crate) async fn sign_in(
        &self,
        tenant: &TenantId,
        scopes: &[String],
        claims: Option<&str>,
        context: &Context<'_>,
    ) -> Result<TokenResponse> {
        let scopes = with_oidc_scopes(scopes);
        let authorization = request_device_authorization(
            &self.client,
            self.authority_host.device_code_endpoint(tenant),
            &self.client_id,
            &scopes,
            claims,
            context,
        )
        .await?;
        let received = Instant::now();
        self.prompt.show(&authorization.prompt(self.clock.now()))?;
        tracing::debug!(
            verification_uri = %authorization.verification_uri,
            expires_in = authorization.expires_in.as_secs(),
            interval = authorization.interval.as_secs(),
            "device code shown; polling the token endpoint"
        );
        let (deadline, why) = match self.timeout {
            Some(timeout) if timeout < authorization.expires_in => {
                (received + timeout, Deadline::Timeout(timeout))
            }
            _ => (
                received + authorization.expires_in,
                Deadline::CodeExpired(authorization.expires_in),
            ),
        };
        let poll =
            |deadline| self.poll_once(tenant, &authorization, &scopes, claims, context, deadline);
        poll_until(received, authorization.interval, deadline, why, poll).await
    }

    /// One poll of the token endpoint, bounded by the client's per-try timeout (a poll is
    /// sent once) and the deadline.
    async fn poll_once(
        &self,
        tenant: &TenantId,
        authorization: &DeviceAuthorization,
        scopes: &[String],
        claims: Option<&str>,
        context: &Context<'_>,
        deadline: Instant,
    ) -> Option<Poll> {
        let request = self.token_endpoint.request(
            self.authority_host.token_endpoint(tenant),
            &self.client_id,
            Grant::DeviceCode(&authorization.device_code),
            scopes,
            claims,
            "",
            context,
        );
        match tokio::time::timeout_at(deadline, request).await {
            Ok(answer) => Some(classify(answer)),
            Err(_) => None,
        }
    }
}

/// Polls with `poll` (given the deadline; `None` when the deadline passed during the poll)
/// every `interval` after the previous answer, starting `interval` after `start`, until it
/// gives tokens or a final answer, or the next poll would be at or past `deadline`.
async fn poll_until<F>(
    start: Instant,
    mut interval: Duration,
    deadline: Instant,
    why: Deadline,
    poll: impl Fn(Instant) -> F,
) -> Result<TokenResponse>
where
    F: std::future::Future<Output = Option<Poll>>,
{
    let mut last = start;
    let mut transient_failures = 0;
    for _ in 0..MAX_POLLS {
        let at = last + interval;
        if at >= deadline {
            break;
        }
        tokio::time::sleep_until(at).await;
        let Some(answer) = poll(deadline).await else {
            break;
        };
        last = Instant::now();
        match answer {
            Poll::Tokens(response) => return Ok(*response),
            Poll::Pending => transient_failures = 0,
            Poll::SlowDown => {
                transient_failures = 0;
                interval += SLOW_DOWN_STEP;
                tracing::debug!(
                    interval = interval.as_secs(),
                    "the authority asked to slow down"
                );
            }
            Poll::Transient(e) => {
                transient_failures += 1;
                if transient_failures > MAX_TRANSIENT_FAILURES {
                    return Err(e);
                }
                interval = (interval * 2).min(MAX_BACKOFF_INTERVAL).max(interval);
                tracing::info!(error = %e, interval = interval.as_secs(), "a poll failed; polling less often");
            }
            Poll::Final(e) => return Err(e),
        }
    }
    Err(why.error())
}

/// What a poll's answer means for the flow.
fn classify(answer: Result<TokenResponse>) -> Poll {
    match answer {
        Ok(response) => Poll::Tokens(Box::new(response)),
        Err(e) => match e.oauth_error() {
            Some("authorization_pending") => Poll::Pending,
            Some("slow_down") => Poll::SlowDown,
            _ if matches!(
                e.kind(),
                ErrorKind::Throttled
                    | ErrorKind::ServiceError
                    | ErrorKind::Transport
                    | ErrorKind::Timeout
            ) =>
            {
                Poll::Transient(e)
            }
            _ => Poll::Final(e),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    /// Runs `poll_until` over scripted answers; what it returned and when each poll was made
    /// (seconds after the start).
    async fn run(
        answers: Vec<fn() -> Poll>,
        interval: u64,
        deadline: u64,
    ) -> (Result<()>, Vec<u64>) {
        let start = Instant::now();
        let times = Mutex::new(Vec::new());
        let answers = Mutex::new(answers.into_iter());
        let result = poll_until(
            start,
            Duration::from_secs(interval),
            start + Duration::from_secs(deadline),
            Deadline::CodeExpired(Duration::from_secs(deadline)),
            |_| {
                times
                    .lock()
                    .unwrap()
                    .push((Instant::now() - start).as_secs());
                let next = answers.lock().unwrap().next();
                async move { Some(next.map_or(Poll::Pending, |f| f())) }
            },
        )
        .await;
        let times = times.into_inner().unwrap();
        (result.map(|_| ()), times)
    }

    fn pending() -> Poll {
        Poll::Pending
    }
    fn slow_down() -> Poll {
        Poll::SlowDown
    }
    fn unavailable() -> Poll {
        Poll::Transient(Error::new(ErrorKind::ServiceError, "503"))
    }
    fn declined() -> Poll {
        Poll::Final(Error::new(ErrorKind::UserCancelled, "no"))
    }

    #[tokio::test(start_paused = true)]
    async fn polls_at_the_interval_and_slows_down_for_good() {
        let (result, times) = run(vec![pending, slow_down, declined], 5, 900).await;
        assert_eq!(result.unwrap_err().kind(), ErrorKind::UserCancelled);
        assert_eq!(times, [5, 10, 20]);
    }

    #[tokio::test(start_paused = true)]
    async fn never_polls_at_or_past_the_deadline() {
        let (result, times) = run(vec![], 5, 20).await;
        assert_eq!(result.unwrap_err().kind(), ErrorKind::DeviceCodeExpired);
        assert_eq!(times, [5, 10, 15]);
    }

    #[tokio::test(start_paused = true)]
    async fn transient_failures_back_off_then_give_up() {
        let (result, times) = run(vec![unavailable as fn() -> Poll; 6], 5, 3600).await;
        assert_eq!(result.unwrap_err().kind(), ErrorKind::ServiceError);
        // 5, then waits of 10, 20, 40, 60, 60.
        assert_eq!(times, [5, 15, 35, 75, 135, 195]);
    }
}

/// The fuzzing entry: the authority's answers to one device code sign-in, from bytes split at
/// NUL bytes. The first part is the devicecode endpoint's answer, each later one the token
/// endpoint's answer to a poll; the first byte of each picks its status (`b % 6` of 200, 400,
/// 401, 429, 500, 503: the ASCII digits `0`-`5` in that order), the rest is the body. A usable
/// authorization is then polled through those answers on a paused clock.
#[cfg(feature = "fuzzing")]
pub(crate) fn fuzz_responses(data: &[u8]) {
    fuzz::run(data);
}

#[cfg(feature = "fuzzing")]
mod fuzz {
    use super::{
        classify, poll_until, Deadline, DeviceAuthorization, Poll, MAX_POLLS, SLOW_DOWN_STEP,
    };
    use crate::{
        error::ErrorKind,
        oauth::{device_authorization::refusal, token_endpoint::parse_response},
    };
    use std::{cell::RefCell, time::Duration};
    use tokio::time::Instant;

    /// How a sign-in the input allowed ended: the polls made, and the result's kind.
    pub(super) type Outcome = (usize, Result<(), ErrorKind>);

    /// The entry's work; the outcome when the devicecode answer was usable.
    pub(super) fn run(data: &[u8]) -> Option<Outcome> {
        thread_local! {
            // One paused-time runtime per fuzzing thread: the intervals pass at once.
            static RUNTIME: Option<tokio::runtime::Runtime> = tokio::runtime::Builder::new_current_thread()
                .enable_time()
                .start_paused(true)
                .build()
                .ok();
        }
        let mut parts = data.split(|b| *b == 0).filter_map(|part| {
            let (first, body) = part.split_first()?;
            Some((
                [200, 400, 401, 429, 500, 503][usize::from(*first) % 6],
                body,
            ))
        });
        let (status, body) = parts.next()?;
        let authorization = if (200..300).contains(&status) {
            DeviceAuthorization::from_json(body)
        } else {
            Err(refusal(status, body))
        };
        let authorization = match authorization {
            Ok(authorization) => authorization,
            Err(e) if (200..300).contains(&status) => {
                assert_eq!(e.kind(), ErrorKind::Protocol, "{e}");
                return None;
            }
            Err(e) => {
                assert_eq!(e.status(), Some(status), "a refusal keeps its status: {e}");
                return None;
            }
        };
        check_authorization(&authorization);
        let clock = mr_auth_core::ManualClock::at_fixed_start();
        // Each poll's answer as the flow reads it; at most as many polls as one sign-in makes.
        let answers: Vec<Poll> = parts
            .take(usize::try_from(MAX_POLLS).unwrap_or(usize::MAX))
            .map(|(status, body)| {
                classify(parse_response(
                    &clock,
                    status,
                    body,
                    "http://localhost:8400",
                ))
            })
            .collect();
        RUNTIME.with(|runtime| {
            runtime
                .as_ref()
                .map(|runtime| runtime.block_on(poll_through(&authorization, answers)))
        })
    }

    /// What a usable authorization promises the flow and the user.
    pub(super) fn check_authorization(authorization: &DeviceAuthorization) {
        use super::super::device_authorization::{MAX_EXPIRES_IN, MAX_INTERVAL, MIN_INTERVAL};
        assert!(!authorization.device_code.secret().is_empty());
        assert!(
            !authorization.user_code.is_empty()
                && !authorization
                    .user_code
                    .chars()
                    .any(|c| c.is_control() || c.is_whitespace()),
            "user code {:?}",
            authorization.user_code
        );
        assert!(
            !authorization.message.is_empty()
                && !authorization.message.chars().any(char::is_control),
            "message {:?}",
            authorization.message
        );
        let uri = &authorization.verification_uri;
        assert!(
            uri.scheme() == "https"
                || (uri.scheme() == "http" && mr_auth_core::is_loopback_url(uri)),
            "verification uri {uri}"
        );
        assert!(authorization.expires_in > Duration::ZERO);
        assert!(authorization.expires_in <= MAX_EXPIRES_IN);
        assert!((MIN_INTERVAL..=MAX_INTERVAL).contains(&authorization.interval));
        // Debug shows the address and the timing, never a code.
        assert_eq!(
            format!("{authorization:?}"),
            format!(
                "DeviceAuthorization {{ verification_uri: {:?}, expires_in: {:?}, interval: {:?}, .. }}",
                uri.as_str(),
                authorization.expires_in,
                authorization.interval
            )
        );
        let prompt = authorization.prompt(time::OffsetDateTime::UNIX_EPOCH);
        assert_eq!(prompt.user_code, authorization.user_code);
    }

    /// What the flow is expected to make of one answer.
    #[derive(Clone, Copy)]
    enum Seen {
        Tokens,
        Pending,
        SlowDown,
        Transient(ErrorKind),
        Final(ErrorKind),
    }

    /// Polls through `answers` (the script ending is taken as the deadline passing) and
    /// checks the flow's promises: never sooner than the interval after the previous answer
    /// (5 s more for good after `slow_down`), never at or past the code's expiry, and the end
    /// is what the answers said.
    async fn poll_through(authorization: &DeviceAuthorization, answers: Vec<Poll>) -> Outcome {
        let seen: Vec<Seen> = answers
            .iter()
            .map(|answer| match answer {
                Poll::Tokens(_) => Seen::Tokens,
                Poll::Pending => Seen::Pending,
                Poll::SlowDown => Seen::SlowDown,
                Poll::Transient(e) => Seen::Transient(e.kind()),
                Poll::Final(e) => Seen::Final(e.kind()),
            })
            .collect();
        let start = Instant::now();
        let deadline = start + authorization.expires_in;
        let answers = RefCell::new(answers.into_iter());
        let times = RefCell::new(Vec::new());
        let result = poll_until(
            start,
            authorization.interval,
            deadline,
            Deadline::CodeExpired(authorization.expires_in),
            |_| {
                times.borrow_mut().push(Instant::now());
                let next = answers.borrow_mut().next();
                async move { next }
            },
        )
        .await;
        let times = times.into_inner();
        let mut least = authorization.interval;
        let mut previous = start;
        for (i, at) in times.iter().enumerate() {
            assert!(*at < deadline, "a poll at or past the code's expiry");
            assert!(
                *at - previous >= least,
                "a poll {:?} after the previous answer, under {least:?}",
                *at - previous
            );
            if matches!(seen.get(i), Some(Seen::SlowDown)) {
                least += SLOW_DOWN_STEP;
            }
            previous = *at;
        }
        // The answer to the last poll made; `None`: the script had ended (the deadline).
        let last = times.len().checked_sub(1).and_then(|i| seen.get(i));
        match (&result, last) {
            (Ok(_), Some(Seen::Tokens)) => {}
            (Ok(_), _) => panic!("tokens without a token answer"),
            (Err(e), Some(Seen::Tokens)) => panic!("a token answer ended in an error: {e}"),
            (Err(e), Some(Seen::Final(kind))) => assert_eq!(e.kind(), *kind, "{e}"),
            // Too many in a row end the flow with the last; else the next poll was too late.
            (Err(e), Some(Seen::Transient(kind))) => assert!(
                e.kind() == *kind || e.kind() == ErrorKind::DeviceCodeExpired,
                "{e}"
            ),
            (Err(e), _) => assert_eq!(e.kind(), ErrorKind::DeviceCodeExpired, "{e}"),
        }
        (times.len(), result.map(|_| ()).map_err(|e| e.kind()))
    }

    #[cfg(test)]
    mod tests {
        use super::{run, ErrorKind};

        const AUTHORIZATION: &str = r#"0{"device_code":"dc","user_code":"ABCDEFGHI","verification_uri":"https://microsoft.com/devicelogin","expires_in":900,"interval":5}"#;
        const PENDING: &str =
            r#"1{"error":"authorization_pending","error_description":"AADSTS70016: pending"}"#;
        const TOKENS: &str = r#"0{"token_type":"Bearer","access_token":"at","expires_in":3599,"refresh_token":"rt"}"#;

        /// The entry's input: the parts joined at NUL bytes.
        fn input(parts: &[&str]) -> Vec<u8> {
            parts.join("\0").into_bytes()
        }

        #[test]
        fn each_way_a_sign_in_ends_is_reached() {
            let slow_down = r#"1{"error":"slow_down"}"#;
            let declined =
                r#"1{"error":"authorization_declined","error_description":"AADSTS70000"}"#;
            let expired = r#"1{"error":"expired_token"}"#;
            let bad_code = r#"2{"error":"bad_verification_code"}"#;
            for (parts, outcome) in [
                (
                    &[AUTHORIZATION, PENDING, slow_down, TOKENS][..],
                    (3, Ok(())),
                ),
                (
                    &[AUTHORIZATION, PENDING, declined],
                    (2, Err(ErrorKind::UserCancelled)),
                ),
                (
                    &[AUTHORIZATION, expired],
                    (1, Err(ErrorKind::DeviceCodeExpired)),
                ),
                (
                    &[AUTHORIZATION, bad_code],
                    (1, Err(ErrorKind::BadVerificationCode)),
                ),
                // Six transient failures in a row (429, 503 without a body, 500) give up.
                (
                    &[AUTHORIZATION, "3{}", "5", "4", "3", "5", "4", TOKENS],
                    (6, Err(ErrorKind::ServiceError)),
                ),
                // The script ends: the code expires without another poll.
                (
                    &[AUTHORIZATION, PENDING],
                    (2, Err(ErrorKind::DeviceCodeExpired)),
                ),
            ] {
                assert_eq!(run(&input(parts)), Some(outcome), "{parts:?}");
            }
        }

        #[test]
        fn a_short_code_is_never_polled_at_its_expiry() {
            // 3 s at the shortest interval (0 is taken as 1 s): polls at 1 s and 2 s only.
            let short = r#"0{"device_code":"d","user_code":"U","verification_url":"https://x.example","expires_in":3,"interval":0}"#;
            let pending = [short, PENDING, PENDING, PENDING, PENDING];
            assert_eq!(
                run(&input(&pending)),
                Some((2, Err(ErrorKind::DeviceCodeExpired)))
            );
        }

        #[test]
        fn unusable_or_refused_authorizations_end_before_polling() {
            for parts in [
                &[
                    r#"0{"device_code":"d","user_code":"A B","verification_uri":"https://x.example","expires_in":60}"#,
                    TOKENS,
                ][..],
                &[
                    r#"0{"device_code":"d","user_code":"U","verification_uri":"http://phish.example","expires_in":60}"#,
                ],
                &[
                    r#"1{"error":"unauthorized_client","error_codes":[7000218]}"#,
                    TOKENS,
                ],
                &["5", TOKENS],
                &[""],
                &["\u{ff}\u{fe}"],
            ] {
                assert_eq!(run(&input(parts)), None, "{parts:?}");
            }
        }
    }
}
