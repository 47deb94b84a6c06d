//! A hung session bus: a Unix socket that accepts every connection and never answers, as a
//! `dbus-daemon` that has stopped responding looks to a client (it connected, then nothing
//! comes back: not the authentication, not `Hello`). It runs in the test's own runtime, so
//! under a paused tokio clock the client's timeouts are virtual time.

use std::path::PathBuf;
use tokio::{io::AsyncReadExt as _, net::UnixListener, task::JoinSet};

/// The most connections held; every test needs a handful.
const MAX_CONNECTIONS: usize = 64;

/// The hung bus: its D-Bus address, and the connections it holds (read and never answered).
#[derive(Debug)]
pub struct HungBus {
    dir: PathBuf,
    address: String,
    task: tokio::task::JoinHandle<()>,
}

impl HungBus {
    /// Listens on a socket in a directory of its own (removed on drop).
    pub fn start() -> Self {
        let dir = std::env::temp_dir().join(format!("mr-auth-hung-bus-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).expect("a temporary directory");
        let socket = dir.join("bus");
        let listener = UnixListener::bind(&socket).expect("a unix socket in a fresh directory");
        let task = tokio::spawn(async move {
            let mut held = JoinSet::new();
            for _ in 0..MAX_CONNECTIONS {
                let Ok((mut stream, _)) = listener.accept().await else {
                    return;
                };
                // Read whatever the client says (so it never blocks on a full buffer), answer
                // nothing, keep the connection open.
                held.spawn(async move {
                    let mut sink = [0u8; 1024];
                    while matches!(stream.read(&mut sink).await, Ok(n) if n > 0) {}
                    std::future::pending::<()>().await;
                });
            }
            std::future::pending::<()>().await;
        });
        Self {
            address: format!("unix:path={}", socket.display()),
            dir,
            task,
        }
    }

    /// The D-Bus address (`unix:path=...`) to give a client.
    pub fn address(&self) -> &str {
        &self.address
    }
}

impl Drop for HungBus {
    fn drop(&mut self) {
        self.task.abort();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
