//! The `reconcile` function: on a schedule and by hand, sweep every configured region for
//! what events missed (CloudTrail delivery to EventBridge is best effort) and fix it with
//! the guards' own code.
//!
//! Regions are read in parallel (at most [`REGION_CONCURRENCY`] at once), each fully
//! paginated; a region that cannot be read is a finding and the sweep goes on. A sweep
//! that starts afresh also says, per region, whether CloudTrail delivers the events the
//! other functions are triggered by ([`crate::domain::trails`]).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_config::SdkConfig;
use aws_sdk_applicationautoscaling::types::{PolicyType, ScalingPolicy};
use futures_util::stream::{self, StreamExt};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tracing::Instrument;

use super::{Common, Deps, Handler};
use crate::aws::ids::{is_account_id, is_region_name};
use crate::aws::{self, CallError, CallLog, Clients, FailedCall, Regional, TrailClients};
use crate::domain::alarms::{self, AlarmIndex, AlarmSettings, ServiceTarget};
use crate::domain::catalog::{
    ECS_AUTOSCALE_ROLE, ECS_AUTOSCALING_SERVICE_LINKED_ROLE, ECS_SERVICE_LINKED_ROLE,
    ECS_SERVICE_ROLE,
};
use crate::domain::clusters::{self, RegionInventory};
use crate::domain::roles::{self, RoleTarget};
use crate::domain::scaling::{self, ScalableService};
use crate::domain::trails::{self, Need};
use crate::handlers::{
    access_doctor, ecs_role_guard, role_drift_guard, scaling_guard, slr_deletion,
};
use crate::invocation::deadline::Deadline;
use crate::invocation::error::InvocationError;
use crate::invocation::gate::Scope;
use crate::invocation::notice::Notable;
use crate::invocation::reach::AccountClients;
use crate::invocation::report::{Check, Checked, Finding, Report, Status};
use crate::invocation::verdict_cache::Verdicts;

/// The function's name in reports and logs.
pub const FUNCTION: &str = "reconcile";
/// Regions swept at once: enough to overlap their latency, few enough to stay clear of
/// API rate limits shared with the account's own tooling.
pub const REGION_CONCURRENCY: usize = 4;
/// Accounts swept at once when one invocation covers several (a manual run; the state
/// machine gives each account its own invocation): each sweeps its regions in parallel,
/// so this many accounts keep up to 16 regions' reads in flight.
pub const ACCOUNT_CONCURRENCY: usize = 4;
/// Where IAM's CloudTrail events reach EventBridge: IAM is global and its events are
/// delivered in us-east-1 only (the template's `IsUsEast1` rules).
pub const IAM_EVENT_REGION: &str = "us-east-1";
/// The event sources whose calls trigger role-drift-guard, access-doctor's IAM part and
/// slr-deletion's follow of a deletion begun elsewhere, all in [`IAM_EVENT_REGION`].
const IAM_EVENTS: (&[&str], &[&str]) = (
    &["iam.amazonaws.com"],
    &[
        role_drift_guard::FUNCTION,
        access_doctor::FUNCTION,
        slr_deletion::FUNCTION,
    ],
);
/// The event sources whose calls trigger the regional functions, in every swept region.
const REGIONAL_EVENTS: (&[&str], &[&str]) = (
    &[
        "ecs.amazonaws.com",
        "autoscaling.amazonaws.com",
        "monitoring.amazonaws.com",
    ],
    &[
        ecs_role_guard::FUNCTION,
        scaling_guard::FUNCTION,
        access_doctor::FUNCTION,
    ],
);

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

/// What a region's sweep read that names roles: its clusters' services and its
/// scalable targets.
struct RegionFacts {
    inventory: RegionInventory,
    targets: Vec<ScalableService>,
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

/// What one account's sweep found, before the invocation's report is made.
struct Swept {
    account: String,
    findings: Vec<Finding>,
    regions: Vec<RegionSweep>,
    continuation: Option<Continuation>,
    /// Why the account could not be acted in at all (its only finding says so too).
    unreached: Option<String>,
}

impl Swept {
    /// The account, when its sweep could not act in it, with why.
    fn unreached(&self) -> Option<Unreached> {
        self.unreached.clone().map(|why| Unreached {
            account: self.account.clone(),
            why,
        })
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
    clients: AccountClients<SweepClients>,
    alarm_defaults: AlarmSettings,
}

impl Handler for Reconcile {
    const FUNCTION: &'static str = FUNCTION;
    type Output = SweepReport;

    fn build(deps: Deps) -> Self {
        Self {
            common: deps.common(),
            clients: deps.account_clients(SweepClients::new),
            alarm_defaults: deps.alarm_defaults,
        }
    }

    fn common(&self) -> &Common {
        &self.common
    }

    /// Accepts the schedule's event, a manual input or a continuation, and sweeps; what is
    /// left when `deadline` passes goes into the report's continuation.
    async fn answer(
        &self,
        payload: Value,
        deadline: &Deadline,
    ) -> Result<SweepReport, InvocationError> {
        // `{"plan": input}`: the state machine asks which accounts to fan out.
        if let Some(Value::Object(planned)) = payload.get("plan") {
            if payload.as_object().is_some_and(|o| o.len() == 1) {
                let (input, event_id) = self.input(Value::Object(planned.clone()))?;
                return Ok(self.plan(&input, event_id).await);
            }
        }
        let (input, event_id) = self.input(payload)?;
        Ok(self.sweep(&input, event_id, deadline).await)
    }
}

impl Reconcile {
    fn input(&self, payload: Value) -> Result<(Continuation, Option<String>), InvocationError> {
        if let Some(kind) = payload.get("detail-type") {
            let source = payload
                .get("source")
                .and_then(Value::as_str)
                .unwrap_or_default();
            if kind != "Scheduled Event" || source != "aws.events" {
                return Err(InvocationError::UnexpectedDetailType {
                    found: kind.as_str().unwrap_or_default().to_owned(),
                    expected: "Scheduled Event",
                    source_name: source.to_owned(),
                });
            }
            let id = payload.get("id").and_then(Value::as_str).map(String::from);
            let input = Continuation {
                regions: self.common.settings.regions.clone(),
                ..Continuation::default()
            };
            return Ok((input, id));
        }
        let mut input: Continuation = serde_json::from_value(payload).map_err(|e| {
            InvocationError::NotAnEvent(format!(
                "expected the schedule's event, {{\"regions\": [\"eu-west-1\", ...]}} or a sweep's continuation: {e}"
            ))
        })?;
        if input.regions.is_empty() {
            input.regions = self.common.settings.regions.clone();
        }
        if let Some(bad) = input.regions.iter().find(|r| !is_region_name(r)) {
            return Err(InvocationError::BadField {
                field: "regions",
                problem: format!("{bad:?} is not a region"),
            });
        }
        if input.regions.is_empty() {
            return Err(InvocationError::BadField {
                field: "regions",
                problem: "none given and WARDEN_REGIONS / AWS_REGION name none".into(),
            });
        }
        if let Some(bad) = input
            .account
            .iter()
            .chain(&input.accounts)
            .find(|a| !is_account_id(a))
        {
            return Err(InvocationError::BadField {
                field: "accounts",
                problem: format!("{bad:?} is not a 12-digit account id"),
            });
        }
        if input.account.is_some() && !input.accounts.is_empty() {
            return Err(InvocationError::BadField {
                field: "accounts",
                problem: "give account (one sweep) or accounts (several), not both".into(),
            });
        }
        if !input.resume.is_empty() && input.accounts.len() > 1 {
            return Err(InvocationError::BadField {
                field: "resume",
                problem: "a resume point belongs to one account's sweep, not to several".into(),
            });
        }
        if let Some(stray) = input.resume.keys().find(|r| !input.regions.contains(r)) {
            return Err(InvocationError::BadField {
                field: "resume",
                problem: format!("{stray:?} is not one of the regions to sweep"),
            });
        }
        Ok((input, None))
    }

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

    /// Sweeps one account's regions (each from its resume point): every region is read
    /// and its alarms checked in parallel, then the roles in use are ensured once. A region
    /// that has not finished when `deadline` passes is handed on in the continuation. A
    /// sweep that resumes nothing also checks the CloudTrail trails, while the regions are
    /// read; a continuation does not repeat that.
    async fn sweep_account(
        &self,
        input: &Continuation,
        event_id: &Option<String>,
        deadline: &Deadline,
    ) -> Swept {
        let regions = &input.regions;
        let partition = aws::ids::partition(regions.first().map_or("", String::as_str));
        let failed = |account: &str, finding: Finding| Swept {
            account: account.to_owned(),
            unreached: Some(finding.detail.clone()),
            findings: vec![finding],
            regions: Vec::new(),
            continuation: None,
        };
        let (account, clients) = match input.account.as_deref() {
            Some(account) => match self.clients.get(account, partition).await {
                Ok(clients) => (account.to_owned(), clients),
                Err(finding) => return failed(account, finding),
            },
            // A single-account function that does not know its own account asks STS.
            None => {
                let clients = self.clients.own();
                match clients.clients.sts.get_caller_identity().send().await {
                    Ok(out) => (out.account().unwrap_or_default().to_owned(), clients),
                    Err(e) => {
                        let err = CallError::from_sdk(&e);
                        let finding = Finding::new(
                            "",
                            Check::Account,
                            Status::Failed,
                            err.explain("sts:GetCallerIdentity", "the caller"),
                        );
                        return failed("", finding);
                    }
                }
            }
        };
        let scope = Scope {
            mode: self.common.settings.mode,
            account: account.clone(),
            partition,
            event_id: event_id.clone().unwrap_or_default(),
            cause: format!("{FUNCTION}: sweep of {account} in {}", regions.join(", ")),
        };
        let span = tracing::info_span!("account", account = %account);
        async {
            tracing::info!(regions = %regions.join(","), resume = input.resume.len(), "sweeping");
            let mut findings = Vec::new();
            let mut runs = self.spawn_regions(&clients, input, &scope, deadline);
            if input.resume.is_empty() {
                findings.extend(trails::check(&clients.trails, &trail_needs(regions)).await);
            }
            let mut gathered = Gathered::default();
            while let Some(joined) = runs.join_next().await {
                match joined {
                    Ok((region, run, took)) => gathered.add(region, run, took),
                    Err(stopped) => gathered.findings.push(Finding::new(
                        "",
                        Check::Region,
                        Status::Failed,
                        format!("a region's sweep stopped unexpectedly ({stopped}); the sweep went on without it"),
                    )),
                }
            }
            let Gathered {
                findings: swept,
                mut read,
                mut sweeps,
                mut next,
            } = gathered;
            findings.extend(swept);
            read.sort_by(|a, b| a.0.cmp(&b.0));
            // Always, even past the deadline: the clusters and targets read this time are
            // behind the continuation's cursor, so their roles are checked now or never. A
            // handful of roles, a few calls each, within the time kept back to answer.
            findings.extend(
                roles_in_use(&clients.clients.iam, &scope, &read, &self.common).await,
            );
            sweeps.sort_by(|a, b| a.region.cmp(&b.region));
            next.regions.sort();
            let continuation = (!next.regions.is_empty()).then(|| Continuation {
                account: input.account.clone(),
                ..next
            });
            Swept {
                account,
                findings,
                regions: sweeps,
                continuation,
                unreached: None,
            }
        }
        .instrument(span)
        .await
    }

    /// Starts every region's sweep, at most [`REGION_CONCURRENCY`] at a time, each from its
    /// resume point.
    fn spawn_regions(
        &self,
        clients: &SweepClients,
        input: &Continuation,
        scope: &Scope,
        deadline: &Deadline,
    ) -> JoinSet<(String, Result<RegionRun, FailedCall>, Duration)> {
        let limit = Arc::new(Semaphore::new(REGION_CONCURRENCY));
        let mut runs = JoinSet::new();
        for region in input.regions.iter().cloned() {
            let clients = clients.regional.clients(&region);
            let start = input.resume.get(&region).cloned();
            let (scope, defaults, limit, deadline) = (
                scope.clone(),
                self.alarm_defaults.clone(),
                limit.clone(),
                deadline.clone(),
            );
            runs.spawn(CallLog::carried(
                async move {
                    let _permit = limit.acquire_owned().await;
                    let started = Instant::now();
                    let run =
                        sweep_region(&clients, &scope, &region, &defaults, start, &deadline).await;
                    (region, run, started.elapsed())
                }
                .in_current_span(),
            ));
        }
        runs
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

/// Every role something uses, ensured once however many regions use it.
async fn roles_in_use(
    iam: &aws_sdk_iam::Client,
    scope: &Scope,
    read: &[(String, RegionFacts)],
    common: &Common,
) -> Vec<Finding> {
    let (targets, mut findings) = roles_needed(read, &scope.account);
    let verdicts = Verdicts::new(Duration::ZERO);
    for target in targets {
        let target = common.owned(target);
        findings.extend(roles::ensure(iam, &verdicts, scope, &target).await);
    }
    findings
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

/// What CloudTrail must deliver for the event-driven functions: IAM's events in
/// [`IAM_EVENT_REGION`], the regional services' in every swept region (both, when it is
/// swept), in region order.
fn trail_needs(regions: &[String]) -> Vec<Need> {
    let mut needs: BTreeMap<String, Need> = BTreeMap::new();
    let mut add = |region: &str, (sources, functions): (&[&'static str], &[&'static str])| {
        let need = needs.entry(region.to_owned()).or_insert_with(|| Need {
            region: region.to_owned(),
            sources: BTreeSet::new(),
            global: false,
            functions: BTreeSet::new(),
        });
        need.sources.extend(sources);
        need.functions.extend(functions);
    };
    add(IAM_EVENT_REGION, IAM_EVENTS);
    for region in regions {
        add(region, REGIONAL_EVENTS);
    }
    if let Some(need) = needs.get_mut(IAM_EVENT_REGION) {
        need.global = true;
    }
    needs.into_values().collect()
}

/// What the regions' sweeps came to, as they finish.
#[derive(Default)]
struct Gathered {
    findings: Vec<Finding>,
    /// What each region that could be read holds.
    read: Vec<(String, RegionFacts)>,
    sweeps: Vec<RegionSweep>,
    /// The regions left unfinished and where each resumes.
    next: Continuation,
}

impl Gathered {
    /// Adds one region's sweep: a region that could not be read is a failed finding, and
    /// the others are swept without it.
    fn add(&mut self, region: String, run: Result<RegionRun, FailedCall>, took: Duration) {
        match run {
            Ok(run) => {
                self.sweeps.push(RegionSweep::of(&region, &run, took));
                self.findings.extend(run.findings);
                if let Some(point) = run.resume {
                    self.next.regions.push(region.clone());
                    self.next.resume.insert(region.clone(), point);
                }
                self.read.push((region, run.facts));
            }
            Err(why) => {
                self.findings.push(Finding::new(
                    &region,
                    Check::Region,
                    Status::Failed,
                    format!("{why}; the sweep went on without it"),
                ));
                self.sweeps.push(RegionSweep {
                    account: None,
                    region,
                    ok: false,
                    clusters: 0,
                    services: 0,
                    scalable_targets: 0,
                    scaling_policies: 0,
                    millis: took.as_millis(),
                });
            }
        }
    }
}

impl RegionSweep {
    /// The line of a region swept in `took`.
    fn of(region: &str, run: &RegionRun, took: Duration) -> Self {
        let clusters = &run.facts.inventory.clusters;
        Self {
            account: None,
            region: region.to_owned(),
            ok: true,
            clusters: clusters.len(),
            services: clusters.iter().map(|c| c.services.len()).sum(),
            scalable_targets: run.facts.targets.len(),
            scaling_policies: run.checked,
            millis: took.as_millis(),
        }
    }
}

/// The roles the regions read use, each once: the ECS service-linked role wherever a
/// cluster exists, each service's load-balancer role, each scalable target's role (its
/// service-linked role when it names none); a reference that is not a role is a skipped
/// finding. `account` is the sweep's own.
fn roles_needed(read: &[(String, RegionFacts)], account: &str) -> (Vec<RoleTarget>, Vec<Finding>) {
    let mut targets: Vec<RoleTarget> = Vec::new();
    let mut seen = BTreeSet::new();
    // One role per account and name: another account's role of the same name is another
    // role, and a bare name is the sweep's own account's.
    let mut add = |target: RoleTarget| {
        let owner = target.account.clone().unwrap_or_else(|| account.to_owned());
        if seen.insert((owner, target.name.clone())) {
            targets.push(target);
        }
    };
    let mut findings = Vec::new();
    if read.iter().any(|(_, f)| !f.inventory.clusters.is_empty()) {
        add(RoleTarget::catalog(&ECS_SERVICE_LINKED_ROLE));
    }
    for (region, facts) in read {
        let service_roles = facts
            .inventory
            .clusters
            .iter()
            .flat_map(|c| &c.services)
            .filter_map(|s| s.role_arn.as_deref());
        for role in service_roles {
            match RoleTarget::named_or_linked(
                &ECS_SERVICE_ROLE,
                &ECS_SERVICE_LINKED_ROLE,
                role,
                "roleArn",
            ) {
                // What ECS holds: a missing role is recreated where the service expects it.
                Ok(target) => add(target.used_at_its_path()),
                Err(e) => findings.push(Finding::new(
                    role,
                    Check::Role,
                    Status::Skipped,
                    format!("{region}: {e}"),
                )),
            }
        }
        for target in &facts.targets {
            // No RoleARN: Application Auto Scaling uses its service-linked role.
            if target.role_arn.is_empty() {
                add(RoleTarget::catalog(&ECS_AUTOSCALING_SERVICE_LINKED_ROLE));
                continue;
            }
            match RoleTarget::named_or_linked(
                &ECS_AUTOSCALE_ROLE,
                &ECS_AUTOSCALING_SERVICE_LINKED_ROLE,
                &target.role_arn,
                "RoleARN",
            ) {
                Ok(role) => add(role.used_at_its_path()),
                Err(e) => findings.push(Finding::new(
                    &target.role_arn,
                    Check::Role,
                    Status::Skipped,
                    format!("{region} {}: {e}", target.resource_id),
                )),
            }
        }
    }
    (targets, findings)
}

/// What a region's sweep read, checked and left for the next invocation.
struct RegionRun {
    facts: RegionFacts,
    findings: Vec<Finding>,
    /// Scaling policies whose alarms were checked.
    checked: usize,
    resume: Option<ResumePoint>,
}

/// Where a region's cluster read stopped, as the point to resume from: after the last
/// cluster read when the deadline cut the list, at the alarms when the list was read whole
/// but the deadline has passed, nowhere when the sweep goes on now.
fn resume_after_clusters(stopped: Option<String>, deadline_passed: bool) -> Option<ResumePoint> {
    match stopped {
        Some(last) => Some(ResumePoint {
            stage: Stage::Clusters,
            after: Some(last),
        }),
        None if deadline_passed => Some(ResumePoint {
            stage: Stage::Alarms,
            after: None,
        }),
        None => None,
    }
}

/// One region's sweep: its clients, the invocation's scope and deadline, and the alarm
/// defaults.
struct RegionWork<'a> {
    clients: &'a Clients,
    scope: &'a Scope,
    region: &'a str,
    defaults: &'a AlarmSettings,
    deadline: &'a Deadline,
}

/// Sweeps one region from `start`: its clusters in ARN order, then its targets, policies
/// and alarms, then each policy's alarms in ARN order, until `deadline`. Each stage does at
/// least one item, so successive invocations always get further. The error names the call
/// that failed.
async fn sweep_region(
    clients: &Clients,
    scope: &Scope,
    region: &str,
    defaults: &AlarmSettings,
    start: Option<ResumePoint>,
    deadline: &Deadline,
) -> Result<RegionRun, FailedCall> {
    let work = RegionWork {
        clients,
        scope,
        region,
        defaults,
        deadline,
    };
    let stage = start.as_ref().map_or(Stage::Clusters, |p| p.stage);
    let after = start.and_then(|p| p.after);
    let mut run = RegionRun {
        facts: RegionFacts {
            inventory: RegionInventory {
                region: region.to_owned(),
                clusters: Vec::new(),
            },
            targets: Vec::new(),
        },
        findings: Vec::new(),
        checked: 0,
        resume: None,
    };
    if stage == Stage::Clusters {
        let (inventory, stopped) =
            clusters::inventory_from(&clients.ecs, region, after.as_deref(), deadline)
                .await
                .map_err(|e| e.on("ecs:ListClusters", region))?;
        run.facts.inventory = inventory;
        run.resume = resume_after_clusters(stopped, deadline.passed());
        if run.resume.is_some() {
            return Ok(run);
        }
    }
    run.facts.targets = scaling::scalable_targets(&clients.autoscaling)
        .await
        .map_err(|e| e.on("application-autoscaling:DescribeScalableTargets", region))?;
    let mut policies = scaling::scaling_policies(&clients.autoscaling)
        .await
        .map_err(|e| e.on("application-autoscaling:DescribeScalingPolicies", region))?;
    policies.sort_by(|a, b| a.policy_arn().cmp(b.policy_arn()));
    let after = if stage == Stage::Alarms { after } else { None };
    policies.retain(|p| after.as_deref().is_none_or(|a| p.policy_arn() > a));
    // One read of every alarm instead of one per policy.
    let index = if policies.is_empty() {
        AlarmIndex::default()
    } else {
        AlarmIndex::load(clients)
            .await
            .map_err(|e| e.on("cloudwatch:DescribeAlarms", region))?
    };
    work.check_alarms(&policies, &index, &mut run).await;
    Ok(run)
}

impl RegionWork<'_> {
    /// Checks each policy's alarms in ARN order until the deadline, at least one; where it
    /// stopped goes into `run.resume`.
    async fn check_alarms(
        &self,
        policies: &[ScalingPolicy],
        index: &AlarmIndex,
        run: &mut RegionRun,
    ) {
        let mut last_checked: Option<&ScalingPolicy> = None;
        for policy in policies {
            if let Some(last) = last_checked.filter(|_| self.deadline.passed()) {
                run.resume = Some(ResumePoint {
                    stage: Stage::Alarms,
                    after: Some(last.policy_arn().to_owned()),
                });
                break;
            }
            last_checked = Some(policy);
            run.checked += 1;
            if let Some(finding) = self.check_policy(policy, index).await {
                run.findings.push(finding);
            }
        }
    }

    /// One policy's alarms: a step policy needs one that invokes it, a target-tracking
    /// policy the ones it lists; other kinds have none to check.
    async fn check_policy(&self, policy: &ScalingPolicy, index: &AlarmIndex) -> Option<Finding> {
        let target = match ServiceTarget::from_resource_id(policy.resource_id()) {
            Ok(target) => target,
            Err(why) => {
                return Some(Finding::new(
                    policy.policy_arn(),
                    Check::Policy,
                    Status::Skipped,
                    why.to_string(),
                ))
            }
        };
        let (clients, scope, index) = (self.clients, self.scope, Some(index));
        Some(match policy.policy_type() {
            PolicyType::StepScaling => {
                alarms::ensure_step_alarm(
                    clients,
                    scope,
                    self.region,
                    self.defaults,
                    &target,
                    policy,
                    index,
                )
                .await
            }
            PolicyType::TargetTrackingScaling => {
                alarms::ensure_target_tracking_alarms(clients, scope, policy, index).await
            }
            _ => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::clusters::{ClusterInventory, ServiceInventory};

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

    fn facts(services: &[Option<&str>], targets: &[&str]) -> RegionFacts {
        let cluster = ClusterInventory {
            arn: "arn:aws:ecs:eu-west-1:111122223333:cluster/shop".into(),
            services: services
                .iter()
                .enumerate()
                .map(|(i, role)| ServiceInventory {
                    arn: format!("arn:aws:ecs:eu-west-1:111122223333:service/shop/s{i}"),
                    status: "ACTIVE".into(),
                    desired_count: 1,
                    running_count: 1,
                    role_arn: role.map(String::from),
                })
                .collect(),
            container_instances: Vec::new(),
            ignored: None,
        };
        RegionFacts {
            inventory: RegionInventory {
                region: "eu-west-1".into(),
                clusters: if services.is_empty() {
                    Vec::new()
                } else {
                    vec![cluster]
                },
            },
            targets: targets
                .iter()
                .map(|role| ScalableService {
                    resource_id: "service/shop/s0".into(),
                    role_arn: (*role).into(),
                })
                .collect(),
        }
    }

    const OWN: &str = "111122223333";

    fn names(targets: &[RoleTarget]) -> Vec<&str> {
        targets.iter().map(|t| t.name.as_str()).collect()
    }

    #[test]
    fn a_region_with_a_cluster_needs_the_ecs_service_linked_role_once() {
        let read = vec![
            ("eu-west-1".into(), facts(&[None], &[])),
            ("us-east-1".into(), facts(&[None, None], &[])),
        ];
        let (targets, findings) = roles_needed(&read, OWN);
        assert_eq!(names(&targets), ["AWSServiceRoleForECS"]);
        assert!(findings.is_empty());
        // Nothing read (every region failed, or none holds a cluster): no role is needed.
        assert!(roles_needed(&[], OWN).0.is_empty());
        assert!(roles_needed(&[("eu-west-1".into(), facts(&[], &[]))], OWN)
            .0
            .is_empty());
    }

    #[test]
    fn each_accounts_role_is_needed_once_and_what_is_not_a_role_is_skipped() {
        let read = vec![(
            "eu-west-1".into(),
            facts(
                &[
                    Some("ecsServiceRole"),
                    Some("arn:aws:iam::111122223333:role/ecsServiceRole"),
                ],
                &[
                    "",
                    "arn:aws:iam::444455556666:role/ecsAutoscaleRole",
                    "arn:aws:iam::111122223333:role/ecsAutoscaleRole",
                    "ecsAutoscaleRole",
                    "arn:aws:iam::111122223333:user/bob",
                ],
            ),
        )];
        let (targets, findings) = roles_needed(&read, OWN);
        let owned: Vec<(&str, Option<&str>)> = targets
            .iter()
            .map(|t| (t.name.as_str(), t.account.as_deref()))
            .collect();
        assert_eq!(
            owned,
            [
                ("AWSServiceRoleForECS", None),
                ("ecsServiceRole", None),
                ("AWSServiceRoleForApplicationAutoScaling_ECSService", None),
                // The other account's role does not stand for the sweep's own one.
                ("ecsAutoscaleRole", Some("444455556666")),
                ("ecsAutoscaleRole", Some(OWN)),
            ]
        );
        assert_eq!(findings.len(), 1, "{findings:?}");
        assert_eq!(findings[0].status, Status::Skipped);
        assert!(findings[0].resource.ends_with("user/bob"));
    }

    #[test]
    fn a_cluster_read_resumes_where_the_deadline_cut_it() {
        let cut = resume_after_clusters(Some("arn:c7".into()), true).unwrap();
        assert_eq!(
            (cut.stage, cut.after.as_deref()),
            (Stage::Clusters, Some("arn:c7"))
        );
        let whole = resume_after_clusters(None, true).unwrap();
        assert_eq!((whole.stage, whole.after), (Stage::Alarms, None));
        assert!(resume_after_clusters(None, false).is_none());
    }

    #[test]
    fn iam_events_are_needed_in_us_east_1_and_the_services_in_every_swept_region() {
        let needs = trail_needs(&["eu-west-1".into(), "us-east-1".into()]);
        let seen: Vec<(&str, bool, usize, usize)> = needs
            .iter()
            .map(|n| {
                (
                    n.region.as_str(),
                    n.global,
                    n.sources.len(),
                    n.functions.len(),
                )
            })
            .collect();
        // us-east-1 is swept too: IAM's source and the three regional ones, and the
        // five functions listening there.
        assert_eq!(
            seen,
            [("eu-west-1", false, 3, 3), ("us-east-1", true, 4, 5)]
        );

        let needs = trail_needs(&["ap-southeast-2".into()]);
        assert_eq!(needs.len(), 2);
        assert_eq!(needs[1].region, IAM_EVENT_REGION);
        assert_eq!(needs[1].sources, BTreeSet::from(["iam.amazonaws.com"]));
    }
}
