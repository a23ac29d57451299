//! The JSON report every invocation returns and logs: what was checked, found and done.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::invocation::checks::CheckId;
use crate::invocation::events::ApiCallEvent;
use crate::invocation::settings::Mode;

/// Calls an answer lists one by one; past this, each operation once with its count.
pub const CALLS_LISTED: usize = 300;

/// The outcome of one check on one resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Already as required; nothing written.
    Compliant,
    /// Was missing and has been created.
    Created,
    /// Had drifted and has been repaired additively.
    Repaired,
    /// Missing; audit mode, so nothing written.
    WouldCreate,
    /// Drifted; audit mode, so nothing written.
    WouldRepair,
    /// Deliberately not checked or not acted on; the detail says why.
    Skipped,
    /// The check or the fix could not be done; the detail says what failed.
    Failed,
}

/// One line of a report.
#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    /// The resource checked, as an ARN where it has one.
    pub resource: String,
    /// Which property was checked.
    pub check: CheckId,
    /// The outcome.
    pub status: Status,
    /// What was found and done, in words an operator can act on.
    pub detail: String,
    /// When the outcome was known, in milliseconds since the epoch: what Security Hub is
    /// told as the finding's `UpdatedAt`, so an older observation imported later never
    /// overwrites a newer one. Not in the JSON report.
    #[serde(skip)]
    pub observed_at_ms: u64,
}

// Two findings are the same whenever they were made.
impl PartialEq for Finding {
    fn eq(&self, other: &Self) -> bool {
        (&self.resource, self.check, self.status, &self.detail)
            == (&other.resource, other.check, other.status, &other.detail)
    }
}

impl Eq for Finding {}

impl Finding {
    /// A finding from its parts, observed now. It is made when its outcome is known, right
    /// after the read or write that decided it, so its time is the observation's: the
    /// system's clock, not the handler's (which tests move to drive waits).
    pub fn new(
        resource: impl Into<String>,
        check: impl Into<CheckId>,
        status: Status,
        detail: impl Into<String>,
    ) -> Self {
        Self {
            resource: resource.into(),
            check: check.into(),
            status,
            detail: detail.into(),
            observed_at_ms: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_millis() as u64),
        }
    }

    /// The same finding, observed at `millis` since the epoch.
    pub fn observed_at(mut self, millis: u64) -> Self {
        self.observed_at_ms = millis;
        self
    }
}

/// A finding with the account it was checked in, where the report does not say it for all.
#[derive(Debug, Clone, Copy)]
pub struct Checked<'a> {
    /// The account, when known.
    pub account: Option<&'a str>,
    /// The finding.
    pub finding: &'a Finding,
}

/// What one invocation checked, found and did.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    /// The function that produced the report.
    pub function: &'static str,
    /// The mode it ran in.
    pub mode: Mode,
    /// The account the invocation acted in, when one event or one input names it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    /// The EventBridge id of the triggering event, when there is one.
    pub event_id: Option<String>,
    /// The triggering API call as `source:eventName`, when there is one.
    pub event: Option<String>,
    /// Every check's outcome.
    pub findings: Vec<Finding>,
    /// How many findings have each status.
    pub summary: BTreeMap<Status, usize>,
    /// The AWS operations the invocation called, in order.
    pub aws_calls: Vec<String>,
}

impl Report {
    /// A report with its findings counted.
    pub fn new(
        function: &'static str,
        mode: Mode,
        event_id: Option<String>,
        event: Option<String>,
        findings: Vec<Finding>,
        aws_calls: Vec<String>,
    ) -> Self {
        let mut summary = BTreeMap::new();
        for finding in &findings {
            *summary.entry(finding.status).or_insert(0) += 1;
        }
        Self {
            function,
            mode,
            account: None,
            event_id,
            event,
            findings,
            summary,
            aws_calls,
        }
    }

    /// When there are more than `limit` calls, lists each operation once with its count
    /// (`ecs:ListServices x150`), in order of first use: a sweep or a drain of a large
    /// account makes thousands of reads, and the answer must fit Step Functions' 256 KB
    /// and a log event's 256 KB.
    pub fn compact_calls(&mut self, limit: usize) {
        if self.aws_calls.len() <= limit {
            return;
        }
        let mut counted: Vec<(String, usize)> = Vec::new();
        for call in self.aws_calls.drain(..) {
            match counted.iter_mut().find(|(c, _)| *c == call) {
                Some((_, n)) => *n += 1,
                None => counted.push((call, 1)),
            }
        }
        self.aws_calls = counted
            .into_iter()
            .map(|(call, n)| format!("{call} x{n}"))
            .collect();
    }

    /// Its findings, each with the report's account.
    pub fn checked(&self) -> Vec<Checked<'_>> {
        self.findings
            .iter()
            .map(|finding| Checked {
                account: self.account.as_deref(),
                finding,
            })
            .collect()
    }

    /// Adds a finding after the fact, keeping the summary's counts right.
    pub fn push(&mut self, finding: Finding) {
        *self.summary.entry(finding.status).or_insert(0) += 1;
        self.findings.push(finding);
    }

    /// The report of a check a CloudTrail event caused, logged before it is returned.
    pub fn logged_for_event(
        function: &'static str,
        mode: Mode,
        event: &ApiCallEvent,
        findings: Vec<Finding>,
        aws_calls: Vec<String>,
    ) -> Self {
        let cause = format!("{}:{}", event.source, event.detail.event_name);
        let mut report = Self::new(
            function,
            mode,
            event.id.clone(),
            Some(cause),
            findings,
            aws_calls,
        );
        report.account = Some(event.detail.recipient_account_id.clone());
        report.log();
        report
    }

    /// Logs the report as one structured record: at WARN when something failed, else INFO.
    pub fn log(&self) {
        let json = serde_json::to_string(self).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"));
        let failed = self.findings.iter().any(|f| f.status == Status::Failed);
        if failed {
            tracing::warn!(account = self.account.as_deref(), event_id = self.event_id.as_deref(), report = %json, "report");
        } else {
            tracing::info!(account = self.account.as_deref(), event_id = self.event_id.as_deref(), report = %json, "report");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_call_lists_become_counts_in_order_of_first_use() {
        let calls = [
            "ecs:ListServices",
            "ecs:DescribeServices",
            "ecs:ListServices",
        ];
        let mut report = Report::new(
            "reconcile",
            Mode::Enforce,
            None,
            None,
            Vec::new(),
            calls.iter().map(|c| c.to_string()).collect(),
        );
        report.compact_calls(3);
        assert_eq!(report.aws_calls.len(), 3, "at the limit, kept as is");
        report.compact_calls(2);
        assert_eq!(
            report.aws_calls,
            ["ecs:ListServices x2", "ecs:DescribeServices x1"]
        );
    }

    #[test]
    fn serializes_the_contract_fields_in_snake_case() {
        let report = Report::new(
            "ecs-role-guard",
            Mode::Audit,
            Some("e-1".into()),
            Some("aws.ecs:CreateCluster".into()),
            vec![Finding::new(
                "arn:r",
                CheckId::ACCOUNT,
                Status::WouldCreate,
                "missing",
            )],
            vec!["iam:GetRole".into()],
        );
        let json = serde_json::to_value(&report).unwrap();
        assert_eq!(json["function"], "ecs-role-guard");
        assert_eq!(json["mode"], "audit");
        assert_eq!(json["event_id"], "e-1");
        assert_eq!(json["findings"][0]["check"], "account");
        assert_eq!(json["findings"][0]["status"], "would_create");
        assert_eq!(json["summary"]["would_create"], 1);
    }
}
