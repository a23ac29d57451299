//! The deletion's answers moto cannot give (its tasks always SUCCEED at once): a task that
//! is NOT_STARTED then IN_PROGRESS, a FAILED task with a RoleUsageList, a purged task,
//! throttling, the deadline, and how many polls a task of a given length costs.

use aws_config::SdkConfig;
use aws_sdk_ecs::operation::delete_cluster::DeleteClusterOutput;
use aws_sdk_ecs::operation::describe_clusters::DescribeClustersOutput;
use aws_sdk_ecs::operation::list_clusters::ListClustersOutput;
use aws_sdk_ecs::operation::list_container_instances::ListContainerInstancesOutput;
use aws_sdk_ecs::operation::list_services::ListServicesOutput;
use aws_sdk_ecs::types::Cluster;
use aws_sdk_iam::operation::delete_service_linked_role::DeleteServiceLinkedRoleOutput;
use aws_sdk_iam::operation::get_service_linked_role_deletion_status::GetServiceLinkedRoleDeletionStatusOutput;
use aws_sdk_iam::types::{DeletionTaskFailureReasonType, DeletionTaskStatusType, RoleUsageType};
use aws_sdk_sts::operation::get_caller_identity::GetCallerIdentityOutput;
use ecs_warden::aws::mocks::{mock, MockRules, Rule};
use ecs_warden::aws::Regional;
use ecs_warden::handlers::slr_deletion::{
    Answer, DeletionState, Outcome, SlrDeletion, MAX_POLL_SECONDS,
};
use ecs_warden::handlers::{Deps, Function};
use ecs_warden::invocation::clock::Clock;
use ecs_warden::invocation::settings::Mode;
use serde_json::{json, Value};

const ACCOUNT: &str = "111122223333";
const CLUSTER: &str = "arn:aws:ecs:eu-west-1:111122223333:cluster/payments";
const T0: u64 = 1_790_000_000;

fn iam_error(code: &str, message: &str) -> Option<String> {
    Some(format!(
        "<ErrorResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\"><Error><Type>Sender</Type>\
         <Code>{code}</Code><Message>{message}</Message></Error><RequestId>r-1</RequestId></ErrorResponse>"
    ))
}

/// ECS answers for a region holding nothing (or, with `cluster`, one empty cluster).
fn ecs_rules(cluster_listings: Vec<bool>) -> Vec<Rule> {
    let mut listing = mock!(aws_sdk_ecs::Client::list_clusters).sequence();
    for with_cluster in cluster_listings {
        listing = listing.output(move || {
            let out = ListClustersOutput::builder();
            if with_cluster {
                out.cluster_arns(CLUSTER).build()
            } else {
                out.build()
            }
        });
    }
    vec![
        listing
            .output(|| ListClustersOutput::builder().build())
            .repeatedly()
            .build(),
        mock!(aws_sdk_ecs::Client::describe_clusters).then_output(|| {
            DescribeClustersOutput::builder()
                .clusters(
                    Cluster::builder()
                        .cluster_arn(CLUSTER)
                        .status("ACTIVE")
                        .build(),
                )
                .build()
        }),
        mock!(aws_sdk_ecs::Client::list_services)
            .then_output(|| ListServicesOutput::builder().build()),
        mock!(aws_sdk_ecs::Client::list_container_instances)
            .then_output(|| ListContainerInstancesOutput::builder().build()),
        mock!(aws_sdk_ecs::Client::delete_cluster)
            .then_output(|| DeleteClusterOutput::builder().build()),
    ]
}

fn driver(iam: &[&Rule], ecs: &[Rule], mode: Mode, clock: &Clock) -> Function<SlrDeletion> {
    let caller = mock!(aws_sdk_sts::Client::get_caller_identity)
        .then_output(|| GetCallerIdentityOutput::builder().account(ACCOUNT).build());
    let ecs: Vec<&Rule> = ecs.iter().collect();
    // Retrying as the functions do (a throttled status call is retried), at once.
    let clients = MockRules {
        iam,
        ecs: &ecs,
        sts: &[&caller],
        attempts: Some(4),
        ..MockRules::default()
    }
    .clients();
    let mode = match mode {
        Mode::Audit => "audit",
        Mode::Enforce => "enforce",
    };
    let deps =
        Deps::from_lookup(
            "slr-deletion",
            SdkConfig::builder().build(),
            move |name| match name {
                "WARDEN_MODE" => Some(mode.into()),
                "WARDEN_REGIONS" => Some("eu-west-1,us-east-1".into()),
                _ => None,
            },
        )
        .expect("a valid configuration");
    let deps = Deps {
        clock: clock.clone(),
        ..deps
    };
    let handler = SlrDeletion::with_clients(&deps, clients.clone(), Regional::fixed(clients));
    Function::new(handler, &deps)
}

fn submitted(task: &'static str) -> Rule {
    mock!(aws_sdk_iam::Client::delete_service_linked_role).then_output(move || {
        DeleteServiceLinkedRoleOutput::builder()
            .deletion_task_id(task)
            .build()
            .unwrap()
    })
}

fn status(status: DeletionTaskStatusType) -> GetServiceLinkedRoleDeletionStatusOutput {
    GetServiceLinkedRoleDeletionStatusOutput::builder()
        .status(status)
        .build()
        .unwrap()
}

fn failed_in_use(resources: &[&str]) -> GetServiceLinkedRoleDeletionStatusOutput {
    let usage = RoleUsageType::builder()
        .region("eu-west-1")
        .set_resources(Some(resources.iter().map(|r| r.to_string()).collect()))
        .build();
    GetServiceLinkedRoleDeletionStatusOutput::builder()
        .status(DeletionTaskStatusType::Failed)
        .reason(
            DeletionTaskFailureReasonType::builder()
                .reason("The role is in use by ECS clusters")
                .role_usage_list(usage)
                .build(),
        )
        .build()
        .unwrap()
}

/// Runs to the end from `start`, through JSON between steps, on a clock that advances by
/// each `wait_seconds`; returns the outputs and the clock at the end.
async fn drive(deletion: &Function<SlrDeletion>, start: Value, clock: &Clock) -> Vec<Value> {
    let mut input = start;
    let mut outputs = Vec::new();
    for _ in 0..200 {
        let Answer::Step(out) = deletion.handle_payload(input).await.expect("accepted") else {
            panic!("a step")
        };
        let json = serde_json::to_value(&*out).unwrap();
        let back: DeletionState = serde_json::from_value(json.clone()).unwrap();
        assert_eq!(back, out.state, "the state round-trips through JSON");
        outputs.push(json.clone());
        if out.state.progress.is_done() {
            return outputs;
        }
        clock.advance(out.state.progress.wait_seconds);
        input = json;
    }
    panic!("no end after 200 steps")
}

fn start(drain: bool) -> Value {
    json!({"role_name": "AWSServiceRoleForECS", "regions": ["eu-west-1"], "drain": drain,
           "confirm_account": ACCOUNT})
}

fn outcome(outputs: &[Value]) -> Outcome {
    serde_json::from_value(outputs.last().unwrap()["outcome"].clone()).unwrap()
}

#[tokio::test]
async fn a_task_not_started_then_in_progress_is_polled_until_it_succeeds() {
    let poll = mock!(aws_sdk_iam::Client::get_service_linked_role_deletion_status)
        .sequence()
        .output(|| status(DeletionTaskStatusType::NotStarted))
        .output(|| status(DeletionTaskStatusType::InProgress))
        .output(|| status(DeletionTaskStatusType::InProgress))
        .output(|| status(DeletionTaskStatusType::Succeeded))
        .build();
    let submit = submitted("task-1");
    let clock = Clock::manual(T0);
    let deletion = driver(&[&submit, &poll], &ecs_rules(vec![]), Mode::Enforce, &clock);
    let outputs = drive(&deletion, start(false), &clock).await;
    assert_eq!(outcome(&outputs), Outcome::Deleted);
    let waits: Vec<u64> = outputs
        .iter()
        .filter(|o| o["phase"] == "poll")
        .map(|o| o["wait_seconds"].as_u64().unwrap())
        .collect();
    assert_eq!(waits, [5, 10, 20, 40], "submit, then each pending poll");
    assert_eq!(poll.num_calls(), 4);
    assert_eq!(submit.num_calls(), 1);
}

#[tokio::test]
async fn a_failed_task_drains_the_regions_iam_names_and_is_submitted_again() {
    let poll = mock!(aws_sdk_iam::Client::get_service_linked_role_deletion_status)
        .sequence()
        .output(|| failed_in_use(&[CLUSTER]))
        .output(|| status(DeletionTaskStatusType::Succeeded))
        .build();
    let submit = submitted("task-n");
    // The plan sees nothing; IAM then names a cluster that the drain step finds and deletes.
    let ecs = ecs_rules(vec![false, true]);
    let clock = Clock::manual(T0);
    let deletion = driver(&[&submit, &poll], &ecs, Mode::Enforce, &clock);
    let outputs = drive(&deletion, start(true), &clock).await;
    assert_eq!(
        outcome(&outputs),
        Outcome::Deleted,
        "{:#}",
        outputs.last().unwrap()
    );
    let phases: Vec<&str> = outputs
        .iter()
        .map(|o| o["phase"].as_str().unwrap())
        .collect();
    assert_eq!(
        phases,
        ["submit", "poll", "drain", "submit", "poll", "done"]
    );
    assert_eq!(outputs[2]["drain_regions"], json!(["eu-west-1"]));
    assert_eq!(outputs.last().unwrap()["deleted"], json!([CLUSTER]));
    assert_eq!(submit.num_calls(), 2);
}

#[tokio::test]
async fn a_task_that_keeps_failing_ends_failed_with_every_resource_reported() {
    let resources = [CLUSTER, "arn:aws:ecs:eu-west-1:111122223333:cluster/batch"];
    let poll = mock!(aws_sdk_iam::Client::get_service_linked_role_deletion_status)
        .then_output(move || failed_in_use(&resources));
    let submit = submitted("task-x");
    let ecs = ecs_rules(vec![false, true, true]);
    let clock = Clock::manual(T0);
    let deletion = driver(&[&submit, &poll], &ecs, Mode::Enforce, &clock);
    let outputs = drive(&deletion, start(true), &clock).await;
    assert_eq!(outcome(&outputs), Outcome::Failed);
    let last = outputs.last().unwrap();
    assert_eq!(submit.num_calls(), 3, "the default three attempts");
    assert_eq!(last["reason"], "The role is in use by ECS clusters");
    assert_eq!(last["role_usage"][0]["region"], "eu-west-1");
    assert_eq!(last["role_usage"][0]["resources"], json!(resources));
    let detail = last["findings"][0]["detail"].as_str().unwrap();
    assert!(
        detail.contains(resources[0]) && detail.contains(resources[1]),
        "{detail}"
    );

    // Without drain, the first FAILED ends it.
    let poll = mock!(aws_sdk_iam::Client::get_service_linked_role_deletion_status)
        .then_output(move || failed_in_use(&resources));
    let submit = submitted("task-y");
    let clock = Clock::manual(T0);
    let deletion = deletion_without_drain(&submit, &poll, &clock);
    let outputs = drive(&deletion, start(false), &clock).await;
    assert_eq!(outcome(&outputs), Outcome::Failed);
    assert_eq!(submit.num_calls(), 1);
}

fn deletion_without_drain(submit: &Rule, poll: &Rule, clock: &Clock) -> Function<SlrDeletion> {
    driver(&[submit, poll], &ecs_rules(vec![]), Mode::Enforce, clock)
}

#[tokio::test]
async fn a_purged_task_with_the_role_gone_is_deleted() {
    let poll = mock!(aws_sdk_iam::Client::get_service_linked_role_deletion_status)
        .sequence()
        .http_status(404, iam_error("NoSuchEntity", "Deletion task not found"))
        .build();
    let role = mock!(aws_sdk_iam::Client::get_role)
        .sequence()
        .http_status(404, iam_error("NoSuchEntity", "The role cannot be found."))
        .build();
    let submit = submitted("task-2");
    let clock = Clock::manual(T0);
    let deletion = driver(
        &[&submit, &poll, &role],
        &ecs_rules(vec![]),
        Mode::Enforce,
        &clock,
    );
    let outputs = drive(&deletion, start(false), &clock).await;
    assert_eq!(outcome(&outputs), Outcome::Deleted);
    assert_eq!(role.num_calls(), 1, "confirmed with GetRole");
}

#[tokio::test]
async fn throttling_on_the_status_call_is_retried() {
    let poll = mock!(aws_sdk_iam::Client::get_service_linked_role_deletion_status)
        .sequence()
        .http_status(400, iam_error("Throttling", "Rate exceeded"))
        .times(2)
        .output(|| status(DeletionTaskStatusType::Succeeded))
        .build();
    let submit = submitted("task-3");
    let clock = Clock::manual(T0);
    let deletion = driver(&[&submit, &poll], &ecs_rules(vec![]), Mode::Enforce, &clock);
    let outputs = drive(&deletion, start(false), &clock).await;
    assert_eq!(outcome(&outputs), Outcome::Deleted);
    assert_eq!(poll.num_calls(), 3, "two throttles, then the answer");

    // Throttled past the SDK's attempts: the step says so and polls again later.
    let poll = mock!(aws_sdk_iam::Client::get_service_linked_role_deletion_status)
        .sequence()
        .http_status(400, iam_error("Throttling", "Rate exceeded"))
        .times(4)
        .output(|| status(DeletionTaskStatusType::Succeeded))
        .build();
    let submit = submitted("task-4");
    let clock = Clock::manual(T0);
    let deletion = driver(&[&submit, &poll], &ecs_rules(vec![]), Mode::Enforce, &clock);
    let outputs = drive(&deletion, start(false), &clock).await;
    assert_eq!(outcome(&outputs), Outcome::Deleted);
    let throttled = &outputs[2];
    assert_eq!(throttled["phase"], "poll");
    assert!(throttled["findings"][0]["detail"]
        .as_str()
        .unwrap()
        .contains("polled again next step"));
}

#[tokio::test]
async fn a_deadline_that_passes_ends_the_deletion_failed() {
    let poll = mock!(aws_sdk_iam::Client::get_service_linked_role_deletion_status)
        .then_output(|| status(DeletionTaskStatusType::InProgress));
    let submit = submitted("task-5");
    let clock = Clock::manual(T0);
    let deletion = driver(&[&submit, &poll], &ecs_rules(vec![]), Mode::Enforce, &clock);
    let mut begin = start(false);
    begin["deadline_seconds"] = 120.into();
    let outputs = drive(&deletion, begin, &clock).await;
    assert_eq!(outcome(&outputs), Outcome::Failed);
    let last = outputs.last().unwrap();
    assert_eq!(last["task_status"], "IN_PROGRESS");
    assert_eq!(last["findings"][0]["check"], "deadline");
    let waited: u64 = outputs
        .iter()
        .map(|o| o["wait_seconds"].as_u64().unwrap())
        .sum();
    assert!(waited <= 120, "never waits past the deadline: {waited}");
}

#[tokio::test]
async fn polls_for_a_task_of_t_seconds_stay_within_the_backoff_bound() {
    for task_seconds in [10_u64, 60, 300, 1800] {
        let clock = Clock::manual(T0);
        let seen = clock.clone();
        let poll = mock!(aws_sdk_iam::Client::get_service_linked_role_deletion_status).then_output(
            move || {
                if seen.now() >= T0 + task_seconds {
                    status(DeletionTaskStatusType::Succeeded)
                } else {
                    status(DeletionTaskStatusType::InProgress)
                }
            },
        );
        let submit = submitted("task-t");

        let deletion = driver(&[&submit, &poll], &ecs_rules(vec![]), Mode::Enforce, &clock);
        let mut begin = start(false);
        begin["deadline_seconds"] = 3600.into();
        let outputs = drive(&deletion, begin, &clock).await;
        assert_eq!(outcome(&outputs), Outcome::Deleted, "T = {task_seconds}");
        let polls = poll.num_calls() as u64;
        // Waits run 5, 10, 20, 40 (75 s in all), then 60 s each.
        let bound = 5 + task_seconds.saturating_sub(75).div_ceil(MAX_POLL_SECONDS);
        assert!(
            polls <= bound,
            "T = {task_seconds}: {polls} polls > {bound}"
        );
        let late = clock.now() - (T0 + task_seconds);
        assert!(
            late <= MAX_POLL_SECONDS,
            "T = {task_seconds}: noticed {late} s late"
        );
    }
}

#[tokio::test]
async fn audit_mode_submits_nothing() {
    let submit = submitted("never");
    let clock = Clock::manual(T0);
    let deletion = driver(&[&submit], &ecs_rules(vec![]), Mode::Audit, &clock);
    let outputs = drive(&deletion, start(false), &clock).await;
    assert_eq!(outcome(&outputs), Outcome::Blocked);
    assert_eq!(submit.num_calls(), 0);
    assert_eq!(
        outputs.last().unwrap()["findings"]
            .as_array()
            .unwrap()
            .last()
            .unwrap()["status"],
        "would_repair"
    );
}
