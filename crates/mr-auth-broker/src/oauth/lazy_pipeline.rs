//! The `azure_core` pipeline to the authority, built at the first request that needs it, not
//! when a credential is made: a process that only answers from a cache (a warm
//! `mr-auth entra-token`, a credential's cache hit) never builds an HTTP client, never loads
//! the system's root certificates and never sets up TLS.

use crate::error::{Error, ErrorKind, Result};
use azure_core::http::{ClientOptions, Pipeline, Transport};
use std::{
    fmt,
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc, OnceLock,
    },
    time::Duration,
};

/// `azure_core`'s defaults for its own `reqwest` client, which this replaces when the options
/// give no transport (so that a failure to build it is an error, not `azure_core`'s panic).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(20);
const READ_TIMEOUT: Duration = Duration::from_secs(60);

/// How many default HTTP clients this process has built (see [`default_clients_built`]).
static DEFAULT_CLIENTS_BUILT: AtomicUsize = AtomicUsize::new(0);

/// A pipeline of `options`, built once, at the first [`get`](Self::get). Clones share it.
#[derive(Clone)]
pub(crate) struct LazyPipeline(Arc<Inner>);

struct Inner {
    options: ClientOptions,
    pipeline: OnceLock<Pipeline>,
}

impl LazyPipeline {
    /// Nothing is built yet.
    pub(crate) fn new(options: ClientOptions) -> Self {
        Self(Arc::new(Inner {
            options,
            pipeline: OnceLock::new(),
        }))
    }

    /// The pipeline, built now if this is the first request. With no transport in the
    /// options it gets a `reqwest` client configured as `azure_core`'s default one.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Transport`] when the HTTP client cannot be built (its TLS setup failed:
    /// no usable root certificates, for example). The next request tries again.
    pub(crate) fn get(&self) -> Result<&Pipeline> {
        if let Some(pipeline) = self.0.pipeline.get() {
            return Ok(pipeline);
        }
        let mut options = self.0.options.clone();
        if options.transport.is_none() {
            options.transport = Some(default_transport()?);
        }
        let pipeline = Pipeline::new(
            option_env!("CARGO_PKG_NAME"),
            option_env!("CARGO_PKG_VERSION"),
            options,
            Vec::new(),
            Vec::new(),
            None,
        );
        // Two first requests at once may both build one; the first stored is kept.
        Ok(self.0.pipeline.get_or_init(|| pipeline))
    }

    /// Whether the pipeline has been built.
    pub(crate) fn is_built(&self) -> bool {
        self.0.pipeline.get().is_some()
    }
}

fn default_transport() -> Result<Transport> {
    let client = reqwest::Client::builder()
        .connect_timeout(CONNECT_TIMEOUT)
        .read_timeout(READ_TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| {
            Error::new(
                ErrorKind::Transport,
                "could not build the HTTP client for the authority (its TLS setup failed)",
            )
            .with_source(e)
        })?;
    DEFAULT_CLIENTS_BUILT.fetch_add(1, Ordering::Relaxed);
    Ok(Transport::new(Arc::new(client)))
}

/// How many default HTTP clients (each with its TLS configuration and the system's root
/// certificates) the credentials of this process have built so far.
#[cfg(feature = "test-util")]
pub(crate) fn default_clients_built() -> usize {
    DEFAULT_CLIENTS_BUILT.load(Ordering::Relaxed)
}

impl fmt::Debug for LazyPipeline {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LazyPipeline")
            .field("built", &self.is_built())
            .finish_non_exhaustive()
    }
}
