//! The `scaling-guard` function: after Application Auto Scaling calls on ECS services, make
//! sure the role the service uses exists and every scaling policy has the alarms that
//! drive it; after CloudWatch DeleteAlarms, give back the alarms an ECS policy relied on.
//!
//! AWS delivers Application Auto Scaling's calls as `source: aws.autoscaling`,
//! `eventSource: autoscaling.amazonaws.com`, told apart from EC2 Auto Scaling's calls of
//! the same source (some with the same names, such as PutScalingPolicy) only by
//! `additionalEventData.service: application-autoscaling`.

use std::collections::BTreeSet;

use aws_sdk_applicationautoscaling::types::{PolicyType, ScalingPolicy};
use serde::Deserialize;
use serde_json::Value;

use super::guard::{self, Guarded, Planned};
use super::{Deps, Handler};
use crate::aws::Clients;
use crate::domain::alarm_history::{self, DeletedAlarms};
use crate::domain::alarms::{self, AlarmIndex, AlarmSettings, ServiceTarget};
use crate::domain::catalog::{ECS_AUTOSCALE_ROLE, ECS_AUTOSCALING_SERVICE_LINKED_ROLE};
use crate::domain::checks::Check;
use crate::domain::roles::{self, RoleTarget};
use crate::domain::scaling;
use crate::invocation::context::Invocation;
use crate::invocation::error::InvocationError;
use crate::invocation::events::{accept, ApiCallEvent, APPLICATION_AUTO_SCALING};
use crate::invocation::gate::Scope;
use crate::invocation::report::{Finding, Report, Status};
use crate::invocation::settings::SettingsError;

/// The function's name in reports and logs.
pub const FUNCTION: &str = "scaling-guard";

/// The source of Application Auto Scaling's (and EC2 Auto Scaling's) API-call events.
pub const SCALING_SOURCE: &str = "aws.autoscaling";
/// The source of CloudWatch's API-call events.
pub const ALARM_SOURCE: &str = "aws.monitoring";
/// The Application Auto Scaling calls scaling-guard handles.
pub const SCALING_EVENT_NAMES: &[&str] = &[
    "RegisterScalableTarget",
    "PutScalingPolicy",
    "DeleteScalingPolicy",
];
/// The CloudWatch calls scaling-guard handles.
pub const ALARM_EVENT_NAMES: &[&str] = &["DeleteAlarms"];
const SOURCES: &str = "aws.autoscaling (Application Auto Scaling) and aws.monitoring";
/// CloudWatch's limit on an alarm name.
const ALARM_NAME_MAX: usize = 255;
const ECS_NAMESPACE: &str = "ecs";
const DESIRED_COUNT: &str = "ecs:service:DesiredCount";

/// The parameters the three calls share, as CloudTrail records them.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Parameters {
    #[serde(default)]
    service_namespace: Option<String>,
    #[serde(default)]
    resource_id: Option<String>,
    #[serde(default)]
    scalable_dimension: Option<String>,
    /// RegisterScalableTarget: the role Application Auto Scaling is to use.
    #[serde(default, rename = "roleARN")]
    role_arn: Option<String>,
    /// PutScalingPolicy, DeleteScalingPolicy.
    #[serde(default)]
    policy_name: Option<String>,
}

/// What one event asks for, validated before any AWS call.
#[derive(Debug)]
pub enum Work {
    /// Not an ECS service's desired count: nothing of ecs-warden's.
    OutOfScope(String),
    /// The role Application Auto Scaling uses for the service.
    Role(RoleTarget),
    /// A policy that was put: its alarms.
    PolicyPut(ServiceTarget, String),
    /// A policy that was deleted: ecs-warden's alarm for it.
    PolicyDeleted(ServiceTarget, String),
    /// Alarms that were deleted: the ECS policies that relied on them.
    AlarmsDeleted(Vec<String>),
}

/// The parameters of CloudWatch DeleteAlarms, as CloudTrail records them.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct DeleteAlarmsParameters {
    #[serde(default)]
    alarm_names: Vec<String>,
}

/// The handler with what it keeps between invocations of a warm container.
#[derive(Debug)]
pub struct ScalingGuard {
    guarded: Guarded<Clients>,
    alarm_defaults: AlarmSettings,
}

impl Handler for ScalingGuard {
    const FUNCTION: &'static str = FUNCTION;
    type Input = Planned<Work>;
    type Output = Report;

    /// Reads the alarm defaults (`WARDEN_ALARM_*`, `WARDEN_SCALE_*_THRESHOLD`); compliant
    /// verdicts are trusted for `WARDEN_VERDICT_TTL_SECONDS`.
    fn build(deps: &Deps) -> Result<Self, SettingsError> {
        let alarm_defaults = AlarmSettings::from_lookup(|name| deps.env.get(name))?;
        let guarded = Guarded::new(deps, Clients::new, deps.settings.verdict_ttl)?;
        Ok(Self {
            guarded,
            alarm_defaults,
        })
    }

    fn parse(&self, payload: Value) -> Result<Planned<Work>, InvocationError> {
        guard::plan(payload, plan)
    }

    /// Checks, creates and repairs what the event calls for in the event's account.
    async fn answer(&self, input: Planned<Work>, invocation: &Invocation) -> guard::Answer {
        let guarded = &self.guarded;
        let act = async |event: &ApiCallEvent, work, clients| self.act(event, work, clients).await;
        guarded.answer(FUNCTION, input, invocation, act).await
    }
}

impl ScalingGuard {
    /// Does the planned work through one account's clients.
    async fn act(&self, event: &ApiCallEvent, work: Work, clients: Clients) -> Vec<Finding> {
        let clients = &clients;
        let scope = Scope::from_event(self.guarded.settings.mode, event);
        tracing::info!(event_id = %scope.event_id, event = %scope.cause, "checking");
        match work {
            Work::OutOfScope(why) => vec![Finding::new(
                event.detail.aws_region.clone(),
                Check::Scope,
                Status::Skipped,
                why,
            )],
            Work::Role(target) => {
                let target = self.guarded.watched.owned(target);
                roles::ensure(&clients.iam, &self.guarded.verdicts, &scope, &target).await
            }
            Work::PolicyPut(target, name) => vec![match self.region_of(clients, event, &target) {
                Ok(region) => {
                    self.policy_put(clients, event, &scope, &region, &target, &name)
                        .await
                }
                Err(skipped) => skipped,
            }],
            Work::PolicyDeleted(target, name) => {
                vec![match self.region_of(clients, event, &target) {
                    Ok(region) => {
                        self.policy_deleted(clients, &scope, &region, &target, &name)
                            .await
                    }
                    Err(skipped) => skipped,
                }]
            }
            Work::AlarmsDeleted(names) => {
                let alarms = names.join(", ");
                match self.region_of_alarms(clients, event, &alarms) {
                    Ok(region) => self.alarms_deleted(clients, &scope, &region, &names).await,
                    Err(skipped) => vec![skipped],
                }
            }
        }
    }

    /// The region the alarm clients act in, when it is the event's; otherwise a finding
    /// saying where the event should be handled.
    fn region_of(
        &self,
        clients: &Clients,
        event: &ApiCallEvent,
        target: &ServiceTarget,
    ) -> Result<String, Finding> {
        self.region_of_alarms(clients, event, &target.resource_id())
    }

    /// As [`Self::region_of`], for a finding about `resource`.
    fn region_of_alarms(
        &self,
        clients: &Clients,
        event: &ApiCallEvent,
        resource: &str,
    ) -> Result<String, Finding> {
        let here = clients.region().unwrap_or_default();
        let there = &event.detail.aws_region;
        if here == there {
            Ok(here.to_owned())
        } else {
            Err(Finding::new(
                resource,
                Check::Region,
                Status::Skipped,
                format!(
                    "the event comes from {there} but this function acts in {here}; alarms are regional, so the scaling-guard deployed in {there} handles it"
                ),
            ))
        }
    }

    /// After DeleteAlarms: one read of the region's ECS scaling policies; a target-tracking
    /// policy that lists a deleted alarm is ensured as a PutScalingPolicy would be (its
    /// alarms are Application Auto Scaling's, and it lists them). Step policies are judged
    /// from CloudWatch's side: one read of every alarm whose action invokes a scaling
    /// policy in the region (DescribeAlarms by action prefix), and each step policy no
    /// alarm invokes gets one, whether or not the policy still lists the deleted name
    /// (whether Application Auto Scaling keeps a deleted alarm in a step policy's list is
    /// not documented, and moto lists none). A step policy that lost its alarm gets the
    /// customer's deleted alarm back as CloudWatch's history recorded it, or ecs-warden's
    /// own where that history cannot tell (`domain::alarm_history`; one history read per
    /// deleted customer alarm, made only then). A delete no ECS policy used costs those
    /// two reads at most, and one where the region has no step policy.
    async fn alarms_deleted(
        &self,
        clients: &Clients,
        scope: &Scope,
        region: &str,
        names: &[String],
    ) -> Vec<Finding> {
        let deleted: BTreeSet<&str> = names.iter().map(String::as_str).collect();
        let policies = match scaling::scaling_policies(&clients.autoscaling).await {
            Ok(policies) => policies,
            Err(e) => {
                return vec![Finding::new(
                    region,
                    Check::DeletedAlarm,
                    Status::Failed,
                    e.explain("application-autoscaling:DescribeScalingPolicies", region),
                )]
            }
        };
        let ecs: Vec<(ServiceTarget, &ScalingPolicy)> = policies
            .iter()
            .filter_map(|p| Some((ServiceTarget::from_resource_id(p.resource_id()).ok()?, p)))
            .collect();
        let step_prefix = ecs
            .iter()
            .find(|(_, p)| *p.policy_type() == PolicyType::StepScaling)
            .and_then(|(_, p)| alarms::scaling_policy_prefix(p.policy_arn()));
        let index = match step_prefix {
            None => None,
            Some(prefix) => match AlarmIndex::invoking_prefix(clients, &prefix).await {
                Ok(index) => Some(index),
                Err(e) => {
                    return vec![Finding::new(
                        region,
                        Check::DeletedAlarm,
                        Status::Failed,
                        e.explain("cloudwatch:DescribeAlarms", &prefix),
                    )]
                }
            },
        };
        // The customer's alarms among the deleted: neither ecs-warden's own nor one a
        // target-tracking policy lists (Application Auto Scaling makes those again).
        let customers: Vec<&str> = names
            .iter()
            .map(String::as_str)
            .filter(|n| !n.starts_with(alarms::ALARM_NAME_PREFIX))
            .filter(|n| {
                !ecs.iter().any(|(_, p)| {
                    *p.policy_type() == PolicyType::TargetTrackingScaling
                        && p.alarms().iter().any(|a| a.alarm_name() == *n)
                })
            })
            .collect();
        // Read once, and only when a step policy lost its alarm.
        let (mut history, no_history) = (None, DeletedAlarms::default());
        let mut findings = Vec::new();
        for (target, policy) in &ecs {
            let listed = policy
                .alarms()
                .iter()
                .any(|a| deleted.contains(a.alarm_name()));
            let finding = match (policy.policy_type(), &index) {
                (PolicyType::StepScaling, Some(index)) => {
                    let invoked = index.invokes(policy.policy_arn());
                    let named = listed
                        || deleted
                            .contains(alarms::alarm_name(target, policy.policy_name()).as_str());
                    if invoked && !named {
                        continue;
                    }
                    let history = match history {
                        _ if invoked => &no_history,
                        Some(ref history) => history,
                        None => history.insert(DeletedAlarms::read(clients, &customers).await),
                    };
                    alarm_history::restore_or_create(
                        clients,
                        scope,
                        region,
                        &self.alarm_defaults,
                        target,
                        policy,
                        index,
                        history,
                    )
                    .await
                }
                (PolicyType::TargetTrackingScaling, _) if listed => {
                    alarms::ensure_target_tracking_alarms(clients, scope, policy, None).await
                }
                _ => continue,
            };
            findings.push(finding);
        }
        if findings.is_empty() {
            findings.push(Finding::new(
                region,
                Check::DeletedAlarm,
                Status::Compliant,
                format!(
                    "no ECS scaling policy in {region} relied on alarm(s) {}: every step policy is still invoked by an alarm, and no target-tracking policy lists them; nothing to restore",
                    names.join(", ")
                ),
            ));
        }
        findings
    }

    async fn policy_put(
        &self,
        clients: &Clients,
        event: &ApiCallEvent,
        scope: &Scope,
        region: &str,
        target: &ServiceTarget,
        name: &str,
    ) -> Finding {
        let policy = match scaling::current_policy(&clients.autoscaling, target, name).await {
            Ok(Some(policy)) => policy,
            Ok(None) => {
                let failed_call = event
                    .detail
                    .error_code
                    .as_deref()
                    .map(|code| format!(" (the call itself failed: {code})"))
                    .unwrap_or_default();
                return Finding::new(
                    target.resource_id(),
                    Check::Policy,
                    Status::Skipped,
                    format!(
                        "no scaling policy {name:?} exists on {} now{failed_call}; nothing to check",
                        target.resource_id()
                    ),
                );
            }
            Err(e) => {
                return Finding::new(
                    target.resource_id(),
                    Check::Policy,
                    Status::Failed,
                    e.explain(
                        "application-autoscaling:DescribeScalingPolicies",
                        &target.resource_id(),
                    ),
                )
            }
        };
        match policy.policy_type() {
            PolicyType::StepScaling => {
                alarms::ensure_step_alarm(
                    clients,
                    scope,
                    region,
                    &self.alarm_defaults,
                    target,
                    &policy,
                    None,
                )
                .await
            }
            PolicyType::TargetTrackingScaling => {
                alarms::ensure_target_tracking_alarms(clients, scope, &policy, None).await
            }
            other => Finding::new(
                policy.policy_arn(),
                Check::Policy,
                Status::Skipped,
                format!(
                    "a {} policy has no alarms for ecs-warden to check",
                    other.as_str()
                ),
            ),
        }
    }

    async fn policy_deleted(
        &self,
        clients: &Clients,
        scope: &Scope,
        region: &str,
        target: &ServiceTarget,
        name: &str,
    ) -> Finding {
        // Deliveries can arrive late: if the policy exists again, its alarm is needed.
        match scaling::current_policy(&clients.autoscaling, target, name).await {
            Ok(None) => {}
            Ok(Some(policy)) => {
                return Finding::new(
                    policy.policy_arn(),
                    Check::AlarmCleanup,
                    Status::Skipped,
                    format!(
                        "a policy {name:?} exists on {} now (not deleted, or put again since); its alarm stays",
                        target.resource_id()
                    ),
                )
            }
            Err(e) => {
                return Finding::new(
                    target.resource_id(),
                    Check::AlarmCleanup,
                    Status::Failed,
                    e.explain(
                        "application-autoscaling:DescribeScalingPolicies",
                        &target.resource_id(),
                    ),
                )
            }
        }
        alarms::remove_warden_alarm(clients, scope, region, target, name).await
    }
}

/// Reads and validates what the event asks for, before any AWS call.
fn plan(event: &ApiCallEvent) -> Result<Work, InvocationError> {
    if event.source == ALARM_SOURCE {
        accept(event, ALARM_SOURCE, ALARM_EVENT_NAMES)?;
        return alarms_deleted(event);
    }
    if event.source != SCALING_SOURCE {
        return Err(InvocationError::UnexpectedSource {
            found: event.source.clone(),
            expected: SOURCES,
        });
    }
    let name = accept(event, SCALING_SOURCE, SCALING_EVENT_NAMES)?;
    if !event.detail.is_application_auto_scaling() {
        return Err(InvocationError::UnexpectedSource {
            found: format!(
                "{} with eventSource {} and no additionalEventData.service {APPLICATION_AUTO_SCALING:?} (an EC2 Auto Scaling call)",
                event.source, event.detail.event_source
            ),
            expected: SOURCES,
        });
    }
    let params = event
        .detail
        .request::<Option<Parameters>>()?
        .unwrap_or_default();
    let namespace = required(params.service_namespace, "serviceNamespace")?;
    let resource_id = required(params.resource_id, "resourceId")?;
    let dimension = required(params.scalable_dimension, "scalableDimension")?;
    if namespace != ECS_NAMESPACE || dimension != DESIRED_COUNT {
        return Ok(Work::OutOfScope(format!(
            "{namespace} {dimension} of {resource_id} is not an ECS service's desired count; ecs-warden only watches ECS"
        )));
    }
    let target = ServiceTarget::from_resource_id(&resource_id).map_err(|problem| {
        InvocationError::BadField {
            field: "requestParameters.resourceId",
            problem: problem.to_string(),
        }
    })?;
    Ok(match name {
        "RegisterScalableTarget" => Work::Role(role_target(params.role_arn)?),
        "PutScalingPolicy" => Work::PolicyPut(target, policy_name(params.policy_name)?),
        _ => Work::PolicyDeleted(target, policy_name(params.policy_name)?),
    })
}

/// The alarms a DeleteAlarms call names; a refused or failed call deleted nothing.
fn alarms_deleted(event: &ApiCallEvent) -> Result<Work, InvocationError> {
    if let Some(code) = &event.detail.error_code {
        return Ok(Work::OutOfScope(format!(
            "DeleteAlarms failed ({code}): no alarm was deleted"
        )));
    }
    let params = event
        .detail
        .request::<Option<DeleteAlarmsParameters>>()?
        .unwrap_or_default();
    if params.alarm_names.is_empty() {
        return Err(InvocationError::MalformedDetail {
            path: "detail.requestParameters.alarmNames".into(),
            problem: "missing or empty".into(),
        });
    }
    if let Some(bad) = params
        .alarm_names
        .iter()
        .find(|n| n.is_empty() || n.chars().count() > ALARM_NAME_MAX)
    {
        return Err(InvocationError::BadField {
            field: "requestParameters.alarmNames",
            problem: format!("{bad:?} is not an alarm name (1 to {ALARM_NAME_MAX} characters)"),
        });
    }
    Ok(Work::AlarmsDeleted(params.alarm_names))
}

/// The role a RegisterScalableTarget call relies on: the one it named, else the
/// service-linked role Application Auto Scaling creates and uses by default.
fn role_target(role_arn: Option<String>) -> Result<RoleTarget, InvocationError> {
    match role_arn.filter(|r| !r.is_empty()) {
        None => Ok(RoleTarget::catalog(&ECS_AUTOSCALING_SERVICE_LINKED_ROLE)),
        Some(reference) => RoleTarget::named_or_linked(
            &ECS_AUTOSCALE_ROLE,
            &ECS_AUTOSCALING_SERVICE_LINKED_ROLE,
            &reference,
            "requestParameters.roleARN",
        ),
    }
}

fn required(value: Option<String>, field: &'static str) -> Result<String, InvocationError> {
    value
        .filter(|v| !v.is_empty())
        .ok_or_else(|| InvocationError::MalformedDetail {
            path: format!("detail.requestParameters.{field}"),
            problem: "missing".into(),
        })
}

/// Application Auto Scaling's rule for policy names: 1–256 printable characters.
fn policy_name(value: Option<String>) -> Result<String, InvocationError> {
    let name = required(value, "policyName")?;
    if name.chars().count() > 256 || name.chars().any(char::is_control) {
        return Err(InvocationError::BadField {
            field: "requestParameters.policyName",
            problem: format!("{name:?} is not a scaling policy name"),
        });
    }
    Ok(name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::invocation::events::parse_api_call;
    use serde_json::{json, Value};

    /// An Application Auto Scaling call as AWS delivers it (the shape of the recorded
    /// RegisterScalableTarget in the Application Auto Scaling User Guide's EventBridge page).
    fn event(name: &str, params: Value) -> ApiCallEvent {
        parse_api_call(json!({
            "version": "0", "id": "e-1", "detail-type": "AWS API Call via CloudTrail",
            "source": "aws.autoscaling", "account": "111122223333",
            "time": "2026-11-20T10:00:00Z", "region": "eu-west-1", "resources": [],
            "detail": {
                "eventName": name, "eventSource": "autoscaling.amazonaws.com",
                "awsRegion": "eu-west-1", "recipientAccountId": "111122223333",
                "requestParameters": params, "responseElements": null,
                "additionalEventData": {"service": "application-autoscaling"},
                "readOnly": false, "eventType": "AwsApiCall"
            }
        }))
        .unwrap()
    }

    fn without_service(mut event: ApiCallEvent) -> ApiCallEvent {
        event.detail.additional_event_data = None;
        event
    }

    fn delete_alarms(params: Value, error: Option<&str>) -> ApiCallEvent {
        let mut event = event("DeleteAlarms", params);
        event.source = ALARM_SOURCE.into();
        event.detail.event_source = "monitoring.amazonaws.com".into();
        event.detail.additional_event_data = None;
        event.detail.error_code = error.map(String::from);
        event
    }

    #[test]
    fn an_ec2_auto_scaling_call_of_the_same_name_is_not_ours() {
        let ec2 = without_service(event(
            "PutScalingPolicy",
            json!({"autoScalingGroupName": "asg", "policyName": "p"}),
        ));
        let err = plan(&ec2).expect_err("rejected");
        assert_eq!(err.kind(), "UnexpectedSource");
        assert!(err.to_string().contains("EC2 Auto Scaling"), "{err}");
        let mut old_shape = event("PutScalingPolicy", ecs(json!({"policyName": "p"})));
        old_shape.source = "aws.application-autoscaling".into();
        assert_eq!(
            plan(&old_shape).expect_err("rejected").kind(),
            "UnexpectedSource"
        );
    }

    #[test]
    fn deleted_alarms_are_read_from_the_request() {
        let names = json!({"alarmNames": ["ecs-warden/payments/web/cpu-scale-out", "other"]});
        let Work::AlarmsDeleted(deleted) = plan(&delete_alarms(names.clone(), None)).unwrap()
        else {
            panic!("alarms deleted")
        };
        assert_eq!(deleted, ["ecs-warden/payments/web/cpu-scale-out", "other"]);
        assert!(matches!(
            plan(&delete_alarms(names, Some("AccessDenied"))).unwrap(),
            Work::OutOfScope(_)
        ));
        for (params, words) in [
            (json!({}), "alarmNames"),
            (json!({"alarmNames": [""]}), "alarmNames"),
            (json!({"alarmNames": "one"}), "requestParameters"),
        ] {
            let err = plan(&delete_alarms(params, None)).expect_err("rejected");
            assert!(err.to_string().contains(words), "{words}: {err}");
        }
    }

    fn ecs(extra: Value) -> Value {
        let mut params = json!({
            "serviceNamespace": "ecs", "resourceId": "service/payments/web",
            "scalableDimension": "ecs:service:DesiredCount"
        });
        params
            .as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        params
    }

    #[test]
    fn picks_the_role_a_registration_relies_on() {
        let Work::Role(none) = plan(&event("RegisterScalableTarget", ecs(json!({})))).unwrap()
        else {
            panic!("a role check")
        };
        assert_eq!(none.name, ECS_AUTOSCALING_SERVICE_LINKED_ROLE.name);
        let named = json!({"roleARN": "arn:aws:iam::111122223333:role/ecsAutoscaleRole"});
        let Work::Role(named) = plan(&event("RegisterScalableTarget", ecs(named))).unwrap() else {
            panic!("a role check")
        };
        assert_eq!(named.spec.name, ECS_AUTOSCALE_ROLE.name);
        let slr = json!({"roleARN": "arn:aws:iam::111122223333:role/aws-service-role/ecs.application-autoscaling.amazonaws.com/AWSServiceRoleForApplicationAutoScaling_ECSService"});
        let Work::Role(slr) = plan(&event("RegisterScalableTarget", ecs(slr))).unwrap() else {
            panic!("a role check")
        };
        assert_eq!(slr.spec, &ECS_AUTOSCALING_SERVICE_LINKED_ROLE);
        assert_eq!(slr.path, ECS_AUTOSCALING_SERVICE_LINKED_ROLE.path);
    }

    #[test]
    fn other_namespaces_are_out_of_scope_not_errors() {
        let dynamo = json!({"serviceNamespace": "dynamodb", "resourceId": "table/t",
            "scalableDimension": "dynamodb:table:ReadCapacityUnits", "policyName": "p"});
        assert!(matches!(
            plan(&event("PutScalingPolicy", dynamo)).unwrap(),
            Work::OutOfScope(_)
        ));
    }

    #[test]
    fn rejects_what_it_cannot_act_on_by_name() {
        let cases = [
            (event("PutScalingPolicy", ecs(json!({}))), "policyName"),
            (
                event("PutScalingPolicy", json!({"serviceNamespace": "ecs"})),
                "resourceId",
            ),
            (
                event(
                    "DeleteScalingPolicy",
                    ecs(json!({"resourceId": "service/payments", "policyName": "p"})),
                ),
                "requestParameters.resourceId",
            ),
            (
                event(
                    "RegisterScalableTarget",
                    ecs(json!({"roleARN": "arn:aws:iam::111122223333:user/bob"})),
                ),
                "requestParameters.roleARN",
            ),
            (
                event("PutScalingPolicy", ecs(json!({"policyName": "a\u{7}b"}))),
                "policyName",
            ),
            (
                event("DescribeScalingPolicies", ecs(json!({}))),
                "DescribeScalingPolicies",
            ),
            (
                event("PutScalingPolicy", json!("text")),
                "requestParameters",
            ),
        ];
        for (event, words) in cases {
            let err = plan(&event).expect_err("rejected");
            assert!(err.to_string().contains(words), "{words}: {err}");
        }
    }
}
