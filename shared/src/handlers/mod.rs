//! The handlers: one module per Lambda function, and only the `functions/*` entry points
//! (and the tests, which drive them the same way) use them.
//!
//! A handler validates its whole input first (an unexpected event is an
//! `InvocationError` before any AWS call), asks the domain what to check or repair, and
//! answers with a report. Handlers depend on the domain and the invocation plumbing;
//! nothing below them depends on a handler.

pub mod access_doctor;
pub mod ecs_role_guard;
pub mod reconcile;
pub mod role_drift_guard;
pub mod scaling_guard;
pub mod slr_deletion;
