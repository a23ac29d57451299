//! Accounts: each test gets a fresh one in moto, with credentials that act in it, and
//! reads back what it holds.
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::Mutex;

use aws_config::{Region, SdkConfig};
use aws_sdk_iam::config::Credentials;
use ecs_warden::aws::CallLog;
use ecs_warden::domain::trust_policy::TrustPolicy;
pub use ecs_warden::handlers::Handler;
use ecs_warden::invocation::notify::{Format, Notifier};
use serde_json::Value;

use crate::*;

/// A fresh account in the emulator, with credentials that act in it.
pub struct Account {
    /// The 12-digit account id.
    pub id: String,
    /// SDK configuration acting in this account.
    pub config: SdkConfig,
    /// A plain IAM client for arranging and asserting state (its calls are not counted).
    pub iam: aws_sdk_iam::Client,
    credentials: Credentials,
    /// Where the handlers built from now on publish their notifications, and how.
    topic: Mutex<Option<(String, Format)>>,
    /// Whether the handlers built from now on import their findings into Security Hub.
    security_hub: AtomicBool,
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
        Self::with_id(&id).await
    }

    /// Credentials acting in the account `id`, which moto may already know (one an
    /// organization created) or gives an empty IAM of its own.
    pub async fn with_id(id: &str) -> Self {
        let id = id.to_owned();
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
            security_hub: AtomicBool::new(false),
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
            security_hub: AtomicBool::new(self.imports_to_security_hub()),
        }
    }

    /// Makes every handler built from now on import its findings into Security Hub, as
    /// `WARDEN_SECURITY_HUB=true` does.
    pub fn import_to_security_hub(&self) {
        self.security_hub.store(true, Ordering::SeqCst);
    }

    /// Whether handlers built now import their findings into Security Hub.
    pub fn imports_to_security_hub(&self) -> bool {
        self.security_hub.load(Ordering::SeqCst)
    }

    /// Makes every handler built from now on publish its notifications to `topic_arn`.
    pub fn notify_to(&self, topic_arn: &str) {
        self.notify_in(topic_arn, Format::Json);
    }

    /// As [`Self::notify_to`], in `format` (`WARDEN_NOTIFICATION_FORMAT`).
    pub fn notify_in(&self, topic_arn: &str, format: Format) {
        *self.topic.lock().unwrap() = Some((topic_arn.to_owned(), format));
    }

    /// The notifier a handler gets: off unless [`Self::notify_to`] named a topic.
    pub(crate) fn notifier(&self, calls: &CallLog) -> Notifier {
        match &*self.topic.lock().unwrap() {
            Some((arn, format)) => {
                Notifier::to_topic(&self.config, calls, arn, *format).expect("a topic ARN")
            }
            None => Notifier::off(),
        }
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
            // The function ARN a local runtime emulator hands out names no real account.
            ("WARDEN_HOME_ACCOUNT", self.id.clone()),
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

    /// This account's SDK configuration acting in `region`.
    pub fn config_in(&self, region: &str) -> SdkConfig {
        self.config
            .to_builder()
            .region(Region::new(region.to_owned()))
            .build()
    }

    /// Security Hub in `region` of this account, for arranging and reading (not counted).
    pub fn security_hub(&self, region: &str) -> aws_sdk_securityhub::Client {
        aws_sdk_securityhub::Client::new(&self.config_in(region))
    }

    /// Enables Security Hub in `region`, as an account must before findings are imported
    /// there. moto imports without it (AWS refuses: `mocked_security_hub.rs`).
    pub async fn enable_security_hub(&self, region: &str) {
        self.security_hub(region)
            .enable_security_hub()
            .enable_default_standards(false)
            .send()
            .await
            .expect("enable Security Hub");
    }

    /// Every finding Security Hub holds in `region` of this account. moto ignores
    /// GetFindings' filters; none are needed here, the account holds only the test's.
    pub async fn security_hub_findings(
        &self,
        region: &str,
    ) -> Vec<aws_sdk_securityhub::types::AwsSecurityFinding> {
        let out = self
            .security_hub(region)
            .get_findings()
            .max_results(100)
            .send()
            .await
            .expect("get findings");
        out.findings().to_vec()
    }

    /// A sample event from `events/`, rewritten for this account.
    pub fn event(&self, file: &str) -> Value {
        let text = std::fs::read_to_string(root().join("events").join(file))
            .unwrap_or_else(|e| panic!("read events/{file}: {e}"));
        serde_json::from_str(&text.replace(SAMPLE_ACCOUNT, &self.id))
            .unwrap_or_else(|e| panic!("events/{file} is not JSON: {e}"))
    }
}
