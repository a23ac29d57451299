//! What ECS says when a task fails to start, read as ECS writes it: a task's
//! `stoppedReason`, or a service event's message. Words only, no AWS call: the reading says
//! what kind of failure the words name and, for an access denial, who was refused what. It
//! is never the whole diagnosis. ECS cuts `stoppedReason` at 255 characters (252 and
//! `...`), several agents' formats live side by side, and some denials name no action
//! (KMS's "Access to KMS is not allowed", a registry's bare `403 Forbidden`), so task-doctor
//! checks the execution role against what the task definition needs whatever the words
//! say, and takes an access denial from the words only when they name one.

use serde::Serialize;

/// The longest `stoppedReason` ECS keeps; a longer one is cut to 252 characters and `...`.
pub const STOPPED_REASON_LIMIT: usize = 255;

/// Why a task failed to start: the six answers task-doctor gives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, strum::IntoStaticStr)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum Cause {
    /// The execution role the task names does not exist.
    MissingRole,
    /// The role exists but does not trust `ecs-tasks.amazonaws.com`.
    Trust,
    /// The role lacks a permission the task definition needs.
    Permissions,
    /// A timeout or a failed connection: no IAM change fixes it.
    Network,
    /// The image could not be pulled for a reason other than access.
    Image,
    /// Anything else.
    Other,
}

/// What the task was doing when it failed, as the words name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    /// Reading a Secrets Manager secret.
    SecretsManager,
    /// Reading Systems Manager parameters.
    Parameters,
    /// Decrypting with KMS (a secret's or a parameter's key).
    Kms,
    /// Getting the registry's authorization (ECR's token, or a private registry's
    /// credentials).
    RegistryAuth,
    /// Pulling the image.
    ImagePull,
    /// Setting up the `awslogs` log group or stream.
    Logs,
    /// Reading environment files from S3.
    EnvironmentFiles,
}

/// What kind of failure the words name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Says {
    /// ECS could not assume the role it names (a service event: no task is created).
    CouldNotAssume {
        /// The role as ECS quotes it, when it does.
        role: Option<String>,
    },
    /// An access denial: IAM's, KMS's or a registry's.
    Denied(Denial),
    /// A timeout or a connection that failed.
    Network,
    /// An image that could not be pulled for a reason other than access.
    Image,
    /// Nothing the words tell apart (or they were cut before the cause).
    Unclear,
}

/// An access denial as the words give it; each part only when they name it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Denial {
    /// The refused principal: the execution role's session, `arn:aws:sts::...:assumed-role/...`.
    pub principal: Option<String>,
    /// The refused action, `service:Action`.
    pub action: Option<String>,
    /// The resource it was refused on.
    pub resource: Option<String>,
}

/// The words of a failure, read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reading {
    /// What kind of failure they name.
    pub says: Says,
    /// What the task was doing, when they say.
    pub stage: Option<Stage>,
    /// Whether ECS cut them short: the cause may be in the part that is gone.
    pub cut_short: bool,
}

/// Words that mean a connection failed or timed out, in the agents' formats (the Go SDK's
/// `RequestCanceled` / `RequestError`, the dialer's, and ECS's own advice to check the
/// task's network configuration).
const NETWORK: [&str; 10] = [
    "context deadline exceeded",
    "i/o timeout",
    "requestcanceled",
    "request canceled",
    "send request failed",
    "connection issue",
    "network configuration",
    "dial tcp",
    "connection refused",
    "no such host",
];

/// Words that mean access was refused: IAM's, KMS's (which may name no action) and a
/// registry's.
const DENIED: [&str; 7] = [
    "accessdenied",
    "is not authorized to perform",
    "access to kms is not allowed",
    "you are not allowed to access",
    "403 forbidden",
    "pull access denied",
    "unauthorized",
];

/// Words that mean the image itself could not be had.
const IMAGE: [&str; 6] = [
    "cannotpullcontainererror",
    "manifest unknown",
    "not found",
    "failed to resolve ref",
    "invalid reference format",
    "failed to normalize image reference",
];

impl Reading {
    /// Reads `text`, a `stoppedReason` or a service event's message.
    pub fn of(text: &str) -> Self {
        let lower = text.to_lowercase();
        let has = |words: &[&str]| words.iter().any(|w| lower.contains(w));
        let says = if lower.contains("unable to assume the role") {
            Says::CouldNotAssume {
                role: quoted_role(text),
            }
        } else if has(&DENIED) {
            // A denial is an answer from the service, so the connection worked: it comes
            // before the network words some agents append to every failure.
            Says::Denied(Denial::of(text))
        } else if has(&NETWORK) {
            Says::Network
        } else if has(&IMAGE) {
            Says::Image
        } else {
            Says::Unclear
        };
        Self {
            says,
            stage: stage(&lower),
            cut_short: text.chars().count() >= STOPPED_REASON_LIMIT && text.ends_with("..."),
        }
    }
}

impl Denial {
    /// The principal, action and resource of IAM's message `User: P is not authorized to
    /// perform: A on resource: R because ...`, as far as the text goes.
    fn of(text: &str) -> Self {
        let after = |marker: &str| {
            text.find(marker)
                .map(|at| text[at + marker.len()..].trim_start())
        };
        let word = |rest: &str| {
            let end = rest
                .find(|c: char| c.is_whitespace() || c == ',' || c == '(' || c == ')')
                .unwrap_or(rest.len());
            let word = rest[..end].trim_end_matches(['.', ';']);
            // A word that runs into the cut (`arn:aws:logs:...`) is not the whole word.
            let cut = end == rest.len() && text.ends_with("...");
            (!word.is_empty() && !cut).then(|| word.to_owned())
        };
        // An execution role's session, as STS names it; a reporter's placeholder is not.
        let principal = after("User: ")
            .and_then(word)
            .filter(|p| p.starts_with("arn:") && p.contains(":assumed-role/"));
        let action = after("not authorized to perform: ")
            .and_then(word)
            .filter(|a| a.contains(':'));
        let resource = after(" on resource: ")
            .and_then(word)
            .filter(|r| r == "*" || r.starts_with("arn:"));
        Self {
            principal,
            action,
            resource,
        }
    }
}

/// The role ECS quotes in "unable to assume the role 'ARN' that was provided".
fn quoted_role(text: &str) -> Option<String> {
    let rest = &text[text.to_lowercase().find("unable to assume the role")?..];
    let start = rest.find('\'')? + 1;
    let end = rest[start..].find('\'')? + start;
    Some(rest[start..end].to_owned()).filter(|r| !r.is_empty())
}

/// What the task was doing, from the words that name it; KMS first, as its failures are
/// reported inside a secret's or a parameter's.
fn stage(lower: &str) -> Option<Stage> {
    let has = |words: &[&str]| words.iter().any(|w| lower.contains(w));
    if has(&["kms", "customer master key"]) {
        Some(Stage::Kms)
    } else if has(&["from asm", "secrets manager", "secretsmanager:"]) {
        Some(Stage::SecretsManager)
    } else if has(&["from ssm", "ssm parameter store", "ssm:"]) {
        Some(Stage::Parameters)
    } else if has(&["registry auth", "getauthorizationtoken"]) {
        Some(Stage::RegistryAuth)
    } else if has(&[
        "logger",
        "log group",
        "log stream",
        "logs:",
        "logging driver",
    ]) {
        Some(Stage::Logs)
    } else if has(&["environment file", "envfile", "s3:getobject"]) {
        Some(Stage::EnvironmentFiles)
    } else if has(&[
        "cannotpullcontainer",
        "pull image",
        "manifest",
        "pull access",
        "image",
    ]) {
        Some(Stage::ImagePull)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_denial_gives_its_principal_action_and_resource() {
        let reading = Reading::of(
            "ResourceInitializationError: unable to pull secrets or registry auth: execution resource retrieval failed: unable to retrieve secrets from ssm: service call has been retried 1 time(s): AccessDeniedException: User: arn:aws:sts::111122223333:assumed-role/app-exec/0a1b is not authorized to perform: ssm:GetParameters on resource: arn:aws:ssm:eu-west-1:111122223333:parameter/app/db because no identity-based policy allows the ssm:GetParameters action",
        );
        assert_eq!(reading.stage, Some(Stage::Parameters));
        assert!(!reading.cut_short);
        assert_eq!(
            reading.says,
            Says::Denied(Denial {
                principal: Some("arn:aws:sts::111122223333:assumed-role/app-exec/0a1b".into()),
                action: Some("ssm:GetParameters".into()),
                resource: Some("arn:aws:ssm:eu-west-1:111122223333:parameter/app/db".into()),
            })
        );
    }

    /// `text` as ECS keeps it: cut to 252 characters and `...` when longer than 255.
    fn as_kept(text: &str) -> String {
        let mut kept = text.to_owned();
        if kept.len() > STOPPED_REASON_LIMIT {
            kept.truncate(STOPPED_REASON_LIMIT - 3);
            kept.push_str("...");
        }
        kept
    }

    #[test]
    fn a_word_the_cut_runs_into_is_not_taken() {
        // Fargate's logger format: the cut falls inside the action.
        let logs = Reading::of(&as_kept(
            "ResourceInitializationError: failed to validate logger args: create stream has been retried 1 times: failed to create Cloudwatch log stream: AccessDeniedException: User: arn:aws:sts::111122223333:assumed-role/x/1 is not authorized to perform: logs:CreateLogStream on resource: arn:aws:logs:eu-west-1:111122223333:log-group:/ecs/web:log-stream:",
        ));
        assert!(logs.cut_short);
        assert_eq!(logs.stage, Some(Stage::Logs));
        let Says::Denied(denial) = logs.says else {
            panic!("a denial: {:?}", logs.says)
        };
        assert_eq!(
            denial.principal.as_deref(),
            Some("arn:aws:sts::111122223333:assumed-role/x/1")
        );
        assert_eq!(denial.action, None, "cut inside the action");
        // The older agent's shorter format: the cut falls inside the resource.
        let ssm = Reading::of(&as_kept(
            "Fetching secret data from SSM Parameter Store in eu-west-1: AccessDeniedException: User: arn:aws:sts::111122223333:assumed-role/x/1 is not authorized to perform: ssm:GetParameters on resource: arn:aws:ssm:eu-west-1:111122223333:parameter/a/parameter/with/a/rather/long/path/name status code: 400",
        ));
        assert!(ssm.cut_short);
        let Says::Denied(denial) = ssm.says else {
            panic!("a denial: {:?}", ssm.says)
        };
        assert_eq!(denial.action.as_deref(), Some("ssm:GetParameters"));
        assert_eq!(denial.resource, None, "cut inside the resource");
    }

    #[test]
    fn a_role_ecs_could_not_assume_is_quoted() {
        let reading = Reading::of("service web failed to launch a task with (error ECS was unable to assume the role 'arn:aws:iam::111122223333:role/web-exec' that was provided for this task. Please verify that the role being passed has the proper trust relationship and permissions and that your IAM user has permissions to pass this role.).");
        assert_eq!(
            reading.says,
            Says::CouldNotAssume {
                role: Some("arn:aws:iam::111122223333:role/web-exec".into())
            }
        );
    }

    #[test]
    fn a_timeout_is_the_network_and_a_missing_image_is_the_image() {
        let timeout = Reading::of("ResourceInitializationError: unable to pull secrets or registry auth: execution resource retrieval failed: unable to retrieve ecr registry auth: service call has been retried 3 time(s): RequestError: send request failed caused by: Post \"https://api.ecr.eu-west-1.amazonaws.com/\": dial tcp 10.0.0.1:443: i/o timeout. Please check your task network configuration.");
        assert_eq!(timeout.says, Says::Network);
        assert_eq!(timeout.stage, Some(Stage::RegistryAuth));
        let image = Reading::of("CannotPullContainerError: pull image manifest has been retried 1 time(s): failed to resolve ref docker.io/library/app:v9: docker.io/library/app:v9: not found");
        assert_eq!(image.says, Says::Image);
        assert_eq!(image.stage, Some(Stage::ImagePull));
    }

    #[test]
    fn kms_named_without_an_action_is_a_denial_at_the_key() {
        let reading = Reading::of("ResourceInitializationError: unable to pull secrets or registry auth: execution resource retrieval failed: unable to retrieve secret from asm: service call has been retried 1 time(s): failed to fetch secret arn:aws:secretsmanager:eu-west-1:111122223333:secret:db-AbCdEf from secrets manager: AccessDeniedException: Access to KMS is not allowed status code: 400");
        assert_eq!(reading.stage, Some(Stage::Kms));
        assert_eq!(reading.says, Says::Denied(Denial::default()));
    }
}
