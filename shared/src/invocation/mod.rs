//! The invocation plumbing every function shares, whatever it checks: its context (deadline,
//! request id, the log of its AWS calls), its configuration,
//! the events it parses, its deadline, the error of a rejected invocation, the report it
//! answers with, the notification it publishes, the findings it imports into Security Hub,
//! the metrics line it writes, the accounts it may act in and the verdicts a warm container
//! remembers.
//!
//! Nothing here knows about roles, alarms or clusters: the plumbing depends on the AWS
//! clients only, so the domain and the handlers can both build on it.

pub mod chat;
pub mod checks;
pub mod clock;
pub mod context;
pub mod deadline;
pub mod ecs_events;
pub mod error;
pub mod events;
pub mod gate;
pub mod metrics;
pub mod notice;
pub mod notify;
pub mod reach;
pub mod report;
pub mod security_hub;
pub mod settings;
pub mod verdict_cache;
