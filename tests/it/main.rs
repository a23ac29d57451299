//! Every integration test, in one binary: the real handlers against the moto server the
//! harness starts once for the whole binary. Tests stay apart by acting each in accounts of
//! their own (`Account::new`), so they run in parallel on one server.
//!
//! The slow ones (the built binaries under a Lambda Runtime API, the state machines) run
//! only with `WARDEN_SLOW_TESTS=1`, which `make test` and CI set.

mod access_doctor;
mod built_binary;
mod cli;
mod concurrency;
mod contract;
mod deadlines;
mod ecs_role_guard;
mod faults;
mod notifications;
mod organization;
mod reconcile;
mod role_drift_guard;
mod scaling_guard;
mod security_hub;
mod slr_deletion;
mod statemachines;
mod task_doctor;
