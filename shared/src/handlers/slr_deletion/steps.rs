//! The steps of a deletion, one per invocation: plan (inventory the regions), approve (a
//! hub's drain of a member account waits for a person), drain (only with drain and a
//! confirmed account; what uses the role, in seed 004's order),
//! submit (DeleteServiceLinkedRole), poll (the task, backing off), each moving the
//! state's progress on and recording its evidence.

use tokio::task::JoinSet;
use tracing::Instrument;

use super::state::{
    next_poll, DeletionState, Outcome, RoleUsage, Stage, DRAIN_WAIT_SECONDS, FIRST_POLL_SECONDS,
};
use super::{DeletionClients, SlrDeletion, StepOutput, EVENT_SOURCE, FUNCTION};
use crate::aws::ids::is_region_name;
use crate::aws::{self, CallError, CallLog, Clients, Regional};
use crate::domain::catalog::ECS_SERVICE_LINKED_ROLE;
use crate::domain::checks::Check;
use crate::domain::{clusters, regions};
use crate::handlers::Common;
use crate::invocation::checks::CheckId;
use crate::invocation::deadline::Deadline;
use crate::invocation::gate::{failure, Gated, Scope};
use crate::invocation::report::{Finding, Report, Status, CALLS_LISTED};
use crate::invocation::settings::Mode;

impl SlrDeletion {
    /// Runs one step of the deletion in the account it deletes in; a drain step stops
    /// starting writes at `deadline`.
    pub async fn step(
        &self,
        mut state: DeletionState,
        now: u64,
        deadline: &Deadline,
    ) -> StepOutput {
        let partition =
            aws::ids::partition(state.request.regions.first().map_or("", String::as_str));
        let member = self.is_member(state.request.account.as_deref());
        // A hub drains a member account through the drain's own role, nothing else.
        let drains = member && state.progress.stage == Stage::Drain;
        let (account, clients) = self
            .in_account(state.request.account.as_deref(), partition, drains)
            .await;
        // The logs name the account; the answer's state does (`account`) when the request
        // named one, so the report flattened beside it does not say it twice.
        let span = tracing::info_span!("account", account = account.as_deref().unwrap_or(""));
        let output = match clients {
            Ok(DeletionClients {
                clients,
                regional,
                account,
            }) => {
                let run = Run {
                    common: &self.common,
                    clients,
                    regional,
                    account,
                    member,
                };
                let mut output = run.step(state, now, deadline).instrument(span).await;
                if output.state.progress.stage == Stage::Approve && output.state.approval.is_none()
                {
                    self.drain_allowed(&mut output, partition).await;
                }
                output
            }
            Err(refused) if drains => {
                // The member account has not allowed drains (or no longer does).
                state.stop(Outcome::Blocked, not_allowed(&refused.detail));
                self.answer_of(state, refused)
            }
            Err(refused) => {
                // Nothing can be done there: the deletion ends, saying why.
                state.progress.finish(Outcome::Failed);
                self.answer_of(state, refused)
            }
        };
        output
    }

    /// The answer of a step that made no call in its account: `state` and the one
    /// finding that says what happened, logged.
    fn answer_of(&self, state: DeletionState, finding: Finding) -> StepOutput {
        let report = Report::new(
            FUNCTION,
            self.common.settings.mode,
            state.request.event_id.clone(),
            None,
            vec![finding],
            self.common.calls.take(),
        );
        report.log();
        StepOutput { state, report }
    }

    /// Before a person is asked to approve a drain, the member account must allow it: the
    /// drain's role there can be assumed. Otherwise the deletion ends blocked, untouched.
    async fn drain_allowed(&self, output: &mut StepOutput, partition: &'static str) {
        let Some(account) = output.state.request.account.as_deref() else {
            return;
        };
        if let Err(refused) = self.drain_clients.get(account, partition).await {
            let why = not_allowed(&refused.detail);
            output.report.findings.push(Finding::new(
                refused.resource.clone(),
                CheckId::APPROVAL,
                Status::Failed,
                why.clone(),
            ));
            output.state.stop(Outcome::Blocked, why);
        }
    }

    /// The request for a person's approval of a drain, published while the state machine
    /// waits on `token`: what would be deleted, and how to approve or refuse.
    pub fn ask_approval(&self, state: DeletionState, token: &str) -> StepOutput {
        let account = state.request.account.clone().unwrap_or_default();
        let inventory = state
            .evidence
            .inventory
            .iter()
            .filter(|r| !r.clusters.is_empty())
            .map(|r| format!("{}: {}", r.region, r.summary()))
            .collect::<Vec<_>>()
            .join("; ");
        let detail = format!(
            "a person must approve draining account {account} before anything is deleted there; \
             the drain deletes every ECS service and cluster that uses {role} ({inventory}). \
             Approve: aws stepfunctions send-task-success --task-token '{token}' \
             --task-output '{{\"approved_by\": \"<your name>\"}}'. \
             Refuse: aws stepfunctions send-task-failure --task-token '{token}' \
             --error Refused --cause '<why>'. Without an answer in {timeout} s the deletion \
             ends blocked with nothing deleted",
            role = state.request.role_name,
            timeout = state.request.approval_timeout_seconds,
        );
        let asked = Finding::new(
            format!("arn:aws:iam::{account}:root"),
            CheckId::APPROVAL,
            Status::Skipped,
            detail,
        );
        self.answer_of(state, asked)
    }
}

/// Why a member account's drain cannot be done: the account has not allowed it.
fn not_allowed(refusal: &str) -> String {
    format!(
        "the account has not allowed drains: its ecs-warden stack makes the drain's role only \
         with AllowDrain=true, and nothing is deleted without it ({refusal})"
    )
}

/// One step in one account: the handler's settings and calls, and that account's clients.
struct Run<'a> {
    common: &'a Common,
    clients: Clients,
    regional: Regional,
    account: aws_sdk_account::Client,
    /// A hub acting in a member account: a drain there needs a person's approval.
    member: bool,
}

impl Run<'_> {
    /// Runs one step of the deletion; a drain step stops starting writes at `deadline`.
    async fn step(&self, mut state: DeletionState, now: u64, deadline: &Deadline) -> StepOutput {
        let started = *state.progress.started_at.get_or_insert(now);
        state.evidence.waiting.clear();
        let mut findings = Vec::new();
        let elapsed = now.saturating_sub(started);
        match state.progress.stage {
            Stage::Done(_) => {}
            _ if elapsed > state.request.deadline_seconds
                && state.progress.stage != Stage::Poll =>
            {
                let why = format!(
                    "the deadline of {} s passed in phase {:?} after {elapsed} s",
                    state.request.deadline_seconds,
                    state.progress.stage.phase()
                );
                findings.push(Finding::new(
                    self.role_arn(&state),
                    Check::Deadline,
                    Status::Failed,
                    why,
                ));
                state.progress.finish(Outcome::Failed);
            }
            Stage::Plan => self.plan(&mut state, &mut findings).await,
            Stage::Approve => self.approve(&mut state, &mut findings),
            Stage::Drain => self.drain(&mut state, &mut findings, deadline).await,
            Stage::Submit => self.submit(&mut state, &mut findings).await,
            Stage::Poll => self.poll(&mut state, &mut findings, elapsed).await,
        }
        let mut report = Report::new(
            FUNCTION,
            self.common.settings.mode,
            state.request.event_id.clone(),
            state
                .request
                .event_id
                .as_ref()
                .map(|_| format!("{EVENT_SOURCE}:DeleteServiceLinkedRole")),
            findings,
            self.common.calls.take(),
        );
        report.compact_calls(CALLS_LISTED);
        report.log();
        StepOutput { state, report }
    }

    async fn plan(&self, state: &mut DeletionState, findings: &mut Vec<Finding>) {
        if state.request.regions.is_empty() {
            // No region named anywhere: every region enabled for the account, which the
            // state then carries to the later steps.
            let refused = match regions::enabled(&self.account).await {
                Ok(enabled) if !enabled.is_empty() => {
                    state.request.regions = enabled;
                    None
                }
                Ok(_) => Some("account:ListRegions answered no enabled region".to_owned()),
                Err(e) => Some(e.explain("account:ListRegions", "the account's enabled regions")),
            };
            if let Some(why) = refused {
                findings.push(Finding::new(
                    self.role_arn(state),
                    Check::Inventory,
                    Status::Failed,
                    format!("no region to inventory, so the role is not deleted: {why}"),
                ));
                state.progress.finish(Outcome::Failed);
                return;
            }
        }
        let mut tasks = JoinSet::new();
        for region in state.request.regions.clone() {
            let ecs = self.regional.clients(&region).ecs;
            tasks.spawn(CallLog::carried(
                async move {
                    let found = clusters::inventory(&ecs, &region).await;
                    (region, found)
                }
                .in_current_span(),
            ));
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
        let opted_out: Vec<String> = inventory
            .iter()
            .flat_map(|r| &r.clusters)
            .filter_map(|c| c.ignored.clone())
            .collect();
        state.evidence.keep_inventory(inventory);
        if unreadable {
            // The role can only go once no region holds a cluster; an unread region may.
            return state.stop(
                Outcome::Failed,
                "a region could not be inventoried; see the findings",
            );
        }
        if busy.is_empty() {
            return self.ready_to_submit(state, findings);
        }
        if !opted_out.is_empty() {
            // Nobody is asked to approve a drain that could never end.
            let why = format!(
                "ECS clusters whose owners opted out of ecs-warden use the role: {}; ecs-warden never drains them. Delete them by hand, or remove the tag",
                opted_out.join("; ")
            );
            return state.stop(Outcome::Blocked, why);
        }
        if !state.request.drain {
            let why = format!(
                "ECS clusters in {} use the role; delete them first, or start again with \"drain\": true and \"confirm_account\"",
                busy.join(", ")
            );
            return state.stop(Outcome::Blocked, why);
        }
        state.progress.drain_regions = busy;
        if self.member && self.common.settings.mode != Mode::Audit {
            // The state machine asks a person before the first drain write.
            findings.push(Finding::new(
                self.role_arn(state),
                CheckId::APPROVAL,
                Status::Skipped,
                "a drain in a member account waits for a person's approval",
            ));
            return state.progress.go(Stage::Approve);
        }
        state.progress.go(Stage::Drain);
    }

    /// After the state machine's wait: approved, the drain starts; refused or timed out,
    /// the deletion ends blocked with nothing deleted; neither, it waits again.
    fn approve(&self, state: &mut DeletionState, findings: &mut Vec<Finding>) {
        let role = self.role_arn(state);
        if let Some(refusal) = state.refusal.clone() {
            let why = format!(
                "the drain was not approved ({}{}); nothing was deleted",
                refusal.error,
                refusal.cause.map(|c| format!(": {c}")).unwrap_or_default()
            );
            findings.push(Finding::new(
                role,
                CheckId::APPROVAL,
                Status::Failed,
                why.clone(),
            ));
            return state.stop(Outcome::Blocked, why);
        }
        match &state.approval {
            Some(approval) => {
                findings.push(Finding::new(
                    role,
                    CheckId::APPROVAL,
                    Status::Compliant,
                    format!("the drain was approved by {}", approval.approved_by),
                ));
                state.progress.go(Stage::Drain);
            }
            None => findings.push(Finding::new(
                role,
                CheckId::APPROVAL,
                Status::Skipped,
                "waiting for a person's approval before any drain write",
            )),
        }
    }

    fn ready_to_submit(&self, state: &mut DeletionState, findings: &mut Vec<Finding>) {
        if self.common.settings.mode == Mode::Audit {
            findings.push(on_deletion(
                self.role_arn(state),
                Status::WouldRepair,
                "audit mode; would call DeleteServiceLinkedRole and poll the task",
            ));
            return state.stop(Outcome::Blocked, "audit mode makes no write");
        }
        state.progress.go(Stage::Submit);
    }

    async fn drain(
        &self,
        state: &mut DeletionState,
        findings: &mut Vec<Finding>,
        deadline: &Deadline,
    ) {
        let Some(scope) = self.confirmed(state, findings).await else {
            return state.progress.finish(Outcome::Failed);
        };
        let mut tasks = JoinSet::new();
        for region in state.progress.drain_regions.clone() {
            let ecs = self.regional.clients(&region).ecs;
            let (scope, deadline) = (scope.clone(), deadline.clone());
            tasks.spawn(CallLog::carried(
                async move { clusters::drain_step(&ecs, &region, &scope, &deadline).await }
                    .in_current_span(),
            ));
        }
        let (mut clear, mut stuck, mut cut) = (true, false, false);
        while let Some(joined) = tasks.join_next().await {
            match joined {
                Ok(step) => {
                    clear &= step.clear;
                    stuck |= step.stuck;
                    cut |= step.cut;
                    state.evidence.record_deleted(step.deleted);
                    state.evidence.waiting.extend(step.waiting);
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
        if self.common.settings.mode == Mode::Audit {
            return state.stop(Outcome::Blocked, "audit mode makes no write");
        }
        if stuck {
            return state.stop(
                Outcome::Failed,
                "a drain call failed in a way waiting will not fix; see the findings",
            );
        }
        if clear {
            state.progress.go(Stage::Submit);
        } else if cut {
            // Work was left undone, not waiting on ECS: carry on at once.
            state.progress.wait_seconds = 0;
        } else {
            state.progress.wait_seconds = DRAIN_WAIT_SECONDS;
        }
        state.evidence.bound_waiting();
    }

    /// The scope of a drain step, once the account the credentials act in is the one the
    /// request confirmed (checked before every drain step, before any write); otherwise
    /// a failed finding and no scope.
    async fn confirmed(&self, state: &DeletionState, findings: &mut Vec<Finding>) -> Option<Scope> {
        let caller = match self.caller_account().await {
            Ok(caller) => caller,
            Err(e) => {
                findings.push(Finding::new(
                    "",
                    Check::Confirm,
                    Status::Failed,
                    e.explain("sts:GetCallerIdentity", "the caller"),
                ));
                return None;
            }
        };
        if self.member && state.approval.is_none() {
            findings.push(Finding::new(
                format!("account {caller}"),
                Check::Confirm,
                Status::Failed,
                "refused before any write: a hub's drain of a member account needs a person's \
                 approval, given to the slr-deletion state machine's wait",
            ));
            return None;
        }
        if !state.request.drain || state.request.confirm_account.as_deref() != Some(caller.as_str())
        {
            findings.push(Finding::new(
                format!("account {caller}"),
                Check::Confirm,
                Status::Failed,
                format!(
                    "refused before any write: draining needs \"drain\": true and \"confirm_account\": \"{caller}\" (the account these credentials act in); got drain {} and confirm_account {:?}",
                    state.request.drain, state.request.confirm_account
                ),
            ));
            return None;
        }
        Some(Scope {
            mode: self.common.settings.mode,
            account: caller,
            partition: aws::ids::partition(
                state
                    .progress
                    .drain_regions
                    .first()
                    .map_or("", String::as_str),
            ),
            event_id: state.request.event_id.clone().unwrap_or_default(),
            cause: match &state.approval {
                Some(approval) => format!(
                    "{FUNCTION}: drain confirmed for this account, approved by {}",
                    approval.approved_by
                ),
                None => format!("{FUNCTION}: drain confirmed for this account"),
            },
        })
    }

    async fn submit(&self, state: &mut DeletionState, findings: &mut Vec<Finding>) {
        let arn = self.role_arn(state);
        let region = state.request.regions.first().map_or("", String::as_str);
        let scope = Scope {
            mode: self.common.settings.mode,
            account: state.request.deleting_in().unwrap_or_default().to_owned(),
            partition: aws::ids::partition(region),
            event_id: state.request.event_id.clone().unwrap_or_default(),
            cause: format!("{FUNCTION}: deletion asked"),
        };
        let call = self
            .clients
            .iam
            .delete_service_linked_role()
            .role_name(&state.request.role_name)
            .send();
        let why = "deletion asked; nothing uses the role";
        match scope
            .write("iam:DeleteServiceLinkedRole", &arn, why, call)
            .await
        {
            Gated::Audited => self.ready_to_submit(state, findings),
            Gated::Done(out) => {
                state.progress.attempts += 1;
                state.progress.deletion_task_id = Some(out.deletion_task_id().to_owned());
                state.progress.task_status = None;
                state.progress.stage = Stage::Poll;
                // The first poll waits FIRST_POLL_SECONDS; each later wait doubles it.
                (
                    state.progress.wait_seconds,
                    state.progress.poll_wait_seconds,
                ) = next_poll(FIRST_POLL_SECONDS);
                findings.push(Finding::new(
                    arn,
                    Check::DeletionSubmitted,
                    Status::Repaired,
                    format!(
                        "submitted DeleteServiceLinkedRole (attempt {} of {}); task {}",
                        state.progress.attempts,
                        state.request.max_attempts,
                        out.deletion_task_id()
                    ),
                ));
            }
            Gated::Failed(failed) if failed.error.is_not_found() => {
                findings.push(on_deletion(
                    arn,
                    Status::Compliant,
                    "the role does not exist; nothing to delete",
                ));
                state.progress.finish(Outcome::Deleted);
            }
            Gated::Failed(failed) if clusters::is_transient(&failed.error) => {
                findings.push(Finding::new(
                    &arn,
                    Check::DeletionSubmitted,
                    Status::Failed,
                    format!("{failed}; retried next step"),
                ));
                state.progress.wait_seconds = FIRST_POLL_SECONDS;
            }
            Gated::Failed(failed) => {
                findings.push(failure(&failed, Check::DeletionSubmitted, ""));
                state.progress.finish(Outcome::Failed);
            }
        }
    }

    async fn poll(&self, state: &mut DeletionState, findings: &mut Vec<Finding>, elapsed: u64) {
        let arn = self.role_arn(state);
        let task = state.progress.deletion_task_id.clone().unwrap_or_default();
        state.progress.polls += 1;
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
                    findings.push(on_deletion(
                        &arn,
                        Status::Failed,
                        format!("{detail}; polled again next step"),
                    ));
                    return self.keep_polling(state, findings, &arn, elapsed);
                }
                findings.push(on_deletion(arn, Status::Failed, detail));
                return state.progress.finish(Outcome::Failed);
            }
        };
        let status = out.status().as_str().to_owned();
        state.progress.task_status = Some(status.clone());
        match status.as_str() {
            "SUCCEEDED" => {
                findings.push(on_deletion(
                    arn,
                    Status::Repaired,
                    format!("task {task} SUCCEEDED: the role is deleted"),
                ));
                state.progress.finish(Outcome::Deleted);
            }
            "FAILED" => {
                let reason = out.reason();
                state.evidence.reason = reason.and_then(|r| r.reason()).map(String::from);
                state.evidence.role_usage = reason
                    .map(|r| r.role_usage_list())
                    .unwrap_or_default()
                    .iter()
                    .map(|u| RoleUsage {
                        region: u.region().unwrap_or_default().to_owned(),
                        resources: u.resources().to_vec(),
                    })
                    .collect();
                findings.push(on_deletion(&arn, Status::Failed, failure_words(state)));
                self.after_failure(state);
            }
            _ => self.keep_polling(state, findings, &arn, elapsed),
        }
    }

    /// After a FAILED task: drain exactly the regions IAM named and submit again, while
    /// drain is on and attempts remain, as seed 004 says to repeat; otherwise fail.
    fn after_failure(&self, state: &mut DeletionState) {
        let regions: Vec<String> = state
            .evidence
            .role_usage
            .iter()
            .map(|u| u.region.clone())
            .filter(|r| is_region_name(r))
            .collect();
        if state.request.drain
            && state.progress.attempts < state.request.max_attempts
            && !regions.is_empty()
        {
            state.progress.drain_regions = regions;
            state.progress.go(Stage::Drain);
        } else {
            state.progress.finish(Outcome::Failed);
        }
    }

    fn keep_polling(
        &self,
        state: &mut DeletionState,
        findings: &mut Vec<Finding>,
        arn: &str,
        elapsed: u64,
    ) {
        let (wait, next) = next_poll(state.progress.poll_wait_seconds);
        if elapsed + wait > state.request.deadline_seconds {
            findings.push(Finding::new(
                arn,
                Check::Deadline,
                Status::Failed,
                format!(
                    "task {} is still {} after {elapsed} s; the deadline is {} s. It may still finish: poll it again by starting with its CloudTrail event",
                    state.progress.deletion_task_id.as_deref().unwrap_or_default(),
                    state.progress.task_status.as_deref().unwrap_or("unknown"),
                    state.request.deadline_seconds
                ),
            ));
            return state.progress.finish(Outcome::Failed);
        }
        state.progress.wait_seconds = wait;
        state.progress.poll_wait_seconds = next;
    }

    /// A task IAM no longer knows: a fast deletion can purge it, so ask for the role.
    async fn confirm_gone(
        &self,
        state: &mut DeletionState,
        findings: &mut Vec<Finding>,
        arn: &str,
    ) {
        let role = self
            .clients
            .iam
            .get_role()
            .role_name(&state.request.role_name)
            .send()
            .await;
        match role {
            Err(e) if CallError::from_sdk(&e).is_not_found() => {
                let gone = "the task is gone and so is the role: deleted";
                findings.push(on_deletion(arn, Status::Repaired, gone));
                state.progress.finish(Outcome::Deleted);
            }
            Err(e) => {
                let failed = CallError::from_sdk(&e).explain("iam:GetRole", arn);
                findings.push(on_deletion(arn, Status::Failed, failed));
                state.progress.finish(Outcome::Failed);
            }
            Ok(_) if state.progress.attempts < state.request.max_attempts => {
                let again =
                    "IAM no longer knows the task but the role still exists; submitting again";
                findings.push(on_deletion(arn, Status::Failed, again));
                state.progress.go(Stage::Submit);
            }
            Ok(_) => {
                let stuck = "IAM no longer knows the task but the role still exists";
                findings.push(on_deletion(arn, Status::Failed, stuck));
                state.progress.finish(Outcome::Failed);
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
        let resource = format!(
            "role{}{}",
            ECS_SERVICE_LINKED_ROLE.path, state.request.role_name
        );
        match state.request.deleting_in() {
            Some(account) => {
                let region = state.request.regions.first().map_or("", String::as_str);
                format!(
                    "arn:{}:iam::{account}:{resource}",
                    aws::ids::partition(region)
                )
            }
            None => resource,
        }
    }
}

fn failure_words(state: &DeletionState) -> String {
    let usage: Vec<String> = state
        .evidence
        .role_usage
        .iter()
        .map(|u| format!("{}: {}", u.region, u.resources.join(", ")))
        .collect();
    format!(
        "task {} FAILED: {}{}",
        state
            .progress
            .deletion_task_id
            .as_deref()
            .unwrap_or_default(),
        state
            .evidence
            .reason
            .as_deref()
            .unwrap_or("no reason given"),
        if usage.is_empty() {
            "; IAM named no resource".to_owned()
        } else {
            format!("; still in use in {}", usage.join("; "))
        }
    )
}

/// A finding on the deletion as a whole.
fn on_deletion(arn: impl Into<String>, status: Status, detail: impl Into<String>) -> Finding {
    Finding::new(arn, Check::Deletion, status, detail)
}
