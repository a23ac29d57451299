//! What a principal needs, as the seeds list it, for each thing people try to do: use ECS
//! Service Auto Scaling (seed 000), run the EC2 Auto Scaling actions that need permissions
//! from other APIs (seed 002), create, edit or delete `AWSServiceRoleForECS` (seed 004).
//! Data, read by access-doctor; the catalog of roles is its sibling. Where seed 004's
//! example differs from IAM's reference (the `iam:AWSServiceName` condition on the edit
//! and delete actions), IAM's reference is followed.

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
}

impl Resource {
    /// The ARN pattern in `partition` and `account`.
    pub fn arn(self, partition: &str, account: &str) -> String {
        match self {
            Resource::Any => "*".to_owned(),
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

/// Every intent access-doctor explains.
pub const INTENTS: &[Intent] = &[
    Intent {
        name: "ecs-service-auto-scaling",
        describes:
            "use ECS Service Auto Scaling: scalable targets, scaling policies and their alarms",
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
    },
    Intent {
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
    },
    Intent {
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
    },
    Intent {
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
    },
    Intent {
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
    },
    Intent {
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
    },
    Intent {
        name: "create-ecs-service-linked-role",
        describes: "create AWSServiceRoleForECS",
        seed: "004",
        requirements: &[create_ecs_role(
            "iam:CreateServiceLinkedRole",
            "create the ECS service-linked role",
        )],
    },
    Intent {
        name: "edit-ecs-service-linked-role",
        describes: "edit AWSServiceRoleForECS (its description, the only edit allowed)",
        seed: "004",
        requirements: &[on_ecs_role(
            "iam:UpdateRoleDescription",
            "edit the role's description",
        )],
    },
    Intent {
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
    },
];

/// The intent called `name`.
pub fn intent(name: &str) -> Option<&'static Intent> {
    INTENTS.iter().find(|i| i.name == name)
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
}
