//! `domain::recent::refused_calls` against CloudTrail's event history, which moto does not
//! serve (it has no LookupEvents): pages followed to their end, one event source per
//! lookup, only refused calls kept, each in the envelope EventBridge gives its record.

use std::time::Duration;

use aws_sdk_cloudtrail::operation::lookup_events::LookupEventsOutput;
use aws_sdk_cloudtrail::types::Event;
use aws_sdk_cloudtrail::Client;
use ecs_warden::aws::mocks::{mock, trail_clients, Rule, RuleMode};
use ecs_warden::domain::recent::{refused_calls, REFUSAL_SOURCES};
use serde_json::json;

/// A record as LookupEvents returns it: the whole CloudTrail record as a JSON string in
/// `CloudTrailEvent` (CloudTrail API Reference, LookupEvents, `Event`).
fn event(id: &str, name: &str, time: &str, error: Option<&str>) -> Event {
    let mut record = json!({
        "eventVersion": "1.08",
        "userIdentity": {"type": "AssumedRole", "accountId": "111122223333",
                         "arn": "arn:aws:sts::111122223333:assumed-role/Deployer/ci"},
        "eventTime": time,
        "eventSource": "ecs.amazonaws.com",
        "eventName": name,
        "awsRegion": "eu-west-1",
        "requestParameters": {"cluster": "prod"},
        "eventID": id,
        "readOnly": false,
        "eventType": "AwsApiCall",
        "recipientAccountId": "111122223333"
    });
    if let Some(code) = error {
        record["errorCode"] = json!(code);
        record["errorMessage"] = json!("User is not authorized to perform this action");
    }
    Event::builder()
        .event_id(id)
        .event_name(name)
        .cloud_trail_event(record.to_string())
        .build()
}

/// The lookup of `source`'s events after `token`, answering `events` and `next`.
fn page(
    source: &'static str,
    token: Option<&'static str>,
    events: Vec<Event>,
    next: Option<&'static str>,
) -> Rule {
    mock!(Client::lookup_events)
        .match_requests(move |r| {
            r.lookup_attributes()
                .first()
                .is_some_and(|a| a.attribute_value() == source)
                && r.next_token() == token
                && r.start_time().is_some()
        })
        .then_output(move || {
            LookupEventsOutput::builder()
                .set_events(Some(events.clone()))
                .set_next_token(next.map(str::to_owned))
                .build()
        })
}

#[tokio::test]
async fn refused_calls_are_read_to_the_last_page_of_each_source_and_nothing_else_is_kept() {
    let first = page(
        "ecs.amazonaws.com",
        None,
        vec![
            event(
                "e-3",
                "RunTask",
                "2026-12-04T10:05:00Z",
                Some("AccessDeniedException"),
            ),
            event("e-2", "CreateService", "2026-12-04T10:04:00Z", None),
        ],
        Some("page-2"),
    );
    let second = page(
        "ecs.amazonaws.com",
        Some("page-2"),
        vec![event(
            "e-1",
            "CreateService",
            "2026-12-04T10:01:00Z",
            Some("AccessDeniedException"),
        )],
        None,
    );
    let scaling = page("autoscaling.amazonaws.com", None, Vec::new(), None);
    let alarms = page(
        "monitoring.amazonaws.com",
        None,
        vec![event(
            "e-4",
            "PutMetricAlarm",
            "2026-12-04T10:02:00Z",
            Some("ThrottlingException"),
        )],
        None,
    );
    let client = trail_clients(&[&first, &second, &scaling, &alarms], RuleMode::MatchAny)
        .client("eu-west-1");
    let said = std::sync::Mutex::new(Vec::new());
    let progress = |m: String| said.lock().unwrap().push(m);
    let found = refused_calls(
        &client,
        "eu-west-1",
        1_796_000_000,
        Duration::ZERO,
        &progress,
    )
    .await
    .expect("read");

    let ids: Vec<&str> = found.iter().filter_map(|e| e["id"].as_str()).collect();
    assert_eq!(ids, ["e-1", "e-3"], "refused calls only, oldest first");
    let first_event = &found[0];
    assert_eq!(first_event["detail-type"], "AWS API Call via CloudTrail");
    assert_eq!(first_event["source"], "aws.ecs");
    assert_eq!(first_event["account"], "111122223333");
    assert_eq!(first_event["region"], "eu-west-1");
    assert_eq!(first_event["detail"]["errorCode"], "AccessDeniedException");
    // Every source looked up, the paged one to its end.
    assert_eq!(
        (
            first.num_calls(),
            second.num_calls(),
            scaling.num_calls(),
            alarms.num_calls()
        ),
        (1, 1, 1, 1)
    );
    assert_eq!(REFUSAL_SOURCES.len(), 3);
    let said = said.lock().unwrap();
    assert!(
        said.iter()
            .any(|m| m == "eu-west-1: 3 ecs.amazonaws.com events read"),
        "{said:?}"
    );
}
