//! AWS's identifiers, checked in one place: ARNs, 12-digit account ids, region names and
//! the partition a region belongs to. Every input that names one is read through here.

/// An ARN split into its parts: `arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE`. Global
/// services (IAM) leave the region empty, and some resources the account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Arn<'a> {
    /// `aws`, `aws-cn`, `aws-us-gov`.
    pub partition: &'a str,
    /// The service's ARN namespace, e.g. `iam`, `sts`, `sns`.
    pub service: &'a str,
    /// The region, empty for a global service.
    pub region: &'a str,
    /// The owning account, as written.
    pub account: &'a str,
    /// The rest: `role/path/name`, a topic name, ...
    pub resource: &'a str,
}

impl<'a> Arn<'a> {
    /// Splits `text` when it has an ARN's six parts and a partition; `None` otherwise.
    pub fn parse(text: &'a str) -> Option<Self> {
        let parts: Vec<&str> = text.splitn(6, ':').collect();
        let ["arn", partition, service, region, account, resource] = parts[..] else {
            return None;
        };
        (!partition.is_empty() && !service.is_empty()).then_some(Self {
            partition,
            service,
            region,
            account,
            resource,
        })
    }

    /// Whether the account part is a 12-digit account id.
    pub fn has_account_id(&self) -> bool {
        is_account_id(self.account)
    }
}

/// Whether `value` is a 12-digit AWS account id.
pub fn is_account_id(value: &str) -> bool {
    value.len() == 12 && value.bytes().all(|b| b.is_ascii_digit())
}

/// Whether `name` looks like an AWS region (`us-east-1`, `us-gov-west-1`, `cn-north-1`).
pub fn is_region_name(name: &str) -> bool {
    let parts: Vec<&str> = name.split('-').collect();
    parts.len() >= 3
        && parts.iter().all(|p| {
            !p.is_empty()
                && p.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        })
        && parts
            .last()
            .is_some_and(|n| n.chars().all(|c| c.is_ascii_digit()))
}

/// The partition a region belongs to, for building ARNs.
pub fn partition(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "aws-cn"
    } else if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else {
        "aws"
    }
}

/// A partition's name as written in an ARN, as one of the partitions ecs-warden knows
/// (anything else reads as `aws`, as [`partition`] does for an unknown region).
pub fn partition_named(name: &str) -> &'static str {
    match name {
        "aws-cn" => "aws-cn",
        "aws-us-gov" => "aws-us-gov",
        _ => "aws",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_arn_is_split_once_into_its_parts() {
        let role = Arn::parse("arn:aws:iam::111122223333:role/platform/Deployer").unwrap();
        assert_eq!(
            (
                role.partition,
                role.service,
                role.region,
                role.account,
                role.resource
            ),
            ("aws", "iam", "", "111122223333", "role/platform/Deployer")
        );
        assert!(role.has_account_id());
        // The resource keeps its colons.
        let policy = Arn::parse(
            "arn:aws:autoscaling:eu-west-1:111122223333:scalingPolicy:id:resource/ecs/service/a/b",
        )
        .unwrap();
        assert_eq!(policy.resource, "scalingPolicy:id:resource/ecs/service/a/b");
        for not in [
            "",
            "role/x",
            "arn:aws:iam",
            "arn::iam::1:role/x",
            "urn:aws:iam::1:role/x",
        ] {
            assert_eq!(Arn::parse(not), None, "{not}");
        }
        assert!(!Arn::parse("arn:aws:iam::12:role/x")
            .unwrap()
            .has_account_id());
    }

    #[test]
    fn regions_accounts_and_partitions() {
        for region in ["us-east-1", "us-gov-west-1", "cn-north-1", "ap-southeast-2"] {
            assert!(is_region_name(region), "{region}");
        }
        for not in ["", "us-east", "US-EAST-1", "us--1", "eu-west-1a"] {
            assert!(!is_region_name(not), "{not}");
        }
        assert!(is_account_id("111122223333"));
        assert!(!is_account_id("11112222333") && !is_account_id("11112222333x"));
        assert_eq!(
            [
                partition("eu-west-1"),
                partition("cn-north-1"),
                partition("us-gov-east-1")
            ],
            ["aws", "aws-cn", "aws-us-gov"]
        );
    }
}
