//! The step the three CloudTrail guards share (ecs-role-guard, scaling-guard,
//! role-drift-guard): a payload is parsed as an "AWS API Call via CloudTrail" event and
//! planned once, by the guard, into typed work before any AWS call; then the work is done in
//! the account that owns the event, through that account's clients, within the deadline,
//! and the findings become the report. What differs between the guards is only their plan
//! and what their work does; both are theirs, everything around them is here.

use std::time::Duration;

use aws_config::SdkConfig;
use serde_json::Value;
use tracing::{info_span, Instrument};

use super::{Deps, Watched};
use crate::aws::{ids, CallLog};
use crate::invocation::context::Invocation;
use crate::invocation::error::InvocationError;
use crate::invocation::events::{owner, parse_api_call, ApiCallEvent};
use crate::invocation::reach::AccountClients;
use crate::invocation::report::{Finding, Report};
use crate::invocation::settings::{Settings, SettingsError};
use crate::invocation::verdict_cache::Verdicts;

/// A CloudTrail event a guard accepted, and the work it planned from it.
#[derive(Debug)]
pub struct Planned<W> {
    /// The event as EventBridge delivered it.
    pub event: ApiCallEvent,
    /// What the event calls for, decided before any AWS call.
    pub work: W,
}

/// Parses `payload` as a CloudTrail API-call event and has `plan` decide the work (refusing
/// an event that is not the guard's), then checks that the event names the account it is
/// about.
pub fn plan<W>(
    payload: Value,
    plan: impl FnOnce(&ApiCallEvent) -> Result<W, InvocationError>,
) -> Result<Planned<W>, InvocationError> {
    let event = parse_api_call(payload)?;
    let work = plan(&event)?;
    owner(&event)?;
    Ok(Planned { event, work })
}

/// What every guard keeps between invocations: the shared settings, the roles
/// `WARDEN_WATCHED_ROLES` names, its memory of compliant verdicts, and its clients per
/// account it may act in.
#[derive(Debug)]
pub struct Guarded<C> {
    /// `WARDEN_MODE`, `WARDEN_VERDICT_TTL_SECONDS`, `WARDEN_REGIONS`.
    pub settings: Settings,
    /// The watched roles, and the look-alikes a guard may write to.
    pub watched: Watched,
    /// Compliant verdicts, trusted for as long as the guard was built to trust them.
    pub verdicts: Verdicts,
    clients: AccountClients<C>,
}

/// What a guard answers.
pub type Answer = Result<Report, InvocationError>;

impl<C: Clone> Guarded<C> {
    /// What a guard keeps of `deps`, with the clients `build` makes for each account and
    /// verdicts trusted for `verdict_ttl`.
    pub fn new(
        deps: &Deps,
        build: fn(&SdkConfig, &CallLog) -> C,
        verdict_ttl: Duration,
    ) -> Result<Self, SettingsError> {
        Ok(Self {
            settings: deps.settings.clone(),
            watched: Watched::from_deps(deps)?,
            verdicts: Verdicts::new(verdict_ttl),
            clients: deps.account_clients(build),
        })
    }

    /// Does the planned work with `act`, through the clients of the account that owns the
    /// event, within the invocation's deadline, and reports its findings; or reports why the
    /// guard may not act there (another account's event, a member role it cannot assume).
    pub async fn answer<W>(
        &self,
        function: &'static str,
        input: Planned<W>,
        invocation: &Invocation,
        act: impl AsyncFnOnce(&ApiCallEvent, W, C) -> Vec<Finding>,
    ) -> Answer {
        let Planned { event, work } = input;
        let event = &event;
        invocation
            .within(|| async {
                let account = owner(event)?;
                let partition = ids::partition(&event.detail.aws_region);
                let span = info_span!("account", account = %account);
                let clients = self.clients.get(account, partition);
                let findings = match clients.instrument(span.clone()).await {
                    Ok(clients) => act(event, work, clients).instrument(span).await,
                    Err(finding) => vec![finding],
                };
                Ok(Report::logged_for_event(
                    function,
                    self.settings.mode,
                    event,
                    findings,
                    invocation.calls(),
                ))
            })
            .await
    }
}
