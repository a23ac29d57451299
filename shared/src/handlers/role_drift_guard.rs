//! The `role-drift-guard` function: after IAM changes a watched role (CloudTrail `aws.iam`,
//! delivered in us-east-1), re-verify it and repair it additively within seconds.
//!
//! Its own writes come back as IAM events too; they leave the role compliant, so the
//! re-check they cause costs reads only and never loops.

use std::time::Duration;

use serde::Deserialize;
use serde_json::Value;

use super::guard::{self, Guarded, Planned};
use super::{Deps, Handler};

use crate::aws::AccountWide;
use crate::domain::catalog::{RoleKind, RoleSpec, ROLES};
use crate::domain::checks::Check;
use crate::domain::roles::{self, RoleTarget};
use crate::domain::{regions, role_users};
use crate::invocation::context::Invocation;
use crate::invocation::error::InvocationError;
use crate::invocation::events::{accept, ApiCallEvent};
use crate::invocation::gate::Scope;
use crate::invocation::report::{Finding, Report, Status};
use crate::invocation::settings::SettingsError;

/// The function's name in reports and logs.
pub const FUNCTION: &str = "role-drift-guard";

const SOURCE: &str = "aws.iam";
const EVENT_NAMES: &[&str] = &[
    "DeleteRole",
    "DetachRolePolicy",
    "DeleteRolePolicy",
    "PutRolePolicy",
    "UpdateAssumeRolePolicy",
];

/// A role the function watches, and the catalog entry it must match.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WatchedRole {
    /// The role's name.
    pub name: String,
    /// What it must look like.
    pub spec: &'static RoleSpec,
}

/// Reads `WARDEN_WATCHED_ROLES`: comma-separated catalog role names, or `NAME=CATALOG_NAME`
/// for a role of another name that must look like a catalog role. Unset or empty, every
/// catalog role.
pub fn watched_roles(raw: Option<&str>) -> Result<Vec<WatchedRole>, SettingsError> {
    let raw = raw.unwrap_or_default().trim();
    if raw.is_empty() {
        return Ok(ROLES
            .iter()
            .map(|spec| WatchedRole {
                name: spec.name.to_owned(),
                spec,
            })
            .collect());
    }
    raw.split(',')
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .map(|entry| {
            let (name, like) = entry.split_once('=').unwrap_or((entry, entry));
            let spec = ROLES
                .iter()
                .find(|s| s.name == like.trim())
                .ok_or_else(|| SettingsError {
                    name: "WARDEN_WATCHED_ROLES",
                    value: entry.to_owned(),
                    problem: "expected a catalog role name, or NAME=CATALOG_ROLE_NAME",
                })?;
            Ok(WatchedRole {
                name: name.trim().to_owned(),
                spec,
            })
        })
        .collect()
}

/// The parameters the five IAM calls share.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Parameters {
    #[serde(default)]
    role_name: Option<String>,
    #[serde(default)]
    policy_arn: Option<String>,
    #[serde(default)]
    policy_name: Option<String>,
}

/// What one IAM event asks for, decided before any AWS call.
#[derive(Debug)]
pub struct Work {
    /// Whether the call deleted the role (the others change its policies or trust).
    deleted: bool,
    /// The role the event names.
    name: String,
    /// The role as ecs-warden may write it, when it is watched.
    target: Option<RoleTarget>,
    /// What changed, in words.
    what: String,
}

/// The handler with what it keeps between invocations of a warm container.
#[derive(Debug)]
pub struct RoleDriftGuard(Guarded<AccountWide>);

impl Handler for RoleDriftGuard {
    const FUNCTION: &'static str = FUNCTION;
    type Input = Planned<Work>;
    type Output = Report;

    /// The roles it watches (`WARDEN_WATCHED_ROLES`), where it looks for a deleted role's
    /// users (`WARDEN_REGIONS`, else every enabled region), and each account's clients.
    fn build(deps: &Deps) -> Result<Self, SettingsError> {
        // Each event is a change: never trust an earlier verdict.
        Guarded::new(deps, AccountWide::new, Duration::ZERO).map(Self)
    }

    fn parse(&self, payload: Value) -> Result<Planned<Work>, InvocationError> {
        guard::plan(payload, |event| self.plan(event))
    }

    /// Re-verifies the role the event names and repairs it, in the event's account.
    async fn answer(&self, input: Planned<Work>, invocation: &Invocation) -> guard::Answer {
        let reverify =
            async |event: &ApiCallEvent, work, clients| self.reverify(event, work, clients).await;
        self.0.answer(FUNCTION, input, invocation, reverify).await
    }
}

impl RoleDriftGuard {
    /// The role an accepted event names, validated, and whether it is watched.
    fn plan(&self, event: &ApiCallEvent) -> Result<Work, InvocationError> {
        let call = accept(event, SOURCE, EVENT_NAMES)?;
        let params = event
            .detail
            .request::<Option<Parameters>>()?
            .unwrap_or_default();
        let name = params.role_name.filter(|n| !n.is_empty()).ok_or_else(|| {
            InvocationError::MalformedDetail {
                path: "detail.requestParameters.roleName".into(),
                problem: "missing".into(),
            }
        })?;
        let watched = self.0.watched.find(&name);
        let target = watched
            .map(|w| RoleTarget::named(w.spec, &name, "requestParameters.roleName"))
            .transpose()?
            // Watched: the catalog's, or a look-alike configured by name.
            .map(RoleTarget::look_alike);
        let what = drift_words(call, &params.policy_arn, &params.policy_name);
        Ok(Work {
            deleted: call == "DeleteRole",
            name,
            target,
            what,
        })
    }

    /// Re-verifies and repairs through one account's clients.
    async fn reverify(
        &self,
        event: &ApiCallEvent,
        work: Work,
        clients: AccountWide,
    ) -> Vec<Finding> {
        let Work {
            deleted,
            name,
            target,
            what,
        } = work;
        let scope = Scope::from_event(self.0.settings.mode, event);
        tracing::info!(event_id = %scope.event_id, event = %scope.cause, role = %name, "checking");
        match (target, &event.detail.error_code) {
            (None, _) => vec![Finding::new(
                &name,
                Check::Watched,
                Status::Skipped,
                format!("{name} is not a watched role (WARDEN_WATCHED_ROLES); nothing checked"),
            )],
            (Some(target), Some(code)) => vec![Finding::new(
                target.arn(&scope),
                Check::Drift,
                Status::Skipped,
                format!("{what} failed ({code}): nothing changed, nothing checked"),
            )],
            (Some(target), None) if deleted => self.deleted(&clients, &scope, target).await,
            (Some(target), None) => {
                tracing::info!(event_id = %scope.event_id, drift = %what, "re-verifying");
                roles::ensure(&clients.clients.iam, &self.0.verdicts, &scope, &target).await
            }
        }
    }

    /// A deleted role comes back only while something uses it: in the configured regions
    /// (`WARDEN_REGIONS`), or, when none are named, in every region enabled for the account.
    async fn deleted(
        &self,
        clients: &AccountWide,
        scope: &Scope,
        target: RoleTarget,
    ) -> Vec<Finding> {
        let arn = target.arn(scope);
        if matches!(target.spec.kind, RoleKind::ServiceLinked { .. }) {
            return vec![Finding::new(
                arn,
                Check::Drift,
                Status::Skipped,
                "a service-linked role is deleted through DeleteServiceLinkedRole (slr-deletion), not recreated here",
            )];
        }
        let settings = &self.0.settings;
        let regions = if settings.regions_named {
            settings.regions.clone()
        } else {
            match regions::enabled(&clients.account).await {
                Ok(enabled) => enabled,
                Err(e) => {
                    return vec![Finding::new(
                        arn,
                        Check::InUse,
                        Status::Failed,
                        format!(
                            "the role was deleted; whether anything uses it is unknown, so it is left deleted: {}",
                            e.explain("account:ListRegions", "the account's enabled regions")
                        ),
                    )]
                }
            }
        };
        let found = role_users::users_of(&clients.regional, &regions, &target.name).await;
        let Some((user, role_arn)) = found.users.first() else {
            if !found.unread.is_empty() {
                let unread: Vec<String> = found
                    .unread
                    .iter()
                    .map(|(r, why)| format!("{r}: {why}"))
                    .collect();
                return vec![Finding::new(
                    arn,
                    Check::InUse,
                    Status::Failed,
                    format!(
                        "the role was deleted; no user found, but some regions could not be read, so it is left deleted: {}",
                        unread.join("; ")
                    ),
                )];
            }
            return vec![Finding::new(
                arn,
                Check::InUse,
                Status::Skipped,
                format!(
                    "the role was deleted and nothing in {} uses it (no ECS service names it, no scalable target's RoleARN is it); left deleted",
                    regions.join(", ")
                ),
            )];
        };
        // Recreate it where its user expects it: the same path.
        let target = match RoleTarget::named(target.spec, role_arn, "usage") {
            Ok(named) if named.name == target.name => named.look_alike().used_at_its_path(),
            _ => target,
        };
        let mut findings = vec![Finding::new(
            target.arn(scope),
            Check::InUse,
            Status::Compliant,
            format!(
                "the role was deleted but {user} still uses it{}; recreating it",
                match found.users.len() {
                    1 => String::new(),
                    n => format!(" (and {} more)", n - 1),
                }
            ),
        )];
        findings
            .extend(roles::ensure(&clients.clients.iam, &self.0.verdicts, scope, &target).await);
        findings
    }
}

fn drift_words(call: &str, policy_arn: &Option<String>, policy_name: &Option<String>) -> String {
    match call {
        "DetachRolePolicy" => format!(
            "managed policy {} was detached",
            policy_arn.as_deref().unwrap_or("?")
        ),
        "DeleteRolePolicy" => format!(
            "inline policy {} was deleted (ecs-warden requires none)",
            policy_name.as_deref().unwrap_or("?")
        ),
        "PutRolePolicy" => format!(
            "inline policy {} was put (ecs-warden requires none)",
            policy_name.as_deref().unwrap_or("?")
        ),
        "UpdateAssumeRolePolicy" => "the trust policy was replaced".to_owned(),
        other => other.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn watches_the_catalog_by_default_and_named_look_alikes_on_request() {
        let all = watched_roles(None).unwrap();
        assert_eq!(all.len(), ROLES.len());
        let some = watched_roles(Some("ecsServiceRole, paymentsLbRole=ecsServiceRole")).unwrap();
        assert_eq!(some[1].name, "paymentsLbRole");
        assert_eq!(some[1].spec.name, "ecsServiceRole");
        let err = watched_roles(Some("paymentsLbRole")).unwrap_err();
        assert_eq!(err.name, "WARDEN_WATCHED_ROLES");
    }
}
