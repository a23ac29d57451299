//! Configuration from the environment, read once at cold start.

use std::time::Duration;

use serde::Serialize;

use crate::aws::ids::is_region_name;

/// Whether the functions may write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// Create what is missing and repair drift additively.
    Enforce,
    /// Make no write call; report what would be done.
    Audit,
}

/// The settings every function shares.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// `WARDEN_MODE`: `enforce` (default) or `audit`.
    pub mode: Mode,
    /// `WARDEN_VERDICT_TTL_SECONDS`: how long a warm container trusts a compliant verdict
    /// (default 60; 0 turns the memory off).
    pub verdict_ttl: Duration,
    /// `WARDEN_REGIONS`: the regions sweeps and inventories cover; unset, the function's own.
    pub regions: Vec<String>,
    /// Whether `WARDEN_REGIONS` named `regions`. Unset, a sweep covers the function's own
    /// region, but where a role is in use (role-drift-guard, a deletion's plan) is looked
    /// up in every region enabled for the account: a role is global.
    pub regions_named: bool,
}

/// Default for `WARDEN_VERDICT_TTL_SECONDS`: long enough to absorb a burst of events from
/// one deployment, short enough that drift made outside CloudTrail is seen within a minute.
pub const DEFAULT_VERDICT_TTL: Duration = Duration::from_secs(60);

/// A setting whose value cannot be used.
#[derive(Debug, thiserror::Error, PartialEq)]
#[error("bad setting {name}={value:?}: {problem}")]
pub struct SettingsError {
    /// The variable.
    pub name: &'static str,
    /// What it held.
    pub value: String,
    /// What is wrong.
    pub problem: &'static str,
}

impl Settings {
    /// Reads the settings through `lookup`, so tests need not touch the process environment.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, SettingsError> {
        let mode = match lookup("WARDEN_MODE").as_deref().map(str::trim) {
            None | Some("") | Some("enforce") => Mode::Enforce,
            Some("audit") => Mode::Audit,
            Some(other) => {
                return Err(SettingsError {
                    name: "WARDEN_MODE",
                    value: other.into(),
                    problem: "expected enforce or audit",
                })
            }
        };
        let verdict_ttl = match lookup("WARDEN_VERDICT_TTL_SECONDS") {
            None => DEFAULT_VERDICT_TTL,
            Some(raw) => raw
                .trim()
                .parse::<u64>()
                .map(Duration::from_secs)
                .map_err(|_| SettingsError {
                    name: "WARDEN_VERDICT_TTL_SECONDS",
                    value: raw,
                    problem: "expected a whole number of seconds",
                })?,
        };
        let own_region = lookup("AWS_REGION").unwrap_or_default();
        let mut regions: Vec<String> = lookup("WARDEN_REGIONS")
            .unwrap_or_default()
            .split(',')
            .map(str::trim)
            .filter(|r| !r.is_empty())
            .map(String::from)
            .collect();
        if let Some(bad) = regions.iter().find(|r| !is_region_name(r)) {
            return Err(SettingsError {
                name: "WARDEN_REGIONS",
                value: bad.clone(),
                problem: "not a region name such as eu-west-1",
            });
        }
        let regions_named = !regions.is_empty();
        if regions.is_empty() && !own_region.is_empty() {
            regions.push(own_region);
        }
        Ok(Self {
            mode,
            verdict_ttl,
            regions,
            regions_named,
        })
    }
}

/// `WARDEN_MEMBER_ROLE`, the variable naming the member roles a hub assumes in member
/// accounts: each function assumes its own, this name followed by `-<function>`.
pub const MEMBER_ROLE_ENV: &str = "WARDEN_MEMBER_ROLE";
/// `WARDEN_MEMBER_ROLE_SHARED`: `true` when every duty assumes `WARDEN_MEMBER_ROLE` itself.
pub const MEMBER_ROLE_SHARED_ENV: &str = "WARDEN_MEMBER_ROLE_SHARED";
/// `WARDEN_ACCOUNTS`, the variable naming the accounts a hub may act in.
pub const ACCOUNTS_ENV: &str = "WARDEN_ACCOUNTS";

/// Where a function acts: its own account, as a single-account deployment does, or, as
/// the hub of an organization, in member accounts through a role it assumes there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reach {
    /// `WARDEN_MEMBER_ROLE` empty: the function's own account only.
    OwnAccount,
    /// A hub: `role` assumed in the accounts `accounts` allows.
    Hub {
        /// The member role.
        role: MemberRole,
        /// The accounts the hub may act in.
        accounts: MemberAccounts,
    },
}

/// The role a hub assumes in a member account: its path and name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberRole {
    /// `/` or `/platform/`: IAM's form, with both slashes.
    pub path: String,
    /// The role's name.
    pub name: String,
    /// `WARDEN_MEMBER_ROLE_SHARED=true`: every duty assumes this one role, as the
    /// command-line program does with a role of the person's own (such as
    /// `OrganizationAccountAccessRole`); otherwise each duty has its own (`name-<duty>`).
    pub shared: bool,
}

impl MemberRole {
    /// The path and name as a role ARN ends: `/platform/ecs-warden-member`.
    pub fn path_and_name(&self) -> String {
        format!("{}{}", self.path, self.name)
    }

    /// The role of one duty in a member account: `ecs-warden-member-<duty>` beside this
    /// one. member.yaml makes one per function (the duty is the function's name) and, where
    /// the account allows drains, `-slr-drain`; each trusts only its own hub function.
    pub fn of(&self, duty: &str) -> Self {
        if self.shared {
            return self.clone();
        }
        Self {
            path: self.path.clone(),
            name: format!("{}-{duty}", self.name),
            shared: false,
        }
    }
}

/// The accounts a hub may act in: `WARDEN_ACCOUNTS`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MemberAccounts {
    /// The account ids listed.
    Listed(std::collections::BTreeSet<String>),
    /// `organization`: every ACTIVE account of the organization.
    Organization,
}

impl Reach {
    /// Reads `WARDEN_MEMBER_ROLE` and `WARDEN_ACCOUNTS` through `lookup`: both empty is a
    /// single account; a role needs the accounts it may be assumed in, and the reverse.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, SettingsError> {
        let read = |name| {
            lookup(name)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        let (role, accounts) = match (read(MEMBER_ROLE_ENV), read(ACCOUNTS_ENV)) {
            (None, None) => return Ok(Self::OwnAccount),
            (Some(role), Some(accounts)) => (role, accounts),
            (None, Some(accounts)) => {
                return Err(SettingsError {
                    name: ACCOUNTS_ENV,
                    value: accounts,
                    problem: "needs WARDEN_MEMBER_ROLE, the role to assume in those accounts",
                })
            }
            (Some(role), None) => {
                return Err(SettingsError {
                    name: MEMBER_ROLE_ENV,
                    value: role,
                    problem: "needs WARDEN_ACCOUNTS: account ids, comma-separated, or organization",
                })
            }
        };
        let shared = match read(MEMBER_ROLE_SHARED_ENV).as_deref() {
            None | Some("false") => false,
            Some("true") => true,
            Some(other) => {
                return Err(SettingsError {
                    name: MEMBER_ROLE_SHARED_ENV,
                    value: other.to_owned(),
                    problem: "expected true or false",
                })
            }
        };
        Ok(Self::Hub {
            role: MemberRole {
                shared,
                ..member_role(&role)?
            },
            accounts: member_accounts(&accounts)?,
        })
    }
}

/// `ecs-warden-member`, `platform/ecs-warden-member` or `/platform/ecs-warden-member`.
fn member_role(raw: &str) -> Result<MemberRole, SettingsError> {
    let bad = || SettingsError {
        name: MEMBER_ROLE_ENV,
        value: raw.to_owned(),
        problem: "expected a role name, with its path if any (platform/ecs-warden-member)",
    };
    let trimmed = raw.trim_start_matches('/');
    let (dirs, name) = trimmed.rsplit_once('/').unwrap_or(("", trimmed));
    // IAM's characters for names and path segments.
    let fits = |s: &str, max: usize| {
        (1..=max).contains(&s.len())
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || "+=,.@_-".contains(c))
    };
    if !fits(name, 64) || (!dirs.is_empty() && !dirs.split('/').all(|d| fits(d, 512))) {
        return Err(bad());
    }
    let path = if dirs.is_empty() {
        "/".to_owned()
    } else {
        format!("/{dirs}/")
    };
    Ok(MemberRole {
        path,
        name: name.to_owned(),
        shared: false,
    })
}

/// `organization`, or 12-digit account ids, comma-separated.
fn member_accounts(raw: &str) -> Result<MemberAccounts, SettingsError> {
    if raw == "organization" {
        return Ok(MemberAccounts::Organization);
    }
    let listed: std::collections::BTreeSet<String> = raw
        .split(',')
        .map(str::trim)
        .filter(|a| !a.is_empty())
        .map(String::from)
        .collect();
    if listed.is_empty() || !listed.iter().all(|a| crate::aws::ids::is_account_id(a)) {
        return Err(SettingsError {
            name: ACCOUNTS_ENV,
            value: raw.to_owned(),
            problem: "expected 12-digit account ids, comma-separated, or organization",
        });
    }
    Ok(MemberAccounts::Listed(listed))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(vars: &[(&str, &str)]) -> Result<Settings, SettingsError> {
        Settings::from_lookup(|name| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
        })
    }

    #[test]
    fn defaults_to_enforce_in_the_own_region() {
        let s = settings(&[("AWS_REGION", "eu-west-1")]).unwrap();
        assert_eq!(s.mode, Mode::Enforce);
        assert_eq!(s.regions, ["eu-west-1"]);
        assert!(!s.regions_named, "the own region stands in");
        assert_eq!(s.verdict_ttl, DEFAULT_VERDICT_TTL);
    }

    #[test]
    fn reads_audit_regions_and_ttl() {
        let s = settings(&[
            ("WARDEN_MODE", "audit"),
            ("WARDEN_REGIONS", "us-east-1, eu-west-1,"),
            ("WARDEN_VERDICT_TTL_SECONDS", "0"),
        ])
        .unwrap();
        assert_eq!(s.mode, Mode::Audit);
        assert_eq!(s.regions, ["us-east-1", "eu-west-1"]);
        assert!(s.regions_named);
        assert_eq!(s.verdict_ttl, Duration::ZERO);
    }

    #[test]
    fn rejects_what_it_cannot_use_by_name() {
        for (name, value) in [
            ("WARDEN_MODE", "Enforce!"),
            ("WARDEN_REGIONS", "eu-west-1,Europe"),
            ("WARDEN_VERDICT_TTL_SECONDS", "1m"),
        ] {
            let err = settings(&[(name, value)]).unwrap_err();
            assert_eq!(err.name, name);
        }
    }

    fn reach(vars: &[(&str, &str)]) -> Result<Reach, SettingsError> {
        Reach::from_lookup(|name| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
        })
    }

    #[test]
    fn no_member_role_is_a_single_account() {
        assert_eq!(reach(&[]).unwrap(), Reach::OwnAccount);
        assert_eq!(
            reach(&[(MEMBER_ROLE_ENV, " "), (ACCOUNTS_ENV, "")]).unwrap(),
            Reach::OwnAccount
        );
    }

    #[test]
    fn a_shared_member_role_is_every_dutys_own() {
        let hub = reach(&[
            (MEMBER_ROLE_ENV, "OrganizationAccountAccessRole"),
            (MEMBER_ROLE_SHARED_ENV, "true"),
            (ACCOUNTS_ENV, "111122223333"),
        ])
        .unwrap();
        let Reach::Hub { role, .. } = hub else {
            panic!("a hub")
        };
        assert_eq!(role.of("reconcile").name, "OrganizationAccountAccessRole");
        let own = reach(&[(MEMBER_ROLE_ENV, "m"), (ACCOUNTS_ENV, "111122223333")]).unwrap();
        let Reach::Hub { role, .. } = own else {
            panic!("a hub")
        };
        assert_eq!(role.of("reconcile").name, "m-reconcile");
        assert!(reach(&[
            (MEMBER_ROLE_ENV, "m"),
            (MEMBER_ROLE_SHARED_ENV, "yes"),
            (ACCOUNTS_ENV, "111122223333")
        ])
        .is_err());
    }

    #[test]
    fn a_hub_reads_its_role_with_path_and_its_accounts() {
        let hub = reach(&[
            (MEMBER_ROLE_ENV, "platform/ecs-warden-member"),
            (ACCOUNTS_ENV, "111122223333, 444455556666"),
        ])
        .unwrap();
        let Reach::Hub { role, accounts } = hub else {
            panic!("a hub")
        };
        assert_eq!(role.path_and_name(), "/platform/ecs-warden-member");
        assert_eq!(
            accounts,
            MemberAccounts::Listed(["111122223333".into(), "444455556666".into()].into())
        );
        let org = reach(&[
            (MEMBER_ROLE_ENV, "/ecs-warden-member"),
            (ACCOUNTS_ENV, "organization"),
        ])
        .unwrap();
        assert_eq!(
            org,
            Reach::Hub {
                role: MemberRole {
                    path: "/".into(),
                    name: "ecs-warden-member".into(),
                    shared: false,
                },
                accounts: MemberAccounts::Organization
            }
        );
    }

    #[test]
    fn a_half_configured_hub_is_refused_naming_what_is_missing() {
        for (vars, name) in [
            (
                vec![(MEMBER_ROLE_ENV, "ecs-warden-member")],
                MEMBER_ROLE_ENV,
            ),
            (vec![(ACCOUNTS_ENV, "111122223333")], ACCOUNTS_ENV),
            (
                vec![
                    (MEMBER_ROLE_ENV, "ecs warden"),
                    (ACCOUNTS_ENV, "111122223333"),
                ],
                MEMBER_ROLE_ENV,
            ),
            (
                vec![
                    (MEMBER_ROLE_ENV, "ecs-warden-member"),
                    (ACCOUNTS_ENV, "1111,organization"),
                ],
                ACCOUNTS_ENV,
            ),
        ] {
            let err = reach(&vars).unwrap_err();
            assert_eq!(err.name, name, "{vars:?}");
        }
    }
}
