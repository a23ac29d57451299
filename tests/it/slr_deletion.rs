//! slr-deletion against moto: two regions with clusters, services (some scaled above 0) and
//! container instances. Every step's output goes through JSON and back in as the next
//! input, as the state machine does; the tests assert on the ECS and IAM state moto holds.

use aws_config::Region;
use ecs_warden::domain::catalog::ECS_SERVICE_LINKED_ROLE;
use ecs_warden::handlers::slr_deletion::{Answer, DeletionState, SlrDeletion};
use ecs_warden::handlers::Function;
use ecs_warden::invocation::clock::Clock;
use ecs_warden::invocation::report::Status;
use ecs_warden::invocation::settings::Mode;
use serde_json::{json, Value};
use warden_tests::{endpoint, writes, Account, FaultProxy, RegionClients};

const REGIONS: [&str; 2] = ["eu-west-1", "us-east-1"];
const START: i64 = 1_790_000_000;

struct World {
    account: Account,
}

impl World {
    /// The ECS role, and in each region clusters with services and container instances.
    async fn new() -> Self {
        Self::in_account(Account::new().await).await
    }

    /// The same world in `account`.
    async fn in_account(account: Account) -> Self {
        account.create_ecs_role().await;
        let world = Self { account };
        world
            .cluster("eu-west-1", "payments", &[("web", 3), ("worker", 0)], 2)
            .await;
        world.cluster("us-east-1", "batch", &[("jobs", 1)], 1).await;
        world.cluster("us-east-1", "spare", &[], 0).await;
        world
    }

    fn ecs(&self, region: &str) -> aws_sdk_ecs::Client {
        let config = self
            .account
            .config
            .to_builder()
            .region(Region::new(region.to_owned()))
            .build();
        aws_sdk_ecs::Client::new(&config)
    }

    async fn cluster(&self, region: &str, name: &str, services: &[(&str, i32)], instances: usize) {
        let ecs = self.ecs(region);
        ecs.create_cluster()
            .cluster_name(name)
            .send()
            .await
            .unwrap();
        for (service, desired) in services {
            ecs.create_service()
                .cluster(name)
                .service_name(*service)
                .desired_count(*desired)
                .send()
                .await
                .unwrap();
        }
        for instance in self.account.run_instances(region, instances) {
            ecs.register_container_instance()
                .cluster(name)
                .instance_identity_document(json!({ "instanceId": instance }).to_string())
                .send()
                .await
                .unwrap();
        }
    }

    /// How many clusters that are not INACTIVE each region holds.
    async fn clusters(&self) -> Vec<(String, usize)> {
        let mut all = Vec::new();
        for region in REGIONS {
            let ecs = self.ecs(region);
            let listed = ecs.list_clusters().send().await.unwrap();
            let described = ecs
                .describe_clusters()
                .set_clusters(Some(listed.cluster_arns().to_vec()))
                .send()
                .await
                .unwrap();
            let live = described
                .clusters()
                .iter()
                .filter(|c| c.status() != Some("INACTIVE"))
                .count();
            all.push((region.to_owned(), live));
        }
        all
    }

    async fn role_exists(&self) -> bool {
        self.account
            .iam
            .get_role()
            .role_name(ECS_SERVICE_LINKED_ROLE.name)
            .send()
            .await
            .is_ok()
    }

    /// No write was made and the clusters and the role are all still there.
    async fn assert_untouched(&self, outputs: &[Value]) {
        assert!(all_writes(outputs).is_empty());
        assert_eq!(
            self.clusters().await,
            [("eu-west-1".into(), 1), ("us-east-1".into(), 2)]
        );
        assert!(self.role_exists().await);
    }

    /// Runs the deletion to its end, feeding each output back through JSON and honouring
    /// `wait_seconds` on a simulated clock; returns every step's output.
    async fn run(&self, mode: Mode, start: Value) -> Vec<Value> {
        let clock = Clock::manual(START as u64);
        let (deletion, _) = self.account.slr_deletion_at(mode, &clock);
        drive(&deletion, &clock, start).await
    }
}

async fn drive(deletion: &Function<SlrDeletion>, clock: &Clock, start: Value) -> Vec<Value> {
    drive_losing(deletion, clock, start, None).await
}

/// Runs the deletion to its end, feeding each output back through JSON and honouring
/// `wait_seconds` on a simulated clock. With `lost`, the output of that step is lost: the
/// step made its calls, then its answer never reached the state machine (a timeout or a
/// crash after the write), so the same input runs again.
async fn drive_losing(
    deletion: &Function<SlrDeletion>,
    clock: &Clock,
    start: Value,
    lost: Option<usize>,
) -> Vec<Value> {
    let mut input = start;
    let mut now = START as u64;
    let mut outputs = Vec::new();
    for step in 0..30 {
        clock.set(now);
        let Answer::Step(out) = deletion
            .handle_payload(input.clone())
            .await
            .expect("accepted")
        else {
            panic!("a deletion step")
        };
        let json = serde_json::to_value(&*out).unwrap();
        let back: DeletionState = serde_json::from_value(json.clone()).unwrap();
        assert_eq!(back, out.state, "the state round-trips through JSON");
        outputs.push(json.clone());
        if out.state.progress.is_done() {
            return outputs;
        }
        if lost == Some(step) {
            now += 1;
            continue;
        }
        now += out.state.progress.wait_seconds;
        input = json;
    }
    panic!("no end after 30 steps: {outputs:#?}")
}

/// The deletion ended `deleted` with no failed finding, every cluster and the role gone.
async fn assert_ended_deleted(world: &World, outputs: &[Value], case: &str) {
    let last = outputs.last().unwrap();
    assert_eq!(last["outcome"], "deleted", "{case}: {last:#}");
    let failed = outputs
        .iter()
        .flat_map(|o| o["findings"].as_array().cloned().unwrap_or_default())
        .filter(|f| f["status"] == "failed")
        .count();
    assert_eq!(failed, 0, "{case}: {outputs:#?}");
    assert_eq!(
        world.clusters().await,
        [("eu-west-1".into(), 0), ("us-east-1".into(), 0)],
        "{case}"
    );
    assert!(!world.role_exists().await, "{case}");
}

fn all_writes(outputs: &[Value]) -> Vec<String> {
    let calls: Vec<String> = outputs
        .iter()
        .flat_map(|o| o["aws_calls"].as_array().unwrap().clone())
        .map(|c| c.as_str().unwrap().to_owned())
        .collect();
    writes(&calls).into_iter().cloned().collect()
}

#[tokio::test]
async fn without_drain_clusters_block_the_deletion_and_nothing_changes() {
    let world = World::new().await;
    let outputs = world
        .run(
            Mode::Enforce,
            world.account.event("slr-deletion-start.json"),
        )
        .await;
    assert_eq!(outputs.len(), 1, "the plan ends it");
    let last = &outputs[0];
    assert_eq!(last["outcome"], "blocked");
    assert_eq!(last["done"], true);
    let inventory = last["inventory"].as_array().unwrap();
    assert_eq!(inventory.len(), 2);
    let eu = &inventory[0];
    assert_eq!(eu["region"], "eu-west-1");
    let payments = &eu["clusters"][0];
    assert!(payments["arn"]
        .as_str()
        .unwrap()
        .ends_with("cluster/payments"));
    let desired: Vec<i64> = payments["services"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["desired_count"].as_i64().unwrap())
        .collect();
    assert_eq!(desired, [3, 0]);
    assert_eq!(payments["container_instances"].as_array().unwrap().len(), 2);
    let us = &inventory[1];
    assert_eq!(us["clusters"].as_array().unwrap().len(), 2);
    assert!(last["reason"].as_str().unwrap().contains("drain"));

    world.assert_untouched(&outputs).await;
}

#[tokio::test]
async fn with_drain_and_the_right_confirm_everything_goes_and_so_does_the_role() {
    let world = World::new().await;
    let outputs = world
        .run(
            Mode::Enforce,
            world.account.event("slr-deletion-start-drain.json"),
        )
        .await;
    let last = outputs.last().unwrap();
    assert_eq!(last["outcome"], "deleted", "{last:#}");
    let phases: Vec<&str> = outputs
        .iter()
        .map(|o| o["phase"].as_str().unwrap())
        .collect();
    assert_eq!(phases.first(), Some(&"drain"));
    assert!(phases.contains(&"poll"), "{phases:?}");

    assert_eq!(
        world.clusters().await,
        [("eu-west-1".into(), 0), ("us-east-1".into(), 0)]
    );
    assert!(!world.role_exists().await);
    // Every service, instance and cluster is listed as deleted, in the seed's order.
    let deleted: Vec<&str> = last["deleted"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d.as_str().unwrap())
        .collect();
    assert_eq!(
        deleted.iter().filter(|d| d.contains(":service/")).count(),
        3
    );
    assert_eq!(
        deleted
            .iter()
            .filter(|d| d.contains(":container-instance/"))
            .count(),
        3
    );
    assert_eq!(
        deleted.iter().filter(|d| d.contains(":cluster/")).count(),
        3
    );
    let writes = all_writes(&outputs);
    let first = |call: &str| writes.iter().position(|w| w == call).unwrap();
    assert!(first("ecs:UpdateService") < first("ecs:DeleteService"));
    assert!(first("ecs:DeleteService") < first("ecs:DeleteCluster"));
    assert!(first("ecs:DeregisterContainerInstance") < first("ecs:DeleteCluster"));
    assert_eq!(writes.last().unwrap(), "iam:DeleteServiceLinkedRole");
    assert_eq!(
        writes.iter().filter(|w| *w == "ecs:UpdateService").count(),
        2,
        "only the two services above 0 are scaled"
    );
}

#[tokio::test]
async fn a_wrong_confirm_is_refused_before_any_write() {
    let world = World::new().await;
    let mut start = world.account.event("slr-deletion-start-drain.json");
    start["confirm_account"] = "999999999999".into();
    let outputs = world.run(Mode::Enforce, start).await;
    let last = outputs.last().unwrap();
    assert_eq!(last["outcome"], "failed");
    let refusal = last["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["check"] == "confirm")
        .expect("a confirm finding");
    assert!(refusal["detail"]
        .as_str()
        .unwrap()
        .contains(&world.account.id));
    world.assert_untouched(&outputs).await;
}

#[tokio::test]
async fn drain_without_a_confirm_is_bad_input_and_makes_no_call() {
    let world = World::new().await;
    let (deletion, calls) = world.account.slr_deletion(Mode::Enforce);
    let mut start = world.account.event("slr-deletion-start-drain.json");
    start.as_object_mut().unwrap().remove("confirm_account");
    let err = deletion.handle_payload(start).await.unwrap_err();
    assert!(err.to_string().contains("confirm_account"), "{err}");
    assert!(calls.take().is_empty());
}

/// us-east-1's ECS, for arranging.
fn us_east_1(world: &World) -> RegionClients {
    RegionClients::new(&world.account.config_in("us-east-1"))
}

#[tokio::test]
async fn a_drain_whose_clusters_an_owner_opted_out_of_ends_blocked_at_the_plan_untouched() {
    // A service in us-east-1 is owned by a team's Terraform, tagged to opt out: nobody is
    // asked to approve a drain that could never end, and nothing anywhere is drained.
    let world = World::new().await;
    us_east_1(&world).ignore_service("batch", "jobs").await;
    let outputs = world
        .run(
            Mode::Enforce,
            world.account.event("slr-deletion-start-drain.json"),
        )
        .await;
    assert_eq!(outputs.len(), 1, "the plan ends it");
    let last = &outputs[0];
    assert_eq!(last["outcome"], "blocked", "{last:#}");
    let reason = last["reason"].as_str().unwrap_or_default();
    assert!(reason.contains("service/batch/jobs"), "{reason}");
    assert!(reason.contains("ecs-warden:ignore=true"), "{reason}");
    world.assert_untouched(&outputs).await;
}

#[tokio::test]
async fn a_drain_step_drains_nothing_in_a_region_holding_a_cluster_tagged_ignore() {
    // The tag came after the plan: the drain step reads it with the clusters (no extra
    // call) and writes nothing in that region.
    use ecs_warden::domain::clusters::drain_step;
    use ecs_warden::invocation::deadline::Deadline;
    use ecs_warden::invocation::gate::Scope;
    let world = World::new().await;
    let us = us_east_1(&world);
    us.ignore_cluster("spare").await;
    let scope = Scope {
        mode: Mode::Enforce,
        account: world.account.id.clone(),
        partition: "aws",
        event_id: "test".into(),
        cause: "test drain".into(),
    };
    let step = drain_step(&us.ecs, "us-east-1", &scope, &Deadline::none()).await;
    assert!(step.stuck, "{step:#?}");
    assert!(step.deleted.is_empty(), "{step:#?}");
    let skipped: Vec<_> = step
        .findings
        .iter()
        .map(|f| (f.check.as_str(), f.status))
        .collect();
    assert_eq!(skipped, [("delete_cluster", Status::Skipped)], "{step:#?}");
    assert!(step.findings[0].detail.contains("ecs-warden:ignore=true"));
    // batch, not tagged, is untouched too: the role stays in use whatever else goes.
    assert_eq!(
        world.clusters().await,
        [("eu-west-1".into(), 1), ("us-east-1".into(), 2)]
    );
    let jobs = us
        .ecs
        .describe_services()
        .cluster("batch")
        .services("jobs")
        .send()
        .await
        .unwrap();
    assert_eq!(jobs.services()[0].desired_count(), 1, "not scaled to 0");
}

#[tokio::test]
async fn audit_mode_reports_the_drain_and_writes_nothing() {
    let world = World::new().await;
    let outputs = world
        .run(
            Mode::Audit,
            world.account.event("slr-deletion-start-drain.json"),
        )
        .await;
    let last = outputs.last().unwrap();
    assert_eq!(last["outcome"], "blocked");
    let would: Vec<&str> = last["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["status"] == "would_repair")
        .map(|f| f["check"].as_str().unwrap())
        .collect();
    assert!(would.contains(&"scale_service") && would.contains(&"deregister_instance"));
    world.assert_untouched(&outputs).await;
}

#[tokio::test]
async fn a_deletion_made_elsewhere_is_polled_to_its_end() {
    let world = World::new().await;
    for region in REGIONS {
        let ecs = world.ecs(region);
        for arn in ecs
            .list_clusters()
            .send()
            .await
            .unwrap()
            .cluster_arns()
            .to_vec()
        {
            ecs.delete_cluster().cluster(arn).send().await.unwrap();
        }
    }
    world
        .account
        .iam
        .delete_service_linked_role()
        .role_name(ECS_SERVICE_LINKED_ROLE.name)
        .send()
        .await
        .unwrap();
    let outputs = world
        .run(
            Mode::Enforce,
            world.account.event("iam-delete-service-linked-role.json"),
        )
        .await;
    let last = outputs.last().unwrap();
    assert_eq!(last["outcome"], "deleted");
    assert_eq!(last["event_id"], "5b4a3c2d-1e0f-4a9b-8c7d-6e5f4a3b2c01");
    assert!(all_writes(&outputs).is_empty(), "it only polls");
}

#[tokio::test]
async fn only_the_description_can_be_edited() {
    let world = World::new().await;
    let (deletion, _) = world.account.slr_deletion(Mode::Enforce);
    let edit = world.account.event("slr-update-description.json");
    let Answer::Edit(report) = deletion.handle_payload(edit.clone()).await.unwrap() else {
        panic!("an edit report")
    };
    assert_eq!(report.findings[0].status, Status::Repaired);
    let role = world
        .account
        .iam
        .get_role()
        .role_name(ECS_SERVICE_LINKED_ROLE.name)
        .send()
        .await
        .unwrap()
        .role
        .unwrap();
    assert_eq!(role.description(), edit["description"].as_str());

    for action in ["update_trust", "rename", "attach_role_policy"] {
        let mut other = edit.clone();
        other["action"] = action.into();
        let err = deletion.handle_payload(other).await.unwrap_err();
        assert!(
            err.to_string().contains("description") && err.to_string().contains("seed 004"),
            "{err}"
        );
    }
}

#[tokio::test]
async fn a_deletion_whose_step_answer_is_lost_after_its_writes_still_ends_deleted() {
    // The clean run's length says which steps there are to lose.
    let world = World::new().await;
    let start = world.account.event("slr-deletion-start-drain.json");
    let steps = world.run(Mode::Enforce, start).await.len();
    assert!(steps >= 3, "a drain takes several steps");
    for lost in 0..steps - 1 {
        let world = World::new().await;
        let start = world.account.event("slr-deletion-start-drain.json");
        let clock = Clock::manual(START as u64);
        let (deletion, _) = world.account.slr_deletion_at(Mode::Enforce, &clock);
        let outputs = drive_losing(&deletion, &clock, start, Some(lost)).await;
        assert_ended_deleted(&world, &outputs, &format!("losing step {lost}")).await;
        // What the step wrote when it ran again from the same input, over a world its lost
        // run had already changed.
        let first: Vec<String> = all_writes(&outputs[lost..lost + 1]);
        let again: Vec<String> = all_writes(&outputs[lost + 1..lost + 2]);
        println!(
            "resume: lost the answer of step {lost} (to {}, wrote {first:?}); run again it wrote {again:?}; ended deleted",
            outputs[lost]["phase"]
        );
    }
}

#[tokio::test]
async fn a_drain_step_cut_off_between_its_writes_ends_deleted_when_run_again() {
    // The clean run says how many writes the first drain step (step 1, after the plan)
    // makes.
    let world = World::new().await;
    let start = world.account.event("slr-deletion-start-drain.json");
    let clean = world.run(Mode::Enforce, start).await;
    assert_eq!(clean[1]["phase"], "drain", "step 1 is the first drain step");
    let writes = all_writes(&clean[1..2]).len();
    assert!(
        writes >= 5,
        "the first drain step writes several times: {writes}"
    );
    for cut in 1..writes {
        let world = World::new().await;
        let start = world.account.event("slr-deletion-start-drain.json");
        let clock = Clock::manual(START as u64);
        let (deletion, _) = world.account.slr_deletion_at(Mode::Enforce, &clock);
        let Answer::Step(planned) = deletion.handle_payload(start).await.expect("accepted") else {
            panic!("a deletion step")
        };
        let planned = serde_json::to_value(&*planned).unwrap();
        // The drain step cut off after `cut` writes reached moto, as a timeout or a crash
        // between two of its writes would.
        let proxy = FaultProxy::cut_after(endpoint().trim_start_matches("http://"), cut);
        let (cut_off, _) = world
            .account
            .through(&proxy)
            .slr_deletion_at(Mode::Enforce, &clock);
        // The step is abandoned once the proxy holds its first request past the cut: it
        // cannot answer while that request is unanswered, and it must not answer before.
        let cut_reached = async {
            while !proxy.counts().stalled() {
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            }
        };
        tokio::select! {
            _ = cut_off.handle_payload(planned.clone()) => {
                panic!("cut after {cut} writes, the step still answered")
            }
            () = cut_reached => {}
        }
        // The state machine runs the step again from the same input.
        let outputs = drive(&deletion, &clock, planned).await;
        assert_ended_deleted(&world, &outputs, &format!("cut after {cut}")).await;
        println!(
            "cut after {cut} of {writes} writes; run again, the step wrote {:?}",
            all_writes(&outputs[..1])
        );
    }
}

/// One step of `deletion` on `input`, as JSON.
async fn one_step(deletion: &Function<SlrDeletion>, input: Value) -> Value {
    match deletion.handle_payload(input).await.expect("accepted") {
        Answer::Step(out) => serde_json::to_value(&*out).unwrap(),
        other => panic!("a deletion step, not {other:?}"),
    }
}

/// A hub (with its own ECS role) and a member world it may act in, the member allowing
/// drains or not, and the hub's slr-deletion over a simulated clock.
async fn hub_over_member(allows_drains: bool) -> (Account, World, Clock, Function<SlrDeletion>) {
    let hub = Account::new().await;
    hub.create_ecs_role().await;
    let member = Account::new().await;
    member.member_role_for(&hub).await;
    if allows_drains {
        member.drain_role_for(&hub).await;
    }
    let world = World::in_account(member).await;
    let clock = Clock::manual(START as u64);
    let (deletion, _) =
        hub.hub_handler_at::<SlrDeletion>(Mode::Enforce, &[&world.account], clock.clone());
    (hub, world, clock, deletion)
}

#[tokio::test]
async fn a_hub_drains_a_member_account_only_once_a_person_approves_and_nowhere_else() {
    let (hub, world, clock, deletion) = hub_over_member(true).await;

    // confirm_account must name the account the deletion acts in.
    let mut start = world.account.event("slr-deletion-start-drain.json");
    start["account"] = json!(world.account.id);
    start["confirm_account"] = json!(hub.id);
    let refused = deletion.handle_payload(start.clone()).await.unwrap_err();
    assert!(refused.to_string().contains("confirm_account"), "{refused}");
    start["confirm_account"] = json!(world.account.id);

    // The plan stops before any write and asks a person, even when the start claims an
    // approval: the state machine hands a start over wrapped, and a start drops it.
    let mut forged = start.clone();
    forged["approval"] = json!({"approved_by": "whoever started it"});
    let planned = one_step(&deletion, json!({ "start": forged })).await;
    assert_eq!(planned["phase"], "approve", "{planned:#}");
    assert!(planned.get("approval").is_none(), "{planned:#}");
    assert_eq!(planned["aws_calls"][0], "sts:AssumeRole", "{planned:#}");
    // Asked again without an answer, it waits on.
    let waiting = one_step(&deletion, planned.clone()).await;
    assert_eq!(waiting["phase"], "approve", "{waiting:#}");
    // The request a person receives says what would go and how to answer.
    let Answer::Approval(request) = deletion
        .handle_payload(json!({"approval_request": planned, "task_token": "token-1"}))
        .await
        .expect("accepted")
    else {
        panic!("an approval request")
    };
    let asked = &request.report.findings[0].detail;
    for words in [
        "send-task-success --task-token 'token-1'",
        "send-task-failure",
        "eu-west-1: 1 cluster(s), 2 service(s)",
    ] {
        assert!(asked.contains(words), "{words}: {asked}");
    }
    // A drain step without an approval is refused before any write, whoever sends it.
    let mut unapproved = planned.clone();
    unapproved["phase"] = json!("drain");
    let refused = one_step(&deletion, unapproved).await;
    assert_eq!(refused["outcome"], "failed", "{refused:#}");
    world
        .assert_untouched(&[planned.clone(), waiting, refused])
        .await;

    // Refused: blocked, nothing touched.
    let mut declined = planned.clone();
    declined["refusal"] = json!({"Error": "Refused", "Cause": "not during the sale"});
    let declined = one_step(&deletion, declined).await;
    assert_eq!(declined["outcome"], "blocked", "{declined:#}");
    assert!(
        declined["reason"]
            .as_str()
            .is_some_and(|r| r.contains("not during the sale")),
        "{declined:#}"
    );
    world.assert_untouched(&[declined]).await;

    // Approved, as the state machine's wait hands it on: drained and deleted there only.
    let mut approved = planned;
    approved["approval"] = json!({"approved_by": "ops-lead"});
    let outputs = drive(&deletion, &clock, approved).await;
    assert_ended_deleted(&world, &outputs, "in the member").await;
    assert!(outputs
        .iter()
        .all(|o| o["account"] == json!(world.account.id)));
    // The hub's own role is where it was.
    assert!(hub.role(ECS_SERVICE_LINKED_ROLE.name).await.is_some());
}

#[tokio::test]
async fn a_member_account_that_has_not_allowed_drains_is_never_drained() {
    // Its stack left AllowDrain false: no drain role there. The deletion ends blocked at
    // the plan, before anyone is asked, with nothing touched.
    let (_, world, clock, deletion) = hub_over_member(false).await;
    let mut start = world.account.event("slr-deletion-start-drain.json");
    start["account"] = json!(world.account.id);
    start["confirm_account"] = json!(world.account.id);
    let outputs = drive(&deletion, &clock, start).await;
    let last = outputs.last().unwrap();
    assert_eq!(last["outcome"], "blocked", "{last:#}");
    assert!(
        last["reason"]
            .as_str()
            .is_some_and(|r| r.contains("AllowDrain=true")),
        "{last:#}"
    );
    // Even approved, a drain step cannot act there.
    let mut approved = outputs[0].clone();
    approved["phase"] = json!("drain");
    approved["done"] = json!(false);
    approved["outcome"] = Value::Null;
    approved["approval"] = json!({"approved_by": "ops-lead"});
    let refused = one_step(&deletion, approved).await;
    assert_eq!(refused["outcome"], "blocked", "{refused:#}");
    world.assert_untouched(&outputs).await;
}

#[tokio::test]
async fn with_the_default_regions_a_plan_inventories_every_enabled_region() {
    use warden_tests::default_regions;

    // The stack's Regions left empty, the function in eu-west-1, a cluster in us-east-2:
    // the role is in use there, and the deletion is blocked rather than submitted.
    let account = Account::new().await;
    account.create_ecs_role().await;
    let config = account
        .config
        .to_builder()
        .region(Region::new("us-east-2"))
        .build();
    let ecs = aws_sdk_ecs::Client::new(&config);
    ecs.create_cluster()
        .cluster_name("far")
        .send()
        .await
        .unwrap();
    let (deletion, _) = account.handler::<SlrDeletion>(default_regions(Mode::Enforce), &[]);
    let clock = Clock::manual(START as u64);
    let outputs = drive(
        &deletion,
        &clock,
        json!({"role_name": ECS_SERVICE_LINKED_ROLE.name}),
    )
    .await;
    let last = outputs.last().unwrap();
    assert_eq!(last["outcome"], "blocked", "{last:#}");
    assert_eq!(
        last["regions"].as_array().map(Vec::len),
        Some(17),
        "{last:#}"
    );
    assert!(
        last["inventory"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|r| r["region"] == "us-east-2"),
        "{last:#}"
    );
    assert!(account.role(ECS_SERVICE_LINKED_ROLE.name).await.is_some());
}
