//! One invocation's context: what belongs to a single call of the function rather than to
//! the container that serves it. The container keeps its clients, caches and
//! configuration between invocations; the deadline and the log of AWS calls are this
//! invocation's own, so invocations a container runs at once (Lambda's
//! concurrent runtime, the tests) never mix them. The event id and the account come with
//! the event, in the [`Scope`](crate::invocation::gate::Scope) a handler makes from it.

use std::future::Future;

use crate::aws::CallLog;
use crate::invocation::deadline::Deadline;
use crate::invocation::error::InvocationError;

/// One invocation: its deadline and its own log of AWS calls.
#[derive(Debug, Clone)]
pub struct Invocation {
    deadline: Deadline,
    calls: CallLog,
}

impl Invocation {
    /// An invocation that must answer by `deadline`, recording its calls through `calls`.
    /// Its calls are its own only while it runs inside [`Invocation::run`].
    pub fn new(deadline: Deadline, calls: CallLog) -> Self {
        Self { deadline, calls }
    }

    /// When it must answer by.
    pub fn deadline(&self) -> &Deadline {
        &self.deadline
    }

    /// Takes the AWS calls this invocation has made so far, for its report.
    pub fn calls(&self) -> Vec<String> {
        self.calls.take()
    }

    /// Runs `work` as this invocation: every AWS call made while it runs (in its task, or
    /// in tasks it starts with [`CallLog::carried`]) goes to this invocation's log.
    pub async fn run<F: Future>(&self, work: F) -> F::Output {
        CallLog::invocation(work).await
    }

    /// The work `start` begins, stopped at the deadline with
    /// [`InvocationError::OutOfTime`] naming the calls made: for a handler that cannot
    /// hand what is left to a next invocation.
    pub async fn within<T, F, Fut>(&self, start: F) -> Result<T, InvocationError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, InvocationError>>,
    {
        self.deadline.within(&self.calls, start).await
    }
}
