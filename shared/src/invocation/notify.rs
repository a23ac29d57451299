//! Notifications: once per invocation, what changed or needs a person, published to the SNS
//! topic `WARDEN_NOTIFICATION_TOPIC_ARN` names. Compliant and skipped findings never notify.

use aws_config::{Region, SdkConfig};
use serde::Serialize;

use crate::aws::ids::{is_region_name, Arn};
use crate::aws::{self, CallError, CallLog};
use crate::invocation::error::InvocationError;
use crate::invocation::report::{Check, Finding, Report, Status};
use crate::invocation::settings::SettingsError;

/// The environment variable naming the topic; unset or empty turns notifications off.
pub const TOPIC_ENV: &str = "WARDEN_NOTIFICATION_TOPIC_ARN";

/// SNS accepts 256 KiB per message; the findings stop well short of it, leaving room for
/// the envelope and the attributes.
const MAX_FINDINGS_BYTES: usize = 200_000;
/// SNS subjects: at most 100 printable ASCII characters.
const MAX_SUBJECT_CHARS: usize = 100;

/// A function's answer that can be summed up in a notification.
pub trait Notable {
    /// The report inside the answer.
    fn report(&self) -> &Report;
    /// The same, to record a failed publication in it.
    fn report_mut(&mut self) -> &mut Report;
    /// How a long-running action ended (`deleted`, `blocked`, `failed`), on the invocation
    /// that ended it.
    fn outcome(&self) -> Option<&'static str> {
        None
    }
}

impl Notable for Report {
    fn report(&self) -> &Report {
        self
    }
    fn report_mut(&mut self) -> &mut Report {
        self
    }
}

/// How much a notification matters, as the `severity` message attribute that subscription
/// filter policies select on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Something failed: a person has to look.
    Failed,
    /// A deletion stopped because the role is in use.
    Blocked,
    /// Something was created, repaired or deleted.
    Changed,
    /// Audit mode found something it would change.
    WouldChange,
}

/// What is published: the report's identity and only the findings worth a person's time.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Notice<'a> {
    /// The function that acted.
    pub function: &'static str,
    /// How much it matters.
    pub severity: Severity,
    /// The mode it ran in.
    pub mode: crate::invocation::settings::Mode,
    /// The EventBridge id of the triggering event, to find the full report in the logs.
    pub event_id: Option<&'a str>,
    /// The triggering API call as `source:eventName`.
    pub event: Option<&'a str>,
    /// How a long-running action ended, when this invocation ended it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outcome: Option<&'static str>,
    /// How many findings of each status the invocation had, compliant ones included.
    pub summary: &'a std::collections::BTreeMap<Status, usize>,
    /// The findings that changed something or need a person.
    pub findings: Vec<&'a Finding>,
    /// Findings left out to stay within SNS's message size; the log has them all.
    #[serde(skip_serializing_if = "is_zero")]
    pub omitted: usize,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// How a unit enum variant reads in the JSON contract (`would_create`, `changed`), so the
/// subject and the attributes use the same words as the message body.
fn wire_name(value: &impl Serialize) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(name)) => name,
        _ => String::new(),
    }
}

/// Whether a finding is worth a notification.
fn is_notable(status: Status) -> bool {
    match status {
        Status::Created
        | Status::Repaired
        | Status::Failed
        | Status::WouldCreate
        | Status::WouldRepair => true,
        Status::Compliant | Status::Skipped => false,
    }
}

impl<'a> Notice<'a> {
    /// The notice for an answer, or `None` when nothing in it is worth a notification.
    pub fn of(answer: &'a impl Notable) -> Option<Self> {
        let report = answer.report();
        let outcome = answer.outcome();
        let notable: Vec<&Finding> = report
            .findings
            .iter()
            .filter(|f| is_notable(f.status))
            .collect();
        if notable.is_empty() && outcome.is_none() {
            return None;
        }
        let has = |status| notable.iter().any(|f| f.status == status);
        let severity = if outcome == Some("failed") || has(Status::Failed) {
            Severity::Failed
        } else if outcome == Some("blocked") {
            Severity::Blocked
        } else if outcome.is_some() || has(Status::Created) || has(Status::Repaired) {
            Severity::Changed
        } else {
            Severity::WouldChange
        };
        let mut findings = Vec::with_capacity(notable.len());
        let mut bytes = 0;
        for finding in &notable {
            bytes += serde_json::to_string(finding).map_or(0, |s| s.len() + 1);
            if bytes > MAX_FINDINGS_BYTES {
                break;
            }
            findings.push(*finding);
        }
        let omitted = notable.len() - findings.len();
        Some(Self {
            function: report.function,
            severity,
            mode: report.mode,
            event_id: report.event_id.as_deref(),
            event: report.event.as_deref(),
            outcome,
            summary: &report.summary,
            findings,
            omitted,
        })
    }

    /// A one-line subject: the function and its counts, e.g.
    /// `ecs-warden scaling-guard: 2 created, 1 failed`.
    pub fn subject(&self) -> String {
        let mut parts: Vec<String> = self.outcome.map(String::from).into_iter().collect();
        for (status, count) in self.summary {
            if is_notable(*status) {
                parts.push(format!("{count} {}", wire_name(status)));
            }
        }
        let subject = format!("ecs-warden {}: {}", self.function, parts.join(", "));
        subject
            .chars()
            .map(|c| if c.is_ascii_graphic() { c } else { ' ' })
            .take(MAX_SUBJECT_CHARS)
            .collect()
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
}

impl Notifier {
    /// No notifications.
    pub fn off() -> Self {
        Self(None)
    }

    /// Publishes to `topic_arn`, through a client in the topic's own region (one central
    /// topic may serve every region's stack).
    pub fn to_topic(
        config: &SdkConfig,
        calls: &CallLog,
        topic_arn: &str,
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
        let result = publish(topic, &notice).await;
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
                    Check::Notification,
                    Status::Failed,
                    detail,
                ));
            }
        }
    }
}

async fn publish(topic: &Topic, notice: &Notice<'_>) -> Result<Option<String>, CallError> {
    use aws_sdk_sns::types::MessageAttributeValue;
    let attribute = |value: &str| {
        MessageAttributeValue::builder()
            .data_type("String")
            .string_value(value)
            .build()
            .map_err(|e| CallError {
                code: String::new(),
                message: e.to_string(),
            })
    };
    let message = serde_json::to_string_pretty(notice).unwrap_or_default();
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
    use crate::invocation::settings::Mode;

    fn report(statuses: &[Status]) -> Report {
        let findings = statuses
            .iter()
            .enumerate()
            .map(|(i, s)| Finding::new(format!("arn:r{i}"), Check::Exists, *s, "d"))
            .collect();
        Report::new(
            "ecs-role-guard",
            Mode::Enforce,
            Some("e-1".into()),
            None,
            findings,
            vec![],
        )
    }

    #[test]
    fn compliant_and_skipped_never_notify() {
        assert!(Notice::of(&report(&[])).is_none());
        assert!(Notice::of(&report(&[Status::Compliant, Status::Skipped])).is_none());
    }

    #[test]
    fn carries_only_the_findings_worth_a_person() {
        let r = report(&[Status::Compliant, Status::Created, Status::Failed]);
        let notice = Notice::of(&r).unwrap();
        assert_eq!(notice.severity, Severity::Failed);
        let statuses: Vec<Status> = notice.findings.iter().map(|f| f.status).collect();
        assert_eq!(statuses, [Status::Created, Status::Failed]);
        assert_eq!(
            notice.subject(),
            "ecs-warden ecs-role-guard: 1 created, 1 failed"
        );
        let audit = report(&[Status::WouldCreate]);
        assert_eq!(Notice::of(&audit).unwrap().severity, Severity::WouldChange);
    }

    #[test]
    fn stays_within_the_sns_message_size() {
        let statuses = vec![Status::Repaired; 5000];
        let mut r = report(&statuses);
        for f in &mut r.findings {
            f.detail = "x".repeat(100);
        }
        let notice = Notice::of(&r).unwrap();
        assert!(notice.omitted > 0);
        let json = serde_json::to_string_pretty(&notice).unwrap();
        assert!(json.len() < 256 * 1024, "{} bytes", json.len());
        assert_eq!(notice.findings.len() + notice.omitted, 5000);
    }

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
