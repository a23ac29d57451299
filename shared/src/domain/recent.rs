//! The failures of the last hours that the doctors explain, found without an event:
//! what `ecs-warden explain --recent` asks of an account.
//!
//! - Tasks that failed to start: ECS lists a stopped task for at least an hour after it
//!   stopped (ECS Developer Guide, "Amazon ECS stopped tasks errors"), so each cluster's
//!   `STOPPED` tasks are read (ListTasks, DescribeTasks by 100) and those with `stopCode`
//!   `TaskFailedToStart` become the "ECS Task State Change" event ECS sent for them, its
//!   detail the task as DescribeTasks gives it.
//! - Refused calls: CloudTrail's event history (LookupEvents, 90 days of management
//!   events, no trail needed), one event source at a time (a lookup takes one attribute),
//!   each refusal a CloudTrail record that becomes the event EventBridge delivered.
//!   LookupEvents allows two requests a second per account and region (CloudTrail User
//!   Guide, "Quotas in AWS CloudTrail"); pages are spaced by the `pace` given, which is
//!   the caller's to wait, never a handler's.

use std::time::Duration;

use aws_sdk_cloudtrail::types::{LookupAttribute, LookupAttributeKey};
use aws_sdk_ecs::types::{DesiredStatus, Task};
use serde_json::{json, Value};

use crate::aws::{CallError, FailedCall};
use crate::domain::permissions::REFUSED;
use crate::invocation::ecs_events::{
    ContainerState, TaskOverrides, TaskStateChange, TASK_FAILED_TO_START, TASK_STATE_CHANGE,
};
use crate::invocation::events::envelope_of_record;

/// The event sources whose refusals the doctors explain: ECS, Application Auto Scaling
/// and EC2 Auto Scaling (both record as `autoscaling.amazonaws.com`), CloudWatch alarms.
pub const REFUSAL_SOURCES: [&str; 3] = [
    "ecs.amazonaws.com",
    "autoscaling.amazonaws.com",
    "monitoring.amazonaws.com",
];

/// LookupEvents' quota: two requests a second per account and region.
pub const LOOKUP_PACE: Duration = Duration::from_millis(500);

/// The tasks of `region` that stopped with `TaskFailedToStart` at or after `since`
/// (seconds since the epoch), each as the ECS event that reported it.
pub async fn failed_tasks(
    ecs: &aws_sdk_ecs::Client,
    region: &str,
    since: i64,
    progress: &(dyn Fn(String) + Sync),
) -> Result<Vec<Value>, FailedCall> {
    let mut clusters = Vec::new();
    let mut pages = ecs.list_clusters().into_paginator().send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| CallError::from_sdk(&e).on("ecs:ListClusters", region))?;
        clusters.extend(page.cluster_arns().iter().cloned());
    }
    let mut events = Vec::new();
    for (n, cluster) in clusters.iter().enumerate() {
        progress(format!(
            "{region}: stopped tasks of cluster {} of {}",
            n + 1,
            clusters.len()
        ));
        let mut arns = Vec::new();
        let mut pages = ecs
            .list_tasks()
            .cluster(cluster)
            .desired_status(DesiredStatus::Stopped)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| CallError::from_sdk(&e).on("ecs:ListTasks", cluster))?;
            arns.extend(page.task_arns().iter().cloned());
        }
        for batch in arns.chunks(100) {
            let described = ecs
                .describe_tasks()
                .cluster(cluster)
                .set_tasks(Some(batch.to_vec()))
                .send()
                .await
                .map_err(|e| CallError::from_sdk(&e).on("ecs:DescribeTasks", cluster))?;
            events.extend(
                described
                    .tasks()
                    .iter()
                    .filter(|t| failed_since(t, since))
                    .map(|t| task_event(t, region)),
            );
        }
    }
    Ok(events)
}

fn failed_since(task: &Task, since: i64) -> bool {
    let stopped = task.stopped_at().map_or(i64::MAX, |t| t.secs());
    task.stop_code().map(|c| c.as_str()) == Some(TASK_FAILED_TO_START) && stopped >= since
}

/// The "ECS Task State Change" event ECS sent when `task` stopped (ECS Developer Guide,
/// "Amazon ECS task state change events": its detail is the task as the API describes it).
fn task_event(task: &Task, region: &str) -> Value {
    let arn = task.task_arn().unwrap_or_default();
    let account = crate::aws::ids::Arn::parse(arn)
        .map(|a| a.account.to_owned())
        .unwrap_or_default();
    let detail = TaskStateChange {
        task_arn: arn.to_owned(),
        cluster_arn: task.cluster_arn().unwrap_or_default().to_owned(),
        task_definition_arn: task.task_definition_arn().unwrap_or_default().to_owned(),
        last_status: task.last_status().unwrap_or("STOPPED").to_owned(),
        stop_code: task.stop_code().map(|c| c.as_str().to_owned()),
        stopped_reason: task.stopped_reason().map(str::to_owned),
        group: task.group().map(str::to_owned),
        overrides: TaskOverrides {
            execution_role_arn: task
                .overrides()
                .and_then(|o| o.execution_role_arn())
                .map(str::to_owned),
        },
        containers: task
            .containers()
            .iter()
            .map(|c| ContainerState {
                name: c.name().unwrap_or_default().to_owned(),
                reason: c.reason().map(str::to_owned),
            })
            .collect(),
    };
    let time = task
        .stopped_at()
        .and_then(|t| t.fmt(aws_smithy_types::date_time::Format::DateTime).ok())
        .unwrap_or_default();
    json!({
        "version": "0",
        "id": format!("ecs-warden-recent-{}", arn.rsplit('/').next().unwrap_or_default()),
        "detail-type": TASK_STATE_CHANGE,
        "source": "aws.ecs",
        "account": account,
        "time": time,
        "region": region,
        "resources": [arn],
        "detail": detail,
    })
}

/// The refused calls CloudTrail's event history holds for `region` since `since`
/// (seconds since the epoch), each as the EventBridge event of its record, oldest first.
/// `pace` is awaited before every request after the first.
pub async fn refused_calls(
    cloudtrail: &aws_sdk_cloudtrail::Client,
    region: &str,
    since: i64,
    pace: Duration,
    progress: &(dyn Fn(String) + Sync),
) -> Result<Vec<Value>, FailedCall> {
    let mut events = Vec::new();
    let mut first = true;
    for source in REFUSAL_SOURCES {
        let mut token: Option<String> = None;
        let mut read = 0usize;
        loop {
            if !first {
                tokio::time::sleep(pace).await;
            }
            first = false;
            let page = cloudtrail
                .lookup_events()
                .lookup_attributes(
                    LookupAttribute::builder()
                        .attribute_key(LookupAttributeKey::EventSource)
                        .attribute_value(source)
                        .build()
                        .map_err(|e| {
                            CallError::local(e.to_string()).on("cloudtrail:LookupEvents", region)
                        })?,
                )
                .start_time(aws_smithy_types::DateTime::from_secs(since))
                .max_results(50)
                .set_next_token(token.take())
                .send()
                .await
                .map_err(|e| CallError::from_sdk(&e).on("cloudtrail:LookupEvents", region))?;
            read += page.events().len();
            progress(format!("{region}: {read} {source} events read"));
            for event in page.events() {
                let Some(record) = event
                    .cloud_trail_event()
                    .and_then(|text| serde_json::from_str::<Value>(text).ok())
                else {
                    continue;
                };
                let refused = record
                    .get("errorCode")
                    .and_then(Value::as_str)
                    .is_some_and(|code| REFUSED.contains(&code));
                if refused {
                    if let Ok(event) = envelope_of_record(record) {
                        events.push(event);
                    }
                }
            }
            token = page.next_token().map(str::to_owned);
            if token.is_none() {
                break;
            }
        }
    }
    // LookupEvents answers newest first.
    events.sort_by(|a, b| a["time"].as_str().cmp(&b["time"].as_str()));
    Ok(events)
}
