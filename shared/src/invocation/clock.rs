//! The time a handler reads, injected: the system's in a container, one the caller sets in
//! tests, so a deletion that waits minutes between steps can be driven in milliseconds, and
//! one that moves on at every reading, so a deadline is reached after a known number of
//! checks however fast the emulator answers.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Seconds since the epoch, from the system or from a value the caller moves.
#[derive(Debug, Clone, Default)]
pub struct Clock(Option<Arc<Manual>>);

/// A clock the caller moves: milliseconds since the epoch, and how far each reading moves it.
#[derive(Debug)]
struct Manual {
    millis: AtomicU64,
    tick: u64,
}

impl Clock {
    /// The system's clock.
    pub fn system() -> Self {
        Self(None)
    }

    /// A clock that reads `start` until it is set or advanced; its clones share the time.
    pub fn manual(start: u64) -> Self {
        Self::ticking(start, Duration::ZERO)
    }

    /// A manual clock that moves on by `tick` after every reading: a deadline on it passes
    /// after a fixed number of checks.
    pub fn ticking(start: u64, tick: Duration) -> Self {
        Self(Some(Arc::new(Manual {
            millis: AtomicU64::new(start.saturating_mul(1000)),
            tick: u64::try_from(tick.as_millis()).unwrap_or(u64::MAX),
        })))
    }

    /// Whether this is the system's clock.
    pub fn is_system(&self) -> bool {
        self.0.is_none()
    }

    /// The time now, in seconds since the epoch.
    pub fn now(&self) -> u64 {
        self.now_millis() / 1000
    }

    /// The time now, in milliseconds since the epoch.
    pub fn now_millis(&self) -> u64 {
        match &self.0 {
            Some(manual) => manual.millis.fetch_add(manual.tick, Ordering::SeqCst),
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
        self.cell()
            .store(secs.saturating_mul(1000), Ordering::SeqCst);
    }

    /// Moves a manual clock on by `secs`.
    ///
    /// # Panics
    /// On the system clock.
    pub fn advance(&self, secs: u64) {
        self.cell()
            .fetch_add(secs.saturating_mul(1000), Ordering::SeqCst);
    }

    fn cell(&self) -> &AtomicU64 {
        &self
            .0
            .as_deref()
            .expect("only a manual clock can be set; the system clock moves by itself")
            .millis
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

    #[test]
    fn a_ticking_clock_moves_on_at_every_reading() {
        let clock = Clock::ticking(10, Duration::from_millis(400));
        assert_eq!(clock.now_millis(), 10_000);
        assert_eq!(clock.now_millis(), 10_400);
        assert_eq!(clock.now(), 10);
        assert_eq!(clock.now(), 11);
    }
}
