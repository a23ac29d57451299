//! Talking to AWS: clients built once per container, the log of the calls an invocation
//! makes, and reading the errors calls return.

pub mod accounts;
pub mod ids;
#[cfg(feature = "test-util")]
pub mod mocks;

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_smithy_http_client::tls;
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::http::SharedHttpClient;
use aws_smithy_runtime_api::client::interceptors::context::BeforeSerializationInterceptorContextRef;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::orchestrator::{HttpResponse, Metadata};
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

/// Attempts per call: the SDK's standard retry mode with backoff and jitter, one more
/// attempt than its default because IAM throttles bursts of control-plane calls.
pub const MAX_ATTEMPTS: u32 = 4;

/// How long a new connection may take: the AWS SDKs' `standard` smart-configuration default
/// (3.1 s, the same for calls to another region; docs/reliability.md, Timeouts).
pub const CONNECT_TIMEOUT: Duration = Duration::from_millis(3100);

/// How long one attempt of a call may take, from sending the request to the last byte of
/// the answer. The SDK sets none, so an answer that never comes holds the call until the
/// function's own timeout; with it the attempt fails as a timeout, which the standard retry
/// mode retries. Far above what a control-plane call takes (well under a second), short
/// enough that a stalled attempt and its retry fit the 30 s the event functions get
/// (docs/reliability.md, Timeouts).
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);

/// The HTTPS client every SDK client shares: rustls on ring, trusting the system roots.
pub fn https_client() -> SharedHttpClient {
    // ring draws from the OS. aws-lc, the SDK default, first gathers CPU jitter entropy,
    // which cost 47 ms of CPU on the first call here: 0.58 s at 128 MB's CPU share.
    aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(
            tls::rustls_provider::CryptoMode::Ring,
        ))
        .build_https()
}

/// The retry policy of every client: the SDK's standard mode (exponential backoff with
/// jitter, a retry token bucket) with [`MAX_ATTEMPTS`].
pub fn retry_config() -> RetryConfig {
    RetryConfig::standard().with_max_attempts(MAX_ATTEMPTS)
}

/// The timeouts of every client: [`CONNECT_TIMEOUT`] and [`ATTEMPT_TIMEOUT`]; no limit on
/// a call's attempts together, which the invocation's deadline bounds.
pub fn timeout_config() -> TimeoutConfig {
    TimeoutConfig::builder()
        .connect_timeout(CONNECT_TIMEOUT)
        .operation_attempt_timeout(ATTEMPT_TIMEOUT)
        .build()
}

/// Loads the shared SDK configuration from the standard sources (`AWS_REGION`,
/// `AWS_ENDPOINT_URL`, credentials), so the functions run unchanged against an emulator.
pub async fn sdk_config() -> SdkConfig {
    config_loader().load().await
}

/// The loader [`sdk_config`] uses: the standard sources with ecs-warden's HTTPS client,
/// retries and timeouts, for a caller (the command-line program) to name a profile or
/// region before loading.
pub fn config_loader() -> aws_config::ConfigLoader {
    aws_config::defaults(BehaviorVersion::latest())
        .http_client(https_client())
        .retry_config(retry_config())
        .timeout_config(timeout_config())
}

// Each SDK crate has its own config builder type with an inherent `interceptor` method, so
// one generic function cannot build them all.
macro_rules! recorded_client {
    ($(#[$doc:meta])* $name:ident, $sdk:ident) => {
        $(#[$doc])*
        pub fn $name(config: &SdkConfig, calls: &CallLog) -> $sdk::Client {
            let conf = $sdk::config::Builder::from(config)
                .interceptor(calls.clone())
                .build();
            $sdk::Client::from_conf(conf)
        }
    };
}

recorded_client!(
    /// An Account Management client that records its calls in `calls`.
    account_client,
    aws_sdk_account
);
recorded_client!(
    /// An IAM client that records its calls in `calls`.
    iam_client,
    aws_sdk_iam
);
recorded_client!(
    /// An Application Auto Scaling client that records its calls in `calls`.
    autoscaling_client,
    aws_sdk_applicationautoscaling
);
recorded_client!(
    /// A CloudTrail client that records its calls in `calls`.
    cloudtrail_client,
    aws_sdk_cloudtrail
);
recorded_client!(
    /// A CloudWatch client that records its calls in `calls`.
    cloudwatch_client,
    aws_sdk_cloudwatch
);
recorded_client!(
    /// An ECS client that records its calls in `calls`.
    ecs_client,
    aws_sdk_ecs
);
recorded_client!(
    /// An Organizations client that records its calls in `calls`.
    organizations_client,
    aws_sdk_organizations
);
recorded_client!(
    /// A Security Hub client that records its calls in `calls`.
    securityhub_client,
    aws_sdk_securityhub
);
recorded_client!(
    /// An SNS client that records its calls in `calls`.
    sns_client,
    aws_sdk_sns
);
recorded_client!(
    /// A KMS client that records its calls in `calls`.
    kms_client,
    aws_sdk_kms
);
recorded_client!(
    /// A Secrets Manager client that records its calls in `calls`.
    secretsmanager_client,
    aws_sdk_secretsmanager
);
recorded_client!(
    /// A Systems Manager client that records its calls in `calls`.
    ssm_client,
    aws_sdk_ssm
);
recorded_client!(
    /// An STS client that records its calls in `calls`.
    sts_client,
    aws_sdk_sts
);

/// The clients of one region, built once per container and shared by its invocations.
#[derive(Debug, Clone)]
pub struct Clients {
    /// IAM (global).
    pub iam: aws_sdk_iam::Client,
    /// Application Auto Scaling.
    pub autoscaling: aws_sdk_applicationautoscaling::Client,
    /// CloudWatch.
    pub cloudwatch: aws_sdk_cloudwatch::Client,
    /// ECS.
    pub ecs: aws_sdk_ecs::Client,
    /// STS: who the function is.
    pub sts: aws_sdk_sts::Client,
}

impl Clients {
    /// Every client, over one configuration, recording into one log.
    pub fn new(config: &SdkConfig, calls: &CallLog) -> Self {
        Self {
            iam: iam_client(config, calls),
            autoscaling: autoscaling_client(config, calls),
            cloudwatch: cloudwatch_client(config, calls),
            ecs: ecs_client(config, calls),
            sts: sts_client(config, calls),
        }
    }

    /// The region the regional clients act in.
    pub fn region(&self) -> Option<&str> {
        self.cloudwatch.config().region().map(|r| r.as_ref())
    }
}

/// What task-doctor acts through in one account: IAM, ECS, and what tells it the KMS key
/// of a secret or a parameter (Secrets Manager, Systems Manager, KMS). Apart from
/// [`Clients`]: no other function reads secrets' metadata.
#[derive(Debug, Clone)]
pub struct TaskClients {
    /// IAM (global).
    pub iam: aws_sdk_iam::Client,
    /// ECS: the task definition, the service's events.
    pub ecs: aws_sdk_ecs::Client,
    /// Secrets Manager: a secret's key (DescribeSecret).
    pub secrets: aws_sdk_secretsmanager::Client,
    /// Systems Manager: a parameter's key (DescribeParameters).
    pub ssm: aws_sdk_ssm::Client,
    /// KMS: whether a key is customer-managed, and its ARN (DescribeKey).
    pub kms: aws_sdk_kms::Client,
}

impl TaskClients {
    /// Every client, over one configuration, recording into one log.
    pub fn new(config: &SdkConfig, calls: &CallLog) -> Self {
        Self {
            iam: iam_client(config, calls),
            ecs: ecs_client(config, calls),
            secrets: secretsmanager_client(config, calls),
            ssm: ssm_client(config, calls),
            kms: kms_client(config, calls),
        }
    }

    /// The region the regional clients act in.
    pub fn region(&self) -> Option<&str> {
        self.ecs.config().region().map(|r| r.as_ref())
    }
}

/// What a function that looks across an account's regions acts through: IAM, STS and the
/// function region's clients, any region's clients, and Account Management for which
/// regions are enabled (role-drift-guard's search for a deleted role's users,
/// slr-deletion's inventory).
#[derive(Debug, Clone)]
pub struct AccountWide {
    /// IAM, STS and the function region's clients.
    pub clients: Clients,
    /// Any region's clients.
    pub regional: Regional,
    /// Account Management: the account's enabled regions.
    pub account: aws_sdk_account::Client,
}

impl AccountWide {
    /// All of them over one configuration, recording into `calls`.
    pub fn new(config: &SdkConfig, calls: &CallLog) -> Self {
        Self {
            clients: Clients::new(config, calls),
            regional: Regional::new(config, calls),
            account: account_client(config, calls),
        }
    }
}

/// Clients for any region, built on first use and kept for the container's life: sweeps
/// and the deletion inventory act in several regions from one function.
#[derive(Debug, Clone)]
pub struct Regional(Arc<PerRegion<Clients>>);

impl Regional {
    /// Clients over `config` with the region replaced, recording into `calls`.
    pub fn new(config: &SdkConfig, calls: &CallLog) -> Self {
        Self(Arc::new(PerRegion::new(config, calls, Clients::new)))
    }

    /// The same clients whatever the region: for tests whose mocks do not care.
    #[cfg(feature = "test-util")]
    pub fn fixed(clients: Clients) -> Self {
        Self(Arc::new(PerRegion::Fixed(clients)))
    }

    /// The clients acting in `region`.
    pub fn clients(&self, region: &str) -> Clients {
        self.0.get(region)
    }
}

/// CloudTrail clients for any region, built on first use. Apart from [`Clients`]: only
/// reconcile reads trails, so no other function builds one.
#[derive(Debug, Clone)]
pub struct TrailClients(Arc<PerRegion<aws_sdk_cloudtrail::Client>>);

impl TrailClients {
    /// Clients over `config` with the region replaced, recording into `calls`.
    pub fn new(config: &SdkConfig, calls: &CallLog) -> Self {
        Self(Arc::new(PerRegion::new(config, calls, cloudtrail_client)))
    }

    /// The same client whatever the region: for tests whose mocks do not care.
    #[cfg(feature = "test-util")]
    pub fn fixed(client: aws_sdk_cloudtrail::Client) -> Self {
        Self(Arc::new(PerRegion::Fixed(client)))
    }

    /// The client acting in `region`.
    pub fn client(&self, region: &str) -> aws_sdk_cloudtrail::Client {
        self.0.get(region)
    }
}

/// Security Hub clients for any region, built on first use: a finding is imported in the
/// region of the resource it is about.
#[derive(Debug, Clone)]
pub struct SecurityHubClients(Arc<PerRegion<aws_sdk_securityhub::Client>>);

impl SecurityHubClients {
    /// Clients over `config` with the region replaced, recording into `calls`.
    pub fn new(config: &SdkConfig, calls: &CallLog) -> Self {
        Self(Arc::new(PerRegion::new(config, calls, securityhub_client)))
    }

    /// The same client whatever the region: for tests whose mocks do not care.
    #[cfg(feature = "test-util")]
    pub fn fixed(client: aws_sdk_securityhub::Client) -> Self {
        Self(Arc::new(PerRegion::Fixed(client)))
    }

    /// The client acting in `region`.
    pub fn client(&self, region: &str) -> aws_sdk_securityhub::Client {
        self.0.get(region)
    }
}

/// A client (or set of clients) per region, built from one configuration on first use.
#[derive(Debug)]
enum PerRegion<C> {
    Config {
        config: Box<SdkConfig>,
        calls: CallLog,
        build: fn(&SdkConfig, &CallLog) -> C,
        built: Mutex<HashMap<String, C>>,
    },
    /// One client for every region, which only mocked clients (feature `test-util`) want.
    #[cfg(feature = "test-util")]
    Fixed(C),
}

impl<C: Clone> PerRegion<C> {
    fn new(config: &SdkConfig, calls: &CallLog, build: fn(&SdkConfig, &CallLog) -> C) -> Self {
        Self::Config {
            config: Box::new(config.clone()),
            calls: calls.clone(),
            build,
            built: Mutex::default(),
        }
    }

    fn get(&self, region: &str) -> C {
        match self {
            #[cfg(feature = "test-util")]
            Self::Fixed(client) => client.clone(),
            Self::Config {
                config,
                calls,
                build,
                built,
            } => {
                let mut built = built.lock().unwrap_or_else(|e| e.into_inner());
                built
                    .entry(region.to_owned())
                    .or_insert_with(|| {
                        let regional = config
                            .to_builder()
                            .region(Region::new(region.to_owned()))
                            .build();
                        build(&regional, calls)
                    })
                    .clone()
            }
        }
    }
}

/// The AWS operations made through the clients it is attached to, in order, as
/// `service:Operation`, kept per invocation: inside [`CallLog::invocation`] every call goes
/// to that invocation's own log, so two invocations a container runs at once (Lambda's
/// concurrent runtime, a test) never see each other's calls. Outside one (a domain function
/// called on its own) the calls go to a log of the container's, which `take` drains.
#[derive(Clone, Default)]
pub struct CallLog {
    outside: Recorded,
    observer: Option<Observer>,
}

/// Sees every call a [`CallLog`] records.
type Observer = Arc<dyn Fn(&str) + Send + Sync>;

/// Calls in the order they were made.
#[derive(Clone, Default)]
struct Recorded(Arc<Mutex<Vec<String>>>);

impl Recorded {
    fn push(&self, call: String) {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).push(call);
    }

    fn take(&self) -> Vec<String> {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

tokio::task_local! {
    /// The calls of the invocation the current task works for.
    static INVOCATION: Recorded;
}

impl CallLog {
    /// A log that also hands every call to `observer`: how the tests collect each
    /// function's calls to hold them against its policy.
    pub fn observed(observer: impl Fn(&str) + Send + Sync + 'static) -> Self {
        Self {
            outside: Recorded::default(),
            observer: Some(Arc::new(observer)),
        }
    }

    /// Runs `work` as one invocation with a call log of its own: what any client records
    /// while it runs, in its task or in tasks started with [`CallLog::carried`], and what
    /// [`CallLog::take`] takes inside it.
    pub async fn invocation<F: Future>(work: F) -> F::Output {
        INVOCATION.scope(Recorded::default(), work).await
    }

    /// `work`, to be spawned as a task of its own, recording into the log of the invocation
    /// it is made in (a spawned task does not inherit it).
    pub fn carried<F: Future>(work: F) -> impl Future<Output = F::Output> {
        let current = INVOCATION.try_with(Recorded::clone).ok();
        async move {
            match current {
                Some(recorded) => INVOCATION.scope(recorded, work).await,
                None => work.await,
            }
        }
    }

    /// Takes the calls recorded so far in this invocation (outside one, the container's),
    /// leaving that log empty.
    pub fn take(&self) -> Vec<String> {
        INVOCATION
            .try_with(Recorded::take)
            .unwrap_or_else(|_| self.outside.take())
    }

    fn record(&self, call: String) {
        if let Some(observer) = &self.observer {
            observer(&call);
        }
        match INVOCATION.try_with(Recorded::clone) {
            Ok(invocation) => invocation.push(call),
            Err(_) => self.outside.push(call),
        }
    }
}

impl fmt::Debug for CallLog {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CallLog")
    }
}

impl Intercept for CallLog {
    fn name(&self) -> &'static str {
        "CallLog"
    }

    // Not read_before_execution: client interceptors run that before the operation's
    // configuration (and so its Metadata) is in the bag. Serialization runs once per
    // operation, before any retry.
    fn read_before_serialization(
        &self,
        _context: &BeforeSerializationInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if let Some(meta) = cfg.load::<Metadata>() {
            self.record(format!("{}:{}", action_prefix(meta.service()), meta.name()));
        }
        Ok(())
    }
}

/// The IAM action prefix of an SDK service name, so the report's calls read like the
/// permissions they need (`application-autoscaling:PutScalingPolicy`,
/// `secretsmanager:DescribeSecret`).
fn action_prefix(service: &str) -> String {
    match service {
        "Application Auto Scaling" => "application-autoscaling".to_owned(),
        other => other.replace(' ', "").to_ascii_lowercase(),
    }
}

/// A call that failed, with what it was for; it reads as [`CallError::explain`] says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailedCall {
    /// The IAM action of the call, e.g. `ecs:ListClusters`.
    pub action: &'static str,
    /// What it was called on: an ARN, or the region for a list.
    pub resource: String,
    /// What AWS answered.
    pub error: CallError,
}

impl fmt::Display for FailedCall {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.error.explain(self.action, &self.resource))
    }
}

impl std::error::Error for FailedCall {}

/// What an AWS call's failure says: what decides the next step, and what an operator
/// opening a support case needs (the request id, the HTTP status).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CallError {
    /// The error code, e.g. `NoSuchEntity`, `AccessDenied`; empty when the call never got
    /// an answer (timeout, connection failure).
    pub code: String,
    /// The service's message, or the transport failure.
    pub message: String,
    /// AWS's id of the request, which a support case asks for; `None` when no answer came.
    pub request_id: Option<String>,
    /// The extended request id (`x-amz-id-2`), where the service gives one.
    pub extended_request_id: Option<String>,
    /// The answer's HTTP status; `None` when no answer came.
    pub status: Option<u16>,
    /// Where the call failed, as the SDK tells it.
    pub kind: CallErrorKind,
}

/// Where a call failed, as the SDK's error variants tell it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CallErrorKind {
    /// The service answered with an error.
    #[default]
    Service,
    /// No answer within the client's timeouts.
    Timeout,
    /// The request could not be sent (connection refused or reset, DNS, TLS).
    Dispatch,
    /// An answer came that could not be read.
    Response,
    /// The request could not be built; nothing was sent.
    Construction,
}

impl CallError {
    /// Reads an SDK error.
    pub fn from_sdk<E>(err: &SdkError<E, HttpResponse>) -> Self
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
    {
        let code = err.code().unwrap_or_default().to_owned();
        let message = match err.message() {
            Some(m) => m.to_owned(),
            None => aws_smithy_types::error::display::DisplayErrorContext(err).to_string(),
        };
        let raw = err.raw_response();
        let header = |name: &str| raw.and_then(|r| r.headers().get(name)).map(str::to_owned);
        // The query protocols (IAM, STS, CloudWatch) put it in the error body, which the
        // SDK keeps in the error's metadata; the others in a header.
        let request_id = err
            .meta()
            .extra("aws_request_id")
            .map(str::to_owned)
            .or_else(|| header("x-amzn-requestid"))
            .or_else(|| header("x-amz-request-id"));
        let kind = match err {
            SdkError::ServiceError(_) => CallErrorKind::Service,
            SdkError::TimeoutError(_) => CallErrorKind::Timeout,
            SdkError::DispatchFailure(_) => CallErrorKind::Dispatch,
            SdkError::ResponseError(_) => CallErrorKind::Response,
            _ => CallErrorKind::Construction,
        };
        Self {
            code,
            message,
            request_id,
            extended_request_id: header("x-amz-id-2"),
            status: raw.map(|r| r.status().as_u16()),
            kind,
        }
    }

    /// A failure on this side of the wire, with no answer from AWS to read.
    pub fn local(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            kind: CallErrorKind::Construction,
            ..Self::default()
        }
    }

    /// What an operator quotes to AWS support: ` (request id …)`, or nothing.
    fn request_note(&self) -> String {
        match (&self.request_id, &self.extended_request_id) {
            (Some(id), Some(extended)) => format!(" (request id {id}, extended {extended})"),
            (Some(id), None) => format!(" (request id {id})"),
            _ => String::new(),
        }
    }

    /// The caller lacks a permission.
    pub fn is_access_denied(&self) -> bool {
        matches!(
            self.code.as_str(),
            "AccessDenied" | "AccessDeniedException" | "UnauthorizedOperation"
        )
    }

    /// The entity does not exist.
    pub fn is_not_found(&self) -> bool {
        self.code == "NoSuchEntity"
    }

    /// A create lost a race to another caller: IAM answers `InvalidInput ... has been taken
    /// in this account` for service-linked roles and `EntityAlreadyExists` elsewhere.
    pub fn is_already_exists(&self) -> bool {
        self.code == "EntityAlreadyExists"
            || (self.code == "InvalidInput" && self.message.contains("has been taken"))
    }

    /// This failure as the failed call of `action` on `resource`.
    pub fn on(self, action: &'static str, resource: impl Into<String>) -> FailedCall {
        FailedCall {
            action,
            resource: resource.into(),
            error: self,
        }
    }

    /// A finding detail for a failed `action` on `resource`, naming the missing
    /// permission when that is the cause.
    pub fn explain(&self, action: &str, resource: &str) -> String {
        let note = self.request_note();
        if self.is_access_denied() {
            format!(
                "access denied: the function's role lacks {action} on {resource}; grant it \
                 (template.yaml lists the function's permissions). AWS said: {}{note}",
                self.message
            )
        } else if self.code.is_empty() {
            format!(
                "{action} on {resource} failed without an answer: {}{note}",
                self.message
            )
        } else {
            format!(
                "{action} on {resource} failed: {}: {}{note}",
                self.code, self.message
            )
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn calls_are_named_by_their_iam_action_prefix() {
        let prefix = super::action_prefix;
        assert_eq!(
            prefix("Application Auto Scaling"),
            "application-autoscaling"
        );
        assert_eq!(prefix("Secrets Manager"), "secretsmanager");
        assert_eq!(prefix("SSM"), "ssm");
        assert_eq!(prefix("KMS"), "kms");
    }

    use super::*;

    fn err(code: &str, message: &str) -> CallError {
        CallError {
            code: code.into(),
            message: message.into(),
            ..CallError::default()
        }
    }

    #[test]
    fn both_race_answers_count_as_already_exists() {
        assert!(err("EntityAlreadyExists", "Role with name x already exists.").is_already_exists());
        assert!(err(
            "InvalidInput",
            "Service role name AWSServiceRoleForECS has been taken in this account, please try a different suffix."
        )
        .is_already_exists());
        assert!(!err("InvalidInput", "Invalid service name").is_already_exists());
    }

    #[test]
    fn access_denied_names_the_permission() {
        let detail = err("AccessDenied", "User: x is not authorized")
            .explain("iam:AttachRolePolicy", "arn:aws:iam::1:role/r");
        assert!(
            detail.contains("lacks iam:AttachRolePolicy on arn:aws:iam::1:role/r"),
            "{detail}"
        );
    }
}
