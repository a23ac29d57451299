//! Deadlines on a large account: 3 regions × 50 clusters × 20 services in moto. A sweep
//! with a short deadline stops, hands on a continuation, and the next invocations (as the
//! reconcile state machine runs them) carry on until everything is swept once; a deletion
//! plan over the same account stays under Step Functions' 256 KB; a drain stopped by its
//! deadline or its write budget carries on in the next step and still ends deleted.

use std::time::Duration;

use aws_config::SdkConfig;
use ecs_warden::domain::catalog::{ECS_SERVICE_LINKED_ROLE, ECS_SERVICE_ROLE};
use ecs_warden::handlers::reconcile::SweepReport;
use ecs_warden::handlers::slr_deletion::{Answer, DeletionState, DELETED_KEPT};

use ecs_warden::invocation::clock::Clock;
use ecs_warden::invocation::deadline::Deadline;
use ecs_warden::invocation::settings::Mode;
use serde_json::{json, Value};
use tokio::task::JoinSet;
use warden_tests::{Account, RegionClients};

const REGIONS: [&str; 3] = ["eu-west-1", "us-east-1", "ap-southeast-2"];
const CLUSTERS: usize = 50;
const SERVICES: usize = 20;
/// Step policies (without alarms) per region, on the first services of the first cluster.
const POLICIES: usize = 5;
/// Step Functions' limit on the state passed between states.
const STATE_LIMIT: usize = 256 * 1024;

/// `clusters` clusters of `services` services each in the region `config` acts in, the
/// first service of the first cluster naming the legacy role, and `policies` step policies
/// without alarms.
async fn fill(config: SdkConfig, clusters: usize, services: usize, policies: usize) {
    RegionClients::new(&config)
        .fleet(clusters, services, policies, Some(ECS_SERVICE_ROLE.name))
        .await;
}

/// How many step policies in `region` no alarm invokes.
async fn policies_without_alarm(account: &Account, region: &str) -> usize {
    let clients = RegionClients::new(&account.config_in(region));
    let alarms = clients.alarms().await;
    let policies = clients
        .autoscaling
        .describe_scaling_policies()
        .service_namespace(aws_sdk_applicationautoscaling::types::ServiceNamespace::Ecs)
        .send()
        .await
        .expect("describe policies");
    policies
        .scaling_policies()
        .iter()
        .filter(|p| {
            !alarms
                .iter()
                .any(|a| a.alarm_actions().iter().any(|x| x == p.policy_arn()))
        })
        .count()
}

#[tokio::test]
async fn a_large_account_is_swept_across_invocations_and_its_deletion_state_stays_small() {
    let account = Account::new().await;
    // The events' prerequisite, so that no finding fails: the sweep reads it once, in its
    // first invocation.
    account.trail("us-east-1", "account-trail", true, true);
    let mut filling = JoinSet::new();
    for region in REGIONS {
        filling.spawn(fill(
            account.config_in(region),
            CLUSTERS,
            SERVICES,
            POLICIES,
        ));
    }
    filling.join_all().await;

    // The sweep: each invocation's deadline passes at its 20th check (a clock that moves a
    // second at every reading), however fast moto answers; each continuation is fed back as
    // the state machine does, until one ends without.
    let (reconcile, _) = account.reconcile(Mode::Enforce, &REGIONS);
    let clock = Clock::ticking(0, Duration::from_secs(1));
    let mut input = json!({});
    let mut reports: Vec<SweepReport> = Vec::new();
    loop {
        assert!(reports.len() < 100, "no end after 100 invocations");
        let deadline = Deadline::on(&clock, Duration::from_secs(20));
        let report = reconcile
            .handle_within(input, deadline)
            .await
            .expect("accepted");
        let answer = serde_json::to_value(&report).expect("the report serializes");
        assert!(
            answer.to_string().len() < STATE_LIMIT,
            "an invocation's answer is over 256 KB"
        );
        assert!(
            report
                .report
                .findings
                .iter()
                .all(|f| f.status != ecs_warden::invocation::report::Status::Failed),
            "{:#?}",
            report.report.findings
        );
        let next = answer["continuation"].clone();
        reports.push(report);
        if next.is_null() {
            break;
        }
        input = next;
    }
    let invocations = reports.len();
    println!("swept in {invocations} invocations");
    assert!(invocations > 1, "the deadline never stopped a sweep");
    // Every cluster and service read exactly once over all invocations, every policy checked.
    for region in REGIONS {
        let per_region: Vec<_> = reports
            .iter()
            .flat_map(|r| &r.regions)
            .filter(|r| r.region == region)
            .collect();
        let clusters: usize = per_region.iter().map(|r| r.clusters).sum();
        let services: usize = per_region.iter().map(|r| r.services).sum();
        let policies: usize = per_region.iter().map(|r| r.scaling_policies).sum();
        assert_eq!(
            (clusters, services, policies),
            (CLUSTERS, CLUSTERS * SERVICES, POLICIES),
            "{region}"
        );
        assert_eq!(
            policies_without_alarm(&account, region).await,
            0,
            "{region}"
        );
    }
    for role in [ECS_SERVICE_LINKED_ROLE.name, ECS_SERVICE_ROLE.name] {
        assert!(account.role(role).await.is_some(), "{role} was not created");
    }

    // A deletion plan over the same account: blocked (no drain), its whole answer far below
    // the limit, the inventory cut and saying so.
    // The sweep created the ECS role (there are clusters), checked above.
    let (deletion, _) = account.slr_deletion(Mode::Enforce);
    let start = json!({"role_name": ECS_SERVICE_LINKED_ROLE.name, "regions": REGIONS});
    let Answer::Step(out) = deletion.handle_payload(start).await.expect("accepted") else {
        panic!("a deletion step")
    };
    let answer = serde_json::to_value(&*out).expect("serializes");
    let size = answer.to_string().len();
    println!("deletion plan answer: {size} bytes");
    assert!(size < STATE_LIMIT / 2, "{size} bytes");
    assert_eq!(answer["outcome"], "blocked");
    assert!(answer["inventory_cut"].is_string(), "{answer:#}");
}

/// Drives a deletion to its end with `deadline` per step, as the state machine does;
/// returns every step's answer.
async fn drive(account: &Account, start: Value, deadline: Duration) -> Vec<Value> {
    let clock = Clock::manual(0);
    let (deletion, _) = account.slr_deletion_at(Mode::Enforce, &clock);
    let mut input = start;
    let mut now = 1_790_000_000;
    let mut outputs = Vec::new();
    for _ in 0..60 {
        clock.set(now);
        let Answer::Step(out) = deletion
            .handle_within(input, Deadline::on(&clock, deadline))
            .await
            .expect("accepted")
        else {
            panic!("a deletion step")
        };
        let json = serde_json::to_value(&*out).expect("serializes");
        assert!(
            json.to_string().len() < STATE_LIMIT,
            "a step's answer is over 256 KB"
        );
        let back: DeletionState = serde_json::from_value(json.clone()).expect("round trip");
        assert_eq!(back, out.state);
        outputs.push(json.clone());
        if out.state.progress.is_done() {
            return outputs;
        }
        now += out.state.progress.wait_seconds;
        input = json;
    }
    panic!("no end after 60 steps")
}

#[tokio::test]
async fn a_drain_stopped_by_its_deadline_or_its_write_budget_carries_on_to_the_end() {
    let account = Account::new().await;
    account.create_ecs_role().await;
    // 3 clusters × 3 services at 1 task: 21 writes, one per step.
    fill(account.config_in("eu-west-1"), 3, 3, 0).await;
    let start = json!({"role_name": ECS_SERVICE_LINKED_ROLE.name, "regions": ["eu-west-1"],
        "drain": true, "confirm_account": account.id});

    // A deadline already past: each drain step makes its one write and hands on.
    let outputs = drive(&account, start.clone(), Duration::ZERO).await;
    let cut_by_deadline = outputs.iter().any(|o| {
        o["waiting"].as_array().is_some_and(|w| {
            w.iter()
                .any(|l| l.as_str().unwrap_or_default().contains("deadline"))
        })
    });
    assert!(cut_by_deadline, "no step said it stopped at the deadline");
    let drains = outputs.iter().filter(|o| o["phase"] != "done").count();
    println!("with a past deadline: {} steps", outputs.len());
    assert!(drains >= 3, "{drains} steps");
    // It stopped early, but not for ever: the account still ends without the role.
    let last = outputs.last().expect("steps");
    assert_eq!(last["outcome"], "deleted", "{last:#}");
    assert!(account.role(ECS_SERVICE_LINKED_ROLE.name).await.is_none());
}

#[tokio::test]
async fn a_drain_without_a_deadline_is_cut_by_its_write_budget_and_counts_everything() {
    let account = Account::new().await;
    account.create_ecs_role().await;
    fill(account.config_in("eu-west-1"), 10, 10, 0).await;
    let start = json!({"role_name": ECS_SERVICE_LINKED_ROLE.name, "regions": ["eu-west-1"],
        "drain": true, "confirm_account": account.id});
    // 10 clusters × 10 services at 1 task: 200 writes for the services alone, four times
    // a step's budget.
    let outputs = drive(&account, start, Duration::from_secs(3600)).await;
    let last = outputs.last().expect("steps");
    assert_eq!(last["outcome"], "deleted", "{last:#}");
    // 100 services and 10 clusters deleted; the state keeps the latest 100.
    assert_eq!(last["deleted_count"], 110);
    assert_eq!(last["deleted"].as_array().map(Vec::len), Some(DELETED_KEPT));
    let writes_per_step: Vec<usize> = outputs
        .iter()
        .map(|o| {
            o["aws_calls"].as_array().map_or(0, |c| {
                let calls: Vec<String> = c
                    .iter()
                    .filter_map(|x| x.as_str().map(String::from))
                    .collect();
                warden_tests::writes(&calls).len()
            })
        })
        .collect();
    println!("writes per step: {writes_per_step:?}");
    assert!(
        writes_per_step
            .iter()
            .all(|w| *w <= ecs_warden::domain::clusters::WRITES_PER_STEP + 1),
        "{writes_per_step:?}"
    );
    assert!(writes_per_step.iter().filter(|w| **w > 0).count() >= 4);
}
