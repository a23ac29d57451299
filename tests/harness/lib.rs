//! Test harness: one moto server per test process, started here on a free 127.0.0.1 port,
//! and one fresh AWS account per test, so tests run in parallel without seeing each
//! other's roles. Split by concern:
//!
//! - `moto`: the server, the venv it runs from, the retry policy the tests' clients use;
//! - `accounts`: a fresh account, its configuration, and reading what it holds;
//! - `handlers`: the real handlers built against an account, with their call logs;
//! - arranging, per service: `arrange_iam`, `regions` (ECS, Application Auto Scaling,
//!   CloudWatch, and the broken world a sweep repairs), `boto3` (what has no Rust client
//!   here);
//! - `snapshot`: what an account holds, comparable across accounts;
//! - `findings`: the findings and writes in an answer;
//! - `fault_proxy`: the proxy that faults a share of the requests.

mod accounts;
mod arrange_iam;
mod boto3;
mod fault_proxy;
mod findings;
mod handlers;
mod moto;
mod regions;
mod snapshot;

pub use accounts::Account;
pub use ecs_warden::handlers::{Deps, Handler};
pub use fault_proxy::{Fault, FaultCounts, FaultProxy};
pub use findings::*;
pub use handlers::*;
pub use moto::*;
pub use regions::*;
pub use snapshot::*;
