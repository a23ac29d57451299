//! The CloudWatch alarms that drive ECS Service Auto Scaling: a step-scaling policy does
//! nothing until an alarm invokes it, and a target-tracking policy stops working when the
//! alarms Application Auto Scaling made for it are deleted.
//!
//! ecs-warden's own alarms carry a deterministic name and tags, so they can be found again
//! and removed with their policy; every other alarm is only ever read.
//!
//! Split by job: `settings` (the metric and thresholds of a created alarm: the deployment's
//! defaults and a service's override tags), `naming` (the service a policy scales, and the
//! names, ARNs and tags of ecs-warden's alarms, fixed for good once alarms carry them),
//! and here the alarm index and the flows that ensure, recreate and remove alarms.

use std::collections::{HashMap, HashSet};

use aws_sdk_applicationautoscaling::types::{
    AdjustmentType, PolicyType, ScalingPolicy, StepScalingPolicyConfiguration,
};
use aws_sdk_cloudwatch::operation::describe_alarms::builders::DescribeAlarmsFluentBuilder;
use aws_sdk_cloudwatch::types::{AlarmType, ComparisonOperator, Dimension, Tag};
use aws_sdk_ecs::types::{ClusterField, ServiceField};

use crate::aws::{ids, CallError, Clients};
use crate::domain::catalog;
use crate::domain::checks::Check;
use crate::domain::clusters;
use crate::invocation::gate::{failure, Gated, Scope};
use crate::invocation::report::{Finding, Status};

mod naming;
mod settings;

pub use naming::*;
pub use settings::*;

/// The most names one DescribeAlarms call accepts.
const DESCRIBE_ALARMS_NAMES_MAX: usize = 100;

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
        .alarm_description(ids::cut(&description, 1024))
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
}
