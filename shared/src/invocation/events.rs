//! EventBridge events that carry a CloudTrail "AWS API Call via CloudTrail" record.
//!
//! The envelope is `aws_lambda_events`' `EventBridgeEvent`; the detail is our own struct
//! because that crate's `AWSAPICall` has no `errorCode`/`errorMessage` and requires
//! fields (`userAgent`, a full `sessionContext`) that real records sometimes lack.

use aws_lambda_events::eventbridge::EventBridgeEvent;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::aws::ids::{is_account_id, is_region_name};
use crate::invocation::error::InvocationError;

/// The `detail-type` EventBridge gives CloudTrail management events.
pub const API_CALL_DETAIL_TYPE: &str = "AWS API Call via CloudTrail";

/// The `userIdentity` of a CloudTrail record, lenient: every field may be absent.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct UserIdentity {
    /// `IAMUser`, `AssumedRole`, `Root`, `AWSService`, …
    #[serde(rename = "type", default)]
    pub kind: Option<String>,
    /// The caller's ARN (for an assumed role, the session ARN).
    #[serde(default)]
    pub arn: Option<String>,
    /// The caller's account.
    #[serde(default)]
    pub account_id: Option<String>,
    /// The caller's principal id.
    #[serde(default)]
    pub principal_id: Option<String>,
    /// The AWS service that made the call on the caller's behalf.
    #[serde(default)]
    pub invoked_by: Option<String>,
    /// For assumed roles: the role the session came from.
    #[serde(default)]
    pub session_context: Option<SessionContext>,
}

/// The part of `sessionContext` that names the role behind a session.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct SessionContext {
    /// The role (or user) that issued the session.
    #[serde(default)]
    pub session_issuer: Option<SessionIssuer>,
}

/// The issuer of an assumed-role session.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct SessionIssuer {
    /// `Role`, …
    #[serde(rename = "type", default)]
    pub kind: Option<String>,
    /// The issuer's ARN: for a role session, the role ARN.
    #[serde(default)]
    pub arn: Option<String>,
}

/// The `detail` of an "AWS API Call via CloudTrail" event.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ApiCall {
    /// The API, e.g. `CreateService`.
    pub event_name: String,
    /// The service endpoint, e.g. `ecs.amazonaws.com`.
    pub event_source: String,
    /// The region the call was made in.
    pub aws_region: String,
    /// The account that owns the resources the call touched.
    pub recipient_account_id: String,
    /// Who made the call.
    #[serde(default)]
    pub user_identity: UserIdentity,
    /// Set when the call failed, e.g. `InvalidParameterException`, `AccessDenied`.
    #[serde(default)]
    pub error_code: Option<String>,
    /// The failure's message, when the call failed.
    #[serde(default)]
    pub error_message: Option<String>,
    /// The call's parameters; `null` for calls without any.
    #[serde(default)]
    pub request_parameters: Option<Value>,
    /// The call's response; `null` for failed calls.
    #[serde(default)]
    pub response_elements: Option<Value>,
    /// CloudTrail's id of the record.
    #[serde(rename = "eventID", default)]
    pub event_id: Option<String>,
    /// `AwsApiCall` for API calls.
    #[serde(default)]
    pub event_type: Option<String>,
    /// The caller's user agent; absent on some service-originated records.
    #[serde(default)]
    pub user_agent: Option<String>,
    /// What CloudTrail adds beyond the call; Application Auto Scaling's calls carry
    /// `{"service": "application-autoscaling"}` here, EC2 Auto Scaling's do not.
    #[serde(default)]
    pub additional_event_data: Option<Value>,
    /// `true` for Describe*, Get* and List* calls, which only reach a rule in state
    /// `ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS`.
    #[serde(default)]
    pub read_only: Option<bool>,
}

/// What `additionalEventData.service` holds for Application Auto Scaling's calls, which
/// CloudTrail records under EC2 Auto Scaling's `autoscaling.amazonaws.com` (Application
/// Auto Scaling User Guide, "Monitor Application Auto Scaling events using Amazon
/// EventBridge").
pub const APPLICATION_AUTO_SCALING: &str = "application-autoscaling";

impl ApiCall {
    /// `additionalEventData.service`, where CloudTrail names the service behind a shared
    /// event source.
    pub fn service(&self) -> Option<&str> {
        self.additional_event_data
            .as_ref()
            .and_then(|data| data.get("service"))
            .and_then(Value::as_str)
    }

    /// Whether this is an Application Auto Scaling call rather than an EC2 Auto Scaling one.
    pub fn is_application_auto_scaling(&self) -> bool {
        self.service() == Some(APPLICATION_AUTO_SCALING)
    }

    /// Deserializes `requestParameters` into the typed parameters of one API.
    pub fn request<T: DeserializeOwned>(&self) -> Result<T, InvocationError> {
        let params = self.request_parameters.clone().unwrap_or(Value::Null);
        serde_path_to_error::deserialize(params).map_err(|e| {
            malformed(
                "detail.requestParameters",
                e.path(),
                format!("{} of {}", e.inner(), self.event_name),
            )
        })
    }
}

/// A CloudTrail API call as EventBridge delivers it.
pub type ApiCallEvent = EventBridgeEvent<ApiCall>;

/// Checks that an event is one of `names` from `source`, with a usable account and region,
/// and returns its event name.
pub fn accept<'e>(
    event: &'e ApiCallEvent,
    source: &'static str,
    names: &'static [&'static str],
) -> Result<&'e str, InvocationError> {
    if event.source != source {
        return Err(InvocationError::UnexpectedSource {
            found: event.source.clone(),
            expected: source,
        });
    }
    let detail = &event.detail;
    if !names.contains(&detail.event_name.as_str()) {
        return Err(InvocationError::UnexpectedEvent {
            source_name: event.source.clone(),
            event_name: detail.event_name.clone(),
            expected: names,
        });
    }
    let account = &detail.recipient_account_id;
    if !is_account_id(account) {
        return Err(InvocationError::BadField {
            field: "detail.recipientAccountId",
            problem: format!("{account:?} is not a 12-digit account id"),
        });
    }
    if !is_region_name(&detail.aws_region) {
        return Err(InvocationError::BadField {
            field: "detail.awsRegion",
            problem: format!("{:?} is not a region", detail.aws_region),
        });
    }
    Ok(&detail.event_name)
}

/// The account an event acts in: the one that owns the call's resources
/// (`detail.recipientAccountId`). EventBridge's `account` is the account whose bus the
/// event was first put on, which for a CloudTrail event is the same one, forwarded to a hub
/// or not; an envelope that says otherwise is refused rather than guessed at.
pub fn owner(event: &ApiCallEvent) -> Result<&str, InvocationError> {
    let account = event.detail.recipient_account_id.as_str();
    match event.account.as_deref() {
        // EventBridge sets it on every event; one without it was made by hand, and which
        // account it is about cannot be checked.
        None | Some("") => Err(InvocationError::BadField {
            field: "account",
            problem: format!(
                "missing: EventBridge sets the envelope's account on every event; \
                 put {account} (detail.recipientAccountId) there"
            ),
        }),
        Some(envelope) if envelope != account => Err(InvocationError::BadField {
            field: "account",
            problem: format!(
                "the envelope's account {envelope} is not detail.recipientAccountId {account}"
            ),
        }),
        Some(_) => Ok(account),
    }
}

/// Parses an invocation payload into a CloudTrail API-call event.
///
/// Two stages, so that a foreign EventBridge event is named by its detail-type rather
/// than by whichever CloudTrail field its detail happens to lack.
pub fn parse_api_call(payload: Value) -> Result<ApiCallEvent, InvocationError> {
    let envelope =
        Envelope::deserialize(&payload).map_err(|e| InvocationError::NotAnEvent(e.to_string()))?;
    if envelope.detail_type != API_CALL_DETAIL_TYPE {
        return Err(InvocationError::UnexpectedDetailType {
            found: envelope.detail_type,
            expected: API_CALL_DETAIL_TYPE,
            source_name: envelope.source,
        });
    }
    serde_path_to_error::deserialize(payload)
        .map_err(|e| malformed("", e.path(), e.inner().to_string()))
}

/// A [`InvocationError::MalformedDetail`] at `path` under `base`.
pub(crate) fn malformed(
    base: &str,
    path: &serde_path_to_error::Path,
    problem: String,
) -> InvocationError {
    let path = path.to_string();
    let path = match (base, path.as_str()) {
        ("", ".") => "the event".to_owned(),
        (base, ".") => base.to_owned(),
        ("", path) => path.to_owned(),
        (base, path) => format!("{base}.{path}"),
    };
    InvocationError::MalformedDetail { path, problem }
}

/// The two envelope fields that say what kind of event arrived.
#[derive(Deserialize)]
struct Envelope {
    #[serde(rename = "detail-type")]
    detail_type: String,
    source: String,
}

/// A CloudTrail record (as a trail's log file or CloudTrail's event history holds it) in
/// the envelope EventBridge delivers it in: `source` is `aws.` and the service of its
/// `eventSource` (`ecs.amazonaws.com` → `aws.ecs`), `account` its `recipientAccountId`,
/// `region` its `awsRegion`, `id` its `eventID`, `detail` the record itself. That is how
/// the functions' rules see it (EventBridge User Guide, "Events from AWS services" via
/// CloudTrail).
pub fn envelope_of_record(record: Value) -> Result<Value, InvocationError> {
    let text = |key: &str| -> Result<String, InvocationError> {
        record
            .get(key)
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| {
                InvocationError::NotAnEvent(format!(
                    "a CloudTrail record has an {key:?} string; this one has none"
                ))
            })
    };
    let source = text("eventSource")?;
    let service = source.strip_suffix(".amazonaws.com").unwrap_or(&source);
    let account = record
        .get("recipientAccountId")
        .or_else(|| record.pointer("/userIdentity/accountId"))
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    Ok(serde_json::json!({
        "version": "0",
        "id": text("eventID")?,
        "detail-type": API_CALL_DETAIL_TYPE,
        "source": format!("aws.{service}"),
        "account": account,
        "time": text("eventTime")?,
        "region": text("awsRegion")?,
        "resources": [],
        "detail": record,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn event(detail: Value) -> Value {
        json!({
            "version": "0", "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
            "detail-type": API_CALL_DETAIL_TYPE, "source": "aws.ecs",
            "account": "111122223333", "time": "2026-11-20T10:00:00Z",
            "region": "eu-west-1", "resources": [], "detail": detail
        })
    }

    #[test]
    fn parses_a_failed_call_with_its_error_and_without_user_agent() {
        let parsed = parse_api_call(event(json!({
            "eventName": "CreateService", "eventSource": "ecs.amazonaws.com",
            "awsRegion": "eu-west-1", "recipientAccountId": "111122223333",
            "errorCode": "InvalidParameterException",
            "errorMessage": "Unable to assume the service linked role.",
            "requestParameters": {"serviceName": "web"}, "responseElements": null,
            "userIdentity": {"type": "AssumedRole", "sessionContext": {"sessionIssuer":
                {"type": "Role", "arn": "arn:aws:iam::111122223333:role/deployer"}}}
        })))
        .unwrap();
        assert_eq!(parsed.source, "aws.ecs");
        assert_eq!(
            parsed.detail.error_code.as_deref(),
            Some("InvalidParameterException")
        );
        assert_eq!(parsed.detail.response_elements, None);
        let issuer = parsed
            .detail
            .user_identity
            .session_context
            .unwrap()
            .session_issuer;
        assert_eq!(
            issuer.unwrap().arn.as_deref(),
            Some("arn:aws:iam::111122223333:role/deployer")
        );
    }

    #[test]
    fn names_a_foreign_detail_type() {
        let mut foreign = event(json!({"instance-id": "i-1"}));
        foreign["detail-type"] = json!("EC2 Instance State-change Notification");
        foreign["source"] = json!("aws.ec2");
        let err = parse_api_call(foreign).unwrap_err();
        assert!(
            err.to_string()
                .contains("EC2 Instance State-change Notification"),
            "{err}"
        );
        assert!(err.to_string().contains("aws.ec2"), "{err}");
    }

    #[test]
    fn names_the_missing_field() {
        let err = parse_api_call(event(json!({"eventName": "CreateCluster"}))).unwrap_err();
        let InvocationError::MalformedDetail { path, problem } = &err else {
            panic!("{err:?}")
        };
        assert_eq!(path, "detail");
        assert!(problem.contains("missing field `eventSource`"), "{err}");
    }

    #[test]
    fn the_owner_is_the_recipient_and_the_envelope_must_agree() {
        let detail = json!({
            "eventName": "CreateCluster", "eventSource": "ecs.amazonaws.com",
            "awsRegion": "eu-west-1", "recipientAccountId": "111122223333"
        });
        let parsed = parse_api_call(event(detail.clone())).unwrap();
        assert_eq!(owner(&parsed).unwrap(), "111122223333");
        let mut other = event(detail);
        other["account"] = json!("444455556666");
        let err = owner(&parse_api_call(other.clone()).unwrap()).unwrap_err();
        assert!(err.to_string().contains("444455556666"), "{err}");
        for missing in [Value::Null, json!("")] {
            other["account"] = missing;
            let err = owner(&parse_api_call(other.clone()).unwrap()).unwrap_err();
            assert!(err.to_string().contains("missing"), "{err}");
        }
    }

    #[test]
    fn rejects_non_events() {
        for payload in [json!("hello"), json!([1, 2]), json!({"role_name": "x"})] {
            let err = parse_api_call(payload).unwrap_err();
            assert!(matches!(err, InvocationError::NotAnEvent(_)), "{err}");
        }
    }

    #[test]
    fn a_record_gets_the_envelope_eventbridge_gives_it() {
        let record = serde_json::json!({
            "eventVersion": "1.08", "eventTime": "2026-11-20T10:00:00Z",
            "eventSource": "ecs.amazonaws.com", "eventName": "CreateService",
            "awsRegion": "eu-west-1", "eventID": "e1", "recipientAccountId": "111122223333",
            "errorCode": "AccessDeniedException"
        });
        let event = envelope_of_record(record.clone()).unwrap();
        assert_eq!(event["source"], "aws.ecs");
        assert_eq!(event["account"], "111122223333");
        assert_eq!(event["detail"], record);
        assert!(parse_api_call(event).is_ok());
        assert!(envelope_of_record(serde_json::json!({"eventName": "x"})).is_err());
    }
}
