//! Test harness: one moto server per test process, started here on a free 127.0.0.1 port,
//! and one fresh AWS account per test, so tests run in parallel without seeing each
//! other's roles.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_applicationautoscaling::types::{
    AdjustmentType, PolicyType, PredefinedMetricSpecification, ScalableDimension, ScalingPolicy,
    ServiceNamespace, StepAdjustment, StepScalingPolicyConfiguration,
    TargetTrackingScalingPolicyConfiguration,
};
use aws_sdk_cloudwatch::types::{ComparisonOperator, MetricAlarm, Statistic};
use aws_sdk_iam::config::Credentials;
use ecs_warden::aws::CallLog;
use ecs_warden::domain::alarms::AlarmSettings;
use ecs_warden::domain::catalog::{RoleSpec, ECS_AUTOSCALING_SERVICE_LINKED_ROLE};
use ecs_warden::domain::trust_policy::TrustPolicy;
use ecs_warden::handlers::access_doctor::AccessDoctor;
use ecs_warden::handlers::ecs_role_guard::EcsRoleGuard;
use ecs_warden::handlers::reconcile::Reconcile;
use ecs_warden::handlers::role_drift_guard::{watched_roles, RoleDriftGuard};
use ecs_warden::handlers::scaling_guard::ScalingGuard;
use ecs_warden::handlers::slr_deletion::SlrDeletion;
pub use ecs_warden::handlers::{Deps, Handler};
use ecs_warden::invocation::clock::Clock;
use ecs_warden::invocation::notify::Notifier;
use ecs_warden::invocation::report::{Report, Status};
use ecs_warden::invocation::settings::{Mode, Settings};
use serde_json::Value;

mod fault_proxy;
pub use fault_proxy::{Fault, FaultCounts, FaultProxy};

/// Where the tests leave each function's AWS calls (`FUNCTION.txt`, one call per line) for
/// `scripts/check_policies.py` to hold against the function's policy; unset, nowhere.
pub const CALLS_DIR_ENV: &str = "WARDEN_CALLS_DIR";

/// A call log for a handler of `function` that, when `WARDEN_CALLS_DIR` is set, adds each
/// distinct call to the function's file there.
fn call_log(function: &'static str) -> CallLog {
    static SEEN: Mutex<Vec<(&'static str, String)>> = Mutex::new(Vec::new());
    let Some(dir) = std::env::var_os(CALLS_DIR_ENV).map(PathBuf::from) else {
        return CallLog::default();
    };
    CallLog::observed(move |call| {
        let mut seen = SEEN.lock().unwrap_or_else(|e| e.into_inner());
        if seen.iter().any(|(f, c)| *f == function && c == call) {
            return;
        }
        seen.push((function, call.to_owned()));
        std::fs::create_dir_all(&dir).expect("create the calls directory");
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.join(format!("{function}.txt")))
            .expect("open the calls file");
        writeln!(file, "{call}").expect("record a call");
    })
}

/// The account id the sample events in `events/` are written for.
pub const SAMPLE_ACCOUNT: &str = "111122223333";
/// The region the sample events come from, and the one the harness's clients act in.
pub const SAMPLE_REGION: &str = "eu-west-1";

/// The workspace root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ sits in the workspace")
        .to_path_buf()
}

/// The project's venv, created by `scripts/venv.sh` when it is not there yet.
pub fn venv_bin(tool: &str) -> PathBuf {
    let venv = std::env::var_os("WARDEN_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join(".venv"));
    let venv = if venv.is_absolute() {
        venv
    } else {
        root().join(venv)
    };
    if !venv.join("bin").join(tool).exists() {
        let status = Command::new(root().join("scripts/venv.sh"))
            .status()
            .expect("run scripts/venv.sh");
        assert!(status.success(), "scripts/venv.sh failed");
    }
    venv.join("bin").join(tool)
}

struct Moto {
    endpoint: String,
    // Held so the server's stdin stays open: it exits when this process does.
    _server: Child,
}

fn moto() -> &'static Moto {
    static MOTO: OnceLock<Moto> = OnceLock::new();
    MOTO.get_or_init(|| {
        let port = free_port();
        let server = Command::new(venv_bin("python"))
            .arg(root().join("tests/moto_server.py"))
            .arg(port.to_string())
            .arg("--exit-with-stdin")
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start moto server");
        wait_for_http(port, Duration::from_secs(60));
        Moto {
            endpoint: format!("http://127.0.0.1:{port}"),
            _server: server,
        }
    })
}

/// A port nothing listens on right now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("bind an ephemeral port")
}

/// Waits until something on `port` answers an HTTP request.
pub fn wait_for_http(port: u16, limit: Duration) {
    let start = Instant::now();
    while start.elapsed() < limit {
        if let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) {
            let _ = stream.write_all(b"GET / HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n");
            let mut first = [0u8; 12];
            if stream.read_exact(&mut first).is_ok() && first.starts_with(b"HTTP/") {
                return;
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("nothing answered on 127.0.0.1:{port} within {limit:?}");
}

/// Overrides the functions' retry policy in the tests, `standard:N` or `adaptive:N`
/// (`scripts/fault_tuning.py` compares them under faults); unset, the functions' own.
pub const RETRY_ENV: &str = "WARDEN_TEST_RETRY";

/// The retry policy the tests' clients use: [`RETRY_ENV`], else the functions' own.
pub fn retry_config() -> aws_config::retry::RetryConfig {
    use aws_config::retry::RetryConfig;
    let Ok(wanted) = std::env::var(RETRY_ENV) else {
        return ecs_warden::aws::retry_config();
    };
    let parsed = wanted.split_once(':').and_then(|(mode, n)| {
        let n: u32 = n.parse().ok()?;
        match mode {
            "standard" => Some(RetryConfig::standard().with_max_attempts(n)),
            "adaptive" => Some(RetryConfig::adaptive().with_max_attempts(n)),
            _ => None,
        }
    });
    parsed.unwrap_or_else(|| panic!("{RETRY_ENV}={wanted}: expected standard:N or adaptive:N"))
}

/// The moto endpoint, starting the server on first use.
pub fn endpoint() -> &'static str {
    &moto().endpoint
}

fn config_with(credentials: Credentials) -> SdkConfig {
    aws_config::SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .http_client(ecs_warden::aws::https_client())
        .retry_config(retry_config())
        .region(Region::new(SAMPLE_REGION))
        .endpoint_url(endpoint())
        .credentials_provider(aws_sdk_iam::config::SharedCredentialsProvider::new(
            credentials,
        ))
        .build()
}

/// A fresh account in the emulator, with credentials that act in it.
pub struct Account {
    /// The 12-digit account id.
    pub id: String,
    /// SDK configuration acting in this account.
    pub config: SdkConfig,
    /// A plain IAM client for arranging and asserting state (its calls are not counted).
    pub iam: aws_sdk_iam::Client,
    credentials: Credentials,
    /// Where the handlers built from now on publish their notifications.
    topic: Mutex<Option<String>>,
}

impl Account {
    /// Assumes a role into a new account id, which moto gives an empty IAM of its own.
    pub async fn new() -> Self {
        static NEXT: AtomicU32 = AtomicU32::new(1);
        let id = format!(
            "{:06}{:06}",
            std::process::id() % 1_000_000,
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let root = config_with(Credentials::new(
            "testing", "testing", None, None, "harness",
        ));
        let sts = aws_sdk_sts::Client::new(&root);
        let assumed = sts
            .assume_role()
            .role_arn(format!("arn:aws:iam::{id}:role/warden-test"))
            .role_session_name("warden-test")
            .send()
            .await
            .expect("assume a role into a fresh account");
        let c = assumed.credentials().expect("credentials");
        let credentials = Credentials::new(
            c.access_key_id(),
            c.secret_access_key(),
            Some(c.session_token().to_owned()),
            None,
            "account",
        );
        let config = config_with(credentials.clone());
        let iam = aws_sdk_iam::Client::new(&config);
        Self {
            id,
            config,
            iam,
            credentials,
            topic: Mutex::default(),
        }
    }

    /// The same account with its handlers' requests going through `proxy`; arranging and
    /// asserting (`iam`, [`RegionClients`] over the original) still talk to moto directly.
    pub fn through(&self, proxy: &FaultProxy) -> Account {
        Account {
            id: self.id.clone(),
            config: self
                .config
                .to_builder()
                .endpoint_url(proxy.endpoint())
                .build(),
            iam: self.iam.clone(),
            credentials: self.credentials.clone(),
            topic: Mutex::new(self.topic.lock().unwrap().clone()),
        }
    }

    /// Makes every handler built from now on publish its notifications to `topic_arn`.
    pub fn notify_to(&self, topic_arn: &str) {
        *self.topic.lock().unwrap() = Some(topic_arn.to_owned());
    }

    /// The notifier a handler gets: off unless [`Self::notify_to`] named a topic.
    fn notifier(&self, calls: &CallLog) -> Notifier {
        match &*self.topic.lock().unwrap() {
            Some(arn) => Notifier::to_topic(&self.config, calls, arn).expect("a topic ARN"),
            None => Notifier::off(),
        }
    }

    /// The role behind the sample sessions, `/platform/PlatformDeployer`, with `actions`
    /// allowed on `*` (none: no policy).
    pub async fn deployer(&self, actions: &[&str]) {
        let trust = serde_json::json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
            "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]});
        self.iam
            .create_role()
            .role_name("PlatformDeployer")
            .path("/platform/")
            .assume_role_policy_document(trust.to_string())
            .send()
            .await
            .expect("create the deployer role");
        if actions.is_empty() {
            return;
        }
        let policy = serde_json::json!({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": actions, "Resource": "*"}]});
        self.iam
            .put_role_policy()
            .role_name("PlatformDeployer")
            .policy_name("deploy")
            .policy_document(policy.to_string())
            .send()
            .await
            .expect("grant the deployer");
    }

    /// An IAM user called `name`, with no policy.
    pub async fn create_user(&self, name: &str) {
        self.iam
            .create_user()
            .user_name(name)
            .send()
            .await
            .expect("create a user");
    }

    /// The role of `spec` as the seed makes it (its trust and managed policy), with
    /// `extra` managed policies attached too.
    pub async fn compliant_role(&self, spec: &RoleSpec, extra: &[&str]) {
        self.iam
            .create_role()
            .role_name(spec.name)
            .assume_role_policy_document(spec.trust_policy)
            .send()
            .await
            .expect("create a compliant role");
        let required = spec.managed_policy.map(|p| p.arn("aws"));
        for policy in required
            .iter()
            .map(String::as_str)
            .chain(extra.iter().copied())
        {
            self.iam
                .attach_role_policy()
                .role_name(spec.name)
                .policy_arn(policy)
                .send()
                .await
                .expect("attach a policy");
        }
    }

    /// Creates `AWSServiceRoleForECS`, as ECS does on first use.
    pub async fn create_ecs_role(&self) {
        self.iam
            .create_service_linked_role()
            .aws_service_name("ecs.amazonaws.com")
            .send()
            .await
            .expect("create the ECS service-linked role");
    }

    /// The role called `name`, if moto holds one.
    pub async fn role(&self, name: &str) -> Option<aws_sdk_iam::types::Role> {
        match self.iam.get_role().role_name(name).send().await {
            Ok(out) => out.role,
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_no_such_entity_exception()) =>
            {
                None
            }
            Err(e) => panic!("GetRole {name}: {e:?}"),
        }
    }

    /// The trust policy of the role called `name`, which must exist.
    pub async fn trust(&self, name: &str) -> TrustPolicy {
        let role = self.role(name).await.expect("role exists");
        TrustPolicy::parse(role.assume_role_policy_document().unwrap_or_default())
            .expect("a trust policy that parses")
    }

    /// The ARNs of the managed policies attached to the role called `name`, sorted.
    pub async fn attached(&self, name: &str) -> Vec<String> {
        let out = self
            .iam
            .list_attached_role_policies()
            .role_name(name)
            .send()
            .await
            .expect("list attached role policies");
        let mut arns: Vec<String> = out
            .attached_policies()
            .iter()
            .filter_map(|p| p.policy_arn().map(String::from))
            .collect();
        arns.sort();
        arns
    }

    /// The environment a function process needs to act in this account.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ENDPOINT_URL", endpoint().to_owned()),
            ("AWS_REGION", SAMPLE_REGION.to_owned()),
            (
                "AWS_ACCESS_KEY_ID",
                self.credentials.access_key_id().to_owned(),
            ),
            (
                "AWS_SECRET_ACCESS_KEY",
                self.credentials.secret_access_key().to_owned(),
            ),
            (
                "AWS_SESSION_TOKEN",
                self.credentials
                    .session_token()
                    .unwrap_or_default()
                    .to_owned(),
            ),
        ]
    }

    /// A handler as a fresh container would build it from `settings` and
    /// `alarm_defaults`, with its call log (recorded under `WARDEN_CALLS_DIR`) and this
    /// account's notifier.
    pub fn handler<H: Handler>(
        &self,
        settings: Settings,
        alarm_defaults: AlarmSettings,
    ) -> (H, CallLog) {
        self.handler_at(settings, alarm_defaults, Clock::system())
    }

    /// As [`Self::handler`], reading the time from `clock`.
    pub fn handler_at<H: Handler>(
        &self,
        settings: Settings,
        alarm_defaults: AlarmSettings,
        clock: Clock,
    ) -> (H, CallLog) {
        let calls = call_log(H::FUNCTION);
        let deps = Deps {
            config: self.config.clone(),
            calls: calls.clone(),
            settings,
            alarm_defaults,
            watched: watched_roles(None).expect("the catalog's roles"),
            notifier: self.notifier(&calls),
            clock,
        };
        (H::build(deps), calls)
    }

    /// An `ecs-role-guard` as a fresh container would build it, with its call log.
    pub fn role_guard(&self, mode: Mode, verdict_ttl: Duration) -> (EcsRoleGuard, CallLog) {
        self.handler(settings(mode, verdict_ttl), AlarmSettings::default())
    }

    /// A `scaling-guard` as a fresh container would build it, with its call log.
    pub fn scaling_guard(
        &self,
        mode: Mode,
        alarm_defaults: AlarmSettings,
    ) -> (ScalingGuard, CallLog) {
        self.handler(settings(mode, Duration::ZERO), alarm_defaults)
    }

    /// An `slr-deletion` as a fresh container would build it, with its call log.
    pub fn slr_deletion(&self, mode: Mode) -> (SlrDeletion, CallLog) {
        self.handler(settings(mode, Duration::ZERO), AlarmSettings::default())
    }

    /// An `slr-deletion` whose steps run at the time `clock` says.
    pub fn slr_deletion_at(&self, mode: Mode, clock: &Clock) -> (SlrDeletion, CallLog) {
        let settings = settings(mode, Duration::ZERO);
        self.handler_at(settings, AlarmSettings::default(), clock.clone())
    }

    /// A `role-drift-guard` watching the catalog's roles, with usage looked up in `regions`.
    pub fn drift_guard(&self, mode: Mode, regions: &[&str]) -> (RoleDriftGuard, CallLog) {
        self.handler(sweeping(mode, regions), AlarmSettings::default())
    }

    /// An `access-doctor` as a fresh container would build it, with its call log.
    pub fn access_doctor(&self) -> (AccessDoctor, CallLog) {
        self.handler(
            settings(Mode::Enforce, Duration::ZERO),
            AlarmSettings::default(),
        )
    }

    /// A `reconcile` sweeping `regions`, with the default alarm settings.
    pub fn reconcile(&self, mode: Mode, regions: &[&str]) -> (Reconcile, CallLog) {
        self.handler(sweeping(mode, regions), AlarmSettings::default())
    }

    /// This account's SDK configuration acting in `region`.
    pub fn config_in(&self, region: &str) -> SdkConfig {
        self.config
            .to_builder()
            .region(Region::new(region.to_owned()))
            .build()
    }

    /// Starts `count` EC2 instances in `region` (through boto3: the EC2 SDK crate is too
    /// heavy to build for this) and returns their ids.
    pub fn run_instances(&self, region: &str, count: usize) -> Vec<String> {
        let ids = self.arrange(&["run-instances", region, &count.to_string()]);
        serde_json::from_value(ids).expect("instance ids")
    }

    /// An SNS topic in `region` with an SQS queue subscribed to it, to read notifications
    /// back: `(topic ARN, queue URL)`.
    pub fn topic_with_queue(&self, region: &str, name: &str) -> (String, String) {
        let out = self.arrange(&["topic-with-queue", region, name]);
        let field = |k: &str| out[k].as_str().expect("topic and queue").to_owned();
        (field("topic"), field("queue"))
    }

    /// Takes every notification the queue holds: `{"subject", "message", "attributes"}`.
    pub fn notifications(&self, region: &str, queue_url: &str) -> Vec<Value> {
        match self.arrange(&["receive", region, queue_url]) {
            Value::Array(list) => list,
            other => panic!("expected a list of notifications, got {other}"),
        }
    }

    /// A CloudTrail trail homed in `region` (`multi_region` or not), logging when `logging`,
    /// with the S3 bucket it writes to; returns its ARN. moto differs from AWS in two
    /// ways the tests do not lean on: it answers GetEventSelectors for a trail without
    /// custom selectors with empty lists (AWS answers the default selector) and
    /// DescribeTrails always says `HasCustomEventSelectors: false`; selectors are tested
    /// with aws-smithy-mocks (`shared/tests/mocked_trails.rs`).
    pub fn trail(&self, region: &str, name: &str, multi_region: bool, logging: bool) -> String {
        let scope = if multi_region {
            "multi-region"
        } else {
            "single-region"
        };
        let start = if logging { "start" } else { "stop" };
        let out = self.arrange(&["trail", region, name, scope, start]);
        out["arn"].as_str().expect("the trail's ARN").to_owned()
    }

    /// Starts the logging of the trail `arn` homed in `region`.
    pub fn start_logging(&self, region: &str, arn: &str) {
        self.arrange(&["start-logging", region, arn]);
    }

    /// Runs `tests/arrange.py` with `args` in this account and parses what it prints.
    fn arrange(&self, args: &[&str]) -> Value {
        self.python("arrange.py", args)
    }

    /// Which rule of `template.yaml` each EventBridge event in `events/` matches, asked of
    /// EventBridge's TestEventPattern on moto (`tests/routes.py`).
    pub fn routes(&self) -> Value {
        let template = root().join("template.yaml");
        let events = root().join("events");
        self.python(
            "routes.py",
            &[&template.to_string_lossy(), &events.to_string_lossy()],
        )
    }

    /// Runs the boto3 script `tests/SCRIPT` with `args` in this account and parses the
    /// JSON it prints.
    fn python(&self, script: &str, args: &[&str]) -> Value {
        let out = Command::new(venv_bin("python"))
            .arg(root().join("tests").join(script))
            .args(args)
            .envs(self.env())
            .output()
            .unwrap_or_else(|e| panic!("run tests/{script}: {e}"));
        assert!(
            out.status.success(),
            "{script} {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{script} prints JSON: {e}"))
    }

    /// What the account holds that the functions write, with its id replaced by
    /// `ACCOUNT`: every role (path, trust, description, managed and inline policies) and,
    /// in each of `regions`, every alarm and every ECS cluster and service. Two accounts
    /// that went through the same events hold the same snapshot.
    pub async fn snapshot(&self, regions: &[&str]) -> Value {
        let mut roles = serde_json::Map::new();
        let listed = self
            .iam
            .list_roles()
            .into_paginator()
            .items()
            .send()
            .collect::<Result<Vec<_>, _>>()
            .await
            .expect("list roles");
        for role in listed {
            let name = role.role_name().to_owned();
            let inline = self
                .iam
                .list_role_policies()
                .role_name(&name)
                .send()
                .await
                .expect("list role policies");
            let trust = TrustPolicy::parse(role.assume_role_policy_document().unwrap_or("{}"))
                .expect("a trust policy that parses");
            let trust: Value = serde_json::from_str(&trust.to_json()).expect("trust JSON");
            roles.insert(
                name.clone(),
                serde_json::json!({
                    "path": role.path(),
                    "trust": trust,
                    "description": role.description(),
                    "managed": self.attached(&name).await,
                    "inline": inline.policy_names(),
                }),
            );
        }
        let mut by_region = serde_json::Map::new();
        for region in regions {
            let clients = RegionClients::new(&self.config_in(region));
            let mut alarms: Vec<Value> = clients
                .alarms()
                .await
                .iter()
                .map(|a| {
                    let mut dimensions: Vec<(String, String)> = a
                        .dimensions()
                        .iter()
                        .map(|d| {
                            let field = |v: Option<&str>| v.unwrap_or_default().to_owned();
                            (field(d.name()), field(d.value()))
                        })
                        .collect();
                    dimensions.sort();
                    serde_json::json!({
                        "name": a.alarm_name(),
                        "namespace": a.namespace(),
                        "metric": a.metric_name(),
                        "dimensions": dimensions,
                        "statistic": a.statistic().map(|s| s.as_str()),
                        "comparison": a.comparison_operator().map(|c| c.as_str()),
                        "threshold": a.threshold(),
                        "periods": a.evaluation_periods(),
                        "period": a.period(),
                        "actions": a.alarm_actions(),
                    })
                })
                .collect();
            alarms.sort_by_key(|a| a["name"].to_string());
            by_region.insert(
                region.to_string(),
                serde_json::json!({ "alarms": alarms, "clusters": clients.ecs_state().await }),
            );
        }
        let held = serde_json::json!({ "roles": roles, "regions": by_region });
        let text = without_uuids(&held.to_string().replace(&self.id, "ACCOUNT"));
        let mut held: Value = serde_json::from_str(&text).expect("the snapshot stays JSON");
        for region in regions {
            if let Some(Value::Array(alarms)) = held["regions"][region].get_mut("alarms") {
                let mut seen = Vec::new();
                alarms.retain(|a| !is_managed_copy(a, &mut seen));
            }
        }
        held
    }

    /// A sample event from `events/`, rewritten for this account.
    pub fn event(&self, file: &str) -> Value {
        let text = std::fs::read_to_string(root().join("events").join(file))
            .unwrap_or_else(|e| panic!("read events/{file}: {e}"));
        serde_json::from_str(&text.replace(SAMPLE_ACCOUNT, &self.id))
            .unwrap_or_else(|e| panic!("events/{file} is not JSON: {e}"))
    }
}

/// Whether `alarm` is a copy, once UUIDs are out, of a target-tracking alarm already
/// `seen`. Moto differs from AWS here: its PutScalingPolicy on an existing target-tracking
/// policy builds a new policy with a fresh pair of alarms and leaves the old pair in place
/// (moto/applicationautoscaling/models.py, `put_scaling_policy`), where Application Auto
/// Scaling updates the alarms it manages for the policy. A write retried after its answer
/// was lost (the SDK's retry, or a redelivery) therefore leaves extra copies on moto only;
/// one of each is what AWS would hold.
fn is_managed_copy(alarm: &Value, seen: &mut Vec<Value>) -> bool {
    let managed = alarm["name"]
        .as_str()
        .is_some_and(|n| n.starts_with("TargetTracking-"));
    if !managed {
        return false;
    }
    if seen.contains(alarm) {
        return true;
    }
    seen.push(alarm.clone());
    false
}

/// `text` with every UUID replaced by `UUID`: moto names target-tracking alarms and policy
/// ARNs with random ones, which differ between two accounts holding the same thing.
pub fn without_uuids(text: &str) -> String {
    const GROUPS: [usize; 5] = [8, 4, 4, 4, 12];
    let is_uuid = |s: &[u8]| {
        let mut at = 0;
        GROUPS.iter().enumerate().all(|(i, &n)| {
            let ok = s[at..at + n].iter().all(u8::is_ascii_hexdigit)
                && (i == GROUPS.len() - 1 || s[at + n] == b'-');
            at += n + 1;
            ok
        })
    };
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < bytes.len() {
        if i + 36 <= bytes.len() && is_uuid(&bytes[i..i + 36]) {
            out.push_str("UUID");
            i += 36;
        } else {
            let c = text[i..].chars().next().expect("a char at a boundary");
            out.push(c);
            i += c.len_utf8();
        }
    }
    out
}

fn settings(mode: Mode, verdict_ttl: Duration) -> Settings {
    Settings {
        mode,
        verdict_ttl,
        regions: vec![SAMPLE_REGION.into()],
    }
}

/// Settings covering `regions`, without verdict memory.
fn sweeping(mode: Mode, regions: &[&str]) -> Settings {
    Settings {
        regions: regions.iter().map(|r| r.to_string()).collect(),
        ..settings(mode, Duration::ZERO)
    }
}

/// The write operations a call log contains.
pub fn writes(calls: &[String]) -> Vec<&String> {
    calls
        .iter()
        .filter(|c| is_write(c.split_once(':').map_or(c.as_str(), |(_, op)| op)))
        .collect()
}

/// Whether an operation (`DeleteService`, no service prefix) changes something.
pub fn is_write(operation: &str) -> bool {
    const READS: [&str; 5] = ["Get", "List", "Describe", "Simulate", "Generate"];
    !READS.iter().any(|r| operation.starts_with(r))
}

/// The regions of [`broken_world`].
pub const SWEPT_REGIONS: [&str; 3] = ["eu-west-1", "us-east-1", "ap-southeast-2"];

/// The ARN of the Application Auto Scaling service-linked role in `account`.
pub fn slr_arn(account: &str) -> String {
    let spec = &ECS_AUTOSCALING_SERVICE_LINKED_ROLE;
    format!("arn:aws:iam::{account}:role{}{}", spec.path, spec.name)
}

/// Three regions ([`SWEPT_REGIONS`]) broken in every way a sweep repairs, one case each;
/// returns their clients, in that order.
pub async fn broken_world(account: &Account) -> Vec<RegionClients> {
    let regions: Vec<RegionClients> = SWEPT_REGIONS
        .iter()
        .map(|r| RegionClients::new(&account.config_in(r)))
        .collect();
    let [eu, us, ap] = &regions[..] else {
        unreachable!()
    };
    let autoscale = format!("arn:aws:iam::{}:role/ecsAutoscaleRole", account.id);
    // eu-west-1: a legacy role and an autoscale role that do not exist, a step policy
    // without alarm, a target-tracking policy with a deleted alarm.
    eu.service("shop", "cart", Some("ecsServiceRole"), &[])
        .await;
    eu.service("shop", "api", None, &[]).await;
    eu.target("shop", "cart", Some(&autoscale)).await;
    eu.step("shop", "cart", "cart-out", &[(Some(0.0), None, 2)])
        .await;
    let listed = eu.tracking("shop", "cart", "cart-cpu").await;
    eu.cloudwatch
        .delete_alarms()
        .alarm_names(&listed[0])
        .send()
        .await
        .unwrap();
    // us-east-1: the scaling service-linked role missing, a scale-in policy without alarm,
    // a policy a customer alarm already drives.
    us.service("batch", "jobs", None, &[]).await;
    us.target("batch", "jobs", Some(&slr_arn(&account.id)))
        .await;
    us.step("batch", "jobs", "jobs-in", &[(None, Some(0.0), -1)])
        .await;
    let driven = us
        .step("batch", "jobs", "jobs-out", &[(Some(0.0), None, 1)])
        .await;
    us.customer_alarm("team-jobs-high", &driven).await;
    // ap-southeast-2: an ambiguous step policy (needs a person), a healthy tracking policy.
    ap.service("edge", "cdn", None, &[]).await;
    ap.target("edge", "cdn", Some(&slr_arn(&account.id))).await;
    ap.step(
        "edge",
        "cdn",
        "cdn-both",
        &[(None, Some(0.0), -1), (Some(0.0), None, 1)],
    )
    .await;
    ap.tracking("edge", "cdn", "cdn-cpu").await;
    regions
}

/// One region's ECS, Application Auto Scaling and CloudWatch, for arranging what a test
/// needs and reading what moto holds afterwards (calls here are not counted).
pub struct RegionClients {
    /// ECS.
    pub ecs: aws_sdk_ecs::Client,
    /// Application Auto Scaling.
    pub autoscaling: aws_sdk_applicationautoscaling::Client,
    /// CloudWatch.
    pub cloudwatch: aws_sdk_cloudwatch::Client,
}

/// A step adjustment: metric interval bounds relative to the threshold, and the change.
pub type Step = (Option<f64>, Option<f64>, i32);

impl RegionClients {
    /// The clients of the region `config` acts in.
    pub fn new(config: &SdkConfig) -> Self {
        Self {
            ecs: aws_sdk_ecs::Client::new(config),
            autoscaling: aws_sdk_applicationautoscaling::Client::new(config),
            cloudwatch: aws_sdk_cloudwatch::Client::new(config),
        }
    }

    /// An ECS service (and its cluster, if new) naming `role`, tagged with `tags`.
    pub async fn service(
        &self,
        cluster: &str,
        service: &str,
        role: Option<&str>,
        tags: &[(&str, &str)],
    ) {
        self.ecs
            .create_cluster()
            .cluster_name(cluster)
            .send()
            .await
            .expect("create cluster");
        self.ecs
            .create_service()
            .cluster(cluster)
            .service_name(service)
            .desired_count(2)
            .set_role(role.map(String::from))
            .set_tags(Some(
                tags.iter()
                    .map(|(k, v)| aws_sdk_ecs::types::Tag::builder().key(*k).value(*v).build())
                    .collect(),
            ))
            .send()
            .await
            .expect("create service");
    }

    /// Registers the service as a scalable target, naming `role_arn` when given.
    pub async fn target(&self, cluster: &str, service: &str, role_arn: Option<&str>) {
        self.autoscaling
            .register_scalable_target()
            .service_namespace(ServiceNamespace::Ecs)
            .resource_id(format!("service/{cluster}/{service}"))
            .scalable_dimension(ScalableDimension::EcsServiceDesiredCount)
            .min_capacity(1)
            .max_capacity(10)
            .set_role_arn(role_arn.map(String::from))
            .send()
            .await
            .expect("register scalable target");
    }

    /// Puts a ChangeInCapacity step policy; returns its ARN.
    pub async fn step(&self, cluster: &str, service: &str, name: &str, steps: &[Step]) -> String {
        let config = StepScalingPolicyConfiguration::builder()
            .adjustment_type(AdjustmentType::ChangeInCapacity)
            .set_step_adjustments(Some(
                steps
                    .iter()
                    .map(|(lower, upper, change)| {
                        StepAdjustment::builder()
                            .set_metric_interval_lower_bound(*lower)
                            .set_metric_interval_upper_bound(*upper)
                            .scaling_adjustment(*change)
                            .build()
                            .expect("step")
                    })
                    .collect(),
            ))
            .cooldown(60)
            .build();
        self.autoscaling
            .put_scaling_policy()
            .policy_name(name)
            .service_namespace(ServiceNamespace::Ecs)
            .resource_id(format!("service/{cluster}/{service}"))
            .scalable_dimension(ScalableDimension::EcsServiceDesiredCount)
            .policy_type(PolicyType::StepScaling)
            .step_scaling_policy_configuration(config)
            .send()
            .await
            .expect("put step policy")
            .policy_arn()
            .to_owned()
    }

    /// Puts a target-tracking policy on average CPU at 60 %; returns the alarms it lists.
    pub async fn tracking(&self, cluster: &str, service: &str, name: &str) -> Vec<String> {
        let config = TargetTrackingScalingPolicyConfiguration::builder()
            .target_value(60.0)
            .predefined_metric_specification(
                PredefinedMetricSpecification::builder()
                    .predefined_metric_type("ECSServiceAverageCPUUtilization".into())
                    .build()
                    .expect("metric"),
            )
            .build()
            .expect("configuration");
        let out = self
            .autoscaling
            .put_scaling_policy()
            .policy_name(name)
            .service_namespace(ServiceNamespace::Ecs)
            .resource_id(format!("service/{cluster}/{service}"))
            .scalable_dimension(ScalableDimension::EcsServiceDesiredCount)
            .policy_type(PolicyType::TargetTrackingScaling)
            .target_tracking_scaling_policy_configuration(config)
            .send()
            .await
            .expect("put target-tracking policy");
        out.alarms()
            .iter()
            .map(|a| a.alarm_name().to_owned())
            .collect()
    }

    /// The policy called `name` on `resource_id`, as moto holds it.
    pub async fn policy(&self, resource_id: &str, name: &str) -> Option<ScalingPolicy> {
        let out = self
            .autoscaling
            .describe_scaling_policies()
            .service_namespace(ServiceNamespace::Ecs)
            .resource_id(resource_id)
            .send()
            .await
            .expect("describe scaling policies");
        out.scaling_policies()
            .iter()
            .find(|p| p.policy_name() == name && p.resource_id() == resource_id)
            .cloned()
    }

    /// A customer's own alarm whose action is `action`.
    pub async fn customer_alarm(&self, name: &str, action: &str) {
        self.cloudwatch
            .put_metric_alarm()
            .alarm_name(name)
            .namespace("AWS/ECS")
            .metric_name("MemoryUtilization")
            .statistic(Statistic::Maximum)
            .period(300)
            .evaluation_periods(1)
            .threshold(90.0)
            .comparison_operator(ComparisonOperator::GreaterThanThreshold)
            .alarm_actions(action)
            .send()
            .await
            .expect("put customer alarm");
    }

    /// Every ECS cluster of the region with its status and services (status, desired
    /// count), sorted by name.
    pub async fn ecs_state(&self) -> Value {
        let listed = self
            .ecs
            .list_clusters()
            .send()
            .await
            .expect("list clusters");
        if listed.cluster_arns().is_empty() {
            return Value::Array(Vec::new());
        }
        let described = self
            .ecs
            .describe_clusters()
            .set_clusters(Some(listed.cluster_arns().to_vec()))
            .send()
            .await
            .expect("describe clusters");
        let mut clusters = Vec::new();
        for cluster in described.clusters() {
            let name = cluster.cluster_name().unwrap_or_default();
            let arns = self
                .ecs
                .list_services()
                .cluster(name)
                .send()
                .await
                .expect("list services");
            let mut services = Vec::new();
            if !arns.service_arns().is_empty() {
                let out = self
                    .ecs
                    .describe_services()
                    .cluster(name)
                    .set_services(Some(arns.service_arns().to_vec()))
                    .send()
                    .await
                    .expect("describe services");
                for s in out.services() {
                    services.push(serde_json::json!([
                        s.service_name(),
                        s.status(),
                        s.desired_count()
                    ]));
                }
            }
            services.sort_by_key(|s| s.to_string());
            clusters.push(serde_json::json!({
                "name": name,
                "status": cluster.status(),
                "services": services,
            }));
        }
        clusters.sort_by_key(|c| c["name"].to_string());
        Value::Array(clusters)
    }

    /// Every metric alarm of the region.
    pub async fn alarms(&self) -> Vec<MetricAlarm> {
        let out = self
            .cloudwatch
            .describe_alarms()
            .send()
            .await
            .expect("describe alarms");
        out.metric_alarms().to_vec()
    }
}

/// One finding as an answer's JSON holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FoundFinding {
    /// The resource.
    pub resource: String,
    /// The check.
    pub check: String,
    /// The status, as its wire name (`created`, `failed`, ...).
    pub status: String,
    /// The detail.
    pub detail: String,
}

/// Every finding in an answer's JSON, wherever it sits (a report, a sweep, a deletion
/// step), in document order.
pub fn findings_in(answer: &Value) -> Vec<FoundFinding> {
    fn walk(value: &Value, out: &mut Vec<FoundFinding>) {
        match value {
            Value::Object(map) => {
                let field = |k: &str| map.get(k).and_then(Value::as_str).map(str::to_owned);
                if let (Some(resource), Some(check), Some(status), Some(detail)) = (
                    field("resource"),
                    field("check"),
                    field("status"),
                    field("detail"),
                ) {
                    out.push(FoundFinding {
                        resource,
                        check,
                        status,
                        detail,
                    });
                }
                map.values().for_each(|v| walk(v, out));
            }
            Value::Array(items) => items.iter().for_each(|v| walk(v, out)),
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(answer, &mut out);
    out
}

/// Each finding's check and status, in order.
pub fn statuses(report: &Report) -> Vec<(&'static str, Status)> {
    report
        .findings
        .iter()
        .map(|f| (f.check.as_str(), f.status))
        .collect()
}
