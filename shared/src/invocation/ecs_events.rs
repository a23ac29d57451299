//! ECS's own events, as EventBridge delivers them: "ECS Task State Change" and "ECS
//! Service Action". They come from ECS itself, not from CloudTrail: no trail is needed,
//! and their timestamps are ISO strings. Only the fields task-doctor reads are typed; ECS
//! adds fields over time (the real events in the tests carry different sets), and an
//! unknown one is ignored, a missing required one named with its path.

use aws_lambda_events::eventbridge::EventBridgeEvent;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::invocation::error::InvocationError;
use crate::invocation::events;

/// The `detail-type` of a task's state change.
pub const TASK_STATE_CHANGE: &str = "ECS Task State Change";

/// The `detail-type` of a service's action (a warning or error of its scheduler).
pub const SERVICE_ACTION: &str = "ECS Service Action";

/// The stop code of a task that never started.
pub const TASK_FAILED_TO_START: &str = "TaskFailedToStart";

/// The service action of a task whose configuration kept it from starting.
pub const SERVICE_TASK_CONFIGURATION_FAILURE: &str = "SERVICE_TASK_CONFIGURATION_FAILURE";

/// An ECS event, told apart by its `detail-type`.
#[derive(Debug, Clone, PartialEq)]
pub enum EcsEvent {
    /// A task's state change.
    Task(Box<EventBridgeEvent<TaskStateChange>>),
    /// A service's action.
    Service(Box<EventBridgeEvent<ServiceAction>>),
}

/// What a task state change says of the task.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskStateChange {
    /// The task's ARN.
    pub task_arn: String,
    /// Its cluster's ARN.
    pub cluster_arn: String,
    /// The task definition revision it runs.
    pub task_definition_arn: String,
    /// `PROVISIONING`, `PENDING`, `RUNNING`, `STOPPED`, ...
    pub last_status: String,
    /// Why it stopped, as a code: `TaskFailedToStart`, `EssentialContainerExited`, ...
    #[serde(default)]
    pub stop_code: Option<String>,
    /// Why it stopped, in words; cut at 255 characters.
    #[serde(default)]
    pub stopped_reason: Option<String>,
    /// `service:NAME` for a service's task, `family:NAME` for a task run alone.
    #[serde(default)]
    pub group: Option<String>,
    /// What the task was started with in place of the definition's.
    #[serde(default)]
    pub overrides: TaskOverrides,
    /// Its containers, each with the reason it stopped when there is one.
    #[serde(default)]
    pub containers: Vec<ContainerState>,
}

/// The overrides a task was started with, as far as they decide its execution role.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskOverrides {
    /// The execution role given in place of the definition's.
    #[serde(default)]
    pub execution_role_arn: Option<String>,
}

/// One container of a task state change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContainerState {
    /// The container's name.
    pub name: String,
    /// Why it stopped, when ECS says.
    #[serde(default)]
    pub reason: Option<String>,
}

/// What a service action says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceAction {
    /// `INFO`, `WARN` or `ERROR`.
    pub event_type: String,
    /// E.g. `SERVICE_TASK_CONFIGURATION_FAILURE`.
    pub event_name: String,
    /// The service's cluster.
    pub cluster_arn: String,
    /// The cause, where the event type has one.
    #[serde(default)]
    pub reason: Option<String>,
}

impl TaskStateChange {
    /// Whether the task stopped without ever starting: the only state change task-doctor
    /// reads (a running task, or one a user stopped, is none of its business).
    pub fn failed_to_start(&self) -> bool {
        self.last_status == "STOPPED" && self.stop_code.as_deref() == Some(TASK_FAILED_TO_START)
    }
}

/// Parses a payload into an ECS event, naming the field that is wrong.
pub fn parse_ecs_event(payload: Value) -> Result<EcsEvent, InvocationError> {
    let kind = |key: &str| {
        payload
            .get(key)
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| InvocationError::NotAnEvent(format!("no {key:?} string")))
    };
    let (detail_type, source) = (kind("detail-type")?, kind("source")?);
    if source != "aws.ecs" {
        return Err(InvocationError::UnexpectedSource {
            found: source,
            expected: "aws.ecs",
        });
    }
    let malformed = |e: serde_path_to_error::Error<serde_json::Error>| {
        events::malformed("", e.path(), e.inner().to_string())
    };
    match detail_type.as_str() {
        TASK_STATE_CHANGE => Ok(EcsEvent::Task(Box::new(
            serde_path_to_error::deserialize(payload).map_err(malformed)?,
        ))),
        SERVICE_ACTION => Ok(EcsEvent::Service(Box::new(
            serde_path_to_error::deserialize(payload).map_err(malformed)?,
        ))),
        _ => Err(InvocationError::UnexpectedDetailType {
            found: detail_type,
            expected: TASK_STATE_CHANGE,
            source_name: source,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn stopped(detail: Value) -> Value {
        json!({
            "version": "0", "id": "0b9e5f3c-6d0a-4c5e-9b1e-2f7d8c9a0b1c",
            "detail-type": TASK_STATE_CHANGE, "source": "aws.ecs",
            "account": "111122223333", "time": "2026-11-20T10:00:00Z",
            "region": "eu-west-1",
            "resources": ["arn:aws:ecs:eu-west-1:111122223333:task/prod/0a1b2c3d"],
            "detail": detail
        })
    }

    #[test]
    fn a_task_that_failed_to_start_is_told_from_one_a_user_stopped() {
        let detail = json!({
            "taskArn": "arn:aws:ecs:eu-west-1:111122223333:task/prod/0a1b2c3d",
            "clusterArn": "arn:aws:ecs:eu-west-1:111122223333:cluster/prod",
            "taskDefinitionArn": "arn:aws:ecs:eu-west-1:111122223333:task-definition/web:7",
            "lastStatus": "STOPPED", "desiredStatus": "STOPPED",
            "stopCode": "TaskFailedToStart",
            "stoppedReason": "ResourceInitializationError: ...",
            "overrides": {"containerOverrides": [{"name": "web"}],
                          "executionRoleArn": "arn:aws:iam::111122223333:role/other"},
            "containers": [{"name": "web", "lastStatus": "STOPPED"}]
        });
        let EcsEvent::Task(event) = parse_ecs_event(stopped(detail.clone())).unwrap() else {
            panic!("a task state change")
        };
        assert!(event.detail.failed_to_start());
        assert_eq!(
            event.detail.overrides.execution_role_arn.as_deref(),
            Some("arn:aws:iam::111122223333:role/other")
        );
        let mut by_user = detail;
        by_user["stopCode"] = json!("UserInitiated");
        let EcsEvent::Task(event) = parse_ecs_event(stopped(by_user)).unwrap() else {
            panic!("a task state change")
        };
        assert!(!event.detail.failed_to_start());
    }

    #[test]
    fn a_missing_field_is_named_and_a_foreign_event_refused() {
        let err = parse_ecs_event(stopped(json!({"lastStatus": "STOPPED"}))).unwrap_err();
        assert!(
            matches!(&err, InvocationError::MalformedDetail { path, .. } if path == "detail"),
            "{err}"
        );
        let mut other = stopped(json!({}));
        other["source"] = json!("aws.ec2");
        assert!(matches!(
            parse_ecs_event(other),
            Err(InvocationError::UnexpectedSource { .. })
        ));
        let mut deployment = stopped(json!({}));
        deployment["detail-type"] = json!("ECS Deployment State Change");
        assert!(matches!(
            parse_ecs_event(deployment),
            Err(InvocationError::UnexpectedDetailType { .. })
        ));
    }
}
