//! The `access-doctor` function: after a call is refused (AccessDenied,
//! UnauthorizedOperation), explain which of the permissions the seeds require the caller
//! lacks, and write the smallest policy that would grant them. It never changes a policy.

use std::collections::BTreeMap;

use aws_sdk_iam::types::{ContextEntry, ContextKeyTypeEnum, PolicyEvaluationDecisionType};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tracing::Instrument;

use super::{Deps, Handler};
use crate::aws::ids::Arn;
use crate::aws::{self, ids, CallError, Clients};
use crate::domain::checks::Check;
use crate::domain::permissions::{self, intents_for, Condition, Intent, Requirement, When};
pub use crate::domain::permissions::{minimal_policy, DenySource, EvalDecision, Missing};
use crate::domain::task_failure::Denial;
use crate::invocation::context::Invocation;
use crate::invocation::error::InvocationError;
use crate::invocation::events::{owner, parse_api_call, ApiCallEvent};
use crate::invocation::notice::Notable;
use crate::invocation::reach::AccountClients;
use crate::invocation::report::{Finding, Report, Status};
use crate::invocation::settings::{Mode, SettingsError};

/// The function's name in reports and logs.
pub const FUNCTION: &str = "access-doctor";

/// The error codes of a refused call.
pub use crate::domain::permissions::REFUSED as DENIED;

/// A question asked by hand.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Question {
    principal_arn: String,
    intent: String,
    /// The call's parameters, as CloudTrail records them, to decide conditional needs.
    #[serde(default)]
    request_parameters: Option<Value>,
}

/// The diagnosis: the usual report plus what is missing and the policy that grants it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Diagnosis {
    /// Function, mode, findings (one per requirement), AWS calls.
    #[serde(flatten)]
    pub report: Report,
    /// The principal whose permissions were simulated (a role for a role session).
    pub principal: Option<String>,
    /// The intents the call belongs to.
    pub intents: Vec<&'static str>,
    /// Every permission the principal lacks.
    pub missing: Vec<Missing>,
    /// The smallest policy granting the implicitly denied permissions, with the seeds'
    /// conditions; `None` when nothing an Allow can fix is missing.
    pub minimal_policy: Option<Value>,
}

impl Notable for Diagnosis {
    fn report(&self) -> &Report {
        &self.report
    }
    fn report_mut(&mut self) -> &mut Report {
        &mut self.report
    }
}

/// One diagnosis to make: who, for which intents, with which call's facts, and the event
/// that asked, if one did.
struct Case<'a> {
    event_id: Option<String>,
    cause: Option<String>,
    principal: Principal,
    intents: &'a [&'static Intent],
    facts: Facts<'a>,
}

/// What the call asked for, as far as the requirements' conditions care.
struct Facts<'a> {
    /// The request parameters; `None` when asked by hand without them (every conditional
    /// requirement is then shown, marked with its condition).
    params: Option<&'a Value>,
    /// The refusal the call's `errorMessage` names, for the requirements that are the
    /// refused action on the refused resource.
    refused: Option<Denial>,
    /// The `ecs:CreateAction` ECS supplies with the call's tags.
    create_action: Option<&'static str>,
}

/// What access-doctor is asked, parsed and validated before any AWS call.
#[derive(Debug)]
pub enum Asked {
    /// A refused call's CloudTrail event, as EventBridge delivers it.
    Event(Box<ApiCallEvent>),
    /// `{"principal_arn", "intent", "request_parameters"?}`, asked by hand.
    Question {
        /// The principal to simulate.
        principal: Principal,
        /// The principal's account, where IAM can simulate it.
        account: String,
        /// Its partition.
        partition: &'static str,
        /// The intent the principal needs.
        intent: &'static Intent,
        /// The call's parameters, to decide conditional needs.
        request_parameters: Option<Value>,
    },
}

impl Asked {
    /// An EventBridge event (told by its `detail-type`), or a question by hand.
    pub fn parse(payload: Value) -> Result<Self, InvocationError> {
        if payload.get("detail-type").is_some() {
            return Ok(Self::Event(Box::new(parse_api_call(payload)?)));
        }
        let question: Question = serde_json::from_value(payload).map_err(|e| {
            InvocationError::NotAnEvent(format!(
                "expected a refused call's CloudTrail event or {{\"principal_arn\": \"...\", \"intent\": \"...\"}}: {e}"
            ))
        })?;
        let intent =
            permissions::intent(&question.intent).ok_or_else(|| InvocationError::BadField {
                field: "intent",
                problem: format!(
                    "{:?} is not one of {}",
                    question.intent,
                    permissions::INTENTS
                        .iter()
                        .map(|i| i.name)
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            })?;
        let principal = Principal::parse(&question.principal_arn)?;
        let arn = Arn::parse(&question.principal_arn).expect("parsed above");
        Ok(Self::Question {
            principal,
            account: arn.account.to_owned(),
            partition: ids::partition_named(arn.partition),
            intent,
            request_parameters: question.request_parameters,
        })
    }
}

/// The handler with the clients it keeps between invocations of a warm container.
#[derive(Debug)]
pub struct AccessDoctor {
    mode: Mode,
    iam: AccountClients<aws_sdk_iam::Client>,
}

impl Handler for AccessDoctor {
    const FUNCTION: &'static str = FUNCTION;
    type Input = Asked;
    type Output = Diagnosis;

    fn build(deps: &Deps) -> Result<Self, SettingsError> {
        Ok(Self::with_clients(
            deps,
            Clients::new(&deps.config, &deps.calls),
        ))
    }

    /// A refused call's CloudTrail event, or `{"principal_arn", "intent"}` by hand.
    fn parse(&self, payload: Value) -> Result<Asked, InvocationError> {
        Asked::parse(payload)
    }

    async fn answer(
        &self,
        asked: Asked,
        invocation: &Invocation,
    ) -> Result<Diagnosis, InvocationError> {
        invocation
            .within(|| async {
                match asked {
                    Asked::Event(event) => self.explain_event(&event, invocation).await,
                    Asked::Question {
                        principal,
                        account,
                        partition,
                        intent,
                        request_parameters,
                    } => {
                        let case = Case {
                            event_id: None,
                            cause: None,
                            principal,
                            intents: &[intent],
                            facts: Facts {
                                params: request_parameters.as_ref(),
                                refused: None,
                                create_action: None,
                            },
                        };
                        Ok(self
                            .diagnose_in(&account, partition, case, invocation)
                            .await)
                    }
                }
            })
            .await
    }
}

impl AccessDoctor {
    /// The handler over clients built elsewhere: [`Handler::build`]'s, or mocked ones
    /// (they act in the function's own account; a member account's are built as usual).
    pub fn with_clients(deps: &Deps, clients: Clients) -> Self {
        Self {
            iam: AccountClients::with_own(
                &deps.accounts,
                clients.iam,
                &deps.calls,
                aws::iam_client,
            ),
            mode: deps.settings.mode,
        }
    }

    async fn explain_event(
        &self,
        event: &ApiCallEvent,
        invocation: &Invocation,
    ) -> Result<Diagnosis, InvocationError> {
        let detail = &event.detail;
        let cause = format!("{}:{}", event.source, detail.event_name);
        let intents = intents_for(event)?;
        let skip = |why: String| {
            let report = Report::new(
                FUNCTION,
                self.mode,
                event.id.clone(),
                Some(cause.clone()),
                vec![Finding::new(&cause, Check::Diagnosis, Status::Skipped, why)],
                Vec::new(),
            );
            report.log();
            Diagnosis {
                report,
                principal: None,
                intents: intents.iter().map(|i| i.name).collect(),
                missing: Vec::new(),
                minimal_policy: None,
            }
        };
        match detail.error_code.as_deref() {
            Some(code) if DENIED.contains(&code) => {}
            Some(code) => {
                return Ok(skip(format!(
                    "the call failed with {code}, not for want of a permission"
                )))
            }
            None => return Ok(skip("the call was not refused".into())),
        }
        if intents.is_empty() {
            return Ok(skip(format!(
                "{cause} is not part of what the seeds list permissions for"
            )));
        }
        let principal = match Principal::of_caller(event) {
            Ok(principal) => principal,
            Err(why) => return Ok(skip(why.to_string())),
        };
        let facts = Facts {
            params: detail.request_parameters.as_ref(),
            refused: permissions::refusal(event),
            create_action: permissions::create_action(&detail.event_name),
        };
        // Simulated in the account of the refused call, where the caller's policies are.
        let account = owner(event)?;
        let partition = ids::partition(&detail.aws_region);
        let case = Case {
            event_id: event.id.clone(),
            cause: Some(cause),
            principal,
            intents: &intents,
            facts,
        };
        Ok(self.diagnose_in(account, partition, case, invocation).await)
    }

    /// [`Self::diagnose`] through the IAM client of `account`, or the finding that says why
    /// the function may not act there.
    async fn diagnose_in(
        &self,
        account: &str,
        partition: &'static str,
        case: Case<'_>,
        invocation: &Invocation,
    ) -> Diagnosis {
        let span = tracing::info_span!("account", account = %account);
        let mut diagnosis = async {
            match self.iam.get(account, partition).await {
                Ok(iam) => self.diagnose(&iam, case, invocation).await,
                Err(refused) => self.finish(case, None, vec![refused], Vec::new(), invocation),
            }
        }
        .instrument(span)
        .await;
        diagnosis.report.account = Some(account.to_owned());
        diagnosis
    }

    async fn diagnose(
        &self,
        iam: &aws_sdk_iam::Client,
        case: Case<'_>,
        invocation: &Invocation,
    ) -> Diagnosis {
        let mut findings = Vec::new();
        let mut missing = Vec::new();
        let arn = match self.principal_arn(iam, &case.principal).await {
            Ok(arn) => arn,
            Err(failed) => {
                findings.push(failed);
                return self.finish(case, None, findings, missing, invocation);
            }
        };
        for intent in case.intents {
            let (by_resource, skipped) = self.needs(iam, &arn, intent, &case.facts).await;
            findings.extend(skipped);
            for (resource, items) in by_resource {
                // The context IAM supplies with these actions: only the seeds' conditions
                // whose key IAM evaluates for them (iam:AWSServiceName for
                // CreateServiceLinkedRole alone), so a grant that depends on a key a real
                // request lacks is simulated as the refusal it is.
                let actions: Vec<&str> = items.iter().map(|(r, _)| r.action).collect();
                let mut context: Vec<Condition> =
                    items.iter().filter_map(|(r, _)| r.condition).collect();
                if let Some(call) = case.facts.create_action {
                    if actions.contains(&"ecs:TagResource") {
                        context.push(Condition {
                            operator: "StringEquals",
                            key: permissions::CREATE_ACTION_KEY,
                            value: call,
                        });
                    }
                }
                let decisions = match self
                    .simulate(iam, &arn, &actions, &resource, &context)
                    .await
                {
                    Ok(decisions) => decisions,
                    Err(e) => {
                        findings.push(Finding::new(
                            &arn,
                            Check::Permission,
                            Status::Failed,
                            e.explain("iam:SimulatePrincipalPolicy", &arn),
                        ));
                        continue;
                    }
                };
                for (requirement, only_when) in items {
                    let Decision {
                        decision,
                        missing_keys,
                        denied_by,
                    } = decisions
                        .get(requirement.action)
                        .cloned()
                        .unwrap_or_default();
                    let verdict = Verdict {
                        intent,
                        requirement,
                        resource: &resource,
                        only_when,
                        decision,
                        missing_keys: &missing_keys,
                        denied_by,
                    };
                    findings.push(verdict.finding(&arn));
                    if !decision.is_allowed() {
                        missing.push(Missing {
                            action: requirement.action.to_owned(),
                            resource: resource.clone(),
                            decision,
                            denied_by,
                            intent: intent.name,
                            seed: intent.seed,
                            why: requirement.why,
                        });
                    }
                }
            }
        }
        self.finish(case, Some(arn), findings, missing, invocation)
    }

    /// What `arn` needs for `intent` on this call, grouped by resource (one simulation
    /// each, every action on it at once), and the requirements the call does not need, as
    /// skipped findings.
    async fn needs(
        &self,
        iam: &aws_sdk_iam::Client,
        arn: &str,
        intent: &'static Intent,
        facts: &Facts<'_>,
    ) -> (BTreeMap<String, Vec<Need>>, Vec<Finding>) {
        let (partition, account) = arn_parts(arn);
        let mut by_resource: BTreeMap<String, Vec<Need>> = BTreeMap::new();
        let mut skipped = Vec::new();
        for requirement in intent.requirements {
            if requirement.when == When::Refused {
                // The refused action on the resource the refusal names, or nothing.
                let Some(denial) = facts
                    .refused
                    .as_ref()
                    .filter(|d| d.action.as_deref() == Some(requirement.action))
                else {
                    continue;
                };
                let resource = denial.resource.clone().unwrap_or_else(|| "*".into());
                by_resource
                    .entry(resource)
                    .or_default()
                    .push((requirement, None));
                continue;
            }
            let only_when = match self.applies(iam, requirement.when, facts).await {
                Applies::Yes => None,
                Applies::Maybe => Some(requirement.when.words()),
                Applies::No => {
                    skipped.push(Finding::new(
                        arn,
                        Check::Permission,
                        Status::Skipped,
                        format!(
                            "{} not needed for this call: {} ({})",
                            requirement.action,
                            requirement.when.words(),
                            intent.source()
                        ),
                    ));
                    continue;
                }
            };
            by_resource
                .entry(requirement.resource.arn(partition, account))
                .or_default()
                .push((requirement, only_when));
        }
        (by_resource, skipped)
    }

    fn finish(
        &self,
        case: Case<'_>,
        principal: Option<String>,
        findings: Vec<Finding>,
        missing: Vec<Missing>,
        invocation: &Invocation,
    ) -> Diagnosis {
        let intents = case.intents;
        let minimal_policy = minimal_policy(&missing, intents);
        let report = Report::new(
            FUNCTION,
            self.mode,
            case.event_id,
            case.cause,
            findings,
            invocation.calls(),
        );
        report.log();
        Diagnosis {
            report,
            principal,
            intents: intents.iter().map(|i| i.name).collect(),
            missing,
            minimal_policy,
        }
    }

    /// The ARN IAM can simulate: a role session becomes its role, looked up for its path.
    async fn principal_arn(
        &self,
        iam: &aws_sdk_iam::Client,
        principal: &Principal,
    ) -> Result<String, Finding> {
        match principal {
            Principal::Arn(arn) => Ok(arn.clone()),
            Principal::RoleNamed(name) => match iam.get_role().role_name(name).send().await {
                Ok(out) => Ok(out.role.map(|r| r.arn().to_owned()).unwrap_or_default()),
                Err(e) => Err(Finding::new(
                    name,
                    Check::Principal,
                    Status::Failed,
                    CallError::from_sdk(&e).explain("iam:GetRole", name),
                )),
            },
        }
    }

    async fn applies(&self, iam: &aws_sdk_iam::Client, when: When, facts: &Facts<'_>) -> Applies {
        let Some(params) = facts.params else {
            return if when == When::Always {
                Applies::Yes
            } else {
                Applies::Maybe
            };
        };
        let has = |pointer: &str| params.pointer(pointer).is_some_and(|v| !v.is_null());
        let launch_template = has("/launchTemplate") || has("/mixedInstancesPolicy/launchTemplate");
        let yes = match when {
            When::Always => true,
            When::RoleOrLaunchTemplate => {
                has("/serviceLinkedRoleARN")
                    || launch_template
                    || params
                        .get("lifecycleHookSpecificationList")
                        .and_then(Value::as_array)
                        .is_some_and(|hooks| hooks.iter().any(|h| h.get("roleARN").is_some()))
            }
            When::InstanceProfile => has("/iamInstanceProfile"),
            When::HookRole => has("/roleARN"),
            When::LaunchTemplate => launch_template,
            When::VpcLattice => params
                .get("trafficSources")
                .and_then(Value::as_array)
                .is_some_and(|sources| {
                    sources.iter().any(|s| {
                        s.get("type").and_then(Value::as_str) == Some("vpc-lattice")
                            || s.get("identifier")
                                .and_then(Value::as_str)
                                .is_some_and(|i| i.contains(":vpc-lattice:"))
                    })
                }),
            When::RoleMissing(name) => {
                // Absent, or unreadable: then show it, since it may be what is missing.
                match iam.get_role().role_name(name).send().await {
                    Ok(_) => false,
                    Err(e) => {
                        let err = CallError::from_sdk(&e);
                        err.is_not_found() || !err.is_access_denied()
                    }
                }
            }
            // Decided by the refusal in `needs`, before any condition is read.
            When::Refused => false,
        };
        if yes {
            Applies::Yes
        } else {
            Applies::No
        }
    }

    /// Each action's decision for the principal on `resource`, with the context keys IAM
    /// said the principal's policies need and the request did not supply.
    async fn simulate(
        &self,
        iam: &aws_sdk_iam::Client,
        principal: &str,
        actions: &[&str],
        resource: &str,
        context: &[Condition],
    ) -> Result<BTreeMap<String, Decision>, CallError> {
        let mut request = iam
            .simulate_principal_policy()
            .policy_source_arn(principal)
            .set_action_names(Some(actions.iter().map(|a| a.to_string()).collect()));
        if resource != "*" {
            request = request.resource_arns(resource.trim_end_matches('*'));
        }
        for condition in context {
            request = request.context_entries(
                ContextEntry::builder()
                    .context_key_name(condition.key)
                    .context_key_type(ContextKeyTypeEnum::String)
                    .context_key_values(condition.value)
                    .build(),
            );
        }
        let mut results = request.into_paginator().items().send();
        let mut decisions: BTreeMap<String, Decision> = BTreeMap::new();
        while let Some(result) = results.next().await {
            let result = result.map_err(|e| CallError::from_sdk(&e))?;
            let decision = match result.eval_decision() {
                PolicyEvaluationDecisionType::Allowed => EvalDecision::Allowed,
                PolicyEvaluationDecisionType::ExplicitDeny => EvalDecision::ExplicitDeny,
                _ => EvalDecision::ImplicitDeny,
            };
            // IAM says when the organization's SCPs, or the principal's boundary, do not
            // allow the action (IAM API Reference, EvaluationResult): no identity policy can
            // grant it then.
            let denied_by = if result
                .organizations_decision_detail()
                .is_some_and(|d| !d.allowed_by_organizations())
            {
                Some(DenySource::ServiceControlPolicy)
            } else if result
                .permissions_boundary_decision_detail()
                .is_some_and(|d| !d.allowed_by_permissions_boundary())
            {
                Some(DenySource::PermissionsBoundary)
            } else {
                None
            };
            // Several resources: the weakest decision counts.
            let entry = decisions
                .entry(result.eval_action_name().to_owned())
                .or_insert_with(|| Decision {
                    decision,
                    ..Decision::default()
                });
            if !decision.is_allowed() {
                entry.decision = decision;
                entry.denied_by = entry.denied_by.or(denied_by);
            }
            entry
                .missing_keys
                .extend(result.missing_context_values().iter().cloned());
        }
        Ok(decisions)
    }
}

/// IAM's simulated decision on one action.
#[derive(Debug, Clone, Default)]
struct Decision {
    /// What IAM decided.
    decision: EvalDecision,
    /// The context keys the simulation lacked.
    missing_keys: Vec<String>,
    /// What refuses it beyond the principal's own policies.
    denied_by: Option<DenySource>,
}

enum Applies {
    Yes,
    /// Asked by hand without the request: shown with its condition.
    Maybe,
    No,
}

/// Why the caller of a refused call cannot be simulated.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
enum Unsimulable {
    /// No ARN to simulate.
    #[error("the event names no caller")]
    NoCaller,
    /// The caller's ARN does not parse.
    #[error("{0}")]
    BadArn(String),
    /// Root has every identity permission.
    #[error("the account root user was refused: no identity policy can lack a permission there, so a service control policy or a resource policy refused it")]
    Root,
    /// A caller kind IAM cannot simulate (AWSService, FederatedUser, ...).
    #[error("a {0} caller cannot be simulated")]
    Kind(String),
}

/// Who made the call, in a form IAM can simulate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    /// A role or user ARN.
    Arn(String),
    /// A role known only by name (from a session ARN): its ARN, with path, comes from IAM.
    RoleNamed(String),
}

impl Principal {
    fn parse(arn: &str) -> Result<Self, InvocationError> {
        let bad = |problem: String| InvocationError::BadField {
            field: "principal_arn",
            problem,
        };
        let Some(parsed) = Arn::parse(arn) else {
            return Err(bad(format!("{arn:?} is not an ARN")));
        };
        if !parsed.has_account_id() {
            return Err(bad(format!("{arn:?} has no 12-digit account")));
        }
        match (parsed.service, parsed.resource.split_once('/')) {
            ("iam", Some(("role" | "user", rest))) if !rest.is_empty() => {
                Ok(Principal::Arn(arn.to_owned()))
            }
            ("sts", Some(("assumed-role", rest))) => match rest.split_once('/') {
                Some((role, _session)) if !role.is_empty() => {
                    Ok(Principal::RoleNamed(role.to_owned()))
                }
                _ => Err(bad(format!("{arn:?} names no role"))),
            },
            _ => Err(bad(format!(
                "{arn:?} is not a role, user or assumed-role session ARN"
            ))),
        }
    }

    fn of_caller(event: &ApiCallEvent) -> Result<Self, Unsimulable> {
        let who = &event.detail.user_identity;
        match who.kind.as_deref() {
            Some("AssumedRole") => {
                let issuer = who
                    .session_context
                    .as_ref()
                    .and_then(|c| c.session_issuer.as_ref())
                    .and_then(|i| i.arn.clone());
                match issuer {
                    Some(role) => Ok(Principal::Arn(role)),
                    None => who
                        .arn
                        .as_deref()
                        .ok_or(Unsimulable::NoCaller)
                        .and_then(|arn| {
                            Principal::parse(arn).map_err(|e| Unsimulable::BadArn(e.to_string()))
                        }),
                }
            }
            Some("IAMUser") => who
                .arn
                .clone()
                .map(Principal::Arn)
                .ok_or(Unsimulable::NoCaller),
            Some("Root") => Err(Unsimulable::Root),
            other => Err(Unsimulable::Kind(other.unwrap_or("nameless").to_owned())),
        }
    }
}

/// A requirement a call needs, and the words of when it applies if the event cannot
/// tell.
type Need = (&'static Requirement, Option<&'static str>);

/// What IAM's simulation said about one action a principal needs.
struct Verdict<'a> {
    intent: &'static Intent,
    requirement: &'static Requirement,
    resource: &'a str,
    /// When the need applies, if the event could not tell.
    only_when: Option<&'static str>,
    /// What IAM decided.
    decision: EvalDecision,
    /// The context keys the simulation lacked.
    missing_keys: &'a [String],
    /// What refuses it beyond the principal's own policies.
    denied_by: Option<DenySource>,
}

impl Verdict<'_> {
    /// The finding on `arn`: compliant when allowed, else failed with what would help.
    fn finding(&self, arn: &str) -> Finding {
        let requirement = self.requirement;
        let note = self
            .only_when
            .map(|w| format!(" ({w})"))
            .unwrap_or_default();
        let what = format!(
            "{} on {}{note}: {}{} ({}: {})",
            requirement.action,
            self.resource,
            self.decision,
            self.advice(),
            self.intent.source(),
            requirement.why
        );
        let status = if self.decision.is_allowed() {
            Status::Compliant
        } else {
            Status::Failed
        };
        Finding::new(arn, Check::Permission, status, what)
    }

    /// What to do about a refusal, when more than a grant is needed.
    fn advice(&self) -> String {
        let refused = !self.decision.is_allowed();
        if refused && self.denied_by == Some(DenySource::ServiceControlPolicy) {
            "; a service control policy of the organization refuses it, so no policy in this account can grant it: the SCP must exempt this principal or allow the action".to_owned()
        } else if refused && self.denied_by == Some(DenySource::PermissionsBoundary) {
            "; the principal's permissions boundary does not allow it, so only a change to the boundary can grant it".to_owned()
        } else if self.decision == EvalDecision::ExplicitDeny {
            "; a Deny (a statement, a permissions boundary or an SCP) refuses it, so an Allow will not help".to_owned()
        } else if refused
            && self
                .missing_keys
                .iter()
                .any(|k| k.eq_ignore_ascii_case(permissions::AWS_SERVICE_NAME_KEY))
        {
            format!(
                "; a statement allows it only under a condition on {key}, which IAM supplies for iam:CreateServiceLinkedRole alone (Service Authorization Reference), so that statement never matches a real request: grant it on the role's ARN without the condition",
                key = permissions::AWS_SERVICE_NAME_KEY
            )
        } else {
            String::new()
        }
    }
}

/// `(partition, account)` of an ARN.
fn arn_parts(arn: &str) -> (&str, &str) {
    Arn::parse(arn).map_or(("aws", ""), |arn| (arn.partition, arn.account))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_verdict_says_what_helps_beyond_a_grant() {
        let intent = &permissions::INTENTS[0];
        let requirement = &intent.requirements[0];
        let keys = vec![permissions::AWS_SERVICE_NAME_KEY.to_owned()];
        let verdict = |decision, missing_keys| Verdict {
            intent,
            requirement,
            resource: "arn:aws:iam::111122223333:role/x",
            only_when: None,
            decision,
            missing_keys,
            denied_by: None,
        };
        let allowed = verdict(EvalDecision::Allowed, &[]).finding("arn:p");
        assert_eq!(allowed.status, Status::Compliant);
        let denied = verdict(EvalDecision::ExplicitDeny, &[]).finding("arn:p");
        assert_eq!(denied.status, Status::Failed);
        assert!(denied.detail.contains("an Allow will not help"));
        let conditioned = verdict(EvalDecision::ImplicitDeny, &keys).finding("arn:p");
        assert!(conditioned.detail.contains("without the condition"));
        assert!(verdict(EvalDecision::ImplicitDeny, &[]).advice().is_empty());
        let by_scp = Verdict {
            denied_by: Some(DenySource::ServiceControlPolicy),
            ..verdict(EvalDecision::ExplicitDeny, &[])
        };
        assert!(
            by_scp.advice().contains("service control policy"),
            "{}",
            by_scp.advice()
        );
        assert!(
            verdict(EvalDecision::Allowed, &keys).advice().is_empty(),
            "an allowed action needs no advice"
        );
    }

    #[test]
    fn a_session_resolves_to_its_role_and_bad_arns_are_named() {
        assert_eq!(
            Principal::parse("arn:aws:sts::111122223333:assumed-role/PlatformDeployer/alice")
                .unwrap(),
            Principal::RoleNamed("PlatformDeployer".into())
        );
        assert_eq!(
            Principal::parse("arn:aws:iam::111122223333:user/bob").unwrap(),
            Principal::Arn("arn:aws:iam::111122223333:user/bob".into())
        );
        for bad in [
            "bob",
            "arn:aws:s3:::bucket",
            "arn:aws:iam::1:role/x",
            "arn:aws:sts::111122223333:assumed-role/",
        ] {
            assert!(Principal::parse(bad).is_err(), "{bad}");
        }
    }
}
