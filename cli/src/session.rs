//! The caller's AWS session (credentials, region, who they are), and a function as the
//! program runs it: built from the library with the configuration a deployment would
//! give it, made from the arguments instead of a stack's parameters.

use std::collections::BTreeMap;

use aws_config::{Region, SdkConfig};
use ecs_warden::aws::{self, CallLog};
use ecs_warden::handlers::{Deps, Environment, Function, Handler};
use ecs_warden::invocation::settings::Mode;
use serde_json::Value;

use crate::present::CannotRun;
use crate::Global;

/// Settings a person may give the functions through the environment, as a deployment
/// gives them: the watched roles and the alarm defaults. Nothing else is read from it
/// (no notification topic, no Security Hub: the program reports to its terminal).
fn passed_through(name: &str) -> bool {
    name == "WARDEN_WATCHED_ROLES" || name.starts_with("WARDEN_ALARM_")
}

/// The caller's session.
pub struct Session {
    config: SdkConfig,
    /// The caller's account (STS GetCallerIdentity).
    pub account: String,
    /// The caller's ARN.
    pub arn: String,
    /// The region calls go to when none is named.
    pub region: String,
}

impl Session {
    /// Loads credentials and region the usual way (with `global`'s profile and region
    /// first) and asks STS who the caller is, so that a session that cannot work says so
    /// before anything else.
    pub async fn open(global: &Global) -> Result<Self, CannotRun> {
        let mut loader = aws::config_loader();
        if let Some(profile) = &global.profile {
            loader = loader.profile_name(profile);
        }
        if let Some(region) = &global.region {
            loader = loader.region(Region::new(region.clone()));
        }
        let config = loader.load().await;
        let profile = global
            .profile
            .clone()
            .or_else(|| std::env::var("AWS_PROFILE").ok());
        let Some(region) = config.region().map(|r| r.as_ref().to_owned()) else {
            return Err(CannotRun(match profile {
                Some(p) => format!(
                    "no AWS region: the profile {p:?} names none, or does not exist; pass \
                     --region, or set AWS_REGION"
                ),
                None => "no AWS region: pass --region, set AWS_REGION, or use a profile that \
                         names one (AWS_PROFILE)"
                    .into(),
            }));
        };
        if !aws::ids::is_region_name(&region) {
            return Err(CannotRun(format!(
                "{region:?} is not an AWS region name such as eu-west-1"
            )));
        }
        let sts = aws::sts_client(&config, &CallLog::default());
        let who = sts.get_caller_identity().send().await.map_err(|e| {
            let said = aws::CallError::from_sdk(&e);
            let hint = match &profile {
                Some(p) => format!(
                    "check that the profile {p:?} exists in ~/.aws/config and, for SSO, run \
                     `aws sso login --profile {p}`"
                ),
                None => "set AWS_PROFILE (and run `aws sso login` for SSO), or \
                         AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
                    .into(),
            };
            CannotRun(format!(
                "could not sign in to AWS: {}; {hint}",
                if said.code.is_empty() {
                    said.message
                } else {
                    format!("{}: {}", said.code, said.message)
                }
            ))
        })?;
        Ok(Self {
            config,
            account: who.account().unwrap_or_default().to_owned(),
            arn: who.arn().unwrap_or_default().to_owned(),
            region,
        })
    }

    /// The function `H` as a deployment in `mode` would run it, with `vars` for its
    /// configuration (the program's own: regions, accounts, member role).
    pub fn function<H: Handler>(
        &self,
        mode: Mode,
        vars: &[(&str, String)],
    ) -> Result<Function<H>, CannotRun> {
        let mut set: BTreeMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.clone()))
            .collect();
        set.insert(
            "WARDEN_MODE".into(),
            match mode {
                Mode::Audit => "audit",
                Mode::Enforce => "enforce",
            }
            .into(),
        );
        set.insert("AWS_REGION".into(), self.region.clone());
        // Standard output is the program's answer, not a function's log.
        set.insert(ecs_warden::handlers::METRICS_ENV.into(), "off".into());
        set.insert("WARDEN_HOME_ACCOUNT".into(), self.account.clone());
        let env = Environment::from_fn(move |name| {
            set.get(name).cloned().or_else(|| {
                passed_through(name)
                    .then(|| std::env::var(name).ok())
                    .flatten()
            })
        });
        let deps = Deps::from_environment(H::FUNCTION, self.config.clone(), env)
            .map_err(|e| CannotRun(e.to_string()))?;
        Function::<H>::build(&deps).map_err(|e| CannotRun(e.to_string()))
    }

    /// The SDK configuration, for the reads the program makes itself.
    pub fn config(&self) -> &SdkConfig {
        &self.config
    }
}

/// Runs `payload` through `function` and answers the function's JSON answer, or why the
/// function refused it.
pub async fn answer<H: Handler>(
    function: &Function<H>,
    payload: Value,
) -> Result<(H::Output, Value), CannotRun> {
    let output = function
        .handle_payload(payload)
        .await
        .map_err(|e| CannotRun(format!("{} refused the input: {e}", H::FUNCTION)))?;
    let json = serde_json::to_value(&output).map_err(|e| CannotRun(e.to_string()))?;
    Ok((output, json))
}

/// Reads a JSON file, or standard input for `-`.
pub fn read_json(path: &std::path::Path) -> Result<Value, CannotRun> {
    let text = if path.as_os_str() == "-" {
        std::io::read_to_string(std::io::stdin())
            .map_err(|e| CannotRun(format!("could not read standard input: {e}")))?
    } else {
        std::fs::read_to_string(path)
            .map_err(|e| CannotRun(format!("could not read {}: {e}", path.display())))?
    };
    serde_json::from_str(&text)
        .map_err(|e| CannotRun(format!("{} is not JSON: {e}", path.display())))
}
