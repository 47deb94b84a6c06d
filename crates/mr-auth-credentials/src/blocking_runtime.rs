use mr_auth_core::{Error, ErrorKind};
use std::{fmt, future::Future};
use tokio::runtime::{Builder, Handle, Runtime};

/// The private tokio runtime behind the blocking API: one worker thread that runs the STS
/// requests (and background refreshes) while the calling thread blocks.
pub(crate) struct BlockingRuntime {
    runtime: Option<Runtime>,
}

impl BlockingRuntime {
    pub(crate) fn new() -> Result<Self, Error> {
        let runtime = Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("mr-auth-blocking")
            .enable_all()
            .build()
            .map_err(|error| {
                Error::new(
                    ErrorKind::Transport,
                    "could not start the runtime of the blocking client",
                )
                .with_source(error)
            })?;
        Ok(Self {
            runtime: Some(runtime),
        })
    }

    pub(crate) fn handle(&self) -> &Handle {
        self.runtime().handle()
    }

    /// Runs `future` to completion on this runtime, blocking the calling thread; refuses when
    /// the calling thread is inside an async runtime, where blocking would stall (or, on a
    /// single-threaded runtime, deadlock) that runtime.
    pub(crate) fn block_on<F: Future>(&self, what: &str, future: F) -> Result<F::Output, Error> {
        if Handle::try_current().is_ok() {
            return Err(Error::new(
                ErrorKind::InvalidInput,
                format!(
                    "{what} is a blocking call and was made from inside an async runtime, where it would block the runtime's thread; use the async API there (or move the call to a thread outside the runtime)"
                ),
            ));
        }
        Ok(self.runtime().block_on(future))
    }

    fn runtime(&self) -> &Runtime {
        self.runtime
            .as_ref()
            .expect("the runtime is only taken out on drop")
    }
}

impl Drop for BlockingRuntime {
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            if Handle::try_current().is_ok() {
                // Dropping a runtime inside another one panics; let it wind down in the
                // background instead.
                runtime.shutdown_background();
            }
        }
    }
}

impl fmt::Debug for BlockingRuntime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BlockingRuntime").finish_non_exhaustive()
    }
}
