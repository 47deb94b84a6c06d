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
