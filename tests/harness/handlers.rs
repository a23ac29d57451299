//! Handlers as a fresh container builds them, against an account: each with its call log,
//! which `WARDEN_CALLS_DIR` collects for the policy check.
use std::io::Write;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ecs_warden::aws::CallLog;
use ecs_warden::handlers::access_doctor::AccessDoctor;
use ecs_warden::handlers::ecs_role_guard::EcsRoleGuard;
use ecs_warden::handlers::reconcile::Reconcile;
use ecs_warden::handlers::role_drift_guard::RoleDriftGuard;
use ecs_warden::handlers::scaling_guard::ScalingGuard;
use ecs_warden::handlers::slr_deletion::SlrDeletion;
use ecs_warden::handlers::task_doctor::TaskDoctor;
pub use ecs_warden::handlers::{Deps, Environment, Function, Handler};
use ecs_warden::invocation::clock::Clock;
use ecs_warden::invocation::reach::Accounts;
use ecs_warden::invocation::settings::{MemberAccounts, MemberRole, Mode, Reach, Settings};

/// The member roles' common name in the tests, member.yaml's default: each function's
/// role is this name followed by `-<function>`.
pub const MEMBER_ROLE: &str = "ecs-warden-member";

/// The functions that act in member accounts, each through its own member role.
pub const MEMBER_FUNCTIONS: [&str; 7] = [
    "ecs-role-guard",
    "scaling-guard",
    "slr-deletion",
    "role-drift-guard",
    "reconcile",
    "access-doctor",
    "task-doctor",
];

use crate::*;

/// Where the tests leave each function's AWS calls (`FUNCTION.txt`, one call per line) for
/// `scripts/check_policies.py` to hold against the function's policy; unset, nowhere.
pub const CALLS_DIR_ENV: &str = "WARDEN_CALLS_DIR";

/// Every call a test's handler made, in every invocation, in order: what its call log's
/// observer saw. The report of one invocation lists that invocation's calls; this is how a
/// test sees calls an invocation made and did not report (an input refused, a panic).
#[derive(Clone, Default)]
pub struct SeenCalls(Arc<Mutex<Vec<String>>>);

impl SeenCalls {
    /// Takes the calls seen so far, leaving none.
    pub fn take(&self) -> Vec<String> {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

/// A call log for a handler of `function`, and the calls it sees; when `WARDEN_CALLS_DIR`
/// is set, it also adds each distinct call to the function's file there.
fn call_log(function: &'static str) -> (CallLog, SeenCalls) {
    static RECORDED: Mutex<Vec<(&'static str, String)>> = Mutex::new(Vec::new());
    let dir = std::env::var_os(CALLS_DIR_ENV).map(PathBuf::from);
    let seen = SeenCalls::default();
    let seeing = seen.clone();
    let log = CallLog::observed(move |call| {
        seeing
            .0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(call.to_owned());
        let Some(dir) = &dir else {
            return;
        };
        let mut recorded = RECORDED.lock().unwrap_or_else(|e| e.into_inner());
        if recorded.iter().any(|(f, c)| *f == function && c == call) {
            return;
        }
        recorded.push((function, call.to_owned()));
        std::fs::create_dir_all(dir).expect("create the calls directory");
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.join(format!("{function}.txt")))
            .expect("open the calls file");
        writeln!(file, "{call}").expect("record a call");
    });
    (log, seen)
}

impl Account {
    /// A handler as a fresh container would build it from `settings` and the handler's
    /// own variables `env` (`WARDEN_ALARM_PERIOD`, ...), with its call log (recorded under
    /// `WARDEN_CALLS_DIR`) and this account's notifier.
    pub fn handler<H: Handler>(
        &self,
        settings: Settings,
        env: &[(&str, &str)],
    ) -> (Function<H>, SeenCalls) {
        self.handler_at(settings, env, Clock::system())
    }

    /// As [`Self::handler`], reading the time from `clock`.
    pub fn handler_at<H: Handler>(
        &self,
        settings: Settings,
        env: &[(&str, &str)],
        clock: Clock,
    ) -> (Function<H>, SeenCalls) {
        let (calls, seen) = call_log(H::FUNCTION);
        let accounts = Accounts::single(&self.config, &calls, &self.id);
        self.built(settings, env, clock, (calls, seen), accounts)
    }

    /// A handler of this account acting as the hub of `members`: it assumes
    /// [`MEMBER_ROLE`] in each of them, as `WARDEN_MEMBER_ROLE` and `WARDEN_ACCOUNTS` make
    /// a deployed function do.
    pub fn hub_handler<H: Handler>(
        &self,
        mode: Mode,
        members: &[&Account],
    ) -> (Function<H>, SeenCalls) {
        self.hub_handler_at(mode, members, Clock::system())
    }

    /// As [`Self::hub_handler`], reading the time from `clock`.
    pub fn hub_handler_at<H: Handler>(
        &self,
        mode: Mode,
        members: &[&Account],
        clock: Clock,
    ) -> (Function<H>, SeenCalls) {
        let listed = members.iter().map(|m| m.id.clone()).collect();
        self.hub_handler_of(mode, MemberAccounts::Listed(listed), clock)
    }

    /// As [`Self::hub_handler`], for the accounts `accounts` allows.
    pub fn hub_handler_of<H: Handler>(
        &self,
        mode: Mode,
        accounts: MemberAccounts,
        clock: Clock,
    ) -> (Function<H>, SeenCalls) {
        let (calls, seen) = call_log(H::FUNCTION);
        let reach = Reach::Hub {
            role: MemberRole {
                path: "/".into(),
                name: MEMBER_ROLE.into(),
                shared: false,
            },
            accounts,
        };
        let accounts = Accounts::new(
            reach,
            &self.config,
            &calls,
            Some(self.id.clone()),
            H::FUNCTION,
        );
        let settings = sweeping(mode, &[SAMPLE_REGION]);
        self.built(settings, &[], clock, (calls, seen), accounts)
    }

    fn built<H: Handler>(
        &self,
        settings: Settings,
        env: &[(&str, &str)],
        clock: Clock,
        (calls, seen): (CallLog, SeenCalls),
        accounts: Accounts,
    ) -> (Function<H>, SeenCalls) {
        let deps = self.built_deps(settings, env, clock, calls, accounts);
        let function = Function::build(&deps).expect("the test's configuration");
        (function, seen)
    }

    fn built_deps(
        &self,
        settings: Settings,
        env: &[(&str, &str)],
        clock: Clock,
        calls: CallLog,
        accounts: Accounts,
    ) -> Deps {
        Deps {
            config: self.config.clone(),
            calls: calls.clone(),
            settings,
            env: Environment::from_pairs(env),
            notifier: self.notifier(&calls),
            security_hub: self.imports_to_security_hub(),
            clock,
            accounts: Arc::new(accounts),
            metrics: true,
        }
    }

    /// An `ecs-role-guard` as a fresh container would build it, with its call log.
    pub fn role_guard(
        &self,
        mode: Mode,
        verdict_ttl: Duration,
    ) -> (Function<EcsRoleGuard>, SeenCalls) {
        self.handler(settings(mode, verdict_ttl), &[])
    }

    /// An `ecs-role-guard` whose `WARDEN_WATCHED_ROLES` is `watched` (look-alikes it may
    /// write to), with no verdict memory.
    pub fn role_guard_watching(
        &self,
        mode: Mode,
        watched: &str,
    ) -> (Function<EcsRoleGuard>, SeenCalls) {
        let env = [("WARDEN_WATCHED_ROLES", watched)];
        self.handler(settings(mode, Duration::ZERO), &env)
    }

    /// A `scaling-guard` as a fresh container would build it, with its call log.
    pub fn scaling_guard(&self, mode: Mode) -> (Function<ScalingGuard>, SeenCalls) {
        self.scaling_guard_with(mode, &[])
    }

    /// A `scaling-guard` whose deployment sets the alarm defaults `env`
    /// (`WARDEN_ALARM_PERIOD`, ...).
    pub fn scaling_guard_with(
        &self,
        mode: Mode,
        env: &[(&str, &str)],
    ) -> (Function<ScalingGuard>, SeenCalls) {
        self.handler(settings(mode, Duration::ZERO), env)
    }

    /// An `slr-deletion` as a fresh container would build it, with its call log.
    pub fn slr_deletion(&self, mode: Mode) -> (Function<SlrDeletion>, SeenCalls) {
        self.handler(settings(mode, Duration::ZERO), &[])
    }

    /// An `slr-deletion` whose steps run at the time `clock` says.
    pub fn slr_deletion_at(&self, mode: Mode, clock: &Clock) -> (Function<SlrDeletion>, SeenCalls) {
        let settings = settings(mode, Duration::ZERO);
        self.handler_at(settings, &[], clock.clone())
    }

    /// A `role-drift-guard` watching the catalog's roles, with usage looked up in `regions`.
    pub fn drift_guard(
        &self,
        mode: Mode,
        regions: &[&str],
    ) -> (Function<RoleDriftGuard>, SeenCalls) {
        self.handler(sweeping(mode, regions), &[])
    }

    /// An `access-doctor` as a fresh container would build it, with its call log.
    pub fn access_doctor(&self) -> (Function<AccessDoctor>, SeenCalls) {
        self.handler(settings(Mode::Enforce, Duration::ZERO), &[])
    }

    /// A `task-doctor` as a fresh container would build it, remembering its diagnoses for
    /// `verdict_ttl`, with its call log.
    pub fn task_doctor(
        &self,
        mode: Mode,
        verdict_ttl: Duration,
    ) -> (Function<TaskDoctor>, SeenCalls) {
        self.handler(settings(mode, verdict_ttl), &[])
    }

    /// A `reconcile` sweeping `regions`, with the default alarm settings.
    pub fn reconcile(&self, mode: Mode, regions: &[&str]) -> (Function<Reconcile>, SeenCalls) {
        self.handler(sweeping(mode, regions), &[])
    }
}

/// Settings as `WARDEN_REGIONS=eu-west-1` makes them.
fn settings(mode: Mode, verdict_ttl: Duration) -> Settings {
    Settings {
        mode,
        verdict_ttl,
        regions: vec![SAMPLE_REGION.into()],
        regions_named: true,
    }
}

/// Settings as a stack with the default `Regions` (empty) makes them in eu-west-1.
pub fn default_regions(mode: Mode) -> Settings {
    Settings {
        regions_named: false,
        ..settings(mode, Duration::ZERO)
    }
}

/// Settings covering `regions`, without verdict memory.
fn sweeping(mode: Mode, regions: &[&str]) -> Settings {
    Settings {
        regions: regions.iter().map(|r| r.to_string()).collect(),
        ..settings(mode, Duration::ZERO)
    }
}
