//! A warm container's memory of recent verdicts, so a burst of events about one thing costs
//! one set of reads rather than one per event: [`Verdicts`] remembers that a role was
//! compliant, [`Recent`] remembers an answer itself (task-doctor's diagnosis of a failure a
//! service keeps retrying).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Values by key, each trusted for `ttl` after it was reached.
#[derive(Debug)]
pub struct Recent<T> {
    ttl: Duration,
    seen: Mutex<HashMap<String, (Instant, T)>>,
}

impl<T: Clone> Recent<T> {
    /// A memory that trusts each value for `ttl`; `Duration::ZERO` remembers nothing.
    pub fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            seen: Mutex::new(HashMap::new()),
        }
    }

    /// The value kept for `key` and how long ago it was reached, while within the ttl.
    pub fn get(&self, key: &str) -> Option<(Duration, T)> {
        let seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        let (at, value) = seen.get(key)?;
        let age = at.elapsed();
        (age < self.ttl).then(|| (age, value.clone()))
    }

    /// Keeps `value` for `key`, reached now.
    pub fn keep(&self, key: &str, value: T) {
        if self.ttl.is_zero() {
            return;
        }
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        // Keys are a handful per account; dropping expired ones on write keeps the map from
        // growing in a long-lived container all the same.
        let ttl = self.ttl;
        seen.retain(|_, (at, _)| at.elapsed() < ttl);
        seen.insert(key.to_owned(), (Instant::now(), value));
    }
}

/// Compliant verdicts by key, each trusted for `ttl` after it was reached.
#[derive(Debug)]
pub struct Verdicts(Recent<()>);

impl Verdicts {
    /// A memory that trusts each verdict for `ttl`; `Duration::ZERO` remembers nothing.
    pub fn new(ttl: Duration) -> Self {
        Self(Recent::new(ttl))
    }

    /// How long ago `key` was found compliant, if that is still within the ttl.
    pub fn fresh(&self, key: &str) -> Option<Duration> {
        self.0.get(key).map(|(age, ())| age)
    }

    /// Records that `key` is compliant now.
    pub fn remember(&self, key: &str) {
        self.0.keep(key, ());
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

    #[test]
    fn a_kept_value_comes_back_until_it_expires() {
        let recent = Recent::new(Duration::from_millis(50));
        recent.keep("a", 7);
        assert_eq!(recent.get("a").map(|(_, v)| v), Some(7));
        assert_eq!(recent.get("b"), None);
        std::thread::sleep(Duration::from_millis(60));
        assert_eq!(recent.get("a"), None);
    }
}
