//! Acting in another account, as a hub does: an SDK configuration per member account whose
//! credentials come from assuming the member role there. Each is built on first use and
//! kept, with one identity cache shared by every client built from it, so a warm container
//! calls AssumeRole at most once per account per credential lifetime, and never at cold
//! start (the provider assumes the role when a client first needs credentials).

use std::collections::HashMap;
use std::sync::Mutex;

use aws_config::identity::IdentityCache;
use aws_config::sts::AssumeRoleProvider;
use aws_config::SdkConfig;
use aws_sdk_sts::config::SharedCredentialsProvider;
use aws_smithy_async::time::SystemTimeSource;
use aws_smithy_runtime_api::client::identity::SharedIdentityCache;

/// The session name a hub's calls carry in the member account's CloudTrail.
pub const SESSION_NAME: &str = "ecs-warden";

/// SDK configurations acting in member accounts through `role`, by account id.
#[derive(Debug)]
pub struct AccountConfigs {
    base: SdkConfig,
    /// The role's path and name, e.g. `/ecs-warden-member` or `/platform/ecs-warden-member`.
    role: String,
    built: Mutex<HashMap<String, SdkConfig>>,
}

impl AccountConfigs {
    /// Configurations that assume `role` (its path and name) from `base`'s credentials.
    pub fn new(base: &SdkConfig, role: impl Into<String>) -> Self {
        // The provider reads the time for its session name and expiry; a configuration
        // built by hand (not loaded) has no time source, and the provider would panic.
        let base = match base.time_source() {
            Some(_) => base.clone(),
            None => base
                .to_builder()
                .time_source(SystemTimeSource::new())
                .build(),
        };
        Self {
            base,
            role: role.into(),
            built: Mutex::new(HashMap::new()),
        }
    }

    /// The member role's ARN in `account`.
    pub fn role_arn(&self, partition: &str, account: &str) -> String {
        format!("arn:{partition}:iam::{account}:role{}", self.role)
    }

    /// The configuration acting in `account`, built on first use; no call is made until a
    /// client built from it needs credentials.
    pub async fn config(&self, partition: &str, account: &str) -> SdkConfig {
        if let Some(built) = self.lock().get(account) {
            return built.clone();
        }
        let provider = AssumeRoleProvider::builder(self.role_arn(partition, account))
            .session_name(SESSION_NAME)
            .configure(&self.base)
            .build()
            .await;
        let cache: SharedIdentityCache = IdentityCache::lazy().build();
        let config = self
            .base
            .to_builder()
            .credentials_provider(SharedCredentialsProvider::new(provider))
            .identity_cache(cache)
            .build();
        // Two first uses at once both build; either is as good, and the first one kept wins.
        self.lock()
            .entry(account.to_owned())
            .or_insert(config)
            .clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, SdkConfig>> {
        self.built.lock().unwrap_or_else(|e| e.into_inner())
    }
}
