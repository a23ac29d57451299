//! The CloudWatch alarms that drive ECS Service Auto Scaling: a step-scaling policy does
//! nothing until an alarm invokes it, and a target-tracking policy stops working when the
//! alarms Application Auto Scaling made for it are deleted.
//!
//! ecs-warden's own alarms carry a deterministic name and tags, so they can be found again
//! and removed with their policy; every other alarm is only ever read.

use std::collections::{HashMap, HashSet};

use aws_sdk_applicationautoscaling::types::{
    AdjustmentType, PolicyType, ScalingPolicy, StepScalingPolicyConfiguration,
};
use aws_sdk_cloudwatch::operation::describe_alarms::builders::DescribeAlarmsFluentBuilder;
use aws_sdk_cloudwatch::types::{AlarmType, ComparisonOperator, Dimension, Statistic, Tag};
use aws_sdk_ecs::types::{ClusterField, ServiceField};

use crate::aws::{CallError, Clients};
use crate::domain::catalog::{self, IGNORE_TAG};
use crate::domain::clusters;
use crate::invocation::gate::{failure, Gated, Scope};
use crate::invocation::report::{Check, Finding, Status};
use crate::invocation::settings::SettingsError;

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

/// The most names one DescribeAlarms call accepts.
const DESCRIBE_ALARMS_NAMES_MAX: usize = 100;
/// CloudWatch's limit on alarm names.
const ALARM_NAME_MAX: usize = 255;
/// CloudWatch's limit on tag values.
const TAG_VALUE_MAX: usize = 256;

/// One setting of a created alarm that a deployment default and a service tag can set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Knob {
    Namespace,
    Metric,
    Statistic,
    Period,
    EvaluationPeriods,
    ScaleOutThreshold,
    ScaleInThreshold,
}

/// Every knob with its environment variable (set by the template) and its ECS service tag.
const KNOBS: [(Knob, &str, &str); 7] = [
    (
        Knob::Namespace,
        "WARDEN_ALARM_NAMESPACE",
        "ecs-warden:alarm-namespace",
    ),
    (
        Knob::Metric,
        "WARDEN_ALARM_METRIC",
        "ecs-warden:alarm-metric",
    ),
    (
        Knob::Statistic,
        "WARDEN_ALARM_STATISTIC",
        "ecs-warden:alarm-statistic",
    ),
    (
        Knob::Period,
        "WARDEN_ALARM_PERIOD_SECONDS",
        "ecs-warden:alarm-period",
    ),
    (
        Knob::EvaluationPeriods,
        "WARDEN_ALARM_EVALUATION_PERIODS",
        "ecs-warden:alarm-evaluation-periods",
    ),
    (
        Knob::ScaleOutThreshold,
        "WARDEN_SCALE_OUT_THRESHOLD",
        "ecs-warden:scale-out-threshold",
    ),
    (
        Knob::ScaleInThreshold,
        "WARDEN_SCALE_IN_THRESHOLD",
        "ecs-warden:scale-in-threshold",
    ),
];

/// The ECS service tags that override the alarm defaults, in documentation order.
pub fn override_tags() -> impl Iterator<Item = &'static str> {
    KNOBS.iter().map(|(_, _, tag)| *tag)
}

/// The shape of the alarm created for a step-scaling policy.
#[derive(Debug, Clone, PartialEq)]
pub struct AlarmSettings {
    /// Metric namespace, `AWS/ECS` by default.
    pub namespace: String,
    /// Metric name, `CPUUtilization` by default.
    pub metric: String,
    /// Statistic, `Average` by default.
    pub statistic: Statistic,
    /// Period in seconds, 60 by default.
    pub period: i32,
    /// Periods that must breach before the alarm fires, 3 by default.
    pub evaluation_periods: i32,
    /// Threshold of alarms for policies that add capacity, 75 by default.
    pub scale_out_threshold: f64,
    /// Threshold of alarms for policies that remove capacity, 25 by default.
    pub scale_in_threshold: f64,
}

impl Default for AlarmSettings {
    fn default() -> Self {
        Self {
            namespace: "AWS/ECS".into(),
            metric: "CPUUtilization".into(),
            statistic: Statistic::Average,
            period: 60,
            evaluation_periods: 3,
            scale_out_threshold: 75.0,
            scale_in_threshold: 25.0,
        }
    }
}

/// CloudWatch's longest evaluation window: period × evaluation periods.
const MAX_WINDOW_SECONDS: i64 = 86_400;

impl AlarmSettings {
    /// Reads the deployment defaults (`WARDEN_ALARM_*`, `WARDEN_SCALE_*_THRESHOLD`) through
    /// `lookup`, the built-in defaults where unset.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, SettingsError> {
        let mut settings = Self::default();
        for (knob, var, _) in KNOBS {
            let Some(raw) = lookup(var).filter(|v| !v.trim().is_empty()) else {
                continue;
            };
            settings.set(knob, &raw).map_err(|problem| SettingsError {
                name: var,
                value: raw.clone(),
                problem,
            })?;
        }
        settings.check_window().map_err(|problem| SettingsError {
            name: "WARDEN_ALARM_EVALUATION_PERIODS",
            value: settings.evaluation_periods.to_string(),
            problem,
        })?;
        Ok(settings)
    }

    /// These settings with a service's `ecs-warden:` tags applied. On success, also the
    /// tags that changed something; on failure, every bad tag and why.
    pub fn with_overrides<'a>(
        &self,
        tags: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<(Self, Vec<String>), Vec<String>> {
        let mut settings = self.clone();
        let mut applied = Vec::new();
        let mut problems = Vec::new();
        for (key, value) in tags {
            if !key.starts_with(OVERRIDE_TAG_PREFIX) {
                continue;
            }
            match KNOBS.iter().find(|(_, _, tag)| *tag == key) {
                Some((knob, _, _)) => match settings.set(*knob, value) {
                    Ok(()) => applied.push(format!("{key}={value}")),
                    Err(problem) => problems.push(format!("tag {key}={value:?}: {problem}")),
                },
                // ecs-warden's own tags that are not alarm settings.
                None if key == IGNORE_TAG || key == CREATED_BY_TAG => {}
                // A tag of a newer or older release, or a typo: said, never a failure.
                None => applied.push(format!(
                    "{key}={value:?} ignored: not a tag ecs-warden knows (its alarm tags are {})",
                    override_tags().collect::<Vec<_>>().join(", ")
                )),
            }
        }
        if let Err(problem) = settings.check_window() {
            problems.push(format!(
                "period {}s × {} evaluation periods: {problem}",
                settings.period, settings.evaluation_periods
            ));
        }
        if problems.is_empty() {
            Ok((settings, applied))
        } else {
            Err(problems)
        }
    }

    fn set(&mut self, knob: Knob, raw: &str) -> Result<(), &'static str> {
        let raw = raw.trim();
        match knob {
            Knob::Namespace | Knob::Metric => {
                if raw.is_empty() || raw.len() > 255 {
                    return Err("expected 1 to 255 characters");
                }
                if knob == Knob::Namespace {
                    raw.clone_into(&mut self.namespace);
                } else {
                    raw.clone_into(&mut self.metric);
                }
            }
            Knob::Statistic => {
                self.statistic = match raw {
                    "Average" => Statistic::Average,
                    "Sum" => Statistic::Sum,
                    "Minimum" => Statistic::Minimum,
                    "Maximum" => Statistic::Maximum,
                    "SampleCount" => Statistic::SampleCount,
                    _ => return Err("expected Average, Sum, Minimum, Maximum or SampleCount"),
                }
            }
            Knob::Period => {
                let period: i32 = raw
                    .parse()
                    .map_err(|_| "expected a whole number of seconds")?;
                if !(matches!(period, 10 | 20 | 30) || (period >= 60 && period % 60 == 0)) {
                    return Err("expected 10, 20, 30 or a multiple of 60 seconds");
                }
                self.period = period;
            }
            Knob::EvaluationPeriods => {
                let periods: i32 = raw.parse().map_err(|_| "expected a whole number")?;
                if periods < 1 {
                    return Err("expected at least 1");
                }
                self.evaluation_periods = periods;
            }
            Knob::ScaleOutThreshold | Knob::ScaleInThreshold => {
                let threshold: f64 = raw
                    .parse()
                    .ok()
                    .filter(|t: &f64| t.is_finite())
                    .ok_or("expected a number")?;
                if knob == Knob::ScaleOutThreshold {
                    self.scale_out_threshold = threshold;
                } else {
                    self.scale_in_threshold = threshold;
                }
            }
        }
        Ok(())
    }

    fn check_window(&self) -> Result<(), &'static str> {
        if i64::from(self.period) * i64::from(self.evaluation_periods) > MAX_WINDOW_SECONDS {
            Err("CloudWatch evaluates at most one day (86400 s) of periods")
        } else {
            Ok(())
        }
    }
}

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

/// Which way a step-scaling policy moves capacity, read from its step adjustments.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Adds capacity when the metric is at or above the threshold.
    ScaleOut,
    /// Removes capacity when the metric is at or below the threshold.
    ScaleIn,
}

impl Direction {
    fn operator(self) -> ComparisonOperator {
        match self {
            Direction::ScaleOut => ComparisonOperator::GreaterThanOrEqualToThreshold,
            Direction::ScaleIn => ComparisonOperator::LessThanOrEqualToThreshold,
        }
    }

    fn threshold(self, settings: &AlarmSettings) -> f64 {
        match self {
            Direction::ScaleOut => settings.scale_out_threshold,
            Direction::ScaleIn => settings.scale_in_threshold,
        }
    }
}

/// The direction of a step-scaling policy, or why it cannot be told.
///
/// Step bounds are relative to the alarm threshold: a policy whose every step adds
/// capacity over an interval at or above it scales out, one whose every step removes
/// capacity over an interval at or below it scales in; anything else needs a person.
pub fn direction(
    config: Option<&StepScalingPolicyConfiguration>,
) -> Result<Direction, NoDirection> {
    let Some(config) = config else {
        return Err(NoDirection::NoConfiguration);
    };
    match config.adjustment_type() {
        Some(AdjustmentType::ChangeInCapacity | AdjustmentType::PercentChangeInCapacity) => {}
        Some(AdjustmentType::ExactCapacity) => return Err(NoDirection::ExactCapacity),
        other => return Err(NoDirection::UnknownAdjustment(format!("{other:?}"))),
    }
    let steps = config.step_adjustments();
    if steps.is_empty() {
        return Err(NoDirection::NoSteps);
    }
    let mut found = None;
    for step in steps {
        let lower = step.metric_interval_lower_bound();
        let upper = step.metric_interval_upper_bound();
        let adjustment = step.scaling_adjustment();
        let this = if adjustment > 0 && lower.is_some_and(|l| l >= 0.0) {
            Direction::ScaleOut
        } else if adjustment < 0 && upper.is_some_and(|u| u <= 0.0) {
            Direction::ScaleIn
        } else {
            return Err(NoDirection::NeitherWay {
                lower: lower.map_or("-∞".into(), |l| l.to_string()),
                upper: upper.map_or("+∞".into(), |u| u.to_string()),
                adjustment,
            });
        };
        match found {
            None => found = Some(this),
            Some(seen) if seen != this => return Err(NoDirection::BothWays),
            Some(_) => {}
        }
    }
    found.ok_or(NoDirection::NoSteps)
}

/// Why ecs-warden cannot tell whether a step policy adds or removes capacity.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NoDirection {
    /// No step scaling configuration at all.
    #[error("the policy has no step scaling configuration")]
    NoConfiguration,
    /// ExactCapacity sets a count rather than moving it.
    #[error("its adjustment type ExactCapacity sets a task count, which does not say whether it adds or removes capacity")]
    ExactCapacity,
    /// An adjustment type this version does not know.
    #[error("its adjustment type {0} is not one ecs-warden knows")]
    UnknownAdjustment(String),
    /// No steps.
    #[error("it has no step adjustments")]
    NoSteps,
    /// A step that neither adds above nor removes below the threshold.
    #[error("its step [{lower}, {upper}) → {adjustment:+} neither adds capacity above the threshold nor removes it below")]
    NeitherWay {
        /// The step's lower bound.
        lower: String,
        /// The step's upper bound.
        upper: String,
        /// Its scaling adjustment.
        adjustment: i32,
    },
    /// Steps that go both ways.
    #[error("it adds capacity in some steps and removes it in others")]
    BothWays,
}

/// The name of the alarm ecs-warden creates for a policy: readable, unique per cluster,
/// service and policy (cluster and service names cannot contain `/`), and cut to
/// CloudWatch's limit with a hash of the whole when too long.
pub fn alarm_name(target: &ServiceTarget, policy_name: &str) -> String {
    let full = format!(
        "{ALARM_NAME_PREFIX}{}/{}/{policy_name}",
        target.cluster, target.service
    );
    if full.len() <= ALARM_NAME_MAX {
        return full;
    }
    let suffix = format!("#{:016x}", fnv1a(full.as_bytes()));
    format!("{}{suffix}", truncate(&full, ALARM_NAME_MAX - suffix.len()))
}

/// FNV-1a: a hash that stays the same across Rust releases, unlike `DefaultHasher`.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, b| {
        (hash ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

pub(crate) fn alarm_arn(scope: &Scope, region: &str, name: &str) -> String {
    format!(
        "arn:{}:cloudwatch:{region}:{}:alarm:{name}",
        scope.partition, scope.account
    )
}

/// `value` cut to at most `max` bytes on a character boundary.
fn truncate(value: &str, max: usize) -> String {
    let mut cut = value.len().min(max);
    while !value.is_char_boundary(cut) {
        cut -= 1;
    }
    value[..cut].to_owned()
}

fn tag_value(value: &str) -> String {
    truncate(value, TAG_VALUE_MAX)
}

/// The part every scaling policy ARN of `policy_arn`'s account and region starts with
/// (`arn:aws:autoscaling:eu-west-1:111122223333:scalingPolicy:`): Application Auto Scaling's
/// and EC2 Auto Scaling's policies share it, the policy id comes next.
pub fn scaling_policy_prefix(policy_arn: &str) -> Option<String> {
    const KIND: &str = ":scalingPolicy:";
    let at = policy_arn.find(KIND)?;
    Some(policy_arn[..at + KIND.len()].to_owned())
}

/// Every alarm of a region, read once for a sweep instead of once per policy.
#[derive(Debug, Default)]
pub struct AlarmIndex {
    /// Action ARN → the alarms (metric or composite) with it among their actions.
    invoking: HashMap<String, Vec<String>>,
    /// Every alarm name.
    names: HashSet<String>,
}

impl AlarmIndex {
    /// Reads every metric and composite alarm of the clients' region, paginated.
    pub async fn load(clients: &Clients) -> Result<Self, CallError> {
        Self::read(clients.cloudwatch.describe_alarms()).await
    }

    /// Reads the metric and composite alarms a DescribeAlarms request selects, every page.
    async fn read(request: DescribeAlarmsFluentBuilder) -> Result<Self, CallError> {
        let mut index = Self::default();
        let mut pages = request
            .alarm_types(AlarmType::MetricAlarm)
            .alarm_types(AlarmType::CompositeAlarm)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| CallError::from_sdk(&e))?;
            let metric = page.metric_alarms().iter().map(|a| {
                (
                    a.alarm_name(),
                    [
                        a.alarm_actions(),
                        a.ok_actions(),
                        a.insufficient_data_actions(),
                    ],
                )
            });
            let composite = page.composite_alarms().iter().map(|a| {
                (
                    a.alarm_name(),
                    [
                        a.alarm_actions(),
                        a.ok_actions(),
                        a.insufficient_data_actions(),
                    ],
                )
            });
            for (name, actions) in metric.chain(composite) {
                let Some(name) = name else { continue };
                index.names.insert(name.to_owned());
                for action in actions.iter().flat_map(|a| a.iter()) {
                    let invokers = index.invoking.entry(action.clone()).or_default();
                    if !invokers.iter().any(|n| n == name) {
                        invokers.push(name.to_owned());
                    }
                }
            }
        }
        Ok(index)
    }

    /// The alarms of the clients' region with an action that starts with `prefix`, every
    /// page: with a scaling policy ARN prefix ([`scaling_policy_prefix`]), every alarm that
    /// invokes a scaling policy there, CloudWatch's own view of which policies have one.
    pub async fn invoking_prefix(clients: &Clients, prefix: &str) -> Result<Self, CallError> {
        Self::read(clients.cloudwatch.describe_alarms().action_prefix(prefix)).await
    }

    /// Whether an alarm this index read invokes `action`.
    pub fn invokes(&self, action: &str) -> bool {
        self.invoking.get(action).is_some_and(|a| !a.is_empty())
    }

    fn invoking(&self, action: &str) -> Vec<String> {
        self.invoking.get(action).cloned().unwrap_or_default()
    }

    fn present(&self, names: &[String]) -> HashSet<String> {
        names
            .iter()
            .filter(|n| self.names.contains(*n))
            .cloned()
            .collect()
    }
}

/// Makes sure a step-scaling policy has an alarm that invokes it, creating ecs-warden's
/// own when none does. Without an `index`, costs one read when an alarm exists.
pub async fn ensure_step_alarm(
    clients: &Clients,
    scope: &Scope,
    region: &str,
    defaults: &AlarmSettings,
    target: &ServiceTarget,
    policy: &ScalingPolicy,
    index: Option<&AlarmIndex>,
) -> Finding {
    const CHECK: Check = Check::StepAlarm;
    let policy_arn = policy.policy_arn();
    let finding = |status, detail: String| Finding::new(policy_arn, CHECK, status, detail);
    let invoking = match index {
        Some(index) => Ok(index.invoking(policy_arn)),
        None => alarms_invoking(clients, policy_arn).await,
    };
    let invoking = match invoking {
        Ok(names) => names,
        Err(e) => {
            return finding(
                Status::Failed,
                e.explain("cloudwatch:DescribeAlarms", policy_arn),
            )
        }
    };
    if !invoking.is_empty() {
        return finding(
            Status::Compliant,
            format!(
                "invoked by alarm(s) {}; left as they are",
                invoking.join(", ")
            ),
        );
    }
    let direction = match direction(policy.step_scaling_policy_configuration()) {
        Ok(direction) => direction,
        Err(why) => {
            return finding(
                Status::Skipped,
                format!(
                    "no alarm invokes this step policy, and none was created: {why}. Create an alarm whose action is the policy ARN"
                ),
            )
        }
    };
    let (settings, applied) = match service_settings(clients, defaults, target).await {
        Ok(found) => found,
        Err((status, detail)) => return finding(status, detail),
    };
    let name = alarm_name(target, policy.policy_name());
    let arn = alarm_arn(scope, region, &name);
    let replacing = match may_replace(clients, target, policy, &name, &arn).await {
        Ok(replacing) => replacing,
        Err(refused) => return refused,
    };
    let alarm = StepAlarm {
        target,
        policy,
        name,
        arn,
        settings,
        applied,
        direction,
        replacing,
    };
    put_step_alarm(clients, scope, &alarm).await
}

/// Why ecs-warden may not write for a service's alarm.
pub(crate) enum Blocked {
    /// The service (or its cluster) is not active any more.
    Gone,
    /// The service or its cluster is tagged to opt out: the reason, naming the tag.
    OptedOut(String),
    /// What could not be read, explained.
    Failed(String),
}

/// The tags of `target` when ecs-warden may write for it, or why it may not.
pub(crate) async fn writable_service(
    clients: &Clients,
    target: &ServiceTarget,
) -> Result<Vec<(String, String)>, Blocked> {
    let tags = match service_tags(clients, target).await {
        Ok(Some(tags)) => tags,
        Ok(None) => return Err(Blocked::Gone),
        Err(e) => {
            return Err(Blocked::Failed(
                e.explain("ecs:DescribeServices", &target.resource_id()),
            ))
        }
    };
    match opted_out(clients, target, &tags).await {
        Ok(None) => Ok(tags),
        Ok(Some(why)) => Err(Blocked::OptedOut(why)),
        Err(e) => Err(Blocked::Failed(
            e.explain("ecs:DescribeClusters", &target.cluster),
        )),
    }
}

/// The alarm's settings for `target`: the deployment defaults with the service's
/// `ecs-warden:` tags applied, and which tags were; or why no alarm can be made (the
/// service is gone, opted out, its tags are wrong, or they could not be read).
async fn service_settings(
    clients: &Clients,
    defaults: &AlarmSettings,
    target: &ServiceTarget,
) -> Result<(AlarmSettings, Vec<String>), (Status, String)> {
    let tags = match writable_service(clients, target).await {
        Ok(tags) => tags,
        Err(Blocked::Gone) => {
            return Err((
                Status::Skipped,
                format!(
                    "no alarm invokes this step policy, but service {} is not active any more; no alarm created",
                    target.resource_id()
                ),
            ))
        }
        Err(Blocked::OptedOut(why)) => {
            return Err((
                Status::Skipped,
                format!("no alarm invokes this step policy, and none was created: {why}"),
            ))
        }
        Err(Blocked::Failed(detail)) => return Err((Status::Failed, detail)),
    };
    defaults
        .with_overrides(tags.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .map_err(|problems| {
            (
                Status::Failed,
                format!(
                    "no alarm invokes this step policy, and none was created because the service's tags are wrong: {}. Fix the tags, then put the policy again (or wait for the daily sweep)",
                    problems.join("; ")
                ),
            )
        })
}

/// Whether ecs-warden's alarm name for the policy is free (`false`) or holds ecs-warden's
/// own stale alarm (`true`); an alarm of that name ecs-warden did not create is never
/// replaced, since PutMetricAlarm would overwrite it: that, or a failed read, is the
/// finding to answer with.
async fn may_replace(
    clients: &Clients,
    target: &ServiceTarget,
    policy: &ScalingPolicy,
    name: &str,
    arn: &str,
) -> Result<bool, Finding> {
    let failed = |detail: String| {
        Finding::new(
            policy.policy_arn(),
            Check::StepAlarm,
            Status::Failed,
            detail,
        )
    };
    let existing = match alarm_named(clients, name).await {
        Ok(None) => return Ok(false),
        Ok(Some(existing)) => existing,
        Err(e) => return Err(failed(e.explain("cloudwatch:DescribeAlarms", arn))),
    };
    match is_warden_alarm(clients, &existing, target, policy.policy_name()).await {
        Ok(true) => Ok(true),
        Ok(false) => Err(failed(format!(
            "no alarm invokes this step policy, and the alarm name ecs-warden would use, {name}, belongs to an alarm ecs-warden did not create; it was not replaced. Rename that alarm or give the policy an alarm yourself"
        ))),
        Err(e) => Err(failed(e.explain("cloudwatch:ListTagsForResource", &existing))),
    }
}

/// The alarm ecs-warden puts for a step policy no alarm invokes, all decided before the
/// write.
struct StepAlarm<'a> {
    target: &'a ServiceTarget,
    policy: &'a ScalingPolicy,
    name: String,
    arn: String,
    /// The deployment defaults with the service's tags applied.
    settings: AlarmSettings,
    /// The service's `ecs-warden:` tags as the finding states them: the overrides applied
    /// (`key=value`) and those ignored because ecs-warden does not know them.
    applied: Vec<String>,
    direction: Direction,
    /// Whether it replaces ecs-warden's own stale alarm of the same name.
    replacing: bool,
}

impl StepAlarm<'_> {
    /// The metric, the condition and the dimensions, as the finding states them.
    fn shape(&self) -> String {
        let settings = &self.settings;
        format!(
            "{} {} {} over {} × {}s {} {}, dimensions ClusterName={} ServiceName={}{}",
            settings.namespace,
            settings.metric,
            settings.statistic.as_str(),
            settings.evaluation_periods,
            settings.period,
            self.direction.operator().as_str(),
            self.direction.threshold(settings),
            self.target.cluster,
            self.target.service,
            if self.applied.is_empty() {
                String::new()
            } else {
                format!(" (service tags: {})", self.applied.join(", "))
            }
        )
    }

    /// ecs-warden's tags, which later prove the alarm is its own, and the event's id.
    fn tags(&self, scope: &Scope) -> Vec<Tag> {
        let mut tags = vec![
            (CREATED_BY_TAG, CREATED_BY_VALUE.to_owned()),
            (CLUSTER_TAG, self.target.cluster.clone()),
            (SERVICE_TAG, self.target.service.clone()),
            (POLICY_TAG, tag_value(self.policy.policy_name())),
        ];
        if !scope.event_id.is_empty() {
            tags.push((EVENT_TAG, tag_value(&scope.event_id)));
        }
        tags.into_iter()
            .map(|(k, v)| Tag::builder().key(k).value(v).build())
            .collect()
    }

    /// The finding of what the gate did with the put.
    fn finding(&self, gated: Gated<impl Sized>) -> Finding {
        let (name, shape) = (&self.name, self.shape());
        let (status, detail) = match gated {
            Gated::Audited if self.replacing => (
                Status::WouldRepair,
                format!("no alarm invokes this step policy; would create alarm {name}: {shape}"),
            ),
            Gated::Audited => (
                Status::WouldCreate,
                format!("no alarm invokes this step policy; would create alarm {name}: {shape}"),
            ),
            Gated::Done(_) if self.replacing => (
                Status::Repaired,
                format!("no alarm invoked this step policy; retargeted ecs-warden's stale alarm {name}: {shape}"),
            ),
            Gated::Done(_) => (
                Status::Created,
                format!("no alarm invoked this step policy; created alarm {name}: {shape}"),
            ),
            Gated::Failed(failed) => (
                Status::Failed,
                format!("no alarm invokes this step policy; {failed}"),
            ),
        };
        Finding::new(self.policy.policy_arn(), Check::StepAlarm, status, detail)
    }
}

/// Puts the step policy's alarm through the write gate.
async fn put_step_alarm(clients: &Clients, scope: &Scope, alarm: &StepAlarm<'_>) -> Finding {
    let (settings, target) = (&alarm.settings, alarm.target);
    let description = format!(
        "Invokes step scaling policy {} of ECS service {}. Created by ecs-warden after {} (event {}).",
        alarm.policy.policy_name(),
        target.resource_id(),
        scope.cause,
        scope.event_id
    );
    let dimension = |name: &str, value: &str| Dimension::builder().name(name).value(value).build();
    let put = clients
        .cloudwatch
        .put_metric_alarm()
        .alarm_name(&alarm.name)
        .alarm_description(truncate(&description, 1024))
        .actions_enabled(true)
        .alarm_actions(alarm.policy.policy_arn())
        .namespace(&settings.namespace)
        .metric_name(&settings.metric)
        .statistic(settings.statistic.clone())
        .dimensions(dimension("ClusterName", &target.cluster))
        .dimensions(dimension("ServiceName", &target.service))
        .period(settings.period)
        .evaluation_periods(settings.evaluation_periods)
        .threshold(alarm.direction.threshold(settings))
        .comparison_operator(alarm.direction.operator())
        .set_tags(Some(alarm.tags(scope)))
        .send();
    let why = "step policy without an alarm";
    let gated = scope
        .write("cloudwatch:PutMetricAlarm", &alarm.arn, why, put)
        .await;
    alarm.finding(gated)
}

/// Makes sure the alarms Application Auto Scaling created for a target-tracking policy
/// still exist; when some were deleted, puts the same policy again so the service
/// recreates them. Without an `index`, costs one read when they all exist.
pub async fn ensure_target_tracking_alarms(
    clients: &Clients,
    scope: &Scope,
    policy: &ScalingPolicy,
    index: Option<&AlarmIndex>,
) -> Finding {
    const CHECK: Check = Check::TargetTrackingAlarms;
    let policy_arn = policy.policy_arn();
    let finding = |status, detail: String| Finding::new(policy_arn, CHECK, status, detail);
    let listed: Vec<String> = policy
        .alarms()
        .iter()
        .map(|a| a.alarm_name().to_owned())
        .collect();
    if listed.is_empty() {
        return finding(
            Status::Skipped,
            "the policy lists no alarms; nothing to compare".into(),
        );
    }
    let present = match index {
        Some(index) => Ok(index.present(&listed)),
        None => existing_alarms(clients, &listed).await,
    };
    let present = match present {
        Ok(present) => present,
        Err(e) => {
            return finding(
                Status::Failed,
                e.explain("cloudwatch:DescribeAlarms", policy_arn),
            )
        }
    };
    let missing: Vec<&str> = listed
        .iter()
        .filter(|n| !present.contains(*n))
        .map(String::as_str)
        .collect();
    if missing.is_empty() {
        return finding(
            Status::Compliant,
            format!("its {} alarm(s) exist: {}", listed.len(), listed.join(", ")),
        );
    }
    let missing_words = format!("alarm(s) {} were deleted", missing.join(", "));
    if let Ok(target) = ServiceTarget::from_resource_id(policy.resource_id()) {
        let tags = match service_tags(clients, &target).await {
            Ok(tags) => tags.unwrap_or_default(),
            Err(e) => {
                return finding(
                    Status::Failed,
                    e.explain("ecs:DescribeServices", policy_arn),
                )
            }
        };
        match opted_out(clients, &target, &tags).await {
            Ok(None) => {}
            Ok(Some(why)) => {
                return finding(
                    Status::Skipped,
                    format!("{missing_words}; the policy was not put again: {why}"),
                )
            }
            Err(e) => {
                return finding(
                    Status::Failed,
                    e.explain("ecs:DescribeClusters", policy_arn),
                )
            }
        }
    }
    recreate_alarms(clients, scope, policy, &missing_words).await
}

/// Puts a target-tracking policy again, unchanged, so that Application Auto Scaling
/// recreates the alarms it manages for it, then confirms in CloudWatch that they exist.
async fn recreate_alarms(
    clients: &Clients,
    scope: &Scope,
    policy: &ScalingPolicy,
    missing_words: &str,
) -> Finding {
    const CHECK: Check = Check::TargetTrackingAlarms;
    let policy_arn = policy.policy_arn();
    let finding = |status, detail: String| Finding::new(policy_arn, CHECK, status, detail);
    let put = clients
        .autoscaling
        .put_scaling_policy()
        .policy_name(policy.policy_name())
        .service_namespace(policy.service_namespace().clone())
        .resource_id(policy.resource_id())
        .scalable_dimension(policy.scalable_dimension().clone())
        .policy_type(PolicyType::TargetTrackingScaling)
        .set_target_tracking_scaling_policy_configuration(
            policy
                .target_tracking_scaling_policy_configuration()
                .cloned(),
        )
        .send();
    let put = scope
        .write(
            "application-autoscaling:PutScalingPolicy",
            policy_arn,
            missing_words,
            put,
        )
        .await;
    let recreated: Vec<String> = match put {
        Gated::Audited => {
            return finding(
                Status::WouldRepair,
                format!("{missing_words}; would put the same policy again so Application Auto Scaling recreates them"),
            )
        }
        Gated::Done(out) => out
            .alarms()
            .iter()
            .map(|a| a.alarm_name().to_owned())
            .collect(),
        Gated::Failed(failed) => return failure(&failed, CHECK, missing_words),
    };
    // Trust what CloudWatch holds, not what the put answered.
    match existing_alarms(clients, &recreated).await {
        Ok(present) if !recreated.is_empty() && recreated.iter().all(|n| present.contains(n)) => {
            finding(
                Status::Repaired,
                format!(
                    "{missing_words}; put the same policy again and Application Auto Scaling recreated its alarms: {}",
                    recreated.join(", ")
                ),
            )
        }
        Ok(_) => finding(
            Status::Failed,
            format!(
                "{missing_words}; put the same policy again, but its alarms {} are still not all in CloudWatch",
                recreated.join(", ")
            ),
        ),
        Err(e) => finding(
            Status::Failed,
            format!(
                "{missing_words}; put the policy again but could not confirm: {}",
                e.explain("cloudwatch:DescribeAlarms", policy_arn)
            ),
        ),
    }
}

/// After a step policy was deleted, deletes the alarm ecs-warden created for it: found by
/// its deterministic name and confirmed by its tags; any other alarm is left alone.
pub async fn remove_warden_alarm(
    clients: &Clients,
    scope: &Scope,
    region: &str,
    target: &ServiceTarget,
    policy_name: &str,
) -> Finding {
    const CHECK: Check = Check::AlarmCleanup;
    let name = alarm_name(target, policy_name);
    let arn = alarm_arn(scope, region, &name);
    let finding = |status, detail: String| Finding::new(&arn, CHECK, status, detail);
    let existing = match alarm_named(clients, &name).await {
        Ok(Some(existing)) => existing,
        Ok(None) => {
            return finding(
                Status::Compliant,
                format!("ecs-warden holds no alarm for policy {policy_name}; nothing to remove"),
            )
        }
        Err(e) => return finding(Status::Failed, e.explain("cloudwatch:DescribeAlarms", &arn)),
    };
    match is_warden_alarm(clients, &existing, target, policy_name).await {
        Ok(true) => {}
        Ok(false) => {
            return finding(
                Status::Skipped,
                "the alarm has ecs-warden's name for this policy but not its tags; ecs-warden did not create it and leaves it alone".into(),
            )
        }
        Err(e) => return finding(Status::Failed, e.explain("cloudwatch:ListTagsForResource", &arn)),
    }
    let why = format!("its step policy {policy_name} was deleted");
    let delete = clients.cloudwatch.delete_alarms().alarm_names(&name).send();
    match scope
        .write("cloudwatch:DeleteAlarms", &arn, &why, delete)
        .await
    {
        Gated::Audited => finding(
            Status::WouldRepair,
            format!("ecs-warden's alarm is left without a policy ({why}); would delete it"),
        ),
        Gated::Done(_) => finding(
            Status::Repaired,
            format!("{why}; deleted the alarm ecs-warden had created for it"),
        ),
        Gated::Failed(failed) => failure(&failed, CHECK, &why),
    }
}

/// The alarms (metric or composite) with `policy_arn` among their actions. The prefix
/// also matches a policy whose name extends this one's; the index keys on exact actions.
async fn alarms_invoking(clients: &Clients, policy_arn: &str) -> Result<Vec<String>, CallError> {
    Ok(AlarmIndex::invoking_prefix(clients, policy_arn)
        .await?
        .invoking(policy_arn))
}

/// Which of `names` exist, in as few DescribeAlarms calls as the API allows.
async fn existing_alarms(
    clients: &Clients,
    names: &[String],
) -> Result<HashSet<String>, CallError> {
    let mut present = HashSet::new();
    for chunk in names.chunks(DESCRIBE_ALARMS_NAMES_MAX) {
        let mut pages = clients
            .cloudwatch
            .describe_alarms()
            .set_alarm_names(Some(chunk.to_vec()))
            .alarm_types(AlarmType::MetricAlarm)
            .alarm_types(AlarmType::CompositeAlarm)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| CallError::from_sdk(&e))?;
            let metric = page.metric_alarms().iter().filter_map(|a| a.alarm_name());
            let composite = page
                .composite_alarms()
                .iter()
                .filter_map(|a| a.alarm_name());
            present.extend(metric.chain(composite).map(String::from));
        }
    }
    Ok(present)
}

/// The ARN of the metric alarm called `name`, if there is one.
pub(crate) async fn alarm_named(
    clients: &Clients,
    name: &str,
) -> Result<Option<String>, CallError> {
    let out = clients
        .cloudwatch
        .describe_alarms()
        .alarm_names(name)
        .send()
        .await
        .map_err(|e| CallError::from_sdk(&e))?;
    Ok(out
        .metric_alarms()
        .iter()
        .find(|a| a.alarm_name() == Some(name))
        .map(|a| a.alarm_arn().unwrap_or_default().to_owned()))
}

/// Whether the alarm carries the tags ecs-warden gives the alarm of this very policy.
async fn is_warden_alarm(
    clients: &Clients,
    alarm_arn: &str,
    target: &ServiceTarget,
    policy_name: &str,
) -> Result<bool, CallError> {
    let out = clients
        .cloudwatch
        .list_tags_for_resource()
        .resource_arn(alarm_arn)
        .send()
        .await
        .map_err(|e| CallError::from_sdk(&e))?;
    let tag = |key: &str| {
        out.tags()
            .iter()
            .find(|t| t.key() == Some(key))
            .and_then(|t| t.value())
    };
    Ok(tag(CREATED_BY_TAG) == Some(CREATED_BY_VALUE)
        && tag(CLUSTER_TAG) == Some(target.cluster.as_str())
        && tag(SERVICE_TAG) == Some(target.service.as_str())
        && tag(POLICY_TAG) == Some(tag_value(policy_name).as_str()))
}

/// Why ecs-warden must not write for `target`: the service (its `tags`, already read) or
/// its cluster is tagged [`IGNORE_TAG`]. The cluster's tags cost one read, made only before
/// a write.
async fn opted_out(
    clients: &Clients,
    target: &ServiceTarget,
    tags: &[(String, String)],
) -> Result<Option<String>, CallError> {
    if let Some(why) = catalog::opted_out(tags.iter().map(|(k, v)| (k.as_str(), v.as_str()))) {
        return Ok(Some(format!(
            "service {}/{} is {why}",
            target.cluster, target.service
        )));
    }
    let out = clients
        .ecs
        .describe_clusters()
        .clusters(&target.cluster)
        .include(ClusterField::Tags)
        .send()
        .await
        .map_err(|e| CallError::from_sdk(&e))?;
    let cluster = out.clusters().first().map_or(&[][..], |c| c.tags());
    Ok(clusters::opted_out(cluster).map(|why| {
        format!(
            "cluster {}, which holds the service, is {why}",
            target.cluster
        )
    }))
}

/// The tags of an active ECS service; `None` when the service or its cluster is gone.
async fn service_tags(
    clients: &Clients,
    target: &ServiceTarget,
) -> Result<Option<Vec<(String, String)>>, CallError> {
    let out = clients
        .ecs
        .describe_services()
        .cluster(&target.cluster)
        .services(&target.service)
        .include(ServiceField::Tags)
        .send()
        .await;
    let out = match out {
        Ok(out) => out,
        Err(e) => {
            let err = CallError::from_sdk(&e);
            if err.code == "ClusterNotFoundException" {
                return Ok(None);
            }
            return Err(err);
        }
    };
    Ok(out
        .services()
        .iter()
        .find(|s| s.service_name() == Some(target.service.as_str()) && s.status() == Some("ACTIVE"))
        .map(|s| {
            s.tags()
                .iter()
                .filter_map(|t| {
                    Some((
                        t.key()?.to_owned(),
                        t.value().unwrap_or_default().to_owned(),
                    ))
                })
                .collect()
        }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_applicationautoscaling::types::StepAdjustment;

    fn step(lower: Option<f64>, upper: Option<f64>, adjustment: i32) -> StepAdjustment {
        StepAdjustment::builder()
            .set_metric_interval_lower_bound(lower)
            .set_metric_interval_upper_bound(upper)
            .scaling_adjustment(adjustment)
            .build()
            .unwrap()
    }

    fn config(kind: AdjustmentType, steps: Vec<StepAdjustment>) -> StepScalingPolicyConfiguration {
        StepScalingPolicyConfiguration::builder()
            .adjustment_type(kind)
            .set_step_adjustments(Some(steps))
            .build()
    }

    #[test]
    fn tells_scale_out_from_scale_in() {
        let out = config(
            AdjustmentType::ChangeInCapacity,
            vec![step(Some(0.0), Some(10.0), 1), step(Some(10.0), None, 3)],
        );
        assert_eq!(direction(Some(&out)), Ok(Direction::ScaleOut));
        let scale_in = config(
            AdjustmentType::PercentChangeInCapacity,
            vec![
                step(None, Some(-10.0), -20),
                step(Some(-10.0), Some(0.0), -10),
            ],
        );
        assert_eq!(direction(Some(&scale_in)), Ok(Direction::ScaleIn));
    }

    #[test]
    fn refuses_what_is_ambiguous_and_says_why() {
        let cases = [
            (
                config(
                    AdjustmentType::ChangeInCapacity,
                    vec![step(None, Some(0.0), -1), step(Some(0.0), None, 1)],
                ),
                "some steps",
            ),
            (
                config(
                    AdjustmentType::ExactCapacity,
                    vec![step(Some(0.0), None, 4)],
                ),
                "ExactCapacity",
            ),
            (config(AdjustmentType::ChangeInCapacity, vec![]), "no step"),
            (
                config(AdjustmentType::ChangeInCapacity, vec![step(None, None, 1)]),
                "neither",
            ),
            (
                config(
                    AdjustmentType::ChangeInCapacity,
                    vec![step(Some(-5.0), None, 2)],
                ),
                "neither",
            ),
            (
                config(
                    AdjustmentType::ChangeInCapacity,
                    vec![step(Some(0.0), None, 0)],
                ),
                "neither",
            ),
        ];
        for (config, words) in cases {
            let why = direction(Some(&config)).unwrap_err().to_string();
            assert!(why.contains(words), "{why}");
        }
        assert!(direction(None).is_err());
    }

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

    #[test]
    fn tags_override_defaults_and_bad_tags_are_named() {
        let defaults = AlarmSettings::default();
        let (s, applied) = defaults
            .with_overrides([
                ("ecs-warden:scale-out-threshold", "60"),
                ("ecs-warden:alarm-metric", "MemoryUtilization"),
                ("team", "payments"),
            ])
            .unwrap();
        assert_eq!(s.scale_out_threshold, 60.0);
        assert_eq!(s.metric, "MemoryUtilization");
        assert_eq!(s.scale_in_threshold, 25.0);
        assert_eq!(applied.len(), 2);
        let problems = defaults
            .with_overrides([
                ("ecs-warden:scale-out-threshold", "high"),
                ("ecs-warden:alarm-period", "45"),
                ("ecs-warden:alarm-treshold", "1"),
            ])
            .unwrap_err();
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(problems[0].contains("ecs-warden:scale-out-threshold=\"high\""));
        // A tag ecs-warden does not know is said, and never fails the alarm.
        let (s, noted) = defaults
            .with_overrides([
                ("ecs-warden:alarm-treshold", "1"),
                ("ecs-warden:scale-in-threshold", "10"),
                ("ecs-warden:created-by", "ecs-warden"),
            ])
            .unwrap();
        assert_eq!(s.scale_in_threshold, 10.0);
        assert_eq!(noted.len(), 2, "{noted:?}");
        assert!(noted[0]
            .contains("ecs-warden:alarm-treshold=\"1\" ignored: not a tag ecs-warden knows"));
        let window = defaults
            .with_overrides([
                ("ecs-warden:alarm-period", "3600"),
                ("ecs-warden:alarm-evaluation-periods", "48"),
            ])
            .unwrap_err();
        assert!(window[0].contains("one day"), "{window:?}");
    }

    #[test]
    fn environment_defaults_are_read_and_checked() {
        let env = |vars: &'static [(&'static str, &'static str)]| {
            AlarmSettings::from_lookup(move |n| {
                vars.iter()
                    .find(|(k, _)| *k == n)
                    .map(|(_, v)| v.to_string())
            })
        };
        assert_eq!(env(&[]).unwrap(), AlarmSettings::default());
        let s = env(&[
            ("WARDEN_SCALE_IN_THRESHOLD", "10"),
            ("WARDEN_ALARM_STATISTIC", "Maximum"),
        ])
        .unwrap();
        assert_eq!(
            (s.scale_in_threshold, s.statistic),
            (10.0, Statistic::Maximum)
        );
        let err = env(&[("WARDEN_ALARM_PERIOD_SECONDS", "0")]).unwrap_err();
        assert_eq!(err.name, "WARDEN_ALARM_PERIOD_SECONDS");
    }
}
