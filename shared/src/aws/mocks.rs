//! Mocked clients for tests (feature `test-util`): each service answers from the rules
//! aws-smithy-mocks gives it, so a test can produce the answers moto cannot (throttling,
//! a FAILED deletion task, an organization trail seen from a member account). A call no
//! rule matches fails the test that made it.

use std::time::Duration;

use aws_config::retry::RetryConfig;
pub use aws_smithy_mocks::{mock, Rule, RuleMode};

use super::{Clients, SecurityHubClients, TaskClients, TrailClients};

/// A mocked client of `$sdk` answering from `$rules` in `$mode`, retrying `$attempts`
/// times a millisecond apart when given (the functions' retries without their waits).
macro_rules! mocked {
    ($sdk:ident, $mode:expr, $rules:expr, $attempts:expr) => {
        match $attempts {
            None => aws_smithy_mocks::mock_client!($sdk, $mode, $rules),
            Some(attempts) => aws_smithy_mocks::mock_client!($sdk, $mode, $rules, |conf| {
                conf.retry_config(
                    RetryConfig::standard()
                        .with_max_attempts(attempts)
                        .with_initial_backoff(Duration::from_millis(1)),
                )
            }),
        }
    };
}

/// The rules each service's mocked client answers from; a service given none answers
/// nothing.
#[derive(Clone, Copy)]
pub struct MockRules<'a> {
    /// IAM's.
    pub iam: &'a [&'a Rule],
    /// Application Auto Scaling's.
    pub autoscaling: &'a [&'a Rule],
    /// CloudWatch's.
    pub cloudwatch: &'a [&'a Rule],
    /// ECS's.
    pub ecs: &'a [&'a Rule],
    /// STS's.
    pub sts: &'a [&'a Rule],
    /// Secrets Manager's.
    pub secrets: &'a [&'a Rule],
    /// Systems Manager's.
    pub ssm: &'a [&'a Rule],
    /// KMS's.
    pub kms: &'a [&'a Rule],
    /// How the rules are matched: in order, or any that matches.
    pub mode: RuleMode,
    /// Attempts per call, when retries are part of what the test checks.
    pub attempts: Option<u32>,
}

impl Default for MockRules<'_> {
    fn default() -> Self {
        Self {
            iam: &[],
            autoscaling: &[],
            cloudwatch: &[],
            ecs: &[],
            sts: &[],
            secrets: &[],
            ssm: &[],
            kms: &[],
            mode: RuleMode::MatchAny,
            attempts: None,
        }
    }
}

impl MockRules<'_> {
    /// The global and regional clients, answering from these rules.
    pub fn clients(&self) -> Clients {
        Clients {
            iam: self.iam(),
            autoscaling: mocked!(
                aws_sdk_applicationautoscaling,
                self.mode,
                self.autoscaling,
                self.attempts
            ),
            cloudwatch: mocked!(
                aws_sdk_cloudwatch,
                self.mode,
                self.cloudwatch,
                self.attempts
            ),
            ecs: mocked!(aws_sdk_ecs, self.mode, self.ecs, self.attempts),
            sts: mocked!(aws_sdk_sts, self.mode, self.sts, self.attempts),
        }
    }

    /// task-doctor's clients, answering from these rules, in `region` (task-doctor reads
    /// its region from them and diagnoses only that region's tasks).
    pub fn task_clients(&self, region: &'static str) -> TaskClients {
        let region = aws_config::Region::from_static(region);
        macro_rules! regional {
            ($sdk:ident, $rules:expr) => {
                aws_smithy_mocks::mock_client!($sdk, self.mode, $rules, |conf| {
                    conf.region(region.clone())
                })
            };
        }
        TaskClients {
            iam: self.iam(),
            ecs: regional!(aws_sdk_ecs, self.ecs),
            secrets: regional!(aws_sdk_secretsmanager, self.secrets),
            ssm: regional!(aws_sdk_ssm, self.ssm),
            kms: regional!(aws_sdk_kms, self.kms),
        }
    }

    /// The IAM client alone.
    pub fn iam(&self) -> aws_sdk_iam::Client {
        mocked!(aws_sdk_iam, self.mode, self.iam, self.attempts)
    }
}

/// An Organizations client answering from `rules`.
pub fn organizations_client(rules: &[&Rule], mode: RuleMode) -> aws_sdk_organizations::Client {
    mocked!(aws_sdk_organizations, mode, rules, None::<u32>)
}

/// CloudTrail clients answering from `rules` in every region.
pub fn trail_clients(rules: &[&Rule], mode: RuleMode) -> TrailClients {
    TrailClients::fixed(mocked!(aws_sdk_cloudtrail, mode, rules, None::<u32>))
}

/// Security Hub clients answering from `rules` in every region.
pub fn security_hub_clients(rules: &[&Rule], mode: RuleMode) -> SecurityHubClients {
    SecurityHubClients::fixed(mocked!(aws_sdk_securityhub, mode, rules, None::<u32>))
}
