//! What a principal needs, as the seeds list it, for each thing people try to do: use ECS
//! Service Auto Scaling (seed 000), run the EC2 Auto Scaling actions that need permissions
//! from other APIs (seed 002), create, edit or delete `AWSServiceRoleForECS` (seed 004).
//! Data, read by access-doctor; the catalog of roles is its sibling. Each intent is a value
//! of its own, so the table of which intents a refused call belongs to names them directly
//! and a typo does not compile. Here too: what a principal lacks ([`Missing`], with IAM's
//! decision as a type) and the smallest policy that grants it. Where seed 004's example
//! differs from IAM's reference (the `iam:AWSServiceName` condition on the edit and delete
//! actions), IAM's reference is followed.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::{json, Value};

use crate::domain::catalog;
use crate::domain::task_failure::{Denial, Reading, Says};
use crate::invocation::error::InvocationError;
use crate::invocation::events::ApiCallEvent;

/// When a requirement applies, read from the denied call's parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum When {
    /// Always.
    Always,
    /// A role is passed: a non-default service-linked role, a lifecycle-hook role, or a
    /// launch template (which may name an instance profile).
    RoleOrLaunchTemplate,
    /// A launch configuration names an instance profile.
    InstanceProfile,
    /// A lifecycle hook names a role.
    HookRole,
    /// A launch template is given.
    LaunchTemplate,
    /// A traffic source is a VPC Lattice target group.
    VpcLattice,
    /// The service-linked role named here does not exist yet.
    RoleMissing(&'static str),
    /// The refusal's message names this requirement's action (the refused call's
    /// CloudTrail `errorMessage`).
    Refused,
}

impl When {
    /// The condition in words, for requirements that do not always apply.
    pub fn words(self) -> &'static str {
        match self {
            When::Always => "always",
            When::RoleOrLaunchTemplate => {
                "only when a role, a lifecycle-hook role or a launch template naming an instance profile is passed"
            }
            When::InstanceProfile => "only when the launch configuration names an instance profile",
            When::HookRole => "only when the lifecycle hook names a role",
            When::LaunchTemplate => "only when a launch template is given",
            When::VpcLattice => "only for a VPC Lattice target group",
            When::RoleMissing(_) => "only while the service-linked role does not exist",
            When::Refused => "only when the refusal names this action",
        }
    }
}

/// Which resource an action is needed on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resource {
    /// Any (the seed gives `*`, or the action has no resource type).
    Any,
    /// `role/aws-service-role/ecs.amazonaws.com/AWSServiceRoleForECS*` (seed 004).
    EcsServiceLinkedRole,
    /// The resource the refusal's message names (a role passed, a resource being tagged);
    /// `*` when it names none.
    Refused,
}

impl Resource {
    /// The ARN pattern in `partition` and `account`.
    pub fn arn(self, partition: &str, account: &str) -> String {
        match self {
            Resource::Any | Resource::Refused => "*".to_owned(),
            Resource::EcsServiceLinkedRole => format!(
                "arn:{partition}:iam::{account}:role/aws-service-role/ecs.amazonaws.com/AWSServiceRoleForECS*"
            ),
        }
    }
}

/// A policy condition a requirement carries: `{operator: {key: value}}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Condition {
    /// E.g. `StringLike`.
    pub operator: &'static str,
    /// E.g. `iam:AWSServiceName`.
    pub key: &'static str,
    /// E.g. `ecs.amazonaws.com`.
    pub value: &'static str,
}

/// One permission a seed requires.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Requirement {
    /// `service:Action`.
    pub action: &'static str,
    /// Where it is needed.
    pub resource: Resource,
    /// The seed's condition, if any.
    pub condition: Option<Condition>,
    /// When it applies.
    pub when: When,
    /// Why, in the seed's terms.
    pub why: &'static str,
}

/// Something a person tries to do, and everything it needs.
#[derive(Debug, PartialEq, Eq)]
pub struct Intent {
    /// The name used in reports and manual input, e.g. `create-auto-scaling-group`.
    pub name: &'static str,
    /// What it is.
    pub describes: &'static str,
    /// The seed the requirements come from.
    pub seed: &'static str,
    /// Everything it needs.
    pub requirements: &'static [Requirement],
}

const fn always(action: &'static str, why: &'static str) -> Requirement {
    Requirement {
        action,
        resource: Resource::Any,
        condition: None,
        when: When::Always,
        why,
    }
}

const fn when(action: &'static str, when: When, why: &'static str) -> Requirement {
    Requirement {
        action,
        resource: Resource::Any,
        condition: None,
        when,
        why,
    }
}

const ECS_SERVICE_NAME: Condition = Condition {
    operator: "StringLike",
    key: AWS_SERVICE_NAME_KEY,
    value: "ecs.amazonaws.com",
};

/// The key IAM supplies for `iam:CreateServiceLinkedRole` and for no other action
/// (Service Authorization Reference, IAM's actions table).
pub const AWS_SERVICE_NAME_KEY: &str = "iam:AWSServiceName";

/// Creating the ECS service-linked role: on its ARN pattern with seed 004's
/// `iam:AWSServiceName` condition, which IAM evaluates for this action.
const fn create_ecs_role(action: &'static str, why: &'static str) -> Requirement {
    Requirement {
        action,
        resource: Resource::EcsServiceLinkedRole,
        condition: Some(ECS_SERVICE_NAME),
        when: When::Always,
        why,
    }
}

/// Editing or deleting it: on its ARN pattern, without the condition seed 004's example
/// puts there. IAM supplies `iam:AWSServiceName` for CreateServiceLinkedRole only, and a
/// condition on a key absent from the request never matches, so the seed's statement
/// grants these actions nothing in a real account.
const fn on_ecs_role(action: &'static str, why: &'static str) -> Requirement {
    Requirement {
        action,
        resource: Resource::EcsServiceLinkedRole,
        condition: None,
        when: When::Always,
        why,
    }
}

const PASS_ROLE: &str = "iam:PassRole";

/// What the ECS Developer Guide's pages on passing roles and on tagging give, rather than
/// a seed: the intents of the calls around tasks.
pub const ECS_GUIDE: &str = "ecs-developer-guide";

/// The key IAM supplies with `iam:PassRole`: the service the role is passed to.
pub const PASSED_TO_SERVICE_KEY: &str = "iam:PassedToService";

/// The key ECS supplies with `ecs:TagResource` when tags come with a create call: the
/// call's name (ECS Developer Guide, "Grant permission to tag resources on creation").
pub const CREATE_ACTION_KEY: &str = "ecs:CreateAction";

/// `iam:PassRole` granted only for passing the role to `service`.
const fn passed_to(service: &'static str) -> Condition {
    Condition {
        operator: "StringEquals",
        key: PASSED_TO_SERVICE_KEY,
        value: service,
    }
}

/// A permission the refusal names, on the resource it names.
const fn refused(
    action: &'static str,
    condition: Option<Condition>,
    why: &'static str,
) -> Requirement {
    Requirement {
        action,
        resource: Resource::Refused,
        condition,
        when: When::Refused,
        why,
    }
}

/// The intent to use ECS Service Auto Scaling: scalable targets, scaling policies and their alarms.
pub const ECS_SERVICE_AUTO_SCALING: Intent = Intent {
    name: "ecs-service-auto-scaling",
    describes: "use ECS Service Auto Scaling: scalable targets, scaling policies and their alarms",
    seed: "000",
    // The seed grants application-autoscaling:*; these are the actions Service Auto
    // Scaling is used through, so a simulation can name them.
    requirements: &[
        always(
            "application-autoscaling:RegisterScalableTarget",
            "register the service with Application Auto Scaling",
        ),
        always(
            "application-autoscaling:DescribeScalableTargets",
            "read the service's scalable target",
        ),
        always(
            "application-autoscaling:PutScalingPolicy",
            "create or update a scaling policy",
        ),
        always(
            "application-autoscaling:DescribeScalingPolicies",
            "read scaling policies",
        ),
        always(
            "application-autoscaling:DeleteScalingPolicy",
            "delete a scaling policy",
        ),
        always(
            "application-autoscaling:DescribeScalingActivities",
            "read scaling activity",
        ),
        always(
            "cloudwatch:DescribeAlarms",
            "read the alarms that drive scaling",
        ),
        always(
            "cloudwatch:PutMetricAlarm",
            "create the alarms that drive scaling",
        ),
    ],
};

/// The intent to create an EC2 Auto Scaling group (autoscaling:CreateAutoScalingGroup).
pub const CREATE_AUTO_SCALING_GROUP: Intent = Intent {
    name: "create-auto-scaling-group",
    describes: "create an EC2 Auto Scaling group (autoscaling:CreateAutoScalingGroup)",
    seed: "002",
    requirements: &[
        always("autoscaling:CreateAutoScalingGroup", "the call itself"),
        when(
            "iam:CreateServiceLinkedRole",
            When::RoleMissing("AWSServiceRoleForAutoScaling"),
            "create the default service-linked role if it does not exist yet",
        ),
        when(
            PASS_ROLE,
            When::RoleOrLaunchTemplate,
            "pass an IAM role to the service or to the instances it launches",
        ),
        // Seed 002 writes "ec2:RunInstance"; the action is ec2:RunInstances.
        when(
            "ec2:RunInstances",
            When::LaunchTemplate,
            "launch instances from the launch template",
        ),
        when(
            "ec2:CreateTags",
            When::LaunchTemplate,
            "tag instances and volumes on launch when the template has a tag specification",
        ),
    ],
};

/// The intent to create a launch configuration (autoscaling:CreateLaunchConfiguration).
pub const CREATE_LAUNCH_CONFIGURATION: Intent = Intent {
    name: "create-launch-configuration",
    describes: "create a launch configuration (autoscaling:CreateLaunchConfiguration)",
    seed: "002",
    requirements: &[
        always("autoscaling:CreateLaunchConfiguration", "the call itself"),
        always("ec2:DescribeImages", "validate the image"),
        always("ec2:DescribeInstances", "read instances"),
        always("ec2:DescribeInstanceAttribute", "read instance attributes"),
        always("ec2:DescribeKeyPairs", "validate the key pair"),
        always("ec2:DescribeSecurityGroups", "validate the security groups"),
        always("ec2:DescribeSpotInstanceRequests", "read Spot requests"),
        always("ec2:DescribeVpcClassicLink", "read ClassicLink settings"),
        when(
            PASS_ROLE,
            When::InstanceProfile,
            "pass the instance profile's role to the instances",
        ),
    ],
};

/// The intent to create a lifecycle hook (autoscaling:PutLifecycleHook).
pub const PUT_LIFECYCLE_HOOK: Intent = Intent {
    name: "put-lifecycle-hook",
    describes: "create a lifecycle hook (autoscaling:PutLifecycleHook)",
    seed: "002",
    requirements: &[
        always("autoscaling:PutLifecycleHook", "the call itself"),
        when(
            PASS_ROLE,
            When::HookRole,
            "pass the hook's role to the service",
        ),
    ],
};

/// The intent to attach a traffic source (autoscaling:AttachTrafficSources).
pub const ATTACH_TRAFFIC_SOURCES: Intent = Intent {
    name: "attach-traffic-sources",
    describes: "attach a traffic source (autoscaling:AttachTrafficSources)",
    seed: "002",
    requirements: &[
        always("autoscaling:AttachTrafficSources", "the call itself"),
        when(
            "vpc-lattice:RegisterTargets",
            When::VpcLattice,
            "register instances with the VPC Lattice target group",
        ),
    ],
};

/// The intent to detach a traffic source (autoscaling:DetachTrafficSources).
pub const DETACH_TRAFFIC_SOURCES: Intent = Intent {
    name: "detach-traffic-sources",
    describes: "detach a traffic source (autoscaling:DetachTrafficSources)",
    seed: "002",
    requirements: &[
        always("autoscaling:DetachTrafficSources", "the call itself"),
        when(
            "vpc-lattice:DeregisterTargets",
            When::VpcLattice,
            "deregister instances from the VPC Lattice target group",
        ),
    ],
};

/// The intent to create AWSServiceRoleForECS.
pub const CREATE_ECS_SERVICE_LINKED_ROLE: Intent = Intent {
    name: "create-ecs-service-linked-role",
    describes: "create AWSServiceRoleForECS",
    seed: "004",
    requirements: &[create_ecs_role(
        "iam:CreateServiceLinkedRole",
        "create the ECS service-linked role",
    )],
};

/// The intent to edit AWSServiceRoleForECS (its description, the only edit allowed).
pub const EDIT_ECS_SERVICE_LINKED_ROLE: Intent = Intent {
    name: "edit-ecs-service-linked-role",
    describes: "edit AWSServiceRoleForECS (its description, the only edit allowed)",
    seed: "004",
    requirements: &[on_ecs_role(
        "iam:UpdateRoleDescription",
        "edit the role's description",
    )],
};

/// The intent to delete AWSServiceRoleForECS and follow the deletion.
pub const DELETE_ECS_SERVICE_LINKED_ROLE: Intent = Intent {
    name: "delete-ecs-service-linked-role",
    describes: "delete AWSServiceRoleForECS and follow the deletion",
    seed: "004",
    requirements: &[
        on_ecs_role("iam:DeleteServiceLinkedRole", "submit the deletion"),
        on_ecs_role(
            "iam:GetServiceLinkedRoleDeletionStatus",
            "follow the deletion task",
        ),
    ],
};

/// The intent to pass a task's execution role or task role to ECS (RegisterTaskDefinition,
/// RunTask, StartTask): `iam:PassRole` on that role, passed to `ecs-tasks.amazonaws.com`.
pub const PASS_TASK_ROLES: Intent = Intent {
    name: "pass-task-roles",
    describes: "pass a task's execution role or task role to ECS's tasks",
    seed: ECS_GUIDE,
    requirements: &[refused(
        PASS_ROLE,
        Some(passed_to("ecs-tasks.amazonaws.com")),
        "pass the role the task definition or the task's overrides name",
    )],
};

/// The intent to pass a service's roles to ECS (CreateService, UpdateService,
/// CreateTaskSet): the infrastructure role of a volume, Service Connect or VPC Lattice, or
/// a load balancer's role, passed to `ecs.amazonaws.com`.
pub const PASS_SERVICE_ROLES: Intent = Intent {
    name: "pass-service-roles",
    describes: "pass a service's infrastructure or load-balancer role to ECS",
    seed: ECS_GUIDE,
    requirements: &[refused(
        PASS_ROLE,
        Some(passed_to("ecs.amazonaws.com")),
        "pass the role the service's configuration names",
    )],
};

/// The intent to tag an ECS resource as it is created: ECS authorizes the tags of a create
/// call (RegisterTaskDefinition, RunTask, StartTask, CreateService, CreateTaskSet) as
/// `ecs:TagResource` on the new resource, with `ecs:CreateAction` the call's name.
pub const TAG_ON_CREATE: Intent = Intent {
    name: "tag-ecs-resources-on-create",
    describes: "tag an ECS resource in the call that creates it",
    seed: ECS_GUIDE,
    requirements: &[refused(
        "ecs:TagResource",
        None,
        "tag the resource the call creates (ECS authorizes a create call's tags as ecs:TagResource)",
    )],
};

/// Every intent access-doctor explains, each once.
pub static INTENTS: &[&Intent] = &[
    &ECS_SERVICE_AUTO_SCALING,
    &CREATE_AUTO_SCALING_GROUP,
    &CREATE_LAUNCH_CONFIGURATION,
    &PUT_LIFECYCLE_HOOK,
    &ATTACH_TRAFFIC_SOURCES,
    &DETACH_TRAFFIC_SOURCES,
    &CREATE_ECS_SERVICE_LINKED_ROLE,
    &EDIT_ECS_SERVICE_LINKED_ROLE,
    &DELETE_ECS_SERVICE_LINKED_ROLE,
    &PASS_TASK_ROLES,
    &PASS_SERVICE_ROLES,
    &TAG_ON_CREATE,
];

impl Intent {
    /// Where its requirements come from, as a finding names it: `seed 000`, or the ECS
    /// Developer Guide.
    pub fn source(&self) -> String {
        if self.seed == ECS_GUIDE {
            "the ECS Developer Guide".to_owned()
        } else {
            format!("seed {}", self.seed)
        }
    }
}

/// The intent called `name`.
pub fn intent(name: &str) -> Option<&'static Intent> {
    INTENTS.iter().find(|i| i.name == name).copied()
}

/// The refusal a refused call's CloudTrail `errorMessage` names (IAM's words: "User: P is
/// not authorized to perform: ACTION on resource: R ..."), when it names one.
pub fn refusal(event: &ApiCallEvent) -> Option<Denial> {
    let message = event.detail.error_message.as_deref()?;
    match Reading::of(message).says {
        Says::Denied(denial) => Some(denial),
        _ => None,
    }
}

/// The create calls whose tags ECS authorizes as `ecs:TagResource`, each the value of
/// `ecs:CreateAction` it supplies.
const CREATE_ACTIONS: [&str; 5] = [
    "CreateService",
    "CreateTaskSet",
    "RegisterTaskDefinition",
    "RunTask",
    "StartTask",
];

/// The `ecs:CreateAction` ECS supplies for a call's tags, when the call creates something.
pub fn create_action(event_name: &str) -> Option<&'static str> {
    CREATE_ACTIONS.iter().find(|a| **a == event_name).copied()
}

/// One permission the principal lacks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Missing {
    /// `service:Action`.
    pub action: String,
    /// Where it is needed.
    pub resource: String,
    /// `implicitDeny` (nothing grants it) or `explicitDeny` (a Deny statement, a boundary
    /// or an SCP refuses it: an Allow will not help).
    pub decision: EvalDecision,
    /// What refuses it when no policy of the principal's account can help:
    /// `service_control_policy` (the organization's SCPs do not allow it) or
    /// `permissions_boundary`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub denied_by: Option<DenySource>,
    /// The intent that needs it.
    pub intent: &'static str,
    /// The seed it comes from.
    pub seed: &'static str,
    /// Why it is needed.
    pub why: &'static str,
}

/// IAM's decision on an action (`EvalDecision` of SimulatePrincipalPolicy), named as the
/// diagnosis shows it.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, strum::Display, strum::IntoStaticStr,
)]
#[serde(rename_all = "camelCase")]
#[strum(serialize_all = "camelCase")]
pub enum EvalDecision {
    /// Some policy allows it and nothing denies it.
    Allowed,
    /// A Deny statement, a permissions boundary or an SCP refuses it.
    ExplicitDeny,
    /// Nothing grants it; also an action IAM did not answer for.
    #[default]
    ImplicitDeny,
}

impl EvalDecision {
    /// Whether the action is allowed.
    pub fn is_allowed(self) -> bool {
        self == Self::Allowed
    }
}

/// What refuses an action beyond the principal's own policies, so that no Allow in its
/// account can grant it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DenySource {
    /// The organization's service control policies do not allow it.
    ServiceControlPolicy,
    /// The principal's permissions boundary does not allow it.
    PermissionsBoundary,
}

/// The error codes CloudTrail records for a refused call: what access-doctor explains and
/// `ecs-warden explain --recent` looks for.
pub const REFUSED: [&str; 4] = [
    "AccessDenied",
    "AccessDeniedException",
    "UnauthorizedOperation",
    "Client.UnauthorizedOperation",
];

/// The intents a refused call belongs to.
pub fn intents_for(event: &ApiCallEvent) -> Result<Vec<&'static Intent>, InvocationError> {
    let detail = &event.detail;
    let param = |name: &str| {
        detail
            .request_parameters
            .as_ref()
            .and_then(|p| p.get(name))
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    let intents: &[&'static Intent] = match (event.source.as_str(), detail.event_name.as_str()) {
        ("aws.ecs", "CreateService") => &[
            &ECS_SERVICE_AUTO_SCALING,
            &CREATE_ECS_SERVICE_LINKED_ROLE,
            &PASS_SERVICE_ROLES,
            &TAG_ON_CREATE,
        ],
        ("aws.ecs", "UpdateService") => &[&ECS_SERVICE_AUTO_SCALING, &PASS_SERVICE_ROLES],
        ("aws.ecs", "CreateTaskSet") => &[&PASS_SERVICE_ROLES, &TAG_ON_CREATE],
        ("aws.ecs", "RegisterTaskDefinition" | "RunTask" | "StartTask") => {
            &[&PASS_TASK_ROLES, &TAG_ON_CREATE]
        }
        // Application Auto Scaling's calls share EC2 Auto Scaling's source; only
        // additionalEventData.service tells them apart.
        ("aws.autoscaling", _) if detail.is_application_auto_scaling() => {
            if param("serviceNamespace") == "ecs" {
                &[&ECS_SERVICE_AUTO_SCALING]
            } else {
                &[]
            }
        }
        ("aws.monitoring", "PutMetricAlarm" | "DescribeAlarms") => &[&ECS_SERVICE_AUTO_SCALING],
        ("aws.autoscaling", "CreateAutoScalingGroup") => &[&CREATE_AUTO_SCALING_GROUP],
        ("aws.autoscaling", "CreateLaunchConfiguration") => &[&CREATE_LAUNCH_CONFIGURATION],
        ("aws.autoscaling", "PutLifecycleHook") => &[&PUT_LIFECYCLE_HOOK],
        ("aws.autoscaling", "AttachTrafficSources") => &[&ATTACH_TRAFFIC_SOURCES],
        ("aws.autoscaling", "DetachTrafficSources") => &[&DETACH_TRAFFIC_SOURCES],
        ("aws.iam", "CreateServiceLinkedRole")
            if param("aWSServiceName") == "ecs.amazonaws.com"
                || param("awsServiceName") == "ecs.amazonaws.com" =>
        {
            &[&CREATE_ECS_SERVICE_LINKED_ROLE]
        }
        ("aws.iam", "UpdateRoleDescription")
            if param("roleName").starts_with(catalog::ECS_SERVICE_LINKED_ROLE.name) =>
        {
            &[&EDIT_ECS_SERVICE_LINKED_ROLE]
        }
        ("aws.iam", "DeleteServiceLinkedRole" | "GetServiceLinkedRoleDeletionStatus") => {
            &[&DELETE_ECS_SERVICE_LINKED_ROLE]
        }
        ("aws.ecs" | "aws.monitoring" | "aws.autoscaling" | "aws.iam", _) => &[],
        (source, _) => {
            return Err(InvocationError::UnexpectedSource {
                found: source.to_owned(),
                expected: "aws.ecs, aws.autoscaling (EC2 and Application Auto Scaling), aws.monitoring, aws.iam",
            })
        }
    };
    // An intent of the calls around tasks is the refusal's only when its message names
    // the intent's action: a CreateService refused for Service Auto Scaling passed no role.
    let named = refusal(event).and_then(|d| d.action);
    Ok(intents
        .iter()
        .filter(|intent| {
            let refused: Vec<_> = intent
                .requirements
                .iter()
                .filter(|r| r.when == When::Refused)
                .collect();
            refused.len() < intent.requirements.len()
                || refused.iter().any(|r| Some(r.action) == named.as_deref())
        })
        .copied()
        .collect())
}

/// A statement of the minimal policy: its Sid, resource and condition.
type StatementKey = (String, String, Option<Condition>);

/// The smallest policy granting what is implicitly denied: one statement per intent and
/// resource, with the seed's condition. Explicit denies, and what an SCP or a
/// permissions boundary refuses, are left out: an Allow cannot override them.
pub fn minimal_policy(missing: &[Missing], intents: &[&'static Intent]) -> Option<Value> {
    let mut statements: BTreeMap<StatementKey, Vec<String>> = BTreeMap::new();
    // What an SCP or a boundary refuses, no Allow here can grant.
    for m in missing
        .iter()
        .filter(|m| m.decision == EvalDecision::ImplicitDeny && m.denied_by.is_none())
    {
        let condition = intents
            .iter()
            .flat_map(|i| i.requirements)
            .find(|r| r.action == m.action)
            .and_then(|r| r.condition);
        let sid = format!(
            "Seed{}{}",
            m.seed,
            m.intent.split('-').map(capitalized).collect::<String>()
        );
        let actions = statements
            .entry((sid, m.resource.clone(), condition))
            .or_default();
        if !actions.contains(&m.action) {
            actions.push(m.action.clone());
        }
    }
    if statements.is_empty() {
        return None;
    }
    let statement: Vec<Value> = statements
        .into_iter()
        .map(|((sid, resource, condition), mut actions)| {
            actions.sort();
            let mut s =
                json!({"Sid": sid, "Effect": "Allow", "Action": actions, "Resource": resource});
            if let Some(c) = condition {
                s["Condition"] = json!({ c.operator: { c.key: c.value } });
            }
            s
        })
        .collect();
    Some(json!({"Version": "2012-10-17", "Statement": statement}))
}

fn capitalized(word: &str) -> String {
    let mut chars = word.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_intent_names_its_own_call_or_its_seed_actions() {
        for intent in INTENTS {
            assert!(!intent.requirements.is_empty(), "{}", intent.name);
            for r in intent.requirements {
                let (service, action) = r.action.split_once(':').expect("service:Action");
                assert!(!service.is_empty() && action.chars().next().unwrap().is_ascii_uppercase());
            }
        }
        assert!(intent("create-auto-scaling-group").is_some());
        // IAM supplies iam:AWSServiceName for CreateServiceLinkedRole alone.
        for r in INTENTS.iter().flat_map(|i| i.requirements) {
            let conditioned = r.condition.is_some_and(|c| c.key == AWS_SERVICE_NAME_KEY);
            assert_eq!(
                conditioned,
                r.action == "iam:CreateServiceLinkedRole"
                    && r.resource == Resource::EcsServiceLinkedRole,
                "{}",
                r.action
            );
        }
        assert!(intent("fly").is_none());
    }

    #[test]
    fn a_decision_reads_as_iam_names_it_in_words_and_in_json() {
        for (decision, name) in [
            (EvalDecision::Allowed, "allowed"),
            (EvalDecision::ExplicitDeny, "explicitDeny"),
            (EvalDecision::ImplicitDeny, "implicitDeny"),
        ] {
            assert_eq!(decision.to_string(), name);
            assert_eq!(serde_json::to_value(decision).unwrap(), json!(name));
        }
        assert_eq!(
            serde_json::to_value(DenySource::ServiceControlPolicy).unwrap(),
            json!("service_control_policy")
        );
    }

    #[test]
    fn every_intent_is_listed_once_under_its_own_name() {
        let mut names: Vec<&str> = INTENTS.iter().map(|i| i.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), INTENTS.len(), "a name listed twice");
        for listed in INTENTS {
            assert_eq!(intent(listed.name), Some(*listed));
        }
    }

    /// Every intent a refused call can be given is one of [`INTENTS`], which a question
    /// asked by hand names: the refused samples, and a call of each kind the table reads.
    #[test]
    fn every_intent_a_refused_call_needs_is_one_a_person_can_ask_about() {
        let samples = concat!(env!("CARGO_MANIFEST_DIR"), "/../events");
        let mut seen = Vec::new();
        for entry in std::fs::read_dir(samples).expect("events/") {
            let path = entry.expect("a sample").path();
            if !path.to_string_lossy().contains("access-denied-") {
                continue;
            }
            let text = std::fs::read_to_string(&path).expect("a sample");
            let event = crate::invocation::events::parse_api_call(
                serde_json::from_str(&text).expect("JSON"),
            )
            .expect("a CloudTrail event");
            let needed = intents_for(&event).expect("a source access-doctor reads");
            assert!(!needed.is_empty(), "{}", path.display());
            seen.extend(needed);
        }
        assert!(seen.len() >= 4, "{seen:?}");
        for needed in seen {
            assert!(INTENTS.contains(&needed), "{} is not listed", needed.name);
        }
    }
}
