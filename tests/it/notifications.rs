//! Notifications against moto: the handlers publish to an SNS topic with an SQS queue
//! subscribed, and the tests read back what reached the queue.

use std::time::Duration;

use ecs_warden::domain::catalog::ECS_SERVICE_LINKED_ROLE;

use ecs_warden::invocation::notify::Format;
use ecs_warden::invocation::report::Status;
use ecs_warden::invocation::settings::Mode;
use serde_json::Value;
use warden_tests::{statuses, Account, SAMPLE_REGION};

/// An account whose handlers notify a topic, and the queue that receives it.
fn notifying(account: &Account, name: &str) -> String {
    let (topic, queue) = account.topic_with_queue(SAMPLE_REGION, name);
    account.notify_to(&topic);
    queue
}

fn finding_statuses(message: &Value) -> Vec<&str> {
    message["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| f["status"].as_str().unwrap())
        .collect()
}

#[tokio::test]
async fn a_created_role_is_published_once_and_a_compliant_check_never() {
    let account = Account::new().await;
    let queue = notifying(&account, "created");
    let (guard, _) = account.role_guard(Mode::Enforce, Duration::ZERO);

    let report = guard
        .handle_payload(account.event("ecs-create-cluster.json"))
        .await
        .unwrap();
    assert_eq!(statuses(&report), [("exists", Status::Created)]);
    assert!(account.role(ECS_SERVICE_LINKED_ROLE.name).await.is_some());
    assert!(report.aws_calls.contains(&"sns:Publish".to_owned()));

    let sent = account.notifications(SAMPLE_REGION, &queue);
    assert_eq!(sent.len(), 1, "{sent:#?}");
    let note = &sent[0];
    assert_eq!(note["subject"], "ecs-warden ecs-role-guard: 1 created");
    assert_eq!(note["attributes"]["function"], "ecs-role-guard");
    assert_eq!(note["attributes"]["severity"], "changed");
    let message = &note["message"];
    assert_eq!(message["event"], "aws.ecs:CreateCluster");
    assert_eq!(message["event_id"].as_str(), report.event_id.as_deref());
    assert_eq!(finding_statuses(message), ["created"]);
    assert!(message["findings"][0]["resource"]
        .as_str()
        .unwrap()
        .ends_with(ECS_SERVICE_LINKED_ROLE.name));

    // The same event again finds the role compliant: nothing is published.
    let again = guard
        .handle_payload(account.event("ecs-create-cluster.json"))
        .await
        .unwrap();
    assert!(
        statuses(&again)
            .iter()
            .all(|(_, s)| *s == Status::Compliant),
        "{again:#?}"
    );
    assert!(!again.aws_calls.contains(&"sns:Publish".to_owned()));
    assert_eq!(
        account.notifications(SAMPLE_REGION, &queue),
        [] as [Value; 0]
    );
}

#[tokio::test]
async fn audit_findings_are_published_as_would_change() {
    let account = Account::new().await;
    let queue = notifying(&account, "audit");
    let (guard, _) = account.role_guard(Mode::Audit, Duration::ZERO);
    guard
        .handle_payload(account.event("ecs-create-cluster.json"))
        .await
        .unwrap();
    assert!(account.role(ECS_SERVICE_LINKED_ROLE.name).await.is_none());
    let sent = account.notifications(SAMPLE_REGION, &queue);
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0]["attributes"]["severity"], "would_change");
    assert_eq!(sent[0]["message"]["mode"], "audit");
    assert_eq!(finding_statuses(&sent[0]["message"]), ["would_create"]);
}

#[tokio::test]
async fn a_blocked_deletion_publishes_its_outcome() {
    let account = Account::new().await;
    let queue = notifying(&account, "blocked");
    account.create_ecs_role().await;
    aws_sdk_ecs::Client::new(&account.config_in(SAMPLE_REGION))
        .create_cluster()
        .cluster_name("payments")
        .send()
        .await
        .unwrap();
    let (deletion, _) = account.slr_deletion(Mode::Enforce);
    deletion
        .handle_payload(serde_json::json!({
            "role_name": ECS_SERVICE_LINKED_ROLE.name,
            "regions": [SAMPLE_REGION],
        }))
        .await
        .unwrap();
    assert!(account.role(ECS_SERVICE_LINKED_ROLE.name).await.is_some());
    let sent = account.notifications(SAMPLE_REGION, &queue);
    assert_eq!(sent.len(), 1, "{sent:#?}");
    assert_eq!(sent[0]["attributes"]["function"], "slr-deletion");
    assert_eq!(sent[0]["attributes"]["severity"], "blocked");
    assert_eq!(sent[0]["message"]["outcome"], "blocked");
    assert!(sent[0]["subject"]
        .as_str()
        .unwrap()
        .starts_with("ecs-warden slr-deletion: blocked"));
}

#[tokio::test]
async fn a_failed_publication_keeps_the_work_and_reports_the_failure() {
    let account = Account::new().await;
    let missing = format!("arn:aws:sns:{SAMPLE_REGION}:{}:no-such-topic", account.id);
    account.notify_to(&missing);
    let (guard, calls) = account.role_guard(Mode::Enforce, Duration::ZERO);
    let report = guard
        .handle_payload(account.event("ecs-create-cluster.json"))
        .await
        .expect("the invocation still succeeds");
    assert!(account.role(ECS_SERVICE_LINKED_ROLE.name).await.is_some());
    assert_eq!(
        statuses(&report),
        [
            ("exists", Status::Created),
            ("notification", Status::Failed)
        ]
    );
    let failed = &report.findings[1];
    assert_eq!(failed.check, "notification");
    assert_eq!(failed.resource, missing);
    assert!(failed.detail.contains("sns:Publish"), "{}", failed.detail);
    assert_eq!(
        calls.take(),
        report.aws_calls,
        "every call the invocation made is in its report, the refused publication included"
    );
}

#[tokio::test]
async fn in_chat_format_the_message_is_the_custom_notification_amazon_q_renders() {
    let account = Account::new().await;
    let (topic, queue) = account.topic_with_queue(SAMPLE_REGION, "chat");
    account.notify_in(&topic, Format::Chat);
    let (guard, _) = account.role_guard(Mode::Audit, Duration::ZERO);
    let report = guard
        .handle_payload(account.event("ecs-create-cluster.json"))
        .await
        .unwrap();
    assert!(account.role(ECS_SERVICE_LINKED_ROLE.name).await.is_none());

    let sent = account.notifications(SAMPLE_REGION, &queue);
    assert_eq!(sent.len(), 1, "{sent:#?}");
    // Subscription filter policies keep working on the attributes.
    assert_eq!(sent[0]["attributes"]["severity"], "would_change");
    let message = &sent[0]["message"];
    // Amazon Q Developer in chat applications, "Custom notifications": version 1.0,
    // source custom, markdown content (shared/src/invocation/chat.rs checks every field).
    assert_eq!(message["version"], "1.0");
    assert_eq!(message["source"], "custom");
    assert_eq!(message["id"].as_str(), report.event_id.as_deref());
    let content = &message["content"];
    assert_eq!(content["textType"], "client-markdown");
    assert_eq!(
        content["title"],
        ":mag: ecs-warden ecs-role-guard: 1 would_create"
    );
    let description = content["description"].as_str().unwrap();
    assert!(
        description.starts_with("• *would_create* exists on `arn:aws:iam::")
            && description.contains(ECS_SERVICE_LINKED_ROLE.name),
        "{description}"
    );
    assert!(
        description.contains(&format!("account `{}`", account.id)),
        "{description}"
    );
    assert_eq!(
        message["metadata"]["threadId"],
        format!("ecs-warden-ecs-role-guard-{}", account.id)
    );
    assert!(message.get("findings").is_none(), "not the JSON notice");
}
