//! What a deleted alarm was, from CloudWatch's alarm history, so that a customer's step
//! alarm comes back as theirs rather than as ecs-warden's defaults.
//!
//! CloudTrail's DeleteAlarms record names the alarms and nothing else. CloudWatch keeps an
//! alarm's history after the alarm is deleted (CloudWatch API Reference,
//! DescribeAlarmHistory), and each `ConfigurationUpdate` item's `HistoryData` is a JSON
//! document holding the whole alarm: `createdAlarm` (type `Create`), `updatedAlarm` (with
//! `originalUpdatedFields`, type `Update`) or `deletedAlarm` (type `Delete`), in the
//! camel-cased field names of the API. `HistoryData` is at most 4,095 characters, so a
//! large alarm's record can be cut short; the older CLI reference says history is kept two
//! weeks. Neither gives the alarm's tags.
//!
//! An alarm is put back only from such a record, only when it invoked the very policy that
//! lost its alarm, only when it is a single-metric alarm (a metric-math or anomaly-detection
//! alarm cannot be rebuilt faithfully from a possibly cut record), and never over an alarm
//! that exists under its name again. Everywhere else the caller falls back to
//! ecs-warden's own alarm from the defaults and the service's tags, and the finding says
//! why. Moto does not serve DescribeAlarmHistory: `shared/tests/library/mocked_alarms.rs` feeds
//! these records from aws-smithy-mocks.

use aws_sdk_applicationautoscaling::types::ScalingPolicy;
use aws_sdk_cloudwatch::types::{
    ComparisonOperator, Dimension, HistoryItemType, ScanBy, StandardUnit, Statistic,
};
use serde::Deserialize;

use crate::aws::{CallError, Clients};
use crate::domain::alarms::{self, AlarmIndex, AlarmSettings, Blocked, ServiceTarget};
use crate::domain::checks::Check;
use crate::invocation::gate::{Gated, Scope};
use crate::invocation::report::{Finding, Status};

/// The most deleted alarms whose history one event reads: DeleteAlarms takes up to 100
/// names, and each history is one call; beyond this the defaults are used, and said so.
pub const HISTORY_READS_MAX: usize = 10;
/// The newest configuration records read per alarm: the deletion itself is the newest,
/// the rest cover a deletion whose record is not written yet.
const RECORDS_PER_ALARM: i32 = 5;

/// One `ConfigurationUpdate` item's `HistoryData`.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct HistoryData {
    created_alarm: Option<AlarmRecord>,
    updated_alarm: Option<AlarmRecord>,
    deleted_alarm: Option<AlarmRecord>,
}

/// A metric alarm as its history records it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AlarmRecord {
    /// The alarm's name.
    pub alarm_name: String,
    /// Its description, kept as the customer wrote it.
    pub alarm_description: Option<String>,
    /// Whether its actions run.
    #[serde(default = "enabled")]
    pub actions_enabled: bool,
    /// What it does in OK (spelled `oKActions` in the records).
    #[serde(default, alias = "oKActions", alias = "OKActions")]
    pub ok_actions: Vec<String>,
    /// What it does in ALARM: here, the scaling policy it invoked.
    #[serde(default)]
    pub alarm_actions: Vec<String>,
    /// What it does in INSUFFICIENT_DATA.
    #[serde(default)]
    pub insufficient_data_actions: Vec<String>,
    /// The metric.
    pub metric_name: Option<String>,
    /// The metric's namespace.
    pub namespace: Option<String>,
    /// A standard statistic, or
    pub statistic: Option<String>,
    /// a percentile.
    pub extended_statistic: Option<String>,
    /// The metric's dimensions.
    #[serde(default)]
    pub dimensions: Vec<DimensionRecord>,
    /// Seconds per datapoint.
    pub period: Option<i32>,
    /// The metric's unit, when the alarm named one.
    pub unit: Option<String>,
    /// Datapoints evaluated.
    pub evaluation_periods: Option<i32>,
    /// Datapoints that must breach (M of N).
    pub datapoints_to_alarm: Option<i32>,
    /// The threshold.
    pub threshold: Option<f64>,
    /// How the metric is compared with the threshold.
    pub comparison_operator: Option<String>,
    /// How missing data is treated.
    pub treat_missing_data: Option<String>,
    /// Percentile alarms on few samples.
    pub evaluate_low_sample_count_percentile: Option<String>,
    /// A metric-math alarm's queries: not rebuilt.
    #[serde(default)]
    pub metrics: Vec<serde_json::Value>,
    /// An anomaly-detection alarm's band: not rebuilt.
    pub threshold_metric_id: Option<String>,
}

/// A dimension as a history record spells it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct DimensionRecord {
    /// The dimension's name.
    pub name: String,
    /// Its value.
    pub value: String,
}

fn enabled() -> bool {
    true
}

/// A deleted alarm CloudWatch's history lets ecs-warden put back exactly.
#[derive(Debug, Clone, PartialEq)]
pub struct Restorable {
    /// The alarm as it was.
    pub record: AlarmRecord,
    /// When the record was written (the deletion's time, for a `Delete` record).
    pub recorded_at: String,
}

impl Restorable {
    /// The configuration the newest readable record of `items` holds, or why there is
    /// none that can be put back.
    fn from_items(items: &[(String, String)]) -> Result<Self, String> {
        let (data, recorded_at) = items
            .first()
            .ok_or("CloudWatch holds no configuration history for it")?;
        let data: HistoryData = serde_json::from_str(data).map_err(|_| {
            "its history record cannot be read (a record is cut at 4,095 characters)".to_owned()
        })?;
        let record = data
            .deleted_alarm
            .or(data.updated_alarm)
            .or(data.created_alarm)
            .ok_or("its newest history record holds no alarm")?;
        if !record.metrics.is_empty() || record.threshold_metric_id.is_some() {
            return Err("it was a metric-math or anomaly-detection alarm, which ecs-warden does not rebuild".into());
        }
        let complete = record.metric_name.is_some()
            && record.namespace.is_some()
            && (record.statistic.is_some() || record.extended_statistic.is_some())
            && record.period.is_some()
            && record.evaluation_periods.is_some()
            && record.threshold.is_some()
            && record.comparison_operator.is_some();
        if !complete {
            return Err("its history record lacks part of the metric or the condition".into());
        }
        Ok(Self {
            record,
            recorded_at: recorded_at.clone(),
        })
    }

    /// Whether the alarm invoked `policy_arn`.
    fn invokes(&self, policy_arn: &str) -> bool {
        self.record.alarm_actions.iter().any(|a| a == policy_arn)
    }

    /// The metric and the condition, as a finding states them.
    fn shape(&self) -> String {
        let r = &self.record;
        let statistic = r
            .statistic
            .as_deref()
            .or(r.extended_statistic.as_deref())
            .unwrap_or_default();
        let dimensions: Vec<String> = r
            .dimensions
            .iter()
            .map(|d| format!("{}={}", d.name, d.value))
            .collect();
        format!(
            "{} {} {} over {}{} × {}s {} {}, dimensions {}",
            r.namespace.as_deref().unwrap_or_default(),
            r.metric_name.as_deref().unwrap_or_default(),
            statistic,
            r.datapoints_to_alarm
                .map(|m| format!("{m} of "))
                .unwrap_or_default(),
            r.evaluation_periods.unwrap_or_default(),
            r.period.unwrap_or_default(),
            r.comparison_operator.as_deref().unwrap_or_default(),
            r.threshold.unwrap_or_default(),
            if dimensions.is_empty() {
                "none".into()
            } else {
                dimensions.join(" ")
            }
        )
    }
}

/// What CloudWatch's history says of the alarms one DeleteAlarms call deleted.
#[derive(Debug, Default)]
pub struct DeletedAlarms {
    /// Per alarm read, in the call's order: what it was, or why that is not known.
    read: Vec<(String, Result<Restorable, String>)>,
    /// Alarms left unread past [`HISTORY_READS_MAX`].
    unread: Vec<String>,
}

impl DeletedAlarms {
    /// Reads the history of each of `names` (one DescribeAlarmHistory call each, up to
    /// [`HISTORY_READS_MAX`]).
    pub async fn read(clients: &Clients, names: &[&str]) -> Self {
        let mut deleted = Self::default();
        for (i, name) in names.iter().enumerate() {
            if i >= HISTORY_READS_MAX {
                deleted.unread.push((*name).to_owned());
                continue;
            }
            let known = match history(clients, name).await {
                Ok(items) => Restorable::from_items(&items),
                Err(e) => Err(format!(
                    "its history could not be read: {}",
                    e.explain("cloudwatch:DescribeAlarmHistory", name)
                )),
            };
            deleted.read.push(((*name).to_owned(), known));
        }
        deleted
    }

    /// The deleted alarm that invoked `policy_arn`, when its history says so.
    pub fn invoking(&self, policy_arn: &str) -> Option<&Restorable> {
        self.read
            .iter()
            .filter_map(|(_, known)| known.as_ref().ok())
            .find(|r| r.invokes(policy_arn))
    }

    /// Why no deleted alarm can be put back for `policy_arn`, or `None` when no customer
    /// alarm was deleted (then the defaults are simply right).
    pub fn why_none(&self, policy_arn: &str) -> Option<String> {
        if self.read.is_empty() && self.unread.is_empty() {
            return None;
        }
        let mut reasons: Vec<String> = self
            .read
            .iter()
            .map(|(name, known)| match known {
                Ok(r) if !r.invokes(policy_arn) => {
                    format!("{name} invoked {}", r.record.alarm_actions.join(", "))
                }
                Ok(_) => format!("{name} was found"),
                Err(why) => format!("{name}: {why}"),
            })
            .collect();
        if !self.unread.is_empty() {
            reasons.push(format!(
                "{} not read (at most {HISTORY_READS_MAX} histories per event)",
                self.unread.join(", ")
            ));
        }
        Some(format!(
            "CloudWatch's history shows no deleted alarm that invoked this policy ({})",
            reasons.join("; ")
        ))
    }
}

/// The newest configuration records of alarm `name`: (`HistoryData`, timestamp).
async fn history(clients: &Clients, name: &str) -> Result<Vec<(String, String)>, CallError> {
    let out = clients
        .cloudwatch
        .describe_alarm_history()
        .alarm_name(name)
        .history_item_type(HistoryItemType::ConfigurationUpdate)
        .scan_by(ScanBy::TimestampDescending)
        .max_records(RECORDS_PER_ALARM)
        .send()
        .await
        .map_err(|e| CallError::from_sdk(&e))?;
    let mut items: Vec<(String, String, i64)> = out
        .alarm_history_items()
        .iter()
        .filter(|i| i.alarm_name() == Some(name))
        .filter_map(|i| {
            let at = i.timestamp()?;
            Some((
                i.history_data()?.to_owned(),
                at.fmt(aws_smithy_types::date_time::Format::DateTime).ok()?,
                at.to_millis().ok()?,
            ))
        })
        .collect();
    // Newest first, whatever order the answer came in.
    items.sort_by_key(|(_, _, ms)| std::cmp::Reverse(*ms));
    Ok(items.into_iter().map(|(d, at, _)| (d, at)).collect())
}

/// Gives a step policy no alarm invokes an alarm after a DeleteAlarms: the customer's
/// deleted alarm as CloudWatch's history recorded it when `deleted` holds one that
/// invoked this policy, otherwise ecs-warden's own from the defaults and the service's
/// tags, the finding saying why the deleted one was not put back.
#[allow(clippy::too_many_arguments)]
pub async fn restore_or_create(
    clients: &Clients,
    scope: &Scope,
    region: &str,
    defaults: &AlarmSettings,
    target: &ServiceTarget,
    policy: &ScalingPolicy,
    index: &AlarmIndex,
    deleted: &DeletedAlarms,
) -> Finding {
    let why_not = match deleted.invoking(policy.policy_arn()) {
        Some(was) => match restore(clients, scope, region, target, policy, was).await {
            Ok(finding) => return finding,
            Err(why) => Some(why),
        },
        None => deleted.why_none(policy.policy_arn()),
    };
    let finding = alarms::ensure_step_alarm(
        clients,
        scope,
        region,
        defaults,
        target,
        policy,
        Some(index),
    )
    .await;
    match why_not {
        Some(why) => with_fallback_reason(finding, &why),
        None => finding,
    }
}

/// `finding`, saying why the alarm it made is ecs-warden's rather than the deleted one.
fn with_fallback_reason(mut finding: Finding, why: &str) -> Finding {
    if matches!(
        finding.status,
        Status::Created | Status::WouldCreate | Status::Repaired | Status::WouldRepair
    ) {
        finding.detail = format!(
            "{}. Made from ecs-warden's defaults and the service's tags, not from the deleted alarm: {why}",
            finding.detail
        );
    }
    finding
}

/// Puts `was` back under its own name; `Err` says why it cannot be (the caller falls
/// back), `Ok` is the finding (restored, would restore, skipped, failed).
async fn restore(
    clients: &Clients,
    scope: &Scope,
    region: &str,
    target: &ServiceTarget,
    policy: &ScalingPolicy,
    was: &Restorable,
) -> Result<Finding, String> {
    const CHECK: Check = Check::StepAlarm;
    let policy_arn = policy.policy_arn();
    let finding = |status, detail: String| Finding::new(policy_arn, CHECK, status, detail);
    let name = was.record.alarm_name.as_str();
    let lead = format!("no alarm invokes this step policy since its alarm {name} was deleted");
    // The name first: when it is taken the caller falls back to ensure_step_alarm,
    // which reads the service itself.
    match alarms::alarm_named(clients, name).await {
        Ok(None) => {}
        Ok(Some(_)) => {
            return Err(format!(
                "an alarm named {name} exists again and does not invoke this policy; it was not overwritten"
            ))
        }
        Err(e) => {
            return Ok(finding(
                Status::Failed,
                e.explain("cloudwatch:DescribeAlarms", name),
            ))
        }
    }
    match alarms::writable_service(clients, target).await {
        Ok(_) => {}
        Err(Blocked::Gone) => {
            return Ok(finding(
                Status::Skipped,
                format!(
                    "{lead}, but service {} is not active any more; it was not put back",
                    target.resource_id()
                ),
            ))
        }
        Err(Blocked::OptedOut(why)) => {
            return Ok(finding(
                Status::Skipped,
                format!("{lead}; it was not put back: {why}"),
            ))
        }
        Err(Blocked::Failed(detail)) => return Ok(finding(Status::Failed, detail)),
    }
    let arn = alarms::alarm_arn(scope, region, name);
    let put = put_request(clients, &was.record).send();
    let gated = scope
        .write(
            "cloudwatch:PutMetricAlarm",
            &arn,
            "a customer's step alarm deleted from under its policy",
            put,
        )
        .await;
    let (shape, at) = (was.shape(), &was.recorded_at);
    let source = format!("as CloudWatch's alarm history recorded it at {at}");
    Ok(match gated {
        Gated::Audited => finding(
            Status::WouldCreate,
            format!("{lead}; would put {name} back {source}: {shape}"),
        ),
        Gated::Done(_) => finding(
            Status::Created,
            format!("{lead}; put {name} back {source}: {shape}"),
        ),
        Gated::Failed(failed) => finding(Status::Failed, format!("{lead}; {failed}")),
    })
}

/// PutMetricAlarm with every setting the record holds; no tags, since the alarm is the
/// customer's (and the history does not hold theirs).
fn put_request(
    clients: &Clients,
    r: &AlarmRecord,
) -> aws_sdk_cloudwatch::operation::put_metric_alarm::builders::PutMetricAlarmFluentBuilder {
    let dimensions = r
        .dimensions
        .iter()
        .map(|d| Dimension::builder().name(&d.name).value(&d.value).build())
        .collect();
    clients
        .cloudwatch
        .put_metric_alarm()
        .alarm_name(&r.alarm_name)
        .set_alarm_description(r.alarm_description.clone())
        .actions_enabled(r.actions_enabled)
        .set_ok_actions(Some(r.ok_actions.clone()))
        .set_alarm_actions(Some(r.alarm_actions.clone()))
        .set_insufficient_data_actions(Some(r.insufficient_data_actions.clone()))
        .set_metric_name(r.metric_name.clone())
        .set_namespace(r.namespace.clone())
        .set_statistic(r.statistic.as_deref().map(Statistic::from))
        .set_extended_statistic(r.extended_statistic.clone())
        .set_dimensions(Some(dimensions))
        .set_period(r.period)
        .set_unit(r.unit.as_deref().map(StandardUnit::from))
        .set_evaluation_periods(r.evaluation_periods)
        .set_datapoints_to_alarm(r.datapoints_to_alarm)
        .set_threshold(r.threshold)
        .set_comparison_operator(
            r.comparison_operator
                .as_deref()
                .map(ComparisonOperator::from),
        )
        .set_treat_missing_data(r.treat_missing_data.clone())
        .set_evaluate_low_sample_count_percentile(r.evaluate_low_sample_count_percentile.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    const POLICY: &str = "arn:aws:autoscaling:eu-west-1:111122223333:scalingPolicy:1f2e:resource/ecs/service/payments/web:policyName/cpu-out";

    fn record(kind: &str, key: &str, extra: &str) -> String {
        format!(
            r#"{{"version":"1.0","type":"{kind}","{key}":{{"alarmName":"team-cpu-high","alarmDescription":"ours","actionsEnabled":true,"oKActions":[],"alarmActions":["{POLICY}"],"insufficientDataActions":[],"metricName":"CPUUtilization","namespace":"AWS/ECS","statistic":"Maximum","dimensions":[{{"name":"ClusterName","value":"payments"}},{{"name":"ServiceName","value":"web"}}],"period":120,"evaluationPeriods":3,"datapointsToAlarm":2,"threshold":90.0,"comparisonOperator":"GreaterThanOrEqualToThreshold","treatMissingData":"notBreaching"{extra}}}}}"#
        )
    }

    fn items(data: &str) -> Vec<(String, String)> {
        vec![(data.to_owned(), "2026-12-01T10:00:00Z".to_owned())]
    }

    #[test]
    fn a_delete_record_gives_back_the_whole_alarm() {
        let was = Restorable::from_items(&items(&record("Delete", "deletedAlarm", ""))).unwrap();
        assert!(was.invokes(POLICY));
        assert_eq!(was.record.threshold, Some(90.0));
        assert_eq!(was.record.datapoints_to_alarm, Some(2));
        assert_eq!(
            was.record.treat_missing_data.as_deref(),
            Some("notBreaching")
        );
        assert_eq!(
            was.shape(),
            "AWS/ECS CPUUtilization Maximum over 2 of 3 × 120s GreaterThanOrEqualToThreshold 90, dimensions ClusterName=payments ServiceName=web"
        );
    }

    #[test]
    fn an_update_or_create_record_serves_when_the_deletion_is_not_recorded_yet() {
        for (kind, key) in [("Update", "updatedAlarm"), ("Create", "createdAlarm")] {
            let was = Restorable::from_items(&items(&record(kind, key, ""))).unwrap();
            assert_eq!(was.record.alarm_name, "team-cpu-high");
        }
    }

    #[test]
    fn what_cannot_be_rebuilt_faithfully_says_why() {
        let cut = record("Delete", "deletedAlarm", "");
        let cut = &cut[..cut.len() - 40];
        let math = record("Delete", "deletedAlarm", r#","metrics":[{"id":"m1"}]"#);
        for (data, why) in [
            (cut, "cut at 4,095"),
            (math.as_str(), "metric-math"),
            (r#"{"version":"1.0","type":"Delete"}"#, "holds no alarm"),
        ] {
            let err = Restorable::from_items(&items(data)).unwrap_err();
            assert!(err.contains(why), "{err}");
        }
        let none = Restorable::from_items(&[]).unwrap_err();
        assert!(none.contains("no configuration history"), "{none}");
    }

    #[test]
    fn reasons_name_every_alarm_read_and_those_left_unread() {
        let other = record("Delete", "deletedAlarm", "").replace(POLICY, "arn:aws:sns:x");
        let deleted = DeletedAlarms {
            read: vec![
                (
                    "team-cpu-high".into(),
                    Restorable::from_items(&items(&other)),
                ),
                ("gone".into(), Err("its history could not be read".into())),
            ],
            unread: vec!["eleventh".into()],
        };
        assert!(deleted.invoking(POLICY).is_none());
        let why = deleted.why_none(POLICY).unwrap();
        for part in [
            "team-cpu-high invoked arn:aws:sns:x",
            "gone: its history could not be read",
            "eleventh not read",
        ] {
            assert!(why.contains(part), "{why}");
        }
        assert_eq!(DeletedAlarms::default().why_none(POLICY), None);
    }
}
