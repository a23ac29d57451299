//! What reconcile is asked: the schedule's event, `{"plan": input}` from the state machine,
//! a manual run or a sweep's continuation, told apart by their shape, then validated whole
//! (regions, accounts, resume points) before any AWS call.

use serde::Deserialize;
use serde_json::Value;

use super::Continuation;
use crate::aws::ids::{is_account_id, is_region_name};
use crate::invocation::error::InvocationError;

/// What reconcile is asked, validated before any AWS call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    /// `{"plan": input}`: the state machine asks which accounts to fan out.
    Plan(Continuation),
    /// A sweep: the schedule's event (its id kept for the report), a manual run or a
    /// sweep's continuation.
    Sweep {
        /// What to sweep.
        input: Continuation,
        /// The schedule's event id.
        event_id: Option<String>,
    },
}

/// The schedule's event, as the template's scheduled EventBridge rule sends it.
#[derive(Debug, Deserialize)]
struct ScheduledEvent {
    #[serde(rename = "detail-type")]
    detail_type: String,
    #[serde(default)]
    source: String,
    #[serde(default)]
    id: Option<String>,
}

/// `{"plan": input}`, and nothing beside it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PlanRequest {
    plan: serde_json::Map<String, Value>,
}

impl Request {
    /// The schedule's event (told by its `detail-type`), `{"plan": input}`, or a sweep's
    /// input, with the configured `regions` where it names none, validated.
    pub fn parse(payload: Value, regions: &[String]) -> Result<Self, InvocationError> {
        if payload.get("detail-type").is_some() {
            let event: ScheduledEvent = serde_json::from_value(payload)
                .map_err(|e| InvocationError::NotAnEvent(e.to_string()))?;
            if event.detail_type != "Scheduled Event" || event.source != "aws.events" {
                return Err(InvocationError::UnexpectedDetailType {
                    found: event.detail_type,
                    expected: "Scheduled Event",
                    source_name: event.source,
                });
            }
            return Ok(Self::Sweep {
                input: validated(Continuation::default(), regions)?,
                event_id: event.id,
            });
        }
        if let Ok(PlanRequest { plan }) = PlanRequest::deserialize(&payload) {
            let input = continuation(Value::Object(plan))?;
            return Ok(Self::Plan(validated(input, regions)?));
        }
        Ok(Self::Sweep {
            input: validated(continuation(payload)?, regions)?,
            event_id: None,
        })
    }
}

fn continuation(payload: Value) -> Result<Continuation, InvocationError> {
    serde_json::from_value(payload).map_err(|e| {
        InvocationError::NotAnEvent(format!(
            "expected the schedule's event, {{\"regions\": [\"eu-west-1\", ...]}} or a sweep's continuation: {e}"
        ))
    })
}

/// `input` with the configured `regions` where it names none, or what is wrong with it.
fn validated(mut input: Continuation, regions: &[String]) -> Result<Continuation, InvocationError> {
    if input.regions.is_empty() {
        input.regions = regions.to_vec();
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
    Ok(input)
}
