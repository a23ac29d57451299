//! Bad input, generated: arbitrary bytes, arbitrary JSON, and the sample events of
//! `events/` truncated and mutated, handed to all six handlers. None may panic, and every
//! rejection must say what was wrong. The clients point at a closed port, so an input that
//! gets past parsing ends in failed calls, never at a real account.

use std::cell::Cell;
use std::sync::OnceLock;
use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_iam::config::{Credentials, SharedCredentialsProvider};
use ecs_warden::access_doctor::AccessDoctor;
use ecs_warden::alarms::AlarmSettings;
use ecs_warden::aws::{https_client, CallLog, Clients, Regional};
use ecs_warden::deletion::SlrDeletion;
use ecs_warden::ecs_role_guard::EcsRoleGuard;
use ecs_warden::events::EventError;
use ecs_warden::notify::Notifier;
use ecs_warden::reconcile::Reconcile;
use ecs_warden::role_drift_guard::{watched_roles, RoleDriftGuard};
use ecs_warden::scaling_guard::ScalingGuard;
use ecs_warden::settings::{Mode, Settings};
use proptest::prelude::*;
use serde_json::{Map, Value};

/// The six handlers as their mains build them, in audit mode, against nothing.
struct Handlers {
    ecs_role_guard: EcsRoleGuard,
    scaling_guard: ScalingGuard,
    deletion: SlrDeletion,
    role_drift_guard: RoleDriftGuard,
    reconcile: Reconcile,
    access_doctor: AccessDoctor,
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
    let config = config();
    let settings = Settings {
        mode: Mode::Audit,
        verdict_ttl: Duration::ZERO,
        regions: vec!["eu-west-1".into()],
    };
    let calls = CallLog::default;
    Handlers {
        ecs_role_guard: EcsRoleGuard::new(
            ecs_warden::aws::iam_client(&config, &calls()),
            settings.clone(),
            calls(),
            Notifier::off(),
        ),
        scaling_guard: ScalingGuard::new(
            Clients::new(&config, &calls()),
            settings.clone(),
            AlarmSettings::default(),
            calls(),
            Notifier::off(),
        ),
        deletion: SlrDeletion::new(
            Clients::new(&config, &calls()),
            Regional::new(&config, &calls()),
            settings.clone(),
            calls(),
            Notifier::off(),
        ),
        role_drift_guard: RoleDriftGuard::new(
            Clients::new(&config, &calls()),
            Regional::new(&config, &calls()),
            settings.clone(),
            watched_roles(None).expect("the default watch list parses"),
            calls(),
            Notifier::off(),
        ),
        reconcile: Reconcile::new(
            Clients::new(&config, &calls()),
            Regional::new(&config, &calls()),
            settings.clone(),
            AlarmSettings::default(),
            calls(),
            Notifier::off(),
        ),
        access_doctor: AccessDoctor::new(
            Clients::new(&config, &calls()),
            settings,
            calls(),
            Notifier::off(),
        ),
    }
}

/// What every handler must do with an input: answer, or reject it saying why.
fn check(function: &str, input: &Value, outcome: Result<Value, EventError>) {
    let Err(e) = outcome else {
        return count(&ANSWERED);
    };
    count(&REJECTED);
    let detail = match &e {
        EventError::NotAnEvent(s) | EventError::MalformedDetail(s) => s.clone(),
        EventError::BadField { problem, .. } => problem.clone(),
        EventError::UnexpectedDetailType { .. }
        | EventError::UnexpectedSource { .. }
        | EventError::UnexpectedEvent { .. } => e.to_string(),
        EventError::OutOfTime { .. } => panic!("{function} ran out of time without a deadline"),
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
fn json<T: serde::Serialize>(outcome: Result<T, EventError>) -> Result<Value, EventError> {
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
    assert_eq!(seen, 6 * samples().len() as u64);
}
