use std::{fmt, net::SocketAddr, sync::Arc};

use tokio::{sync::watch, task::JoinHandle};
use url::Url;
use uuid::Uuid;

use crate::{
    sts_service::{StsService, API_VERSION},
    Fault, Result, Stats,
};

/// A started emulator. Dropping it stops the server in the background; call
/// [`shutdown`](Self::shutdown) to wait until it has stopped.
pub struct RunningEmulator {
    service: Arc<StsService>,
    endpoint: Url,
    jwks_url: Url,
    local_addr: SocketAddr,
    ca_pem: Option<String>,
    shutdown: watch::Sender<bool>,
    task: Option<JoinHandle<()>>,
}

impl fmt::Debug for RunningEmulator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RunningEmulator")
            .field("endpoint", &self.endpoint.as_str())
            .field("local_addr", &self.local_addr)
            .field("tls", &self.ca_pem.is_some())
            .field("service", &self.service)
            .finish_non_exhaustive()
    }
}

impl RunningEmulator {
    pub(crate) fn new(
        service: Arc<StsService>,
        endpoint: Url,
        jwks_url: Url,
        local_addr: SocketAddr,
        ca_pem: Option<String>,
        shutdown: watch::Sender<bool>,
        task: JoinHandle<()>,
    ) -> Self {
        Self {
            service,
            endpoint,
            jwks_url,
            local_addr,
            ca_pem,
            shutdown,
            task: Some(task),
        }
    }

    /// The STS endpoint to give the client as its custom endpoint, e.g.
    /// `https://127.0.0.1:50123/` (with the path prefix, if any: `https://127.0.0.1:50123/sts`).
    /// Token requests go to `{endpoint}/Accounts/{accountId}/token?api-version=2019-02-28-preview`.
    pub fn endpoint(&self) -> &Url {
        &self.endpoint
    }

    /// The full token URL for `account`:
    /// `{endpoint}/Accounts/{account}/token?api-version=2019-02-28-preview`.
    pub fn token_url(&self, account: Uuid) -> Url {
        let mut url = self.endpoint.clone();
        let path = format!(
            "{}/Accounts/{account}/token",
            self.endpoint.path().trim_end_matches('/')
        );
        url.set_path(&path);
        url.set_query(Some(&format!("api-version={API_VERSION}")));
        url
    }

    /// The bound socket address.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The PEM of the CA that signed the server certificate, when TLS is on. Trust it in the
    /// client (e.g. reqwest's `Certificate::from_pem`); nothing is installed system-wide.
    pub fn ca_pem(&self) -> Option<&str> {
        self.ca_pem.as_deref()
    }

    /// Where the JSON Web Key Set of the token signing key is served:
    /// `{endpoint}/.well-known/jwks.json`. The discovery document is at
    /// `{endpoint}/.well-known/openid-configuration`.
    pub fn jwks_url(&self) -> &Url {
        &self.jwks_url
    }

    /// The JSON Web Key Set, as served (one ES256 P-256 key).
    pub fn jwks_json(&self) -> &str {
        self.service.signer.jwks()
    }

    /// The `kid` in the header of every issued token.
    pub fn signing_key_id(&self) -> &str {
        self.service.signer.kid()
    }

    /// The `iss` of issued tokens.
    pub fn issuer(&self) -> &str {
        &self.service.issuer
    }

    /// The `aud` of issued tokens.
    pub fn audience(&self) -> &str {
        &self.service.audience
    }

    /// A snapshot of the counters and the recent-request log.
    pub fn stats(&self) -> Stats {
        self.service.stats()
    }

    /// Waits until `condition` holds for the [`stats`](Self::stats) and returns them: woken by
    /// each change (a request recorded, a connection accepted, a fault consumed), it never
    /// polls. There is no time bound: bound the caller (tests use `tokio::time::timeout`).
    ///
    /// ```no_run
    /// # async fn run(emulator: mr_auth_emulator::RunningEmulator) {
    /// // Something else sends a token request; wait until the emulator has answered it.
    /// let stats = emulator.wait_for_stats(|stats| stats.token_requests == 1).await;
    /// assert_eq!(stats.tokens_issued, 1);
    /// # }
    /// ```
    pub async fn wait_for_stats(&self, condition: impl Fn(&Stats) -> bool) -> Stats {
        self.service.wait_for_stats(condition).await
    }

    /// Queues `faults` after any still pending; each later token request consumes one.
    /// Fails, queueing nothing, if any fault is invalid.
    pub fn push_faults(&self, faults: impl IntoIterator<Item = Fault>) -> Result<()> {
        let faults: Vec<Fault> = faults.into_iter().collect();
        for fault in &faults {
            fault.validate()?;
        }
        self.service.push_faults(faults);
        Ok(())
    }

    /// Drops every pending fault; returns how many there were.
    pub fn clear_faults(&self) -> usize {
        self.service.clear_faults()
    }

    /// Stops accepting connections, lets in-flight requests finish (bounded by
    /// [`Limits::shutdown_grace`](crate::Limits::shutdown_grace)), closes every connection
    /// and returns when the server task has ended.
    pub async fn shutdown(mut self) {
        let _ = self.shutdown.send(true);
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for RunningEmulator {
    fn drop(&mut self) {
        let _ = self.shutdown.send(true);
    }
}
