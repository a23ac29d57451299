//! reconcile against moto: three regions with clusters, services, scalable targets and
//! policies, broken in every way the guards repair; one sweep must fix all of it, its
//! counts must match what moto holds, and a region that fails must not stop the others.
//! Also the sweep benchmark (ignored by default; `make bench-reconcile` runs it).

use std::time::Instant;

use aws_sdk_applicationautoscaling::types::{PolicyType, ServiceNamespace};
use ecs_warden::domain::catalog::{
    ECS_AUTOSCALE_ROLE, ECS_AUTOSCALING_SERVICE_LINKED_ROLE, ECS_SERVICE_LINKED_ROLE,
    ECS_SERVICE_ROLE,
};
use ecs_warden::handlers::reconcile::{Continuation, SweepReport};

use ecs_warden::invocation::deadline::Deadline;
use ecs_warden::invocation::report::Status;
use ecs_warden::invocation::settings::Mode;
use serde_json::json;
use warden_tests::{
    broken_world, slr_arn, writes, Account, RegionClients, SWEPT_REGIONS as REGIONS,
};

/// Whether every step policy has an alarm invoking it and every target-tracking
/// policy's alarms exist; returns the policies that are not so.
async fn broken_policies(region: &RegionClients) -> Vec<String> {
    let alarms = region.cloudwatch.describe_alarms().send().await.unwrap();
    let names: Vec<&str> = alarms
        .metric_alarms()
        .iter()
        .filter_map(|a| a.alarm_name())
        .collect();
    let policies = region
        .autoscaling
        .describe_scaling_policies()
        .service_namespace(ServiceNamespace::Ecs)
        .send()
        .await
        .unwrap();
    let mut broken = Vec::new();
    for policy in policies.scaling_policies() {
        let ok = match policy.policy_type() {
            PolicyType::StepScaling => alarms
                .metric_alarms()
                .iter()
                .any(|a| a.alarm_actions().iter().any(|x| x == policy.policy_arn())),
            _ => policy
                .alarms()
                .iter()
                .all(|a| names.contains(&a.alarm_name())),
        };
        if !ok {
            broken.push(policy.policy_name().to_owned());
        }
    }
    broken
}

fn count(report: &SweepReport, check: &str, status: Status) -> usize {
    report
        .counts
        .get(check)
        .and_then(|c| c.get(&status))
        .copied()
        .unwrap_or(0)
}

async fn role_exists(account: &Account, name: &str) -> bool {
    account.iam.get_role().role_name(name).send().await.is_ok()
}

#[tokio::test]
async fn one_sweep_fixes_every_region_and_its_counts_match_moto() {
    let account = Account::new().await;
    let regions = broken_world(&account).await;
    let (reconcile, _) = account.reconcile(Mode::Enforce, &REGIONS);
    let report = reconcile
        .handle_payload(account.event("reconcile-scheduled.json"))
        .await
        .unwrap();

    for name in [
        ECS_SERVICE_LINKED_ROLE.name,
        ECS_AUTOSCALING_SERVICE_LINKED_ROLE.name,
        ECS_SERVICE_ROLE.name,
        ECS_AUTOSCALE_ROLE.name,
    ] {
        assert!(role_exists(&account, name).await, "{name} exists");
    }
    let mut broken = Vec::new();
    for region in &regions {
        broken.extend(broken_policies(region).await);
    }
    assert_eq!(broken, ["cdn-both"], "only the ambiguous policy is left");

    assert_eq!(count(&report, "exists", Status::Created), 4);
    assert_eq!(count(&report, "managed_policy", Status::Created), 2);
    assert_eq!(count(&report, "step_alarm", Status::Created), 2);
    assert_eq!(count(&report, "step_alarm", Status::Compliant), 1);
    assert_eq!(count(&report, "step_alarm", Status::Skipped), 1);
    assert_eq!(
        count(&report, "target_tracking_alarms", Status::Repaired),
        1
    );
    assert_eq!(
        count(&report, "target_tracking_alarms", Status::Compliant),
        1
    );
    assert!(
        report
            .report
            .findings
            .iter()
            .all(|f| f.status != Status::Compliant),
        "only findings worth reading are listed"
    );
    let held: Vec<_> = report
        .regions
        .iter()
        .map(|r| {
            (
                r.region.as_str(),
                r.ok,
                r.clusters,
                r.services,
                r.scaling_policies,
            )
        })
        .collect();
    assert_eq!(
        held,
        [
            ("ap-southeast-2", true, 1, 1, 2),
            ("eu-west-1", true, 1, 2, 2),
            ("us-east-1", true, 1, 1, 2)
        ]
    );

    // A second sweep finds everything as the first left it: reads only.
    let (again, _) = account.reconcile(Mode::Enforce, &REGIONS);
    // By hand, with the configured regions.
    let second = again.handle_payload(json!({})).await.unwrap();
    assert!(writes(&second.report.aws_calls).is_empty());
    // This world has no CloudTrail trail: those findings are the trail tests' below.
    let left: Vec<_> = second
        .report
        .findings
        .iter()
        .filter(|f| f.check != "cloudtrail")
        .collect();
    assert_eq!(left.len(), 1, "{left:?}");
    assert_eq!(left[0].status, Status::Skipped);
}

#[tokio::test]
async fn a_sweep_in_enforce_leaves_what_owners_opted_out_of_and_says_so() {
    // eu-west-1's cluster and an ecsAutoscaleRole are a team's Terraform's, tagged to opt
    // out: the sweep checks and reports them, and writes neither.
    let account = Account::new().await;
    let regions = broken_world(&account).await;
    let eu = &regions[0];
    eu.ignore_cluster("shop").await;
    let batch_only = json!({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "batch.amazonaws.com"}, "Action": "sts:AssumeRole"}]});
    account
        .iam
        .create_role()
        .role_name(ECS_AUTOSCALE_ROLE.name)
        .assume_role_policy_document(batch_only.to_string())
        .send()
        .await
        .unwrap();
    account.ignore_role(ECS_AUTOSCALE_ROLE.name).await;

    let (reconcile, _) = account.reconcile(Mode::Enforce, &REGIONS);
    let report = reconcile
        .handle_payload(account.event("reconcile-scheduled.json"))
        .await
        .unwrap();

    // eu-west-1's policies are as broken as before; the other regions are repaired.
    let mut eu_broken = broken_policies(eu).await;
    eu_broken.sort();
    assert_eq!(eu_broken, ["cart-cpu", "cart-out"]);
    assert!(broken_policies(&regions[1]).await.is_empty());
    let opted_out: Vec<_> = report
        .report
        .findings
        .iter()
        .filter(|f| f.detail.contains("ecs-warden:ignore=true"))
        .map(|f| (f.check.as_str(), f.status))
        .collect();
    assert!(
        opted_out.contains(&("step_alarm", Status::Skipped))
            && opted_out.contains(&("target_tracking_alarms", Status::Skipped))
            && opted_out.contains(&("trust", Status::Skipped))
            && opted_out.contains(&("managed_policy", Status::Skipped)),
        "{opted_out:?}"
    );
    // The role keeps its trust and gets no policy.
    let role = account
        .iam
        .get_role()
        .role_name(ECS_AUTOSCALE_ROLE.name)
        .send()
        .await
        .unwrap();
    let trust = role
        .role()
        .unwrap()
        .assume_role_policy_document()
        .unwrap_or_default();
    assert!(!trust.contains("application-autoscaling"), "{trust}");
    let attached = account
        .iam
        .list_attached_role_policies()
        .role_name(ECS_AUTOSCALE_ROLE.name)
        .send()
        .await
        .unwrap();
    assert!(attached.attached_policies().is_empty());
}

#[tokio::test]
async fn a_region_that_fails_is_a_finding_and_the_others_are_swept() {
    let account = Account::new().await;
    broken_world(&account).await;
    let (reconcile, _) = account.reconcile(Mode::Enforce, &REGIONS);
    let report = reconcile
        .handle_payload(json!({"regions": ["eu-west-1", "xx-fake-1", "us-east-1"]}))
        .await
        .unwrap();
    let failed: Vec<&str> = report
        .report
        .findings
        .iter()
        .filter(|f| f.check == "region")
        .map(|f| f.resource.as_str())
        .collect();
    assert_eq!(failed, ["xx-fake-1"]);
    assert_eq!(count(&report, "step_alarm", Status::Created), 2);
    assert!(role_exists(&account, ECS_SERVICE_ROLE.name).await);
    let ok: Vec<(&str, bool)> = report
        .regions
        .iter()
        .map(|r| (r.region.as_str(), r.ok))
        .collect();
    assert_eq!(
        ok,
        [
            ("eu-west-1", true),
            ("us-east-1", true),
            ("xx-fake-1", false)
        ]
    );
}

#[tokio::test]
async fn audit_mode_reports_and_writes_nothing() {
    let account = Account::new().await;
    let regions = broken_world(&account).await;
    let (reconcile, _) = account.reconcile(Mode::Audit, &REGIONS);
    let report = reconcile
        .handle_payload(account.event("reconcile-manual.json"))
        .await
        .unwrap();
    assert!(writes(&report.report.aws_calls).is_empty());
    assert_eq!(count(&report, "exists", Status::WouldCreate), 4);
    // cart-out in eu-west-1 and jobs-in in us-east-1, the two regions of the manual input.
    assert_eq!(count(&report, "step_alarm", Status::WouldCreate), 2);
    assert!(!role_exists(&account, ECS_SERVICE_ROLE.name).await);
    assert_eq!(broken_policies(&regions[0]).await, ["cart-out", "cart-cpu"]);
}

/// The `cloudtrail` findings of a sweep, region by region: (region, status, detail).
fn trail_findings(report: &SweepReport) -> Vec<(String, Status, String)> {
    report
        .report
        .findings
        .iter()
        .filter(|f| f.check == "cloudtrail")
        .map(|f| (f.resource.clone(), f.status, f.detail.clone()))
        .collect()
}

#[tokio::test]
async fn without_a_trail_no_guard_is_triggered_and_the_sweep_says_which() {
    let account = Account::new().await;
    for mode in [Mode::Audit, Mode::Enforce] {
        let (reconcile, _) = account.reconcile(mode, &["eu-west-1"]);
        let report = reconcile.handle_payload(json!({})).await.unwrap();
        let found = trail_findings(&report);
        let regions: Vec<(&str, Status)> = found.iter().map(|(r, s, _)| (r.as_str(), *s)).collect();
        assert_eq!(
            regions,
            [("eu-west-1", Status::Failed), ("us-east-1", Status::Failed)],
            "{found:?}"
        );
        let (eu, us) = (&found[0].2, &found[1].2);
        assert!(
            eu.contains("access-doctor, ecs-role-guard, scaling-guard will never be triggered"),
            "{eu}"
        );
        assert!(
            eu.contains("cloudtrail:DescribeTrails lists no trail that applies to eu-west-1"),
            "{eu}"
        );
        assert!(
            us.contains("access-doctor, role-drift-guard, slr-deletion will never be triggered"),
            "{us}"
        );
        assert_eq!(count(&report, "cloudtrail", Status::Failed), 2);
        // Reading trails is all it does about them, in either mode.
        let trail_calls: Vec<&String> = report
            .report
            .aws_calls
            .iter()
            .filter(|c| c.starts_with("cloudtrail:"))
            .collect();
        assert_eq!(trail_calls, ["cloudtrail:DescribeTrails"; 2]);
        assert!(writes(&report.report.aws_calls).is_empty());
    }
}

#[tokio::test]
async fn a_logging_trail_makes_its_regions_compliant_and_a_stopped_one_does_not() {
    let account = Account::new().await;
    let regions = ["eu-west-1", "ap-southeast-2"];
    // A single-region trail covers its home region only.
    account.trail("eu-west-1", "platform-eu", false, true);
    // A multi-region trail, created as CreateTrail leaves it: not logging.
    let everywhere = account.trail("us-east-1", "org-wide", true, false);

    let (reconcile, _) = account.reconcile(Mode::Enforce, &regions);
    let first = reconcile.handle_payload(json!({})).await.unwrap();
    let found = trail_findings(&first);
    // Compliant findings are counted, not listed.
    assert_eq!(count(&first, "cloudtrail", Status::Compliant), 1);
    let failed: Vec<&str> = found.iter().map(|(r, _, _)| r.as_str()).collect();
    assert_eq!(failed, ["ap-southeast-2", "us-east-1"], "{found:?}");
    assert!(
        found[1].2.contains("trail org-wide is not logging"),
        "{}",
        found[1].2
    );

    account.start_logging("us-east-1", &everywhere);
    let second = reconcile.handle_payload(json!({})).await.unwrap();
    assert!(
        trail_findings(&second).is_empty(),
        "{:?}",
        trail_findings(&second)
    );
    assert_eq!(count(&second, "cloudtrail", Status::Compliant), 3);
    // Each region listed once; each trail's status and selectors read once, in its home
    // region, however many regions it covers.
    let calls = &second.report.aws_calls;
    let n = |op: &str| calls.iter().filter(|c| *c == op).count();
    assert_eq!(n("cloudtrail:DescribeTrails"), 3);
    assert_eq!(n("cloudtrail:GetTrailStatus"), 2);
    assert_eq!(n("cloudtrail:GetEventSelectors"), 2);
    assert!(writes(calls).is_empty());
}

#[tokio::test]
async fn bad_input_is_refused_before_any_call() {
    let account = Account::new().await;
    let (reconcile, calls) = account.reconcile(Mode::Enforce, &REGIONS);
    for (bad, kind, names) in [
        (
            json!({"regions": ["Europe"]}),
            "BadField",
            "\"Europe\" is not a region",
        ),
        (
            json!({"region": "eu-west-1"}),
            "NotAnEvent",
            "unknown field `region`",
        ),
        (
            json!({"detail-type": "EC2 Instance State-change Notification", "source": "aws.ec2"}),
            "UnexpectedDetailType",
            "expected \"Scheduled Event\"",
        ),
        (
            json!("sweep"),
            "NotAnEvent",
            "invalid type: string \"sweep\"",
        ),
    ] {
        let err = reconcile.handle_payload(bad.clone()).await.unwrap_err();
        assert_eq!(err.kind(), kind, "{bad}: {err}");
        assert!(err.to_string().contains(names), "{bad}: {err}");
    }
    assert!(calls.take().is_empty());
}

/// The benchmark docs/performance.md quotes: 3 regions × 20 clusters × 10 services, each service a
/// scalable target with a step policy. Not a timed test: it prints, it does not assert.
#[tokio::test(flavor = "multi_thread")]
#[ignore = "benchmark; run with make bench-reconcile"]
async fn bench_reconcile_3_regions_20_clusters_10_services() {
    let account = Account::new().await;
    let setup = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for region in REGIONS {
        let config = account.config_in(region);
        let slr = slr_arn(&account.id);
        tasks.spawn(async move {
            let r = RegionClients::new(&config);
            for c in 0..20 {
                for s in 0..10 {
                    let (cluster, service) = (format!("c{c:02}"), format!("s{s:02}"));
                    r.service(&cluster, &service, None, &[]).await;
                    r.target(&cluster, &service, Some(&slr)).await;
                    r.step(&cluster, &service, "out", &[(Some(0.0), None, 1)])
                        .await;
                }
            }
        });
    }
    while tasks.join_next().await.is_some() {}
    println!("setup: {:.1} s", setup.elapsed().as_secs_f64());
    for run in [
        "first sweep (creates 600 alarms)",
        "second sweep (all compliant)",
    ] {
        let (reconcile, _) = account.reconcile(Mode::Enforce, &REGIONS);
        let started = Instant::now();
        let input = Continuation {
            regions: REGIONS.map(String::from).to_vec(),
            ..Continuation::default()
        };
        let report = reconcile.sweep(&input, None, &Deadline::none()).await;
        let took = started.elapsed();
        let per_region: Vec<String> = report
            .regions
            .iter()
            .map(|r| format!("{} {} ms", r.region, r.millis))
            .collect();
        println!(
            "{run}: {:.2} s, {} AWS calls, regions: {}",
            took.as_secs_f64(),
            report.report.aws_calls.len(),
            per_region.join(", ")
        );
    }
}

#[tokio::test]
async fn every_services_execution_role_is_checked_each_revision_read_once() {
    let account = Account::new().await;
    let ecs = aws_sdk_ecs::Client::new(&account.config);
    let trust_ec2 = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;
    account
        .iam
        .create_role()
        .role_name("api-exec")
        .assume_role_policy_document(trust_ec2)
        .send()
        .await
        .unwrap();
    let register = |family: &'static str, role: String| {
        let ecs = ecs.clone();
        async move {
            ecs.register_task_definition()
                .family(family)
                .execution_role_arn(role)
                .container_definitions(
                    aws_sdk_ecs::types::ContainerDefinition::builder()
                        .name(family)
                        .image("public.ecr.aws/nginx/nginx:1.27")
                        .memory(256)
                        .build(),
                )
                .send()
                .await
                .unwrap();
        }
    };
    register(
        "web",
        format!("arn:aws:iam::{}:role/ecsTaskExecutionRole", account.id),
    )
    .await;
    register("api", format!("arn:aws:iam::{}:role/api-exec", account.id)).await;
    ecs.create_cluster()
        .cluster_name("shop")
        .send()
        .await
        .unwrap();
    for (service, revision) in [("web-a", "web:1"), ("web-b", "web:1"), ("api", "api:1")] {
        ecs.create_service()
            .cluster("shop")
            .service_name(service)
            .task_definition(revision)
            .desired_count(1)
            .send()
            .await
            .unwrap();
    }
    let (reconcile, _) = account.reconcile(Mode::Enforce, &["eu-west-1"]);
    let report = reconcile.handle_payload(json!({})).await.unwrap();
    let described = report
        .report
        .aws_calls
        .iter()
        .filter(|c| c.as_str() == "ecs:DescribeTaskDefinition")
        .count();
    assert_eq!(described, 2, "three services, two revisions");
    // The documented name is created with its managed policy, where ECS expects it.
    assert!(role_exists(&account, "ecsTaskExecutionRole").await);
    assert_eq!(
        account.attached("ecsTaskExecutionRole").await,
        ["arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy"]
    );
    // Another name: its trust is reported, never written.
    assert!(!account
        .trust("api-exec")
        .await
        .grants("ecs-tasks.amazonaws.com"));
    let api = report
        .report
        .findings
        .iter()
        .find(|f| f.resource.ends_with("role/api-exec") && f.check == "trust")
        .expect("the custom role's trust finding");
    assert_ne!(api.status, Status::Repaired, "{api:?}");
    assert!(
        !writes(&report.report.aws_calls)
            .iter()
            .any(|c| c.as_str() == "iam:UpdateAssumeRolePolicy"),
        "{:?}",
        report.report.aws_calls
    );
}
