//! What a task's execution role needs for the task to start, worked out from its task
//! definition as the ECS Developer Guide's "task execution IAM role" page lists it: ECR's
//! authorization token and the repository's pull actions for an image in ECR, the
//! `awslogs` group's stream actions (and `CreateLogGroup` when the definition asks for the
//! group to be created), `GetSecretValue` for a Secrets Manager secret or a private
//! registry's credentials, `GetParameters` for a Systems Manager parameter, `GetObject` and
//! `GetBucketLocation` for an environment file in S3, and `Decrypt` on a customer-managed
//! KMS key (which only the secret or parameter can say; [`Need::decrypt`] is added once it
//! is known). Data and pure functions: the handler reads the definition and the keys.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use serde_json::{json, Value};

use crate::domain::task_failure::{Cause, Denial, Reading, Says, Stage};

/// The role name ECS's documentation gives the execution role, which task-doctor may
/// create; a role of any other name is explained, never created.
pub const DOCUMENTED_NAME: &str = "ecsTaskExecutionRole";

/// One permission the execution role needs: an action on a resource, for a reason.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Need {
    /// `service:Action`.
    pub action: String,
    /// The resource's ARN (or `*` where the action has no resource).
    pub resource: String,
    /// What in the task definition needs it, e.g. `container web: secret DB_PASSWORD`.
    #[serde(skip)]
    pub why: String,
    /// What the task does with it, when known.
    #[serde(skip)]
    pub stage: Option<Stage>,
}

impl Need {
    fn new(action: &str, resource: String, stage: Stage, why: &str) -> Self {
        Self {
            action: action.to_owned(),
            resource,
            why: why.to_owned(),
            stage: Some(stage),
        }
    }

    /// The refusal ECS's words name, when they name both its action and its resource.
    pub fn refused(denial: &Denial, stage: Option<Stage>) -> Option<Self> {
        Some(Self {
            action: denial.action.clone()?,
            resource: denial.resource.clone()?,
            why: "the refusal ECS reported".to_owned(),
            stage,
        })
    }

    /// `kms:Decrypt` on a customer-managed key that protects a secret or a parameter.
    pub fn decrypt(key_arn: &str, why: &str) -> Self {
        Self::new("kms:Decrypt", key_arn.to_owned(), Stage::Kms, why)
    }
}

/// Where the task runs: the region and account ARNs are made in when a name is not one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Place<'a> {
    /// `aws`, `aws-cn` or `aws-us-gov`.
    pub partition: &'a str,
    /// The task's region.
    pub region: &'a str,
    /// The task's account.
    pub account: &'a str,
}

/// What of a task definition decides what its execution role needs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TaskDefinition {
    /// The definition's ARN, `...:task-definition/family:revision`.
    pub arn: String,
    /// The execution role it names, if any.
    pub execution_role: Option<String>,
    /// Its containers.
    pub containers: Vec<Container>,
}

/// What of one container definition needs the execution role.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Container {
    /// The container's name.
    pub name: String,
    /// The image reference.
    pub image: String,
    /// Each secret's name and `valueFrom` (the environment's and the log configuration's).
    pub secrets: Vec<(String, String)>,
    /// `repositoryCredentials.credentialsParameter`: a Secrets Manager secret's ARN.
    pub registry_credentials: Option<String>,
    /// The `awslogs` configuration, when that is the log driver.
    pub awslogs: Option<AwsLogs>,
    /// Each environment file's S3 object ARN.
    pub environment_files: Vec<String>,
}

/// The `awslogs` driver's options that decide its permissions.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AwsLogs {
    /// `awslogs-group`.
    pub group: String,
    /// `awslogs-region`, when it is not the task's.
    pub region: Option<String>,
    /// `awslogs-create-group` is `true`.
    pub create_group: bool,
}

/// Where a secret's value comes from, as its `valueFrom` names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretSource {
    /// A Secrets Manager secret: its ARN, without a JSON key, stage or version suffix.
    SecretsManager(String),
    /// A Systems Manager parameter: its ARN.
    Parameter(String),
}

impl SecretSource {
    /// A `valueFrom`: a Secrets Manager secret's full ARN (with an optional
    /// `:json-key:version-stage:version-id` suffix), or a parameter's ARN or, in the task's
    /// region, its name (ECS API reference, `Secret.valueFrom`).
    pub fn of(value_from: &str, place: Place<'_>) -> Result<Self, String> {
        let fields: Vec<&str> = value_from.split(':').collect();
        if fields.first() != Some(&"arn") {
            if value_from.is_empty() {
                return Err("an empty valueFrom".into());
            }
            let name = value_from.trim_start_matches('/');
            return Ok(Self::Parameter(format!(
                "arn:{}:ssm:{}:{}:parameter/{name}",
                place.partition, place.region, place.account
            )));
        }
        match fields.get(2) {
            Some(&"secretsmanager") if fields.len() >= 7 && fields[5] == "secret" => {
                Ok(Self::SecretsManager(fields[..7].join(":")))
            }
            Some(&"ssm") if fields.len() >= 6 && fields[5].starts_with("parameter/") => {
                Ok(Self::Parameter(value_from.to_owned()))
            }
            _ => Err(format!(
                "{value_from:?} is neither a Secrets Manager secret's ARN nor a Systems Manager parameter's"
            )),
        }
    }

    /// The ARN.
    pub fn arn(&self) -> &str {
        match self {
            Self::SecretsManager(arn) | Self::Parameter(arn) => arn,
        }
    }
}

/// An image in ECR: its registry's account and region, and its repository.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EcrImage {
    /// The registry's account.
    pub account: String,
    /// The registry's region.
    pub region: String,
    /// The repository, without tag or digest.
    pub repository: String,
}

impl EcrImage {
    /// `ACCOUNT.dkr.ecr[-fips].REGION.amazonaws.com[.cn]/REPOSITORY[:TAG][@DIGEST]`, or
    /// `None` for an image elsewhere.
    pub fn of(image: &str) -> Option<Self> {
        let (host, path) = image.split_once('/')?;
        let mut labels = host.split('.');
        let account = labels.next()?;
        let (dkr, ecr, region) = (labels.next()?, labels.next()?, labels.next()?);
        let rest: Vec<&str> = labels.collect();
        let aws_domain = rest == ["amazonaws", "com"] || rest == ["amazonaws", "com", "cn"];
        if account.len() != 12
            || !account.bytes().all(|b| b.is_ascii_digit())
            || dkr != "dkr"
            || !(ecr == "ecr" || ecr == "ecr-fips")
            || !aws_domain
        {
            return None;
        }
        let path = path.split('@').next().unwrap_or(path);
        // A tag follows the last `:` after the last `/`.
        let repository = match path.rfind(':') {
            Some(at) if !path[at..].contains('/') => &path[..at],
            _ => path,
        };
        (!repository.is_empty()).then(|| Self {
            account: account.to_owned(),
            region: region.to_owned(),
            repository: repository.to_owned(),
        })
    }

    /// The repository's ARN.
    pub fn arn(&self, partition: &str) -> String {
        format!(
            "arn:{partition}:ecr:{}:{}:repository/{}",
            self.region, self.account, self.repository
        )
    }
}

/// The pull actions on a repository (`AmazonECSTaskExecutionRolePolicy`'s, less the
/// authorization token, which has no resource).
const ECR_PULL: [&str; 3] = [
    "ecr:BatchCheckLayerAvailability",
    "ecr:GetDownloadUrlForLayer",
    "ecr:BatchGetImage",
];

/// Everything `definition`'s execution role needs in `place`, each once, in order; and
/// every `valueFrom` that names neither a secret nor a parameter, which ECS would refuse.
pub fn needs(definition: &TaskDefinition, place: Place<'_>) -> (Vec<Need>, Vec<String>) {
    let mut needs = BTreeSet::new();
    let mut unreadable = Vec::new();
    let partition = place.partition;
    for container in &definition.containers {
        let name = &container.name;
        if let Some(image) = EcrImage::of(&container.image) {
            let why = format!("container {name}: image {}", container.image);
            needs.insert(Need::new(
                "ecr:GetAuthorizationToken",
                "*".into(),
                Stage::RegistryAuth,
                &why,
            ));
            for action in ECR_PULL {
                needs.insert(Need::new(
                    action,
                    image.arn(partition),
                    Stage::ImagePull,
                    &why,
                ));
            }
        }
        if let Some(secret) = &container.registry_credentials {
            let why = format!("container {name}: the registry's credentials");
            needs.insert(Need::new(
                "secretsmanager:GetSecretValue",
                secret.clone(),
                Stage::RegistryAuth,
                &why,
            ));
        }
        for (secret, value_from) in &container.secrets {
            let why = format!("container {name}: secret {secret}");
            match SecretSource::of(value_from, place) {
                Ok(SecretSource::SecretsManager(arn)) => {
                    needs.insert(Need::new(
                        "secretsmanager:GetSecretValue",
                        arn,
                        Stage::SecretsManager,
                        &why,
                    ));
                }
                Ok(SecretSource::Parameter(arn)) => {
                    needs.insert(Need::new("ssm:GetParameters", arn, Stage::Parameters, &why));
                }
                Err(problem) => unreadable.push(format!("{why}: {problem}")),
            }
        }
        if let Some(logs) = &container.awslogs {
            let region = logs.region.as_deref().unwrap_or(place.region);
            let group = format!(
                "arn:{partition}:logs:{region}:{}:log-group:{}",
                place.account, logs.group
            );
            let why = format!("container {name}: awslogs group {}", logs.group);
            for action in ["logs:CreateLogStream", "logs:PutLogEvents"] {
                needs.insert(Need::new(
                    action,
                    format!("{group}:log-stream:*"),
                    Stage::Logs,
                    &why,
                ));
            }
            if logs.create_group {
                needs.insert(Need::new(
                    "logs:CreateLogGroup",
                    format!("{group}:log-stream:"),
                    Stage::Logs,
                    &format!("{why}, created by the task (awslogs-create-group)"),
                ));
            }
        }
        for object in &container.environment_files {
            let why = format!("container {name}: environment file {object}");
            needs.insert(Need::new(
                "s3:GetObject",
                object.clone(),
                Stage::EnvironmentFiles,
                &why,
            ));
            if let Some(bucket) = object.split('/').next() {
                needs.insert(Need::new(
                    "s3:GetBucketLocation",
                    bucket.to_owned(),
                    Stage::EnvironmentFiles,
                    &why,
                ));
            }
        }
    }
    (dedup(needs), unreadable)
}

/// One need per action and resource, the first reason kept.
fn dedup(needs: BTreeSet<Need>) -> Vec<Need> {
    let mut seen = BTreeSet::new();
    needs
        .into_iter()
        .filter(|n| seen.insert((n.action.clone(), n.resource.clone())))
        .collect()
}

/// What IAM says of the execution role a task uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RoleState {
    /// The task definition names none.
    Unnamed,
    /// It names one that does not exist.
    Missing,
    /// It exists, but its trust policy does not let `ecs-tasks.amazonaws.com` assume it.
    Untrusted,
    /// It exists and ECS may assume it.
    Trusted,
}

/// task-doctor's conclusion: the cause, and what the role lacks.
#[derive(Debug, Clone, PartialEq)]
pub struct Conclusion {
    /// One of the six causes.
    pub cause: Cause,
    /// What the role lacks: the needs IAM's simulation denies, or, when it denies none,
    /// the refusal the words name.
    pub missing: Vec<Need>,
    /// Why, in a sentence a person reads.
    pub because: String,
}

/// Concludes from what ECS said (`reading`), the role's state (`None` when IAM was not
/// asked: a network failure needs no IAM answer) and the needs IAM's simulation denies.
/// The words alone never make a cause IAM's: a denial IAM does not confirm is explained as
/// a policy other than the role's own (a key or secret policy, a boundary, an SCP), and
/// words that name no denial are not read as one.
pub fn conclude(reading: &Reading, role: Option<RoleState>, denied: Vec<Need>) -> Conclusion {
    let conclusion = |cause, missing, because: &str| Conclusion {
        cause,
        missing,
        because: because.to_owned(),
    };
    if reading.says == Says::Network {
        return conclusion(
            Cause::Network,
            Vec::new(),
            "a connection from the task timed out or failed: no IAM change fixes it; the task's subnets must reach the endpoints below",
        );
    }
    match role {
        Some(RoleState::Unnamed) => {
            return conclusion(
                Cause::MissingRole,
                denied,
                "the task definition names no execution role, and what it uses needs one",
            )
        }
        Some(RoleState::Missing) => {
            return conclusion(
                Cause::MissingRole,
                denied,
                "the execution role the task names does not exist",
            )
        }
        Some(RoleState::Untrusted) => return conclusion(
            Cause::Trust,
            denied,
            "the execution role does not trust ecs-tasks.amazonaws.com, so ECS cannot assume it",
        ),
        Some(RoleState::Trusted) | None => {}
    }
    if !denied.is_empty() {
        return conclusion(
            Cause::Permissions,
            denied,
            "the execution role's policies do not allow what the task definition needs",
        );
    }
    match &reading.says {
        Says::Denied(_) if reading.stage == Some(Stage::ImagePull) => conclusion(
            Cause::Image,
            Vec::new(),
            "the role may pull from the repository, so the image or its tag is likely not there",
        ),
        Says::Denied(denial) => conclusion(
            Cause::Permissions,
            Need::refused(denial, reading.stage).into_iter().collect(),
            "the role's own policies allow every need, so the refusal comes from a policy beside them: the key's or the secret's resource policy, a permissions boundary or an SCP",
        ),
        Says::Image => conclusion(
            Cause::Image,
            Vec::new(),
            "the image could not be pulled, and not for want of a permission",
        ),
        _ => conclusion(
            Cause::Other,
            Vec::new(),
            "the execution role exists, is trusted and lacks nothing the task definition needs",
        ),
    }
}

/// The resources of `needs` (as `resource` names each) grouped by the set of actions each
/// needs: action set → resources, both sorted. A policy statement, or one simulation, per
/// group covers every need.
pub fn by_action_set<'a>(
    needs: &'a [Need],
    resource: impl Fn(&'a Need) -> &'a str,
) -> BTreeMap<Vec<&'a str>, Vec<&'a str>> {
    let mut by_resource: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for need in needs {
        by_resource
            .entry(resource(need))
            .or_default()
            .insert(&need.action);
    }
    let mut by_actions: BTreeMap<Vec<&str>, Vec<&str>> = BTreeMap::new();
    for (resource, actions) in by_resource {
        by_actions
            .entry(actions.into_iter().collect())
            .or_default()
            .push(resource);
    }
    by_actions
}

/// The smallest identity policy that grants `missing`: one statement per set of actions,
/// over every resource that needs exactly that set; `None` when nothing is missing.
pub fn minimal_policy(missing: &[Need]) -> Option<Value> {
    if missing.is_empty() {
        return None;
    }
    let statements: Vec<Value> = by_action_set(missing, |need| &need.resource)
        .into_iter()
        .map(|(actions, resources)| {
            json!({"Effect": "Allow", "Action": actions, "Resource": resources})
        })
        .collect();
    Some(json!({"Version": "2012-10-17", "Statement": statements}))
}

#[cfg(test)]
mod tests {
    use super::*;

    const PLACE: Place<'static> = Place {
        partition: "aws",
        region: "eu-west-1",
        account: "111122223333",
    };

    fn pairs(needs: &[Need]) -> Vec<(&str, &str)> {
        needs
            .iter()
            .map(|n| (n.action.as_str(), n.resource.as_str()))
            .collect()
    }

    #[test]
    fn a_secret_is_read_by_arn_and_a_parameter_by_arn_or_name() {
        let arn = "arn:aws:secretsmanager:eu-west-1:111122223333:secret:db-AbCdEf";
        assert_eq!(
            SecretSource::of(&format!("{arn}:password::"), PLACE),
            Ok(SecretSource::SecretsManager(arn.into()))
        );
        assert_eq!(
            SecretSource::of("/app/db/password", PLACE),
            Ok(SecretSource::Parameter(
                "arn:aws:ssm:eu-west-1:111122223333:parameter/app/db/password".into()
            ))
        );
        let parameter = "arn:aws:ssm:us-east-1:111122223333:parameter/shared";
        assert_eq!(
            SecretSource::of(parameter, PLACE),
            Ok(SecretSource::Parameter(parameter.into()))
        );
        assert!(SecretSource::of("arn:aws:s3:::bucket/key", PLACE).is_err());
    }

    #[test]
    fn an_ecr_image_names_its_repository_and_others_do_not() {
        let image =
            EcrImage::of("111122223333.dkr.ecr.eu-west-1.amazonaws.com/team/web:1.4@sha256:ab")
                .expect("in ECR");
        assert_eq!(
            image.arn("aws"),
            "arn:aws:ecr:eu-west-1:111122223333:repository/team/web"
        );
        assert_eq!(
            EcrImage::of("111122223333.dkr.ecr.cn-north-1.amazonaws.com.cn/web")
                .map(|i| i.arn("aws-cn")),
            Some("arn:aws-cn:ecr:cn-north-1:111122223333:repository/web".into())
        );
        assert_eq!(EcrImage::of("public.ecr.aws/nginx/nginx:latest"), None);
        assert_eq!(EcrImage::of("docker.io/library/nginx:1.27"), None);
        assert_eq!(EcrImage::of("localhost:5000/web"), None);
    }

    #[test]
    fn a_definition_needs_its_image_secrets_logs_and_files_each_once() {
        let web = Container {
            name: "web".into(),
            image: "111122223333.dkr.ecr.eu-west-1.amazonaws.com/web:7".into(),
            secrets: vec![
                ("DB".into(), "/app/db".into()),
                (
                    "KEY".into(),
                    "arn:aws:secretsmanager:eu-west-1:111122223333:secret:key-AbCdEf".into(),
                ),
                ("BAD".into(), "arn:aws:s3:::nope".into()),
            ],
            awslogs: Some(AwsLogs {
                group: "/ecs/web".into(),
                region: None,
                create_group: true,
            }),
            environment_files: vec!["arn:aws:s3:::config/web.env".into()],
            ..Container::default()
        };
        let sidecar = Container {
            name: "sidecar".into(),
            image: "111122223333.dkr.ecr.eu-west-1.amazonaws.com/web:7".into(),
            ..Container::default()
        };
        let definition = TaskDefinition {
            containers: vec![web, sidecar],
            ..TaskDefinition::default()
        };
        let (needs, unreadable) = needs(&definition, PLACE);
        assert_eq!(unreadable.len(), 1, "{unreadable:?}");
        let group = "arn:aws:logs:eu-west-1:111122223333:log-group:/ecs/web";
        let repo = "arn:aws:ecr:eu-west-1:111122223333:repository/web";
        let stream = format!("{group}:log-stream:*");
        let created = format!("{group}:log-stream:");
        let mut expected = vec![
            ("ecr:BatchCheckLayerAvailability", repo),
            ("ecr:BatchGetImage", repo),
            ("ecr:GetAuthorizationToken", "*"),
            ("ecr:GetDownloadUrlForLayer", repo),
            ("logs:CreateLogGroup", created.as_str()),
            ("logs:CreateLogStream", stream.as_str()),
            ("logs:PutLogEvents", stream.as_str()),
            ("s3:GetBucketLocation", "arn:aws:s3:::config"),
            ("s3:GetObject", "arn:aws:s3:::config/web.env"),
            (
                "secretsmanager:GetSecretValue",
                "arn:aws:secretsmanager:eu-west-1:111122223333:secret:key-AbCdEf",
            ),
            (
                "ssm:GetParameters",
                "arn:aws:ssm:eu-west-1:111122223333:parameter/app/db",
            ),
        ];
        expected.sort();
        let mut got = pairs(&needs);
        got.sort();
        assert_eq!(got, expected);
    }

    fn secret_need() -> Need {
        Need::new(
            "secretsmanager:GetSecretValue",
            "arn:aws:secretsmanager:eu-west-1:111122223333:secret:db-AbCdEf".into(),
            Stage::SecretsManager,
            "container web: secret DB",
        )
    }

    #[test]
    fn the_network_is_concluded_without_iam_and_a_role_before_its_permissions() {
        let timeout = Reading::of("ResourceInitializationError: unable to pull secrets or registry auth: execution resource retrieval failed: unable to retrieve secrets from ssm: service call has been retried 5 time(s): RequestCanceled: request context canceled caused by: context deadline exceeded. Please check your task network configuration.");
        assert_eq!(conclude(&timeout, None, Vec::new()).cause, Cause::Network);
        let unclear = Reading::of("CannotStartContainerError: something else");
        for (state, cause) in [
            (RoleState::Unnamed, Cause::MissingRole),
            (RoleState::Missing, Cause::MissingRole),
            (RoleState::Untrusted, Cause::Trust),
        ] {
            let conclusion = conclude(&unclear, Some(state), vec![secret_need()]);
            assert_eq!(conclusion.cause, cause, "{state:?}");
        }
        let trusted = conclude(&unclear, Some(RoleState::Trusted), vec![secret_need()]);
        assert_eq!(trusted.cause, Cause::Permissions);
        assert_eq!(trusted.missing, vec![secret_need()]);
        let nothing = conclude(&unclear, Some(RoleState::Trusted), Vec::new());
        assert_eq!(nothing.cause, Cause::Other, "words that name no denial");
    }

    #[test]
    fn a_denial_iam_does_not_confirm_is_another_policy_or_the_image() {
        let kms = Reading::of("Fetching secret data from SSM Parameter Store in eu-west-1: AccessDeniedException: User: arn:aws:sts::111122223333:assumed-role/exec/1 is not authorized to perform: kms:Decrypt on resource: arn:aws:kms:eu-west-1:111122223333:key/1234 status code: 400");
        let conclusion = conclude(&kms, Some(RoleState::Trusted), Vec::new());
        assert_eq!(conclusion.cause, Cause::Permissions);
        assert_eq!(conclusion.missing.len(), 1);
        assert_eq!(conclusion.missing[0].action, "kms:Decrypt");
        assert!(conclusion.because.contains("resource policy"));
        let pull = Reading::of("CannotPullContainerError: pull image manifest has been retried 1 time(s): failed to resolve ref 111122223333.dkr.ecr.eu-west-1.amazonaws.com/web:9: pulling from host 111122223333.dkr.ecr.eu-west-1.amazonaws.com failed with status code [manifests 9]: 403 Forbidden");
        let conclusion = conclude(&pull, Some(RoleState::Trusted), Vec::new());
        assert_eq!(conclusion.cause, Cause::Image);
    }

    #[test]
    fn the_smallest_policy_groups_resources_by_the_actions_they_need() {
        let (needs, _) = needs(
            &TaskDefinition {
                containers: vec![Container {
                    name: "web".into(),
                    image: "111122223333.dkr.ecr.eu-west-1.amazonaws.com/web:7".into(),
                    secrets: vec![("DB".into(), "/app/db".into())],
                    ..Container::default()
                }],
                ..TaskDefinition::default()
            },
            PLACE,
        );
        let policy = minimal_policy(&needs).expect("something to grant");
        assert_eq!(
            policy,
            json!({"Version": "2012-10-17", "Statement": [
                {"Effect": "Allow",
                 "Action": ["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
                 "Resource": ["arn:aws:ecr:eu-west-1:111122223333:repository/web"]},
                {"Effect": "Allow", "Action": ["ecr:GetAuthorizationToken"], "Resource": ["*"]},
                {"Effect": "Allow", "Action": ["ssm:GetParameters"],
                 "Resource": ["arn:aws:ssm:eu-west-1:111122223333:parameter/app/db"]}
            ]})
        );
        assert_eq!(minimal_policy(&[]), None);
    }
}
