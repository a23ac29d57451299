//! The command-line program, `ecs-warden`, as built by `cargo build --workspace
//! --all-targets`, run as a person runs it against an account in moto: its exit statuses,
//! its JSON, what it writes (nothing without `--fix`, as moto's state shows), its answers
//! beside the functions' own, and its table in a real 80-column terminal.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use aws_sdk_ecs::types::{
    AwsVpcConfiguration, Compatibility, ContainerDefinition, LaunchType, NetworkConfiguration,
    Secret,
};
use ecs_warden::invocation::events::envelope_of_record;
use ecs_warden::invocation::settings::Mode;
use serde_json::Value;
use warden_tests::{
    built_functions, endpoint, root, skip_slow_test, writes, Account, RegionClients, SAMPLE_REGION,
};

/// The built program.
fn program() -> PathBuf {
    built_functions().join("ecs-warden")
}

/// A run of the program: exit status, standard output, standard error.
struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Run {
    fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("not JSON ({e}):\n{}\n{}", self.stdout, self.stderr))
    }
}

impl From<Output> for Run {
    fn from(out: Output) -> Self {
        Self {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }
}

/// The program with nothing of this machine's AWS setup: no profile, no config files.
fn bare(home: &Path) -> Command {
    let mut command = Command::new(program());
    command
        .env_clear()
        .env("HOME", home)
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("AWS_CONFIG_FILE", home.join("config"))
        .env("AWS_SHARED_CREDENTIALS_FILE", home.join("credentials"))
        .env("AWS_EC2_METADATA_DISABLED", "true");
    command
}

/// The program acting in `account` with `args`.
fn run(account: &Account, args: &[&str]) -> Run {
    let home = tempdir();
    let mut command = bare(&home);
    command.envs(account.env()).args(args);
    command.output().expect("run ecs-warden").into()
}

fn tempdir() -> PathBuf {
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let dir = root().join("target/cli-tests").join(format!(
        "{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&dir).expect("a temporary directory");
    dir
}

/// `value` written to a file of its own.
fn file_of(value: &Value) -> PathBuf {
    let path = tempdir().join("input.json");
    std::fs::write(&path, value.to_string()).expect("write the input");
    path
}

fn calls_of(answer: &Value) -> Vec<String> {
    answer["aws_calls"]
        .as_array()
        .map(|c| {
            c.iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// The `checks` of `check --output json` with this status and check name.
fn checks<'a>(answer: &'a Value, check: &str, status: &str) -> Vec<&'a Value> {
    answer["checks"]
        .as_array()
        .expect("checks")
        .iter()
        .filter(|c| c["check"] == check && c["status"] == status)
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn check_answers_0_when_compliant_2_when_not_writes_nothing_and_fix_repairs() {
    if skip_slow_test() {
        return;
    }
    let account = Account::new().await;
    // A trail that delivers every region's management events: nothing else to report.
    account.trail(SAMPLE_REGION, "everything", true, true);
    let clean = run(
        &account,
        &["check", "--regions", SAMPLE_REGION, "--output", "json"],
    );
    assert_eq!(clean.code, 0, "{}\n{}", clean.stdout, clean.stderr);
    let answer = clean.json();
    assert_eq!(answer["function"], "reconcile");
    assert_eq!(answer["mode"], "audit");
    let all = answer["checks"].as_array().expect("checks");
    assert!(!all.is_empty(), "every check is listed, compliant ones too");
    assert!(all.iter().all(|c| c["status"] == "compliant"), "{all:?}");
    assert!(all.iter().all(|c| c["account"] == account.id.as_str()));

    // A service that names the legacy role, which does not exist.
    let eu = RegionClients::new(&account.config_in(SAMPLE_REGION));
    eu.service("shop", "cart", Some("ecsServiceRole"), &[])
        .await;
    let found = run(
        &account,
        &["check", "--regions", SAMPLE_REGION, "--output", "json"],
    );
    assert_eq!(found.code, 2, "{}\n{}", found.stdout, found.stderr);
    let answer = found.json();
    let missing = checks(&answer, "exists", "would_create");
    assert!(
        missing.iter().any(|c| c["resource"]
            .as_str()
            .unwrap_or_default()
            .ends_with("role/ecsServiceRole")),
        "{missing:?}"
    );
    assert!(!checks(&answer, "exists", "compliant").is_empty() || !missing.is_empty());
    let calls = calls_of(&answer);
    assert!(writes(&calls).is_empty(), "read-only: {calls:?}");
    assert!(
        account.role("ecsServiceRole").await.is_none(),
        "nothing written"
    );

    let fixed = run(
        &account,
        &[
            "check",
            "--regions",
            SAMPLE_REGION,
            "--output",
            "json",
            "--fix",
        ],
    );
    assert_eq!(fixed.code, 0, "{}\n{}", fixed.stdout, fixed.stderr);
    let answer = fixed.json();
    assert_eq!(answer["mode"], "enforce");
    assert!(!checks(&answer, "exists", "created").is_empty(), "{answer}");
    assert!(
        account.role("ecsServiceRole").await.is_some(),
        "the fix is in moto"
    );
    let after = run(
        &account,
        &["check", "--regions", SAMPLE_REGION, "--output", "markdown"],
    );
    assert_eq!(after.code, 0, "{}\n{}", after.stdout, after.stderr);
    assert!(after
        .stdout
        .contains(&format!("## Account {}, global", account.id)));
    assert!(
        after
            .stdout
            .contains("| compliant | trust | `arn:aws:iam::"),
        "{}",
        after.stdout
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_bad_profile_or_region_answers_1_and_says_what_to_do() {
    if skip_slow_test() {
        return;
    }
    let home = tempdir();
    let nope: Run = bare(&home)
        .env("AWS_ENDPOINT_URL", endpoint())
        .args(["--profile", "nope", "--region", SAMPLE_REGION, "check"])
        .output()
        .expect("run")
        .into();
    assert_eq!(nope.code, 1, "{}", nope.stderr);
    assert!(
        nope.stderr.contains("could not sign in to AWS"),
        "{}",
        nope.stderr
    );
    assert!(nope.stderr.contains("profile \"nope\""), "{}", nope.stderr);
    assert!(nope.stdout.is_empty());

    let no_region: Run = bare(&home).arg("check").output().expect("run").into();
    assert_eq!(no_region.code, 1);
    assert!(
        no_region.stderr.contains("no AWS region"),
        "{}",
        no_region.stderr
    );

    let account = Account::new().await;
    let mars = run(&account, &["--region", "mars", "check"]);
    assert_eq!(mars.code, 1);
    assert!(
        mars.stderr.contains("\"mars\" is not an AWS region"),
        "{}",
        mars.stderr
    );
    let listed = run(&account, &["check", "--regions", "Europe"]);
    assert_eq!(listed.code, 1);
    assert!(
        listed.stderr.contains("WARDEN_REGIONS=\"Europe\""),
        "{}",
        listed.stderr
    );
    let others = run(&account, &["check", "--accounts", "444455556666"]);
    assert_eq!(others.code, 1);
    assert!(others.stderr.contains("--member-role"), "{}", others.stderr);
    let usage = run(&account, &["check", "--output", "yaml"]);
    assert_eq!(usage.code, 1, "bad arguments: {}", usage.stderr);
    assert!(usage.stderr.contains("yaml"), "{}", usage.stderr);
}

/// The published records in `../shared/real-events` (beside the checkout), when there.
fn real_records() -> Vec<(String, Value)> {
    let dir = root().join("../shared/real-events");
    let mut found = Vec::new();
    for sub in ["", "ecs"] {
        let Ok(entries) = std::fs::read_dir(dir.join(sub)) else {
            continue;
        };
        let mut paths: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
        paths.sort();
        for path in paths {
            let name = path
                .file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned();
            if path.extension().is_none_or(|e| e != "json") {
                continue;
            }
            let Ok(value) =
                serde_json::from_str::<Value>(&std::fs::read_to_string(&path).unwrap_or_default())
            else {
                continue;
            };
            let is_record = value.get("eventSource").is_some();
            let is_task = value["detail-type"] == "ECS Task State Change";
            if is_record || is_task {
                found.push((format!("{sub}/{name}"), value));
            }
        }
    }
    found
}

/// `value` with every account id it names made `account`'s.
fn in_account(value: &Value, account: &str) -> Value {
    let mut text = value.to_string();
    let ids: Vec<String> = [
        value.pointer("/recipientAccountId"),
        value.pointer("/userIdentity/accountId"),
        value.pointer("/account"),
    ]
    .into_iter()
    .flatten()
    .filter_map(|v| v.as_str().map(str::to_owned))
    .collect();
    for id in ids {
        text = text.replace(&id, account);
    }
    serde_json::from_str(&text).expect("still JSON")
}

/// `answer` with the request ids of failed calls left out: each call has its own, and the
/// program and the function each made theirs.
fn without_request_ids(answer: &Value) -> String {
    let mut text = answer.to_string();
    while let Some(start) = text.find(" (request id ") {
        let end = text[start..]
            .find(')')
            .map_or(text.len(), |e| start + e + 1);
        text.replace_range(start..end, "");
    }
    text
}

#[tokio::test(flavor = "multi_thread")]
async fn explain_agrees_with_the_doctors_on_every_real_record() {
    if skip_slow_test() {
        return;
    }
    let records = real_records();
    if records.is_empty() {
        println!("skipped: ../shared/real-events is not beside the checkout");
        return;
    }
    let account = Account::new().await;
    let (access, _) = account.access_doctor();
    let (task, _) = account.task_doctor(Mode::Audit, std::time::Duration::ZERO);
    let mut compared = 0;
    for (name, original) in records {
        let input = in_account(&original, &account.id);
        let explained = run(
            &account,
            &[
                "explain",
                "--output",
                "json",
                &file_of(&input).to_string_lossy(),
            ],
        );
        assert!(
            explained.code == 0 || explained.code == 2,
            "{name}: {}\n{}",
            explained.stdout,
            explained.stderr
        );
        let answers = explained.json();
        let answers = answers.as_array().expect("a list of answers");
        let refused = input.get("errorCode").is_some_and(|c| !c.is_null());
        // A refusal of the input is the program's answer too, as the function's error.
        let as_answered = |function: &str, out: Result<Value, String>| match out {
            Ok(json) => json,
            Err(e) => serde_json::json!({ "function": function, "rejected": e }),
        };
        let mut expected = if input.get("detail-type").is_some() {
            let out = task.handle_payload(input.clone()).await;
            let out = out.map(|o| serde_json::to_value(o).expect("JSON"));
            as_answered(
                "task-doctor",
                out.map_err(|e| format!("task-doctor refused the input: {e}")),
            )
        } else if refused {
            let event = envelope_of_record(input.clone()).expect("an envelope");
            let out = access.handle_payload(event).await;
            let out = out.map(|o| serde_json::to_value(o).expect("JSON"));
            as_answered(
                "access-doctor",
                out.map_err(|e| format!("access-doctor refused the input: {e}")),
            )
        } else {
            assert!(
                answers.is_empty(),
                "{name}: a call that was not refused has nothing to explain"
            );
            continue;
        };
        assert_eq!(answers.len(), 1, "{name}");
        // The harness's access-doctor runs in enforce mode (it never writes in either);
        // explain always in audit.
        if expected.get("mode").is_some() {
            assert_eq!(answers[0]["mode"], "audit", "{name}");
            expected["mode"] = "audit".into();
        }
        assert_eq!(
            without_request_ids(&answers[0]),
            without_request_ids(&expected),
            "{name}: explain and the function disagree"
        );
        compared += 1;
    }
    assert!(compared > 0, "no record was compared");
    println!("{compared} real records explained as the functions explain them");
}

#[tokio::test(flavor = "multi_thread")]
async fn explain_recent_finds_the_task_that_failed_to_start() {
    if skip_slow_test() {
        return;
    }
    let account = Account::new().await;
    let eu = RegionClients::new(&account.config_in(SAMPLE_REGION));
    eu.ecs
        .create_cluster()
        .cluster_name("jobs")
        .send()
        .await
        .unwrap();
    let secret = format!(
        "arn:aws:secretsmanager:{SAMPLE_REGION}:{}:secret:db-password-Ab12Cd",
        account.id
    );
    let registered = eu
        .ecs
        .register_task_definition()
        .family("nightly")
        .requires_compatibilities(Compatibility::Fargate)
        .cpu("256")
        .memory("512")
        .execution_role_arn(format!(
            "arn:aws:iam::{}:role/ecsTaskExecutionRole",
            account.id
        ))
        .container_definitions(
            ContainerDefinition::builder()
                .name("job")
                .image("public.ecr.aws/docker/library/busybox:latest")
                // moto sums the containers' memory, so each names its own.
                .memory(512)
                .secrets(
                    Secret::builder()
                        .name("DB_PASSWORD")
                        .value_from(&secret)
                        .build()
                        .unwrap(),
                )
                .build(),
        )
        .send()
        .await
        .unwrap();
    let definition = registered
        .task_definition()
        .unwrap()
        .task_definition_arn()
        .unwrap();
    let (subnet, group) = account.default_subnet(SAMPLE_REGION);
    let ran = eu
        .ecs
        .run_task()
        .cluster("jobs")
        .task_definition(definition)
        .launch_type(LaunchType::Fargate)
        .network_configuration(
            NetworkConfiguration::builder()
                .awsvpc_configuration(
                    AwsVpcConfiguration::builder()
                        .subnets(subnet)
                        .security_groups(group)
                        .build()
                        .unwrap(),
                )
                .build(),
        )
        .send()
        .await
        .unwrap();
    let task = ran.tasks()[0].task_arn().unwrap().to_owned();
    let recent = run(
        &account,
        &[
            "explain",
            "--recent",
            "--since",
            "1h",
            "--regions",
            SAMPLE_REGION,
            "--output",
            "json",
        ],
    );
    assert_eq!(recent.code, 2, "{}\n{}", recent.stdout, recent.stderr);
    let answers = recent.json();
    let diagnosed: Vec<&Value> = answers
        .as_array()
        .expect("answers")
        .iter()
        .filter(|a| a["diagnosis"]["task"] == task.as_str())
        .collect();
    assert_eq!(diagnosed.len(), 1, "{answers}");
    assert_eq!(diagnosed[0]["diagnosis"]["task_definition"], definition);
    assert_eq!(diagnosed[0]["mode"], "audit", "explain never writes");
    // moto has no CloudTrail event history: the program says so and goes on.
    assert!(
        recent.stderr.is_empty() || recent.stderr.contains("CloudTrail"),
        "{}",
        recent.stderr
    );
    assert!(writes(&calls_of(diagnosed[0])).is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn replay_writes_nothing_without_fix() {
    if skip_slow_test() {
        return;
    }
    let account = Account::new().await;
    let sample = file_of(&account.event("ecs-create-service-legacy-role.json"));
    let read_only = run(
        &account,
        &["replay", "--output", "json", &sample.to_string_lossy()],
    );
    assert_eq!(
        read_only.code, 2,
        "{}\n{}",
        read_only.stdout, read_only.stderr
    );
    let answers = read_only.json();
    assert_eq!(
        answers[0]["function"], "ecs-role-guard",
        "the rule's function"
    );
    assert_eq!(answers[0]["mode"], "audit");
    assert!(writes(&calls_of(&answers[0])).is_empty());
    assert!(account.role("ecsServiceRole").await.is_none());
    let fixed = run(&account, &["replay", "--fix", &sample.to_string_lossy()]);
    assert_eq!(fixed.code, 0, "{}\n{}", fixed.stdout, fixed.stderr);
    assert!(
        fixed.stdout.contains("ecs-role-guard (enforce)"),
        "{}",
        fixed.stdout
    );
    assert!(account.role("ecsServiceRole").await.is_some());
    // An event no rule takes runs nothing.
    let ignored = file_of(&account.event("ignored-ecs-task-stopped-by-user.json"));
    let none = run(&account, &["replay", &ignored.to_string_lossy()]);
    assert_eq!(none.code, 0);
    assert!(
        none.stdout
            .contains("no rule of the template takes this event"),
        "{}",
        none.stdout
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_table_fits_an_80_column_terminal() {
    if skip_slow_test() {
        return;
    }
    let account = Account::new().await;
    let eu = RegionClients::new(&account.config_in(SAMPLE_REGION));
    eu.service("shop", "cart", Some("ecsServiceRole"), &[])
        .await;
    let session = format!("warden-cli-{}", account.id);
    let mut env: Vec<String> = account
        .env()
        .into_iter()
        .map(|(k, v)| format!("{k}='{v}'"))
        .collect();
    env.push(format!("HOME='{}'", tempdir().display()));
    let command = format!(
        "env -i TERM=xterm-256color PATH=\"$PATH\" {} {} check --regions {SAMPLE_REGION}; echo exit=$?; sleep 30",
        env.join(" "),
        program().display()
    );
    let tmux = |args: &[&str]| {
        Command::new("tmux")
            .args(args)
            .output()
            .expect("tmux (make test installs it)")
    };
    let started = tmux(&[
        "new-session",
        "-d",
        "-s",
        &session,
        "-x",
        "80",
        "-y",
        "200",
        &command,
    ]);
    assert!(
        started.status.success(),
        "{}",
        String::from_utf8_lossy(&started.stderr)
    );
    let mut screen = String::new();
    for _ in 0..100 {
        std::thread::sleep(std::time::Duration::from_millis(200));
        let captured = tmux(&["capture-pane", "-p", "-J", "-t", &session, "-S", "-200"]);
        screen = String::from_utf8_lossy(&captured.stdout).into_owned();
        if screen.contains("exit=") {
            break;
        }
    }
    let _ = tmux(&["kill-session", "-t", &session]);
    println!("{screen}");
    assert!(
        screen.contains("exit=2"),
        "the run ended, with something to do:\n{screen}"
    );
    assert!(screen.contains("would_create"), "{screen}");
    assert!(screen.contains("Run with --fix"), "{screen}");
    let widest = screen
        .lines()
        .map(|l| l.trim_end().chars().count())
        .max()
        .unwrap_or(0);
    assert!(widest <= 80, "a line is {widest} columns wide:\n{screen}");
    assert!(
        screen.contains('│') && screen.contains('─'),
        "a drawn table:\n{screen}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn delete_slr_is_blocked_by_a_cluster_and_drains_only_the_confirmed_account() {
    if skip_slow_test() {
        return;
    }
    let account = Account::new().await;
    account.create_ecs_role().await;
    let eu = RegionClients::new(&account.config_in(SAMPLE_REGION));
    eu.service("shop", "cart", None, &[]).await;
    let slr = || async { account.role("AWSServiceRoleForECS").await.is_some() };
    let clusters = || async {
        let listed = eu.ecs.list_clusters().send().await.unwrap();
        let arns = listed.cluster_arns().to_vec();
        let described = eu
            .ecs
            .describe_clusters()
            .set_clusters(Some(arns))
            .send()
            .await
            .unwrap();
        described
            .clusters()
            .iter()
            .filter(|c| c.status() != Some("INACTIVE"))
            .count()
    };

    let blocked = run(&account, &["delete-slr", "--regions", SAMPLE_REGION]);
    assert_eq!(blocked.code, 2, "{}\n{}", blocked.stdout, blocked.stderr);
    assert!(
        blocked.stdout.contains("What uses the role"),
        "{}",
        blocked.stdout
    );
    assert!(
        blocked.stdout.contains("Deletion blocked"),
        "{}",
        blocked.stdout
    );
    assert!(slr().await && clusters().await == 1, "nothing deleted");

    let wrong = run(
        &account,
        &[
            "delete-slr",
            "--regions",
            SAMPLE_REGION,
            "--drain",
            "--confirm-account",
            "444455556666",
        ],
    );
    assert_eq!(wrong.code, 1, "{}", wrong.stderr);
    assert!(
        wrong.stderr.contains("nothing was deleted"),
        "{}",
        wrong.stderr
    );
    assert!(slr().await && clusters().await == 1, "nothing deleted");

    // Standard input is no terminal here: --confirm-account is the whole consent.
    let gone = run(
        &account,
        &[
            "delete-slr",
            "--regions",
            SAMPLE_REGION,
            "--drain",
            "--confirm-account",
            &account.id,
        ],
    );
    assert_eq!(gone.code, 0, "{}\n{}", gone.stdout, gone.stderr);
    assert!(
        gone.stdout.contains("AWSServiceRoleForECS is deleted."),
        "{}",
        gone.stdout
    );
    assert!(!slr().await, "the role is gone from moto");
    assert_eq!(clusters().await, 0, "the cluster was drained");
}
