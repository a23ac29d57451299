//! The step the three CloudTrail guards share (ecs-role-guard, scaling-guard,
//! role-drift-guard): a payload is parsed as an "AWS API Call via CloudTrail" event and
//! planned once, by the guard, into typed work before any AWS call; then the work is done in
//! the account that owns the event, through that account's clients, within the deadline,
//! and the findings become the report. What differs between the guards is only their plan
//! and what their work does; both are theirs, everything around them is here.

use std::future::Future;

use serde_json::Value;
use tracing::{info_span, Instrument};

use crate::aws::ids;
use crate::invocation::context::Invocation;
use crate::invocation::error::InvocationError;
use crate::invocation::events::{owner, parse_api_call, ApiCallEvent};
use crate::invocation::reach::AccountClients;
use crate::invocation::report::{Finding, Report};
use crate::invocation::settings::Mode;

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

/// Does what `act` does with the clients of the account that owns `event`, within the
/// invocation's deadline, and reports its findings; or reports why the guard may not act
/// there (another account's event, a member role it cannot assume).
pub async fn in_its_account<C, F, Fut>(
    function: &'static str,
    mode: Mode,
    clients: &AccountClients<C>,
    event: &ApiCallEvent,
    invocation: &Invocation,
    act: F,
) -> Result<Report, InvocationError>
where
    C: Clone,
    F: FnOnce(C) -> Fut,
    Fut: Future<Output = Vec<Finding>>,
{
    invocation
        .within(|| async {
            let account = owner(event)?;
            let partition = ids::partition(&event.detail.aws_region);
            let span = info_span!("account", account = %account);
            let findings = match clients
                .get(account, partition)
                .instrument(span.clone())
                .await
            {
                Ok(clients) => act(clients).instrument(span).await,
                Err(finding) => vec![finding],
            };
            Ok(Report::logged_for_event(
                function,
                mode,
                event,
                findings,
                invocation.calls(),
            ))
        })
        .await
}
