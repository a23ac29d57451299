//! A warm container's memory of compliant verdicts, so a burst of events about one role
//! costs one set of reads rather than one per event.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Compliant verdicts by key, each trusted for `ttl` after it was reached.
#[derive(Debug)]
pub struct Verdicts {
    ttl: Duration,
    seen: Mutex<HashMap<String, Instant>>,
}

impl Verdicts {
    /// A memory that trusts each verdict for `ttl`; `Duration::ZERO` remembers nothing.
    pub fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            seen: Mutex::new(HashMap::new()),
        }
    }

    /// How long ago `key` was found compliant, if that is still within the ttl.
    pub fn fresh(&self, key: &str) -> Option<Duration> {
        let seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        let age = seen.get(key)?.elapsed();
        (age < self.ttl).then_some(age)
    }

    /// Records that `key` is compliant now.
    pub fn remember(&self, key: &str) {
        if self.ttl.is_zero() {
            return;
        }
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        // Keys are a handful of role names per account; dropping expired ones on write
        // keeps the map from growing in a long-lived container all the same.
        let ttl = self.ttl;
        seen.retain(|_, at| at.elapsed() < ttl);
        seen.insert(key.to_owned(), Instant::now());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembers_within_the_ttl_only() {
        let verdicts = Verdicts::new(Duration::from_millis(50));
        assert_eq!(verdicts.fresh("a"), None);
        verdicts.remember("a");
        assert!(verdicts.fresh("a").is_some());
        std::thread::sleep(Duration::from_millis(60));
        assert_eq!(verdicts.fresh("a"), None);
    }

    #[test]
    fn zero_ttl_remembers_nothing() {
        let off = Verdicts::new(Duration::ZERO);
        off.remember("a");
        assert_eq!(off.fresh("a"), None);
    }
}
