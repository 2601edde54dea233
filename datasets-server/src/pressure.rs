//! Whether connections are scarce, shared by the connection loop (which
//! knows how many are free) and the body reader (which shortens its timeout
//! then): under pressure, clients that only hold connections give way.

use std::time::Duration;

use tokio::sync::watch;

/// The header and body timeouts while connections are scarce.
pub(crate) const PRESSURE_TIMEOUT: Duration = Duration::from_secs(2);

/// Whether connections are scarce: fewer than a tenth of them free.
#[derive(Debug)]
pub(crate) struct Pressure {
    high: watch::Sender<bool>,
}

impl Default for Pressure {
    fn default() -> Self {
        Self {
            high: watch::channel(false).0,
        }
    }
}

impl Pressure {
    /// Whether connections are scarce now.
    pub(crate) fn is_high(&self) -> bool {
        *self.high.borrow()
    }

    /// A receiver told when pressure changes.
    pub(crate) fn watch(&self) -> watch::Receiver<bool> {
        self.high.subscribe()
    }

    /// Records how many of `max` connections are free.
    pub(crate) fn update(&self, free: usize, max: usize) {
        let high = free < (max / 10).max(1);
        self.high.send_if_modified(|current| {
            let changed = *current != high;
            *current = high;
            changed
        });
    }

    /// The timeout `normal` as it applies now.
    pub(crate) fn timeout(&self, normal: Duration) -> Duration {
        if self.is_high() {
            normal.min(PRESSURE_TIMEOUT)
        } else {
            normal
        }
    }
}
