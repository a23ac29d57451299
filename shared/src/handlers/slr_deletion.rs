//! The `slr-deletion` function: drives the asynchronous deletion of `AWSServiceRoleForECS`
//! to its end, one step per invocation. Each step takes the state the previous one returned
//! (the state machine feeds it back after waiting `wait_seconds`) and returns the next:
//! plan → (drain) → submit → poll → done, with `outcome` `deleted`, `blocked` or `failed`.
//!
//! Nothing is deleted without `drain: true` and a `confirm_account` equal to the account the
//! function's credentials act in, checked before every drain step; audit mode writes nothing.

use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::task::JoinSet;
use tracing::Instrument;

use super::{Deps, Handler};
use crate::aws::{self, CallError, CallLog, Clients, Regional};
use crate::domain::catalog::ECS_SERVICE_LINKED_ROLE;
use crate::domain::clusters::{self, RegionInventory};
use crate::invocation::deadline::Deadline;
use crate::invocation::error::InvocationError;
use crate::invocation::events::{accept, parse_api_call};
use crate::invocation::gate::{failure, Gated, Scope};
use crate::invocation::notify::{Notable, Notifier};
use crate::invocation::report::{Check, Finding, Report, Status, CALLS_LISTED};
use crate::invocation::settings::{is_region_name, Mode, Settings};

/// The function's name in reports and logs.
pub const FUNCTION: &str = "slr-deletion";
/// First wait before polling a submitted deletion.
pub const FIRST_POLL_SECONDS: u64 = 5;
/// Longest wait between two polls.
pub const MAX_POLL_SECONDS: u64 = 60;
/// Default overall deadline of one deletion, from its first step.
pub const DEFAULT_DEADLINE_SECONDS: u64 = 1800;
/// Default number of DeleteServiceLinkedRole submissions before giving up.
pub const DEFAULT_MAX_ATTEMPTS: u32 = 3;
/// Wait between drain steps: services drain their tasks in tens of seconds to minutes.
pub const DRAIN_WAIT_SECONDS: u64 = 15;

const EVENT_SOURCE: &str = "aws.iam";
const EVENT_NAMES: &[&str] = &["DeleteServiceLinkedRole"];

/// Where a deletion stands.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// Inventory the regions.
    #[default]
    Plan,
    /// Remove what uses the role (only with drain and a confirmed account).
    Drain,
    /// Call DeleteServiceLinkedRole.
    Submit,
    /// Poll the deletion task.
    Poll,
    /// Finished; `outcome` says how.
    Done,
}

/// How a deletion ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The role is gone.
    Deleted,
    /// Something uses the role and draining was not asked for (or audit mode).
    Blocked,
    /// The deletion could not be completed; the findings say why.
    Failed,
}

/// A region and the resources IAM says still use the role there.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoleUsage {
    /// The region.
    pub region: String,
    /// The resources, as IAM lists them.
    pub resources: Vec<String>,
}

/// Deleted ARNs kept in the state.
pub const DELETED_KEPT: usize = 100;
/// "Waiting for" lines kept in the state.
pub const WAITING_KEPT: usize = 50;
/// Clusters listed in the state's inventory (their services and instances up to this many
/// each); the plan's findings count them all.
pub const INVENTORY_KEPT: usize = 20;

/// The state one step passes to the next: the start input grows into it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeletionState {
    /// The role to delete: `AWSServiceRoleForECS` (with an optional suffix).
    pub role_name: String,
    /// Regions to inventory and drain; empty means the configured ones.
    #[serde(default)]
    pub regions: Vec<String>,
    /// Whether ECS resources may be deleted to free the role.
    #[serde(default)]
    pub drain: bool,
    /// Must equal the caller's account for draining.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confirm_account: Option<String>,
    /// Where the deletion stands.
    #[serde(default)]
    pub phase: Phase,
    /// True once finished.
    #[serde(default)]
    pub done: bool,
    /// How long to wait before the next step.
    #[serde(default)]
    pub wait_seconds: u64,
    /// How it ended, once done.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<Outcome>,
    /// The task DeleteServiceLinkedRole returned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deletion_task_id: Option<String>,
    /// The task's last status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_status: Option<String>,
    /// DeleteServiceLinkedRole submissions made so far.
    #[serde(default)]
    pub attempts: u32,
    /// Submissions allowed.
    #[serde(default = "default_max_attempts")]
    pub max_attempts: u32,
    /// When the first step ran (seconds since the epoch).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<u64>,
    /// The whole deletion's deadline, from `started_at`.
    #[serde(default = "default_deadline")]
    pub deadline_seconds: u64,
    /// The wait before the next poll; doubles up to 60 s.
    #[serde(default)]
    pub poll_wait_seconds: u64,
    /// Status calls made so far.
    #[serde(default)]
    pub polls: u32,
    /// Regions the drain phase works on.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub drain_regions: Vec<String>,
    /// What the plan found in each region, cut to [`INVENTORY_KEPT`] clusters.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub inventory: Vec<RegionInventory>,
    /// What the inventory leaves out, when it was cut.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inventory_cut: Option<String>,
    /// The latest deletions, by ARN, at most [`DELETED_KEPT`]: the state machine's state
    /// is limited to 256 KB, and a large account deletes thousands of resources (the log
    /// has a line for each).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub deleted: Vec<String>,
    /// Everything deleted so far.
    #[serde(default)]
    pub deleted_count: u64,
    /// What the last step waits for.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub waiting: Vec<String>,
    /// The reason of the last failed deletion task.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The regions and resources the last failed task reported.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub role_usage: Vec<RoleUsage>,
    /// The id of the event that started the deletion, carried to every report.
    #[serde(default, skip_serializing)]
    pub event_id: Option<String>,
}

fn default_max_attempts() -> u32 {
    DEFAULT_MAX_ATTEMPTS
}

fn default_deadline() -> u64 {
    DEFAULT_DEADLINE_SECONDS
}

/// What one invocation returns: the next state, with the report fields every function
/// returns beside it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StepOutput {
    /// The next state.
    #[serde(flatten)]
    pub state: DeletionState,
    /// What this step checked, found and did.
    #[serde(flatten)]
    pub report: Report,
}

/// A manual edit of the role; seed 004 allows only its description.
#[derive(Debug, Deserialize)]
struct EditRequest {
    action: String,
    role_name: String,
    #[serde(default)]
    description: Option<String>,
}

/// What the function answers: a deletion step, or the report of an edit.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Answer {
    /// One step of a deletion.
    Step(Box<StepOutput>),
    /// The description edit.
    Edit(Report),
}

impl Notable for Answer {
    fn report(&self) -> &Report {
        match self {
            Self::Step(step) => &step.report,
            Self::Edit(report) => report,
        }
    }
    fn report_mut(&mut self) -> &mut Report {
        match self {
            Self::Step(step) => &mut step.report,
            Self::Edit(report) => report,
        }
    }
    fn outcome(&self) -> Option<&'static str> {
        match self {
            Self::Step(step) if step.state.done => step.state.outcome.map(|o| match o {
                Outcome::Deleted => "deleted",
                Outcome::Blocked => "blocked",
                Outcome::Failed => "failed",
            }),
            _ => None,
        }
    }
}

/// The handler with the clients it keeps between invocations of a warm container.
#[derive(Debug)]
pub struct SlrDeletion {
    clients: Clients,
    regional: Regional,
    settings: Settings,
    calls: CallLog,
    notifier: Notifier,
}

impl Handler for SlrDeletion {
    const FUNCTION: &'static str = FUNCTION;
    type Output = Answer;

    fn build(deps: Deps) -> Self {
        let clients = Clients::new(&deps.config, &deps.calls);
        let regional = Regional::new(&deps.config, &deps.calls);
        Self::with_clients(deps, clients, regional)
    }

    fn notifier(&self) -> &Notifier {
        &self.notifier
    }

    /// Parses a start input, a state, a CloudTrail DeleteServiceLinkedRole event or an edit
    /// request, and runs one step (or the edit) now; a drain step starts no new write once
    /// `deadline` has passed and leaves the rest to the next step.
    async fn answer(&self, payload: Value, deadline: &Deadline) -> Result<Answer, InvocationError> {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        self.handle_at_within(payload, now, deadline).await
    }
}

impl SlrDeletion {
    /// The handler over clients built elsewhere: [`Handler::build`]'s, or mocked ones.
    pub fn with_clients(deps: Deps, clients: Clients, regional: Regional) -> Self {
        Self {
            clients,
            regional,
            settings: deps.settings,
            calls: deps.calls,
            notifier: deps.notifier,
        }
    }

    /// As [`Self::handle_payload`], at the given time (seconds since the epoch).
    pub async fn handle_at(&self, payload: Value, now: u64) -> Result<Answer, InvocationError> {
        self.handle_at_within(payload, now, &Deadline::none()).await
    }

    /// As [`Self::handle_within`], at the given time (seconds since the epoch).
    pub async fn handle_at_within(
        &self,
        payload: Value,
        now: u64,
        deadline: &Deadline,
    ) -> Result<Answer, InvocationError> {
        if payload.get("detail-type").is_some() {
            let state = state_from_event(payload)?;
            return Ok(Answer::Step(Box::new(
                self.step(state, now, deadline).await,
            )));
        }
        if payload.get("action").is_some() {
            let request: EditRequest = serde_json::from_value(payload)
                .map_err(|e| InvocationError::NotAnEvent(format!("an edit request: {e}")))?;
            return Ok(Answer::Edit(self.edit(request).await?));
        }
        let state: DeletionState = serde_json::from_value(payload).map_err(|e| {
            InvocationError::NotAnEvent(format!(
                "expected a deletion state ({{\"role_name\": \"AWSServiceRoleForECS\", \"drain\": false, ...}}), \
                 a CloudTrail DeleteServiceLinkedRole event or an edit request: {e}"
            ))
        })?;
        let state = self.validate(state)?;
        Ok(Answer::Step(Box::new(
            self.step(state, now, deadline).await,
        )))
    }

    /// Checks a state before any AWS call, filling in the configured regions.
    fn validate(&self, mut state: DeletionState) -> Result<DeletionState, InvocationError> {
        check_role_name(&state.role_name, "role_name")?;
        if state.regions.is_empty() {
            state.regions.clone_from(&self.settings.regions);
        }
        if state.regions.is_empty() {
            return bad(
                "regions",
                "none given and WARDEN_REGIONS / AWS_REGION name none".into(),
            );
        }
        if let Some(region) = state
            .regions
            .iter()
            .chain(&state.drain_regions)
            .find(|r| !is_region_name(r))
        {
            return bad("regions", format!("{region:?} is not a region"));
        }
        if state.drain {
            match state.confirm_account.as_deref() {
                None => return bad(
                    "confirm_account",
                    "drain deletes every ECS service, container instance and cluster in the regions; \
                     it needs confirm_account set to the 12-digit account id you mean".into(),
                ),
                Some(a) if !is_account_id(a) => {
                    return bad("confirm_account", format!("{a:?} is not a 12-digit account id"))
                }
                Some(_) => {}
            }
        }
        if !(1..=10).contains(&state.max_attempts) {
            return bad(
                "max_attempts",
                format!("{} is not between 1 and 10", state.max_attempts),
            );
        }
        if !(60..=86_400).contains(&state.deadline_seconds) {
            return bad(
                "deadline_seconds",
                format!("{} is not between 60 and 86400", state.deadline_seconds),
            );
        }
        if state.phase == Phase::Poll && state.deletion_task_id.is_none() {
            return bad(
                "deletion_task_id",
                "phase poll needs the task to poll".into(),
            );
        }
        Ok(state)
    }

    /// Runs one step of the deletion; a drain step stops starting writes at `deadline`.
    pub async fn step(
        &self,
        mut state: DeletionState,
        now: u64,
        deadline: &Deadline,
    ) -> StepOutput {
        self.calls.take();
        let started = *state.started_at.get_or_insert(now);
        state.waiting.clear();
        let mut findings = Vec::new();
        let elapsed = now.saturating_sub(started);
        match state.phase {
            Phase::Done => {}
            _ if elapsed > state.deadline_seconds && state.phase != Phase::Poll => {
                let why = format!(
                    "the deadline of {} s passed in phase {:?} after {elapsed} s",
                    state.deadline_seconds, state.phase
                );
                findings.push(Finding::new(
                    self.role_arn(&state),
                    Check::Deadline,
                    Status::Failed,
                    why,
                ));
                finish(&mut state, Outcome::Failed);
            }
            Phase::Plan => self.plan(&mut state, &mut findings).await,
            Phase::Drain => self.drain(&mut state, &mut findings, deadline).await,
            Phase::Submit => self.submit(&mut state, &mut findings).await,
            Phase::Poll => self.poll(&mut state, &mut findings, elapsed).await,
        }
        let mut report = Report::new(
            FUNCTION,
            self.settings.mode,
            state.event_id.clone(),
            state
                .event_id
                .as_ref()
                .map(|_| format!("{EVENT_SOURCE}:DeleteServiceLinkedRole")),
            findings,
            self.calls.take(),
        );
        report.compact_calls(CALLS_LISTED);
        report.log();
        StepOutput { state, report }
    }

    async fn plan(&self, state: &mut DeletionState, findings: &mut Vec<Finding>) {
        let mut tasks = JoinSet::new();
        for region in state.regions.clone() {
            let ecs = self.regional.clients(&region).ecs;
            tasks.spawn(
                async move {
                    let found = clusters::inventory(&ecs, &region).await;
                    (region, found)
                }
                .in_current_span(),
            );
        }
        let mut inventory = Vec::new();
        let mut unreadable = false;
        while let Some(joined) = tasks.join_next().await {
            match joined {
                Ok((_, Ok(found))) => inventory.push(found),
                Ok((region, Err(e))) => {
                    unreadable = true;
                    findings.push(Finding::new(
                        region.clone(),
                        Check::Inventory,
                        Status::Failed,
                        e.explain("ecs:ListClusters", &region),
                    ));
                }
                Err(panicked) => {
                    unreadable = true;
                    findings.push(Finding::new(
                        "",
                        Check::Inventory,
                        Status::Failed,
                        panicked.to_string(),
                    ));
                }
            }
        }
        inventory.sort_by(|a, b| a.region.cmp(&b.region));
        for region in &inventory {
            findings.push(if region.clusters.is_empty() {
                Finding::new(
                    &region.region,
                    Check::Inventory,
                    Status::Compliant,
                    "no ECS cluster uses the role here",
                )
            } else {
                Finding::new(
                    &region.region,
                    Check::Inventory,
                    Status::Skipped,
                    format!("{} use the role here", region.summary()),
                )
            });
        }
        let busy: Vec<String> = inventory
            .iter()
            .filter(|r| !r.clusters.is_empty())
            .map(|r| r.region.clone())
            .collect();
        state.keep_inventory(inventory);
        if unreadable {
            // The role can only go once no region holds a cluster; an unread region may.
            state.reason = Some("a region could not be inventoried; see the findings".into());
            return finish(state, Outcome::Failed);
        }
        if busy.is_empty() {
            return self.ready_to_submit(state, findings);
        }
        if !state.drain {
            state.reason = Some(format!(
                "ECS clusters in {} use the role; delete them first, or start again with \"drain\": true and \"confirm_account\"",
                busy.join(", ")
            ));
            return finish(state, Outcome::Blocked);
        }
        state.drain_regions = busy;
        state.phase = Phase::Drain;
        state.wait_seconds = 0;
    }

    fn ready_to_submit(&self, state: &mut DeletionState, findings: &mut Vec<Finding>) {
        if self.settings.mode == Mode::Audit {
            findings.push(Finding::new(
                self.role_arn(state),
                Check::Deletion,
                Status::WouldRepair,
                "audit mode; would call DeleteServiceLinkedRole and poll the task",
            ));
            state.reason = Some("audit mode makes no write".into());
            return finish(state, Outcome::Blocked);
        }
        state.phase = Phase::Submit;
        state.wait_seconds = 0;
    }

    async fn drain(
        &self,
        state: &mut DeletionState,
        findings: &mut Vec<Finding>,
        deadline: &Deadline,
    ) {
        let caller = match self.caller_account().await {
            Ok(caller) => caller,
            Err(e) => {
                findings.push(Finding::new(
                    "",
                    Check::Confirm,
                    Status::Failed,
                    e.explain("sts:GetCallerIdentity", "the caller"),
                ));
                return finish(state, Outcome::Failed);
            }
        };
        if !state.drain || state.confirm_account.as_deref() != Some(caller.as_str()) {
            findings.push(Finding::new(
                format!("account {caller}"),
                Check::Confirm,
                Status::Failed,
                format!(
                    "refused before any write: draining needs \"drain\": true and \"confirm_account\": \"{caller}\" (the account these credentials act in); got drain {} and confirm_account {:?}",
                    state.drain, state.confirm_account
                ),
            ));
            return finish(state, Outcome::Failed);
        }
        let scope = Scope {
            mode: self.settings.mode,
            account: caller,
            partition: aws::partition(state.drain_regions.first().map_or("", String::as_str)),
            event_id: state.event_id.clone().unwrap_or_default(),
            cause: format!("{FUNCTION}: drain confirmed for this account"),
        };
        let mut tasks = JoinSet::new();
        for region in state.drain_regions.clone() {
            let ecs = self.regional.clients(&region).ecs;
            let (scope, deadline) = (scope.clone(), *deadline);
            tasks.spawn(
                async move { clusters::drain_step(&ecs, &region, &scope, &deadline).await }
                    .in_current_span(),
            );
        }
        let (mut clear, mut stuck, mut cut) = (true, false, false);
        while let Some(joined) = tasks.join_next().await {
            match joined {
                Ok(step) => {
                    clear &= step.clear;
                    stuck |= step.stuck;
                    cut |= step.cut;
                    state.record_deleted(step.deleted);
                    state.waiting.extend(step.waiting);
                    findings.extend(step.findings);
                }
                Err(panicked) => {
                    stuck = true;
                    findings.push(Finding::new(
                        "",
                        Check::Drain,
                        Status::Failed,
                        panicked.to_string(),
                    ));
                }
            }
        }
        if self.settings.mode == Mode::Audit {
            state.reason = Some("audit mode makes no write".into());
            return finish(state, Outcome::Blocked);
        }
        if stuck {
            state.reason =
                Some("a drain call failed in a way waiting will not fix; see the findings".into());
            return finish(state, Outcome::Failed);
        }
        if clear {
            state.phase = Phase::Submit;
            state.wait_seconds = 0;
        } else if cut {
            // Work was left undone, not waiting on ECS: carry on at once.
            state.wait_seconds = 0;
        } else {
            state.wait_seconds = DRAIN_WAIT_SECONDS;
        }
        state.bound_waiting();
    }

    async fn submit(&self, state: &mut DeletionState, findings: &mut Vec<Finding>) {
        let arn = self.role_arn(state);
        let scope = Scope {
            mode: self.settings.mode,
            account: String::new(),
            partition: "aws",
            event_id: state.event_id.clone().unwrap_or_default(),
            cause: format!("{FUNCTION}: deletion asked"),
        };
        let call = self
            .clients
            .iam
            .delete_service_linked_role()
            .role_name(&state.role_name)
            .send();
        let why = "deletion asked; nothing uses the role";
        match scope
            .write("iam:DeleteServiceLinkedRole", &arn, why, call)
            .await
        {
            Gated::Audited => self.ready_to_submit(state, findings),
            Gated::Done(out) => {
                state.attempts += 1;
                state.deletion_task_id = Some(out.deletion_task_id().to_owned());
                state.task_status = None;
                state.phase = Phase::Poll;
                // The first poll waits FIRST_POLL_SECONDS; each later wait doubles it.
                (state.wait_seconds, state.poll_wait_seconds) = next_poll(FIRST_POLL_SECONDS);
                findings.push(Finding::new(
                    arn,
                    Check::DeletionSubmitted,
                    Status::Repaired,
                    format!(
                        "submitted DeleteServiceLinkedRole (attempt {} of {}); task {}",
                        state.attempts,
                        state.max_attempts,
                        out.deletion_task_id()
                    ),
                ));
            }
            Gated::Failed(failed) if failed.error.is_not_found() => {
                findings.push(Finding::new(
                    arn,
                    Check::Deletion,
                    Status::Compliant,
                    "the role does not exist; nothing to delete",
                ));
                finish(state, Outcome::Deleted);
            }
            Gated::Failed(failed) if clusters::is_transient(&failed.error) => {
                findings.push(Finding::new(
                    &arn,
                    Check::DeletionSubmitted,
                    Status::Failed,
                    format!("{failed}; retried next step"),
                ));
                state.wait_seconds = FIRST_POLL_SECONDS;
            }
            Gated::Failed(failed) => {
                findings.push(failure(&failed, Check::DeletionSubmitted, ""));
                finish(state, Outcome::Failed);
            }
        }
    }

    async fn poll(&self, state: &mut DeletionState, findings: &mut Vec<Finding>, elapsed: u64) {
        let arn = self.role_arn(state);
        let task = state.deletion_task_id.clone().unwrap_or_default();
        state.polls += 1;
        let status = self
            .clients
            .iam
            .get_service_linked_role_deletion_status()
            .deletion_task_id(&task)
            .send()
            .await;
        let out = match status {
            Ok(out) => out,
            Err(e) => {
                let err = CallError::from_sdk(&e);
                if err.is_not_found() {
                    return self.confirm_gone(state, findings, &arn).await;
                }
                let detail = err.explain("iam:GetServiceLinkedRoleDeletionStatus", &task);
                if clusters::is_transient(&err) {
                    findings.push(Finding::new(
                        &arn,
                        Check::Deletion,
                        Status::Failed,
                        format!("{detail}; polled again next step"),
                    ));
                    return self.keep_polling(state, findings, &arn, elapsed);
                }
                findings.push(Finding::new(arn, Check::Deletion, Status::Failed, detail));
                return finish(state, Outcome::Failed);
            }
        };
        let status = out.status().as_str().to_owned();
        state.task_status = Some(status.clone());
        match status.as_str() {
            "SUCCEEDED" => {
                findings.push(Finding::new(
                    arn,
                    Check::Deletion,
                    Status::Repaired,
                    format!("task {task} SUCCEEDED: the role is deleted"),
                ));
                finish(state, Outcome::Deleted);
            }
            "FAILED" => {
                let reason = out.reason();
                state.reason = reason.and_then(|r| r.reason()).map(String::from);
                state.role_usage = reason
                    .map(|r| r.role_usage_list())
                    .unwrap_or_default()
                    .iter()
                    .map(|u| RoleUsage {
                        region: u.region().unwrap_or_default().to_owned(),
                        resources: u.resources().to_vec(),
                    })
                    .collect();
                findings.push(Finding::new(
                    &arn,
                    Check::Deletion,
                    Status::Failed,
                    failure_words(state),
                ));
                self.after_failure(state);
            }
            _ => self.keep_polling(state, findings, &arn, elapsed),
        }
    }

    /// After a FAILED task: drain exactly the regions IAM named and submit again, while
    /// drain is on and attempts remain, as seed 004 says to repeat; otherwise fail.
    fn after_failure(&self, state: &mut DeletionState) {
        let regions: Vec<String> = state
            .role_usage
            .iter()
            .map(|u| u.region.clone())
            .filter(|r| is_region_name(r))
            .collect();
        if state.drain && state.attempts < state.max_attempts && !regions.is_empty() {
            state.drain_regions = regions;
            state.phase = Phase::Drain;
            state.wait_seconds = 0;
        } else {
            finish(state, Outcome::Failed);
        }
    }

    fn keep_polling(
        &self,
        state: &mut DeletionState,
        findings: &mut Vec<Finding>,
        arn: &str,
        elapsed: u64,
    ) {
        let (wait, next) = next_poll(state.poll_wait_seconds);
        if elapsed + wait > state.deadline_seconds {
            findings.push(Finding::new(
                arn,
                Check::Deadline,
                Status::Failed,
                format!(
                    "task {} is still {} after {elapsed} s; the deadline is {} s. It may still finish: poll it again by starting with its CloudTrail event",
                    state.deletion_task_id.as_deref().unwrap_or_default(),
                    state.task_status.as_deref().unwrap_or("unknown"),
                    state.deadline_seconds
                ),
            ));
            return finish(state, Outcome::Failed);
        }
        state.wait_seconds = wait;
        state.poll_wait_seconds = next;
    }

    /// A task IAM no longer knows: a fast deletion can purge it, so ask for the role.
    async fn confirm_gone(
        &self,
        state: &mut DeletionState,
        findings: &mut Vec<Finding>,
        arn: &str,
    ) {
        match self
            .clients
            .iam
            .get_role()
            .role_name(&state.role_name)
            .send()
            .await
        {
            Err(e) if CallError::from_sdk(&e).is_not_found() => {
                findings.push(Finding::new(
                    arn,
                    Check::Deletion,
                    Status::Repaired,
                    "the task is gone and so is the role: deleted",
                ));
                finish(state, Outcome::Deleted);
            }
            Err(e) => {
                findings.push(Finding::new(
                    arn,
                    Check::Deletion,
                    Status::Failed,
                    CallError::from_sdk(&e).explain("iam:GetRole", arn),
                ));
                finish(state, Outcome::Failed);
            }
            Ok(_) if state.attempts < state.max_attempts => {
                findings.push(Finding::new(
                    arn,
                    Check::Deletion,
                    Status::Failed,
                    "IAM no longer knows the task but the role still exists; submitting again",
                ));
                state.phase = Phase::Submit;
                state.wait_seconds = 0;
            }
            Ok(_) => {
                findings.push(Finding::new(
                    arn,
                    Check::Deletion,
                    Status::Failed,
                    "IAM no longer knows the task but the role still exists",
                ));
                finish(state, Outcome::Failed);
            }
        }
    }

    async fn caller_account(&self) -> Result<String, CallError> {
        let out = self
            .clients
            .sts
            .get_caller_identity()
            .send()
            .await
            .map_err(|e| CallError::from_sdk(&e))?;
        Ok(out.account().unwrap_or_default().to_owned())
    }

    /// The role's ARN when the account is known, else its path and name.
    fn role_arn(&self, state: &DeletionState) -> String {
        let resource = format!("role{}{}", ECS_SERVICE_LINKED_ROLE.path, state.role_name);
        match &state.confirm_account {
            Some(account) => {
                let region = state.regions.first().map_or("", String::as_str);
                format!("arn:{}:iam::{account}:{resource}", aws::partition(region))
            }
            None => resource,
        }
    }

    /// Seed 004 allows editing only the description of the ECS service-linked role.
    async fn edit(&self, request: EditRequest) -> Result<Report, InvocationError> {
        check_role_name(&request.role_name, "role_name")?;
        if request.action != "update_description" {
            return bad(
                "action",
                format!(
                    "{:?} is refused: Amazon ECS does not allow editing {} except its description; its name cannot change because other entities may reference the role (seed 004). The only action is \"update_description\"",
                    request.action, request.role_name
                ),
            );
        }
        let description = request.description.unwrap_or_default();
        if description.chars().count() > 1000
            || description
                .chars()
                .any(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r'))
        {
            return bad(
                "description",
                "at most 1000 characters, no control characters".into(),
            );
        }
        self.calls.take();
        let resource = format!("role{}{}", ECS_SERVICE_LINKED_ROLE.path, request.role_name);
        let scope = Scope {
            mode: self.settings.mode,
            account: String::new(),
            partition: "aws",
            event_id: String::new(),
            cause: format!("{FUNCTION}: update_description asked"),
        };
        let call = self
            .clients
            .iam
            .update_role_description()
            .role_name(&request.role_name)
            .description(&description)
            .send();
        let finding = match scope
            .write(
                "iam:UpdateRoleDescription",
                &resource,
                "description edit asked",
                call,
            )
            .await
        {
            Gated::Audited => Finding::new(
                &resource,
                Check::Description,
                Status::WouldRepair,
                format!("audit mode; would set the description to {description:?}"),
            ),
            Gated::Done(_) => Finding::new(
                &resource,
                Check::Description,
                Status::Repaired,
                format!("description set to {description:?}"),
            ),
            Gated::Failed(failed) => failure(&failed, Check::Description, ""),
        };
        let report = Report::new(
            FUNCTION,
            self.settings.mode,
            None,
            None,
            vec![finding],
            self.calls.take(),
        );
        report.log();
        Ok(report)
    }
}

/// The wait before the next poll and the one after it: 5 s, doubling, capped at 60 s.
pub fn next_poll(current: u64) -> (u64, u64) {
    let wait = current.clamp(FIRST_POLL_SECONDS, MAX_POLL_SECONDS);
    (wait, (wait * 2).min(MAX_POLL_SECONDS))
}

impl DeletionState {
    /// Counts `deleted` and keeps the latest [`DELETED_KEPT`] of them.
    fn record_deleted(&mut self, deleted: Vec<String>) {
        self.deleted_count += deleted.len() as u64;
        self.deleted.extend(deleted);
        let excess = self.deleted.len().saturating_sub(DELETED_KEPT);
        self.deleted.drain(..excess);
    }

    /// Keeps the first [`WAITING_KEPT`] waiting lines and says how many more there are.
    fn bound_waiting(&mut self) {
        if self.waiting.len() > WAITING_KEPT {
            let more = self.waiting.len() - WAITING_KEPT;
            self.waiting.truncate(WAITING_KEPT);
            self.waiting.push(format!("and {more} more"));
        }
    }

    /// Keeps the inventory to [`INVENTORY_KEPT`] clusters in all, each with at most that
    /// many services and instances, and notes what was left out.
    fn keep_inventory(&mut self, mut inventory: Vec<RegionInventory>) {
        let (mut kept, mut cut) = (0, false);
        for region in &mut inventory {
            let room = INVENTORY_KEPT - kept;
            cut |= region.clusters.len() > room;
            region.clusters.truncate(room);
            kept += region.clusters.len();
            for cluster in &mut region.clusters {
                cut |= cluster.services.len() > INVENTORY_KEPT
                    || cluster.container_instances.len() > INVENTORY_KEPT;
                cluster.services.truncate(INVENTORY_KEPT);
                cluster.container_instances.truncate(INVENTORY_KEPT);
            }
        }
        self.inventory = inventory;
        self.inventory_cut = cut.then(|| {
            format!(
                "cut to {INVENTORY_KEPT} clusters, and {INVENTORY_KEPT} services and instances per cluster, to stay within the state machine's 256 KB; the inventory findings count everything"
            )
        });
    }
}

fn finish(state: &mut DeletionState, outcome: Outcome) {
    state.phase = Phase::Done;
    state.done = true;
    state.wait_seconds = 0;
    state.outcome = Some(outcome);
}

fn failure_words(state: &DeletionState) -> String {
    let usage: Vec<String> = state
        .role_usage
        .iter()
        .map(|u| format!("{}: {}", u.region, u.resources.join(", ")))
        .collect();
    format!(
        "task {} FAILED: {}{}",
        state.deletion_task_id.as_deref().unwrap_or_default(),
        state.reason.as_deref().unwrap_or("no reason given"),
        if usage.is_empty() {
            "; IAM named no resource".to_owned()
        } else {
            format!("; still in use in {}", usage.join("; "))
        }
    )
}

/// The start state for a DeleteServiceLinkedRole call made elsewhere: poll its task.
fn state_from_event(payload: Value) -> Result<DeletionState, InvocationError> {
    let event = parse_api_call(payload)?;
    accept(&event, EVENT_SOURCE, EVENT_NAMES)?;
    let detail = &event.detail;
    if let Some(code) = &detail.error_code {
        return Err(InvocationError::BadField {
            field: "detail.errorCode",
            problem: format!(
                "the DeleteServiceLinkedRole call failed ({code}), so there is no task to poll"
            ),
        });
    }
    let role_name = detail
        .request_parameters
        .as_ref()
        .and_then(|p| p.get("roleName"))
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    check_role_name(&role_name, "requestParameters.roleName")?;
    let task = detail
        .response_elements
        .as_ref()
        .and_then(|r| r.get("deletionTaskId"))
        .and_then(Value::as_str)
        .filter(|t| !t.is_empty())
        .ok_or(InvocationError::BadField {
            field: "responseElements.deletionTaskId",
            problem: "missing: the event names no task to poll".into(),
        })?;
    Ok(DeletionState {
        role_name,
        regions: vec![detail.aws_region.clone()],
        drain: false,
        confirm_account: Some(detail.recipient_account_id.clone()),
        phase: Phase::Poll,
        done: false,
        wait_seconds: 0,
        outcome: None,
        deletion_task_id: Some(task.to_owned()),
        task_status: None,
        attempts: 1,
        max_attempts: 1,
        started_at: None,
        deadline_seconds: DEFAULT_DEADLINE_SECONDS,
        poll_wait_seconds: FIRST_POLL_SECONDS,
        polls: 0,
        drain_regions: Vec::new(),
        inventory: Vec::new(),
        inventory_cut: None,
        deleted: Vec::new(),
        deleted_count: 0,
        waiting: Vec::new(),
        reason: None,
        role_usage: Vec::new(),
        event_id: event.id.clone(),
    })
}

/// Only the ECS service-linked role (with an optional suffix) is this function's to touch.
fn check_role_name(name: &str, field: &'static str) -> Result<(), InvocationError> {
    let base = ECS_SERVICE_LINKED_ROLE.name;
    let ok = name == base
        || name
            .strip_prefix(base)
            .and_then(|rest| rest.strip_prefix('_'))
            .is_some_and(|suffix| {
                !suffix.is_empty()
                    && name.len() <= 64
                    && suffix
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || "+=,.@-_".contains(c))
            });
    if ok {
        Ok(())
    } else {
        bad(
            field,
            format!(
                "{name:?}: this function only deletes or edits {base} (optionally with a _suffix)"
            ),
        )
    }
}

fn is_account_id(value: &str) -> bool {
    value.len() == 12 && value.bytes().all(|b| b.is_ascii_digit())
}

fn bad<T>(field: &'static str, problem: String) -> Result<T, InvocationError> {
    Err(InvocationError::BadField { field, problem })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn polls_back_off_from_5_s_doubling_to_a_60_s_cap() {
        let mut current = FIRST_POLL_SECONDS;
        let mut waits = Vec::new();
        for _ in 0..7 {
            let (wait, next) = next_poll(current);
            waits.push(wait);
            current = next;
        }
        assert_eq!(waits, [5, 10, 20, 40, 60, 60, 60]);
        assert_eq!(next_poll(0).0, 5, "a state without a wait starts at 5 s");
    }

    #[test]
    fn only_the_ecs_service_linked_role_is_accepted() {
        assert!(check_role_name("AWSServiceRoleForECS", "r").is_ok());
        assert!(check_role_name("AWSServiceRoleForECS_blue", "r").is_ok());
        for other in [
            "AWSServiceRoleForECSX",
            "AWSServiceRoleForApplicationAutoScaling_ECSService",
            "",
            "AWSServiceRoleForECS_",
        ] {
            assert!(check_role_name(other, "r").is_err(), "{other}");
        }
    }

    #[test]
    fn a_start_input_becomes_a_plan_state_and_round_trips() {
        let start: DeletionState = serde_json::from_value(serde_json::json!({
            "role_name": "AWSServiceRoleForECS", "regions": ["eu-west-1"], "drain": false
        }))
        .unwrap();
        assert_eq!(start.phase, Phase::Plan);
        assert_eq!((start.max_attempts, start.deadline_seconds), (3, 1800));
        let again: DeletionState =
            serde_json::from_value(serde_json::to_value(&start).unwrap()).unwrap();
        assert_eq!(again, start);
    }
}
