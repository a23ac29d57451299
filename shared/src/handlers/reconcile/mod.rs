//! The `reconcile` function: on a schedule and by hand, sweep every configured region for
//! what events missed (CloudTrail delivery to EventBridge is best effort) and fix it with
//! the guards' own code.
//!
//! - this module: the handler, its report, and the fan-out over accounts: which accounts
//!   an input covers, the plan the state machine's map runs one child per account of,
//!   several accounts swept side by side, and the report made of their findings;
//! - `input`: what reconcile is asked (the schedule's event, a plan request, a manual run
//!   or a continuation), parsed and validated before any call;
//! - `sweep`: one account's sweep: its regions read in parallel (at most
//!   [`REGION_CONCURRENCY`] at once, each fully paginated, a region that cannot be read a
//!   finding while the sweep goes on), their alarms checked, the roles what was read uses
//!   ensured once, and, in a sweep that starts afresh, whether CloudTrail delivers the
//!   events the other functions are triggered by ([`crate::domain::trails`]).

mod input;
mod sweep;

use std::collections::BTreeMap;

use aws_config::SdkConfig;
use futures_util::stream::{self, StreamExt};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{Common, Deps, Handler, Watched};
use crate::aws::{self, CallLog, Clients, Regional, TrailClients};
use crate::domain::alarms::AlarmSettings;
use crate::invocation::context::Invocation;
use crate::invocation::deadline::Deadline;
use crate::invocation::error::InvocationError;
use crate::invocation::notice::Notable;
use crate::invocation::reach::AccountClients;
use crate::invocation::report::{Checked, Finding, Report, Status};
use crate::invocation::settings::SettingsError;
pub use input::Request;
use sweep::Swept;
pub use sweep::{IAM_EVENT_REGION, REGION_CONCURRENCY};

/// The function's name in reports and logs.
pub const FUNCTION: &str = "reconcile";

/// Accounts swept at once when one invocation covers several (a manual run; the state
/// machine gives each account its own invocation): each sweeps its regions in parallel,
/// so this many accounts keep up to 16 regions' reads in flight.
pub const ACCOUNT_CONCURRENCY: usize = 4;

/// A manual run, and the input of the next sweep when one stopped at its deadline:
/// `{"account": ..., "accounts": [...], "regions": [...], "resume": {region: {"stage": ...,
/// "after": ...}}}`; all optional.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Continuation {
    /// The one account to sweep (a child of the state machine's map, or a continuation).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    /// Without `account`: the accounts to sweep (empty: `WARDEN_ACCOUNTS` for a hub, the
    /// function's own account otherwise).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub accounts: Vec<String>,
    /// Regions to sweep (the configured regions when empty).
    #[serde(default)]
    pub regions: Vec<String>,
    /// Where to pick up in a region a previous sweep did not finish.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub resume: BTreeMap<String, ResumePoint>,
}

/// Where a region's sweep picks up.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResumePoint {
    /// The stage it stopped in.
    pub stage: Stage,
    /// The last cluster or scaling policy ARN finished, in ARN order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<String>,
}

/// The two stages of a region's sweep.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    /// Reading ECS clusters and services (for the roles they use).
    Clusters,
    /// Checking every ECS scaling policy's alarms.
    Alarms,
}

/// What this invocation read in one region and how its sweep went (a sweep handed on
/// across invocations counts each cluster and policy in the one that read it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RegionSweep {
    /// The account swept, when the sweep covered several.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    /// The region.
    pub region: String,
    /// Whether every read succeeded.
    pub ok: bool,
    /// Clusters read that are not INACTIVE.
    pub clusters: usize,
    /// Their services.
    pub services: usize,
    /// ECS scalable targets.
    pub scalable_targets: usize,
    /// ECS scaling policies whose alarms were checked.
    pub scaling_policies: usize,
    /// Milliseconds spent reading the region and checking its alarms.
    pub millis: u128,
}

/// The sweep's report: the usual report (its findings are those that changed state or need
/// a person), with counts of every check by status and what each region held.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SweepReport {
    /// Function, mode, findings worth reading, AWS calls.
    #[serde(flatten)]
    pub report: Report,
    /// Every check's outcomes, compliant ones included: check → status → count.
    pub counts: BTreeMap<&'static str, BTreeMap<Status, usize>>,
    /// Per region.
    pub regions: Vec<RegionSweep>,
    /// When the sweep stopped at its deadline: the next invocation's input (the reconcile
    /// state machine passes it on); `null` when the sweep is complete.
    pub continuation: Option<Continuation>,
    /// One input per account: what a plan (`{"plan": ...}`) answers for the state
    /// machine's map to fan out, and, after a sweep of several accounts, the continuations
    /// of those the deadline cut. Always present, empty too: the state machine reads it,
    /// and Step Functions fails a state whose path is missing (`States.Runtime`).
    pub sweeps: Vec<Continuation>,
    /// The accounts this sweep could not act in at all. Always present, empty too: the
    /// state machine fails an account's child execution when it is not empty, and a run
    /// whose every account fails raises `ReconcileFailedAlarm`.
    pub unreached: Vec<Unreached>,
    /// A plan's: how many accounts' sweeps may fail before the run fails (the state
    /// machine's ToleratedFailureCount), so that a run in which every member account
    /// fails raises `ReconcileFailedAlarm` though the hub's own account was swept. 0
    /// in every other answer.
    pub tolerated_failures: usize,
    /// Every finding, compliant ones included, with the account it was checked in: what
    /// Security Hub is told (the answer counts the compliant ones only).
    #[serde(skip)]
    pub checked: Vec<(String, Finding)>,
}

impl Notable for SweepReport {
    fn report(&self) -> &Report {
        &self.report
    }
    fn report_mut(&mut self) -> &mut Report {
        &mut self.report
    }
    fn checked(&self) -> Vec<Checked<'_>> {
        self.checked
            .iter()
            .map(|(account, finding)| Checked {
                account: Some(account.as_str()).filter(|a| !a.is_empty()),
                finding,
            })
            .collect()
    }
}

/// What one account's sweep reads and writes through.
#[derive(Debug, Clone)]
pub struct SweepClients {
    /// IAM, STS and the function region's clients.
    pub clients: Clients,
    /// Each swept region's clients.
    pub regional: Regional,
    /// Each swept region's CloudTrail client.
    pub trails: TrailClients,
}

impl SweepClients {
    /// All of them over one configuration, recording into `calls`.
    pub fn new(config: &SdkConfig, calls: &CallLog) -> Self {
        Self {
            clients: Clients::new(config, calls),
            regional: Regional::new(config, calls),
            trails: TrailClients::new(config, calls),
        }
    }
}

/// An account a sweep could not act in at all: its member role refused, or no identity.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Unreached {
    /// The account id (empty when not even that is known).
    pub account: String,
    /// What was refused, as the account's finding says it.
    pub why: String,
}

/// The handler with the clients it keeps between invocations of a warm container.
#[derive(Debug)]
pub struct Reconcile {
    common: Common,
    look_alikes: Watched,
    clients: AccountClients<SweepClients>,
    alarm_defaults: AlarmSettings,
}

impl Handler for Reconcile {
    const FUNCTION: &'static str = FUNCTION;
    type Input = Request;
    type Output = SweepReport;

    fn build(deps: &Deps) -> Result<Self, SettingsError> {
        Ok(Self {
            common: deps.common(),
            look_alikes: Watched::from_deps(deps)?,
            clients: deps.account_clients(SweepClients::new),
            alarm_defaults: AlarmSettings::from_lookup(|name| deps.env.get(name))?,
        })
    }

    fn parse(&self, payload: Value) -> Result<Request, InvocationError> {
        Request::parse(payload, &self.common.settings.regions)
    }

    /// Plans the fan-out, or sweeps; what is left when the deadline passes goes into the
    /// report's continuation.
    async fn answer(
        &self,
        request: Request,
        invocation: &Invocation,
    ) -> Result<SweepReport, InvocationError> {
        Ok(match request {
            Request::Plan(input) => self.plan(&input, None).await,
            Request::Sweep { input, event_id } => {
                self.sweep(&input, event_id, invocation.deadline()).await
            }
        })
    }
}

impl Reconcile {
    /// The accounts the input covers: `account`, else `accounts`, else every account the
    /// function may act in; none when a single-account function does not know its own
    /// (it then asks STS who it is).
    async fn accounts_of(&self, input: &Continuation) -> Result<Vec<String>, Finding> {
        if let Some(account) = &input.account {
            return Ok(vec![account.clone()]);
        }
        if !input.accounts.is_empty() {
            return Ok(input.accounts.clone());
        }
        let partition = aws::ids::partition(input.regions.first().map_or("", String::as_str));
        self.clients.accounts().all(partition).await
    }

    /// One input per account the input covers, for the state machine's map to fan out.
    pub async fn plan(&self, input: &Continuation, event_id: Option<String>) -> SweepReport {
        let (findings, sweeps) = match self.accounts_of(input).await {
            Ok(accounts) => (Vec::new(), per_account(input, &accounts)),
            Err(finding) => (vec![(String::new(), finding)], Vec::new()),
        };
        let mut report = self.finish(event_id, findings, Vec::new(), None, false);
        report.tolerated_failures = tolerated_failures(&sweeps, self.clients.accounts().home());
        report.sweeps = sweeps;
        report
    }

    /// Sweeps the input's accounts and regions. One account is swept as the continuation
    /// says; several are swept side by side, at most [`ACCOUNT_CONCURRENCY`] at once, and
    /// those the deadline cuts are handed on in `sweeps`, one continuation each.
    pub async fn sweep(
        &self,
        input: &Continuation,
        event_id: Option<String>,
        deadline: &Deadline,
    ) -> SweepReport {
        let accounts = match self.accounts_of(input).await {
            Ok(accounts) => accounts,
            Err(finding) => {
                return self.finish(
                    event_id,
                    vec![(String::new(), finding)],
                    vec![],
                    None,
                    false,
                )
            }
        };
        if accounts.len() <= 1 {
            let one = Continuation {
                account: accounts.first().cloned(),
                accounts: Vec::new(),
                ..input.clone()
            };
            let swept = self.sweep_account(&one, &event_id, deadline).await;
            let unreached = swept.unreached();
            let account = swept.account;
            let findings = swept.findings.into_iter().map(|f| (account.clone(), f));
            let (regions, continuation) = (swept.regions, swept.continuation);
            let mut report =
                self.finish(event_id, findings.collect(), regions, continuation, false);
            report.unreached.extend(unreached);
            return report;
        }
        let event_id_ref = &event_id;
        let mut swept: Vec<Swept> = stream::iter(per_account(input, &accounts))
            .map(|one| async move { self.sweep_account(&one, event_id_ref, deadline).await })
            .buffer_unordered(ACCOUNT_CONCURRENCY)
            .collect()
            .await;
        // In account order, whichever finished first: the same sweep reads the same way.
        swept.sort_by(|a, b| a.account.cmp(&b.account));
        let (mut findings, mut regions, mut unfinished) = (Vec::new(), Vec::new(), Vec::new());
        let unreached: Vec<Unreached> = swept.iter().filter_map(Swept::unreached).collect();
        for one in swept {
            findings.extend(one.findings.into_iter().map(|f| (one.account.clone(), f)));
            regions.extend(one.regions.into_iter().map(|mut r| {
                r.account = Some(one.account.clone());
                r
            }));
            unfinished.extend(one.continuation);
        }
        let mut report = self.finish(event_id, findings, regions, None, true);
        report.sweeps = unfinished;
        report.unreached = unreached;
        report
    }

    /// The sweep's report from every finding, each with the account it was checked in
    /// (empty when none is known); `several` accounts' findings name their account.
    fn finish(
        &self,
        event_id: Option<String>,
        checked: Vec<(String, Finding)>,
        regions: Vec<RegionSweep>,
        continuation: Option<Continuation>,
        several: bool,
    ) -> SweepReport {
        let mut counts: BTreeMap<&'static str, BTreeMap<Status, usize>> = BTreeMap::new();
        for (_, finding) in &checked {
            *counts
                .entry(finding.check.as_str())
                .or_default()
                .entry(finding.status)
                .or_insert(0) += 1;
        }
        let mut report = Report::new(
            FUNCTION,
            self.common.settings.mode,
            event_id,
            None,
            worth_reading(&checked, several),
            self.common.calls.take(),
        );
        report.compact_calls(crate::invocation::report::CALLS_LISTED);
        let sweep = SweepReport {
            report,
            counts,
            regions,
            continuation,
            sweeps: Vec::new(),
            unreached: Vec::new(),
            tolerated_failures: 0,
            checked,
        };
        let json = serde_json::to_string(&sweep.counts).unwrap_or_default();
        tracing::info!(counts = %json, "sweep counts");
        sweep.report.log();
        sweep
    }
}

/// How many of `sweeps` may fail before a run counts as failed: all but one of the
/// accounts other than the function's own (`home`), whose sweep needs no member role and
/// so says nothing of whether the organization can be reached; none when there is one.
fn tolerated_failures(sweeps: &[Continuation], home: Option<&str>) -> usize {
    let members = sweeps
        .iter()
        .filter(|s| s.account.is_none() || s.account.as_deref() != home)
        .count();
    members.saturating_sub(1)
}

/// The findings a sweep's answer lists: all but the compliant ones, which it counts. With
/// `name_accounts`, a finding whose resource is no ARN (a region, the sweep) names its
/// account.
fn worth_reading(checked: &[(String, Finding)], name_accounts: bool) -> Vec<Finding> {
    checked
        .iter()
        .filter(|(_, f)| f.status != Status::Compliant)
        .map(|(account, f)| {
            let mut f = f.clone();
            if name_accounts && !f.resource.starts_with("arn:") {
                f.resource = format!("{account}:{}", f.resource);
            }
            f
        })
        .collect()
}

/// One account's sweep of `input`'s regions per account, from the start.
fn per_account(input: &Continuation, accounts: &[String]) -> Vec<Continuation> {
    accounts
        .iter()
        .map(|account| Continuation {
            account: Some(account.clone()),
            accounts: Vec::new(),
            regions: input.regions.clone(),
            resume: if accounts.len() == 1 {
                input.resume.clone()
            } else {
                BTreeMap::new()
            },
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_fails_only_when_every_member_account_fails() {
        let sweeps = |accounts: &[Option<&str>]| -> Vec<Continuation> {
            accounts
                .iter()
                .map(|a| Continuation {
                    account: a.map(String::from),
                    accounts: Vec::new(),
                    regions: vec!["eu-west-1".into()],
                    resume: BTreeMap::new(),
                })
                .collect()
        };
        // One account, the function's own or not: its failure is the run's.
        assert_eq!(tolerated_failures(&sweeps(&[None]), None), 0);
        assert_eq!(tolerated_failures(&sweeps(&[Some("1")]), Some("1")), 0);
        // A hub and three members: two members may fail, not three.
        let hub = sweeps(&[Some("1"), Some("2"), Some("3"), Some("4")]);
        assert_eq!(tolerated_failures(&hub, Some("1")), 2);
        // A hub's plan that leaves out its own account.
        assert_eq!(tolerated_failures(&hub[1..], Some("1")), 2);
        assert_eq!(tolerated_failures(&[], Some("1")), 0);
    }
}
