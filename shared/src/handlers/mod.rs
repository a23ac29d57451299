//! The handlers: one module per Lambda function, and only the `functions/*` entry points
//! (and the tests, which build and drive them the same way) use them.
//!
//! Every function is one type implementing [`Handler`]: its name, its input and answer
//! types, how it is built from [`Deps`] (reading its own configuration), how it parses a
//! payload into its typed input (an unexpected event is an [`InvocationError`] before any
//! AWS call) and how it answers that input within one [`Invocation`]. What every function
//! does around that is [`Function`]'s, which [`serve`] runs: the invocation's own call log,
//! then, after the answer, the Security Hub import, the notification and the metrics line.
//! The three CloudTrail guards share one more step, [`guard`]: the event planned once, then
//! acted on in the account that owns it. Handlers depend on the domain and the invocation
//! plumbing; nothing below them depends on a handler.

use std::fmt;
use std::future::Future;
use std::ops::Deref;
use std::sync::Arc;

use aws_config::SdkConfig;
use lambda_runtime::{service_fn, LambdaEvent};
use serde::Serialize;
use serde_json::Value;
use tracing::{info_span, Instrument};

use crate::aws::{self, CallLog};
use crate::domain::roles::RoleTarget;
use crate::invocation::clock::Clock;
use crate::invocation::context::Invocation;
use crate::invocation::deadline::Deadline;
use crate::invocation::error::InvocationError;
use crate::invocation::metrics;
use crate::invocation::notice::Notable;
use crate::invocation::notify::{Format, Notifier, FORMAT_ENV, TOPIC_ENV};
use crate::invocation::reach::{AccountClients, Accounts, HOME_ACCOUNT_ENV};
use crate::invocation::security_hub::{self, SecurityHub};
use crate::invocation::settings::{Reach, Settings, SettingsError};

pub mod access_doctor;
pub mod ecs_role_guard;
pub mod guard;
pub mod reconcile;
pub mod role_drift_guard;
pub mod routes;
pub mod scaling_guard;
pub mod slr_deletion;
pub mod task_doctor;

use role_drift_guard::{watched_roles, WatchedRole};

/// The function's configuration as the container was given it: the environment, read
/// through here by what every function shares ([`Deps`]) and by each handler for its own
/// settings when it is built.
#[derive(Clone)]
pub struct Environment(Arc<Lookup>);

/// How a variable's value is found.
type Lookup = dyn Fn(&str) -> Option<String> + Send + Sync;

impl Environment {
    /// The process environment: what a Lambda container was configured with.
    pub fn process() -> Self {
        Self::from_fn(|name| std::env::var(name).ok())
    }

    /// The variables `lookup` gives.
    pub fn from_fn(lookup: impl Fn(&str) -> Option<String> + Send + Sync + 'static) -> Self {
        Self(Arc::new(lookup))
    }

    /// The variables of `pairs`, and nothing else.
    pub fn from_pairs(pairs: &[(&str, &str)]) -> Self {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Self::from_fn(move |name| {
            pairs
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        })
    }

    /// The value of the variable `name`, when set.
    pub fn get(&self, name: &str) -> Option<String> {
        (self.0)(name)
    }
}

impl fmt::Debug for Environment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Environment")
    }
}

/// What every function is built from, made once per container: the SDK configuration, the
/// call log every client records into, the configuration all functions share, and the
/// environment each handler reads its own from.
#[derive(Debug, Clone)]
pub struct Deps {
    /// The SDK configuration the clients are built from.
    pub config: SdkConfig,
    /// The log of AWS calls the report lists; every client built from `Deps` records in it.
    pub calls: CallLog,
    /// `WARDEN_MODE`, `WARDEN_VERDICT_TTL_SECONDS`, `WARDEN_REGIONS`.
    pub settings: Settings,
    /// The environment: what a handler reads of its own configuration when it is built.
    pub env: Environment,
    /// `WARDEN_NOTIFICATION_TOPIC_ARN`: where answers worth reading are published.
    pub notifier: Notifier,
    /// `WARDEN_SECURITY_HUB`: whether findings are imported into Security Hub.
    pub security_hub: bool,
    /// The time handlers read: the system's, or a manual one in tests.
    pub clock: Clock,
    /// `WARDEN_MEMBER_ROLE`, `WARDEN_ACCOUNTS`: the accounts the function may act in.
    pub accounts: Arc<Accounts>,
    /// `WARDEN_METRICS` (default `on`): whether every invocation writes its Embedded
    /// Metric Format line to standard output, as a function's log. The command-line
    /// program, whose standard output is its answer, turns it `off`.
    pub metrics: bool,
}

/// `WARDEN_METRICS`: `on` (the default) or `off`.
pub const METRICS_ENV: &str = "WARDEN_METRICS";

impl Deps {
    /// Reads the process environment and builds the SDK configuration: what a Lambda
    /// container does once, at cold start.
    pub async fn from_env(function: &'static str) -> Result<Self, SettingsError> {
        Self::from_environment(function, aws::sdk_config().await, Environment::process())
    }

    /// As [`Deps::from_environment`], the variables read through `lookup`.
    pub fn from_lookup(
        function: &'static str,
        config: SdkConfig,
        lookup: impl Fn(&str) -> Option<String> + Send + Sync + 'static,
    ) -> Result<Self, SettingsError> {
        Self::from_environment(function, config, Environment::from_fn(lookup))
    }

    /// Reads `function`'s shared configuration from `env`, with `config` for the clients.
    pub fn from_environment(
        function: &'static str,
        config: SdkConfig,
        env: Environment,
    ) -> Result<Self, SettingsError> {
        let lookup = |name: &str| env.get(name);
        let calls = CallLog::default();
        let settings = Settings::from_lookup(lookup)?;
        let notifier = match lookup(TOPIC_ENV).as_deref().map(str::trim) {
            None | Some("") => Notifier::off(),
            Some(arn) => {
                let format = Format::from_setting(lookup(FORMAT_ENV).as_deref())?;
                Notifier::to_topic(&config, &calls, arn, format)?
            }
        };
        let security_hub = security_hub::enabled(lookup(security_hub::ENV).as_deref())?;
        let home = lookup(HOME_ACCOUNT_ENV).map(|h| h.trim().to_owned());
        let accounts = Accounts::new(Reach::from_lookup(lookup)?, &config, &calls, home, function);
        let metrics = match lookup(METRICS_ENV).as_deref().map(str::trim) {
            None | Some("" | "on") => true,
            Some("off") => false,
            Some(other) => {
                return Err(SettingsError {
                    name: METRICS_ENV,
                    value: other.to_owned(),
                    problem: "expected on or off",
                })
            }
        };
        Ok(Self {
            metrics,
            config,
            calls,
            settings,
            notifier,
            security_hub,
            clock: Clock::system(),
            accounts: Arc::new(accounts),
            env,
        })
    }

    /// The part of these dependencies a handler keeps.
    pub fn common(&self) -> Common {
        Common {
            settings: self.settings.clone(),
            calls: self.calls.clone(),
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

/// What a handler keeps of its [`Deps`] besides its clients: the shared settings, and the
/// call log its report takes the invocation's calls from.
#[derive(Debug, Clone)]
pub struct Common {
    /// `WARDEN_MODE`, `WARDEN_VERDICT_TTL_SECONDS`, `WARDEN_REGIONS`.
    pub settings: Settings,
    /// The log of AWS calls its clients record in; `take` gives the current invocation's.
    pub calls: CallLog,
}

/// The roles `WARDEN_WATCHED_ROLES` names: the catalog's, and roles of other names
/// configured to look like one, which ecs-warden may write to as to the catalog's own.
#[derive(Debug, Clone, Default)]
pub struct Watched(Vec<WatchedRole>);

impl Watched {
    /// The roles `deps` configures (every catalog role when none are named).
    pub fn from_deps(deps: &Deps) -> Result<Self, SettingsError> {
        watched_roles(deps.env.get("WARDEN_WATCHED_ROLES").as_deref()).map(Self)
    }

    /// The watched role named `name`.
    pub fn find(&self, name: &str) -> Option<&WatchedRole> {
        self.0.iter().find(|w| w.name == name)
    }

    /// `target`, writable when it is a configured look-alike of its catalog role.
    pub fn owned(&self, target: RoleTarget) -> RoleTarget {
        let configured = self
            .0
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

/// One Lambda function: a type built once per container that parses a payload into its
/// input and answers it.
pub trait Handler: Sized {
    /// The function's name in reports, logs and its span.
    const FUNCTION: &'static str;
    /// A payload as the handler understands it, validated before any AWS call.
    type Input;
    /// What an invocation answers.
    type Output: Notable + Serialize;

    /// Builds the handler and its clients, once per container, reading its own
    /// configuration from `deps.env`.
    fn build(deps: &Deps) -> Result<Self, SettingsError>;

    /// Parses and validates a payload, making no AWS call.
    fn parse(&self, payload: Value) -> Result<Self::Input, InvocationError>;

    /// Answers one input within `invocation`, starting no new work once its deadline has
    /// passed.
    fn answer(
        &self,
        input: Self::Input,
        invocation: &Invocation,
    ) -> impl Future<Output = Result<Self::Output, InvocationError>>;
}

/// A handler as a container runs it: the handler, and what happens after every answer (the
/// Security Hub import, the notification, the metrics line), which is the same for all.
#[derive(Debug)]
pub struct Function<H> {
    handler: H,
    calls: CallLog,
    notifier: Notifier,
    security_hub: SecurityHub,
    accounts: Arc<Accounts>,
    /// The function's own region, the metrics' `region` dimension.
    region: String,
    /// Whether the metrics line is written.
    metrics: bool,
}

impl<H: Handler> Function<H> {
    /// Builds `H` from `deps`, as a container does once.
    pub fn build(deps: &Deps) -> Result<Self, SettingsError> {
        Ok(Self::new(H::build(deps)?, deps))
    }

    /// Runs `handler` (built elsewhere, as a test builds one over mocked clients) with
    /// what `deps` gives every function.
    pub fn new(handler: H, deps: &Deps) -> Self {
        Self {
            handler,
            calls: deps.calls.clone(),
            notifier: deps.notifier.clone(),
            security_hub: if deps.security_hub {
                SecurityHub::importing(&deps.accounts, &deps.config, &deps.calls)
            } else {
                SecurityHub::off()
            },
            accounts: deps.accounts.clone(),
            metrics: deps.metrics,
            region: deps
                .config
                .region()
                .map(|r| r.as_ref().to_owned())
                .unwrap_or_default(),
        }
    }

    /// Answers one payload within `deadline`, then imports its findings into Security Hub,
    /// publishes what the answer needs (or logs why the input was rejected) and writes the
    /// invocation's metrics line. The invocation has a call log of its own, so invocations
    /// run at once keep their calls apart.
    pub async fn handle_within(
        &self,
        payload: Value,
        deadline: Deadline,
    ) -> Result<H::Output, InvocationError> {
        self.invoke(payload, Invocation::new(deadline, self.calls.clone()))
            .await
    }

    /// As [`Function::handle_within`], without a deadline.
    pub async fn handle_payload(&self, payload: Value) -> Result<H::Output, InvocationError> {
        self.handle_within(payload, Deadline::none()).await
    }

    async fn invoke(
        &self,
        payload: Value,
        invocation: Invocation,
    ) -> Result<H::Output, InvocationError> {
        invocation
            .run(async {
                let started = std::time::Instant::now();
                #[cfg(feature = "test-util")]
                if payload.get(PLANTED_PANIC).is_some() {
                    panic!("planted by a test ({PLANTED_PANIC})");
                }
                let mut result = match self.handler.parse(payload) {
                    Ok(input) => self.handler.answer(input, &invocation).await,
                    Err(rejected) => Err(rejected),
                };
                if let Ok(answer) = &mut result {
                    // Before the notification, so that a failed import is in it too.
                    self.security_hub
                        .import(H::FUNCTION, &self.region, answer)
                        .await;
                }
                let result = self.notifier.finish(result).await;
                let report = result.as_ref().ok().map(Notable::report);
                if self.metrics {
                    metrics::emit(H::FUNCTION, &self.region, report, started.elapsed());
                }
                result
            })
            .await
    }
}

/// The handler's own methods, as on the handler itself.
impl<H> Deref for Function<H> {
    type Target = H;

    fn deref(&self) -> &H {
        &self.handler
    }
}

/// Runs `H` as a Lambda function: tracing set up, the configuration read and the handler
/// built once, then every invocation answered within its deadline, inside a span that
/// names the function on every log line (the runtime's own included).
pub async fn serve<H: Handler>() -> Result<(), lambda_runtime::Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let deps = Deps::from_env(H::FUNCTION).await?;
    let function = Function::<H>::build(&deps)?;
    let function = &function;
    lambda_runtime::run(service_fn(|event: LambdaEvent<Value>| {
        let context = event.context;
        function.accounts.learn_home(&context.invoked_function_arn);
        let deadline = Deadline::from_epoch_millis(context.deadline);
        let invocation = Invocation::new(deadline, function.calls.clone());
        // Boxed: one allocation per invocation keeps the handler's nested futures out of
        // the runtime's future type, whose layout otherwise outgrows rustc's query depth.
        Box::pin(function.invoke(event.payload, invocation))
    }))
    .instrument(info_span!("ecs_warden", function = H::FUNCTION))
    .await
}
