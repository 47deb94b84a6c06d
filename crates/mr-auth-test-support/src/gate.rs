//! A gate that holds fakes back until a test opens it, and counts who arrived: the way tests
//! make callers overlap without sleeping.

use std::sync::Arc;
use tokio::sync::watch;

/// Holds every [`pass`](Gate::pass) until [`open`](Gate::open); counts the arrivals. Once
/// open it stays open, so a late arrival never waits forever.
#[derive(Debug)]
pub struct Gate {
    open: watch::Sender<bool>,
    arrived: watch::Sender<usize>,
}

impl Gate {
    /// A closed gate.
    pub fn new() -> Arc<Self> {
        Arc::new(Self {
            open: watch::Sender::new(false),
            arrived: watch::Sender::new(0),
        })
    }

    /// Counts this arrival, then waits until the gate is open.
    pub async fn pass(&self) {
        self.arrived.send_modify(|n| *n += 1);
        let mut open = self.open.subscribe();
        let _ = open.wait_for(|open| *open).await;
    }

    /// Lets every waiting and future [`pass`](Self::pass) through.
    pub fn open(&self) {
        self.open.send_replace(true);
    }

    /// How many have arrived so far.
    pub fn arrived(&self) -> usize {
        *self.arrived.borrow()
    }

    /// Waits until at least `n` have arrived.
    pub async fn wait_arrived(&self, n: usize) {
        let mut arrived = self.arrived.subscribe();
        let _ = arrived.wait_for(|a| *a >= n).await;
    }
}
