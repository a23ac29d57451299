//! task-doctor's reading of what ECS says, over the real `stoppedReason` strings and
//! service event messages published from public sources (`../shared/real-events/ecs/`,
//! beside the checkout; skipped, and said so, when it is not there).

use std::path::Path;

use ecs_warden::domain::task_failure::{Reading, Says, Stage};
use serde_json::Value;

/// The corpus of real failure messages.
const STOPPED_REASONS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../shared/real-events/ecs/stopped-reasons.json"
);

/// The records, each as ECS wrote it, or `None` when the corpus is not beside the checkout.
fn records() -> Option<Vec<Value>> {
    let path = Path::new(STOPPED_REASONS);
    if !path.exists() {
        println!("skipped: {STOPPED_REASONS} is not there");
        return None;
    }
    let text = std::fs::read_to_string(path).expect("the corpus reads");
    let records: Vec<Value> = serde_json::from_str(&text).expect("the corpus is JSON");
    Some(records)
}

/// The message as ECS wrote it: Copilot shows it wrapped at 70 columns with an indented
/// continuation, which is undone here (the record's `field` says where it was rendered).
fn as_written(record: &Value) -> String {
    let text = record["text"].as_str().expect("text");
    if !record["field"]
        .as_str()
        .unwrap_or_default()
        .contains("copilot")
    {
        return text.to_owned();
    }
    let mut joined = String::new();
    for (i, line) in text.lines().enumerate() {
        joined.push_str(if i == 0 {
            line.trim_start()
        } else {
            line.trim()
        });
    }
    joined
}

/// The stages a record's `kind` names.
fn stages_of(kind: &str) -> &'static [Stage] {
    match kind {
        "secretsmanager" => &[Stage::SecretsManager],
        "ssm" => &[Stage::Parameters],
        "kms" => &[Stage::Kms],
        "ecr" => &[Stage::RegistryAuth, Stage::ImagePull],
        "logs" => &[Stage::Logs],
        _ => &[],
    }
}

#[test]
fn every_real_message_is_read_as_what_it_reports() {
    let Some(records) = records() else { return };
    assert!(records.len() >= 40, "the corpus holds {}", records.len());
    for record in &records {
        let text = as_written(record);
        let kind = record["kind"].as_str().expect("kind");
        let iam = record["iam"].as_bool().expect("iam");
        let reading = Reading::of(&text);
        let context = format!("{kind} (iam {iam}): {text}\nread as {reading:?}");
        match (kind, &reading.says) {
            ("network", says) => assert_eq!(*says, Says::Network, "{context}"),
            ("assume_role", Says::CouldNotAssume { role }) => {
                // ECS quotes the role it could not assume, but for one reporter's paraphrase.
                assert_eq!(role.is_some(), text.contains('\''), "{context}");
            }
            ("assume_role", _) => panic!("{context}"),
            ("other", says) => assert!(
                !matches!(says, Says::Denied(_) | Says::Network),
                "nothing in these is a denial or the network: {context}"
            ),
            (_, Says::Denied(denial)) => {
                assert!(iam, "{context}");
                assert!(
                    stages_of(kind).contains(&reading.stage.expect("a stage")),
                    "{context}"
                );
                if let Some(action) = &denial.action {
                    let service = action.split(':').next().unwrap_or_default();
                    assert!(kind == service || kind == "kms", "{context}");
                }
                if let Some(principal) = &denial.principal {
                    assert!(principal.contains(":assumed-role/"), "{context}");
                }
            }
            // Only a message its reporter cut before the error says nothing.
            (_, Says::Unclear) => assert!(
                !iam && text.ends_with("..."),
                "a denial read as unclear: {context}"
            ),
            (_, _) => panic!("{context}"),
        }
        if reading.cut_short {
            assert!(
                text.chars().count() >= 255 && text.ends_with("..."),
                "{context}"
            );
        }
    }
}

#[test]
fn the_real_ecs_events_parse_and_none_of_them_failed_to_start() {
    use ecs_warden::invocation::ecs_events::{parse_ecs_event, EcsEvent};
    let dir = Path::new(STOPPED_REASONS).parent().expect("its directory");
    if !dir.exists() {
        println!("skipped: {} is not there", dir.display());
        return;
    }
    let mut seen = 0;
    for entry in std::fs::read_dir(dir).expect("the directory reads") {
        let path = entry.expect("an entry").path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if !(name.starts_with("task-state-change") || name.starts_with("service-action")) {
            continue;
        }
        let event: Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).expect("JSON");
        match parse_ecs_event(event).unwrap_or_else(|e| panic!("{name}: {e}")) {
            // The real stopped tasks exited, were stopped by a user or by the scheduler.
            EcsEvent::Task(task) => assert!(!task.detail.failed_to_start(), "{name}"),
            EcsEvent::Service(action) => {
                assert_ne!(
                    action.detail.event_name,
                    "SERVICE_TASK_CONFIGURATION_FAILURE"
                )
            }
        }
        seen += 1;
    }
    assert_eq!(
        seen, 6,
        "three task state changes and three service actions"
    );
}
