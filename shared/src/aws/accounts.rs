//! Acting in another account, as a hub does: an SDK configuration per member account whose
//! credentials come from assuming the member role there.
//!
//! Each account's credentials are obtained when an invocation first needs that account
//! (never at cold start) and kept until five minutes before they expire, in one cache
//! shared by every client built from that account's configuration: a warm container calls
//! AssumeRole at most once per account per credential lifetime, whatever the number of
//! events, clients and calls. The AssumeRole calls go through an STS client that records
//! them in the function's call log, so reports, the policy check and the benchmark count
//! them like any other call.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use aws_config::identity::IdentityCache;
use aws_config::SdkConfig;
use aws_credential_types::provider::error::CredentialsError;
use aws_credential_types::provider::{future, ProvideCredentials, SharedCredentialsProvider};
use aws_credential_types::Credentials;

use super::{sts_client, CallError, CallLog, FailedCall};

/// The session name and source identity a hub function's calls carry in a member
/// account's CloudTrail: `ecs-warden-<function>`, which the member role's trust requires.
pub fn session_name(function: &str) -> String {
    format!("ecs-warden-{function}")
}

/// How long before they expire credentials are replaced: as long as the longest timeout
/// in template.yaml (reconcile's 15 minutes), so no invocation outlives the credentials it
/// started with. AssumeRole's default session lasts an hour.
pub const REFRESH_BEFORE_EXPIRY: Duration = Duration::from_secs(15 * 60);

/// SDK configurations acting in member accounts through one role, by account id.
#[derive(Debug)]
pub struct AccountConfigs {
    base: SdkConfig,
    /// The role's path and name, e.g. `/ecs-warden-member-reconcile`.
    role: String,
    /// The session name and source identity the AssumeRole calls give.
    identity: String,
    sts: aws_sdk_sts::Client,
    built: Mutex<HashMap<String, Member>>,
}

/// One member account: its configuration and the credentials its clients share.
#[derive(Debug, Clone)]
struct Member {
    config: SdkConfig,
    credentials: Arc<MemberCredentials>,
}

impl AccountConfigs {
    /// Configurations that assume `role` (its path and name) with `base`'s credentials as
    /// `function`'s sessions, recording the AssumeRole calls in `calls`.
    pub fn new(base: &SdkConfig, calls: &CallLog, role: impl Into<String>, function: &str) -> Self {
        Self::with_sts(base, sts_client(base, calls), role, function)
    }

    /// As [`Self::new`], assuming the role through `sts` (mocked, in tests).
    pub fn with_sts(
        base: &SdkConfig,
        sts: aws_sdk_sts::Client,
        role: impl Into<String>,
        function: &str,
    ) -> Self {
        Self {
            base: base.clone(),
            role: role.into(),
            identity: session_name(function),
            sts,
            built: Mutex::new(HashMap::new()),
        }
    }

    /// The member role's ARN in `account`.
    pub fn role_arn(&self, partition: &str, account: &str) -> String {
        format!("arn:{partition}:iam::{account}:role{}", self.role)
    }

    /// The configuration acting in `account`, with credentials in hand: from the cache
    /// while they last, else from an AssumeRole made now. A role that cannot be assumed is
    /// the failed AssumeRole.
    pub async fn config(&self, partition: &str, account: &str) -> Result<SdkConfig, FailedCall> {
        let member = self.member(partition, account);
        member.credentials.get().await?;
        Ok(member.config)
    }

    fn member(&self, partition: &str, account: &str) -> Member {
        let mut built = self.built.lock().unwrap_or_else(|e| e.into_inner());
        built
            .entry(account.to_owned())
            .or_insert_with(|| {
                let credentials = Arc::new(MemberCredentials {
                    sts: self.sts.clone(),
                    role_arn: self.role_arn(partition, account),
                    identity: self.identity.clone(),
                    current: tokio::sync::Mutex::new(None),
                });
                // No SDK identity cache on top: MemberCredentials is the one cache, so
                // every client of the account shares it and refreshes it once.
                let config = self
                    .base
                    .to_builder()
                    .credentials_provider(SharedCredentialsProvider::new(Shared(
                        credentials.clone(),
                    )))
                    .identity_cache(IdentityCache::no_cache())
                    .build();
                Member {
                    config,
                    credentials,
                }
            })
            .clone()
    }
}

/// The member role's credentials in one account, assumed on demand and cached.
#[derive(Debug)]
struct MemberCredentials {
    sts: aws_sdk_sts::Client,
    role_arn: String,
    identity: String,
    // An async lock: concurrent first uses wait for the one AssumeRole instead of making
    // their own.
    current: tokio::sync::Mutex<Option<Credentials>>,
}

impl MemberCredentials {
    async fn get(&self) -> Result<Credentials, FailedCall> {
        let mut current = self.current.lock().await;
        if let Some(credentials) = current.as_ref().filter(|c| still_good(c)) {
            return Ok(credentials.clone());
        }
        let failed = |error| CallError::on(error, "sts:AssumeRole", self.role_arn.clone());
        let out = self
            .sts
            .assume_role()
            .role_arn(&self.role_arn)
            // Both name the function in the member's CloudTrail; the trust requires the
            // source identity, which no later session in a chain can change.
            .role_session_name(&self.identity)
            .source_identity(&self.identity)
            .send()
            .await
            .map_err(|e| failed(CallError::from_sdk(&e)))?;
        let c = out
            .credentials()
            .ok_or_else(|| failed(CallError::local("AssumeRole answered without credentials")))?;
        let expiry = SystemTime::try_from(*c.expiration()).ok();
        let credentials = Credentials::new(
            c.access_key_id(),
            c.secret_access_key(),
            Some(c.session_token().to_owned()),
            expiry,
            "ecs-warden-member-role",
        );
        *current = Some(credentials.clone());
        Ok(credentials)
    }
}

/// Whether credentials will last past [`REFRESH_BEFORE_EXPIRY`] from now.
fn still_good(credentials: &Credentials) -> bool {
    match credentials.expiry() {
        None => true,
        Some(expiry) => expiry
            .duration_since(SystemTime::now())
            .is_ok_and(|left| left > REFRESH_BEFORE_EXPIRY),
    }
}

/// The one cache of an account's credentials, as every client of the account sees it.
#[derive(Debug)]
struct Shared(Arc<MemberCredentials>);

impl ProvideCredentials for Shared {
    fn provide_credentials<'a>(&'a self) -> future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        future::ProvideCredentials::new(async move {
            self.0.get().await.map_err(CredentialsError::provider_error)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_are_replaced_before_they_expire() {
        let lasting = |secs| {
            Credentials::new(
                "a",
                "s",
                None,
                Some(SystemTime::now() + Duration::from_secs(secs)),
                "t",
            )
        };
        assert!(still_good(&lasting(3600)));
        assert!(!still_good(&lasting(600)));
        assert!(still_good(&Credentials::new("a", "s", None, None, "t")));
    }
}
