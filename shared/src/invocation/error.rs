//! The error of any invocation, whatever the handler: it becomes the Lambda `errorType` and
//! `errorMessage`. Apart from the events and the deadline so that both can use it without
//! depending on each other.

/// Why an invocation answers an error instead of a report: an input the function cannot
/// act on (every variant names what arrived), or a deadline reached first.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum InvocationError {
    /// The input is not an EventBridge envelope at all.
    #[error("not an EventBridge event: {0}")]
    NotAnEvent(String),
    /// An EventBridge event of a kind other than the one the function handles.
    #[error("unexpected detail-type {found:?} from source {source_name:?}: expected {expected:?}")]
    UnexpectedDetailType {
        /// The `detail-type` that arrived.
        found: String,
        /// The `detail-type` the function handles.
        expected: &'static str,
        /// The `source` that arrived.
        source_name: String,
    },
    /// A CloudTrail record whose detail is missing fields or has the wrong types.
    #[error("malformed CloudTrail detail at {path}: {problem}")]
    MalformedDetail {
        /// Where in the event, e.g. `detail.requestParameters.roleName`.
        path: String,
        /// What is wrong there.
        problem: String,
    },
    /// A well-formed event from a source this function does not handle.
    #[error("unexpected event source {found:?}: this function handles {expected}")]
    UnexpectedSource {
        /// The `source` that arrived.
        found: String,
        /// The sources the function accepts.
        expected: &'static str,
    },
    /// A well-formed event for an API call this function does not handle.
    #[error("unexpected event {source_name}:{event_name}: this function handles {}", .expected.join(", "))]
    UnexpectedEvent {
        /// The `source` that arrived.
        source_name: String,
        /// The CloudTrail `eventName` that arrived.
        event_name: String,
        /// The event names the function accepts.
        expected: &'static [&'static str],
    },
    /// A field is present but its value cannot be used (an ARN or name that does not parse).
    #[error("bad {field}: {problem}")]
    BadField {
        /// Where the field sits in the event.
        field: &'static str,
        /// What is wrong with it.
        problem: String,
    },
    /// The invocation's deadline came before the work was done. An error, not a report,
    /// so that Lambda's asynchronous retries deliver the event again.
    #[error("stopped before the invocation deadline; calls made: {calls}. The event goes back to Lambda's retries (then the on-failure queue); every check is safe to repeat")]
    OutOfTime {
        /// The AWS calls made before stopping.
        calls: String,
    },
}

impl InvocationError {
    /// A stable name for the kind of rejection, used as the Lambda `errorType`.
    pub fn kind(&self) -> &'static str {
        match self {
            InvocationError::NotAnEvent(_) => "NotAnEvent",
            InvocationError::UnexpectedDetailType { .. } => "UnexpectedDetailType",
            InvocationError::MalformedDetail { .. } => "MalformedDetail",
            InvocationError::UnexpectedSource { .. } => "UnexpectedSource",
            InvocationError::UnexpectedEvent { .. } => "UnexpectedEvent",
            InvocationError::BadField { .. } => "BadField",
            InvocationError::OutOfTime { .. } => "OutOfTime",
        }
    }
}

impl From<InvocationError> for lambda_runtime::Diagnostic {
    fn from(err: InvocationError) -> Self {
        lambda_runtime::Diagnostic {
            error_type: err.kind().to_owned(),
            error_message: err.to_string(),
        }
    }
}
