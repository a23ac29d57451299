//! Verify a role against its catalog entry, create it when missing and repair it
//! additively: attach the missing managed policy, add the missing trust statement, never
//! remove anything.
//!
//! Never widen a role someone else can assume: a role whose trust lets an account, user,
//! role or anyone but a service assume it is checked and reported, never repaired (the
//! seed's policy would become that principal's), unless ecs-warden created it (its
//! [`CREATED_BY_TAG`]). Only the catalog's role names, and look-alikes configured in
//! `WARDEN_WATCHED_ROLES`, are ever written; roles are created under the catalog's path.

use aws_sdk_iam::types::Role;
use aws_sdk_iam::Client;

use crate::aws::ids::Arn;
use crate::aws::{CallError, FailedCall};
use crate::domain::catalog::{
    self, ManagedPolicy, RoleKind, RoleSpec, CREATED_BY_TAG, CREATED_BY_VALUE,
};
use crate::domain::checks::Check;
use crate::domain::trust_policy::TrustPolicy;
use crate::invocation::error::InvocationError;
use crate::invocation::gate::{failure, Gated, Scope};
use crate::invocation::report::{Finding, Status};
use crate::invocation::verdict_cache::Verdicts;

/// A role to check: a catalog entry, under the catalog's name and path or under the name
/// and path an API call used for a role of that kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleTarget {
    /// Why ecs-warden may not write to it (create or repair), when it may not: a name an
    /// API call gave that is neither the catalog's nor a configured look-alike.
    pub withheld: Option<String>,
    /// What the role must look like.
    pub spec: &'static RoleSpec,
    /// The role's name.
    pub name: String,
    /// Its path: the catalog's, or the one a reference gave.
    pub path: String,
    /// Whether a missing role is created under `path` (a path an ECS service already uses
    /// the role under) rather than the catalog's (any path an event chose).
    pub path_in_use: bool,
    /// The account an ARN reference named; `None` for a bare name (the caller's account).
    pub account: Option<String>,
}

impl RoleTarget {
    /// The catalog role itself.
    pub fn catalog(spec: &'static RoleSpec) -> Self {
        Self {
            withheld: None,
            path_in_use: true,
            spec,
            name: spec.name.to_owned(),
            path: spec.path.to_owned(),
            account: None,
        }
    }

    /// A role named by an API call (a bare name or a role ARN, possibly with a path) that
    /// must be shaped like `spec`.
    pub fn named(
        spec: &'static RoleSpec,
        reference: &str,
        field: &'static str,
    ) -> Result<Self, InvocationError> {
        let bad = |problem: String| InvocationError::BadField { field, problem };
        let (path, name, owner) = if reference.starts_with("arn:") {
            let Some(arn) = Arn::parse(reference) else {
                return Err(bad(format!("{reference:?} is not an ARN")));
            };
            if arn.service != "iam" || !arn.region.is_empty() {
                return Err(bad(format!("{reference:?} is not an IAM ARN")));
            }
            if !arn.has_account_id() {
                return Err(bad(format!("{reference:?} has no 12-digit account")));
            }
            let account = arn.account;
            let Some(rest) = arn.resource.strip_prefix("role/") else {
                return Err(bad(format!("{reference:?} is not a role ARN")));
            };
            let (path, name) = match rest.rsplit_once('/') {
                Some((dirs, name)) => (format!("/{dirs}/"), name),
                None => ("/".to_owned(), rest),
            };
            (path, name, Some(account.to_owned()))
        } else {
            ("/".to_owned(), reference, None)
        };
        if !is_role_name(name) {
            return Err(bad(format!("{reference:?} does not name a role")));
        }
        let withheld = (name != spec.name).then(|| {
            format!(
                "the call named {name}, which is neither the catalog's {} nor a look-alike \
                 configured in WARDEN_WATCHED_ROLES (NAME={}); ecs-warden writes only those",
                spec.name, spec.name
            )
        });
        Ok(Self {
            withheld,
            path_in_use: false,
            spec,
            name: name.to_owned(),
            path,
            account: owner,
        })
    }

    /// The same role, found in use at its path by an ECS service or scalable target (what
    /// ECS holds, not what an event says): recreated there when missing.
    pub fn used_at_its_path(mut self) -> Self {
        self.path_in_use = true;
        self
    }

    /// The same role, configured as a look-alike of its catalog entry: ecs-warden may
    /// write to it.
    pub fn look_alike(mut self) -> Self {
        self.withheld = None;
        self
    }

    /// A role named by an API call or a resource, shaped like `spec` unless it is the
    /// service-linked role `linked` itself (calls may pass its ARN too).
    pub fn named_or_linked(
        spec: &'static RoleSpec,
        linked: &'static RoleSpec,
        reference: &str,
        field: &'static str,
    ) -> Result<Self, InvocationError> {
        let named = Self::named(spec, reference, field)?;
        if named.name != linked.name {
            return Ok(named);
        }
        Ok(Self {
            account: named.account,
            ..Self::catalog(linked)
        })
    }

    /// The role's ARN: in the account its reference named, else in the scope's account.
    pub fn arn(&self, scope: &Scope) -> String {
        let account = self.account.as_deref().unwrap_or(&scope.account);
        format!(
            "arn:{}:iam::{account}:role{}{}",
            scope.partition, self.path, self.name
        )
    }

    fn verdict_key(&self, scope: &Scope) -> String {
        format!("{}/{}/{}", scope.account, self.name, self.spec.name)
    }
}

/// IAM's rule for role names: 1–64 of letters, digits and `+=,.@_-`.
fn is_role_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "+=,.@_-".contains(c))
}

/// Checks one role and, in enforce mode, creates or repairs it.
pub async fn ensure(
    iam: &Client,
    verdicts: &Verdicts,
    scope: &Scope,
    target: &RoleTarget,
) -> Vec<Finding> {
    if let Some(owner) = target.account.as_deref().filter(|a| *a != scope.account) {
        // Another account's role: the function's credentials cannot see it, and creating
        // one of that name here would be a different role.
        return vec![Finding::new(
            target.arn(scope),
            Check::Exists,
            Status::Skipped,
            format!(
                "the role belongs to account {owner}, not {}; it is checked where ecs-warden runs in that account",
                scope.account
            ),
        )];
    }
    let key = target.verdict_key(scope);
    if let Some(age) = verdicts.fresh(&key) {
        return vec![Finding::new(
            target.arn(scope),
            Check::Role,
            Status::Compliant,
            format!(
                "compliant when checked {}s ago in this container; not read again",
                age.as_secs()
            ),
        )];
    }
    let findings = match get_role(iam, scope, target).await {
        Ok(Some(role)) => {
            // Not ours to write: skipped; someone else may assume it: a person must look.
            let hold = planted(&role)
                .map(|why| Hold(Status::Failed, why))
                .or_else(|| opted_out_role(&role).map(|why| Hold(Status::Skipped, why)))
                .or_else(|| {
                    target
                        .withheld
                        .clone()
                        .map(|why| Hold(Status::Skipped, why))
                });
            verify(iam, scope, target, &role, hold.as_ref()).await
        }
        Ok(None) => match &target.withheld {
            Some(why) => vec![Finding::new(
                target.arn(scope),
                Check::Exists,
                Status::Skipped,
                format!("missing; not created: {why}"),
            )],
            None => create(iam, scope, target).await,
        },
        Err(failed) => vec![failed],
    };
    if findings.iter().all(|f| {
        matches!(
            f.status,
            Status::Compliant | Status::Created | Status::Repaired
        )
    }) {
        verdicts.remember(&key);
    }
    findings
}

/// Why no repair may be made to a role, and the status its findings take instead.
#[derive(Debug, Clone)]
struct Hold(Status, String);

/// Why a role must not be repaired: someone other than a service may assume it, and
/// ecs-warden did not create it.
fn planted(role: &Role) -> Option<String> {
    let ours = role
        .tags()
        .iter()
        .any(|t| t.key() == CREATED_BY_TAG && t.value() == CREATED_BY_VALUE);
    let trust = TrustPolicy::parse(role.assume_role_policy_document().unwrap_or_default()).ok()?;
    let others = trust.assumable_by_others();
    (!ours && !others.is_empty()).then(|| {
        format!(
            "its trust lets {} assume it besides the service, and ecs-warden never widens a role \
             someone else can assume (they would gain what the repair grants); remove them from \
             its trust, or repair it by hand",
            others.join(", ")
        )
    })
}

/// Why a role must not be written: its owner tagged it [`catalog::IGNORE_TAG`].
fn opted_out_role(role: &Role) -> Option<String> {
    catalog::opted_out(role.tags().iter().map(|t| (t.key(), t.value())))
        .map(|why| format!("it is {why}"))
}

async fn get_role(
    iam: &Client,
    scope: &Scope,
    target: &RoleTarget,
) -> Result<Option<Role>, Finding> {
    match iam.get_role().role_name(&target.name).send().await {
        Ok(out) => Ok(out.role),
        Err(e) => {
            let err = CallError::from_sdk(&e);
            if err.is_not_found() {
                Ok(None)
            } else {
                let arn = target.arn(scope);
                Err(Finding::new(
                    &arn,
                    Check::Exists,
                    Status::Failed,
                    err.explain("iam:GetRole", &arn),
                ))
            }
        }
    }
}

/// Checks an existing role; where it needs a repair and `hold` says why none may be made,
/// the finding fails with that reason.
async fn verify(
    iam: &Client,
    scope: &Scope,
    target: &RoleTarget,
    role: &Role,
    hold: Option<&Hold>,
) -> Vec<Finding> {
    let spec = target.spec;
    let arn = role.arn().to_owned();
    let mut findings = Vec::new();
    if let RoleKind::ServiceLinked { service } = spec.kind {
        if role.path() != spec.path {
            // A customer role squatting on the name: ECS cannot use it and ecs-warden never
            // deletes or replaces a customer's role, so a person has to decide.
            return vec![Finding::new(
                arn,
                Check::Path,
                Status::Failed,
                format!(
                    "a role named {} exists under path {}, not as the service-linked role of {service} \
                     under {}; the service cannot use it. Rename or delete it by hand, then \
                     ecs-warden creates the service-linked role",
                    target.name,
                    role.path(),
                    spec.path
                ),
            )];
        }
        findings.push(Finding::new(
            &arn,
            Check::Path,
            Status::Compliant,
            format!("service-linked role of {service}"),
        ));
    }
    findings.push(check_trust(iam, scope, target, role, hold).await);
    if let Some(policy) = spec.managed_policy {
        findings.push(check_managed_policy(iam, scope, target, &arn, policy, hold).await);
    }
    findings
}

async fn check_trust(
    iam: &Client,
    scope: &Scope,
    target: &RoleTarget,
    role: &Role,
    hold: Option<&Hold>,
) -> Finding {
    let spec = target.spec;
    let arn = role.arn();
    let raw = role.assume_role_policy_document().unwrap_or_default();
    let current = match TrustPolicy::parse(raw) {
        Ok(doc) => doc,
        Err(problem) => {
            return Finding::new(arn, Check::Trust, Status::Failed, problem.to_string())
        }
    };
    let others = current.other_statements(spec.principal).len();
    let extra = match others {
        0 => String::new(),
        n => format!("; {n} other statement(s) present, kept as they are"),
    };
    if current.grants(spec.principal) {
        return Finding::new(
            arn,
            Check::Trust,
            Status::Compliant,
            format!("{} may sts:AssumeRole{extra}", spec.principal),
        );
    }
    let missing = format!(
        "trust policy does not let {} sts:AssumeRole",
        spec.principal
    );
    if matches!(spec.kind, RoleKind::ServiceLinked { .. }) {
        return Finding::new(
            arn,
            Check::Trust,
            Status::Failed,
            format!("{missing}; a service-linked role's trust cannot be edited, ask AWS support"),
        );
    }
    if let Some(Hold(status, why)) = hold {
        return Finding::new(
            arn,
            Check::Trust,
            *status,
            format!("{missing}; not repairing it: {why}"),
        );
    }
    let seed = TrustPolicy::parse(spec.trust_policy).expect("catalog trust policies parse");
    let repaired = current.with_statements_of(&seed);
    let call = iam
        .update_assume_role_policy()
        .role_name(&target.name)
        .policy_document(repaired.to_json())
        .send();
    match scope
        .write("iam:UpdateAssumeRolePolicy", arn, &missing, call)
        .await
    {
        Gated::Audited => Finding::new(
            arn,
            Check::Trust,
            Status::WouldRepair,
            format!("{missing}; would add the {} statement{extra}", spec.source),
        ),
        Gated::Done(_) => Finding::new(
            arn,
            Check::Trust,
            Status::Repaired,
            format!("{missing}; added the {} statement{extra}", spec.source),
        ),
        Gated::Failed(failed) => failure(&failed, Check::Trust, &missing),
    }
}

async fn check_managed_policy(
    iam: &Client,
    scope: &Scope,
    target: &RoleTarget,
    arn: &str,
    policy: ManagedPolicy,
    hold: Option<&Hold>,
) -> Finding {
    let policy_arn = policy.arn(scope.partition);
    let mut pages = iam
        .list_attached_role_policies()
        .role_name(&target.name)
        .into_paginator()
        .items()
        .send();
    let mut attached = false;
    while let Some(item) = pages.next().await {
        match item {
            Ok(p) if p.policy_arn() == Some(policy_arn.as_str()) => {
                attached = true;
                break;
            }
            Ok(_) => {}
            Err(e) => {
                return Finding::new(
                    arn,
                    Check::ManagedPolicy,
                    Status::Failed,
                    CallError::from_sdk(&e).explain("iam:ListAttachedRolePolicies", arn),
                )
            }
        }
    }
    if attached {
        return Finding::new(
            arn,
            Check::ManagedPolicy,
            Status::Compliant,
            format!("{} attached", policy.name),
        );
    }
    let missing = format!("{} is not attached", policy.name);
    if let Some(Hold(status, why)) = hold {
        return Finding::new(
            arn,
            Check::ManagedPolicy,
            *status,
            format!("{missing}; not attaching it: {why}"),
        );
    }
    attach(
        iam,
        scope,
        target,
        arn,
        &policy_arn,
        Status::Repaired,
        &missing,
    )
    .await
}

/// Attaches `policy_arn` to the role (`done` is the status once made: repaired, or
/// created with a new role), or in audit mode says it would.
async fn attach(
    iam: &Client,
    scope: &Scope,
    target: &RoleTarget,
    arn: &str,
    policy_arn: &str,
    done: Status,
    why: &str,
) -> Finding {
    let call = iam
        .attach_role_policy()
        .role_name(&target.name)
        .policy_arn(policy_arn)
        .send();
    match scope.write("iam:AttachRolePolicy", arn, why, call).await {
        Gated::Audited => Finding::new(
            arn,
            Check::ManagedPolicy,
            Status::WouldRepair,
            format!("{why}; would attach it"),
        ),
        Gated::Done(_) => Finding::new(
            arn,
            Check::ManagedPolicy,
            done,
            format!("{why}; attached {policy_arn}"),
        ),
        Gated::Failed(failed) => failure(&failed, Check::ManagedPolicy, why),
    }
}

async fn create(iam: &Client, scope: &Scope, target: &RoleTarget) -> Vec<Finding> {
    match target.spec.kind {
        RoleKind::ServiceLinked { service } => {
            vec![create_linked(iam, scope, target, service).await]
        }
        RoleKind::Service => create_service_role(iam, scope, target).await,
    }
}

/// Creates a missing service-linked role; one created meanwhile by another caller counts.
async fn create_linked(iam: &Client, scope: &Scope, target: &RoleTarget, service: &str) -> Finding {
    let arn = target.arn(scope);
    let call = iam
        .create_service_linked_role()
        .aws_service_name(service)
        .send();
    match scope
        .write("iam:CreateServiceLinkedRole", &arn, "role missing", call)
        .await
    {
        Gated::Audited => Finding::new(
            arn,
            Check::Exists,
            Status::WouldCreate,
            format!("missing; would call CreateServiceLinkedRole for {service}"),
        ),
        Gated::Done(out) => Finding::new(
            out.role().map(|r| r.arn().to_owned()).unwrap_or(arn),
            Check::Exists,
            Status::Created,
            format!("was missing; created the service-linked role of {service}"),
        ),
        Gated::Failed(failed) => race_or_failure(&failed),
    }
}

/// Creates a missing service role with the seed trust policy and attaches its managed
/// policy; a role created meanwhile by another delivery is verified instead.
async fn create_service_role(iam: &Client, scope: &Scope, named: &RoleTarget) -> Vec<Finding> {
    let spec = named.spec;
    // Under the catalog's path, never one an event chose; a path ECS already uses the
    // role under is kept, so what uses it finds it.
    let target = &RoleTarget {
        path: if named.path_in_use {
            named.path.clone()
        } else {
            spec.path.to_owned()
        },
        ..named.clone()
    };
    let moved = (named.path != target.path).then(|| {
        format!(
            "; the call named path {}, the catalog's is {}",
            named.path, target.path
        )
    });
    let arn = target.arn(scope);
    let policy = spec.managed_policy.map(|p| p.arn(scope.partition));
    let call = iam
        .create_role()
        .role_name(&target.name)
        .path(&target.path)
        .assume_role_policy_document(spec.trust_policy)
        .description(format!(
            "Created by ecs-warden after {} (event {})",
            scope.cause, scope.event_id
        ))
        .tags(
            aws_sdk_iam::types::Tag::builder()
                .key(CREATED_BY_TAG)
                .value(CREATED_BY_VALUE)
                .build()
                .expect("key and value set"),
        )
        .send();
    match scope
        .write("iam:CreateRole", &arn, "role missing", call)
        .await
    {
        Gated::Audited => {
            let attach_words = policy
                .as_deref()
                .map(|p| format!(" and attach {p}"))
                .unwrap_or_default();
            vec![Finding::new(
                arn,
                Check::Exists,
                Status::WouldCreate,
                format!(
                    "missing; would create it under {} with the {} trust policy{attach_words}{}",
                    target.path,
                    spec.source,
                    moved.clone().unwrap_or_default()
                ),
            )]
        }
        Gated::Done(_) => {
            let mut findings = vec![Finding::new(
                &arn,
                Check::Exists,
                Status::Created,
                format!(
                    "was missing; created with the {} trust policy{}",
                    spec.source,
                    moved.clone().unwrap_or_default()
                ),
            )];
            if let Some(policy_arn) = policy {
                // A failure here leaves a role without its policy: the finding says
                // so, and the next event or sweep attaches it.
                findings.push(
                    attach(
                        iam,
                        scope,
                        target,
                        &arn,
                        &policy_arn,
                        Status::Created,
                        "new role",
                    )
                    .await,
                );
            }
            findings
        }
        Gated::Failed(failed) if failed.error.is_already_exists() => {
            // Another delivery created it in the meantime: check what it made.
            match get_role(iam, scope, target).await {
                Ok(Some(role)) => {
                    let hold = planted(&role)
                        .map(|why| Hold(Status::Failed, why))
                        .or_else(|| opted_out_role(&role).map(|why| Hold(Status::Skipped, why)));
                    verify(iam, scope, target, &role, hold.as_ref()).await
                }
                Ok(None) => vec![race_or_failure(&failed)],
                Err(failed) => vec![failed],
            }
        }
        Gated::Failed(failed) => vec![failure(&failed, Check::Exists, "")],
    }
}

/// A failed create as its finding: compliant when it lost a race to another caller.
fn race_or_failure(failed: &FailedCall) -> Finding {
    let err = &failed.error;
    if err.is_already_exists() {
        Finding::new(
            &failed.resource,
            Check::Exists,
            Status::Compliant,
            format!(
                "created by another caller at the same moment ({}: {})",
                err.code, err.message
            ),
        )
    } else {
        failure(failed, Check::Exists, "")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::catalog::ECS_SERVICE_ROLE;

    fn named(reference: &str) -> Result<RoleTarget, InvocationError> {
        RoleTarget::named(&ECS_SERVICE_ROLE, reference, "requestParameters.role")
    }

    #[test]
    fn reads_a_name_or_an_arn_with_a_path() {
        let plain = named("ecsServiceRole").unwrap();
        assert_eq!(
            (plain.name.as_str(), plain.path.as_str()),
            ("ecsServiceRole", "/")
        );
        let deep = named("arn:aws:iam::111122223333:role/ecs/legacy/lbRole").unwrap();
        assert_eq!(
            (deep.name.as_str(), deep.path.as_str()),
            ("lbRole", "/ecs/legacy/")
        );
        assert_eq!(deep.account.as_deref(), Some("111122223333"));
        let top = named("arn:aws-cn:iam::111122223333:role/ecsServiceRole").unwrap();
        assert_eq!(top.path, "/");
        assert_eq!(plain.account, None);
    }

    #[test]
    fn rejects_what_is_not_a_role_reference() {
        for bad in [
            "",
            "arn:aws:iam::111122223333:user/bob",
            "arn:aws:s3:::bucket",
            "arn:aws:iam::12:role/x",
            "arn:aws:iam::111122223333:role/",
            "has space",
            "arn:aws",
        ] {
            let err = named(bad).unwrap_err();
            assert!(
                err.to_string().contains("requestParameters.role"),
                "{bad}: {err}"
            );
        }
    }
}
