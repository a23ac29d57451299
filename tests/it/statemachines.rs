//! The two state machines of template.yaml run, not only validate: moto's Step Functions
//! interpreter executes `statemachine/*.asl.json` as SAM deploys them (the template's
//! substitutions filled in), and each Lambda task reaches the built function binary under a
//! Lambda Runtime API with the function's timeout as its deadline (tests/moto_server.py).
//! Every assertion reads the execution's end and what moto holds afterwards.
//!
//! A contract test beside them: every path a state machine reads from a function's answer
//! exists in every answer the function gave here and in a set of direct invocations.

use std::collections::BTreeMap;

use ecs_warden::domain::catalog::ECS_SERVICE_LINKED_ROLE;
use serde_json::{json, Value};
use tokio::task::JoinSet;
use warden_tests::{
    broken_world, root, skip_slow_test, Account, RegionClients, MEMBER_ROLE, SAMPLE_REGION,
};

const RECONCILE: &str = "ReconcileStateMachine";
const DELETION: &str = "SlrDeletionStateMachine";
const SLR: &str = ECS_SERVICE_LINKED_ROLE.name;

/// Where the function processes' logs go, for a person reading a failure.
fn log(name: &str) -> String {
    root()
        .join(format!("target/statemachine-{name}.log"))
        .to_string_lossy()
        .into_owned()
}

/// Every answer the functions gave during the execution, its Distributed Map's children's
/// included, in the order they ended; none may be an error.
fn answers(run: &Value) -> Vec<&Value> {
    let invocations = run["invocations"].as_array().expect("invocations");
    for invocation in invocations {
        assert_eq!(invocation["error"], false, "{invocation:#}");
    }
    invocations.iter().map(|i| &i["answer"]).collect()
}

/// The execution's end, shown whole when an assertion fails.
fn shown(run: &Value) -> String {
    serde_json::to_string_pretty(run).unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread")]
async fn reconcile_with_no_account_to_sweep_ends_in_no_account_to_sweep_with_its_cause() {
    if skip_slow_test() {
        return;
    }
    // A hub told to sweep its organization, in an account that belongs to none: the plan
    // names no account, and says why.
    let hub = Account::new().await;
    let run = hub.run_state_machine(
        RECONCILE,
        &json!({}),
        json!({"env": {
            "WARDEN_MODE": "enforce",
            "WARDEN_MEMBER_ROLE": format!("/{MEMBER_ROLE}"),
            "WARDEN_ACCOUNTS": "organization",
        }, "log": log("no-account")}),
    );
    assert_eq!(run["status"], "FAILED", "{}", shown(&run));
    assert_eq!(run["error"], "NoAccountToSweep", "{}", shown(&run));
    let cause = run["cause"].as_str().unwrap_or_default();
    assert!(
        cause.contains("organizations:ListAccounts"),
        "the cause carries the plan's findings: {cause}"
    );
    assert_eq!(run["states"], json!(["Plan", "Any account?", "No account"]));
}

#[tokio::test(flavor = "multi_thread")]
async fn reconcile_sweeps_three_accounts_and_tolerates_the_one_it_cannot_reach() {
    if skip_slow_test() {
        return;
    }
    let hub = Account::new().await;
    let member = Account::new().await;
    member.member_role_for(&hub).await;
    // Listed, but its StackSet instance never made the member role: AssumeRole is refused.
    let unreachable = Account::new().await;
    for account in [&member, &unreachable] {
        broken_world(account).await;
    }
    let run = hub.run_state_machine(
        RECONCILE,
        &json!({}),
        json!({"env": {
            "WARDEN_MODE": "enforce",
            "WARDEN_REGIONS": "eu-west-1,us-east-1",
            "WARDEN_MEMBER_ROLE": format!("/{MEMBER_ROLE}"),
            "WARDEN_ACCOUNTS": format!("{},{}", member.id, unreachable.id),
        }, "parameters": {"AccountConcurrency": 2}, "log": log("three-accounts")}),
    );
    assert_eq!(run["status"], "SUCCEEDED", "{}", shown(&run));
    let tasks = run["tasks"].as_array().expect("tasks");
    let planned: Vec<&str> = tasks[0]["sweeps"]
        .as_array()
        .expect("the plan's sweeps")
        .iter()
        .filter_map(|s| s["account"].as_str())
        .collect();
    assert_eq!(planned.len(), 3, "{planned:?}");
    for account in [&hub.id, &member.id, &unreachable.id] {
        assert!(planned.contains(&account.as_str()), "{account} planned");
    }
    // The unreachable account's own sweep, a child execution, says why, naming the role
    // it could not assume.
    let refused: Vec<&Value> = answers(&run)
        .into_iter()
        .flat_map(|a| a["findings"].as_array().into_iter().flatten())
        .filter(|f| f["check"] == "account" && f["status"] == "failed")
        .collect();
    assert_eq!(refused.len(), 1, "{}", shown(&run));
    let detail = refused[0]["detail"].as_str().unwrap_or_default();
    assert!(
        detail.contains(&format!(
            "arn:aws:iam::{}:role/{MEMBER_ROLE}",
            unreachable.id
        )),
        "{detail}"
    );
    // The member is repaired in both regions, the unreachable account is untouched.
    assert!(member.role(SLR).await.is_some());
    assert!(member.role("ecsAutoscaleRole").await.is_some());
    let eu = RegionClients::new(&member.config_in("eu-west-1"));
    assert!(eu
        .alarms()
        .await
        .iter()
        .any(|a| a.alarm_name().is_some_and(|n| n.ends_with("/cart-out"))));
    assert!(unreachable.role(SLR).await.is_none());
    assert!(unreachable.role("ecsAutoscaleRole").await.is_none());
    assert!(hub.role(SLR).await.is_none(), "the hub runs nothing");
    // Its child execution failed (AccountUnreachable, from its answer's `unreached`): one
    // member of two, tolerated (the plan tolerates one).
    assert_eq!(tasks[0]["tolerated_failures"], 1, "{}", shown(&run));
    let unreached: Vec<&str> = answers(&run)
        .into_iter()
        .flat_map(|a| a["unreached"].as_array().into_iter().flatten())
        .filter_map(|u| u["account"].as_str())
        .collect();
    assert_eq!(unreached, [unreachable.id.as_str()], "{}", shown(&run));
}

#[tokio::test(flavor = "multi_thread")]
async fn reconcile_fails_when_no_account_can_be_swept_so_its_alarm_fires() {
    if skip_slow_test() {
        return;
    }
    // Listed, but no member stack anywhere: every member account's child execution fails,
    // and so does the run, which is what ReconcileFailedAlarm (ExecutionsFailed) counts,
    // though the hub's own account (swept with its own role) was swept.
    let hub = Account::new().await;
    let (first, second) = (Account::new().await, Account::new().await);
    let run = hub.run_state_machine(
        RECONCILE,
        &json!({}),
        json!({"env": {
            "WARDEN_MODE": "enforce",
            "WARDEN_REGIONS": "eu-west-1",
            "WARDEN_MEMBER_ROLE": format!("/{MEMBER_ROLE}"),
            "WARDEN_ACCOUNTS": format!("{},{}", first.id, second.id),
        }, "parameters": {"AccountConcurrency": 3}, "log": log("no-account-reached")}),
    );
    assert_eq!(run["status"], "FAILED", "{}", shown(&run));
    assert_eq!(
        run["error"],
        "States.ExceedToleratedFailureThreshold",
        "{}",
        shown(&run)
    );
    assert_eq!(
        run["states"],
        json!(["Plan", "Any account?", "Each account"])
    );
    let unreached: Vec<&str> = answers(&run)
        .into_iter()
        .flat_map(|a| a["unreached"].as_array().into_iter().flatten())
        .filter_map(|u| u["account"].as_str())
        .collect();
    assert_eq!(unreached.len(), 2, "{}", shown(&run));
    for account in [&first.id, &second.id] {
        assert!(unreached.contains(&account.as_str()), "{unreached:?}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_sweep_cut_by_its_deadline_is_carried_on_by_the_state_machine_until_it_ends() {
    if skip_slow_test() {
        return;
    }
    const REGIONS: [&str; 2] = ["eu-west-1", "us-east-1"];
    const CLUSTERS: usize = 6;
    const POLICIES: usize = 4;
    let account = Account::new().await;
    account.trail("us-east-1", "account-trail", true, true);
    let mut filling = JoinSet::new();
    for region in REGIONS {
        let account = Account::with_id(&account.id).await;
        filling.spawn(async move {
            RegionClients::new(&account.config_in(region))
                .fleet(CLUSTERS, 8, POLICIES, None)
                .await
        });
    }
    filling.join_all().await;

    // Each invocation is handed a deadline 2 s ahead, all the time the function keeps
    // back to answer, so it has passed on arrival and each invocation reads a single
    // cluster per region (the least it always does) and hands on, on any machine. Lambda
    // kills it only at the 30 s timeout: a loaded test machine's emulator may take more
    // than the 2 s that AWS's latency leaves ample. (A 3 s timeout left a second to sweep
    // in, which an idle machine sometimes used to sweep it all.)
    let run = account.run_state_machine(
        RECONCILE,
        &json!({}),
        json!({"env": {"WARDEN_MODE": "enforce", "WARDEN_REGIONS": REGIONS.join(",")},
               "timeouts": {"reconcile": 30}, "deadlines": {"reconcile": 2000},
               "log": log("deadline")}),
    );
    assert_eq!(run["status"], "SUCCEEDED", "{}", shown(&run));
    // The plan, then the account's child execution: sweeps handed on until one ends.
    let answers = answers(&run);
    let sweeps = &answers[1..];
    let carried = sweeps
        .iter()
        .filter(|s| !s["continuation"].is_null())
        .count();
    // At most one cluster per region per invocation; alarm checks may be cut too.
    assert!(
        carried >= CLUSTERS - 1,
        "{carried} hand-ons for {CLUSTERS} clusters"
    );
    assert_eq!(sweeps.len(), carried + 1, "every cut sweep carried on once");
    assert!(sweeps.last().is_some_and(|s| s["continuation"].is_null()));
    for (sweep, next) in run["invocations"].as_array().expect("invocations")[1..]
        .windows(2)
        .map(|w| (&w[0], &w[1]))
    {
        assert_eq!(
            next["event"], sweep["answer"]["continuation"],
            "each continuation is the next invocation's input"
        );
    }
    // Every cluster and policy read once over the invocations, every policy given its alarm.
    let mut read: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    for sweep in sweeps {
        for region in sweep["regions"].as_array().into_iter().flatten() {
            let entry = read
                .entry(region["region"].as_str().unwrap_or_default().to_owned())
                .or_default();
            entry.0 += region["clusters"].as_u64().unwrap_or(0);
            entry.1 += region["scaling_policies"].as_u64().unwrap_or(0);
        }
    }
    for region in REGIONS {
        assert_eq!(
            read.get(region),
            Some(&(CLUSTERS as u64, POLICIES as u64)),
            "{read:?}"
        );
        let clients = RegionClients::new(&account.config_in(region));
        let alarms = clients.alarms().await;
        assert_eq!(
            alarms
                .iter()
                .filter(|a| a.alarm_name().is_some_and(|n| n.ends_with("/out")))
                .count(),
            POLICIES,
            "{region}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_deletion_blocked_by_a_cluster_fails_as_deletion_blocked_with_the_inventory() {
    if skip_slow_test() {
        return;
    }
    let account = Account::new().await;
    account.create_ecs_role().await;
    RegionClients::new(&account.config)
        .service("shop", "cart", None, &[])
        .await;
    let run = account.run_state_machine(
        DELETION,
        &json!({"role_name": SLR, "regions": [SAMPLE_REGION]}),
        json!({"env": {"WARDEN_MODE": "enforce"}, "log": log("blocked")}),
    );
    assert_eq!(run["status"], "FAILED", "{}", shown(&run));
    assert_eq!(run["error"], "DeletionBlocked");
    let cause: Value =
        serde_json::from_str(run["cause"].as_str().unwrap_or("null")).expect("the cause is JSON");
    assert_eq!(cause["outcome"], "blocked");
    assert_eq!(cause["inventory"][0]["region"], SAMPLE_REGION, "{cause:#}");
    assert!(account.role(SLR).await.is_some(), "left in place");
    let ecs = RegionClients::new(&account.config).ecs_state().await;
    assert!(
        ecs.to_string().contains("cart"),
        "the service is left: {ecs}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_confirmed_drain_runs_to_deleted_through_the_waits() {
    if skip_slow_test() {
        return;
    }
    let account = Account::new().await;
    account.create_ecs_role().await;
    let region = RegionClients::new(&account.config);
    region.service("shop", "cart", None, &[]).await;
    region.service("shop", "api", None, &[]).await;
    let run = account.run_state_machine(
        DELETION,
        &json!({"role_name": SLR, "regions": [SAMPLE_REGION], "drain": true,
                "confirm_account": account.id}),
        json!({"env": {"WARDEN_MODE": "enforce"}, "log": log("drain")}),
    );
    assert_eq!(run["status"], "SUCCEEDED", "{}", shown(&run));
    let states: Vec<&str> = run["states"]
        .as_array()
        .expect("states")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(states.contains(&"Wait"), "{states:?}");
    assert_eq!(states.last(), Some(&"Deleted"), "{states:?}");
    let last = run["tasks"].as_array().and_then(|t| t.last()).cloned();
    assert_eq!(
        last.as_ref().map(|l| &l["outcome"]),
        Some(&json!("deleted"))
    );
    assert!(account.role(SLR).await.is_none(), "the role is deleted");
    let ecs = region.ecs_state().await;
    let left: Vec<&Value> = ecs
        .as_array()
        .into_iter()
        .flatten()
        .filter(|c| c["status"] != "INACTIVE")
        .collect();
    assert!(left.is_empty(), "drained: {ecs}");
}

/// A hub, and a member that allows drains with a service using the ECS role.
async fn hub_and_drainable_member() -> (Account, Account, RegionClients) {
    let hub = Account::new().await;
    let member = Account::new().await;
    member.member_role_for(&hub).await;
    member.drain_role_for(&hub).await;
    member.create_ecs_role().await;
    let region = RegionClients::new(&member.config);
    region.service("shop", "cart", None, &[]).await;
    (hub, member, region)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_hub_drain_waits_for_a_persons_approval_and_a_refusal_leaves_everything() {
    if skip_slow_test() {
        return;
    }
    let (hub, member, region) = hub_and_drainable_member().await;
    let start = json!({"role_name": SLR, "regions": [SAMPLE_REGION], "drain": true,
                       "account": member.id, "confirm_account": member.id,
                       "approval": {"approved_by": "the starter, which does not count"}});
    let hub_env = |answer: Value, name: &str| {
        json!({"env": {
            "WARDEN_MODE": "enforce",
            "WARDEN_MEMBER_ROLE": format!("/{MEMBER_ROLE}"),
            "WARDEN_ACCOUNTS": member.id,
        }, "log": log(name), "approval": answer})
    };
    let entered = |run: &Value| -> Vec<String> {
        run["states"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .map(String::from)
            .collect()
    };

    // Refused: the execution ends blocked at the wait, and nothing in the member moved.
    let run = hub.run_state_machine(
        DELETION,
        &start,
        hub_env(json!({"refused": "not during the sale"}), "refused"),
    );
    assert_eq!(run["status"], "FAILED", "{}", shown(&run));
    assert_eq!(run["error"], "DeletionBlocked", "{}", shown(&run));
    assert!(
        entered(&run).contains(&"Approval".to_owned()),
        "{}",
        shown(&run)
    );
    let cause = run["cause"].as_str().unwrap_or_default();
    assert!(cause.contains("not during the sale"), "{cause}");
    let asked = answers(&run)
        .into_iter()
        .flat_map(|a| a["findings"].as_array().into_iter().flatten())
        .any(|f| {
            f["check"] == "approval"
                && f["detail"]
                    .as_str()
                    .unwrap_or("")
                    .contains("send-task-success")
        });
    assert!(asked, "the request for approval was made: {}", shown(&run));
    assert!(member.role(SLR).await.is_some(), "left in place");
    assert!(region.ecs_state().await.to_string().contains("cart"));

    // Approved by a person: drained and deleted in the member.
    let run = hub.run_state_machine(
        DELETION,
        &start,
        hub_env(json!({"approved_by": "ops-lead"}), "approved"),
    );
    assert_eq!(run["status"], "SUCCEEDED", "{}", shown(&run));
    let states = entered(&run);
    let approval = states.iter().position(|s| s == "Approval");
    assert!(approval.is_some(), "{states:?}");
    assert!(member.role(SLR).await.is_none(), "the role is deleted");
    let approved = answers(&run)
        .into_iter()
        .flat_map(|a| a["findings"].as_array().into_iter().flatten())
        .any(|f| f["check"] == "approval" && f["detail"] == "the drain was approved by ops-lead");
    assert!(approved, "{}", shown(&run));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_hub_drain_nobody_answers_ends_blocked_when_the_wait_times_out() {
    if skip_slow_test() {
        return;
    }
    let (hub, member, region) = hub_and_drainable_member().await;
    let run = hub.run_state_machine(
        DELETION,
        &json!({"role_name": SLR, "regions": [SAMPLE_REGION], "drain": true,
                "account": member.id, "confirm_account": member.id,
                "approval_timeout_seconds": 10}),
        json!({"env": {
            "WARDEN_MODE": "enforce",
            "WARDEN_MEMBER_ROLE": format!("/{MEMBER_ROLE}"),
            "WARDEN_ACCOUNTS": member.id,
        }, "log": log("unanswered")}),
    );
    assert_eq!(run["status"], "FAILED", "{}", shown(&run));
    assert_eq!(run["error"], "DeletionBlocked", "{}", shown(&run));
    let cause = run["cause"].as_str().unwrap_or_default();
    assert!(cause.contains("States.Timeout"), "{cause}");
    assert!(member.role(SLR).await.is_some(), "left in place");
    assert!(region.ecs_state().await.to_string().contains("cart"));
}

/// Every JSONPath a state machine reads from the answer of the function a substitution
/// names (`ReconcileArn`, `SlrDeletionArn`): a Task's ResultSelector paths under
/// `$.Payload`, and, where a Task's OutputPath passes the answer on whole (`$.Payload`),
/// every path the machine's other states read. A Choice rule that asks `IsPresent` reads
/// nothing that must exist.
fn reads(asl: &Value) -> Vec<(String, String)> {
    fn states<'a>(machine: &'a Value, out: &mut Vec<&'a Value>) {
        for state in machine["States"]
            .as_object()
            .into_iter()
            .flat_map(|s| s.values())
        {
            out.push(state);
            if state["ItemProcessor"].is_object() {
                states(&state["ItemProcessor"], out);
            }
        }
    }
    fn paths_in(text: &str) -> Vec<String> {
        // `$`, `$.a.b`, `$.a[0]`, also inside intrinsic functions.
        let mut found = Vec::new();
        for (at, _) in text.match_indices('$') {
            let rest = &text[at..];
            let end = rest
                .find(|c: char| !(c.is_ascii_alphanumeric() || "$._[]".contains(c)))
                .unwrap_or(rest.len());
            found.push(rest[..end].to_owned());
        }
        found
    }
    let mut all = Vec::new();
    states(asl, &mut all);
    let mut found = Vec::new();
    let mut whole: Vec<String> = Vec::new();
    for state in &all {
        let Some(function) = state["Parameters"]["FunctionName"].as_str() else {
            continue;
        };
        let function = function.trim_start_matches("${").trim_end_matches('}');
        for value in state["ResultSelector"]
            .as_object()
            .into_iter()
            .flat_map(|m| m.values())
        {
            for path in paths_in(value.as_str().unwrap_or_default()) {
                if let Some(rest) = path.strip_prefix("$.Payload") {
                    found.push((function.to_owned(), format!("${rest}")));
                }
            }
        }
        if state["OutputPath"] == "$.Payload" {
            whole.push(function.to_owned());
        }
    }
    for function in whole {
        for state in &all {
            let mut texts: Vec<&str> = Vec::new();
            for rule in state["Choices"].as_array().into_iter().flatten() {
                if rule.get("IsPresent").is_none() {
                    texts.extend(rule["Variable"].as_str());
                }
            }
            for key in [
                "SecondsPath",
                "CausePath",
                "ErrorPath",
                "InputPath",
                "TimeoutSecondsPath",
            ] {
                texts.extend(state[key].as_str());
            }
            for text in texts {
                found.extend(paths_in(text).into_iter().map(|p| (function.clone(), p)));
            }
        }
    }
    found.sort();
    found.dedup();
    found
}

/// Whether `path` (`$`, `$.a.b`, `$.a[0]`) names something in `answer`.
fn exists(answer: &Value, path: &str) -> bool {
    let mut at = answer;
    for part in path
        .trim_start_matches('$')
        .split('.')
        .filter(|p| !p.is_empty())
    {
        let (key, index) = match part.split_once('[') {
            Some((key, index)) => (key, index.trim_end_matches(']').parse::<usize>().ok()),
            None => (part, None),
        };
        let Some(next) = at.get(key) else {
            return false;
        };
        at = match index {
            Some(i) => match next.get(i) {
                Some(item) => item,
                None => return false,
            },
            None => next,
        };
    }
    true
}

#[tokio::test(flavor = "multi_thread")]
async fn every_path_a_state_machine_reads_is_in_every_answer_its_function_gives() {
    use ecs_warden::handlers::reconcile::Reconcile;
    use ecs_warden::handlers::slr_deletion::Answer;

    use ecs_warden::invocation::clock::Clock;
    use ecs_warden::invocation::deadline::Deadline;
    use ecs_warden::invocation::settings::{MemberAccounts, Mode};
    use std::time::Duration;

    let mut read: Vec<(String, String)> = Vec::new();
    for file in ["reconcile.asl.json", "slr-deletion.asl.json"] {
        let text = std::fs::read_to_string(root().join("statemachine").join(file)).expect(file);
        read.extend(reads(&serde_json::from_str(&text).expect("ASL is JSON")));
    }
    assert!(
        read.contains(&("ReconcileArn".into(), "$.sweeps".into()))
            && read.contains(&("SlrDeletionArn".into(), "$.outcome".into())),
        "the reader finds the paths: {read:?}"
    );

    // reconcile: a plan with no account, a plan of several, a sweep complete, one cut by
    // its deadline, one over several accounts.
    let mut answers: Vec<(&str, Value)> = Vec::new();
    let hub = Account::new().await;
    let member = Account::new().await;
    member.member_role_for(&hub).await;
    broken_world(&member).await;
    let (unlistable, _) = hub.hub_handler_of::<Reconcile>(
        Mode::Enforce,
        MemberAccounts::Organization,
        Clock::system(),
    );
    let (listed, _) = hub.hub_handler::<Reconcile>(Mode::Enforce, &[&member]);
    let (own, _) = member.reconcile(Mode::Audit, &["eu-west-1", "us-east-1"]);
    let regions = json!({"regions": ["eu-west-1", "us-east-1"]});
    let runs = [
        (&unlistable, json!({"plan": {}}), Deadline::none()),
        (&listed, json!({"plan": regions}), Deadline::none()),
        (&own, json!({}), Deadline::none()),
        (&own, json!({}), Deadline::after(Duration::ZERO)),
        (
            &listed,
            json!({"accounts": [hub.id, member.id], "regions": ["eu-west-1"]}),
            Deadline::after(Duration::ZERO),
        ),
        (&listed, json!({"account": member.id}), Deadline::none()),
    ];
    for (handler, input, deadline) in runs {
        let answer = handler
            .handle_within(input, deadline)
            .await
            .expect("accepted");
        answers.push(("ReconcileArn", serde_json::to_value(&answer).expect("JSON")));
    }
    assert!(
        answers.iter().any(|(_, a)| a["sweeps"] == json!([])),
        "a plan with no account is among them"
    );
    assert!(answers.iter().any(|(_, a)| !a["continuation"].is_null()));

    // slr-deletion: each step of a deletion blocked, one drained to deleted, one that fails
    // before its drain, and one following a deletion made elsewhere.
    let blocked = Account::new().await;
    blocked.create_ecs_role().await;
    RegionClients::new(&blocked.config)
        .service("shop", "cart", None, &[])
        .await;
    let drained = Account::new().await;
    drained.create_ecs_role().await;
    RegionClients::new(&drained.config)
        .service("shop", "cart", None, &[])
        .await;
    let elsewhere = Account::new().await;
    elsewhere.create_ecs_role().await;
    let task = elsewhere
        .iam
        .delete_service_linked_role()
        .role_name(SLR)
        .send()
        .await
        .expect("a deletion made elsewhere");
    let mut event = elsewhere.event("iam-delete-service-linked-role.json");
    event["detail"]["responseElements"]["deletionTaskId"] = json!(task.deletion_task_id());
    let starts = [
        (
            &blocked,
            json!({"role_name": SLR, "regions": [SAMPLE_REGION]}),
        ),
        (
            &blocked,
            json!({"role_name": SLR, "regions": [SAMPLE_REGION], "drain": true,
                   "confirm_account": "000000000000"}),
        ),
        (
            &drained,
            json!({"role_name": SLR, "regions": [SAMPLE_REGION], "drain": true,
                   "confirm_account": drained.id}),
        ),
        (&elsewhere, event),
    ];
    for (account, start) in starts {
        let (deletion, _) = account.slr_deletion(Mode::Enforce);
        let mut input = start;
        for _ in 0..30 {
            let Answer::Step(out) = deletion.handle_payload(input).await.expect("accepted") else {
                panic!("a deletion step")
            };
            let answer = serde_json::to_value(&*out).expect("JSON");
            answers.push(("SlrDeletionArn", answer.clone()));
            if answer["done"] == true {
                break;
            }
            input = answer;
        }
    }
    let outcomes: Vec<&Value> = answers
        .iter()
        .filter(|(f, a)| *f == "SlrDeletionArn" && a["done"] == true)
        .map(|(_, a)| &a["outcome"])
        .collect();
    for outcome in ["blocked", "deleted", "failed"] {
        assert!(
            outcomes.contains(&&json!(outcome)),
            "{outcome} among {outcomes:?}"
        );
    }

    let mut missing = Vec::new();
    for (function, answer) in &answers {
        for (reader, path) in &read {
            if reader == function && !exists(answer, path) {
                missing.push(format!("{function} {path} in {answer}"));
            }
        }
    }
    assert!(missing.is_empty(), "{missing:#?}");
}
