//! Every check the domain makes and the controls they count toward: the vocabulary of a
//! report's `check` and of Security Hub's findings, declared once. The plumbing carries a
//! check as a [`CheckId`] (its name and its control) and turns controls into findings; the
//! names, which check belongs to which control, and what a control's failure means (its
//! severity, title, recommendation) are decided here. Names and iteration are derived
//! (strum); a report's check names are a contract, pinned by the tests below and by the
//! operator's manual.

use crate::domain::catalog::{RoleKind, ROLES};
use crate::invocation::checks::{CheckId, Control, Severity, Subject};

/// What a domain finding checked.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    strum::Display,
    strum::IntoStaticStr,
    strum::EnumIter,
)]
#[strum(serialize_all = "snake_case")]
pub enum Check {
    /// The role exists (or was created).
    Exists,
    /// A service-linked role sits under its service's path.
    Path,
    /// The trust policy lets the catalog's service assume the role.
    Trust,
    /// The seed's managed policy is attached.
    ManagedPolicy,
    /// A role named by a call, a sweep or a remembered verdict.
    Role,
    /// A step-scaling policy has an alarm that invokes it.
    StepAlarm,
    /// A target-tracking policy's alarms exist.
    TargetTrackingAlarms,
    /// ecs-warden's alarm for a deleted step policy is removed.
    AlarmCleanup,
    /// A DeleteAlarms that no ECS policy relied on.
    DeletedAlarm,
    /// The scaling policy an event or a sweep names.
    Policy,
    /// An event outside what the function handles (not an ECS service's desired count).
    Scope,
    /// A region: an event from another one, or one a sweep could not read.
    Region,
    /// Whether a trail delivers the events the functions are triggered by.
    Cloudtrail,
    /// A watched role's drift after an IAM event.
    Drift,
    /// Whether something still uses a deleted role.
    InUse,
    /// Whether role-drift-guard watches the role an event names.
    Watched,
    /// The principal a refused call came from.
    Principal,
    /// A permission the principal lacks.
    Permission,
    /// access-doctor's diagnosis as a whole.
    Diagnosis,
    /// The account a drain was confirmed for.
    Confirm,
    /// A deletion's deadline.
    Deadline,
    /// The deletion of AWSServiceRoleForECS.
    Deletion,
    /// DeleteServiceLinkedRole was submitted.
    DeletionSubmitted,
    /// The description edit seed 004 allows.
    Description,
    /// What uses the ECS service-linked role, region by region.
    Inventory,
    /// A region's drain as a whole.
    Drain,
    /// An ECS service scaled to 0 by the drain.
    ScaleService,
    /// An ECS service deleted by the drain.
    DeleteService,
    /// A container instance deregistered by the drain.
    DeregisterInstance,
    /// An ECS cluster deleted by the drain.
    DeleteCluster,
    /// Whether a task definition's execution role lets its tasks start (task-doctor).
    TaskStart,
    /// The KMS key of a secret or parameter a task reads, when it could not be learnt.
    SecretKey,
}

impl Check {
    /// Every domain check, in declaration order.
    pub fn all() -> impl Iterator<Item = Check> {
        <Check as strum::IntoEnumIterator>::iter()
    }

    /// The name in the JSON report.
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    /// The control it counts toward; `None` for a check that is no state of the account
    /// (an event's scope, a deletion's steps, a diagnosis).
    pub fn control(self) -> Option<&'static EcsControl> {
        match self {
            Self::Exists | Self::Path | Self::Trust | Self::ManagedPolicy | Self::Role => {
                Some(&EcsControl::EcsRole)
            }
            Self::StepAlarm | Self::TargetTrackingAlarms => Some(&EcsControl::ScalingAlarms),
            Self::Cloudtrail => Some(&EcsControl::EventDelivery),
            Self::TaskStart => Some(&EcsControl::TaskStart),
            _ => None,
        }
    }
}

impl From<Check> for CheckId {
    fn from(check: Check) -> Self {
        let control = check.control().map(|c| c as &'static dyn Control);
        CheckId::new(check.as_str(), control)
    }
}

impl PartialEq<Check> for CheckId {
    fn eq(&self, other: &Check) -> bool {
        self.as_str() == other.as_str()
    }
}

/// What an account must meet, as one Security Hub finding per resource. The id of each,
/// derived, keys its findings and must never change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, strum::IntoStaticStr, strum::EnumIter)]
#[strum(serialize_all = "snake_case")]
pub enum EcsControl {
    /// An ECS role exists with the path, trust and managed policy the catalog gives.
    EcsRole,
    /// An ECS scaling policy has the CloudWatch alarms that invoke it.
    ScalingAlarms,
    /// CloudTrail delivers the events the functions are triggered by.
    EventDelivery,
    /// A task definition's execution role exists, trusts ECS's tasks and grants what the
    /// definition needs to start.
    TaskStart,
}

impl Control for EcsControl {
    fn id(&self) -> &'static str {
        (*self).into()
    }

    fn subject(&self) -> Subject {
        match self {
            Self::EcsRole => Subject::IamRole,
            Self::ScalingAlarms => Subject::ScalingPolicy,
            Self::EventDelivery => Subject::Account,
            Self::TaskStart => Subject::TaskDefinition,
        }
    }

    fn severity(&self, resource: &str) -> Severity {
        match self {
            Self::EcsRole => role_at_stake(resource),
            Self::ScalingAlarms | Self::EventDelivery => Severity::Medium,
            // Its tasks do not start at all.
            Self::TaskStart => Severity::High,
        }
    }

    fn title(&self, resource: &str, region: &str) -> String {
        let name = resource.rsplit('/').next().unwrap_or(resource);
        match self {
            Self::EcsRole => format!(
                "IAM role {name} should exist as Amazon ECS needs it (path, trust, managed policy)"
            ),
            Self::ScalingAlarms => {
                format!(
                    "ECS scaling policy {name} should have the CloudWatch alarms that invoke it"
                )
            }
            Self::EventDelivery => {
                format!("CloudTrail should deliver the events ecs-warden acts on in {region}")
            }
            Self::TaskStart => format!(
                "ECS task definition {name} should have an execution role that lets its tasks start"
            ),
        }
    }

    fn recommendation(&self) -> &'static str {
        match self {
            Self::EcsRole => "Run ecs-warden in enforce mode, or create or repair the role as the description says (the IAM role the ECS documentation names).",
            Self::ScalingAlarms => "Run ecs-warden in enforce mode, or give the scaling policy the alarm the description names.",
            Self::EventDelivery => "Create a trail that logs the write management events of the services the description names, in this region.",
            Self::TaskStart => "Grant the execution role what the description names (task-doctor's answer carries the smallest policy), or give the task definition an execution role ECS may assume.",
        }
    }
}

/// What is at stake when a role is missing or wrong: a service-linked role of the catalog
/// stops ECS or its scaling outright; a customer role leaves one service short.
fn role_at_stake(role_arn: &str) -> Severity {
    let service_linked = ROLES.iter().any(|spec| {
        matches!(spec.kind, RoleKind::ServiceLinked { .. })
            && role_arn.ends_with(&format!(":role{}{}", spec.path, spec.name))
    });
    if service_linked {
        Severity::High
    } else {
        Severity::Medium
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::invocation::report::{Checked, Finding, Status};
    use crate::invocation::security_hub::evaluate;

    /// Every check a report can carry: the domain's and the plumbing's own.
    fn every_check() -> Vec<CheckId> {
        Check::all()
            .map(CheckId::from)
            .chain(CheckId::PLUMBING)
            .collect()
    }

    #[test]
    fn the_operators_manual_explains_every_check_and_no_other() {
        // The operator's manual is where a person reading a report looks a check up.
        let manual = include_str!("../../../docs/operations.md");
        let section = manual
            .split("\n## ")
            .find(|s| s.starts_with("Every check"))
            .expect("docs/operations.md has its checks section");
        let documented: std::collections::BTreeSet<&str> = section
            .lines()
            .filter_map(|line| line.strip_prefix("| `"))
            .filter_map(|rest| rest.split_once("` |"))
            .map(|(name, _)| name)
            .filter(|name| !name.contains(' '))
            .collect();
        let emitted: std::collections::BTreeSet<&str> =
            every_check().into_iter().map(CheckId::as_str).collect();
        let missing: Vec<_> = emitted.difference(&documented).collect();
        assert!(
            missing.is_empty(),
            "checks missing from docs/operations.md: {missing:?}"
        );
        let stale: Vec<_> = documented.difference(&emitted).collect();
        assert!(
            stale.is_empty(),
            "docs/operations.md explains checks that do not exist: {stale:?}"
        );
    }

    #[test]
    fn every_check_serializes_to_its_contract_name_once() {
        let mut seen = std::collections::BTreeSet::new();
        for check in every_check() {
            let json = serde_json::to_value(check).unwrap();
            assert_eq!(json, check.as_str(), "{check:?}");
            assert!(seen.insert(check.as_str()), "{check} named twice");
        }
        // Names reports have always had, for a reader that matches on them.
        assert_eq!(Check::ManagedPolicy.as_str(), "managed_policy");
        assert_eq!(
            Check::TargetTrackingAlarms.as_str(),
            "target_tracking_alarms"
        );
        assert_eq!(CheckId::SECURITY_HUB.as_str(), "security_hub");
    }

    #[test]
    fn control_ids_key_findings_and_never_change() {
        let every = || <EcsControl as strum::IntoEnumIterator>::iter();
        let ids: Vec<&str> = every().map(|c| c.id()).collect();
        assert_eq!(
            ids,
            ["ecs_role", "scaling_alarms", "event_delivery", "task_start"]
        );
        for control in every() {
            assert!(
                Check::all().any(|c| c.control() == Some(&control)),
                "{} has no check",
                control.id()
            );
        }
    }

    const ROLE: &str =
        "arn:aws:iam::111122223333:role/aws-service-role/ecs.amazonaws.com/AWSServiceRoleForECS";
    const POLICY: &str = "arn:aws:autoscaling:eu-west-1:111122223333:scalingPolicy:0a1b:resource/ecs/service/prod/web:policyName/cpu-out";

    #[test]
    fn severity_follows_what_is_at_stake() {
        assert_eq!(EcsControl::EcsRole.severity(ROLE), Severity::High);
        let autoscaling_slr = "arn:aws:iam::111122223333:role/aws-service-role/ecs.application-autoscaling.amazonaws.com/AWSServiceRoleForApplicationAutoScaling_ECSService";
        assert_eq!(
            EcsControl::EcsRole.severity(autoscaling_slr),
            Severity::High
        );
        assert_eq!(
            EcsControl::EcsRole.severity("arn:aws:iam::111122223333:role/ecsAutoscaleRole"),
            Severity::Medium
        );
        assert_eq!(EcsControl::ScalingAlarms.severity(POLICY), Severity::Medium);
    }

    #[test]
    fn checks_of_one_control_on_one_resource_become_one_evaluation_at_their_worst() {
        let finding = |resource: &str, check: Check, status: Status| {
            Finding::new(resource, check, status, format!("{check} {status:?}"))
        };
        let findings = [
            finding(ROLE, Check::Exists, Status::Compliant),
            finding(ROLE, Check::Trust, Status::WouldRepair),
            finding(POLICY, Check::StepAlarm, Status::Created),
            finding("eu-west-1", Check::Cloudtrail, Status::Compliant),
            finding(ROLE, Check::Drift, Status::Failed),
            finding(ROLE, Check::Role, Status::Skipped),
        ];
        let checked: Vec<Checked<'_>> = findings
            .iter()
            .map(|finding| Checked {
                account: Some("111122223333"),
                finding,
            })
            .collect();
        let evaluations = evaluate(&checked, "us-east-1", None);
        assert_eq!(evaluations.len(), 3, "{evaluations:#?}");
        let role = evaluations
            .iter()
            .find(|e| e.control.id() == "ecs_role")
            .unwrap();
        assert!(role.failed && !role.changed);
        assert_eq!(
            role.region, "us-east-1",
            "IAM is global: the function's region"
        );
        assert!(
            role.details[0].starts_with("FAILED trust"),
            "{:?}",
            role.details
        );
        let alarms = evaluations
            .iter()
            .find(|e| e.control.id() == "scaling_alarms")
            .unwrap();
        assert!(!alarms.failed && alarms.changed);
        assert_eq!(alarms.region, "eu-west-1");
        let trail = evaluations
            .iter()
            .find(|e| e.control.id() == "event_delivery")
            .unwrap();
        assert_eq!(trail.region, "eu-west-1");
        assert_eq!(trail.resource_id(), "AWS::::Account:111122223333");
    }
}
