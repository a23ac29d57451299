//! Bad input, generated: arbitrary bytes, arbitrary JSON, and the sample events of
//! `events/` truncated and mutated, handed to all seven handlers. None may panic, and every
//! rejection must say what was wrong. The clients point at a closed port, so an input that
//! gets past parsing ends in failed calls, never at a real account.

use std::cell::Cell;
use std::sync::OnceLock;

use aws_config::retry::RetryConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_iam::config::{Credentials, SharedCredentialsProvider};
use ecs_warden::aws::https_client;
use ecs_warden::handlers::access_doctor::AccessDoctor;
use ecs_warden::handlers::ecs_role_guard::EcsRoleGuard;
use ecs_warden::handlers::reconcile::Reconcile;
use ecs_warden::handlers::role_drift_guard::RoleDriftGuard;
use ecs_warden::handlers::scaling_guard::ScalingGuard;
use ecs_warden::handlers::slr_deletion::SlrDeletion;
use ecs_warden::handlers::task_doctor::TaskDoctor;
use ecs_warden::handlers::{Deps, Function};
use ecs_warden::invocation::error::InvocationError;
use proptest::prelude::*;
use serde_json::{Map, Value};

/// The seven handlers as their mains build them, in audit mode, against nothing.
struct Handlers {
    ecs_role_guard: Function<EcsRoleGuard>,
    scaling_guard: Function<ScalingGuard>,
    deletion: Function<SlrDeletion>,
    role_drift_guard: Function<RoleDriftGuard>,
    reconcile: Function<Reconcile>,
    access_doctor: Function<AccessDoctor>,
    task_doctor: Function<TaskDoctor>,
}

fn config() -> SdkConfig {
    // Port 1 refuses at once; one attempt, so an accepted input costs microseconds.
    SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .http_client(https_client())
        .region(Region::new("eu-west-1"))
        .endpoint_url("http://127.0.0.1:1")
        .retry_config(RetryConfig::standard().with_max_attempts(1))
        .credentials_provider(SharedCredentialsProvider::new(Credentials::new(
            "bad",
            "input",
            None,
            None,
            "bad-input",
        )))
        .build()
}

fn handlers() -> Handlers {
    // Each handler built as a container builds it, from its own Deps read from this
    // environment: audit mode, no verdict memory, one region.
    let deps = || {
        Deps::from_lookup("bad-input", config(), |name| match name {
            "WARDEN_MODE" => Some("audit".into()),
            "WARDEN_VERDICT_TTL_SECONDS" => Some("0".into()),
            "WARDEN_REGIONS" => Some("eu-west-1".into()),
            _ => None,
        })
        .expect("the test environment is a valid configuration")
    };
    Handlers {
        ecs_role_guard: Function::build(&deps()).expect("built"),
        scaling_guard: Function::build(&deps()).expect("built"),
        deletion: Function::build(&deps()).expect("built"),
        role_drift_guard: Function::build(&deps()).expect("built"),
        reconcile: Function::build(&deps()).expect("built"),
        access_doctor: Function::build(&deps()).expect("built"),
        task_doctor: Function::build(&deps()).expect("built"),
    }
}

/// What every handler must do with an input: answer, or reject it saying why.
fn check(function: &str, input: &Value, outcome: Result<Value, InvocationError>) {
    let Err(e) = outcome else {
        return count(&ANSWERED);
    };
    count(&REJECTED);
    let detail = match &e {
        InvocationError::NotAnEvent(s) => s.clone(),
        InvocationError::MalformedDetail { path, problem } => {
            assert!(!path.is_empty(), "{function}: no path in {e}");
            problem.clone()
        }
        InvocationError::BadField { problem, .. } => problem.clone(),
        InvocationError::UnexpectedDetailType { .. }
        | InvocationError::UnexpectedSource { .. }
        | InvocationError::UnexpectedEvent { .. } => e.to_string(),
        InvocationError::OutOfTime { .. } => {
            panic!("{function} ran out of time without a deadline")
        }
    };
    assert!(
        !detail.trim().is_empty(),
        "{function} rejected {input} without saying why: {e:?}"
    );
}

thread_local! {
    // Each test runs on its own thread: these count what that test's inputs did.
    static ANSWERED: Cell<u64> = const { Cell::new(0) };
    static REJECTED: Cell<u64> = const { Cell::new(0) };
}

fn count(tally: &'static std::thread::LocalKey<Cell<u64>>) {
    tally.with(|n| n.set(n.get() + 1));
}

/// Zeroes the tallies: libtest may run several tests on one thread (`--test-threads=1`).
fn reset_tallies() {
    ANSWERED.with(|n| n.set(0));
    REJECTED.with(|n| n.set(0));
}

/// Runs `cases` inputs from `strategy` through `body`, then prints what they came to: the
/// line CI's summary collects.
fn run<S: Strategy>(name: &str, cases: u32, strategy: S, body: impl Fn(S::Value)) {
    reset_tallies();
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig {
        cases,
        ..ProptestConfig::default()
    });
    let outcome = runner.run(&strategy, |value| {
        body(value);
        Ok(())
    });
    if let Err(failure) = outcome {
        panic!("{name}: {failure}");
    }
    let (answered, rejected) = (ANSWERED.with(Cell::get), REJECTED.with(Cell::get));
    let line = format!(
        "bad-input {name}: {cases} inputs, {answered} handler answers, {rejected} rejections, 0 panics"
    );
    println!("{line}");
    // `make test` sums these files into its reliability line.
    if let Some(dir) = std::env::var_os("WARDEN_RELIABILITY_DIR") {
        std::fs::create_dir_all(&dir).expect("the reliability directory");
        let file = std::path::Path::new(&dir).join(format!("bad-input-{name}.txt"));
        std::fs::write(file, format!("{line}\n")).expect("the reliability line");
    }
}

fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime")
    })
}

fn all_handlers() -> &'static Handlers {
    static HANDLERS: OnceLock<Handlers> = OnceLock::new();
    // Clients must be built inside the runtime that drives them.
    HANDLERS.get_or_init(|| runtime().block_on(async { handlers() }))
}

/// Bytes as the runtime receives them: it parses them as JSON (a rejection that must say
/// where) and hands what parses to the handlers.
fn parse_then_feed(bytes: &[u8]) {
    match serde_json::from_slice::<Value>(bytes) {
        Ok(value) => feed(&value),
        Err(e) => {
            count(&REJECTED);
            assert!(!e.to_string().is_empty(), "a parse error without words");
        }
    }
}

/// An answer as the runtime would send it: serialising it must not fail either.
fn json<T: serde::Serialize>(
    outcome: Result<T, InvocationError>,
) -> Result<Value, InvocationError> {
    outcome.map(|answer| serde_json::to_value(answer).expect("answers serialize"))
}

/// Hands `input` to every handler and checks each outcome.
fn feed(input: &Value) {
    let h = all_handlers();
    runtime().block_on(async {
        check(
            "ecs-role-guard",
            input,
            json(h.ecs_role_guard.handle_payload(input.clone()).await),
        );
        check(
            "scaling-guard",
            input,
            json(h.scaling_guard.handle_payload(input.clone()).await),
        );
        check(
            "slr-deletion",
            input,
            json(h.deletion.handle_payload(input.clone()).await),
        );
        check(
            "role-drift-guard",
            input,
            json(h.role_drift_guard.handle_payload(input.clone()).await),
        );
        check(
            "reconcile",
            input,
            json(h.reconcile.handle_payload(input.clone()).await),
        );
        check(
            "access-doctor",
            input,
            json(h.access_doctor.handle_payload(input.clone()).await),
        );
        check(
            "task-doctor",
            input,
            json(h.task_doctor.handle_payload(input.clone()).await),
        );
    });
}

/// The sample events, as text, read once.
fn samples() -> &'static [String] {
    static SAMPLES: OnceLock<Vec<String>> = OnceLock::new();
    SAMPLES.get_or_init(|| {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../events");
        let mut paths: Vec<_> = std::fs::read_dir(dir)
            .expect("events/ is readable")
            .map(|entry| entry.expect("a directory entry").path())
            .filter(|path| path.extension().is_some_and(|e| e == "json"))
            .collect();
        // Sorted, so a seed picks the same sample on every machine.
        paths.sort();
        let all: Vec<String> = paths
            .iter()
            .map(|path| std::fs::read_to_string(path).expect("a sample is readable"))
            .collect();
        assert!(all.len() >= 20, "expected the sample events in {dir}");
        all
    })
}

fn arbitrary_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        ".{0,40}".prop_map(Value::String),
        // Strings that look like what the parsers read: ARNs, names, regions, ids.
        prop_oneof![
            Just("arn:aws:iam::111122223333:role/ecsServiceRole"),
            Just("arn:aws:iam::111122223333:role/aws-service-role/ecs.amazonaws.com/AWSServiceRoleForECS"),
            Just("AWS API Call via CloudTrail"),
            Just("aws.ecs"),
            Just("aws.iam"),
            Just("eu-west-1"),
            Just("111122223333"),
            Just("service/payments/web"),
            Just("%7B%22Version%22%3A%222012-10-17%22%7D"),
            Just(""),
        ]
        .prop_map(|s| Value::String(s.to_owned())),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec(("[a-zA-Z-]{1,16}", inner), 0..6)
                .prop_map(|pairs| Value::Object(pairs.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

/// One change somewhere in a JSON tree, chosen by `path` (indices taken modulo each
/// level's size) and `how`.
fn mutate(value: &mut Value, path: &[usize], how: u8, replacement: &Value) {
    let (here, rest) = match path.split_first() {
        Some(split) => split,
        None => {
            *value = replacement.clone();
            return;
        }
    };
    match value {
        Value::Object(map) if !map.is_empty() => {
            let key = map.keys().nth(here % map.len()).cloned().expect("in range");
            if rest.is_empty() || how.is_multiple_of(4) {
                if how.is_multiple_of(3) {
                    map.remove(&key);
                } else {
                    map.insert(key, replacement.clone());
                }
            } else {
                mutate(map.get_mut(&key).expect("present"), rest, how, replacement);
            }
        }
        Value::Array(items) if !items.is_empty() => {
            let i = here % items.len();
            if rest.is_empty() && how.is_multiple_of(2) {
                items.remove(i);
            } else {
                mutate(&mut items[i], rest, how, replacement);
            }
        }
        _ => *value = replacement.clone(),
    }
}

const CASES: u32 = 300;

#[test]
fn arbitrary_bytes_are_rejected_or_answered() {
    let bytes = prop::collection::vec(any::<u8>(), 0..512);
    run("bytes", CASES, bytes, |bytes| {
        parse_then_feed(&bytes);
    });
}

#[test]
fn arbitrary_json_is_rejected_or_answered() {
    run("json", CASES, arbitrary_json(), |value| feed(&value));
}

#[test]
fn truncated_samples_are_rejected_or_answered() {
    let picks = (any::<prop::sample::Index>(), any::<prop::sample::Index>());
    run("truncated", CASES, picks, |(sample, cut)| {
        let text = &samples()[sample.index(samples().len())];
        let truncated = &text.as_bytes()[..cut.index(text.len())];
        parse_then_feed(truncated);
    });
}

#[test]
fn byte_flipped_samples_are_rejected_or_answered() {
    let flips = prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8);
    let picks = (any::<prop::sample::Index>(), flips);
    run("flipped", CASES, picks, |(sample, flips)| {
        let text = &samples()[sample.index(samples().len())];
        let mut bytes = text.as_bytes().to_vec();
        for (at, byte) in flips {
            let i = at.index(bytes.len());
            bytes[i] = byte;
        }
        parse_then_feed(&bytes);
    });
}

#[test]
fn mutated_samples_are_rejected_or_answered() {
    let edit = (
        prop::collection::vec(any::<usize>(), 0..6),
        any::<u8>(),
        arbitrary_json(),
    );
    let picks = (
        any::<prop::sample::Index>(),
        prop::collection::vec(edit, 1..4),
    );
    run("mutated", CASES * 3, picks, |(sample, edits)| {
        let text = &samples()[sample.index(samples().len())];
        let mut value: Value = serde_json::from_str(text).expect("samples are JSON");
        for (path, how, replacement) in &edits {
            mutate(&mut value, path, *how, replacement);
        }
        feed(&value);
    });
}

#[test]
fn every_sample_is_answered_or_rejected_by_every_handler() {
    reset_tallies();
    for text in samples() {
        feed(&serde_json::from_str(text).expect("samples are JSON"));
    }
    let seen = ANSWERED.with(Cell::get) + REJECTED.with(Cell::get);
    assert_eq!(seen, 7 * samples().len() as u64);
}

/// Published CloudTrail records from real accounts, beside the checkout (`../shared`).
const REAL_EVENTS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/real-events");

/// The EventBridge event AWS makes of a raw CloudTrail record: source `aws.` and the event
/// source's first label, the CloudTrail detail-type, account and region from the record
/// (EventBridge User Guide, "Events from AWS services"; the envelopes among the records
/// have exactly these fields).
fn as_delivered(record: &Value, n: usize) -> Value {
    if record.get("detail-type").is_some() {
        return record.clone();
    }
    let text = |key: &str| record.get(key).and_then(Value::as_str).unwrap_or_default();
    let source = format!(
        "aws.{}",
        text("eventSource").split('.').next().unwrap_or_default()
    );
    serde_json::json!({
        "version": "0", "id": format!("00000000-0000-4000-8000-{n:012}"),
        "detail-type": "AWS API Call via CloudTrail", "source": source,
        "account": text("recipientAccountId"), "time": text("eventTime"),
        "region": text("awsRegion"), "resources": [], "detail": record
    })
}

/// Which functions handle the call an event records, as the template routes them.
fn handled_by(event: &Value) -> Vec<&'static str> {
    let source = event["source"].as_str().unwrap_or_default();
    let detail = &event["detail"];
    let name = detail["eventName"].as_str().unwrap_or_default();
    let application_auto_scaling =
        detail["additionalEventData"]["service"] == "application-autoscaling";
    let refused = detail["errorCode"]
        .as_str()
        .is_some_and(|code| ecs_warden::handlers::access_doctor::DENIED.contains(&code));
    let mut functions = Vec::new();
    match (source, name) {
        ("aws.ecs", "CreateCluster" | "CreateService" | "UpdateService") => {
            functions.push("ecs-role-guard")
        }
        (
            "aws.autoscaling",
            "RegisterScalableTarget" | "PutScalingPolicy" | "DeleteScalingPolicy",
        ) if application_auto_scaling => functions.push("scaling-guard"),
        ("aws.monitoring", "DeleteAlarms") => functions.push("scaling-guard"),
        (
            "aws.iam",
            "DeleteRole"
            | "DetachRolePolicy"
            | "DeleteRolePolicy"
            | "PutRolePolicy"
            | "UpdateAssumeRolePolicy",
        ) => functions.push("role-drift-guard"),
        ("aws.iam", "DeleteServiceLinkedRole") => functions.push("slr-deletion"),
        _ => {}
    }
    if refused
        && matches!(
            source,
            "aws.ecs" | "aws.autoscaling" | "aws.monitoring" | "aws.iam"
        )
    {
        functions.push("access-doctor");
    }
    functions
}

/// The publisher's stand-ins for the account and region (a 9-digit account, a region
/// that does not exist; `../shared/real-events/SOURCES.md`), replaced by real-shaped ones.
fn restored(event: &Value) -> Option<Value> {
    let mut event = event.clone();
    let mut changed = false;
    let account = event["detail"]["recipientAccountId"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    if account.len() != 12 || !account.bytes().all(|b| b.is_ascii_digit()) {
        event["detail"]["recipientAccountId"] = Value::from("123456789012");
        event["account"] = Value::from("123456789012");
        changed = true;
    }
    let region = event["detail"]["awsRegion"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    if !ecs_warden::aws::ids::is_region_name(&region) {
        event["detail"]["awsRegion"] = Value::from("us-east-1");
        event["region"] = Value::from("us-east-1");
        changed = true;
    }
    changed.then_some(event)
}

#[test]
fn real_records_are_accepted_by_their_function_and_refused_as_foreign_by_the_others() {
    let Ok(entries) = std::fs::read_dir(REAL_EVENTS) else {
        println!("real records: {REAL_EVENTS} is not here; nothing to check (CI has it)");
        return;
    };
    let mut paths: Vec<_> = entries
        .map(|e| e.expect("a directory entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    paths.sort();
    assert!(!paths.is_empty(), "no records in {REAL_EVENTS}");
    let h = all_handlers();
    let (mut accepted, mut foreign, mut stand_ins) = (0, 0, 0);
    let mut problems = Vec::new();
    for (n, path) in paths.iter().enumerate() {
        let file = path
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        let record: Value =
            serde_json::from_str(&std::fs::read_to_string(path).expect("readable")).expect("JSON");
        let event = as_delivered(&record, n);
        let ours = handled_by(&event);
        let fixed = restored(&event);
        for (function, outcome) in runtime().block_on(async {
            vec![
                (
                    "ecs-role-guard",
                    json(h.ecs_role_guard.handle_payload(event.clone()).await),
                ),
                (
                    "scaling-guard",
                    json(h.scaling_guard.handle_payload(event.clone()).await),
                ),
                (
                    "slr-deletion",
                    json(h.deletion.handle_payload(event.clone()).await),
                ),
                (
                    "role-drift-guard",
                    json(h.role_drift_guard.handle_payload(event.clone()).await),
                ),
                (
                    "reconcile",
                    json(h.reconcile.handle_payload(event.clone()).await),
                ),
                (
                    "access-doctor",
                    json(h.access_doctor.handle_payload(event.clone()).await),
                ),
                (
                    "task-doctor",
                    json(h.task_doctor.handle_payload(event.clone()).await),
                ),
            ]
        }) {
            let handles = ours.contains(&function);
            match outcome {
                Ok(_) if handles || function == "access-doctor" => accepted += 1,
                Ok(_) => problems.push(format!(
                    "{file}: {function} answered a call it does not handle"
                )),
                Err(
                    InvocationError::UnexpectedDetailType { .. }
                    | InvocationError::UnexpectedSource { .. }
                    | InvocationError::UnexpectedEvent { .. }
                    | InvocationError::NotAnEvent(_),
                ) if !handles => foreign += 1,
                // A stand-in the publisher put where the account or region was: rejected
                // by name, and the record with real-shaped values must then pass.
                Err(InvocationError::BadField { field, problem })
                    if fixed.is_some()
                        && matches!(field, "detail.recipientAccountId" | "detail.awsRegion") =>
                {
                    stand_ins += 1;
                    println!("{file}: {function} refused the publisher's stand-in: {problem}");
                }
                Err(e) => problems.push(format!(
                    "{file}: {function} {}: {e}",
                    if handles {
                        "rejected a call it handles"
                    } else {
                        "rejected it as malformed"
                    }
                )),
            }
        }
        if let Some(fixed) = fixed {
            let outcomes = runtime().block_on(async {
                [
                    (
                        "ecs-role-guard",
                        h.ecs_role_guard.handle_payload(fixed.clone()).await.err(),
                    ),
                    (
                        "scaling-guard",
                        h.scaling_guard.handle_payload(fixed.clone()).await.err(),
                    ),
                    (
                        "slr-deletion",
                        h.deletion.handle_payload(fixed.clone()).await.err(),
                    ),
                    (
                        "role-drift-guard",
                        h.role_drift_guard.handle_payload(fixed.clone()).await.err(),
                    ),
                    (
                        "access-doctor",
                        h.access_doctor.handle_payload(fixed.clone()).await.err(),
                    ),
                ]
            });
            for (function, err) in outcomes {
                match err {
                    None => {}
                    Some(
                        InvocationError::UnexpectedSource { .. }
                        | InvocationError::UnexpectedEvent { .. },
                    ) if !ours.contains(&function) => {}
                    Some(e) => problems.push(format!(
                        "{file} with real-shaped account and region: {function}: {e}"
                    )),
                }
            }
        }
    }
    println!(
        "real records: {} records through 7 handlers: {accepted} answers, {foreign} refused as another function's, {stand_ins} refusals of a publisher's stand-in account or region",
        paths.len()
    );
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn every_sample_has_the_shape_real_records_have() {
    let Ok(entries) = std::fs::read_dir(REAL_EVENTS) else {
        println!("sample shapes: {REAL_EVENTS} is not here; nothing to compare with (CI has it)");
        return;
    };
    // What real records hold: the detail's keys, and each userIdentity type's keys.
    let mut detail_keys = std::collections::BTreeSet::new();
    let mut identity_keys = std::collections::BTreeSet::new();
    for entry in entries {
        let path = entry.expect("a directory entry").path();
        if path.extension().is_none_or(|e| e != "json") {
            continue;
        }
        let record: Value =
            serde_json::from_str(&std::fs::read_to_string(&path).expect("readable")).expect("JSON");
        let detail = record.get("detail").unwrap_or(&record);
        detail_keys.extend(detail.as_object().expect("a record").keys().cloned());
        if let Some(identity) = detail["userIdentity"].as_object() {
            identity_keys.extend(identity.keys().cloned());
        }
    }
    let mut problems = Vec::new();
    for text in samples() {
        let event: Value = serde_json::from_str(text).expect("a sample is JSON");
        if event["detail-type"] != "AWS API Call via CloudTrail" {
            continue;
        }
        let detail = &event["detail"];
        let name = detail["eventName"].as_str().unwrap_or_default();
        let event_source = detail["eventSource"].as_str().unwrap_or_default();
        let mut say = |what: String| problems.push(format!("{name} ({}): {what}", event["id"]));
        let source = format!("aws.{}", event_source.split('.').next().unwrap_or_default());
        if event["source"] != source.as_str() {
            say(format!(
                "source {} with eventSource {event_source}",
                event["source"]
            ));
        }
        for key in detail.as_object().expect("a detail").keys() {
            if !detail_keys.contains(key) {
                say(format!("detail.{key} is in no real record"));
            }
        }
        for key in detail["userIdentity"]
            .as_object()
            .into_iter()
            .flat_map(|o| o.keys())
        {
            if !identity_keys.contains(key) {
                say(format!("userIdentity.{key} is in no real record"));
            }
        }
        if detail.get("errorCode").is_some()
            && (!detail["responseElements"].is_null() || !detail["errorMessage"].is_string())
        {
            say("a failed call has responseElements null and an errorMessage".into());
        }
        let scaling = name.contains("Scalable") || name.contains("ScalingPolic");
        if event_source == "autoscaling.amazonaws.com"
            && scaling
            && detail["additionalEventData"]["service"] != "application-autoscaling"
        {
            say("an Application Auto Scaling call without additionalEventData.service".into());
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
