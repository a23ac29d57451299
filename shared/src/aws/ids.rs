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

/// `name` as it fits in `max` bytes: itself when it does; otherwise cut on a character
/// boundary and ended by `#` and 16 hex digits of a hash of the whole, so two long names
/// that share their start stay apart. The hash is 64-bit FNV-1a, the same in every build
/// and on every platform (unlike the standard hasher): names kept in AWS (alarm names,
/// Security Hub finding ids) must come out the same from every later release.
pub fn fitted(name: &str, max: usize) -> String {
    if name.len() <= max {
        return name.to_owned();
    }
    let hash = format!("#{:016x}", fnv1a(name.as_bytes()));
    format!("{}{hash}", cut(name, max.saturating_sub(hash.len())))
}

/// `value` cut to at most `max` bytes on a character boundary.
pub fn cut(value: &str, max: usize) -> &str {
    let mut end = value.len().min(max);
    while !value.is_char_boundary(end) {
        end -= 1;
    }
    &value[..end]
}

/// 64-bit FNV-1a.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, b| {
        (hash ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
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

    #[test]
    fn a_name_fits_whole_or_cut_with_the_hash_of_the_whole() {
        assert_eq!(fitted("ecs-warden/a", 12), "ecs-warden/a");
        let long = "ab".repeat(20);
        let cut_one = fitted(&long, 30);
        assert_eq!(cut_one.len(), 30);
        assert!(cut_one.starts_with("ababababababa#"), "{cut_one}");
        assert_ne!(cut_one, fitted(&format!("{long}c"), 30));
        // Never inside a character: "é" is two bytes.
        let wide = fitted(&"é".repeat(20), 30);
        assert_eq!(
            wide,
            format!(
                "{}#{:016x}",
                "é".repeat(6),
                fnv1a("é".repeat(20).as_bytes())
            )
        );
        assert_eq!(cut("héllo", 2), "h");
        // FNV-1a's published test vectors.
        assert_eq!(fnv1a(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
    }
}
