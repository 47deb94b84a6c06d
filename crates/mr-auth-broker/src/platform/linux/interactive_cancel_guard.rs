//! Cancelling an interactive flow whose caller gave up: when the future of an interactive call
//! is dropped before the broker answered (the caller's timeout, a `select!`, an aborted task),
//! the broker's window would stay open; this guard's `Drop` asks the broker to close it.

use super::{broker_bus::BrokerBus, linux_token_request::cancel_request};
use crate::oauth::ClientId;
use std::time::Duration;
use tokio::runtime::Handle;

/// Armed while an interactive call is in flight; disarmed when the broker answered.
#[derive(Debug)]
pub(crate) struct InteractiveCancelGuard {
    armed: Option<Armed>,
}

#[derive(Debug)]
struct Armed {
    bus: BrokerBus,
    correlation_id: String,
    body: String,
    timeout: Duration,
    runtime: Handle,
}

impl InteractiveCancelGuard {
    /// Arms the guard for the interactive call with `correlation_id`. Outside a tokio runtime
    /// (which the D-Bus connection needs anyway) there is nothing to run the cancel on, and
    /// the guard stays unarmed.
    pub(crate) fn arm(
        bus: &BrokerBus,
        client_id: &ClientId,
        correlation_id: &str,
        timeout: Duration,
    ) -> Self {
        let armed = Handle::try_current().ok().map(|runtime| Armed {
            bus: bus.clone(),
            correlation_id: correlation_id.to_owned(),
            body: cancel_request(client_id),
            timeout,
            runtime,
        });
        Self { armed }
    }

    /// The broker answered: nothing to cancel.
    pub(crate) fn disarm(mut self) {
        self.armed = None;
    }
}

impl Drop for InteractiveCancelGuard {
    fn drop(&mut self) {
        let Some(armed) = self.armed.take() else {
            return;
        };
        // `Drop` cannot wait: the call runs as its own task, bounded by the call timeout.
        armed.runtime.spawn(async move {
            let result = armed
                .bus
                .call(
                    "cancelInteractiveFlow",
                    &armed.correlation_id,
                    &armed.body,
                    Some(armed.timeout),
                )
                .await;
            match result {
                Ok(_) => tracing::debug!(
                    correlation_id = %armed.correlation_id,
                    "the abandoned interactive sign-in was cancelled in the broker"
                ),
                Err(failure) => tracing::info!(
                    correlation_id = %armed.correlation_id,
                    error = %failure.error,
                    "could not cancel the abandoned interactive sign-in in the broker"
                ),
            }
        });
    }
}
