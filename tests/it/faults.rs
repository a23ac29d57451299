//! Faults between the functions and AWS. Each function runs the same events on fresh
//! accounts: one talking to moto directly, three through a proxy that gives 20 % of its
//! requests a fault (throttling, 500, 503, a reset before the request or after its write,
//! a slow answer). An event whose answer holds a failed finding is delivered again, as
//! EventBridge's at-least-once delivery or the next reconcile would. Every account must
//! end holding the same snapshot, and on the way every failed finding must name what
//! failed, no answer may be an error, and a role left without its required policy must
//! have a failed finding saying so.

use ecs_warden::domain::catalog::{RoleSpec, ECS_AUTOSCALE_ROLE, ECS_SERVICE_ROLE};
use ecs_warden::handlers::slr_deletion::Answer;
use std::future::Future;
use std::io::Write;
use std::time::{Duration, Instant};

use ecs_warden::invocation::clock::Clock;
use ecs_warden::invocation::report::Status;
use ecs_warden::invocation::settings::Mode;
use serde_json::{json, Value};
use warden_tests::{
    broken_world, endpoint, findings_in, Account, FaultProxy, RegionClients, SWEPT_REGIONS,
};

/// Accounts per test whose requests go through the proxy.
const FAULTY_RUNS: usize = 3;
/// The share of requests that get a fault.
const PERCENT: u64 = 20;
/// Deliveries of one event before the test gives up: the first and four redeliveries.
/// Comparing weaker retry policies (`WARDEN_TEST_RETRY`) needs more.
fn deliveries() -> usize {
    if std::env::var_os(warden_tests::RETRY_ENV).is_some() {
        50
    } else {
        5
    }
}
const REGION: &str = "eu-west-1";
const CLUSTER: &str = "payments";
const SERVICE: &str = "web";
/// The roles with a required managed policy: a partial role is one without it.
const WITH_POLICY: [&RoleSpec; 2] = [&ECS_SERVICE_ROLE, &ECS_AUTOSCALE_ROLE];

/// What one test saw: answers read, redeliveries, failed calls (each naming its action),
/// and the time both runs took.
#[derive(Debug)]
struct Tally {
    deliveries: usize,
    redeliveries: usize,
    failed: Vec<String>,
    /// Roles some answer gave a failed finding: a partial role must be one of them.
    reported: Vec<String>,
    started: Instant,
}

impl Default for Tally {
    fn default() -> Self {
        Self {
            deliveries: 0,
            redeliveries: 0,
            failed: Vec::new(),
            reported: Vec::new(),
            started: Instant::now(),
        }
    }
}

/// Whether `detail` names an AWS action (`iam:CreateRole`, `ecs:DeleteCluster`, ...).
fn names_an_action(detail: &str) -> bool {
    detail.split_whitespace().any(|word| {
        word.split_once(':').is_some_and(|(service, op)| {
            !service.is_empty()
                && service
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
                && op.starts_with(|c: char| c.is_ascii_uppercase())
        })
    })
}

/// Whether a failed finding's detail is a call that failed (`CallError::explain`), not a
/// verdict such as a missing permission.
fn is_call_failure(detail: &str) -> bool {
    detail.contains(" failed: ") || detail.contains(" failed without an answer")
}

impl Tally {
    /// Checks one answer; returns whether it holds a failed finding.
    async fn check(&mut self, account: &Account, answer: &Value) -> bool {
        self.deliveries += 1;
        let all = findings_in(answer);
        let failed: Vec<_> = all.iter().filter(|f| f.status == "failed").collect();
        for f in &failed {
            assert!(
                names_an_action(&f.detail),
                "a failed finding on {} does not name its action: {}",
                f.resource,
                f.detail
            );
        }
        // A missing permission is a failed finding too (access-doctor's diagnosis, a
        // refusal), the same with or without faults; only a failed call asks for another
        // delivery.
        let calls_failed: Vec<_> = failed
            .iter()
            .filter(|f| is_call_failure(&f.detail))
            .collect();
        self.failed
            .extend(calls_failed.iter().map(|f| f.detail.clone()));
        self.reported
            .extend(failed.iter().map(|f| f.resource.clone()));
        // A delivery that cannot read a role's region leaves a partial role alone, so the
        // finding that says so may be an earlier delivery's.
        for spec in WITH_POLICY {
            let Some(policy) = spec.managed_policy else {
                continue;
            };
            if account.role(spec.name).await.is_none()
                || account
                    .attached(spec.name)
                    .await
                    .contains(&policy.arn("aws"))
            {
                continue;
            }
            assert!(
                self.reported.iter().any(|r| r.ends_with(spec.name)),
                "{} was left without {} and no answer said so: {answer:#}",
                spec.name,
                policy.name
            );
        }
        !calls_failed.is_empty()
    }

    /// Delivers `event` until an answer holds no failed finding, checking every answer.
    async fn deliver<F, Fut>(&mut self, account: &Account, handle: F, event: Value)
    where
        F: Fn(Value) -> Fut,
        Fut: Future<Output = Value>,
    {
        for delivery in 0..deliveries() {
            let answer = handle(event.clone()).await;
            if !self.check(account, &answer).await {
                return;
            }
            if delivery + 1 == deliveries() {
                panic!("still failing after {delivery} redeliveries: {answer:#}");
            }
            self.redeliveries += 1;
        }
    }

    /// Prints what happened and leaves it for the reliability report.
    fn record(&self, test: &str, proxy: &FaultProxy, checked: usize) {
        let line = format!(
            "{test}: {}; {} answers, {} redelivered, {} failed findings (each naming its call); {checked} end states checked; seed {}",
            proxy.counts().summary(),
            self.deliveries,
            self.redeliveries,
            self.failed.len(),
            proxy.seed()
        );
        println!("{line}");
        for detail in &self.failed {
            println!("  failed: {detail}");
        }
        if let Some(dir) = std::env::var_os("WARDEN_RELIABILITY_DIR") {
            std::fs::create_dir_all(&dir).expect("create the reliability directory");
            let mut file = std::fs::File::create(
                std::path::Path::new(&dir).join(format!("faults-{test}.txt")),
            )
            .expect("open the faults tally");
            writeln!(
                file,
                "requests {}\nfaults {}\nend_states {checked}\nredeliveries {}\nfailed {}\nmillis {}",
                proxy.counts().requests(),
                proxy.counts().faults(),
                self.redeliveries,
                self.failed.len(),
                self.started.elapsed().as_millis()
            )
            .expect("write the faults tally");
        }
    }
}

/// A proxy to moto faulting [`PERCENT`] % of requests.
fn proxy() -> FaultProxy {
    FaultProxy::start(endpoint().trim_start_matches("http://"), PERCENT)
}

/// A fault-free account and [`FAULTY_RUNS`] accounts whose handlers go through one
/// proxy, all arranged the same way.
struct Runs {
    clean: Account,
    /// (the account, the same account through the proxy).
    faulty: Vec<(Account, Account)>,
    proxy: FaultProxy,
}

impl Runs {
    async fn new<F, Fut>(arrange: F) -> Self
    where
        F: Fn(Account) -> Fut,
        Fut: Future<Output = Account>,
    {
        let clean = arrange(Account::new().await).await;
        let proxy = proxy();
        let mut faulty = Vec::new();
        for _ in 0..FAULTY_RUNS {
            let account = arrange(Account::new().await).await;
            let through = account.through(&proxy);
            faulty.push((account, through));
        }
        Self {
            clean,
            faulty,
            proxy,
        }
    }

    /// (the account to assert on, the one to build handlers from): the clean run first.
    fn pairs(&self) -> Vec<(&Account, &Account)> {
        std::iter::once((&self.clean, &self.clean))
            .chain(self.faulty.iter().map(|(a, t)| (a, t)))
            .collect()
    }

    /// Every faulty account's snapshot must match the clean one's; returns how many were
    /// compared.
    async fn assert_same_end(&self, regions: &[&str]) -> usize {
        let expected = self.clean.snapshot(regions).await;
        for (account, _) in &self.faulty {
            let got = account.snapshot(regions).await;
            assert_eq!(
                got, expected,
                "a faulty run ended elsewhere than the clean run"
            );
        }
        self.faulty.len()
    }
}

fn to_json<T: serde::Serialize>(answer: T) -> Value {
    serde_json::to_value(answer).expect("answers serialize")
}

#[tokio::test]
async fn ecs_role_guard_under_faults_ends_where_it_does_without() {
    const EVENTS: [&str; 7] = [
        "ecs-create-cluster.json",
        "ecs-create-cluster-failed.json",
        "ecs-create-service.json",
        "ecs-create-service-failed-slr.json",
        "ecs-create-service-legacy-role.json",
        "ecs-create-service-role-arn.json",
        "ecs-update-service.json",
    ];
    let runs = Runs::new(|a| async move { a }).await;
    let mut tally = Tally::default();
    for (account, run_through) in runs.pairs() {
        let (guard, _) = run_through.role_guard(Mode::Enforce, Duration::ZERO);
        let handler = &guard;
        let handle =
            move |e| async move { to_json(handler.handle_payload(e).await.expect("accepted")) };
        for file in EVENTS {
            tally.deliver(account, handle, account.event(file)).await;
        }
    }
    let checked = runs.assert_same_end(&[REGION]).await;
    tally.record("ecs-role-guard", &runs.proxy, checked);
}

/// The service, scalable target and policies the scaling samples record.
async fn scaling_arranged(account: Account) -> Account {
    let region = RegionClients::new(&account.config_in(REGION));
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
    region
        .step(CLUSTER, SERVICE, "cpu-scale-in", &[(None, Some(0.0), -1)])
        .await;
    region
        .step(
            CLUSTER,
            SERVICE,
            "cpu-both-ways",
            &[(None, Some(0.0), -1), (Some(0.0), None, 1)],
        )
        .await;
    region.tracking(CLUSTER, SERVICE, "cpu-target-60").await;
    account
}

#[tokio::test]
async fn scaling_guard_under_faults_ends_where_it_does_without() {
    const EVENTS: [&str; 6] = [
        "autoscaling-register-scalable-target.json",
        "autoscaling-register-scalable-target-role.json",
        "autoscaling-put-step-policy.json",
        "autoscaling-put-step-policy-scale-in.json",
        "autoscaling-put-step-policy-mixed.json",
        "autoscaling-put-target-tracking-policy.json",
    ];
    let runs = Runs::new(scaling_arranged).await;
    let mut tally = Tally::default();
    for (account, run_through) in runs.pairs() {
        let (guard, _) = run_through.scaling_guard(Mode::Enforce);
        let handler = &guard;
        let handle =
            move |e| async move { to_json(handler.handle_payload(e).await.expect("accepted")) };
        for file in EVENTS {
            tally.deliver(account, handle, account.event(file)).await;
        }
        // The step policy goes, and its alarm with it.
        RegionClients::new(&account.config_in(REGION))
            .autoscaling
            .delete_scaling_policy()
            .service_namespace(aws_sdk_applicationautoscaling::types::ServiceNamespace::Ecs)
            .resource_id(format!("service/{CLUSTER}/{SERVICE}"))
            .scalable_dimension(
                aws_sdk_applicationautoscaling::types::ScalableDimension::EcsServiceDesiredCount,
            )
            .policy_name("cpu-scale-out")
            .send()
            .await
            .expect("delete the step policy");
        let event = account.event("autoscaling-delete-scaling-policy.json");
        tally.deliver(account, handle, event).await;
    }
    let checked = runs.assert_same_end(&[REGION]).await;
    tally.record("scaling-guard", &runs.proxy, checked);
}

/// The two roles with a managed policy, compliant, and a legacy service in us-east-1 that
/// names the service role under a path.
async fn drift_arranged(account: Account) -> Account {
    for spec in WITH_POLICY {
        account.compliant_role(spec, &[]).await;
    }
    let ecs = aws_sdk_ecs::Client::new(&account.config_in("us-east-1"));
    ecs.create_cluster()
        .cluster_name("legacy")
        .send()
        .await
        .expect("create cluster");
    ecs.create_service()
        .cluster("legacy")
        .service_name("web")
        .desired_count(1)
        .role(format!(
            "arn:aws:iam::{}:role/ecs/ecsServiceRole",
            account.id
        ))
        .send()
        .await
        .expect("create a legacy service");
    account
}

#[tokio::test]
async fn role_drift_guard_under_faults_ends_where_it_does_without() {
    let runs = Runs::new(drift_arranged).await;
    let mut tally = Tally::default();
    for (account, run_through) in runs.pairs() {
        let (guard, _) = run_through.drift_guard(Mode::Enforce, &[REGION, "us-east-1"]);
        let handler = &guard;
        let handle =
            move |e| async move { to_json(handler.handle_payload(e).await.expect("accepted")) };
        let iam = &account.iam;
        let autoscale_policy = ECS_AUTOSCALE_ROLE.managed_policy.unwrap().arn("aws");
        iam.detach_role_policy()
            .role_name(ECS_AUTOSCALE_ROLE.name)
            .policy_arn(autoscale_policy)
            .send()
            .await
            .expect("detach");
        let event = account.event("iam-detach-role-policy.json");
        tally.deliver(account, handle, event).await;

        let service_policy = ECS_SERVICE_ROLE.managed_policy.unwrap().arn("aws");
        iam.detach_role_policy()
            .role_name(ECS_SERVICE_ROLE.name)
            .policy_arn(service_policy)
            .send()
            .await
            .expect("detach");
        iam.delete_role()
            .role_name(ECS_SERVICE_ROLE.name)
            .send()
            .await
            .expect("delete the role");
        tally
            .deliver(account, handle, account.event("iam-delete-role.json"))
            .await;

        iam.update_assume_role_policy()
            .role_name(ECS_SERVICE_ROLE.name)
            .policy_document(
                json!({"Version": "2012-10-17", "Statement": [{"Sid": "BreakGlass",
                    "Effect": "Allow", "Principal": {"AWS": format!("arn:aws:iam::{}:root", account.id)},
                    "Action": "sts:AssumeRole"}]})
                .to_string(),
            )
            .send()
            .await
            .expect("replace the trust");
        let event = account.event("iam-update-assume-role-policy.json");
        tally.deliver(account, handle, event).await;
    }
    let checked = runs.assert_same_end(&[REGION, "us-east-1"]).await;
    tally.record("role-drift-guard", &runs.proxy, checked);
}

#[tokio::test]
async fn reconcile_under_faults_ends_where_it_does_without() {
    let runs = Runs::new(|a| async move {
        broken_world(&a).await;
        a
    })
    .await;
    let mut tally = Tally::default();
    for (account, run_through) in runs.pairs() {
        let (reconcile, _) = run_through.reconcile(Mode::Enforce, &SWEPT_REGIONS);
        let handler = &reconcile;
        let handle =
            move |e| async move { to_json(handler.handle_payload(e).await.expect("accepted")) };
        let event = account.event("reconcile-scheduled.json");
        tally.deliver(account, handle, event).await;
    }
    let checked = runs.assert_same_end(&SWEPT_REGIONS).await;
    tally.record("reconcile", &runs.proxy, checked);
}

/// The principals the samples name: a deployer role under a path allowed Application Auto
/// Scaling only, and a user with no policy.
async fn doctor_arranged(account: Account) -> Account {
    account.deployer(&["application-autoscaling:*"]).await;
    account.create_user("bob").await;
    account
}

#[tokio::test]
async fn access_doctor_under_faults_explains_what_it_does_without() {
    const EVENTS: [&str; 3] = [
        "access-denied-create-service-linked-role.json",
        "access-denied-put-scaling-policy.json",
        "access-denied-create-auto-scaling-group.json",
    ];
    let runs = Runs::new(doctor_arranged).await;
    let mut tally = Tally::default();
    let mut answers: Vec<Vec<Value>> = Vec::new();
    for (account, run_through) in runs.pairs() {
        let (doctor, _) = run_through.access_doctor();
        let mut last = Vec::new();
        for file in EVENTS {
            let handler = &doctor;
            let handle =
                move |e| async move { to_json(handler.handle_payload(e).await.expect("accepted")) };
            tally.deliver(account, handle, account.event(file)).await;
            // The diagnosis a delivery without failure gave, without its call list and
            // with the account id out, to compare across the two accounts.
            let mut answer = handle(account.event(file)).await;
            while tally.check(account, &answer).await {
                answer = handle(account.event(file)).await;
            }
            answer
                .as_object_mut()
                .expect("a diagnosis is an object")
                .remove("aws_calls");
            last.push(
                serde_json::from_str(&answer.to_string().replace(&account.id, "ACCOUNT"))
                    .expect("JSON"),
            );
        }
        answers.push(last);
    }
    for faulty in &answers[1..] {
        assert_eq!(
            faulty, &answers[0],
            "the same diagnoses with and without faults"
        );
    }
    let checked = runs.assert_same_end(&[REGION]).await * (1 + EVENTS.len());
    tally.record("access-doctor", &runs.proxy, checked);
}

/// The ECS service-linked role and a cluster with a running service and an instance.
async fn deletion_arranged(account: Account) -> Account {
    account.create_ecs_role().await;
    let ecs = aws_sdk_ecs::Client::new(&account.config_in(REGION));
    ecs.create_cluster()
        .cluster_name(CLUSTER)
        .send()
        .await
        .expect("create cluster");
    ecs.create_service()
        .cluster(CLUSTER)
        .service_name(SERVICE)
        .desired_count(2)
        .send()
        .await
        .expect("create service");
    for instance in account.run_instances(REGION, 1) {
        ecs.register_container_instance()
            .cluster(CLUSTER)
            .instance_identity_document(json!({ "instanceId": instance }).to_string())
            .send()
            .await
            .expect("register an instance");
    }
    account
}

#[tokio::test]
async fn slr_deletion_under_faults_ends_where_it_does_without() {
    let runs = Runs::new(deletion_arranged).await;
    let mut tally = Tally::default();
    for (account, run_through) in runs.pairs() {
        let clock = Clock::manual(0);
        let (deletion, _) = run_through.slr_deletion_at(Mode::Enforce, &clock);
        // The state machine: each step's output is the next input, after its wait; a
        // deletion that ends failed is started again by its operator.
        let mut outcome = Value::Null;
        'runs: for _ in 0..deliveries() {
            let mut input = account.event("slr-deletion-start-drain.json");
            let mut now: u64 = 1_790_000_000;
            for _ in 0..40 {
                clock.set(now);
                let Answer::Step(out) = deletion.handle_payload(input).await.expect("accepted")
                else {
                    panic!("a deletion step")
                };
                let answer = to_json(&*out);
                tally.check(account, &answer).await;
                if out.state.progress.is_done() {
                    outcome = answer["outcome"].clone();
                    if outcome == "deleted" {
                        break 'runs;
                    }
                    tally.redeliveries += 1;
                    continue 'runs;
                }
                now += out.state.progress.wait_seconds;
                input = answer;
            }
            panic!("the deletion did not end in 40 steps");
        }
        assert_eq!(outcome, "deleted", "the deletion ended {outcome}");
    }
    let checked = runs.assert_same_end(&[REGION]).await;
    tally.record("slr-deletion", &runs.proxy, checked);
}

/// One event through a proxy that stalls the first request of `operation` (after moto
/// handled it, when `after_moto`): the attempt times out, the SDK retries it within the
/// function's deadline, and the account ends as a fault-free run leaves it, with no failed
/// finding (and, for a stalled read, the same findings).
async fn stalled_once(operation: &str, after_moto: bool) {
    use ecs_warden::aws::ATTEMPT_TIMEOUT;
    use ecs_warden::invocation::deadline::{Deadline, ANSWER_RESERVE};
    use warden_tests::statuses;

    // ecs-role-guard's Timeout in template.yaml, less what it keeps to answer.
    const TIMEOUT: Duration = Duration::from_secs(30);
    const EVENT: &str = "ecs-create-service-legacy-role.json";
    let clean = Account::new().await;
    let (guard, _) = clean.role_guard(Mode::Enforce, Duration::ZERO);
    let expected = guard
        .handle_payload(clean.event(EVENT))
        .await
        .expect("accepted");

    let account = Account::new().await;
    let proxy = FaultProxy::stall(
        endpoint().trim_start_matches("http://"),
        operation,
        after_moto,
    );
    let (guard, _) = account
        .through(&proxy)
        .role_guard(Mode::Enforce, Duration::ZERO);
    let started = Instant::now();
    let report = guard
        .handle_within(
            account.event(EVENT),
            Deadline::after(TIMEOUT - ANSWER_RESERVE),
        )
        .await
        .unwrap_or_else(|e| panic!("{operation} stalled: {e}"));
    let took = started.elapsed();
    assert!(proxy.counts().stalled(), "{operation} was never sent");
    assert!(
        took >= ATTEMPT_TIMEOUT,
        "{operation}: answered in {took:?}, before the stalled attempt could time out"
    );
    assert!(
        report.findings.iter().all(|f| f.status != Status::Failed),
        "{operation}: {report:#?}"
    );
    if !after_moto {
        assert_eq!(
            statuses(&report),
            statuses(&expected),
            "{operation}: {report:#?}"
        );
    }
    // A write that happened but went unanswered is retried, and IAM answers that the role
    // exists: the function then verifies what is there, as after a lost create race, and
    // reports that rather than `created`; the account ends the same.
    assert_eq!(
        account.snapshot(&[REGION]).await,
        clean.snapshot(&[REGION]).await,
        "{operation}: the stalled run ended elsewhere"
    );
    println!("{operation} stalled (after moto: {after_moto}): answered in {took:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stalled_request_is_retried_within_the_deadline_and_the_event_ends_the_same() {
    // A read whose request never arrives, and a write that happened but whose answer never
    // comes back.
    tokio::join!(
        stalled_once("GetRole", false),
        stalled_once("CreateRole", true)
    );
}
