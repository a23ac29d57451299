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
