//! Which account an invocation may act in, and with what credentials.
//!
//! A function acts in the account that owns the event (`detail.recipientAccountId`). A
//! single-account deployment acts in its own account only; a hub ([`Reach::Hub`]) also
//! acts in the member accounts `WARDEN_ACCOUNTS` allows, through its own member role there
//! (`WARDEN_MEMBER_ROLE-<function>`, trusted by this function's hub role alone, so no
//! function holds another's power in a member account), with sessions named for it. Every
//! other account's event is skipped before any call, and a member role that cannot be
//! assumed is a failed finding naming the account and the role. The decision and the
//! per-account clients live here so that no handler can act in an account without it.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use aws_config::SdkConfig;
use aws_sdk_organizations::types::{AccountState, AccountStatus};

use crate::aws::accounts::AccountConfigs;
use crate::aws::{self, ids, CallError, CallLog};
use crate::invocation::checks::CheckId;
use crate::invocation::report::{Finding, Status};
use crate::invocation::settings::{MemberAccounts, MemberRole, Reach};

/// `WARDEN_HOME_ACCOUNT`: the function's own account where the Lambda context's function
/// ARN does not carry it (local runtime emulators hand out made-up ARNs).
pub const HOME_ACCOUNT_ENV: &str = "WARDEN_HOME_ACCOUNT";

/// How long a hub trusts the organization's list of ACTIVE accounts: a new account is
/// acted in within this long of joining.
pub const ORGANIZATION_TTL: Duration = Duration::from_secs(15 * 60);

/// Where a function may act: its own account, and for a hub the allowed member accounts.
#[derive(Debug)]
pub struct Accounts {
    reach: Reaching,
    // Shared with the accounts of the same function acting as another duty.
    home: Arc<OnceLock<String>>,
}

/// [`Reach`] with what acting on it needs: a hub's member configurations and, with
/// `WARDEN_ACCOUNTS=organization`, the organization it lists.
#[derive(Debug)]
enum Reaching {
    OwnAccount,
    Hub {
        members: Box<AccountConfigs>,
        /// What [`Accounts::acting_as`] builds another duty's configurations from.
        member: Box<Member>,
        allowed: Arc<Allowed>,
    },
}

/// How a hub function assumes roles in member accounts.
#[derive(Debug, Clone)]
struct Member {
    /// `WARDEN_MEMBER_ROLE`, before the duty's suffix.
    role: MemberRole,
    base: SdkConfig,
    sts: aws_sdk_sts::Client,
    function: &'static str,
}

impl Member {
    /// The configurations of one duty's role (`WARDEN_MEMBER_ROLE-<duty>`), in this
    /// function's sessions.
    fn configs(&self, duty: &str) -> AccountConfigs {
        AccountConfigs::with_sts(
            &self.base,
            self.sts.clone(),
            self.role.of(duty).path_and_name(),
            self.function,
        )
    }
}

/// The member accounts a hub may act in.
#[derive(Debug)]
enum Allowed {
    Listed(BTreeSet<String>),
    Organization(Organization),
}

/// What an account's events get.
#[derive(Debug, Clone)]
pub enum Place {
    /// The function's own account: its own credentials.
    Home,
    /// A member account: a configuration with the member role's credentials in hand.
    Member(Box<SdkConfig>),
}

impl Accounts {
    /// The accounts `reach` allows `function`, with `base`'s credentials at home; `home`
    /// is the function's own account when already known. Calls (AssumeRole, ListAccounts)
    /// are recorded in `calls`.
    pub fn new(
        reach: Reach,
        base: &SdkConfig,
        calls: &CallLog,
        home: Option<String>,
        function: &'static str,
    ) -> Self {
        let sts = aws::sts_client(base, calls);
        let organizations = aws::organizations_client(base, calls);
        Self::with_clients(reach, base, sts, organizations, home, function)
    }

    /// As [`Self::new`], assuming member roles through `sts` and listing the organization
    /// through `organizations` (mocked, in tests).
    pub fn with_clients(
        reach: Reach,
        base: &SdkConfig,
        sts: aws_sdk_sts::Client,
        organizations: aws_sdk_organizations::Client,
        home: Option<String>,
        function: &'static str,
    ) -> Self {
        let reach = match reach {
            Reach::OwnAccount => Reaching::OwnAccount,
            Reach::Hub { role, accounts } => {
                let member = Member {
                    role,
                    base: base.clone(),
                    sts,
                    function,
                };
                Reaching::Hub {
                    members: Box::new(member.configs(function)),
                    member: Box::new(member),
                    allowed: Arc::new(match accounts {
                        MemberAccounts::Listed(listed) => Allowed::Listed(listed),
                        MemberAccounts::Organization => Allowed::Organization(Organization {
                            client: organizations,
                            listed: tokio::sync::Mutex::new(None),
                        }),
                    }),
                }
            }
        };
        let known = OnceLock::new();
        if let Some(home) = home.filter(|h| ids::is_account_id(h)) {
            let _ = known.set(home);
        }
        Self {
            reach,
            home: Arc::new(known),
        }
    }

    /// A single account's reach, for a function that knows its own account.
    pub fn single(base: &SdkConfig, calls: &CallLog, home: &str) -> Self {
        Self::new(Reach::OwnAccount, base, calls, Some(home.to_owned()), "")
    }

    /// The same accounts, reached in member accounts through the role of another `duty`
    /// (`WARDEN_MEMBER_ROLE-<duty>`) with this function's sessions: the drain's own role,
    /// which a member account makes only when it allows drains. At home nothing changes.
    pub fn acting_as(&self, duty: &str) -> Self {
        let reach = match &self.reach {
            Reaching::OwnAccount => Reaching::OwnAccount,
            Reaching::Hub {
                member, allowed, ..
            } => Reaching::Hub {
                members: Box::new(member.configs(duty)),
                member: member.clone(),
                allowed: allowed.clone(),
            },
        };
        Self {
            reach,
            home: self.home.clone(),
        }
    }

    /// Learns the function's own account from the ARN it was invoked by, unless already
    /// known: every invocation of a container carries the same one.
    pub fn learn_home(&self, invoked_function_arn: &str) {
        if self.home.get().is_some() {
            return;
        }
        if let Some(arn) = ids::Arn::parse(invoked_function_arn) {
            if ids::is_account_id(arn.account) {
                let _ = self.home.set(arn.account.to_owned());
            }
        }
    }

    /// The function's own account, once known.
    pub fn home(&self) -> Option<&str> {
        self.home.get().map(String::as_str)
    }

    /// Whether this is a hub, acting in member accounts besides its own.
    pub fn is_hub(&self) -> bool {
        matches!(self.reach, Reaching::Hub { .. })
    }

    /// The member role's ARN in `account`, for a hub.
    pub fn member_role_arn(&self, partition: &str, account: &str) -> Option<String> {
        match &self.reach {
            Reaching::OwnAccount => None,
            Reaching::Hub { members, .. } => Some(members.role_arn(partition, account)),
        }
    }

    /// Where `account`'s events are acted on, or the finding that says why they are not:
    /// `skipped` for an account this function does not guard (no call made), `failed`
    /// when the member role cannot be assumed or the organization cannot be listed.
    pub async fn place(&self, account: &str, partition: &'static str) -> Result<Place, Finding> {
        if self.home() == Some(account) {
            return Ok(Place::Home);
        }
        let members = match &self.reach {
            // An unknown home (a handler driven without a Lambda context) cannot tell its
            // own account from another; it acts as single-account functions always have.
            Reaching::OwnAccount if self.home().is_none() => return Ok(Place::Home),
            Reaching::OwnAccount => return Err(self.not_guarded(account, partition)),
            Reaching::Hub {
                members, allowed, ..
            } => {
                let listed = match allowed.as_ref() {
                    Allowed::Listed(listed) => listed.contains(account),
                    Allowed::Organization(org) => self
                        .active_accounts(org, partition)
                        .await?
                        .contains(account),
                };
                if !listed {
                    return Err(self.not_guarded(account, partition));
                }
                members
            }
        };
        members
            .config(partition, account)
            .await
            .map(|config| Place::Member(Box::new(config)))
            .map_err(|failed| {
                Finding::new(
                    account_arn(partition, account),
                    CheckId::ACCOUNT,
                    Status::Failed,
                    format!(
                        "cannot act in account {account}: {failed}; the member role must exist there \
                         (member.yaml, deployed by the StackSet) and trust this function's role"
                    ),
                )
            })
    }

    /// The accounts a sweep covers when its input names none: the listed ones, or the
    /// organization's ACTIVE accounts; for a single account, its own (when known).
    pub async fn all(&self, partition: &'static str) -> Result<Vec<String>, Finding> {
        let mut all: BTreeSet<String> = match &self.reach {
            Reaching::OwnAccount => BTreeSet::new(),
            Reaching::Hub { allowed, .. } => match allowed.as_ref() {
                Allowed::Listed(listed) => listed.clone(),
                Allowed::Organization(org) => self.active_accounts(org, partition).await?,
            },
        };
        all.extend(self.home().map(String::from));
        Ok(all.into_iter().collect())
    }

    fn not_guarded(&self, account: &str, partition: &str) -> Finding {
        let why = match (&self.reach, self.home()) {
            (Reaching::OwnAccount, Some(home)) => format!(
                "the event is from account {account}; this function guards its own account {home} \
                 only (a hub needs WARDEN_MEMBER_ROLE and WARDEN_ACCOUNTS)"
            ),
            (Reaching::Hub { allowed, .. }, _)
                if matches!(allowed.as_ref(), Allowed::Organization(_)) =>
            {
                format!(
                "account {account} is not an ACTIVE account of the organization; nothing done there"
            )
            }
            _ => format!("account {account} is not in WARDEN_ACCOUNTS; nothing done there"),
        };
        Finding::new(
            account_arn(partition, account),
            CheckId::ACCOUNT,
            Status::Skipped,
            why,
        )
    }

    async fn active_accounts(
        &self,
        org: &Organization,
        partition: &str,
    ) -> Result<BTreeSet<String>, Finding> {
        org.active().await.map_err(|error| {
            Finding::new(
                format!(
                    "arn:{partition}:organizations::{}:account",
                    self.home().unwrap_or("")
                ),
                CheckId::ACCOUNT,
                Status::Failed,
                error.explain("organizations:ListAccounts", "the organization")
                    + "; WARDEN_ACCOUNTS=organization needs the hub in the management account \
                       or a delegated administrator",
            )
        })
    }
}

/// The ARN that names an account in findings.
pub fn account_arn(partition: &str, account: &str) -> String {
    format!("arn:{partition}:iam::{account}:root")
}

/// The organization's ACTIVE accounts, listed at most once per [`ORGANIZATION_TTL`].
#[derive(Debug)]
struct Organization {
    client: aws_sdk_organizations::Client,
    listed: tokio::sync::Mutex<Option<(Instant, BTreeSet<String>)>>,
}

impl Organization {
    async fn active(&self) -> Result<BTreeSet<String>, CallError> {
        let mut listed = self.listed.lock().await;
        if let Some((at, accounts)) = listed.as_ref() {
            if at.elapsed() < ORGANIZATION_TTL {
                return Ok(accounts.clone());
            }
        }
        let mut pages = self.client.list_accounts().into_paginator().send();
        let mut active = BTreeSet::new();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| CallError::from_sdk(&e))?;
            active.extend(
                page.accounts()
                    .iter()
                    .filter(|a| is_active(a))
                    .filter_map(|a| a.id().map(String::from)),
            );
        }
        *listed = Some((Instant::now(), active.clone()));
        Ok(active)
    }
}

/// Organizations replaced `Status` with `State` (ACTIVE either way); an answer may carry
/// either.
fn is_active(account: &aws_sdk_organizations::types::Account) -> bool {
    match account.state() {
        Some(state) => *state == AccountState::Active,
        None => account.status() == Some(&AccountStatus::Active),
    }
}

/// Clients of one kind per account: the function's own, built once, and each member
/// account's, built on its first event. Every use asks [`Accounts::place`] first, so the
/// member role's credentials are checked (from their cache) before any client acts.
#[derive(Debug)]
pub struct AccountClients<C> {
    accounts: Arc<Accounts>,
    own: C,
    calls: CallLog,
    build: fn(&SdkConfig, &CallLog) -> C,
    members: Mutex<HashMap<String, C>>,
}

impl<C: Clone> AccountClients<C> {
    /// Clients built by `build`: over `config` at home, over a member configuration in a
    /// member account; all record into `calls`.
    pub fn new(
        accounts: &Arc<Accounts>,
        config: &SdkConfig,
        calls: &CallLog,
        build: fn(&SdkConfig, &CallLog) -> C,
    ) -> Self {
        Self::with_own(accounts, build(config, calls), calls, build)
    }

    /// As [`Self::new`], with the home clients given (mocked, in tests).
    pub fn with_own(
        accounts: &Arc<Accounts>,
        own: C,
        calls: &CallLog,
        build: fn(&SdkConfig, &CallLog) -> C,
    ) -> Self {
        Self {
            accounts: accounts.clone(),
            own,
            calls: calls.clone(),
            build,
            members: Mutex::default(),
        }
    }

    /// The clients acting in `account`, or the finding that says why none may.
    pub async fn get(&self, account: &str, partition: &'static str) -> Result<C, Finding> {
        match self.accounts.place(account, partition).await? {
            Place::Home => Ok(self.own.clone()),
            Place::Member(config) => {
                let mut members = self.members.lock().unwrap_or_else(|e| e.into_inner());
                Ok(members
                    .entry(account.to_owned())
                    .or_insert_with(|| (self.build)(&config, &self.calls))
                    .clone())
            }
        }
    }

    /// The function's own clients.
    pub fn own(&self) -> C {
        self.own.clone()
    }

    /// Where these clients may act.
    pub fn accounts(&self) -> &Accounts {
        &self.accounts
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::invocation::settings::MemberRole;

    fn config() -> SdkConfig {
        SdkConfig::builder().build()
    }

    fn hub(listed: &[&str]) -> Accounts {
        let reach = Reach::Hub {
            role: MemberRole {
                path: "/".into(),
                name: "ecs-warden-member".into(),
                shared: false,
            },
            accounts: MemberAccounts::Listed(listed.iter().map(|a| a.to_string()).collect()),
        };
        Accounts::new(
            reach,
            &config(),
            &CallLog::default(),
            Some("111111111111".into()),
            "reconcile",
        )
    }

    #[tokio::test]
    async fn a_single_account_function_skips_other_accounts_without_a_call() {
        let calls = CallLog::default();
        let accounts = Accounts::single(&config(), &calls, "111111111111");
        assert!(matches!(
            accounts.place("111111111111", "aws").await,
            Ok(Place::Home)
        ));
        let skipped = accounts.place("222222222222", "aws").await.unwrap_err();
        assert_eq!(skipped.status, Status::Skipped);
        assert!(
            skipped.detail.contains("222222222222"),
            "{}",
            skipped.detail
        );
        assert!(calls.take().is_empty());
    }

    #[tokio::test]
    async fn without_a_known_home_a_single_account_function_acts_as_before() {
        let accounts = Accounts::new(
            Reach::OwnAccount,
            &config(),
            &CallLog::default(),
            None,
            "reconcile",
        );
        assert!(matches!(
            accounts.place("222222222222", "aws").await,
            Ok(Place::Home)
        ));
        accounts.learn_home("arn:aws:lambda:eu-west-1:111111111111:function:ecs-role-guard");
        assert_eq!(accounts.home(), Some("111111111111"));
        assert!(accounts.place("222222222222", "aws").await.is_err());
    }

    #[tokio::test]
    async fn a_hub_skips_accounts_it_does_not_list_and_acts_at_home() {
        let accounts = hub(&["222222222222"]);
        assert!(matches!(
            accounts.place("111111111111", "aws").await,
            Ok(Place::Home)
        ));
        let skipped = accounts.place("333333333333", "aws").await.unwrap_err();
        assert_eq!(skipped.status, Status::Skipped);
        assert!(
            skipped.detail.contains("not in WARDEN_ACCOUNTS"),
            "{}",
            skipped.detail
        );
        assert_eq!(
            accounts.member_role_arn("aws", "222222222222").as_deref(),
            Some("arn:aws:iam::222222222222:role/ecs-warden-member-reconcile")
        );
        assert_eq!(
            accounts
                .acting_as("slr-drain")
                .member_role_arn("aws", "222222222222")
                .as_deref(),
            Some("arn:aws:iam::222222222222:role/ecs-warden-member-slr-drain")
        );
    }

    #[tokio::test]
    async fn a_sweep_without_accounts_covers_the_listed_ones_and_home() {
        let all = hub(&["222222222222"]).all("aws").await.unwrap();
        assert_eq!(all, ["111111111111", "222222222222"]);
    }
}
