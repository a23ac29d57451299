//! The deletion's state, as the state machine carries it from one step to the next: what
//! was asked (request), where the deletion stands (progress) and what it has seen and done
//! (evidence). The three groups serialize flat, as one JSON object, so the start input is
//! the request alone and grows into the state; every part is bounded for the state
//! machine's 256 KB.

use serde::{Deserialize, Serialize};

use crate::domain::clusters::RegionInventory;
use crate::invocation::report::Report;

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
/// Deleted ARNs kept in the state.
pub const DELETED_KEPT: usize = 100;
/// Default time a person has to approve a hub's drain of a member account: a day.
pub const DEFAULT_APPROVAL_TIMEOUT_SECONDS: u64 = 86_400;
/// "Waiting for" lines kept in the state.
pub const WAITING_KEPT: usize = 50;
/// Clusters listed in the state's inventory (their services and instances up to this many
/// each); the plan's findings count them all.
pub const INVENTORY_KEPT: usize = 20;

/// Where a deletion stands, as the state's `phase` names it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// Inventory the regions.
    #[default]
    Plan,
    /// Wait for a person's approval of a hub's drain in a member account.
    Approve,
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

impl Outcome {
    /// The outcome's name in the state and in notifications.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Deleted => "deleted",
            Self::Blocked => "blocked",
            Self::Failed => "failed",
        }
    }
}

/// Where a deletion stands: one value, written to JSON as `phase`, `done` and `outcome`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Stage {
    /// Inventory the regions.
    #[default]
    Plan,
    /// Wait for a person's approval of the drain (a hub's, in a member account).
    Approve,
    /// Remove what uses the role.
    Drain,
    /// Call DeleteServiceLinkedRole.
    Submit,
    /// Poll the deletion task.
    Poll,
    /// Finished, and how.
    Done(Outcome),
}

impl Stage {
    /// The state's `phase` for this stage.
    pub fn phase(self) -> Phase {
        match self {
            Self::Plan => Phase::Plan,
            Self::Approve => Phase::Approve,
            Self::Drain => Phase::Drain,
            Self::Submit => Phase::Submit,
            Self::Poll => Phase::Poll,
            Self::Done(_) => Phase::Done,
        }
    }
}

/// A region and the resources IAM says still use the role there.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoleUsage {
    /// The region.
    pub region: String,
    /// The resources, as IAM lists them.
    pub resources: Vec<String>,
}

/// What was asked: the start input, carried unchanged.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Request {
    /// The role to delete: `AWSServiceRoleForECS` (with an optional suffix).
    pub role_name: String,
    /// Regions to inventory and drain; empty means the configured ones.
    #[serde(default)]
    pub regions: Vec<String>,
    /// Whether ECS resources may be deleted to free the role.
    #[serde(default)]
    pub drain: bool,
    /// The account to delete in: a member account, for a hub; absent, the function's own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    /// Must equal the caller's account for draining.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confirm_account: Option<String>,
    /// Submissions allowed.
    #[serde(default = "default_max_attempts")]
    pub max_attempts: u32,
    /// The whole deletion's deadline, from `started_at`.
    #[serde(default = "default_deadline")]
    pub deadline_seconds: u64,
    /// How long a person has to approve a hub's drain of a member account before the
    /// deletion ends blocked (the state machine's wait reads it).
    #[serde(default = "default_approval_timeout")]
    pub approval_timeout_seconds: u64,
    /// The id of the event that started the deletion, carried to every report.
    #[serde(default, skip_serializing)]
    pub event_id: Option<String>,
}

impl Request {
    /// The account the deletion acts in, when the request names it.
    pub fn deleting_in(&self) -> Option<&str> {
        self.account.as_deref().or(self.confirm_account.as_deref())
    }
}

/// Where the deletion stands and when to look again.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "ProgressFields", into = "ProgressFields")]
pub struct Progress {
    /// The stage; `phase`, `done` and `outcome` in JSON.
    pub stage: Stage,
    /// How long to wait before the next step.
    pub wait_seconds: u64,
    /// The task DeleteServiceLinkedRole returned.
    pub deletion_task_id: Option<String>,
    /// The task's last status.
    pub task_status: Option<String>,
    /// DeleteServiceLinkedRole submissions made so far.
    pub attempts: u32,
    /// When the first step ran (seconds since the epoch).
    pub started_at: Option<u64>,
    /// The wait before the next poll; doubles up to 60 s.
    pub poll_wait_seconds: u64,
    /// Status calls made so far.
    pub polls: u32,
    /// Regions the drain phase works on.
    pub drain_regions: Vec<String>,
}

/// What the deletion has seen and done, each list bounded.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Evidence {
    /// What the plan found in each region, cut to [`INVENTORY_KEPT`] clusters.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub inventory: Vec<RegionInventory>,
    /// What the inventory leaves out, when it was cut.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inventory_cut: Option<String>,
    /// The latest deletions, by ARN, at most [`DELETED_KEPT`]: a large account deletes
    /// thousands of resources (the log has a line for each).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub deleted: Vec<String>,
    /// Everything deleted so far.
    #[serde(default)]
    pub deleted_count: u64,
    /// What the last step waits for.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub waiting: Vec<String>,
    /// The reason of the last failed deletion task, or why the deletion stopped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The regions and resources the last failed task reported.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub role_usage: Vec<RoleUsage>,
}

/// The state one step passes to the next: the start input grows into it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeletionState {
    /// What was asked.
    #[serde(flatten)]
    pub request: Request,
    /// Where the deletion stands.
    #[serde(flatten)]
    pub progress: Progress,
    /// What it has seen and done.
    #[serde(flatten)]
    pub evidence: Evidence,
    /// A person's approval of a hub's drain: what `aws stepfunctions send-task-success`
    /// gave the state machine's wait. Only that wait sets it: a start drops it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approval: Option<Approval>,
    /// A refusal, or the wait's timeout: what the state machine caught instead of an
    /// approval.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refusal: Option<Refusal>,
}

/// A person's approval of a drain, as the approver sends it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Approval {
    /// Who approved: logged with every drain write.
    pub approved_by: String,
}

/// Why no approval came, as Step Functions catches it: `send-task-failure`'s error and
/// cause, or `States.Timeout`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Refusal {
    /// The error name.
    #[serde(rename = "Error", default)]
    pub error: String,
    /// The cause, when one was given.
    #[serde(rename = "Cause", default, skip_serializing_if = "Option::is_none")]
    pub cause: Option<String>,
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

fn default_max_attempts() -> u32 {
    DEFAULT_MAX_ATTEMPTS
}

fn default_deadline() -> u64 {
    DEFAULT_DEADLINE_SECONDS
}

fn default_approval_timeout() -> u64 {
    DEFAULT_APPROVAL_TIMEOUT_SECONDS
}

/// [`Progress`] as the state machine sees it: `phase`, `done` and `outcome` side by side.
#[derive(Serialize, Deserialize)]
struct ProgressFields {
    #[serde(default)]
    phase: Phase,
    #[serde(default)]
    done: bool,
    #[serde(default)]
    wait_seconds: u64,
    // Always written, null until done: the state machine reads it, and Step Functions
    // fails a state whose path is missing.
    #[serde(default)]
    outcome: Option<Outcome>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    deletion_task_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    task_status: Option<String>,
    #[serde(default)]
    attempts: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    started_at: Option<u64>,
    #[serde(default)]
    poll_wait_seconds: u64,
    #[serde(default)]
    polls: u32,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    drain_regions: Vec<String>,
}

impl TryFrom<ProgressFields> for Progress {
    type Error = String;

    /// `phase` decides; `done` is derived from it, and only a finished deletion has an
    /// outcome.
    fn try_from(f: ProgressFields) -> Result<Self, String> {
        let stage = match (f.phase, f.outcome) {
            (Phase::Plan, None) => Stage::Plan,
            (Phase::Approve, None) => Stage::Approve,
            (Phase::Drain, None) => Stage::Drain,
            (Phase::Submit, None) => Stage::Submit,
            (Phase::Poll, None) => Stage::Poll,
            (Phase::Done, Some(outcome)) => Stage::Done(outcome),
            (Phase::Done, None) => return Err("phase done needs its outcome".into()),
            (phase, Some(_)) => {
                return Err(format!(
                    "phase {phase:?} has no outcome yet; only done has one"
                ))
            }
        };
        Ok(Self {
            stage,
            wait_seconds: f.wait_seconds,
            deletion_task_id: f.deletion_task_id,
            task_status: f.task_status,
            attempts: f.attempts,
            started_at: f.started_at,
            poll_wait_seconds: f.poll_wait_seconds,
            polls: f.polls,
            drain_regions: f.drain_regions,
        })
    }
}

impl From<Progress> for ProgressFields {
    fn from(p: Progress) -> Self {
        Self {
            phase: p.stage.phase(),
            done: p.is_done(),
            wait_seconds: p.wait_seconds,
            outcome: match p.stage {
                Stage::Done(outcome) => Some(outcome),
                _ => None,
            },
            deletion_task_id: p.deletion_task_id,
            task_status: p.task_status,
            attempts: p.attempts,
            started_at: p.started_at,
            poll_wait_seconds: p.poll_wait_seconds,
            polls: p.polls,
            drain_regions: p.drain_regions,
        }
    }
}

impl Progress {
    /// Whether the deletion has ended.
    pub fn is_done(&self) -> bool {
        matches!(self.stage, Stage::Done(_))
    }

    /// How it ended, once done.
    pub fn outcome(&self) -> Option<Outcome> {
        match self.stage {
            Stage::Done(outcome) => Some(outcome),
            _ => None,
        }
    }

    /// Moves on to `stage` at once.
    pub(super) fn go(&mut self, stage: Stage) {
        self.stage = stage;
        self.wait_seconds = 0;
    }

    /// Ends the deletion with `outcome`.
    pub(super) fn finish(&mut self, outcome: Outcome) {
        self.go(Stage::Done(outcome));
    }
}

/// The wait before the next poll and the one after it: 5 s, doubling, capped at 60 s.
pub fn next_poll(current: u64) -> (u64, u64) {
    let wait = current.clamp(FIRST_POLL_SECONDS, MAX_POLL_SECONDS);
    (wait, (wait * 2).min(MAX_POLL_SECONDS))
}

impl DeletionState {
    /// A deletion that has not started: `request` alone.
    pub fn start(request: Request) -> Self {
        Self {
            request,
            progress: Progress::default(),
            evidence: Evidence::default(),
            approval: None,
            refusal: None,
        }
    }

    /// Ends the deletion with `outcome`, saying why.
    pub(super) fn stop(&mut self, outcome: Outcome, reason: impl Into<String>) {
        self.evidence.reason = Some(reason.into());
        self.progress.finish(outcome);
    }
}

impl Evidence {
    /// Counts `deleted` and keeps the latest [`DELETED_KEPT`] of them.
    pub(super) fn record_deleted(&mut self, deleted: Vec<String>) {
        self.deleted_count += deleted.len() as u64;
        self.deleted.extend(deleted);
        let excess = self.deleted.len().saturating_sub(DELETED_KEPT);
        self.deleted.drain(..excess);
    }

    /// Keeps the first [`WAITING_KEPT`] waiting lines and says how many more there are.
    pub(super) fn bound_waiting(&mut self) {
        if self.waiting.len() > WAITING_KEPT {
            let more = self.waiting.len() - WAITING_KEPT;
            self.waiting.truncate(WAITING_KEPT);
            self.waiting.push(format!("and {more} more"));
        }
    }

    /// Keeps the inventory to [`INVENTORY_KEPT`] clusters in all, each with at most that
    /// many services and instances, and notes what was left out.
    pub(super) fn keep_inventory(&mut self, mut inventory: Vec<RegionInventory>) {
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
    fn a_start_input_becomes_a_plan_state_and_round_trips() {
        let start: DeletionState = serde_json::from_value(serde_json::json!({
            "role_name": "AWSServiceRoleForECS", "regions": ["eu-west-1"], "drain": false
        }))
        .unwrap();
        assert_eq!(start.progress.stage, Stage::Plan);
        assert_eq!(
            (start.request.max_attempts, start.request.deadline_seconds),
            (3, 1800)
        );
        let again: DeletionState =
            serde_json::from_value(serde_json::to_value(&start).unwrap()).unwrap();
        assert_eq!(again, start);
    }

    #[test]
    fn the_stage_is_written_as_phase_done_and_outcome_and_read_back_from_them() {
        let mut state: DeletionState =
            serde_json::from_value(serde_json::json!({"role_name": "AWSServiceRoleForECS"}))
                .unwrap();
        state.progress.finish(Outcome::Blocked);
        let json = serde_json::to_value(&state).unwrap();
        assert_eq!(
            (
                &json["phase"],
                &json["done"],
                &json["outcome"],
                &json["wait_seconds"]
            ),
            (
                &serde_json::json!("done"),
                &serde_json::json!(true),
                &serde_json::json!("blocked"),
                &serde_json::json!(0)
            )
        );
        let back: DeletionState = serde_json::from_value(json).unwrap();
        assert_eq!(back.progress.stage, Stage::Done(Outcome::Blocked));
        let plan = serde_json::to_value(DeletionState::start(state.request.clone())).unwrap();
        assert_eq!(
            (&plan["phase"], &plan["done"]),
            (&serde_json::json!("plan"), &serde_json::json!(false))
        );
        assert_eq!(
            plan.get("outcome"),
            Some(&serde_json::Value::Null),
            "present, null until done: the state machine reads it"
        );
        for torn in [
            serde_json::json!({"role_name": "AWSServiceRoleForECS", "phase": "done"}),
            serde_json::json!({"role_name": "AWSServiceRoleForECS", "phase": "poll", "outcome": "deleted"}),
        ] {
            let err = serde_json::from_value::<DeletionState>(torn).unwrap_err();
            assert!(err.to_string().contains("outcome"), "{err}");
        }
    }
}
