//! The `slr-deletion` function: drives the asynchronous deletion of `AWSServiceRoleForECS`
//! to its end, one step per invocation. Each step takes the state the previous one returned
//! (the state machine feeds it back after waiting `wait_seconds`) and returns the next:
//! plan → (drain) → submit → poll → done, with `outcome` `deleted`, `blocked` or `failed`.
//!
//! Nothing is deleted without `drain: true` and a `confirm_account` equal to the account the
//! function's credentials act in, checked before every drain step; audit mode writes nothing.
//! A hub deletes in a member account (`account` in the start input) through its member
//! role; `confirm_account` must then name that account, and a drain there takes two more
//! consents: the member account's (its stack makes the drain's own role only with
//! `AllowDrain=true`) and a person's (the state machine waits on a task token after the
//! plan, whose request this function publishes; only that wait can set `approval`, since
//! the state machine hands a start to the function wrapped as `{"start": ...}` and a start
//! drops it).
//!
//! - this module: the handler's one entry point, which routes a payload (a start input or
//!   a state, a CloudTrail DeleteServiceLinkedRole event, an edit request) and validates
//!   it whole before any call;
//! - `state`: the state the state machine carries, grouped into request, progress and
//!   evidence, and its bounds;
//! - `steps`: plan, drain, submit and poll;
//! - `edit`: the description edit.

mod edit;
mod state;
mod steps;

use serde::Serialize;
use serde_json::Value;

pub use state::{
    next_poll, Approval, DeletionState, Evidence, Outcome, Phase, Progress, Refusal, Request,
    RoleUsage, Stage, StepOutput, DEFAULT_APPROVAL_TIMEOUT_SECONDS, DEFAULT_DEADLINE_SECONDS,
    DEFAULT_MAX_ATTEMPTS, DELETED_KEPT, DRAIN_WAIT_SECONDS, FIRST_POLL_SECONDS, INVENTORY_KEPT,
    MAX_POLL_SECONDS, WAITING_KEPT,
};

use std::sync::Arc;

use super::{Common, Deps, Handler};
use crate::aws::ids::{is_account_id, is_region_name};
use crate::aws::{self, AccountWide, Clients, Regional};
use crate::domain::catalog::ECS_SERVICE_LINKED_ROLE;
use crate::invocation::clock::Clock;
use crate::invocation::context::Invocation;
use crate::invocation::error::InvocationError;
use crate::invocation::events::{accept, parse_api_call};
use crate::invocation::notice::{Notable, AWAITING_APPROVAL};
use crate::invocation::reach::AccountClients;
use crate::invocation::report::{Finding, Report};
use crate::invocation::settings::SettingsError;
pub use edit::Edit;
use edit::EditRequest;

/// The function's name in reports and logs.
pub const FUNCTION: &str = "slr-deletion";

/// The drain's own member role: `WARDEN_MEMBER_ROLE-slr-drain`, made by a member account's
/// stack only with `AllowDrain=true`.
pub const DRAIN_DUTY: &str = "slr-drain";

const EVENT_SOURCE: &str = "aws.iam";
const EVENT_NAMES: &[&str] = &["DeleteServiceLinkedRole"];

/// What the function answers: a deletion step, a request for a person's approval, or the
/// report of an edit.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Answer {
    /// One step of a deletion.
    Step(Box<StepOutput>),
    /// The request for approval of a drain, published while the state machine waits.
    Approval(Box<StepOutput>),
    /// The description edit.
    Edit(Report),
}

impl Notable for Answer {
    fn report(&self) -> &Report {
        match self {
            Self::Step(step) | Self::Approval(step) => &step.report,
            Self::Edit(report) => report,
        }
    }
    fn report_mut(&mut self) -> &mut Report {
        match self {
            Self::Step(step) | Self::Approval(step) => &mut step.report,
            Self::Edit(report) => report,
        }
    }
    fn outcome(&self) -> Option<&'static str> {
        match self {
            Self::Step(step) => step.state.progress.outcome().map(Outcome::as_str),
            Self::Approval(_) => Some(AWAITING_APPROVAL),
            Self::Edit(_) => None,
        }
    }
}

/// What a deletion acts through in one account: its regions' clients, and which are
/// enabled, for a plan that names none.
pub type DeletionClients = AccountWide;

/// The handler with the clients it keeps between invocations of a warm container.
#[derive(Debug)]
pub struct SlrDeletion {
    common: Common,
    clients: AccountClients<DeletionClients>,
    /// A hub's drain in a member account acts through the drain's own role.
    drain_clients: AccountClients<DeletionClients>,
    clock: Clock,
}

/// What slr-deletion is asked, validated before any AWS call.
#[derive(Debug)]
pub enum Command {
    /// One step of a deletion: a start, the state the previous step returned, or a
    /// CloudTrail DeleteServiceLinkedRole event for a deletion begun elsewhere.
    Step(Box<DeletionState>),
    /// The request for a person's approval of a hub's drain, with the task token the state
    /// machine waits on.
    AskApproval {
        /// The planned state whose drain needs approval.
        state: Box<DeletionState>,
        /// The state machine's task token.
        token: String,
    },
    /// The description edit.
    Edit(Edit),
}

impl Handler for SlrDeletion {
    const FUNCTION: &'static str = FUNCTION;
    type Input = Command;
    type Output = Answer;

    /// Its clients in each account, the drain's own member role in a member account
    /// (`WARDEN_MEMBER_ROLE-slr-drain`), and the clock its steps run on.
    fn build(deps: &Deps) -> Result<Self, SettingsError> {
        let own = DeletionClients::new(&deps.config, &deps.calls);
        Ok(Self::with_clients(deps, own.clients, own.regional))
    }

    /// A start input (wrapped by the state machine as `{"start": ...}`, whose claimed
    /// approval it drops), a state, a request for approval (`task_token` and
    /// `approval_request`), a CloudTrail DeleteServiceLinkedRole event or an edit request.
    fn parse(&self, mut payload: Value) -> Result<Command, InvocationError> {
        if let Some(token) = payload.get("task_token").and_then(Value::as_str) {
            let token = token.to_owned();
            let state = payload.get_mut("approval_request").map(Value::take).ok_or(
                InvocationError::BadField {
                    field: "approval_request",
                    problem: "missing: the state whose drain needs approval".into(),
                },
            )?;
            let state = Box::new(self.validate(parse_state(state)?)?);
            return Ok(Command::AskApproval { state, token });
        }
        // The state machine's start: whatever it says, no approval comes with it.
        let start = payload.get_mut("start").map(Value::take);
        let started = start.is_some();
        let payload = start.unwrap_or(payload);
        let state = if payload.get("detail-type").is_some() {
            state_from_event(payload)?
        } else if payload.get("action").is_some() {
            let request: EditRequest = serde_json::from_value(payload)
                .map_err(|e| InvocationError::NotAnEvent(format!("an edit request: {e}")))?;
            return Ok(Command::Edit(request.checked()?));
        } else {
            let mut state = parse_state(payload)?;
            if started {
                state.approval = None;
                state.refusal = None;
            }
            self.validate(state)?
        };
        Ok(Command::Step(Box::new(state)))
    }

    /// Runs one step (or the edit) at the clock's time; a drain step starts no new write
    /// once the deadline has passed and leaves the rest to the next step.
    async fn answer(
        &self,
        command: Command,
        invocation: &Invocation,
    ) -> Result<Answer, InvocationError> {
        Ok(match command {
            Command::AskApproval { state, token } => {
                Answer::Approval(Box::new(self.ask_approval(*state, &token)))
            }
            Command::Edit(edit) => Answer::Edit(self.edit(edit).await),
            Command::Step(state) => {
                let step = self
                    .step(*state, self.clock.now(), invocation.deadline())
                    .await;
                Answer::Step(Box::new(step))
            }
        })
    }
}

impl SlrDeletion {
    /// The handler over clients built elsewhere: [`Handler::build`]'s, or mocked ones
    /// (they act in the function's own account; a member account's are built as usual).
    pub fn with_clients(deps: &Deps, clients: Clients, regional: Regional) -> Self {
        let account = aws::account_client(&deps.config, &deps.calls);
        let own = DeletionClients {
            clients,
            regional,
            account,
        };
        // At home the drain uses the function's own clients; only a member account's differ.
        let drain_accounts = Arc::new(deps.accounts.acting_as(DRAIN_DUTY));
        Self {
            drain_clients: AccountClients::with_own(
                &drain_accounts,
                own.clone(),
                &deps.calls,
                DeletionClients::new,
            ),
            clients: AccountClients::with_own(
                &deps.accounts,
                own,
                &deps.calls,
                DeletionClients::new,
            ),
            common: deps.common(),
            clock: deps.clock.clone(),
        }
    }

    /// Whether `account` is a member account this hub acts in, not the function's own.
    fn is_member(&self, account: Option<&str>) -> bool {
        let accounts = self.clients.accounts();
        accounts.is_hub() && account.is_some_and(|a| accounts.home() != Some(a))
    }

    /// The account a deletion or an edit acts in (`requested`, else the function's own) and
    /// its clients, or the finding that says why the function may not act there.
    async fn in_account(
        &self,
        requested: Option<&str>,
        partition: &'static str,
        drains: bool,
    ) -> (Option<String>, Result<DeletionClients, Finding>) {
        let account = requested
            .or_else(|| self.clients.accounts().home())
            .map(String::from);
        let clients = if drains {
            &self.drain_clients
        } else {
            &self.clients
        };
        let clients = match &account {
            Some(account) => clients.get(account, partition).await,
            // A function that does not know its own account acts as it always has.
            None => Ok(clients.own()),
        };
        (account, clients)
    }

    /// Checks a state before any AWS call, filling in the configured regions. A plan with
    /// no regions, where `WARDEN_REGIONS` names none, is left to find every region enabled
    /// for the account: the role is global, and the ECS resources that hold it can be in any
    /// of them.
    fn validate(&self, mut state: DeletionState) -> Result<DeletionState, InvocationError> {
        check_role_name(&state.request.role_name, "role_name")?;
        let settings = &self.common.settings;
        let planned_everywhere = state.progress.stage == Stage::Plan && !settings.regions_named;
        if state.request.regions.is_empty() && !planned_everywhere {
            state.request.regions.clone_from(&settings.regions);
            if state.request.regions.is_empty() {
                return bad(
                    "regions",
                    "none given and WARDEN_REGIONS / AWS_REGION name none".into(),
                );
            }
        }
        if let Some(region) = state
            .request
            .regions
            .iter()
            .chain(&state.progress.drain_regions)
            .find(|r| !is_region_name(r))
        {
            return bad("regions", format!("{region:?} is not a region"));
        }
        if let Some(account) = state.request.account.as_deref() {
            if !is_account_id(account) {
                return bad(
                    "account",
                    format!("{account:?} is not a 12-digit account id"),
                );
            }
            if state.request.drain && state.request.confirm_account.as_deref() != Some(account) {
                return bad(
                    "confirm_account",
                    format!(
                        "a drain in account {account} needs confirm_account set to {account}, the account it deletes in"
                    ),
                );
            }
        }
        if state.request.drain {
            match state.request.confirm_account.as_deref() {
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
        if !(1..=10).contains(&state.request.max_attempts) {
            return bad(
                "max_attempts",
                format!("{} is not between 1 and 10", state.request.max_attempts),
            );
        }
        if !(10..=604_800).contains(&state.request.approval_timeout_seconds) {
            return bad(
                "approval_timeout_seconds",
                format!(
                    "{} is not between 10 and 604800 (a week)",
                    state.request.approval_timeout_seconds
                ),
            );
        }
        if let Some(approval) = &state.approval {
            let by = approval.approved_by.trim();
            if by.is_empty() || by.len() > 256 {
                return bad(
                    "approval.approved_by",
                    "who approved, 1 to 256 characters, as send-task-success's output {\"approved_by\": \"...\"}".into(),
                );
            }
        }
        if !(60..=86_400).contains(&state.request.deadline_seconds) {
            return bad(
                "deadline_seconds",
                format!(
                    "{} is not between 60 and 86400",
                    state.request.deadline_seconds
                ),
            );
        }
        if state.progress.stage == Stage::Poll && state.progress.deletion_task_id.is_none() {
            return bad(
                "deletion_task_id",
                "phase poll needs the task to poll".into(),
            );
        }
        Ok(state)
    }
}

/// A deletion state, or an error that says what was expected.
fn parse_state(payload: Value) -> Result<DeletionState, InvocationError> {
    serde_json::from_value(payload).map_err(|e| {
        InvocationError::NotAnEvent(format!(
            "expected a deletion state ({{\"role_name\": \"AWSServiceRoleForECS\", \"drain\": false, ...}}), \
             a CloudTrail DeleteServiceLinkedRole event or an edit request: {e}"
        ))
    })
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
    let mut state = DeletionState::start(Request {
        role_name,
        regions: vec![detail.aws_region.clone()],
        drain: false,
        account: Some(detail.recipient_account_id.clone()),
        confirm_account: Some(detail.recipient_account_id.clone()),
        max_attempts: 1,
        deadline_seconds: DEFAULT_DEADLINE_SECONDS,
        approval_timeout_seconds: DEFAULT_APPROVAL_TIMEOUT_SECONDS,
        event_id: event.id.clone(),
    });
    state.progress.stage = Stage::Poll;
    state.progress.deletion_task_id = Some(task.to_owned());
    state.progress.attempts = 1;
    state.progress.poll_wait_seconds = FIRST_POLL_SECONDS;
    Ok(state)
}

/// Only the ECS service-linked role (with an optional suffix) is this function's to touch.
pub(super) fn check_role_name(name: &str, field: &'static str) -> Result<(), InvocationError> {
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

pub(super) fn bad<T>(field: &'static str, problem: String) -> Result<T, InvocationError> {
    Err(InvocationError::BadField { field, problem })
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
