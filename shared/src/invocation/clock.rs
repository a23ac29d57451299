//! The time a handler reads, injected: the system's in a container, one the caller sets in
//! tests, so a deletion that waits minutes between steps can be driven in milliseconds.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

/// Seconds since the epoch, from the system or from a value the caller moves.
#[derive(Debug, Clone, Default)]
pub struct Clock(Option<Arc<AtomicU64>>);

impl Clock {
    /// The system's clock.
    pub fn system() -> Self {
        Self(None)
    }

    /// A clock that reads `start` until it is set or advanced; its clones share the time.
    pub fn manual(start: u64) -> Self {
        Self(Some(Arc::new(AtomicU64::new(start))))
    }

    /// The time now, in seconds since the epoch.
    pub fn now(&self) -> u64 {
        match &self.0 {
            Some(manual) => manual.load(Ordering::SeqCst),
            None => SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_secs()),
        }
    }

    /// The time now, in milliseconds since the epoch (a manual clock's whole seconds).
    pub fn now_millis(&self) -> u64 {
        match &self.0 {
            Some(manual) => manual.load(Ordering::SeqCst).saturating_mul(1000),
            None => SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_millis() as u64),
        }
    }

    /// Sets a manual clock to `secs`.
    ///
    /// # Panics
    /// On the system clock, which only time moves.
    pub fn set(&self, secs: u64) {
        self.cell().store(secs, Ordering::SeqCst);
    }

    /// Moves a manual clock on by `secs`.
    ///
    /// # Panics
    /// On the system clock.
    pub fn advance(&self, secs: u64) {
        self.cell().fetch_add(secs, Ordering::SeqCst);
    }

    fn cell(&self) -> &AtomicU64 {
        self.0
            .as_deref()
            .expect("only a manual clock can be set; the system clock moves by itself")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_manual_clock_moves_only_when_told_and_its_clones_follow() {
        let clock = Clock::manual(100);
        let clone = clock.clone();
        assert_eq!(clone.now(), 100);
        clock.advance(5);
        assert_eq!(clone.now(), 105);
        clock.set(7);
        assert_eq!(clone.now(), 7);
        assert!(Clock::system().now() > 1_700_000_000);
    }
}
