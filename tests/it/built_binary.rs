//! The built binaries under a Lambda Runtime API (`cargo lambda watch --only-lambda-apis`,
//! each function a process of its own as Lambda runs it), invoked with files from
//! `events/` the way an operator does by hand with `cargo lambda invoke`.

use std::fs::File;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use ecs_warden::handlers::PLANTED_PANIC;
use serde_json::Value;
use warden_tests::{
    built_functions, free_port, root, skip_slow_test, venv_bin, wait_for_listener, Account,
    MEMBER_FUNCTIONS, MEMBER_ROLE, SAMPLE_REGION,
};

/// The Runtime API and the function processes reading from it; stopped when dropped.
struct Watch(Vec<(&'static str, Child)>);

impl Watch {
    /// Whether `function`'s process is still the one started, and running.
    fn serving(&mut self, function: &str) -> bool {
        self.0
            .iter_mut()
            .find(|(name, _)| *name == function)
            .is_some_and(|(_, child)| matches!(child.try_wait(), Ok(None)))
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        for (_, child) in &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// `cargo lambda invoke FUNCTION` on the watcher's port with `input` arguments.
fn invoke(port: u16, function: &str, input: &[&std::ffi::OsStr]) -> std::process::Output {
    cargo_lambda()
        .args(["invoke", function, "--invoke-port", &port.to_string()])
        .args(input)
        .output()
        .expect("cargo lambda invoke")
}

/// cargo lambda's Runtime API on `port` and every function's built binary reading its own
/// invocations from it, in enforce mode, acting in `account` with `settings`, their output
/// to `log` when given. The binaries are the ones the tests were built with: cargo lambda
/// is not asked to build (its own `cargo run` would resolve other features and compile the
/// SDK a second time).
fn watch(port: u16, account: &Account, settings: &[(&str, &str)], log: Option<File>) -> Watch {
    let output = |log: &Option<File>| match log {
        Some(log) => Stdio::from(log.try_clone().expect("log file handle")),
        None => Stdio::null(),
    };
    let api = cargo_lambda()
        .args([
            "watch",
            "--only-lambda-apis",
            "--invoke-port",
            &port.to_string(),
        ])
        .stdin(Stdio::null())
        .stdout(output(&log))
        .stderr(output(&log))
        .spawn()
        .expect("start cargo lambda watch");
    let mut watch = Watch(vec![("runtime api", api)]);
    wait_for_listener(port, Duration::from_secs(60));
    let binaries = built_functions();
    for function in MEMBER_FUNCTIONS {
        // cargo lambda's Runtime API serves each function's invocations under its name.
        let process = Command::new(binaries.join(function))
            .env(
                "AWS_LAMBDA_RUNTIME_API",
                format!("http://127.0.0.1:{port}/.rt/{function}"),
            )
            .env("AWS_LAMBDA_FUNCTION_NAME", function)
            .env("AWS_LAMBDA_FUNCTION_VERSION", "1")
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
            .env("WARDEN_MODE", "enforce")
            .envs(settings.iter().copied())
            .envs(account.env())
            .stdin(Stdio::null())
            .stdout(output(&log))
            .stderr(output(&log))
            .spawn()
            .unwrap_or_else(|e| panic!("start {function}: {e}"));
        watch.0.push((function, process));
    }
    watch
}

fn cargo_lambda() -> Command {
    let mut cmd = Command::new(venv_bin("cargo-lambda"));
    cmd.arg("lambda").current_dir(root());
    cmd
}

#[tokio::test(flavor = "multi_thread")]
async fn the_binaries_serve_sample_events_under_cargo_lambda() {
    if skip_slow_test() {
        return;
    }
    let account = Account::new().await;

    // The functions publish to a topic whose queue the test reads, and log JSON as they
    // do in Lambda (LogFormat: JSON) into a file the test reads.
    let (topic, queue) = account.topic_with_queue(SAMPLE_REGION, "built-binary");
    let log_path = root().join("target/built-binary-functions.log");
    let log = std::fs::File::create(&log_path).expect("create the functions' log file");

    let port = free_port();
    let settings = [
        ("WARDEN_NOTIFICATION_TOPIC_ARN", topic.as_str()),
        ("AWS_LAMBDA_LOG_FORMAT", "JSON"),
    ];
    let mut watch = watch(port, &account, &settings, Some(log));

    let (event, report) = invoke_sample(
        port,
        &account,
        "ecs-role-guard",
        "ecs-create-service-legacy-role.json",
    );
    assert_eq!(report["function"], "ecs-role-guard");
    assert_eq!(report["event_id"], event["id"]);
    assert_eq!(report["summary"]["created"], 2, "{report:#}");

    let attached = account
        .iam
        .list_attached_role_policies()
        .role_name("ecsServiceRole")
        .send()
        .await
        .expect("the binary created ecsServiceRole in moto");
    let arns: Vec<_> = attached
        .attached_policies()
        .iter()
        .filter_map(|p| p.policy_arn())
        .collect();
    assert_eq!(
        arns,
        ["arn:aws:iam::aws:policy/service-role/AmazonEC2ContainerServiceRole"]
    );

    // Bad input answers an error naming the problem, and the process keeps serving.
    let foreign = r#"{"detail-type":"Scheduled Event","source":"aws.events","detail":{}}"#;
    let bad = invoke(
        port,
        "ecs-role-guard",
        &["--data-ascii".as_ref(), foreign.as_ref()],
    );
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&bad.stdout),
        String::from_utf8_lossy(&bad.stderr)
    );
    assert!(said.contains("Scheduled Event"), "{said}");
    // A panic inside the handler answers an error, and the same process serves on: the
    // runtime catches it, which the release profile's unwinding keeps possible.
    let planted = serde_json::json!({ PLANTED_PANIC: true }).to_string();
    let panicked = invoke(
        port,
        "ecs-role-guard",
        &["--data-ascii".as_ref(), planted.as_ref()],
    );
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&panicked.stdout),
        String::from_utf8_lossy(&panicked.stderr)
    );
    assert!(!panicked.status.success(), "{said}");
    assert!(
        said.contains("Lambda panicked: planted by a test"),
        "{said}"
    );
    assert!(
        watch.serving("ecs-role-guard"),
        "the panic ended the process"
    );
    // The sample as written is another account's (111122223333): skipped, with no call.
    let cluster_event = root().join("events/ecs-create-cluster.json");
    let again = invoke(
        port,
        "ecs-role-guard",
        &["--data-file".as_ref(), cluster_event.as_os_str()],
    );
    assert!(
        again.status.success(),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
    let foreign: Value = serde_json::from_slice(&again.stdout).expect("a report");
    assert_eq!(foreign["findings"][0]["check"], "account", "{foreign:#}");
    assert_eq!(foreign["findings"][0]["status"], "skipped");
    assert_eq!(foreign["aws_calls"], serde_json::json!([]));

    let (_, report) = invoke_sample(
        port,
        &account,
        "scaling-guard",
        "autoscaling-register-scalable-target.json",
    );
    assert_eq!(report["function"], "scaling-guard");
    assert_eq!(report["summary"]["created"], 1, "{report:#}");
    let role = account
        .iam
        .get_role()
        .role_name("AWSServiceRoleForApplicationAutoScaling_ECSService")
        .send()
        .await
        .expect("the binary created the scaling service-linked role in moto");
    assert!(role.role.is_some());

    // A fresh account has no cluster: the plan step hands over to the submit step.
    let (_, step) = invoke_sample(port, &account, "slr-deletion", "slr-deletion-start.json");
    assert_eq!(step["function"], "slr-deletion");
    assert_eq!(step["phase"], "submit", "{step:#}");
    assert_eq!(step["done"], false);

    // Nothing uses the deleted ecsServiceRole in a fresh account: left deleted.
    let (_, drift) = invoke_sample(port, &account, "role-drift-guard", "iam-delete-role.json");
    assert_eq!(drift["findings"][0]["check"], "in_use", "{drift:#}");
    assert_eq!(drift["findings"][0]["status"], "skipped");

    // With the trail the events need, the sweep finds it in both regions (compliant:
    // counted, not listed) and has nothing to publish.
    account.trail("us-east-1", "account-trail", true, true);
    let (_, sweep) = invoke_sample(port, &account, "reconcile", "reconcile-manual.json");
    assert_eq!(sweep["function"], "reconcile");
    assert_eq!(sweep["counts"]["cloudtrail"]["compliant"], 2, "{sweep:#}");
    assert_eq!(
        sweep["regions"].as_array().map(Vec::len),
        Some(2),
        "{sweep:#}"
    );

    // bob exists and may do nothing: the seed 004 permission is what he lacks.
    account.create_user("bob").await;
    let (_, diagnosis) = invoke_sample(
        port,
        &account,
        "access-doctor",
        "access-denied-create-service-linked-role.json",
    );
    assert_eq!(
        diagnosis["missing"][0]["action"], "iam:CreateServiceLinkedRole",
        "{diagnosis:#}"
    );

    // A task a user stopped is none of task-doctor's business: no call, nothing published.
    let (_, stopped) = invoke_sample(
        port,
        &account,
        "task-doctor",
        "ignored-ecs-task-stopped-by-user.json",
    );
    assert_eq!(stopped["function"], "task-doctor", "{stopped:#}");
    assert_eq!(stopped["findings"][0]["check"], "scope", "{stopped:#}");
    assert_eq!(stopped["diagnosis"], Value::Null);
    assert_eq!(stopped["aws_calls"], serde_json::json!([]));

    // What created or failed something was published, once per invocation; the rest not.
    let published: Vec<String> = account
        .notifications(SAMPLE_REGION, &queue)
        .iter()
        .map(|n| n["subject"].as_str().unwrap_or("?").to_owned())
        .collect();
    assert_eq!(
        published,
        [
            "ecs-warden ecs-role-guard: 2 created",
            "ecs-warden scaling-guard: 1 created",
            "ecs-warden access-doctor: 1 failed",
        ]
    );

    // Every function's log lines are JSON and name the function.
    let logs = std::fs::read_to_string(&log_path).expect("the functions' log");
    for function in MEMBER_FUNCTIONS {
        let named = logs
            .lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .filter(|l| l["spans"][0]["function"] == function)
            .count();
        assert!(named > 0, "no JSON log line names {function}:\n{logs}");
    }
    assert!(
        logs.contains(r#""message":"write""#),
        "the writes are logged:\n{logs}"
    );
    // Each invocation wrote one Embedded Metric Format line of its own: ecs-role-guard's
    // first one counts the two roles it created.
    let metrics: Vec<Value> = logs
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|l| l["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "ecs-warden")
        .collect();
    let guard: Vec<&Value> = metrics
        .iter()
        .filter(|m| m["function"] == "ecs-role-guard")
        .collect();
    assert!(guard.len() >= 3, "one line per invocation: {metrics:#?}");
    assert_eq!(guard[0]["Created"], 2, "{:#}", guard[0]);
    assert_eq!(guard[0]["status"], "ok");
    assert!(
        guard.iter().any(|m| m["status"] == "rejected"),
        "the foreign event"
    );
}

/// Invokes `function` with a sample event rewritten for `account`; returns event and report.
fn invoke_sample(port: u16, account: &Account, function: &str, file: &str) -> (Value, Value) {
    let event = account.event(file);
    let data = std::env::temp_dir().join(format!("warden-event-{}-{file}", account.id));
    std::fs::write(&data, event.to_string()).unwrap();
    let invoked = invoke(port, function, &["--data-file".as_ref(), data.as_os_str()]);
    let _ = std::fs::remove_file(&data);
    assert!(
        invoked.status.success(),
        "invoke {function} failed: {}",
        String::from_utf8_lossy(&invoked.stderr)
    );
    let report = serde_json::from_slice(&invoked.stdout).expect("the report is JSON");
    (event, report)
}

/// One hub, the built binaries: three member accounts acted in, a fourth refused.
#[tokio::test(flavor = "multi_thread")]
async fn a_hub_binary_acts_in_three_member_accounts_and_refuses_a_fourth() {
    if skip_slow_test() {
        return;
    }
    let hub = Account::new().await;
    let mut members = Vec::new();
    for _ in 0..3 {
        let member = Account::new().await;
        member.member_role_for(&hub).await;
        members.push(member);
    }
    let stranger = Account::new().await;
    stranger.member_role_for(&hub).await;

    let listed: Vec<&str> = members.iter().map(|m| m.id.as_str()).collect();
    let port = free_port();
    let accounts = listed.join(",");
    let settings = [
        ("WARDEN_MEMBER_ROLE", MEMBER_ROLE),
        ("WARDEN_ACCOUNTS", accounts.as_str()),
    ];
    let _watch = watch(port, &hub, &settings, None);

    for member in &members {
        let (_, report) = invoke_sample(port, member, "ecs-role-guard", "ecs-create-cluster.json");
        assert_eq!(report["account"], member.id.as_str(), "{report:#}");
        assert_eq!(report["summary"]["created"], 1, "{report:#}");
        assert_eq!(report["aws_calls"][0], "sts:AssumeRole", "{report:#}");
        assert!(
            member.role("AWSServiceRoleForECS").await.is_some(),
            "{}",
            member.id
        );
    }
    let (_, refused) = invoke_sample(port, &stranger, "ecs-role-guard", "ecs-create-cluster.json");
    assert_eq!(refused["findings"][0]["check"], "account", "{refused:#}");
    assert_eq!(refused["findings"][0]["status"], "skipped");
    assert_eq!(refused["aws_calls"], serde_json::json!([]));
    assert!(stranger.role("AWSServiceRoleForECS").await.is_none());
    assert!(hub.role("AWSServiceRoleForECS").await.is_none());
}
