//! Notifications: once per invocation, what changed or needs a person, published to the SNS
//! topic `WARDEN_NOTIFICATION_TOPIC_ARN` names, as JSON or, with
//! `WARDEN_NOTIFICATION_FORMAT=chat`, as a chat message. Compliant and skipped findings never
//! notify.

use aws_config::{Region, SdkConfig};

use crate::aws::ids::{is_region_name, Arn};
use crate::aws::{self, CallError, CallLog};
use crate::invocation::chat::ChatMessage;
use crate::invocation::checks::CheckId;
use crate::invocation::error::InvocationError;
use crate::invocation::notice::{wire_name, Notable, Notice};
use crate::invocation::report::{Finding, Status};
use crate::invocation::settings::SettingsError;

/// The environment variable naming the topic; unset or empty turns notifications off.
pub const TOPIC_ENV: &str = "WARDEN_NOTIFICATION_TOPIC_ARN";
/// The environment variable choosing how a message reads: `json` (unset) or `chat`.
pub const FORMAT_ENV: &str = "WARDEN_NOTIFICATION_FORMAT";

/// How a notification's message reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Format {
    /// The [`Notice`] as JSON, for programs and subscription filters.
    #[default]
    Json,
    /// The custom notification Amazon Q Developer in chat applications renders
    /// ([`crate::invocation::chat`]).
    Chat,
}

impl Format {
    /// The format `WARDEN_NOTIFICATION_FORMAT` names.
    pub fn from_setting(value: Option<&str>) -> Result<Self, SettingsError> {
        match value.map(str::trim) {
            None | Some("") | Some("json") => Ok(Self::Json),
            Some("chat") => Ok(Self::Chat),
            Some(other) => Err(SettingsError {
                name: FORMAT_ENV,
                value: other.to_owned(),
                problem: "expected json or chat",
            }),
        }
    }
}

/// Where notifications go: nowhere, or one SNS topic.
#[derive(Debug, Clone, Default)]
pub struct Notifier(Option<Topic>);

#[derive(Debug, Clone)]
struct Topic {
    arn: String,
    sns: aws_sdk_sns::Client,
    calls: CallLog,
    format: Format,
}

impl Notifier {
    /// No notifications.
    pub fn off() -> Self {
        Self(None)
    }

    /// Publishes to `topic_arn` in `format`, through a client in the topic's own region
    /// (one central topic may serve every region's stack).
    pub fn to_topic(
        config: &SdkConfig,
        calls: &CallLog,
        topic_arn: &str,
        format: Format,
    ) -> Result<Self, SettingsError> {
        let region = topic_region(topic_arn).ok_or_else(|| SettingsError {
            name: TOPIC_ENV,
            value: topic_arn.to_owned(),
            problem: "not an SNS topic ARN (arn:PARTITION:sns:REGION:ACCOUNT:NAME)",
        })?;
        let config = config
            .to_builder()
            .region(Region::new(region.to_owned()))
            .build();
        Ok(Self(Some(Topic {
            arn: topic_arn.to_owned(),
            sns: aws::sns_client(&config, calls),
            calls: calls.clone(),
            format,
        })))
    }

    /// Ends an invocation: publishes what its answer needs, or logs why its input was
    /// rejected (every handler validates its whole input before its first AWS call).
    pub async fn finish<T: Notable>(
        &self,
        result: Result<T, InvocationError>,
    ) -> Result<T, InvocationError> {
        match result {
            Ok(mut answer) => {
                self.send(&mut answer).await;
                Ok(answer)
            }
            Err(e) => {
                tracing::warn!(kind = e.kind(), error = %e, "rejected input; no AWS call made");
                Err(e)
            }
        }
    }

    /// Publishes the answer's notice, if it has one. A failed publication does not undo
    /// what the invocation did: it is logged as an error and added to the answer's report
    /// as a `failed` finding, so the caller sees it too.
    pub async fn send(&self, answer: &mut impl Notable) {
        let Some(topic) = &self.0 else { return };
        let Some(notice) = Notice::of(&*answer) else {
            return;
        };
        let severity = wire_name(&notice.severity);
        let message = match topic.format {
            Format::Json => serde_json::to_string_pretty(&notice),
            Format::Chat => {
                let account = answer.report().account.as_deref();
                serde_json::to_string(&ChatMessage::of(&notice, account))
            }
        }
        .unwrap_or_default();
        let result = publish(topic, &notice, message).await;
        // The report was taken before the publication: add its call, so the report lists
        // every call and the next invocation's starts clean.
        let report = answer.report_mut();
        report.aws_calls.extend(topic.calls.take());
        let event_id = report.event_id.as_deref();
        match result {
            Ok(message_id) => tracing::info!(
                event_id,
                topic = %topic.arn,
                message_id = message_id.as_deref(),
                severity = %severity,
                "notification published"
            ),
            Err(e) => {
                let detail = e.explain("sns:Publish", &topic.arn);
                tracing::error!(
                    event_id,
                    topic = %topic.arn,
                    error = %detail,
                    "notification failed"
                );
                report.push(Finding::new(
                    &topic.arn,
                    CheckId::NOTIFICATION,
                    Status::Failed,
                    detail,
                ));
            }
        }
    }
}

async fn publish(
    topic: &Topic,
    notice: &Notice<'_>,
    message: String,
) -> Result<Option<String>, CallError> {
    use aws_sdk_sns::types::MessageAttributeValue;
    let attribute = |value: &str| {
        MessageAttributeValue::builder()
            .data_type("String")
            .string_value(value)
            .build()
            .map_err(|e| CallError::local(e.to_string()))
    };
    let out = topic
        .sns
        .publish()
        .topic_arn(&topic.arn)
        .subject(notice.subject())
        .message(message)
        .message_attributes("function", attribute(notice.function)?)
        .message_attributes("severity", attribute(&wire_name(&notice.severity))?)
        .send()
        .await
        .map_err(|e| CallError::from_sdk(&e))?;
    Ok(out.message_id)
}

/// The region of an SNS topic ARN, when `arn` is one.
fn topic_region(arn: &str) -> Option<&str> {
    let arn = Arn::parse(arn)?;
    let ok = arn.service == "sns"
        && is_region_name(arn.region)
        && arn.has_account_id()
        && !arn.resource.is_empty()
        && arn
            .resource
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    ok.then_some(arn.region)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_region_of_a_topic_arn_only() {
        assert_eq!(
            topic_region("arn:aws:sns:eu-west-1:111122223333:ops-alerts"),
            Some("eu-west-1")
        );
        for bad in [
            "",
            "ops-alerts",
            "arn:aws:sqs:eu-west-1:111122223333:q",
            "arn:aws:sns:eu-west-1:1111:q",
            "arn:aws:sns:eu-west-1:111122223333:a:b",
            "arn:aws:sns:eu-west-1:111122223333:a.fifo.x!",
        ] {
            assert_eq!(topic_region(bad), None, "{bad}");
        }
    }
}
