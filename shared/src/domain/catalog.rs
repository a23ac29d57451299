//! The roles ECS and ECS Service Auto Scaling need, as data: one table every function reads.
//!
//! Names, trust principals, paths, trust documents and managed policies are the ones
//! `../shared/seeds/` gives (each entry names its seed); nothing here is computed.

/// How a role comes into being, which decides how it is created and what can be repaired.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RoleKind {
    /// Created by IAM for a service (CreateServiceLinkedRole); its trust and policies are
    /// owned by AWS and cannot be edited.
    ServiceLinked {
        /// The `AWSServiceName` passed to CreateServiceLinkedRole.
        service: &'static str,
    },
    /// A customer role created with CreateRole and a managed policy attached.
    Service,
}

/// One required role.
#[derive(Debug, PartialEq, Eq)]
pub struct RoleSpec {
    /// The role name.
    pub name: &'static str,
    /// How it is created.
    pub kind: RoleKind,
    /// The IAM path it is created under.
    pub path: &'static str,
    /// The service principal its trust policy must allow to `sts:AssumeRole`.
    pub principal: &'static str,
    /// The trust policy document, exactly as the seed gives it.
    pub trust_policy: &'static str,
    /// The AWS managed policy that must be attached, as its path and name.
    pub managed_policy: Option<ManagedPolicy>,
    /// The document the entry comes from.
    pub source: Source,
}

/// The AWS document a catalog entry comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// One of the seed documents the product implements, by number.
    Seed(&'static str),
    /// The ECS Developer Guide's pages on the task execution and infrastructure IAM roles.
    EcsGuide,
}

impl std::fmt::Display for Source {
    /// Reads after "the": `seed 003`, `ECS Developer Guide's`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Seed(number) => write!(f, "seed {number}"),
            Self::EcsGuide => f.write_str("ECS Developer Guide's"),
        }
    }
}

/// An AWS managed policy, named without a partition so its ARN fits any partition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ManagedPolicy {
    /// The policy's IAM path, e.g. `/service-role/`.
    pub path: &'static str,
    /// The policy name.
    pub name: &'static str,
}

impl ManagedPolicy {
    /// The policy ARN in `partition` (`aws`, `aws-cn`, `aws-us-gov`).
    pub fn arn(&self, partition: &str) -> String {
        format!("arn:{partition}:iam::aws:policy{}{}", self.path, self.name)
    }
}

impl RoleSpec {
    /// The role's ARN in an account, under its catalog path.
    pub fn arn(&self, partition: &str, account: &str) -> String {
        format!(
            "arn:{partition}:iam::{account}:role{}{}",
            self.path, self.name
        )
    }
}

/// The Amazon ECS service-linked role (seed 004).
pub const ECS_SERVICE_LINKED_ROLE: RoleSpec = RoleSpec {
    name: "AWSServiceRoleForECS",
    kind: RoleKind::ServiceLinked {
        service: "ecs.amazonaws.com",
    },
    path: "/aws-service-role/ecs.amazonaws.com/",
    principal: "ecs.amazonaws.com",
    trust_policy: r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ecs.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#,
    managed_policy: None,
    source: Source::Seed("004"),
};

/// The service-linked role Application Auto Scaling uses for ECS services (seed 000).
pub const ECS_AUTOSCALING_SERVICE_LINKED_ROLE: RoleSpec = RoleSpec {
    name: "AWSServiceRoleForApplicationAutoScaling_ECSService",
    kind: RoleKind::ServiceLinked {
        service: "ecs.application-autoscaling.amazonaws.com",
    },
    path: "/aws-service-role/ecs.application-autoscaling.amazonaws.com/",
    principal: "ecs.application-autoscaling.amazonaws.com",
    trust_policy: r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ecs.application-autoscaling.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#,
    managed_policy: None,
    source: Source::Seed("000"),
};

/// The legacy Service Auto Scaling role (seed 001).
pub const ECS_AUTOSCALE_ROLE: RoleSpec = RoleSpec {
    name: "ecsAutoscaleRole",
    kind: RoleKind::Service,
    path: "/",
    principal: "application-autoscaling.amazonaws.com",
    trust_policy: r#"{
  "Version": "2012-10-17",
  "Statement": [
    {
      "Effect": "Allow",
      "Principal": {
        "Service": "application-autoscaling.amazonaws.com"
      },
      "Action": "sts:AssumeRole"
    }
  ]
}"#,
    managed_policy: Some(ManagedPolicy {
        path: "/service-role/",
        name: "AmazonEC2ContainerServiceAutoscaleRole",
    }),
    source: Source::Seed("001"),
};

/// The legacy ECS service scheduler role for load balancers (seed 003).
pub const ECS_SERVICE_ROLE: RoleSpec = RoleSpec {
    name: "ecsServiceRole",
    kind: RoleKind::Service,
    path: "/",
    principal: "ecs.amazonaws.com",
    trust_policy: r#"{
  "Version": "2008-10-17",
  "Statement": [
    {
      "Sid": "",
      "Effect": "Allow",
      "Principal": {
        "Service": "ecs.amazonaws.com"
      },
      "Action": "sts:AssumeRole"
    }
  ]
}"#,
    managed_policy: Some(ManagedPolicy {
        path: "/service-role/",
        name: "AmazonEC2ContainerServiceRole",
    }),
    source: Source::Seed("003"),
};

/// The task execution role under the name ECS's documentation gives it: ECS's agent
/// assumes it to pull images and read secrets and log configuration before a task starts.
/// Not in [`ROLES`]: no account needs it unless its tasks name it, so only task-doctor
/// ensures it, for a task that names it.
pub const ECS_TASK_EXECUTION_ROLE: RoleSpec = RoleSpec {
    name: "ecsTaskExecutionRole",
    kind: RoleKind::Service,
    path: "/",
    principal: "ecs-tasks.amazonaws.com",
    trust_policy: r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ecs-tasks.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#,
    managed_policy: Some(ManagedPolicy {
        path: "/service-role/",
        name: "AmazonECSTaskExecutionRolePolicy",
    }),
    source: Source::EcsGuide,
};

/// A task execution role of another name, as a sweep checks it: it must exist and trust
/// ECS's tasks; what it may do is its owner's choice (task-doctor simulates it when a task
/// fails), so no managed policy is required of it, and it is never written.
pub const ECS_TASK_EXECUTION_ROLE_OF_ANY_NAME: RoleSpec = RoleSpec {
    managed_policy: None,
    ..ECS_TASK_EXECUTION_ROLE
};

/// The infrastructure role under the name ECS's documentation gives it, for the feature
/// whose managed policy it must have: ECS assumes it (as `ecs.amazonaws.com`) to manage a
/// task's EBS volumes, Service Connect's TLS, or VPC Lattice target groups. Not in
/// [`ROLES`]: only ecs-role-guard ensures it, after ECS could not assume it.
const fn infrastructure_role(policy: ManagedPolicy) -> RoleSpec {
    RoleSpec {
        name: "ecsInfrastructureRole",
        kind: RoleKind::Service,
        path: "/",
        principal: "ecs.amazonaws.com",
        trust_policy: r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ecs.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#,
        managed_policy: Some(policy),
        source: Source::EcsGuide,
    }
}

/// The infrastructure role of a service's EBS volumes.
pub const ECS_INFRASTRUCTURE_ROLE_FOR_VOLUMES: RoleSpec = infrastructure_role(ManagedPolicy {
    path: "/service-role/",
    name: "AmazonECSInfrastructureRolePolicyForVolumes",
});

/// The infrastructure role of Service Connect's TLS.
pub const ECS_INFRASTRUCTURE_ROLE_FOR_TLS: RoleSpec = infrastructure_role(ManagedPolicy {
    path: "/service-role/",
    name: "AmazonECSInfrastructureRolePolicyForServiceConnectTransportLayerSecurity",
});

/// The infrastructure role of VPC Lattice target groups (its policy sits at the root path).
pub const ECS_INFRASTRUCTURE_ROLE_FOR_VPC_LATTICE: RoleSpec = infrastructure_role(ManagedPolicy {
    path: "/",
    name: "AmazonECSInfrastructureRolePolicyForVpcLattice",
});

/// Every required role, in the order reports list them.
pub const ROLES: [&RoleSpec; 4] = [
    &ECS_SERVICE_LINKED_ROLE,
    &ECS_AUTOSCALING_SERVICE_LINKED_ROLE,
    &ECS_AUTOSCALE_ROLE,
    &ECS_SERVICE_ROLE,
];

/// The tag ecs-warden puts on what it creates (alarms, roles), with [`CREATED_BY_VALUE`]:
/// its own alarms may be deleted, its own roles repaired whoever their trust names.
pub const CREATED_BY_TAG: &str = "ecs-warden:created-by";
/// The value of [`CREATED_BY_TAG`].
pub const CREATED_BY_VALUE: &str = "ecs-warden";

/// The opt-out tag: `true` on an IAM role, an ECS service or an ECS cluster (covering its
/// services) means checked and reported, never written. Teams whose Terraform or CDK owns
/// a resource set it so ecs-warden never fights their plan.
pub const IGNORE_TAG: &str = "ecs-warden:ignore";

/// Why a resource with these tags is never written, to follow "it is" or a name and "is":
/// it carries [`IGNORE_TAG`] `true` (any case, surrounding blanks ignored); or `None`.
pub fn opted_out<'a>(tags: impl IntoIterator<Item = (&'a str, &'a str)>) -> Option<String> {
    tags.into_iter()
        .any(|(key, value)| key == IGNORE_TAG && value.trim().eq_ignore_ascii_case("true"))
        .then(|| format!("tagged {IGNORE_TAG}=true (checked and reported, never written)"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_ignore_tag_set_to_true_opts_a_resource_out() {
        assert!(opted_out([("ecs-warden:ignore", "true")]).is_some());
        assert!(opted_out([("Team", "x"), ("ecs-warden:ignore", " TRUE ")]).is_some());
        assert!(opted_out([("ecs-warden:ignore", "false")]).is_none());
        assert!(opted_out([("ecs-warden:ignore", "yes")]).is_none());
        assert!(opted_out([("ecs-warden:ignored", "true")]).is_none());
        let why = opted_out([("ecs-warden:ignore", "true")]).unwrap_or_default();
        assert!(why.contains("ecs-warden:ignore=true"), "{why}");
    }
    use crate::aws::ids::partition;
    use crate::domain::trust_policy::TrustPolicy;

    #[test]
    fn every_trust_document_parses_and_grants_its_own_principal() {
        for spec in ROLES.into_iter().chain([
            &ECS_TASK_EXECUTION_ROLE,
            &ECS_INFRASTRUCTURE_ROLE_FOR_VOLUMES,
            &ECS_INFRASTRUCTURE_ROLE_FOR_TLS,
            &ECS_INFRASTRUCTURE_ROLE_FOR_VPC_LATTICE,
        ]) {
            let doc = TrustPolicy::parse(spec.trust_policy).unwrap();
            assert!(doc.grants(spec.principal), "{}", spec.name);
        }
    }

    #[test]
    fn service_linked_roles_sit_under_their_service_path() {
        for spec in ROLES {
            if let RoleKind::ServiceLinked { service } = spec.kind {
                assert_eq!(spec.path, format!("/aws-service-role/{service}/"));
                assert_eq!(spec.principal, service);
            }
        }
    }

    #[test]
    fn builds_arns_per_partition() {
        let policy = ECS_SERVICE_ROLE.managed_policy.unwrap();
        assert_eq!(
            policy.arn(partition("eu-west-1")),
            "arn:aws:iam::aws:policy/service-role/AmazonEC2ContainerServiceRole"
        );
        assert_eq!(
            ECS_SERVICE_LINKED_ROLE.arn(partition("cn-north-1"), "111122223333"),
            "arn:aws-cn:iam::111122223333:role/aws-service-role/ecs.amazonaws.com/AWSServiceRoleForECS"
        );
    }
}
