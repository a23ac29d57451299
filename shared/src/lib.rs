//! ecs-warden's domain, shared by every function: the events they parse, the catalog of
//! roles the seeds require, the role and alarm checks, and the reports they return.

#![warn(missing_docs)]

pub mod access_doctor;
pub mod alarms;
pub mod aws;
pub mod catalog;
pub mod clusters;
pub mod deadline;
pub mod deletion;
pub mod ecs_role_guard;
pub mod error;
pub mod events;
pub mod notify;
pub mod permissions;
pub mod reconcile;
pub mod report;
pub mod role_drift_guard;
pub mod roles;
pub mod scaling;
pub mod scaling_guard;
pub mod settings;
pub mod trails;
pub mod trust_policy;
pub mod usage;
pub mod verdicts;
