//! The `ecs-role-guard` function: after ECS CreateCluster, CreateService and UpdateService
//! calls, make sure the roles ECS needs are there and right.

use serde::Deserialize;

use super::{Common, Deps, Guard};
use crate::aws;
use crate::domain::catalog::{ECS_SERVICE_LINKED_ROLE, ECS_SERVICE_ROLE};
use crate::domain::roles::{self, RoleTarget};
use crate::invocation::error::InvocationError;
use crate::invocation::events::{accept, ApiCallEvent};
use crate::invocation::gate::Scope;
use crate::invocation::reach::AccountClients;
use crate::invocation::report::{Check, Finding, Report, Status};
use crate::invocation::verdict_cache::Verdicts;

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

/// The handler with what it keeps between invocations of a warm container.
#[derive(Debug)]
pub struct EcsRoleGuard {
    common: Common,
    iam: AccountClients<aws_sdk_iam::Client>,
    verdicts: Verdicts,
}

impl Guard for EcsRoleGuard {
    const NAME: &'static str = FUNCTION;
    type Clients = aws_sdk_iam::Client;

    fn new(deps: Deps) -> Self {
        let verdicts = Verdicts::new(deps.settings.verdict_ttl);
        Self {
            common: deps.common(),
            iam: deps.account_clients(aws::iam_client),
            verdicts,
        }
    }

    fn common(&self) -> &Common {
        &self.common
    }

    fn clients(&self) -> &AccountClients<aws_sdk_iam::Client> {
        &self.iam
    }

    fn accept(event: &ApiCallEvent) -> Result<(), InvocationError> {
        route(event).map(drop)
    }

    /// Handles one parsed event: checks, creates and repairs, then returns and logs the report.
    async fn handle(
        &self,
        event: &ApiCallEvent,
        iam: &aws_sdk_iam::Client,
    ) -> Result<Report, InvocationError> {
        let call = route(event)?;
        let detail = &event.detail;
        let scope = Scope::from_event(self.common.settings.mode, event);
        let named_role = match call {
            Call::CreateCluster => None,
            Call::CreateService | Call::UpdateService => detail
                .request::<Option<ServiceParameters>>()?
                .and_then(|p| p.role)
                .filter(|r| !r.is_empty()),
        };
        // Validate the whole input before the first AWS call.
        let target = match &named_role {
            Some(reference) => self.common.owned(RoleTarget::named(
                &ECS_SERVICE_ROLE,
                reference,
                "requestParameters.role",
            )?),
            None => RoleTarget::catalog(&ECS_SERVICE_LINKED_ROLE),
        };
        tracing::info!(event_id = %scope.event_id, event = %scope.cause, role = %target.name, "checking");
        let mut findings = roles::ensure(iam, &self.verdicts, &scope, &target).await;
        if refused_for_missing_slr(event) {
            explain_retry(&mut findings, &detail.event_name);
        }
        Ok(Report::logged_for_event(
            FUNCTION,
            self.common.settings.mode,
            event,
            findings,
            self.common.calls.take(),
        ))
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
    for finding in findings
        .iter_mut()
        .filter(|f| matches!(f.check, Check::Exists | Check::Role | Check::Path))
    {
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
