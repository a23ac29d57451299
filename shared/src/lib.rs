//! ecs-warden's library, shared by every function. Four layers, dependencies one way:
//!
//! - [`handlers`]: one module per Lambda function, used by `functions/*`;
//! - [`domain`]: the catalog of required roles, the checks and controls a report names, and
//!   the checks and repairs against them;
//! - [`invocation`]: configuration, events, deadlines, errors, reports, notifications;
//! - [`aws`]: the SDK clients, built once per container, and what a failed call says.
//!
//! handlers → domain → invocation → aws; `shared/tests/library/layers.rs` fails when a
//! module imports from a layer above its own.

#![warn(missing_docs)]

pub mod aws;
pub mod domain;
pub mod handlers;
pub mod invocation;
