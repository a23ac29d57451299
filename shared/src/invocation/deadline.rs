//! The invocation deadline: Lambda stops a function at its timeout whatever it is doing, so
//! the handlers stop starting work while there is still time to answer, and say what is
//! left.

use std::future::Future;
use std::time::{Duration, Instant, SystemTime};

use crate::aws::CallLog;
use crate::invocation::clock::Clock;
use crate::invocation::error::InvocationError;

/// Time kept back to answer after the last piece of work: the report, its log line and an
/// SNS publication.
pub const ANSWER_RESERVE: Duration = Duration::from_secs(2);

/// When an invocation must have answered by, or no limit (tests, local runs).
#[derive(Debug, Clone, Default)]
pub struct Deadline {
    at: Option<At>,
}

/// Where a deadline reads the time: the system's monotonic clock in a container, or an
/// injected [`Clock`] (tests), whose time moves only as the test moves it.
#[derive(Debug, Clone)]
enum At {
    Instant(Instant),
    Clock { clock: Clock, millis: u64 },
}

impl Deadline {
    /// No deadline.
    pub fn none() -> Self {
        Self { at: None }
    }

    /// Whether there is no deadline.
    pub fn is_none(&self) -> bool {
        self.at.is_none()
    }

    /// The deadline Lambda gives an invocation (`Context::deadline`, milliseconds since the
    /// epoch), less [`ANSWER_RESERVE`]. Lambda's deadline is always ahead when the event
    /// arrives; one already past is an emulator's stand-in (`cargo lambda watch` sends a
    /// fixed 600000), so it means no deadline.
    pub fn from_epoch_millis(millis: u64) -> Self {
        let at = SystemTime::UNIX_EPOCH + Duration::from_millis(millis);
        match at.duration_since(SystemTime::now()) {
            Ok(left) => Self::after(left.saturating_sub(ANSWER_RESERVE)),
            Err(_) => {
                tracing::warn!(
                    deadline_ms = millis,
                    "the invocation deadline is already past; running without one"
                );
                Self::none()
            }
        }
    }

    /// A deadline `left` from now.
    pub fn after(left: Duration) -> Self {
        Self {
            at: Some(At::Instant(Instant::now() + left)),
        }
    }

    /// A deadline `left` from now on `clock`, which alone says when it has passed: with a
    /// manual or ticking clock, work is never stopped by a timer, only by the checks that
    /// read [`Self::passed`].
    pub fn on(clock: &Clock, left: Duration) -> Self {
        if clock.is_system() {
            return Self::after(left);
        }
        let left = u64::try_from(left.as_millis()).unwrap_or(u64::MAX);
        Self {
            at: Some(At::Clock {
                millis: clock.now_millis().saturating_add(left),
                clock: clock.clone(),
            }),
        }
    }

    /// The time left, `None` without a deadline.
    pub fn left(&self) -> Option<Duration> {
        self.at.as_ref().map(|at| match at {
            At::Instant(at) => at.saturating_duration_since(Instant::now()),
            At::Clock { clock, millis } => {
                Duration::from_millis(millis.saturating_sub(clock.now_millis()))
            }
        })
    }

    /// Whether the deadline has passed.
    pub fn passed(&self) -> bool {
        self.left().is_some_and(|l| l.is_zero())
    }

    /// Runs `work` to its end, or stops it at the deadline: `None` when stopped.
    pub async fn bound<T>(&self, work: impl Future<Output = T>) -> Option<T> {
        match &self.at {
            Some(At::Instant(at)) => tokio::time::timeout_at((*at).into(), work).await.ok(),
            // An injected clock has no timer: the work's own checks stop it.
            None | Some(At::Clock { .. }) => Some(work.await),
        }
    }

    /// Runs the handler's work that `start` begins, or stops it at the deadline with
    /// [`InvocationError::OutOfTime`] naming the calls `calls` recorded.
    pub async fn within<T, F, Fut>(&self, calls: &CallLog, start: F) -> Result<T, InvocationError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, InvocationError>>,
    {
        // The work is started and boxed here, never held unboxed in this future: a
        // handler's future nested in the timeout's is deeper than rustc's layout limit
        // for a test build of the binary.
        self.bound(Box::pin(start()))
            .await
            .unwrap_or_else(|| Err(out_of_time(calls)))
    }
}

/// The error of an invocation stopped at its deadline, naming the calls it made.
fn out_of_time(calls: &CallLog) -> InvocationError {
    let made = calls.take();
    InvocationError::OutOfTime {
        calls: if made.is_empty() {
            "none".to_owned()
        } else {
            made.join(", ")
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lambda_deadline_keeps_the_answer_reserve_back() {
        let now = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap()
            .as_millis() as u64;
        let left = Deadline::from_epoch_millis(now + 10_000).left().unwrap();
        assert!(
            left <= Duration::from_secs(8) && left > Duration::from_secs(7),
            "{left:?}"
        );
        assert!(Deadline::from_epoch_millis(now + 1_000).passed());
        assert!(Deadline::from_epoch_millis(600_000).is_none());
        assert!(!Deadline::none().passed());
    }

    #[tokio::test]
    async fn bound_stops_work_at_the_deadline() {
        let deadline = Deadline::after(Duration::from_millis(20));
        let stopped = deadline
            .bound(tokio::time::sleep(Duration::from_secs(5)))
            .await;
        assert!(stopped.is_none());
        assert_eq!(Deadline::none().bound(async { 7 }).await, Some(7));
    }

    #[test]
    fn a_deadline_on_a_ticking_clock_passes_after_a_fixed_number_of_checks() {
        let clock = Clock::ticking(0, Duration::from_secs(1));
        let deadline = Deadline::on(&clock, Duration::from_secs(3));
        let checks = (0..10).take_while(|_| !deadline.passed()).count();
        assert_eq!(checks, 2);
        assert!(!Deadline::on(&Clock::system(), Duration::from_secs(60)).passed());
    }
}
