//! The service a scaling policy scales, and the names, ARNs and tags of the alarms
//! ecs-warden makes for it. A name, once an alarm carries it, is how ecs-warden finds that
//! alarm again: the golden tests below pin them.

use crate::aws::ids;
use crate::invocation::gate::Scope;

/// Prefix of every alarm name ecs-warden creates; the template limits alarm writes to it.
pub const ALARM_NAME_PREFIX: &str = "ecs-warden/";
pub use crate::domain::catalog::{CREATED_BY_TAG, CREATED_BY_VALUE};
/// Tag naming the cluster of the service an alarm scales.
pub const CLUSTER_TAG: &str = "ecs-warden:cluster";
/// Tag naming the service an alarm scales.
pub const SERVICE_TAG: &str = "ecs-warden:service";
/// Tag naming the scaling policy an alarm invokes.
pub const POLICY_TAG: &str = "ecs-warden:policy";
/// Tag naming the event after which the alarm was created.
pub const EVENT_TAG: &str = "ecs-warden:event-id";
/// Prefix of the ECS service tags that override the alarm defaults.
pub const OVERRIDE_TAG_PREFIX: &str = "ecs-warden:";

/// CloudWatch's limit on alarm names.
const ALARM_NAME_MAX: usize = 255;
/// CloudWatch's limit on tag values.
const TAG_VALUE_MAX: usize = 256;

/// An ECS service as Application Auto Scaling names it: `service/<cluster>/<service>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceTarget {
    /// The cluster's name.
    pub cluster: String,
    /// The service's name.
    pub service: String,
}

/// Why a scalable target's resource id is not an ECS service's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BadResourceId {
    /// Not `service/<cluster>/<service>`.
    #[error("{0:?} is not an ECS service resource id (service/<cluster>/<service>)")]
    NotAService(String),
    /// A cluster or service name ECS would not accept.
    #[error("{resource_id:?}: {name:?} is not an ECS {what} name")]
    BadName {
        /// The whole resource id.
        resource_id: String,
        /// The offending name.
        name: String,
        /// `cluster` or `service`.
        what: &'static str,
    },
}

impl ServiceTarget {
    /// Parses a scalable target's resource id; the error says what is wrong with it.
    pub fn from_resource_id(resource_id: &str) -> Result<Self, BadResourceId> {
        let parts: Vec<&str> = resource_id.split('/').collect();
        let ["service", cluster, service] = parts[..] else {
            return Err(BadResourceId::NotAService(resource_id.to_owned()));
        };
        for (what, name) in [("cluster", cluster), ("service", service)] {
            let valid = (1..=255).contains(&name.len())
                && name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
            if !valid {
                return Err(BadResourceId::BadName {
                    resource_id: resource_id.to_owned(),
                    name: name.to_owned(),
                    what,
                });
            }
        }
        Ok(Self {
            cluster: cluster.to_owned(),
            service: service.to_owned(),
        })
    }

    /// The resource id Application Auto Scaling uses for the service.
    pub fn resource_id(&self) -> String {
        format!("service/{}/{}", self.cluster, self.service)
    }
}

/// The name of the alarm ecs-warden creates for a policy: readable, unique per cluster,
/// service and policy (cluster and service names cannot contain `/`), and cut to
/// CloudWatch's limit with a hash of the whole when too long.
pub fn alarm_name(target: &ServiceTarget, policy_name: &str) -> String {
    let full = format!(
        "{ALARM_NAME_PREFIX}{}/{}/{policy_name}",
        target.cluster, target.service
    );
    ids::fitted(&full, ALARM_NAME_MAX)
}

pub(crate) fn alarm_arn(scope: &Scope, region: &str, name: &str) -> String {
    format!(
        "arn:{}:cloudwatch:{region}:{}:alarm:{name}",
        scope.partition, scope.account
    )
}

pub(super) fn tag_value(value: &str) -> String {
    ids::cut(value, TAG_VALUE_MAX).to_owned()
}

/// The part every scaling policy ARN of `policy_arn`'s account and region starts with
/// (`arn:aws:autoscaling:eu-west-1:111122223333:scalingPolicy:`): Application Auto Scaling's
/// and EC2 Auto Scaling's policies share it, the policy id comes next.
pub fn scaling_policy_prefix(policy_arn: &str) -> Option<String> {
    const KIND: &str = ":scalingPolicy:";
    let at = policy_arn.find(KIND)?;
    Some(policy_arn[..at + KIND.len()].to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alarm_names_are_deterministic_unique_and_bounded() {
        let target = ServiceTarget::from_resource_id("service/payments/web").unwrap();
        assert_eq!(
            alarm_name(&target, "cpu-out"),
            "ecs-warden/payments/web/cpu-out"
        );
        let other = ServiceTarget::from_resource_id("service/payments-web/x").unwrap();
        assert_ne!(alarm_name(&other, "p"), alarm_name(&target, "x/p"));
        let long = ServiceTarget {
            cluster: "c".repeat(255),
            service: "s".repeat(255),
        };
        let a = alarm_name(&long, &"p".repeat(256));
        let b = alarm_name(&long, &format!("{}q", "p".repeat(255)));
        assert_eq!(a.len(), 255);
        assert_ne!(a, b);
        assert_eq!(a, alarm_name(&long, &"p".repeat(256)));
        let wide = alarm_name(&target, &"é".repeat(200));
        assert!(wide.len() <= 255);
    }

    /// The names alarms already carry in customers' accounts: a change to the cut or the
    /// hash would orphan every long-named alarm ecs-warden made before it.
    #[test]
    fn cut_alarm_names_are_the_ones_earlier_releases_made() {
        let long = ServiceTarget {
            cluster: "c".repeat(255),
            service: "s".repeat(255),
        };
        let whole = format!(
            "ecs-warden/{}/{}/{}",
            "c".repeat(255),
            "s".repeat(255),
            "p".repeat(256)
        );
        assert_eq!(
            alarm_name(&long, &"p".repeat(256)),
            format!("{}#393e2bdad756b175", &whole[..238])
        );
        let target = ServiceTarget::from_resource_id("service/payments/web").unwrap();
        assert_eq!(
            alarm_name(&target, &"é".repeat(200)),
            format!(
                "ecs-warden/payments/web/{}#d22f73bc944663b4",
                "é".repeat(107)
            )
        );
    }

    #[test]
    fn reads_service_resource_ids() {
        let t = ServiceTarget::from_resource_id("service/default/web-app").unwrap();
        assert_eq!(
            (t.cluster.as_str(), t.service.as_str()),
            ("default", "web-app")
        );
        assert_eq!(t.resource_id(), "service/default/web-app");
        for bad in [
            "table/x",
            "service/a",
            "service/a/b/c",
            "service//b",
            "service/a b/c",
        ] {
            assert!(ServiceTarget::from_resource_id(bad).is_err(), "{bad}");
        }
    }
}
