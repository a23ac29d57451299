//! What a notification says: the findings of an answer worth a person's time, how much
//! they matter, and a one-line subject. Where it goes is the `notify` module's business, and
//! how it reads in a chat channel the `chat` module's.

use serde::Serialize;

use crate::invocation::checks::CheckId;
use crate::invocation::report::{Checked, Finding, Report, Status};

/// The outcome of an answer that waits for a person's approval: notified as `blocked`.
pub const AWAITING_APPROVAL: &str = "awaiting_approval";

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
    /// Every finding the invocation checked, compliant ones included, with its account:
    /// what Security Hub is told. The report's own findings, unless the answer keeps more.
    fn checked(&self) -> Vec<Checked<'_>> {
        self.report().checked()
    }
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
    /// A deletion stopped because the role is in use, or waits for a person's approval.
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
pub(crate) fn wire_name(value: &impl Serialize) -> String {
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
        // A request for approval is for a person whatever its status.
        let notable: Vec<&Finding> = report
            .findings
            .iter()
            .filter(|f| is_notable(f.status) || f.check == CheckId::APPROVAL)
            .collect();
        if notable.is_empty() && outcome.is_none() {
            return None;
        }
        let has = |status| notable.iter().any(|f| f.status == status);
        let severity = if outcome == Some("failed") || has(Status::Failed) {
            Severity::Failed
        } else if matches!(outcome, Some("blocked" | AWAITING_APPROVAL)) {
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

#[cfg(test)]
mod tests {
    use super::*;

    use crate::invocation::settings::Mode;

    fn report(statuses: &[Status]) -> Report {
        let findings = statuses
            .iter()
            .enumerate()
            .map(|(i, s)| Finding::new(format!("arn:r{i}"), CheckId::new("exists", None), *s, "d"))
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
}
