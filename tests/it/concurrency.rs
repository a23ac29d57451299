//! Concurrent containers and repeated deliveries on one account. Fifty events of mixed
//! kinds run at once, each in its own handler as a separate container would run it, and
//! then ten reconciles run at once. Each time the account must end right: every role once
//! with its policy, one alarm per step policy, no failed finding, and no role reported
//! created twice.

use ecs_warden::domain::catalog::{
    ECS_AUTOSCALING_SERVICE_LINKED_ROLE, ECS_SERVICE_LINKED_ROLE, ECS_SERVICE_ROLE,
};
use std::collections::HashMap;
use std::time::Duration;

use ecs_warden::invocation::settings::Mode;
use serde_json::Value;
use tokio::task::JoinSet;
use warden_tests::{findings_in, Account, FoundFinding, RegionClients};

const CLUSTER: &str = "payments";
const SERVICE: &str = "web";
const SERVICE_ROLE_POLICY: &str =
    "arn:aws:iam::aws:policy/service-role/AmazonEC2ContainerServiceRole";
const OUR_ALARM: &str = "ecs-warden/payments/web/cpu-scale-out";

/// The kinds the fifty events cycle through: both functions, every role, one alarm.
const KINDS: [&str; 5] = [
    "ecs-create-cluster.json",
    "ecs-create-service-legacy-role.json",
    "ecs-create-service.json",
    "autoscaling-register-scalable-target.json",
    "autoscaling-put-step-policy.json",
];

/// The service, scalable target and step policy the scaling samples record.
async fn arranged() -> (Account, RegionClients) {
    let account = Account::new().await;
    // A logging multi-region trail, as a real account needs for the events to arrive; the
    // reconciles read it and find nothing to fail on.
    account.trail("us-east-1", "account-trail", true, true);
    let region = RegionClients::new(&account.config);
    region.service(CLUSTER, SERVICE, None, &[]).await;
    region.target(CLUSTER, SERVICE, None).await;
    region
        .step(
            CLUSTER,
            SERVICE,
            "cpu-scale-out",
            &[(Some(0.0), Some(15.0), 1), (Some(15.0), None, 2)],
        )
        .await;
    (account, region)
}

/// What every task answered, as JSON.
async fn answers(tasks: JoinSet<serde_json::Result<Value>>) -> Vec<Value> {
    tasks
        .join_all()
        .await
        .into_iter()
        .map(|a| a.expect("answers serialize"))
        .collect()
}

/// No answer failed anything, and no role was reported created twice.
fn assert_consistent(answers: &[Value]) {
    let all: Vec<FoundFinding> = answers.iter().flat_map(findings_in).collect();
    assert!(
        !all.is_empty(),
        "the answers hold no findings: {answers:#?}"
    );
    let failed: Vec<_> = all.iter().filter(|f| f.status == "failed").collect();
    assert!(failed.is_empty(), "failed findings: {failed:#?}");
    // IAM refuses a second create of a role, and the functions read that refusal as "it
    // exists"; CloudWatch's PutMetricAlarm is an upsert with no conditional form, so
    // racing containers may each report the same alarm created (one alarm, asserted on
    // moto's state below).
    let mut created: HashMap<(&str, &str), usize> = HashMap::new();
    for f in &all {
        if f.status == "created" && f.resource.starts_with("arn:aws:iam:") {
            *created.entry((&f.resource, &f.check)).or_default() += 1;
        }
    }
    let twice: Vec<_> = created.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "created more than once: {twice:#?}");
}

/// The end state both tests expect, read from moto.
async fn assert_account_is_right(account: &Account, region: &RegionClients) {
    for role in [ECS_SERVICE_LINKED_ROLE, ECS_AUTOSCALING_SERVICE_LINKED_ROLE] {
        assert!(
            account.role(role.name).await.is_some(),
            "{} missing",
            role.name
        );
    }
    assert!(account.role(ECS_SERVICE_ROLE.name).await.is_some());
    assert_eq!(
        account.attached(ECS_SERVICE_ROLE.name).await,
        [SERVICE_ROLE_POLICY]
    );
    let alarms: Vec<_> = region
        .alarms()
        .await
        .into_iter()
        .filter_map(|a| a.alarm_name().map(str::to_owned))
        .collect();
    assert_eq!(alarms, [OUR_ALARM], "one alarm for the one step policy");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_events_at_once_leave_one_of_everything() {
    let (account, region) = arranged().await;
    let mut tasks = JoinSet::new();
    for i in 0..50 {
        let file = KINDS[i % KINDS.len()];
        let payload = account.event(file);
        if file.starts_with("autoscaling") {
            let (guard, _) = account.scaling_guard(Mode::Enforce);
            tasks.spawn(async move {
                serde_json::to_value(guard.handle_payload(payload).await.expect("accepted"))
            });
        } else {
            let (guard, _) = account.role_guard(Mode::Enforce, Duration::ZERO);
            tasks.spawn(async move {
                serde_json::to_value(guard.handle_payload(payload).await.expect("accepted"))
            });
        }
    }
    let answers = answers(tasks).await;
    assert_eq!(answers.len(), 50);
    assert_consistent(&answers);
    assert_account_is_right(&account, &region).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn ten_reconciles_at_once_leave_one_of_everything() {
    let (account, region) = arranged().await;
    // The legacy role is not needed until a service names it: create it so the sweep
    // checks its policy too.
    let (guard, _) = account.role_guard(Mode::Enforce, Duration::ZERO);
    guard
        .handle_payload(account.event("ecs-create-service-legacy-role.json"))
        .await
        .expect("accepted");
    let mut tasks = JoinSet::new();
    for _ in 0..10 {
        let (reconcile, _) = account.reconcile(Mode::Enforce, &[warden_tests::SAMPLE_REGION]);
        tasks.spawn(async move {
            serde_json::to_value(
                reconcile
                    .handle_payload(serde_json::json!({ "regions": [warden_tests::SAMPLE_REGION] }))
                    .await
                    .expect("accepted"),
            )
        });
    }
    let answers = answers(tasks).await;
    assert_consistent(&answers);
    assert_account_is_right(&account, &region).await;
}

/// Invocations of one handler at once, as Lambda's concurrent runtime would run them in one
/// container: each report lists its own calls only, exactly those the same event costs
/// alone, and together they are every call the handler made.
#[tokio::test(flavor = "multi_thread")]
async fn invocations_of_one_handler_at_once_each_report_only_their_own_calls() {
    let account = Account::new().await;
    let (guard, seen) = account.role_guard(Mode::Enforce, Duration::ZERO);
    let cluster = account.event("ecs-create-cluster.json");
    let legacy = account.event("ecs-create-service-legacy-role.json");
    // Alone, once to create the roles and once more for what a compliant account costs.
    for event in [&cluster, &legacy, &cluster, &legacy] {
        guard.handle_payload(event.clone()).await.expect("alone");
    }
    seen.take();
    let alone_cluster = guard.handle_payload(cluster.clone()).await.unwrap();
    let alone_legacy = guard.handle_payload(legacy.clone()).await.unwrap();
    assert_ne!(alone_cluster.aws_calls, alone_legacy.aws_calls);
    seen.take();

    let events: Vec<&Value> = [&cluster, &legacy].into_iter().cycle().take(16).collect();
    let reports = futures_util::future::join_all(
        events
            .iter()
            .map(|event| guard.handle_payload((*event).clone())),
    )
    .await;
    let mut reported = Vec::new();
    for (event, report) in events.iter().zip(reports) {
        let report = report.expect("answered");
        let alone = if *event == &cluster {
            &alone_cluster
        } else {
            &alone_legacy
        };
        assert_eq!(report.event_id, event["id"].as_str().map(String::from));
        assert_eq!(report.aws_calls, alone.aws_calls, "{}", event["id"]);
        reported.extend(report.aws_calls);
    }
    let mut made = seen.take();
    made.sort();
    reported.sort();
    assert_eq!(made, reported, "every call made is in exactly one report");
}
