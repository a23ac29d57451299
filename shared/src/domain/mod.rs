//! The domain: what an account needs for ECS and how to tell whether it has it.
//!
//! The catalog of required roles comes from the seeds as data, and so do the checks a
//! report names and the controls they count toward (`checks`); the rest checks and
//! repairs against it: roles and their trust policies, the permission sets access-doctor
//! simulates, scaling policies and their alarms, clusters, who uses a role, and the
//! CloudTrail trails the functions depend on. The domain uses the invocation plumbing
//! (reports, deadlines, the write scope) and the AWS clients, never a handler.

pub mod alarm_history;
pub mod alarms;
pub mod catalog;
pub mod checks;
pub mod clusters;
pub mod execution_role;
pub mod permissions;
pub mod recent;
pub mod regions;
pub mod role_users;
pub mod roles;
pub mod scaling;
pub mod task_failure;
pub mod trails;
pub mod trust_policy;
