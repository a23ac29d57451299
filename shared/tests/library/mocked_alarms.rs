//! Alarm checks against answers moto cannot give: a paginated DescribeAlarms whose prefix
//! match includes another policy's alarm, CloudWatch refusing a write, and a target-tracking
//! policy put again whose alarms do not come back.

use aws_sdk_applicationautoscaling::operation::put_scaling_policy::PutScalingPolicyOutput;
use aws_sdk_applicationautoscaling::primitives::DateTime;
use aws_sdk_applicationautoscaling::types::{
    AdjustmentType, Alarm, MetricType, PolicyType, PredefinedMetricSpecification,
    ScalableDimension, ScalingPolicy, ServiceNamespace, StepAdjustment,
    StepScalingPolicyConfiguration, TargetTrackingScalingPolicyConfiguration,
};
use aws_sdk_cloudwatch::operation::describe_alarms::DescribeAlarmsOutput;
use aws_sdk_cloudwatch::types::MetricAlarm;
use aws_sdk_ecs::operation::describe_clusters::DescribeClustersOutput;
use aws_sdk_ecs::operation::describe_services::DescribeServicesOutput;
use aws_sdk_ecs::types::{Cluster, Service, Tag};
use ecs_warden::aws::mocks::{mock, MockRules, Rule};
use ecs_warden::aws::Clients;
use ecs_warden::domain::alarms::{
    ensure_step_alarm, ensure_target_tracking_alarms, AlarmSettings, ServiceTarget,
};
use ecs_warden::invocation::gate::Scope;
use ecs_warden::invocation::report::{Finding, Status};
use ecs_warden::invocation::settings::Mode;

const POLICY_ARN: &str = "arn:aws:autoscaling:eu-west-1:111122223333:scalingPolicy:1f2e3d4c-0000-4000-8000-000000000001:resource/ecs/service/payments/web:policyName/cpu-scale-out";

fn scope() -> Scope {
    Scope {
        mode: Mode::Enforce,
        account: "111122223333".into(),
        partition: "aws",
        event_id: "test-event".into(),
        cause: "aws.autoscaling:PutScalingPolicy".into(),
    }
}

fn target() -> ServiceTarget {
    ServiceTarget::from_resource_id("service/payments/web").unwrap()
}

fn clients(autoscaling: &[&Rule], cloudwatch: &[&Rule], ecs: &[&Rule]) -> Clients {
    MockRules {
        autoscaling,
        cloudwatch,
        ecs,
        ..MockRules::default()
    }
    .clients()
}

/// DescribeServices answering service `web`, ACTIVE, with `tags`.
fn service_with(tags: &'static [(&'static str, &'static str)]) -> Rule {
    mock!(aws_sdk_ecs::Client::describe_services).then_output(move || {
        DescribeServicesOutput::builder()
            .services(
                Service::builder()
                    .service_name("web")
                    .status("ACTIVE")
                    .set_tags(Some(ecs_tags(tags)))
                    .build(),
            )
            .build()
    })
}

/// DescribeClusters answering cluster `payments` with `tags`.
fn cluster_with(tags: &'static [(&'static str, &'static str)]) -> Rule {
    mock!(aws_sdk_ecs::Client::describe_clusters).then_output(move || {
        DescribeClustersOutput::builder()
            .clusters(
                Cluster::builder()
                    .cluster_name("payments")
                    .status("ACTIVE")
                    .set_tags(Some(ecs_tags(tags)))
                    .build(),
            )
            .build()
    })
}

fn ecs_tags(tags: &[(&str, &str)]) -> Vec<Tag> {
    tags.iter()
        .map(|(k, v)| Tag::builder().key(*k).value(*v).build())
        .collect()
}

fn step_policy() -> ScalingPolicy {
    let config = StepScalingPolicyConfiguration::builder()
        .adjustment_type(AdjustmentType::ChangeInCapacity)
        .step_adjustments(
            StepAdjustment::builder()
                .metric_interval_lower_bound(0.0)
                .scaling_adjustment(1)
                .build()
                .unwrap(),
        )
        .build();
    policy(PolicyType::StepScaling)
        .step_scaling_policy_configuration(config)
        .build()
        .unwrap()
}

fn policy(
    kind: PolicyType,
) -> aws_sdk_applicationautoscaling::types::builders::ScalingPolicyBuilder {
    ScalingPolicy::builder()
        .policy_arn(POLICY_ARN)
        .policy_name("cpu-scale-out")
        .service_namespace(ServiceNamespace::Ecs)
        .resource_id("service/payments/web")
        .scalable_dimension(ScalableDimension::EcsServiceDesiredCount)
        .policy_type(kind)
        .creation_time(DateTime::from_secs(0))
}

fn alarm(name: &str, action: &str) -> MetricAlarm {
    MetricAlarm::builder()
        .alarm_name(name)
        .alarm_arn(format!(
            "arn:aws:cloudwatch:eu-west-1:111122223333:alarm:{name}"
        ))
        .alarm_actions(action)
        .build()
}

fn cloudwatch_error(code: &str, message: &str) -> Option<String> {
    Some(format!(
        "<ErrorResponse xmlns=\"http://monitoring.amazonaws.com/doc/2010-08-01/\"><Error><Type>Sender</Type>\
         <Code>{code}</Code><Message>{message}</Message></Error><RequestId>r-1</RequestId></ErrorResponse>"
    ))
}

#[tokio::test]
async fn only_an_exact_action_counts_and_every_page_is_read() {
    use aws_sdk_cloudwatch::Client;
    // The prefix also matches cpu-scale-out-2's alarm, on the first page.
    let first = mock!(Client::describe_alarms)
        .match_requests(|r| r.next_token().is_none())
        .then_output(|| {
            DescribeAlarmsOutput::builder()
                .metric_alarms(alarm("other", &format!("{POLICY_ARN}-2")))
                .next_token("page-2")
                .build()
        });
    let second = mock!(Client::describe_alarms)
        .match_requests(|r| r.next_token() == Some("page-2"))
        .then_output(|| {
            DescribeAlarmsOutput::builder()
                .metric_alarms(alarm("team-cpu-high", POLICY_ARN))
                .build()
        });
    let clients = clients(&[], &[&first, &second], &[]);
    let finding = ensure_step_alarm(
        &clients,
        &scope(),
        "eu-west-1",
        &AlarmSettings::default(),
        &target(),
        &step_policy(),
        None,
    )
    .await;
    assert_eq!(finding.status, Status::Compliant, "{}", finding.detail);
    assert!(
        finding.detail.contains("team-cpu-high"),
        "{}",
        finding.detail
    );
    assert!(!finding.detail.contains("other"), "{}", finding.detail);
    assert_eq!(second.num_calls(), 1);
}

#[tokio::test]
async fn a_refused_alarm_write_is_a_failed_finding_naming_the_permission() {
    use aws_sdk_cloudwatch::Client;
    let denied = mock!(Client::put_metric_alarm)
        .sequence()
        .http_status(
            403,
            cloudwatch_error(
                "AccessDenied",
                "User is not authorized to perform: cloudwatch:PutMetricAlarm",
            ),
        )
        .build();
    let finding = step_alarm_with(service_with(&[]), cluster_with(&[]), &denied).await;
    assert_eq!(finding.status, Status::Failed);
    assert!(
        finding.detail.contains("lacks cloudwatch:PutMetricAlarm"),
        "{}",
        finding.detail
    );
    assert_eq!(denied.num_calls(), 1, "access denied is not retried");
}

/// The two alarms Application Auto Scaling lists for the target-tracking policy.
fn tt_alarms() -> Vec<Alarm> {
    ["tt-high", "tt-low"]
        .map(|name| {
            Alarm::builder()
                .alarm_name(name)
                .alarm_arn(format!("arn:{name}"))
                .build()
                .unwrap()
        })
        .to_vec()
}

#[tokio::test]
async fn a_re_put_whose_alarms_do_not_come_back_is_failed_not_repaired() {
    use aws_sdk_cloudwatch::Client;
    let tracked = policy(PolicyType::TargetTrackingScaling)
        .target_tracking_scaling_policy_configuration(
            TargetTrackingScalingPolicyConfiguration::builder()
                .target_value(60.0)
                .predefined_metric_specification(
                    PredefinedMetricSpecification::builder()
                        .predefined_metric_type(MetricType::EcsServiceAverageCpuUtilization)
                        .build()
                        .unwrap(),
                )
                .build()
                .unwrap(),
        )
        .set_alarms(Some(tt_alarms()))
        .build()
        .unwrap();
    let only_low = mock!(Client::describe_alarms).then_output(|| {
        DescribeAlarmsOutput::builder()
            .metric_alarms(alarm("tt-low", "x"))
            .build()
    });
    let put = mock!(aws_sdk_applicationautoscaling::Client::put_scaling_policy)
        .match_requests(|r| {
            r.policy_type() == Some(&PolicyType::TargetTrackingScaling)
                && r.target_tracking_scaling_policy_configuration()
                    .is_some_and(|c| c.target_value() == 60.0)
        })
        .then_output(|| {
            PutScalingPolicyOutput::builder()
                .policy_arn(POLICY_ARN)
                .set_alarms(Some(tt_alarms()))
                .build()
                .unwrap()
        });
    let (service, cluster) = (service_with(&[]), cluster_with(&[]));
    let clients = clients(&[&put], &[&only_low], &[&service, &cluster]);
    let finding = ensure_target_tracking_alarms(&clients, &scope(), &tracked, None).await;
    assert_eq!(finding.status, Status::Failed, "{}", finding.detail);
    assert!(finding.detail.contains("tt-high"), "{}", finding.detail);
    assert_eq!(put.num_calls(), 1, "the same configuration was put once");
}

/// The target-tracking policy `tracked` whose alarm tt-high was deleted.
fn tracked_missing_an_alarm() -> (ScalingPolicy, Rule) {
    let tracked = policy(PolicyType::TargetTrackingScaling)
        .target_tracking_scaling_policy_configuration(
            TargetTrackingScalingPolicyConfiguration::builder()
                .target_value(60.0)
                .build()
                .unwrap(),
        )
        .set_alarms(Some(tt_alarms()))
        .build()
        .unwrap();
    let only_low = mock!(aws_sdk_cloudwatch::Client::describe_alarms).then_output(|| {
        DescribeAlarmsOutput::builder()
            .metric_alarms(alarm("tt-low", "x"))
            .build()
    });
    (tracked, only_low)
}

/// Runs ensure_step_alarm on the step policy with no alarm yet, ECS answering `service`
/// and `cluster` and CloudWatch's PutMetricAlarm answering as `put` does.
async fn step_alarm_with(service: Rule, cluster: Rule, put: &Rule) -> Finding {
    let none = mock!(aws_sdk_cloudwatch::Client::describe_alarms)
        .then_output(|| DescribeAlarmsOutput::builder().build());
    let clients = clients(&[], &[&none, put], &[&service, &cluster]);
    ensure_step_alarm(
        &clients,
        &scope(),
        "eu-west-1",
        &AlarmSettings::default(),
        &target(),
        &step_policy(),
        None,
    )
    .await
}

/// A PutMetricAlarm that succeeds.
fn put_alarm_ok() -> Rule {
    mock!(aws_sdk_cloudwatch::Client::put_metric_alarm).then_output(|| {
        aws_sdk_cloudwatch::operation::put_metric_alarm::PutMetricAlarmOutput::builder().build()
    })
}

#[tokio::test]
async fn a_service_or_cluster_tagged_ignore_gets_no_alarm_and_no_policy_put_in_enforce() {
    let ignore: &[(&str, &str)] = &[("ecs-warden:ignore", "true")];
    for (service_tags, cluster_tags, named) in [
        (ignore, &[][..], "service payments/web is tagged"),
        (&[][..], ignore, "cluster payments"),
    ] {
        // Step policy: no alarm is put.
        let put_alarm = put_alarm_ok();
        let finding = step_alarm_with(
            service_with(service_tags),
            cluster_with(cluster_tags),
            &put_alarm,
        )
        .await;
        assert_eq!(finding.status, Status::Skipped, "{}", finding.detail);
        assert!(finding.detail.contains(named), "{}", finding.detail);
        assert!(
            finding.detail.contains("ecs-warden:ignore=true"),
            "{}",
            finding.detail
        );
        assert_eq!(put_alarm.num_calls(), 0);

        // Target-tracking policy missing an alarm: not put again.
        let (tracked, only_low) = tracked_missing_an_alarm();
        let put =
            mock!(aws_sdk_applicationautoscaling::Client::put_scaling_policy).then_output(|| {
                PutScalingPolicyOutput::builder()
                    .policy_arn(POLICY_ARN)
                    .build()
                    .unwrap()
            });
        let (service, cluster) = (service_with(service_tags), cluster_with(cluster_tags));
        let tt_clients = clients(&[&put], &[&only_low], &[&service, &cluster]);
        let finding = ensure_target_tracking_alarms(&tt_clients, &scope(), &tracked, None).await;
        assert_eq!(finding.status, Status::Skipped, "{}", finding.detail);
        assert!(finding.detail.contains("tt-high"), "{}", finding.detail);
        assert!(
            finding.detail.contains("ecs-warden:ignore=true"),
            "{}",
            finding.detail
        );
        assert_eq!(put.num_calls(), 0);
    }
}

#[tokio::test]
async fn an_unknown_ecs_warden_tag_is_said_and_the_alarm_still_made() {
    let service = service_with(&[
        ("ecs-warden:alarm-treshold", "90"),
        ("ecs-warden:scale-out-threshold", "60"),
    ]);
    let put_alarm = put_alarm_ok();
    let finding = step_alarm_with(service, cluster_with(&[]), &put_alarm).await;
    assert_eq!(finding.status, Status::Created, "{}", finding.detail);
    assert!(
        finding
            .detail
            .contains("ecs-warden:alarm-treshold=\"90\" ignored: not a tag ecs-warden knows"),
        "{}",
        finding.detail
    );
    assert!(
        finding.detail.contains("ecs-warden:scale-out-threshold=60"),
        "{}",
        finding.detail
    );
    assert_eq!(put_alarm.num_calls(), 1);
}

/// A `ConfigurationUpdate` history item of alarm team-cpu-high, recorded `secs` after the
/// epoch, of `kind` (Create, Update, Delete) with the alarm under `key` and `threshold`.
///
/// AWS documents `HistoryData` only as "data about the alarm, in JSON format"; the shape is
/// what real records carry: the alarm under `createdAlarm` / `updatedAlarm` (beside
/// `originalUpdatedFields`) / `deletedAlarm`, in the camel-cased field names of the API's
/// MetricAlarm, dimensions as `name`/`value`, the OK actions spelled `oKActions`.
fn history_item(
    secs: i64,
    kind: &str,
    key: &str,
    threshold: f64,
) -> aws_sdk_cloudwatch::types::AlarmHistoryItem {
    let data = serde_json::json!({
        "version": "1.0",
        "type": kind,
        key: {
            "alarmName": "team-cpu-high",
            "alarmArn": "arn:aws:cloudwatch:eu-west-1:111122223333:alarm:team-cpu-high",
            "alarmDescription": "Scale web out on CPU (platform team)",
            "alarmConfigurationUpdatedTimestamp": "2026-11-30T09:12:44.120+0000",
            "actionsEnabled": true,
            "oKActions": [],
            "alarmActions": [POLICY_ARN, "arn:aws:sns:eu-west-1:111122223333:oncall"],
            "insufficientDataActions": [],
            "stateValue": "OK",
            "stateReason": "Threshold Crossed: 2 out of the last 3 datapoints were not greater than or equal to the threshold.",
            "stateUpdatedTimestamp": "2026-11-30T09:20:00.000+0000",
            "metricName": "CPUUtilization",
            "namespace": "AWS/ECS",
            "statistic": "Maximum",
            "dimensions": [
                {"name": "ClusterName", "value": "payments"},
                {"name": "ServiceName", "value": "web"}
            ],
            "period": 120,
            "evaluationPeriods": 3,
            "datapointsToAlarm": 2,
            "threshold": threshold,
            "comparisonOperator": "GreaterThanOrEqualToThreshold",
            "treatMissingData": "notBreaching"
        }
    });
    aws_sdk_cloudwatch::types::AlarmHistoryItem::builder()
        .alarm_name("team-cpu-high")
        .alarm_type(aws_sdk_cloudwatch::types::AlarmType::MetricAlarm)
        .timestamp(aws_sdk_cloudwatch::primitives::DateTime::from_secs(secs))
        .history_item_type(aws_sdk_cloudwatch::types::HistoryItemType::ConfigurationUpdate)
        .history_summary(format!("Alarm \"team-cpu-high\" {kind}d"))
        .history_data(data.to_string())
        .build()
}

/// DescribeAlarmHistory of team-cpu-high: created at threshold 80, raised to 90, deleted
/// (listed oldest first, to show the newest is taken whatever the order).
fn team_alarm_history() -> Rule {
    mock!(aws_sdk_cloudwatch::Client::describe_alarm_history)
        .match_requests(|r| {
            r.alarm_name() == Some("team-cpu-high")
                && r.history_item_type()
                    == Some(&aws_sdk_cloudwatch::types::HistoryItemType::ConfigurationUpdate)
        })
        .then_output(|| {
            aws_sdk_cloudwatch::operation::describe_alarm_history::DescribeAlarmHistoryOutput::builder()
                .alarm_history_items(history_item(1_764_000_000, "Create", "createdAlarm", 80.0))
                .alarm_history_items(history_item(1_764_100_000, "Update", "updatedAlarm", 90.0))
                .alarm_history_items(history_item(1_764_200_000, "Delete", "deletedAlarm", 90.0))
                .build()
        })
}

/// DescribeAlarms answering `existing` (names) for a by-name read, nothing by prefix.
fn alarms_existing(existing: &'static [&'static str]) -> Rule {
    mock!(aws_sdk_cloudwatch::Client::describe_alarms).then_output(move || {
        let mut out = DescribeAlarmsOutput::builder();
        for name in existing {
            out = out.metric_alarms(alarm(name, "arn:aws:sns:eu-west-1:111122223333:other"));
        }
        out.build()
    })
}

/// Runs a DeleteAlarms of team-cpu-high through the history read and the restore, in
/// `mode`, CloudWatch answering from `cloudwatch` and ECS from `service` and `cluster`.
async fn after_team_alarm_deleted(
    mode: Mode,
    cloudwatch: &[&Rule],
    service: Rule,
    cluster: Rule,
) -> Finding {
    use ecs_warden::domain::alarm_history::{restore_or_create, DeletedAlarms};
    use ecs_warden::domain::alarms::AlarmIndex;
    let clients = clients(&[], cloudwatch, &[&service, &cluster]);
    let index = AlarmIndex::invoking_prefix(&clients, "arn:aws:autoscaling:eu-west-1:")
        .await
        .unwrap();
    let deleted = DeletedAlarms::read(&clients, &["team-cpu-high"]).await;
    let scope = Scope { mode, ..scope() };
    restore_or_create(
        &clients,
        &scope,
        "eu-west-1",
        &AlarmSettings::default(),
        &target(),
        &step_policy(),
        &index,
        &deleted,
    )
    .await
}

/// PutMetricAlarm that succeeds only for team-cpu-high exactly as its history recorded it
/// when deleted: threshold 90 (not the 80 it was created with), 2 of 3 × 120 s, Maximum,
/// both actions, the description kept, and no tag.
fn put_team_alarm_back() -> Rule {
    use aws_sdk_cloudwatch::types::{ComparisonOperator, Statistic};
    mock!(aws_sdk_cloudwatch::Client::put_metric_alarm)
        .match_requests(|r| {
            r.alarm_name() == Some("team-cpu-high")
                && r.threshold() == Some(90.0)
                && r.statistic() == Some(&Statistic::Maximum)
                && r.period() == Some(120)
                && r.evaluation_periods() == Some(3)
                && r.datapoints_to_alarm() == Some(2)
                && r.comparison_operator()
                    == Some(&ComparisonOperator::GreaterThanOrEqualToThreshold)
                && r.treat_missing_data() == Some("notBreaching")
                && r.alarm_actions()
                    == [
                        POLICY_ARN.to_owned(),
                        "arn:aws:sns:eu-west-1:111122223333:oncall".to_owned(),
                    ]
                && r.alarm_description() == Some("Scale web out on CPU (platform team)")
                && r.dimensions().len() == 2
                && r.tags().is_empty()
        })
        .then_output(|| {
            aws_sdk_cloudwatch::operation::put_metric_alarm::PutMetricAlarmOutput::builder().build()
        })
}

/// team-cpu-high deleted, its history readable and its name free, in `mode`: the finding,
/// and the PutMetricAlarm rule that answers only the alarm exactly as it was.
async fn team_alarm_put_back(mode: Mode) -> (Finding, Rule) {
    let (history, none, put) = (
        team_alarm_history(),
        alarms_existing(&[]),
        put_team_alarm_back(),
    );
    let finding = after_team_alarm_deleted(
        mode,
        &[&history, &none, &put],
        service_with(&[]),
        cluster_with(&[]),
    )
    .await;
    assert_eq!(history.num_calls(), 1);
    (finding, put)
}

#[tokio::test]
async fn a_customers_deleted_step_alarm_comes_back_as_its_history_recorded_it() {
    let (finding, put) = team_alarm_put_back(Mode::Enforce).await;
    assert_eq!(finding.status, Status::Created, "{}", finding.detail);
    for part in [
        "put team-cpu-high back as CloudWatch's alarm history recorded it at 2025-11-26T23:33:20Z",
        "AWS/ECS CPUUtilization Maximum over 2 of 3 × 120s GreaterThanOrEqualToThreshold 90",
    ] {
        assert!(finding.detail.contains(part), "{}", finding.detail);
    }
    assert_eq!(put.num_calls(), 1, "put back once, with its own settings");

    // Audit: said, not put.
    let (finding, put) = team_alarm_put_back(Mode::Audit).await;
    assert_eq!(finding.status, Status::WouldCreate, "{}", finding.detail);
    assert!(finding.detail.contains("would put team-cpu-high back"));
    assert_eq!(put.num_calls(), 0);
}

#[tokio::test]
async fn where_history_cannot_tell_the_defaults_are_used_and_the_finding_says_why() {
    use aws_sdk_cloudwatch::Client;
    // The history cannot be read: ecs-warden's own alarm from the defaults.
    let refused = mock!(Client::describe_alarm_history)
        .sequence()
        .http_status(
            403,
            cloudwatch_error(
                "AccessDenied",
                "User is not authorized to perform: cloudwatch:DescribeAlarmHistory",
            ),
        )
        .build();
    let (none, put) = (alarms_existing(&[]), put_alarm_ok());
    let finding = after_team_alarm_deleted(
        Mode::Enforce,
        &[&refused, &none, &put],
        service_with(&[]),
        cluster_with(&[]),
    )
    .await;
    assert_eq!(finding.status, Status::Created, "{}", finding.detail);
    for part in [
        "created alarm ecs-warden/",
        "CPUUtilization Average",
        "Made from ecs-warden's defaults and the service's tags, not from the deleted alarm",
        "team-cpu-high: its history could not be read",
        "lacks cloudwatch:DescribeAlarmHistory",
    ] {
        assert!(finding.detail.contains(part), "{}", finding.detail);
    }

    // An alarm of that name exists again (and invokes something else): not overwritten.
    let (history, again, put) = (
        team_alarm_history(),
        alarms_existing(&["team-cpu-high"]),
        put_alarm_ok(),
    );
    let finding = after_team_alarm_deleted(
        Mode::Enforce,
        &[&history, &again, &put],
        service_with(&[]),
        cluster_with(&[]),
    )
    .await;
    assert!(
        finding
            .detail
            .contains("an alarm named team-cpu-high exists again and does not invoke this policy; it was not overwritten"),
        "{}",
        finding.detail
    );
    assert!(!finding.detail.contains("put team-cpu-high back"));
}

#[tokio::test]
async fn a_deleted_customer_alarm_is_not_put_back_for_a_service_that_opted_out() {
    let (history, none, put) = (
        team_alarm_history(),
        alarms_existing(&[]),
        put_team_alarm_back(),
    );
    let finding = after_team_alarm_deleted(
        Mode::Enforce,
        &[&history, &none, &put],
        service_with(&[("ecs-warden:ignore", "true")]),
        cluster_with(&[]),
    )
    .await;
    assert_eq!(finding.status, Status::Skipped, "{}", finding.detail);
    assert!(
        finding.detail.contains("ecs-warden:ignore=true"),
        "{}",
        finding.detail
    );
    assert_eq!(put.num_calls(), 0);
}
