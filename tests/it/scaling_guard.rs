//! scaling-guard against moto: each test gets its own account, arranges the ECS service and
//! scaling policies the sample event records, replays the event, and asserts on the IAM and
//! CloudWatch state moto holds afterwards.

use aws_sdk_applicationautoscaling::types::{
    PolicyType, ScalableDimension, ScalingPolicy, ServiceNamespace,
};
use aws_sdk_cloudwatch::types::{ComparisonOperator, MetricAlarm, Statistic};
use ecs_warden::domain::alarms::{CREATED_BY_TAG, CREATED_BY_VALUE};
use ecs_warden::domain::catalog::{ECS_AUTOSCALE_ROLE, ECS_AUTOSCALING_SERVICE_LINKED_ROLE};
use ecs_warden::domain::trust_policy::TrustPolicy;
use ecs_warden::handlers::scaling_guard::ScalingGuard;
use ecs_warden::handlers::Function;
use ecs_warden::invocation::report::{Report, Status};
use ecs_warden::invocation::settings::Mode;
use serde_json::Value;
use warden_tests::{statuses, writes, Account, RegionClients, Step};

const CLUSTER: &str = "payments";
const SERVICE: &str = "web";
const RESOURCE_ID: &str = "service/payments/web";
/// The policies the sample events name.
const SCALE_OUT: &str = "cpu-scale-out";
const SCALE_IN: &str = "cpu-scale-in";
const MIXED: &str = "cpu-both-ways";
const TARGET_TRACKING: &str = "cpu-target-60";
const OUR_SCALE_OUT_ALARM: &str = "ecs-warden/payments/web/cpu-scale-out";

/// One account's emulated AWS, with clients for arranging and asserting (not counted).
struct World {
    account: Account,
    region: RegionClients,
}

impl World {
    async fn new() -> Self {
        let account = Account::new().await;
        Self {
            region: RegionClients::new(&account.config),
            account,
        }
    }

    /// The ECS service the samples scale, with `tags`, registered as a scalable target.
    async fn with_service(tags: &[(&str, &str)]) -> Self {
        let world = Self::new().await;
        world.region.service(CLUSTER, SERVICE, None, tags).await;
        world.region.target(CLUSTER, SERVICE, None).await;
        world
    }

    /// Puts a step policy on the sample service; returns its ARN.
    async fn put_step(&self, name: &str, steps: &[Step]) -> String {
        self.region.step(CLUSTER, SERVICE, name, steps).await
    }

    /// The scale-out policy of `events/autoscaling-put-step-policy.json`.
    async fn put_scale_out(&self) -> String {
        self.put_step(
            SCALE_OUT,
            &[(Some(0.0), Some(15.0), 1), (Some(15.0), None, 2)],
        )
        .await
    }

    async fn put_target_tracking(&self) {
        self.region
            .tracking(CLUSTER, SERVICE, TARGET_TRACKING)
            .await;
    }

    async fn policy(&self, name: &str) -> Option<ScalingPolicy> {
        self.region.policy(RESOURCE_ID, name).await
    }

    async fn delete_policy(&self, name: &str) {
        self.region
            .autoscaling
            .delete_scaling_policy()
            .policy_name(name)
            .service_namespace(ServiceNamespace::Ecs)
            .resource_id(RESOURCE_ID)
            .scalable_dimension(ScalableDimension::EcsServiceDesiredCount)
            .send()
            .await
            .unwrap();
    }

    async fn alarms(&self) -> Vec<MetricAlarm> {
        self.region.alarms().await
    }

    /// The alarms the target-tracking policy lists, by name.
    async fn tracking_alarm_names(&self) -> Vec<String> {
        let policy = self.policy(TARGET_TRACKING).await.expect("the policy");
        policy
            .alarms()
            .iter()
            .map(|a| a.alarm_name().to_owned())
            .collect()
    }

    /// Deletes alarm `name`, as someone would by hand.
    async fn delete_alarm(&self, name: &str) {
        self.region
            .cloudwatch
            .delete_alarms()
            .alarm_names(name)
            .send()
            .await
            .unwrap();
    }

    async fn alarm(&self, name: &str) -> Option<MetricAlarm> {
        self.alarms()
            .await
            .into_iter()
            .find(|a| a.alarm_name() == Some(name))
    }

    async fn alarm_tags(&self, alarm: &MetricAlarm) -> Vec<(String, String)> {
        let out = self
            .region
            .cloudwatch
            .list_tags_for_resource()
            .resource_arn(alarm.alarm_arn().unwrap())
            .send()
            .await
            .unwrap();
        out.tags()
            .iter()
            .map(|t| {
                (
                    t.key().unwrap_or_default().to_owned(),
                    t.value().unwrap_or_default().to_owned(),
                )
            })
            .collect()
    }

    async fn customer_alarm(&self, name: &str, policy_arn: &str) {
        self.region.customer_alarm(name, policy_arn).await
    }

    /// Replays a sample event through a fresh scaling-guard; returns its report and calls.
    async fn replay(&self, mode: Mode, file: &str) -> (Report, Vec<String>) {
        self.replay_with(mode, &[], self.account.event(file)).await
    }

    async fn replay_with(
        &self,
        mode: Mode,
        env: &[(&str, &str)],
        event: Value,
    ) -> (Report, Vec<String>) {
        let (guard, _) = self.account.scaling_guard_with(mode, env);
        let report = guard.handle_payload(event).await.expect("event accepted");
        let calls = report.aws_calls.clone();
        (report, calls)
    }
}

fn dimensions(alarm: &MetricAlarm) -> Vec<(String, String)> {
    alarm
        .dimensions()
        .iter()
        .map(|d| {
            (
                d.name().unwrap_or_default().to_owned(),
                d.value().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

#[tokio::test]
async fn a_named_role_that_is_missing_is_created_as_seed_001_specifies() {
    let world = World::new().await;
    let (report, calls) = world
        .replay(
            Mode::Enforce,
            "autoscaling-register-scalable-target-role.json",
        )
        .await;
    assert_eq!(
        statuses(&report),
        [
            ("exists", Status::Created),
            ("managed_policy", Status::Created)
        ]
    );
    assert_eq!(writes(&calls), ["iam:CreateRole", "iam:AttachRolePolicy"]);
    let role = world
        .account
        .iam
        .get_role()
        .role_name(ECS_AUTOSCALE_ROLE.name)
        .send()
        .await
        .unwrap()
        .role
        .unwrap();
    let trust = TrustPolicy::parse(role.assume_role_policy_document().unwrap()).unwrap();
    assert!(trust.grants("application-autoscaling.amazonaws.com"));
    let attached = world
        .account
        .iam
        .list_attached_role_policies()
        .role_name(ECS_AUTOSCALE_ROLE.name)
        .send()
        .await
        .unwrap();
    let arns: Vec<&str> = attached
        .attached_policies()
        .iter()
        .filter_map(|p| p.policy_arn())
        .collect();
    assert_eq!(
        arns,
        ["arn:aws:iam::aws:policy/service-role/AmazonEC2ContainerServiceAutoscaleRole"]
    );
}

#[tokio::test]
async fn a_named_role_that_drifted_is_repaired_additively() {
    let world = World::new().await;
    let iam = &world.account.iam;
    // Trusts only ECS tasks and has no policy: the scaling service could not assume it.
    let other = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ecs-tasks.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;
    iam.create_role()
        .role_name(ECS_AUTOSCALE_ROLE.name)
        .assume_role_policy_document(other)
        .send()
        .await
        .unwrap();
    let (report, calls) = world
        .replay(
            Mode::Enforce,
            "autoscaling-register-scalable-target-role.json",
        )
        .await;
    assert_eq!(
        statuses(&report),
        [
            ("trust", Status::Repaired),
            ("managed_policy", Status::Repaired)
        ],
        "{report:#?}"
    );
    assert_eq!(
        writes(&calls),
        ["iam:UpdateAssumeRolePolicy", "iam:AttachRolePolicy"]
    );
    let trust = world.account.trust(ECS_AUTOSCALE_ROLE.name).await;
    assert!(trust.grants("application-autoscaling.amazonaws.com"));
    assert!(
        trust.grants("ecs-tasks.amazonaws.com"),
        "kept: repairs only add"
    );
    assert_eq!(
        world.account.attached(ECS_AUTOSCALE_ROLE.name).await,
        ["arn:aws:iam::aws:policy/service-role/AmazonEC2ContainerServiceAutoscaleRole"]
    );
}

#[tokio::test]
async fn without_a_named_role_the_service_linked_role_is_ensured_once() {
    let world = World::new().await;
    let (report, calls) = world
        .replay(Mode::Enforce, "autoscaling-register-scalable-target.json")
        .await;
    assert_eq!(statuses(&report), [("exists", Status::Created)]);
    assert_eq!(writes(&calls), ["iam:CreateServiceLinkedRole"]);
    let role = world
        .account
        .iam
        .get_role()
        .role_name(ECS_AUTOSCALING_SERVICE_LINKED_ROLE.name)
        .send()
        .await
        .unwrap()
        .role
        .unwrap();
    assert_eq!(role.path(), ECS_AUTOSCALING_SERVICE_LINKED_ROLE.path);

    let (again, calls) = world
        .replay(Mode::Enforce, "autoscaling-register-scalable-target.json")
        .await;
    assert!(writes(&calls).is_empty(), "{calls:?}");
    assert!(again.findings.iter().all(|f| f.status == Status::Compliant));
}

#[tokio::test]
async fn a_step_policy_without_an_alarm_gets_one_and_a_second_delivery_writes_nothing() {
    let world = World::with_service(&[]).await;
    let policy_arn = world.put_scale_out().await;

    let (report, calls) = world
        .replay(Mode::Enforce, "autoscaling-put-step-policy.json")
        .await;
    assert_eq!(statuses(&report), [("step_alarm", Status::Created)]);
    assert_eq!(writes(&calls), ["cloudwatch:PutMetricAlarm"]);

    let alarm = world
        .alarm(OUR_SCALE_OUT_ALARM)
        .await
        .expect("alarm created");
    assert_eq!(alarm.namespace(), Some("AWS/ECS"));
    assert_eq!(alarm.metric_name(), Some("CPUUtilization"));
    assert_eq!(alarm.statistic(), Some(&Statistic::Average));
    assert_eq!(alarm.period(), Some(60));
    assert_eq!(alarm.evaluation_periods(), Some(3));
    assert_eq!(
        alarm.comparison_operator(),
        Some(&ComparisonOperator::GreaterThanOrEqualToThreshold)
    );
    assert_eq!(alarm.threshold(), Some(75.0));
    assert_eq!(alarm.alarm_actions(), [policy_arn.as_str()]);
    assert_eq!(
        dimensions(&alarm),
        [
            ("ClusterName".to_owned(), CLUSTER.to_owned()),
            ("ServiceName".to_owned(), SERVICE.to_owned())
        ]
    );
    let tags = world.alarm_tags(&alarm).await;
    assert!(tags.contains(&(CREATED_BY_TAG.to_owned(), CREATED_BY_VALUE.to_owned())));

    let (again, calls) = world
        .replay(Mode::Enforce, "autoscaling-put-step-policy.json")
        .await;
    assert_eq!(statuses(&again), [("step_alarm", Status::Compliant)]);
    // The compliant path costs exactly the two reads the issue allows.
    assert_eq!(
        calls,
        [
            "application-autoscaling:DescribeScalingPolicies",
            "cloudwatch:DescribeAlarms"
        ]
    );
    assert_eq!(world.alarms().await.len(), 1);
}

#[tokio::test]
async fn a_scale_in_policy_gets_a_low_threshold_alarm() {
    let world = World::with_service(&[]).await;
    let arn = world.put_step(SCALE_IN, &[(None, Some(0.0), -1)]).await;
    let (report, _) = world
        .replay(Mode::Enforce, "autoscaling-put-step-policy-scale-in.json")
        .await;
    assert_eq!(statuses(&report), [("step_alarm", Status::Created)]);
    let alarm = world
        .alarm("ecs-warden/payments/web/cpu-scale-in")
        .await
        .unwrap();
    assert_eq!(
        alarm.comparison_operator(),
        Some(&ComparisonOperator::LessThanOrEqualToThreshold)
    );
    assert_eq!(alarm.threshold(), Some(25.0));
    assert_eq!(alarm.alarm_actions(), [arn.as_str()]);
}

#[tokio::test]
async fn a_policy_that_goes_both_ways_is_skipped_with_the_reason() {
    let world = World::with_service(&[]).await;
    world
        .put_step(MIXED, &[(None, Some(0.0), -1), (Some(0.0), None, 1)])
        .await;
    let (report, calls) = world
        .replay(Mode::Enforce, "autoscaling-put-step-policy-mixed.json")
        .await;
    assert_eq!(statuses(&report), [("step_alarm", Status::Skipped)]);
    assert!(
        report.findings[0]
            .detail
            .contains("adds capacity in some steps"),
        "{}",
        report.findings[0].detail
    );
    assert!(writes(&calls).is_empty());
    assert!(world.alarms().await.is_empty());
}

#[tokio::test]
async fn a_customer_alarm_that_invokes_the_policy_is_left_untouched() {
    let world = World::with_service(&[]).await;
    let arn = world.put_scale_out().await;
    world.customer_alarm("team-memory-high", &arn).await;
    let before = world.alarm("team-memory-high").await.unwrap();

    let (report, calls) = world
        .replay(Mode::Enforce, "autoscaling-put-step-policy.json")
        .await;
    assert_eq!(statuses(&report), [("step_alarm", Status::Compliant)]);
    assert!(report.findings[0].detail.contains("team-memory-high"));
    assert!(writes(&calls).is_empty());
    let alarms = world.alarms().await;
    assert_eq!(alarms.len(), 1, "no alarm of ecs-warden's added");
    assert_eq!(alarms[0], before);
}

#[tokio::test]
async fn service_tags_override_the_defaults() {
    let world = World::with_service(&[
        ("ecs-warden:scale-out-threshold", "60"),
        ("ecs-warden:alarm-metric", "MemoryUtilization"),
        ("ecs-warden:alarm-evaluation-periods", "2"),
        ("team", "payments"),
    ])
    .await;
    world.put_scale_out().await;
    // The deployment's default period, as the template's parameter sets it.
    let defaults = [("WARDEN_ALARM_PERIOD_SECONDS", "120")];
    let event = world.account.event("autoscaling-put-step-policy.json");
    let (report, _) = world.replay_with(Mode::Enforce, &defaults, event).await;
    assert_eq!(statuses(&report), [("step_alarm", Status::Created)]);
    let alarm = world.alarm(OUR_SCALE_OUT_ALARM).await.unwrap();
    assert_eq!(alarm.metric_name(), Some("MemoryUtilization"));
    assert_eq!(alarm.threshold(), Some(60.0));
    assert_eq!(alarm.evaluation_periods(), Some(2));
    assert_eq!(alarm.period(), Some(120), "deployment default kept");
}

#[tokio::test]
async fn a_bad_tag_is_a_finding_that_names_it_and_nothing_is_created() {
    let world = World::with_service(&[("ecs-warden:scale-out-threshold", "eighty")]).await;
    world.put_scale_out().await;
    let (report, calls) = world
        .replay(Mode::Enforce, "autoscaling-put-step-policy.json")
        .await;
    assert_eq!(statuses(&report), [("step_alarm", Status::Failed)]);
    let detail = &report.findings[0].detail;
    assert!(
        detail.contains("ecs-warden:scale-out-threshold=\"eighty\"") && detail.contains("number"),
        "{detail}"
    );
    assert!(writes(&calls).is_empty());
    assert!(world.alarms().await.is_empty());
}

#[tokio::test]
async fn an_ecs_warden_tag_it_does_not_know_is_reported_and_the_alarm_still_made() {
    let world = World::with_service(&[
        ("ecs-warden:alarm-treshold", "90"),
        ("ecs-warden:scale-out-threshold", "60"),
    ])
    .await;
    world.put_scale_out().await;
    let (report, _) = world
        .replay(Mode::Enforce, "autoscaling-put-step-policy.json")
        .await;
    assert_eq!(statuses(&report), [("step_alarm", Status::Created)]);
    let detail = &report.findings[0].detail;
    assert!(
        detail.contains("ecs-warden:alarm-treshold=\"90\" ignored: not a tag ecs-warden knows"),
        "{detail}"
    );
    let alarm = world.alarm(OUR_SCALE_OUT_ALARM).await.expect("created");
    assert_eq!(alarm.threshold(), Some(60.0), "the known tag applied");
}

#[tokio::test]
async fn a_service_or_its_cluster_tagged_ignore_gets_no_alarm_and_no_policy_put_in_enforce() {
    for on_cluster in [false, true] {
        let tags: &[(&str, &str)] = if on_cluster {
            &[]
        } else {
            &[("ecs-warden:ignore", "true")]
        };
        let world = World::with_service(tags).await;
        if on_cluster {
            world.region.ignore_cluster(CLUSTER).await;
        }
        let named = if on_cluster {
            format!("cluster {CLUSTER}")
        } else {
            format!("service {CLUSTER}/{SERVICE}")
        };

        // A step policy without an alarm: none is made.
        world.put_scale_out().await;
        let (report, calls) = world
            .replay(Mode::Enforce, "autoscaling-put-step-policy.json")
            .await;
        assert_eq!(statuses(&report), [("step_alarm", Status::Skipped)]);
        let detail = &report.findings[0].detail;
        assert!(detail.contains(&named), "{detail}");
        assert!(detail.contains("ecs-warden:ignore=true"), "{detail}");
        assert!(writes(&calls).is_empty(), "{calls:?}");
        assert!(world.alarm(OUR_SCALE_OUT_ALARM).await.is_none());

        // A target-tracking alarm deleted: the policy is not put again.
        world.put_target_tracking().await;
        let listed = world.tracking_alarm_names().await;
        world.delete_alarm(&listed[0]).await;
        let (report, calls) = world
            .replay(Mode::Enforce, "autoscaling-put-target-tracking-policy.json")
            .await;
        assert_eq!(
            statuses(&report),
            [("target_tracking_alarms", Status::Skipped)]
        );
        assert!(report.findings[0].detail.contains(&named), "{report:#?}");
        assert!(writes(&calls).is_empty(), "{calls:?}");
        assert!(world.alarm(&listed[0]).await.is_none(), "not restored");
    }
}

#[tokio::test]
async fn a_deleted_target_tracking_alarm_is_restored() {
    let world = World::with_service(&[]).await;
    world.put_target_tracking().await;
    let listed = world.tracking_alarm_names().await;
    assert_eq!(listed.len(), 2, "moto creates two alarms");

    let (intact, calls) = world
        .replay(Mode::Enforce, "autoscaling-put-target-tracking-policy.json")
        .await;
    assert_eq!(
        statuses(&intact),
        [("target_tracking_alarms", Status::Compliant)]
    );
    assert_eq!(calls.len(), 2, "{calls:?}");

    world.delete_alarm(&listed[0]).await;
    let (audit, calls) = world
        .replay(Mode::Audit, "autoscaling-put-target-tracking-policy.json")
        .await;
    assert_eq!(
        statuses(&audit),
        [("target_tracking_alarms", Status::WouldRepair)]
    );
    assert!(writes(&calls).is_empty());
    assert!(world.alarm(&listed[0]).await.is_none());

    let (report, calls) = world
        .replay(Mode::Enforce, "autoscaling-put-target-tracking-policy.json")
        .await;
    assert_eq!(
        statuses(&report),
        [("target_tracking_alarms", Status::Repaired)]
    );
    assert_eq!(writes(&calls), ["application-autoscaling:PutScalingPolicy"]);
    let policy = world.policy(TARGET_TRACKING).await.unwrap();
    assert_eq!(policy.policy_type(), &PolicyType::TargetTrackingScaling);
    let present: Vec<String> = world
        .alarms()
        .await
        .iter()
        .filter_map(|a| a.alarm_name().map(String::from))
        .collect();
    for alarm in policy.alarms() {
        assert!(
            present.iter().any(|p| p == alarm.alarm_name()),
            "{} missing",
            alarm.alarm_name()
        );
    }
}

#[tokio::test]
async fn deleting_a_policy_removes_only_the_alarm_ecs_warden_created() {
    let world = World::with_service(&[]).await;
    let arn = world.put_scale_out().await;
    world
        .replay(Mode::Enforce, "autoscaling-put-step-policy.json")
        .await;
    assert!(world.alarm(OUR_SCALE_OUT_ALARM).await.is_some());
    // After ecs-warden's alarm: a customer's alarm on the same policy, and an alarm a
    // customer named like one of ecs-warden's for another policy.
    world.customer_alarm("team-memory-high", &arn).await;
    let other = world.put_step(SCALE_IN, &[(None, Some(0.0), -1)]).await;
    world
        .customer_alarm("ecs-warden/payments/web/cpu-scale-in", &other)
        .await;

    // A delivery that arrives while the policy still exists removes nothing.
    let (early, calls) = world
        .replay(Mode::Enforce, "autoscaling-delete-scaling-policy.json")
        .await;
    assert_eq!(statuses(&early), [("alarm_cleanup", Status::Skipped)]);
    assert!(writes(&calls).is_empty());

    world.delete_policy(SCALE_OUT).await;
    let (audit, calls) = world
        .replay(Mode::Audit, "autoscaling-delete-scaling-policy.json")
        .await;
    assert_eq!(statuses(&audit), [("alarm_cleanup", Status::WouldRepair)]);
    assert!(writes(&calls).is_empty());
    assert!(world.alarm(OUR_SCALE_OUT_ALARM).await.is_some());

    let (report, calls) = world
        .replay(Mode::Enforce, "autoscaling-delete-scaling-policy.json")
        .await;
    assert_eq!(statuses(&report), [("alarm_cleanup", Status::Repaired)]);
    assert_eq!(writes(&calls), ["cloudwatch:DeleteAlarms"]);
    let left: Vec<String> = world
        .alarms()
        .await
        .iter()
        .filter_map(|a| a.alarm_name().map(String::from))
        .collect();
    assert_eq!(
        left,
        ["team-memory-high", "ecs-warden/payments/web/cpu-scale-in"]
    );

    // The look-alike without ecs-warden's tags survives its own policy's deletion.
    world.delete_policy(SCALE_IN).await;
    let mut event = world
        .account
        .event("autoscaling-delete-scaling-policy.json");
    event["detail"]["requestParameters"]["policyName"] = SCALE_IN.into();
    let (guard, _) = world.account.scaling_guard(Mode::Enforce);
    let lookalike = guard.handle_payload(event).await.unwrap();
    assert_eq!(statuses(&lookalike), [("alarm_cleanup", Status::Skipped)]);
    assert!(writes(&lookalike.aws_calls).is_empty());
    assert!(world
        .alarm("ecs-warden/payments/web/cpu-scale-in")
        .await
        .is_some());
}

#[tokio::test]
async fn audit_mode_writes_nothing() {
    let world = World::with_service(&[]).await;
    world.put_scale_out().await;
    for file in [
        "autoscaling-register-scalable-target.json",
        "autoscaling-register-scalable-target-role.json",
        "autoscaling-put-step-policy.json",
    ] {
        let (report, calls) = world.replay(Mode::Audit, file).await;
        assert!(writes(&calls).is_empty(), "{file}: {calls:?}");
        assert!(
            report
                .findings
                .iter()
                .all(|f| f.status == Status::WouldCreate),
            "{file}: {:?}",
            report.findings
        );
    }
    assert!(world.alarms().await.is_empty());
    let roles = world.account.iam.list_roles().send().await.unwrap();
    assert!(
        roles.roles().iter().all(|r| r.role_name() == "warden-test"),
        "no role created"
    );
}

#[tokio::test]
async fn events_outside_ecs_or_this_region_make_no_call() {
    let world = World::new().await;
    let mut dynamo = world.account.event("autoscaling-put-step-policy.json");
    dynamo["detail"]["requestParameters"]["serviceNamespace"] = "dynamodb".into();
    let (report, calls) = world.replay_with(Mode::Enforce, &[], dynamo).await;
    assert_eq!(statuses(&report), [("scope", Status::Skipped)]);
    assert!(calls.is_empty());

    let mut elsewhere = world.account.event("autoscaling-put-step-policy.json");
    elsewhere["detail"]["awsRegion"] = "ap-southeast-2".into();
    let (report, calls) = world.replay_with(Mode::Enforce, &[], elsewhere).await;
    assert_eq!(statuses(&report), [("region", Status::Skipped)]);
    assert!(report.findings[0].detail.contains("ap-southeast-2"));
    assert!(calls.is_empty());
}

#[tokio::test]
async fn a_policy_that_no_longer_exists_is_reported_not_created() {
    let world = World::with_service(&[]).await;
    let (report, calls) = world
        .replay(Mode::Enforce, "autoscaling-put-step-policy.json")
        .await;
    assert_eq!(statuses(&report), [("policy", Status::Skipped)]);
    assert!(writes(&calls).is_empty());
    assert!(world.alarms().await.is_empty());
}

/// `events/monitoring-delete-alarms.json` naming `names` instead of ecs-warden's alarm.
fn alarms_deleted(world: &World, names: &[&str]) -> Value {
    let mut event = world.account.event("monitoring-delete-alarms.json");
    event["detail"]["requestParameters"]["alarmNames"] = serde_json::json!(names);
    event
}

/// `guard`'s report of a DeleteAlarms of `names`.
async fn deleting(guard: &Function<ScalingGuard>, world: &World, names: &[&str]) -> Report {
    guard
        .handle_payload(alarms_deleted(world, names))
        .await
        .expect("event accepted")
}

#[tokio::test(flavor = "multi_thread")]
async fn an_alarm_deleted_by_hand_comes_back_from_its_event() {
    let world = World::with_service(&[]).await;
    let policy_arn = world.put_scale_out().await;
    world
        .replay(Mode::Enforce, "autoscaling-put-step-policy.json")
        .await;
    assert!(world.alarm(OUR_SCALE_OUT_ALARM).await.is_some());
    world
        .region
        .cloudwatch
        .delete_alarms()
        .alarm_names(OUR_SCALE_OUT_ALARM)
        .send()
        .await
        .unwrap();

    let (audit, calls) = world
        .replay(Mode::Audit, "monitoring-delete-alarms.json")
        .await;
    assert_eq!(statuses(&audit), [("step_alarm", Status::WouldCreate)]);
    assert!(writes(&calls).is_empty(), "{calls:?}");
    assert!(world.alarm(OUR_SCALE_OUT_ALARM).await.is_none());

    let (report, calls) = world
        .replay(Mode::Enforce, "monitoring-delete-alarms.json")
        .await;
    assert_eq!(statuses(&report), [("step_alarm", Status::Created)]);
    assert_eq!(writes(&calls), ["cloudwatch:PutMetricAlarm"]);
    let alarm = world.alarm(OUR_SCALE_OUT_ALARM).await.expect("restored");
    assert_eq!(alarm.alarm_actions(), [policy_arn]);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_deleted_target_tracking_alarm_comes_back_from_its_event() {
    let world = World::with_service(&[]).await;
    world.put_target_tracking().await;
    let listed = world.tracking_alarm_names().await;
    world.delete_alarm(&listed[0]).await;
    let (guard, _) = world.account.scaling_guard(Mode::Enforce);
    let report = guard
        .handle_payload(alarms_deleted(&world, &[&listed[0]]))
        .await
        .expect("event accepted");
    assert_eq!(
        statuses(&report),
        [("target_tracking_alarms", Status::Repaired)]
    );
    let present: Vec<String> = world
        .alarms()
        .await
        .iter()
        .filter_map(|a| a.alarm_name().map(String::from))
        .collect();
    for alarm in world.policy(TARGET_TRACKING).await.unwrap().alarms() {
        assert!(present.iter().any(|p| p == alarm.alarm_name()));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn deleting_an_alarm_no_ecs_policy_used_costs_two_reads_at_most() {
    let world = World::with_service(&[]).await;
    world.put_target_tracking().await;
    let (guard, _) = world.account.scaling_guard(Mode::Enforce);
    // No step policy in the region: the policies' read alone.
    let report = deleting(&guard, &world, &["billing-over-budget"]).await;
    assert_eq!(statuses(&report), [("deleted_alarm", Status::Compliant)]);
    assert_eq!(
        report.aws_calls,
        ["application-autoscaling:DescribeScalingPolicies"]
    );

    // A step policy an alarm invokes: and CloudWatch's view of the region's policy alarms.
    world.put_scale_out().await;
    world
        .replay(Mode::Enforce, "autoscaling-put-step-policy.json")
        .await;
    let before = world.alarms().await.len();
    let report = deleting(&guard, &world, &["billing-over-budget"]).await;
    assert_eq!(statuses(&report), [("deleted_alarm", Status::Compliant)]);
    assert_eq!(
        report.aws_calls,
        [
            "application-autoscaling:DescribeScalingPolicies",
            "cloudwatch:DescribeAlarms"
        ]
    );
    assert_eq!(world.alarms().await.len(), before);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_customer_step_alarm_deleted_by_hand_comes_back_though_the_policy_lists_none() {
    // moto lists no alarm on a step policy, as Application Auto Scaling may not once the
    // alarm is gone: CloudWatch says no alarm invokes the policy any more.
    let world = World::with_service(&[]).await;
    let policy_arn = world.put_scale_out().await;
    world
        .region
        .customer_alarm("team-web-high", &policy_arn)
        .await;
    world
        .region
        .cloudwatch
        .delete_alarms()
        .alarm_names("team-web-high")
        .send()
        .await
        .unwrap();
    assert!(world.policy(SCALE_OUT).await.unwrap().alarms().is_empty());
    let (guard, _) = world.account.scaling_guard(Mode::Enforce);
    let report = deleting(&guard, &world, &["team-web-high"]).await;
    assert_eq!(
        statuses(&report),
        [("step_alarm", Status::Created)],
        "{report:#?}"
    );
    assert_eq!(writes(&report.aws_calls), ["cloudwatch:PutMetricAlarm"]);
    // moto does not serve DescribeAlarmHistory (docs/tests.md): what the deleted alarm was
    // cannot be known here, so the alarm is ecs-warden's own from the defaults, and the
    // finding says why. AWS's answers, and the alarm put back as it was, are in
    // shared/tests/library/mocked_alarms.rs.
    assert!(report
        .aws_calls
        .contains(&"cloudwatch:DescribeAlarmHistory".to_owned()));
    let detail = &report.findings[0].detail;
    assert!(
        detail.contains("not from the deleted alarm: CloudWatch's history shows no deleted alarm that invoked this policy (team-web-high: its history could not be read"),
        "{detail}"
    );
    let alarm = world.alarm(OUR_SCALE_OUT_ALARM).await.expect("given back");
    assert_eq!(alarm.alarm_actions(), [policy_arn]);
}
