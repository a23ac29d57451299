//! The handlers: one module per Lambda function, and only the `functions/*` entry points
//! (and the tests, which build and drive them the same way) use them.
//!
//! Every handler is written one way: it implements [`Handler`] (its name, its answer, how
//! it is built from [`Deps`], how it answers a payload within a deadline), and its
//! `main.rs` is `serve::<ItsHandler>()`. A handler validates its whole input first (an
//! unexpected event is an [`InvocationError`] before any AWS call), asks the domain what
//! to check or repair, and answers with a report that [`Handler::handle_within`] hands to
//! the notifier. Handlers depend on the domain and the invocation plumbing; nothing below
//! them depends on a handler.

use std::future::Future;
use std::sync::Arc;

use aws_config::SdkConfig;
use lambda_runtime::{service_fn, LambdaEvent};
use serde::Serialize;
use serde_json::Value;
use tracing::{info_span, Instrument};

use crate::aws::ids;
use crate::aws::{self, CallLog};
use crate::domain::alarms::AlarmSettings;
use crate::domain::roles::RoleTarget;
use crate::invocation::clock::Clock;
use crate::invocation::deadline::Deadline;
use crate::invocation::error::InvocationError;
use crate::invocation::events::{dispatch_within, owner, ApiCallEvent};
use crate::invocation::metrics;
use crate::invocation::notice::Notable;
use crate::invocation::notify::{Format, Notifier, FORMAT_ENV, TOPIC_ENV};
use crate::invocation::reach::{AccountClients, Accounts, HOME_ACCOUNT_ENV};
use crate::invocation::report::Report;
use crate::invocation::security_hub::{self, SecurityHub};
use crate::invocation::settings::{Reach, Settings, SettingsError};

pub mod access_doctor;
pub mod ecs_role_guard;
pub mod reconcile;
pub mod role_drift_guard;
pub mod scaling_guard;
pub mod slr_deletion;

use role_drift_guard::{watched_roles, WatchedRole};

/// Everything a handler is built from, made once per container: the SDK configuration,
/// the call log every client records into, and the whole configuration, read here and
/// nowhere else.
#[derive(Debug, Clone)]
pub struct Deps {
    /// The SDK configuration the clients are built from.
    pub config: SdkConfig,
    /// The log of AWS calls the report lists; every client built from `Deps` records in it.
    pub calls: CallLog,
    /// `WARDEN_MODE`, `WARDEN_VERDICT_TTL_SECONDS`, `WARDEN_REGIONS`.
    pub settings: Settings,
    /// `WARDEN_ALARM_*`: the alarms' deployment defaults (scaling-guard, reconcile).
    pub alarm_defaults: AlarmSettings,
    /// `WARDEN_WATCHED_ROLES`: the roles role-drift-guard watches.
    pub watched: Vec<WatchedRole>,
    /// `WARDEN_NOTIFICATION_TOPIC_ARN`: where answers worth reading are published.
    pub notifier: Notifier,
    /// `WARDEN_SECURITY_HUB`: whether findings are imported into Security Hub.
    pub security_hub: bool,
    /// The time handlers read: the system's, or a manual one in tests.
    pub clock: Clock,
    /// `WARDEN_MEMBER_ROLE`, `WARDEN_ACCOUNTS`: the accounts the function may act in.
    pub accounts: Arc<Accounts>,
}

impl Deps {
    /// Reads the process environment and builds the SDK configuration: what a Lambda
    /// container does once, at cold start.
    pub async fn from_env(function: &'static str) -> Result<Self, SettingsError> {
        Self::from_lookup(function, aws::sdk_config().await, |name| {
            std::env::var(name).ok()
        })
    }

    /// Reads `function`'s configuration through `lookup`, with `config` for the clients.
    pub fn from_lookup(
        function: &'static str,
        config: SdkConfig,
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, SettingsError> {
        let calls = CallLog::default();
        let settings = Settings::from_lookup(&lookup)?;
        let alarm_defaults = AlarmSettings::from_lookup(&lookup)?;
        let watched = watched_roles(lookup("WARDEN_WATCHED_ROLES").as_deref())?;
        let notifier = match lookup(TOPIC_ENV).as_deref().map(str::trim) {
            None | Some("") => Notifier::off(),
            Some(arn) => {
                let format = Format::from_setting(lookup(FORMAT_ENV).as_deref())?;
                Notifier::to_topic(&config, &calls, arn, format)?
            }
        };
        let security_hub = security_hub::enabled(lookup(security_hub::ENV).as_deref())?;
        let home = lookup(HOME_ACCOUNT_ENV).map(|h| h.trim().to_owned());
        let accounts = Accounts::new(
            Reach::from_lookup(&lookup)?,
            &config,
            &calls,
            home,
            function,
        );
        Ok(Self {
            config,
            calls,
            settings,
            alarm_defaults,
            watched,
            notifier,
            security_hub,
            clock: Clock::system(),
            accounts: Arc::new(accounts),
        })
    }

    /// The part of these dependencies every handler keeps.
    pub fn common(&self) -> Common {
        Common {
            settings: self.settings.clone(),
            calls: self.calls.clone(),
            notifier: self.notifier.clone(),
            security_hub: if self.security_hub {
                SecurityHub::importing(&self.accounts, &self.config, &self.calls)
            } else {
                SecurityHub::off()
            },
            accounts: self.accounts.clone(),
            region: self
                .config
                .region()
                .map(|r| r.as_ref().to_owned())
                .unwrap_or_default(),
            watched: self.watched.clone(),
        }
    }

    /// Clients built by `build` for every account the function may act in.
    pub fn account_clients<C: Clone>(
        &self,
        build: fn(&SdkConfig, &CallLog) -> C,
    ) -> AccountClients<C> {
        AccountClients::new(&self.accounts, &self.config, &self.calls, build)
    }
}

/// What every handler keeps from its [`Deps`] besides its clients: the settings, the call
/// log its report lists, and the notifier of its answers.
#[derive(Debug)]
pub struct Common {
    /// `WARDEN_MODE`, `WARDEN_VERDICT_TTL_SECONDS`, `WARDEN_REGIONS`.
    pub settings: Settings,
    /// The log of AWS calls its clients record in.
    pub calls: CallLog,
    /// Where answers worth reading are published.
    pub notifier: Notifier,
    /// Where findings are imported.
    pub security_hub: SecurityHub,
    /// The accounts the function may act in.
    pub accounts: Arc<Accounts>,
    /// The function's own region, the metrics' `region` dimension.
    pub region: String,
    /// `WARDEN_WATCHED_ROLES`: roles of other names configured to look like a catalog role,
    /// which ecs-warden may write to as to the catalog's own.
    pub watched: Vec<WatchedRole>,
}

impl Common {
    /// `target`, writable when it is a configured look-alike of its catalog role.
    pub fn owned(&self, target: RoleTarget) -> RoleTarget {
        let configured = self
            .watched
            .iter()
            .any(|w| w.name == target.name && w.spec.name == target.spec.name);
        if configured {
            target.look_alike()
        } else {
            target
        }
    }
}

/// The payload key that makes a handler panic, in a `test-util` build only: how the tests
/// show that a panic answers an error and the container keeps serving.
#[cfg(feature = "test-util")]
pub const PLANTED_PANIC: &str = "ecs-warden-planted-panic";

/// One Lambda function's handler.
pub trait Handler: Sized {
    /// The function's name in reports, logs and its span.
    const FUNCTION: &'static str;
    /// What an invocation answers.
    type Output: Notable + Serialize;

    /// Builds the handler and its clients, once per container.
    fn build(deps: Deps) -> Self;

    /// What it keeps from its [`Deps`] besides its clients.
    fn common(&self) -> &Common;

    /// Answers one payload, starting no new work once `deadline` has passed.
    fn answer(
        &self,
        payload: Value,
        deadline: &Deadline,
    ) -> impl Future<Output = Result<Self::Output, InvocationError>>;

    /// Answers one payload within `deadline`, then imports its findings into Security Hub,
    /// publishes what the answer needs (or logs why the input was rejected) and writes the
    /// invocation's metrics line. The invocation has a call log of its own
    /// ([`CallLog::invocation`]), so invocations run at once keep their calls apart.
    fn handle_within(
        &self,
        payload: Value,
        deadline: Deadline,
    ) -> impl Future<Output = Result<Self::Output, InvocationError>> {
        CallLog::invocation(async move {
            let started = std::time::Instant::now();
            #[cfg(feature = "test-util")]
            if payload.get(PLANTED_PANIC).is_some() {
                panic!("planted by a test ({PLANTED_PANIC})");
            }
            let mut result = self.answer(payload, &deadline).await;
            let common = self.common();
            if let Ok(answer) = &mut result {
                // Before the notification, so that a failed import is in it too.
                let region = &common.region;
                common
                    .security_hub
                    .import(Self::FUNCTION, region, answer)
                    .await;
            }
            let result = common.notifier.finish(result).await;
            let report = result.as_ref().ok().map(Notable::report);
            metrics::emit(Self::FUNCTION, &common.region, report, started.elapsed());
            result
        })
    }

    /// As [`Handler::handle_within`], without a deadline.
    fn handle_payload(
        &self,
        payload: Value,
    ) -> impl Future<Output = Result<Self::Output, InvocationError>> {
        self.handle_within(payload, Deadline::none())
    }
}

/// A handler of CloudTrail records, as the three guards are: everything but what one
/// parsed event calls for (parsing, the account it acts in, the deadline, the report's
/// calls, the notification) is the same for all of them, so they implement this and get
/// [`Handler`] from it.
pub trait Guard: Sized {
    /// The function's name in reports, logs and its span.
    const NAME: &'static str;
    /// The clients it acts through in one account.
    type Clients: Clone;

    /// Builds the guard and its clients, once per container.
    fn new(deps: Deps) -> Self;

    /// What it keeps from its [`Deps`] besides its clients.
    fn common(&self) -> &Common;

    /// Its clients, per account it may act in.
    fn clients(&self) -> &AccountClients<Self::Clients>;

    /// Refuses an event it does not handle (source, name, account and region fields),
    /// before anything is decided about the event's account.
    fn accept(event: &ApiCallEvent) -> Result<(), InvocationError>;

    /// Checks, creates and repairs what one parsed event calls for, through the clients of
    /// the event's account; returns the report.
    fn handle(
        &self,
        event: &ApiCallEvent,
        clients: &Self::Clients,
    ) -> impl Future<Output = Result<Report, InvocationError>>;

    /// Handles an accepted event in the account that owns it, or reports why it may not
    /// act there (another account's event, a member role it cannot assume).
    fn in_its_account(
        &self,
        event: ApiCallEvent,
    ) -> impl Future<Output = Result<Report, InvocationError>> {
        async move {
            Self::accept(&event)?;
            let account = owner(&event)?;
            let partition = ids::partition(&event.detail.aws_region);
            let common = Guard::common(self);
            let span = info_span!("account", account = %account);
            match self
                .clients()
                .get(account, partition)
                .instrument(span.clone())
                .await
            {
                Ok(clients) => self.handle(&event, &clients).instrument(span).await,
                Err(finding) => Ok(Report::logged_for_event(
                    Self::NAME,
                    common.settings.mode,
                    &event,
                    vec![finding],
                    common.calls.take(),
                )),
            }
        }
    }
}

impl<G: Guard> Handler for G {
    const FUNCTION: &'static str = G::NAME;
    type Output = Report;

    fn build(deps: Deps) -> Self {
        G::new(deps)
    }

    fn common(&self) -> &Common {
        Guard::common(self)
    }

    /// Parses the CloudTrail event, then handles it unless the deadline passes first.
    async fn answer(&self, payload: Value, deadline: &Deadline) -> Result<Report, InvocationError> {
        let handle = |event| self.in_its_account(event);
        dispatch_within(payload, deadline, &Guard::common(self).calls, handle).await
    }
}

/// Runs `H` as a Lambda function: tracing set up, the configuration read and the handler
/// built once, then every invocation answered within its deadline, inside a span that
/// names the function on every log line (the runtime's own included).
pub async fn serve<H: Handler>() -> Result<(), lambda_runtime::Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let handler = H::build(Deps::from_env(H::FUNCTION).await?);
    let handler = &handler;
    lambda_runtime::run(service_fn(|event: LambdaEvent<Value>| {
        let deadline = Deadline::from_epoch_millis(event.context.deadline);
        handler
            .common()
            .accounts
            .learn_home(&event.context.invoked_function_arn);
        // Boxed: one allocation per invocation keeps the nesting of the handler's futures
        // out of the runtime's future type, which otherwise outgrows rustc's query depth
        // (slr-deletion's steps nest deepest).
        Box::pin(handler.handle_within(event.payload, deadline))
    }))
    .instrument(info_span!("ecs_warden", function = H::FUNCTION))
    .await
}
