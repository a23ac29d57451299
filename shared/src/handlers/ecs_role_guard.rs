//! The `ecs-role-guard` function: after ECS CreateCluster, CreateService and UpdateService
//! calls, make sure the roles ECS needs are there and right.

use serde::Deserialize;
use serde_json::Value;

use super::guard::{self, Guarded, Planned};
use super::{Deps, Handler};
use crate::aws;
use crate::domain::catalog::{ECS_SERVICE_LINKED_ROLE, ECS_SERVICE_ROLE};
use crate::domain::checks::Check;
use crate::domain::roles::{self, RoleTarget};
use crate::invocation::context::Invocation;
use crate::invocation::error::InvocationError;
use crate::invocation::events::{accept, ApiCallEvent};
use crate::invocation::gate::Scope;
use crate::invocation::report::{Finding, Report, Status};
use crate::invocation::settings::SettingsError;

/// The function's name in reports and logs.
pub const FUNCTION: &str = "ecs-role-guard";

const SOURCE: &str = "aws.ecs";
const EVENT_NAMES: &[&str] = &["CreateCluster", "CreateService", "UpdateService"];
/// How ECS words a call refused because its service-linked role does not exist yet.
const MISSING_SLR_MESSAGE: &str = "unable to assume the service linked role";

/// The ECS calls this function reacts to.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Call {
    CreateCluster,
    CreateService,
    UpdateService,
}

/// The one parameter of CreateService/UpdateService that matters here.
#[derive(Debug, Default, Deserialize)]
struct ServiceParameters {
    /// The legacy load-balancer role: a name or an ARN.
    #[serde(default)]
    role: Option<String>,
}

/// What one event asks for, decided before any AWS call.
#[derive(Debug)]
pub struct Work {
    /// The role the call needs: the service-linked role, or the legacy role it named.
    target: RoleTarget,
    /// Whether the call failed for want of the service-linked role.
    refused_for_missing_slr: bool,
}

/// The handler with what it keeps between invocations of a warm container: the IAM client
/// of each account, and its verdicts.
#[derive(Debug)]
pub struct EcsRoleGuard(Guarded<aws_sdk_iam::Client>);

impl Handler for EcsRoleGuard {
    const FUNCTION: &'static str = FUNCTION;
    type Input = Planned<Work>;
    type Output = Report;

    /// Compliant verdicts are trusted for `WARDEN_VERDICT_TTL_SECONDS`.
    fn build(deps: &Deps) -> Result<Self, SettingsError> {
        let ttl = deps.settings.verdict_ttl;
        Guarded::new(deps, aws::iam_client, ttl).map(Self)
    }

    fn parse(&self, payload: Value) -> Result<Planned<Work>, InvocationError> {
        guard::plan(payload, |event| self.plan(event))
    }

    /// Checks, creates and repairs the role the event needs in the event's account.
    async fn answer(&self, input: Planned<Work>, invocation: &Invocation) -> guard::Answer {
        let ensure = async |event: &ApiCallEvent, work, iam| self.ensure(event, work, iam).await;
        self.0.answer(FUNCTION, input, invocation, ensure).await
    }
}

impl EcsRoleGuard {
    /// The role an accepted event needs, its name validated.
    fn plan(&self, event: &ApiCallEvent) -> Result<Work, InvocationError> {
        let call = route(event)?;
        let named_role = match call {
            Call::CreateCluster => None,
            Call::CreateService | Call::UpdateService => event
                .detail
                .request::<Option<ServiceParameters>>()?
                .and_then(|p| p.role)
                .filter(|r| !r.is_empty()),
        };
        let target = match &named_role {
            Some(reference) => self.0.watched.owned(RoleTarget::named(
                &ECS_SERVICE_ROLE,
                reference,
                "requestParameters.role",
            )?),
            None => RoleTarget::catalog(&ECS_SERVICE_LINKED_ROLE),
        };
        Ok(Work {
            target,
            refused_for_missing_slr: refused_for_missing_slr(event),
        })
    }

    async fn ensure(
        &self,
        event: &ApiCallEvent,
        work: Work,
        iam: aws_sdk_iam::Client,
    ) -> Vec<Finding> {
        let scope = Scope::from_event(self.0.settings.mode, event);
        let target = &work.target;
        tracing::info!(event_id = %scope.event_id, event = %scope.cause, role = %target.name, "checking");
        let mut findings = roles::ensure(&iam, &self.0.verdicts, &scope, target).await;
        if work.refused_for_missing_slr {
            explain_retry(&mut findings, &event.detail.event_name);
        }
        findings
    }
}

fn route(event: &ApiCallEvent) -> Result<Call, InvocationError> {
    Ok(match accept(event, SOURCE, EVENT_NAMES)? {
        "CreateCluster" => Call::CreateCluster,
        "CreateService" => Call::CreateService,
        _ => Call::UpdateService,
    })
}

/// Whether the call failed because ECS could not assume its service-linked role.
fn refused_for_missing_slr(event: &ApiCallEvent) -> bool {
    let detail = &event.detail;
    detail.error_code.is_some()
        && detail
            .error_message
            .as_deref()
            .is_some_and(|m| m.to_ascii_lowercase().contains(MISSING_SLR_MESSAGE))
}

/// Tells the caller, on the role finding, whether their refused call can be retried now.
fn explain_retry(findings: &mut [Finding], event_name: &str) {
    for finding in findings.iter_mut().filter(|f| {
        [Check::Exists, Check::Role, Check::Path]
            .iter()
            .any(|c| f.check == *c)
    }) {
        let advice = match finding.status {
            Status::Created | Status::Compliant => {
                format!(
                    "; the {event_name} call that failed for want of this role can now be retried"
                )
            }
            Status::WouldCreate => {
                format!("; the {event_name} call that failed for want of this role will keep failing until it exists")
            }
            _ => continue,
        };
        finding.detail.push_str(&advice);
        return;
    }
}
