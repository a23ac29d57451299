//! The `ecs-role-guard` function: after ECS CreateCluster, CreateService and UpdateService
//! calls, make sure the roles ECS needs are there and right; and when ECS could not assume
//! a service's infrastructure role (EBS volumes, Service Connect TLS, VPC Lattice), check
//! that role's trust and, under the name ECS's documentation gives it, the managed policy
//! of the feature the request used.

use serde::Deserialize;
use serde_json::Value;

use super::guard::{self, Guarded, Planned};
use super::{Deps, Handler};
use crate::aws;
use crate::domain::catalog::{
    RoleSpec, ECS_INFRASTRUCTURE_ROLE_FOR_TLS, ECS_INFRASTRUCTURE_ROLE_FOR_VOLUMES,
    ECS_INFRASTRUCTURE_ROLE_FOR_VPC_LATTICE, ECS_SERVICE_LINKED_ROLE, ECS_SERVICE_ROLE,
};
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
/// How ECS words a call refused because it could not assume the infrastructure role the
/// request names ("ECS was unable to assume the configured ECS Infrastructure Role 'ARN'.
/// Please verify that the role being passed has the proper trust relationship ...").
const INFRASTRUCTURE_ROLE_MESSAGE: &str = "unable to assume the configured ecs infrastructure role";

/// The ECS calls this function reacts to.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Call {
    CreateCluster,
    CreateService,
    UpdateService,
}

/// The parameters of CreateService/UpdateService that name roles.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ServiceParameters {
    /// The legacy load-balancer role: a name or an ARN.
    #[serde(default)]
    role: Option<String>,
    /// The EBS volumes ECS manages for the service's tasks, each with its role.
    #[serde(default)]
    volume_configurations: Vec<Value>,
    /// Service Connect, whose services may have TLS with a role.
    #[serde(default)]
    service_connect_configuration: Option<Value>,
    /// VPC Lattice target groups, each with its role.
    #[serde(default)]
    vpc_lattice_configurations: Vec<Value>,
}

impl ServiceParameters {
    /// Each infrastructure role the request names, with the catalog entry of its feature.
    fn infrastructure_roles(&self) -> Vec<(String, &'static RoleSpec)> {
        let at = |value: &Value, pointer: &str| {
            value
                .pointer(pointer)
                .and_then(Value::as_str)
                .map(str::to_owned)
        };
        let mut roles = Vec::new();
        for volume in &self.volume_configurations {
            if let Some(role) = at(volume, "/managedEBSVolume/roleArn") {
                roles.push((role, &ECS_INFRASTRUCTURE_ROLE_FOR_VOLUMES));
            }
        }
        let connect = self.service_connect_configuration.as_ref();
        for service in connect
            .and_then(|c| c.get("services"))
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if let Some(role) = at(service, "/tls/roleArn") {
                roles.push((role, &ECS_INFRASTRUCTURE_ROLE_FOR_TLS));
            }
        }
        for lattice in &self.vpc_lattice_configurations {
            if let Some(role) = at(lattice, "/roleArn") {
                roles.push((role, &ECS_INFRASTRUCTURE_ROLE_FOR_VPC_LATTICE));
            }
        }
        roles
    }
}

/// What one event asks for, decided before any AWS call.
#[derive(Debug)]
pub struct Work {
    /// The role the call needs: the service-linked role, or the legacy role it named.
    target: RoleTarget,
    /// Whether the call failed for want of the service-linked role.
    refused_for_missing_slr: bool,
    /// The infrastructure role ECS could not assume, shaped for the feature that used it,
    /// or why it cannot be checked.
    infrastructure: Option<Result<RoleTarget, String>>,
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
        let parameters = match call {
            Call::CreateCluster => None,
            Call::CreateService | Call::UpdateService => {
                event.detail.request::<Option<ServiceParameters>>()?
            }
        };
        let parameters = parameters.unwrap_or_default();
        let named_role = parameters.role.clone().filter(|r| !r.is_empty());
        let infrastructure = refused_infrastructure_role(event)
            .map(|quoted| self.infrastructure_target(&parameters, &quoted))
            .transpose()?;
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
            infrastructure,
        })
    }

    /// The infrastructure role ECS quoted, shaped like the catalog entry of the feature
    /// whose configuration names it; `Err` says why it cannot be checked.
    fn infrastructure_target(
        &self,
        parameters: &ServiceParameters,
        quoted: &str,
    ) -> Result<Result<RoleTarget, String>, InvocationError> {
        let named = parameters.infrastructure_roles();
        let Some((reference, spec)) = named
            .iter()
            .find(|(role, _)| role == quoted)
            .or(named.first())
        else {
            return Ok(Err(format!(
                "ECS could not assume the infrastructure role {quoted}, but no volume, Service Connect TLS or VPC Lattice configuration of the request names a role, so its feature is unknown"
            )));
        };
        let target = RoleTarget::named(spec, reference, "requestParameters (infrastructure role)")?;
        Ok(Ok(self.0.watched.owned(target)))
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
        match work.infrastructure {
            Some(Ok(infrastructure)) => {
                tracing::info!(event_id = %scope.event_id, role = %infrastructure.name, "checking the infrastructure role");
                let mut checked =
                    roles::ensure(&iam, &self.0.verdicts, &scope, &infrastructure).await;
                explain_retry(&mut checked, &event.detail.event_name);
                findings.extend(checked);
            }
            Some(Err(why)) => findings.push(Finding::new(
                &event.detail.event_name,
                Check::Role,
                Status::Skipped,
                why,
            )),
            None => {}
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

/// The infrastructure role ECS quotes when it could not assume it, for a refused call.
fn refused_infrastructure_role(event: &ApiCallEvent) -> Option<String> {
    let detail = &event.detail;
    detail.error_code.as_ref()?;
    let message = detail.error_message.as_deref()?;
    let at = message
        .to_ascii_lowercase()
        .find(INFRASTRUCTURE_ROLE_MESSAGE)?;
    let rest = &message[at + INFRASTRUCTURE_ROLE_MESSAGE.len()..];
    let quoted = rest.trim_start().strip_prefix('\'')?;
    let role = quoted.split('\'').next()?;
    (!role.is_empty()).then(|| role.to_owned())
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
