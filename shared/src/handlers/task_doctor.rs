//! The `task-doctor` function: when a task fails to start ("ECS Task State Change" to
//! `STOPPED` with `stopCode` `TaskFailedToStart`) or a service cannot start its tasks for
//! their configuration ("ECS Service Action" `SERVICE_TASK_CONFIGURATION_FAILURE`), say why,
//! and what the execution role lacks.
//!
//! The words ECS wrote are read first ([`Reading`]), but they are never the whole
//! diagnosis: ECS cuts them at 255 characters and some denials name no action. The task
//! definition is read once (its execution role, or the one the task's overrides gave), what
//! the role needs is worked out from it ([`needs`]) with the customer-managed KMS key of each
//! secret and parameter, and IAM is asked whether the role exists, whether ECS may assume
//! it, and (its simulation) whether it may do each need. A network failure is answered
//! with the endpoints the task must reach, and no IAM call. The only writes are
//! [`roles::ensure`]'s, for the role name ECS's documentation gives: grants on a
//! customer's secrets, keys and log groups are explained, never written. A service that
//! keeps retrying a broken task sends an event per try: the same failure of the same task
//! definition revision is answered from memory while the diagnosis is fresh.

use std::collections::{BTreeMap, BTreeSet};

use aws_sdk_iam::types::PolicyEvaluationDecisionType;
use aws_sdk_kms::types::KeyManagerType;
use aws_sdk_ssm::types::{ParameterStringFilter, ParameterType};
use serde::Serialize;
use serde_json::Value;
use tracing::Instrument;

use super::{Deps, Handler};
use crate::aws::{ids, CallError, TaskClients};
use crate::domain::catalog::ECS_TASK_EXECUTION_ROLE;
use crate::domain::checks::Check;
use crate::domain::execution_role::{
    by_action_set, conclude, minimal_policy, needs, AwsLogs, Container, Need, Place, RoleState,
    TaskDefinition, DOCUMENTED_NAME,
};
use crate::domain::roles::{self, RoleTarget};
use crate::domain::task_failure::{Cause, Reading, Says, Stage};
use crate::domain::trust_policy::TrustPolicy;
use crate::invocation::context::Invocation;
use crate::invocation::ecs_events::{
    parse_ecs_event, EcsEvent, SERVICE_ACTION, SERVICE_TASK_CONFIGURATION_FAILURE,
    TASK_STATE_CHANGE,
};
use crate::invocation::error::InvocationError;
use crate::invocation::gate::Scope;
use crate::invocation::notice::Notable;
use crate::invocation::reach::AccountClients;
use crate::invocation::report::{Finding, Report, Status};
use crate::invocation::settings::{Mode, SettingsError};
use crate::invocation::verdict_cache::{Recent, Verdicts};

/// The function's name in reports and logs.
pub const FUNCTION: &str = "task-doctor";

/// The service principal an execution role must trust.
const TASKS_PRINCIPAL: &str = "ecs-tasks.amazonaws.com";

/// What ECS writes in a service event when it could not assume a task's role.
const COULD_NOT_ASSUME: &str = "unable to assume the role";

/// How many resources one simulation asks about: each action is simulated over its
/// resources in batches, so a task definition with many secrets costs a few calls, not one
/// per secret.
const RESOURCES_PER_SIMULATION: usize = 50;

/// What an invocation answers: the usual report, and the diagnosis when there is one.
#[derive(Debug, Clone, Serialize)]
pub struct TaskDiagnosis {
    /// Function, mode, findings, AWS calls.
    #[serde(flatten)]
    pub report: Report,
    /// Why the task failed to start; `None` for an event that is not a failure to start.
    pub diagnosis: Option<Diagnosis>,
}

impl Notable for TaskDiagnosis {
    fn report(&self) -> &Report {
        &self.report
    }
    fn report_mut(&mut self) -> &mut Report {
        &mut self.report
    }
}

/// Why a task failed to start, and what would let it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Diagnosis {
    /// The task's ARN (`None` for a service's failure: ECS created no task).
    pub task: Option<String>,
    /// The service's ARN, for a service's failure.
    pub service: Option<String>,
    /// The task definition revision.
    pub task_definition: String,
    /// The execution role's ARN, `None` when the definition names none.
    pub execution_role: Option<String>,
    /// `missing_role`, `trust`, `permissions`, `network`, `image` or `other`.
    pub cause: Cause,
    /// Why, in a sentence.
    pub because: String,
    /// What the execution role lacks, each `{action, resource}`.
    pub missing: Vec<Need>,
    /// The smallest identity policy granting `missing`; `None` when nothing is.
    pub policy: Option<Value>,
    /// For a network failure: the endpoints the task must reach (through a NAT gateway, a
    /// public IP or VPC endpoints).
    pub endpoints: Vec<String>,
    /// What ECS said, as it said it.
    pub reason: Option<String>,
    /// Every `valueFrom` of the definition that names neither a secret nor a parameter.
    pub unreadable: Vec<String>,
}

/// An ECS event read before any AWS call: where it happened and what failed.
#[derive(Debug)]
pub struct Failure {
    id: Option<String>,
    account: String,
    region: String,
    partition: &'static str,
    cause: String,
    what: Failed,
}

/// What the event is about.
#[derive(Debug)]
enum Failed {
    /// A task that never started.
    Task {
        task: String,
        task_definition: String,
        /// The execution role given in the task's overrides.
        overridden_role: Option<String>,
        reason: Option<String>,
    },
    /// A service that could not start tasks for their configuration.
    Service { service: String, cluster: String },
    /// Not a failure to start: why it is none of task-doctor's business.
    Ignored(String),
}

/// One failure's diagnosis as remembered, with the findings it came with.
#[derive(Debug, Clone)]
struct Remembered {
    diagnosis: Diagnosis,
    summary: String,
}

/// The handler with what it keeps between invocations of a warm container.
#[derive(Debug)]
pub struct TaskDoctor {
    mode: Mode,
    region: String,
    clients: AccountClients<TaskClients>,
    verdicts: Verdicts,
    recent: Recent<Remembered>,
}

impl Handler for TaskDoctor {
    const FUNCTION: &'static str = FUNCTION;
    type Input = Failure;
    type Output = TaskDiagnosis;

    fn build(deps: &Deps) -> Result<Self, SettingsError> {
        Ok(Self::with_clients(
            deps,
            TaskClients::new(&deps.config, &deps.calls),
        ))
    }

    /// An "ECS Task State Change" or "ECS Service Action" event.
    fn parse(&self, payload: Value) -> Result<Failure, InvocationError> {
        Failure::parse(payload)
    }

    async fn answer(
        &self,
        failure: Failure,
        invocation: &Invocation,
    ) -> Result<TaskDiagnosis, InvocationError> {
        invocation
            .within(|| async { Ok(self.diagnose_in_account(failure, invocation).await) })
            .await
    }
}

impl Failure {
    /// Reads an ECS event, naming what is wrong with one that cannot be diagnosed.
    pub fn parse(payload: Value) -> Result<Self, InvocationError> {
        let event = parse_ecs_event(payload)?;
        let (id, account, region, resources) = match &event {
            EcsEvent::Task(e) => (&e.id, &e.account, &e.region, &e.resources),
            EcsEvent::Service(e) => (&e.id, &e.account, &e.region, &e.resources),
        };
        let account = account
            .clone()
            .filter(|a| ids::is_account_id(a))
            .ok_or_else(|| InvocationError::BadField {
                field: "account",
                problem: format!("{account:?} is not a 12-digit account id"),
            })?;
        let region = region
            .clone()
            .filter(|r| ids::is_region_name(r))
            .ok_or_else(|| InvocationError::BadField {
                field: "region",
                problem: format!("{region:?} is not a region"),
            })?;
        let (cause, what) = match &event {
            EcsEvent::Task(e) => {
                let task = &e.detail;
                let what = if task.failed_to_start() {
                    // ECS puts the cause in stoppedReason; a container's own reason is read
                    // when the task's is missing.
                    let reason = task
                        .stopped_reason
                        .clone()
                        .or_else(|| task.containers.iter().find_map(|c| c.reason.clone()));
                    Failed::Task {
                        task: task.task_arn.clone(),
                        task_definition: task.task_definition_arn.clone(),
                        overridden_role: task.overrides.execution_role_arn.clone(),
                        reason,
                    }
                } else {
                    Failed::Ignored(format!(
                        "the task is {} with stop code {}: only a task that failed to start ({}) is diagnosed",
                        task.last_status,
                        task.stop_code.as_deref().unwrap_or("none"),
                        crate::invocation::ecs_events::TASK_FAILED_TO_START
                    ))
                };
                (format!("aws.ecs:{TASK_STATE_CHANGE}"), what)
            }
            EcsEvent::Service(e) => {
                let action = &e.detail;
                let what = if action.event_name != SERVICE_TASK_CONFIGURATION_FAILURE {
                    Failed::Ignored(format!(
                        "{} is not {SERVICE_TASK_CONFIGURATION_FAILURE}",
                        action.event_name
                    ))
                } else {
                    let service = resources
                        .iter()
                        .flatten()
                        .find(|r| r.contains(":service/"))
                        .cloned()
                        .ok_or_else(|| InvocationError::BadField {
                            field: "resources",
                            problem: "no ECS service ARN".into(),
                        })?;
                    Failed::Service {
                        service,
                        cluster: action.cluster_arn.clone(),
                    }
                };
                (
                    format!("aws.ecs:{SERVICE_ACTION}:{}", action.event_name),
                    what,
                )
            }
        };
        Ok(Self {
            id: id.clone(),
            partition: ids::partition(&region),
            account,
            region,
            cause,
            what,
        })
    }

    fn scope(&self, mode: Mode) -> Scope {
        Scope {
            mode,
            account: self.account.clone(),
            partition: self.partition,
            event_id: self.id.clone().unwrap_or_default(),
            cause: self.cause.clone(),
        }
    }
}

/// What failed, as far as it is known before the task definition is read: from the event
/// for a task, from the service's own description (one call) for a service.
struct Seen {
    task: Option<String>,
    service: Option<String>,
    task_definition: String,
    /// The role the task was started with in place of the definition's, or the one ECS
    /// quotes as the role it could not assume.
    role: Option<String>,
    reading: Reading,
    reason: Option<String>,
}

impl Seen {
    /// The memory's key: the same words about the same revision and role in one account,
    /// whichever task of a retrying service reported them (the words' task ids, in the
    /// refused session's name, are left out).
    fn memory_key(&self, account: &str) -> String {
        let says = match &self.reading.says {
            Says::CouldNotAssume { role } => format!("assume:{}", role.as_deref().unwrap_or("")),
            Says::Denied(d) => format!(
                "denied:{}:{}",
                d.action.as_deref().unwrap_or(""),
                d.resource.as_deref().unwrap_or("")
            ),
            Says::Network => "network".into(),
            Says::Image => "image".into(),
            Says::Unclear => "unclear".into(),
        };
        format!(
            "{account}/{}/{}/{}/{says}/{:?}",
            self.service.as_deref().unwrap_or(""),
            self.task_definition,
            self.role.as_deref().unwrap_or(""),
            self.reading.stage
        )
    }
}

/// A task definition as read, with where its tasks run.
struct Case {
    task: Option<String>,
    service: Option<String>,
    definition: TaskDefinition,
    /// The role the task ran with: the overrides', else the definition's.
    role: Option<String>,
    reading: Reading,
    reason: Option<String>,
}

impl TaskDoctor {
    /// The handler over clients built elsewhere: [`Handler::build`]'s, or mocked ones
    /// (they act in the function's own account).
    pub fn with_clients(deps: &Deps, clients: TaskClients) -> Self {
        let region = clients.region().unwrap_or_default().to_owned();
        Self {
            mode: deps.settings.mode,
            region,
            clients: AccountClients::with_own(
                &deps.accounts,
                clients,
                &deps.calls,
                TaskClients::new,
            ),
            verdicts: Verdicts::new(deps.settings.verdict_ttl),
            recent: Recent::new(deps.settings.verdict_ttl),
        }
    }

    async fn diagnose_in_account(
        &self,
        failure: Failure,
        invocation: &Invocation,
    ) -> TaskDiagnosis {
        let span = tracing::info_span!("account", account = %failure.account);
        let (findings, diagnosis) = async {
            if let Failed::Ignored(why) = &failure.what {
                let finding = Finding::new(&failure.cause, Check::Scope, Status::Skipped, why);
                return (vec![finding], None);
            }
            if failure.region != self.region {
                let finding = Finding::new(
                    &failure.region,
                    Check::Region,
                    Status::Skipped,
                    format!(
                        "the event comes from {} but this function acts in {}; tasks, secrets and parameters are regional, so the task-doctor deployed in {} diagnoses it",
                        failure.region, self.region, failure.region
                    ),
                );
                return (vec![finding], None);
            }
            match self.clients.get(&failure.account, failure.partition).await {
                Ok(clients) => self.diagnose(&failure, &clients).await,
                Err(refused) => (vec![refused], None),
            }
        }
        .instrument(span)
        .await;
        let mut report = Report::new(
            FUNCTION,
            self.mode,
            failure.id.clone(),
            Some(failure.cause.clone()),
            findings,
            invocation.calls(),
        );
        report.account = Some(failure.account.clone());
        report.log();
        TaskDiagnosis { report, diagnosis }
    }

    async fn diagnose(
        &self,
        failure: &Failure,
        clients: &TaskClients,
    ) -> (Vec<Finding>, Option<Diagnosis>) {
        let seen = match self.seen(failure, clients).await {
            Ok(seen) => seen,
            Err(finding) => return (vec![finding], None),
        };
        // Before the task definition is read: a retrying service's next failure of the same
        // revision is this one again.
        let key = seen.memory_key(&failure.account);
        if let Some((age, remembered)) = self.recent.get(&key) {
            let diagnosis = Diagnosis {
                task: seen.task,
                reason: seen.reason,
                ..remembered.diagnosis
            };
            let finding = Finding::new(
                &diagnosis.task_definition,
                Check::Diagnosis,
                Status::Skipped,
                format!(
                    "the same failure of this task definition revision was diagnosed {}s ago in this container ({}); answered from that diagnosis without reading it again",
                    age.as_secs(),
                    remembered.summary
                ),
            );
            return (vec![finding], Some(diagnosis));
        }
        let case = match self.case(seen, clients).await {
            Ok(case) => case,
            Err(failed) => return (vec![failed], None),
        };
        let scope = failure.scope(self.mode);
        let place = Place {
            partition: failure.partition,
            region: &failure.region,
            account: &failure.account,
        };
        let (mut needed, unreadable) = needs(&case.definition, place);
        let mut findings = Vec::new();
        let mut endpoints = Vec::new();
        let (state, denied) = if case.reading.says == Says::Network {
            endpoints = endpoints_for(&needed, place);
            (None, Vec::new())
        } else {
            findings.extend(self.keys(clients, &mut needed).await);
            let (state, role_arn) = match self.role_state(clients, case.role.as_deref()).await {
                Ok(found) => found,
                Err(failed) => {
                    findings.push(failed);
                    return (findings, None);
                }
            };
            let denied = match (state, &role_arn) {
                (RoleState::Trusted | RoleState::Untrusted, Some(arn)) => {
                    match simulate(&clients.iam, arn, &needed).await {
                        Ok(denied) => denied,
                        Err(e) => {
                            findings.push(Finding::new(
                                arn,
                                Check::Permission,
                                Status::Failed,
                                e.explain("iam:SimulatePrincipalPolicy", arn),
                            ));
                            Vec::new()
                        }
                    }
                }
                // A role that is not there lacks everything.
                _ => needed.clone(),
            };
            (Some(state), denied)
        };
        let mut conclusion = conclude(&case.reading, state, denied);
        let role_findings = match (&case.role, state) {
            (Some(role), Some(state)) if should_ensure(role, state) => {
                match RoleTarget::named(&ECS_TASK_EXECUTION_ROLE, role, "executionRoleArn") {
                    Ok(target) => {
                        tracing::info!(event_id = %scope.event_id, event = %scope.cause, role = %target.name, "checking");
                        roles::ensure(&clients.iam, &self.verdicts, &scope, &target).await
                    }
                    Err(bad) => vec![Finding::new(
                        role,
                        Check::Role,
                        Status::Failed,
                        bad.to_string(),
                    )],
                }
            }
            _ => Vec::new(),
        };
        // A role just created or repaired has the managed policy now: what it still lacks
        // is what IAM's simulation says of it, not everything a missing role lacked.
        let changed = role_findings
            .iter()
            .any(|f| matches!(f.status, Status::Created | Status::Repaired));
        if let Some(arn) = case
            .role
            .as_deref()
            .filter(|r| changed && r.starts_with("arn:"))
        {
            match simulate(&clients.iam, arn, &needed).await {
                Ok(still) => conclusion.missing = still,
                Err(e) => findings.push(Finding::new(
                    arn,
                    Check::Permission,
                    Status::Failed,
                    e.explain("iam:SimulatePrincipalPolicy", arn),
                )),
            }
        }
        let role_label = case
            .role
            .clone()
            .unwrap_or_else(|| "the execution role".into());
        for need in &conclusion.missing {
            findings.push(Finding::new(
                &role_label,
                Check::Permission,
                Status::Failed,
                format!("lacks {} on {} ({})", need.action, need.resource, need.why),
            ));
        }
        findings.push(task_start(
            &case.definition.arn,
            conclusion.cause,
            &conclusion.because,
            &role_findings,
        ));
        findings.extend(role_findings);
        let policy = minimal_policy(&conclusion.missing);
        let diagnosis = Diagnosis {
            task: case.task,
            service: case.service,
            task_definition: case.definition.arn,
            execution_role: case.role,
            cause: conclusion.cause,
            because: conclusion.because,
            missing: conclusion.missing,
            policy,
            endpoints,
            reason: case.reason,
            unreadable,
        };
        let cause: &'static str = diagnosis.cause.into();
        self.recent.keep(
            &key,
            Remembered {
                diagnosis: diagnosis.clone(),
                summary: format!("{cause}: {}", diagnosis.because),
            },
        );
        (findings, Some(diagnosis))
    }

    /// What failed: from the event for a task, from the service's description for a
    /// service (its task definition, and the newest event that quotes a role ECS could not
    /// assume).
    async fn seen(&self, failure: &Failure, clients: &TaskClients) -> Result<Seen, Finding> {
        match &failure.what {
            Failed::Task {
                task,
                task_definition,
                overridden_role,
                reason,
            } => Ok(Seen {
                task: Some(task.clone()),
                service: None,
                task_definition: task_definition.clone(),
                role: overridden_role.clone(),
                reading: Reading::of(reason.as_deref().unwrap_or_default()),
                reason: reason.clone(),
            }),
            Failed::Service { service, cluster } => {
                let (task_definition, message) =
                    describe_service(&clients.ecs, cluster, service).await?;
                let reading = Reading::of(message.as_deref().unwrap_or_default());
                // The role ECS quotes is the one it could not assume: the execution role or
                // the task role. A quoted `role/null` is a template's missing value.
                let quoted = match &reading.says {
                    Says::CouldNotAssume { role: Some(role) } if role.starts_with("arn:") => {
                        Some(role.clone())
                    }
                    _ => None,
                };
                Ok(Seen {
                    task: None,
                    service: Some(service.clone()),
                    task_definition,
                    role: quoted,
                    reading,
                    reason: message,
                })
            }
            Failed::Ignored(why) => Err(Finding::new(
                &failure.cause,
                Check::Scope,
                Status::Skipped,
                why,
            )),
        }
    }

    /// The task definition read, and the role the task ran with: the one the event or the
    /// service named, else the definition's.
    async fn case(&self, seen: Seen, clients: &TaskClients) -> Result<Case, Finding> {
        let definition = describe_task_definition(&clients.ecs, &seen.task_definition).await?;
        Ok(Case {
            task: seen.task,
            service: seen.service,
            role: seen.role.or_else(|| definition.execution_role.clone()),
            definition,
            reading: seen.reading,
            reason: seen.reason,
        })
    }

    /// Adds `kms:Decrypt` on the customer-managed key of each secret and parameter the task
    /// reads; a key that cannot be read is a finding, not a guess.
    async fn keys(&self, clients: &TaskClients, needed: &mut Vec<Need>) -> Vec<Finding> {
        let mut findings = Vec::new();
        let mut keys = BTreeMap::new();
        for need in needed.iter() {
            let found = match need.stage {
                Some(Stage::SecretsManager) | Some(Stage::RegistryAuth)
                    if need.action == "secretsmanager:GetSecretValue" =>
                {
                    secret_key(&clients.secrets, &need.resource).await
                }
                Some(Stage::Parameters) => parameter_key(&clients.ssm, &need.resource).await,
                _ => continue,
            };
            let key = match found {
                Ok(Some(key)) => key,
                Ok(None) => continue,
                Err(why) => {
                    findings.push(Finding::new(
                        &need.resource,
                        Check::SecretKey,
                        Status::Skipped,
                        format!("its KMS key is not known, so kms:Decrypt is not checked: {why}"),
                    ));
                    continue;
                }
            };
            match customer_key(&clients.kms, &key).await {
                Ok(Some(arn)) => {
                    keys.entry(arn).or_insert_with(|| need.why.clone());
                }
                Ok(None) => {}
                Err(why) => findings.push(Finding::new(
                    &key,
                    Check::SecretKey,
                    Status::Skipped,
                    format!(
                        "protects {} but could not be read, so kms:Decrypt is not checked: {why}",
                        need.resource
                    ),
                )),
            }
        }
        for (arn, why) in keys {
            needed.push(Need::decrypt(&arn, &why));
        }
        needed.sort();
        findings
    }

    /// What IAM says of the role, and its ARN when it exists.
    async fn role_state(
        &self,
        clients: &TaskClients,
        role: Option<&str>,
    ) -> Result<(RoleState, Option<String>), Finding> {
        let Some(reference) = role else {
            return Ok((RoleState::Unnamed, None));
        };
        let name = reference.rsplit('/').next().unwrap_or(reference);
        match clients.iam.get_role().role_name(name).send().await {
            Ok(out) => {
                let Some(role) = out.role else {
                    return Ok((RoleState::Missing, None));
                };
                let trusted =
                    TrustPolicy::parse(role.assume_role_policy_document().unwrap_or_default())
                        .is_ok_and(|trust| trust.grants(TASKS_PRINCIPAL));
                let state = if trusted {
                    RoleState::Trusted
                } else {
                    RoleState::Untrusted
                };
                Ok((state, Some(role.arn)))
            }
            Err(e) => {
                let err = CallError::from_sdk(&e);
                if err.is_not_found() {
                    Ok((RoleState::Missing, None))
                } else {
                    Err(Finding::new(
                        reference,
                        Check::Role,
                        Status::Failed,
                        err.explain("iam:GetRole", name),
                    ))
                }
            }
        }
    }
}

/// Whether the role is one ecs-warden checks with the catalog's shape: ECS's documented
/// name always (it may be created or repaired), another name only when it is missing or
/// untrusted (explained, never written: its permissions are the simulation's business).
fn should_ensure(role: &str, state: RoleState) -> bool {
    let name = role.rsplit('/').next().unwrap_or(role);
    name == DOCUMENTED_NAME || matches!(state, RoleState::Missing | RoleState::Untrusted)
}

/// The task definition's finding, toward the `task_start` control.
fn task_start(definition: &str, cause: Cause, because: &str, role_findings: &[Finding]) -> Finding {
    let cause_name: &'static str = cause.into();
    let detail = format!("{cause_name}: {because}");
    let role_status = |wanted: &[Status]| {
        role_findings
            .iter()
            .filter(|f| wanted.contains(&f.status))
            .map(|f| f.status)
            .next()
    };
    let status = match cause {
        Cause::MissingRole | Cause::Trust => {
            match role_status(&[Status::Created, Status::Repaired]) {
                Some(_) => Status::Repaired,
                None if role_status(&[Status::WouldCreate, Status::WouldRepair]).is_some() => {
                    Status::WouldRepair
                }
                None => Status::Failed,
            }
        }
        Cause::Permissions => Status::Failed,
        Cause::Network => Status::Skipped,
        Cause::Image | Cause::Other => Status::Compliant,
    };
    Finding::new(definition, Check::TaskStart, status, detail)
}

/// The endpoints a task reaches for what its definition uses, in the stages' order.
fn endpoints_for(needed: &[Need], place: Place<'_>) -> Vec<String> {
    let suffix = if place.partition == "aws-cn" {
        "amazonaws.com.cn"
    } else {
        "amazonaws.com"
    };
    let region = place.region;
    let stages: BTreeSet<Stage> = needed.iter().filter_map(|n| n.stage).collect();
    let mut endpoints = Vec::new();
    for stage in stages {
        let hosts: &[&str] = match stage {
            Stage::SecretsManager => &["secretsmanager"],
            Stage::Parameters => &["ssm"],
            Stage::Kms => &["kms"],
            // An ECR image's layers come from S3.
            Stage::RegistryAuth | Stage::ImagePull => &["api.ecr", "dkr.ecr", "s3"],
            Stage::Logs => &["logs"],
            Stage::EnvironmentFiles => &["s3"],
        };
        for host in hosts {
            let endpoint = format!("{host}.{region}.{suffix}");
            if !endpoints.contains(&endpoint) {
                endpoints.push(endpoint);
            }
        }
    }
    endpoints
}

/// DescribeTaskDefinition, read into what decides the execution role's needs.
async fn describe_task_definition(
    ecs: &aws_sdk_ecs::Client,
    arn: &str,
) -> Result<TaskDefinition, Finding> {
    let out = ecs
        .describe_task_definition()
        .task_definition(arn)
        .send()
        .await
        .map_err(|e| {
            Finding::new(
                arn,
                Check::TaskStart,
                Status::Failed,
                CallError::from_sdk(&e).explain("ecs:DescribeTaskDefinition", arn),
            )
        })?;
    let Some(definition) = out.task_definition else {
        return Err(Finding::new(
            arn,
            Check::TaskStart,
            Status::Failed,
            "ECS answered DescribeTaskDefinition with no task definition",
        ));
    };
    Ok(TaskDefinition {
        arn: definition.task_definition_arn().unwrap_or(arn).to_owned(),
        execution_role: definition.execution_role_arn().map(str::to_owned),
        containers: definition
            .container_definitions()
            .iter()
            .map(container)
            .collect(),
    })
}

/// One container definition as [`needs`] reads it.
fn container(definition: &aws_sdk_ecs::types::ContainerDefinition) -> Container {
    let logs = definition.log_configuration();
    let secret_pairs = |secrets: &[aws_sdk_ecs::types::Secret]| {
        secrets
            .iter()
            .map(|s| (s.name().to_owned(), s.value_from().to_owned()))
            .collect::<Vec<_>>()
    };
    let mut secrets = secret_pairs(definition.secrets());
    if let Some(logs) = logs {
        secrets.extend(secret_pairs(logs.secret_options()));
    }
    let awslogs = logs
        .filter(|l| l.log_driver().as_str() == "awslogs")
        .and_then(|l| l.options())
        .and_then(|options| {
            Some(AwsLogs {
                group: options.get("awslogs-group")?.clone(),
                region: options.get("awslogs-region").cloned(),
                create_group: options
                    .get("awslogs-create-group")
                    .is_some_and(|v| v.eq_ignore_ascii_case("true")),
            })
        });
    Container {
        name: definition.name().unwrap_or_default().to_owned(),
        image: definition.image().unwrap_or_default().to_owned(),
        secrets,
        registry_credentials: definition
            .repository_credentials()
            .map(|c| c.credentials_parameter().to_owned()),
        awslogs,
        environment_files: definition
            .environment_files()
            .iter()
            .map(|f| f.value().to_owned())
            .collect(),
    }
}

/// The service's task definition and the newest of its events that says ECS could not
/// assume a role (ECS lists a service's events newest first).
async fn describe_service(
    ecs: &aws_sdk_ecs::Client,
    cluster: &str,
    service: &str,
) -> Result<(String, Option<String>), Finding> {
    let failed = |why: String| Finding::new(service, Check::TaskStart, Status::Failed, why);
    let out = ecs
        .describe_services()
        .cluster(cluster)
        .services(service)
        .send()
        .await
        .map_err(|e| failed(CallError::from_sdk(&e).explain("ecs:DescribeServices", service)))?;
    let Some(found) = out.services().first() else {
        let why = out
            .failures()
            .first()
            .and_then(|f| f.reason())
            .unwrap_or("not found");
        return Err(failed(format!("ECS does not describe the service: {why}")));
    };
    let Some(task_definition) = found.task_definition() else {
        return Err(failed("the service names no task definition".into()));
    };
    let message = found
        .events()
        .iter()
        .filter_map(|e| e.message())
        .find(|m| m.contains(COULD_NOT_ASSUME))
        .map(str::to_owned);
    Ok((task_definition.to_owned(), message))
}

/// The key a Secrets Manager secret is encrypted with, `None` for the AWS managed
/// `aws/secretsmanager` (DescribeSecret omits `KmsKeyId` then).
async fn secret_key(
    secrets: &aws_sdk_secretsmanager::Client,
    arn: &str,
) -> Result<Option<String>, String> {
    let out = secrets
        .describe_secret()
        .secret_id(arn)
        .send()
        .await
        .map_err(|e| CallError::from_sdk(&e).explain("secretsmanager:DescribeSecret", arn))?;
    Ok(out.kms_key_id().map(str::to_owned))
}

/// The key a SecureString parameter is encrypted with (`None` for another type).
async fn parameter_key(ssm: &aws_sdk_ssm::Client, arn: &str) -> Result<Option<String>, String> {
    // `arn:...:parameter/NAME`; a hierarchical name keeps its leading `/`.
    let rest = arn.split_once(":parameter/").map_or(arn, |(_, r)| r);
    let name = if rest.contains('/') {
        format!("/{rest}")
    } else {
        rest.to_owned()
    };
    let filter = ParameterStringFilter::builder()
        .key("Name")
        .option("Equals")
        .values(&name)
        .build()
        .map_err(|e| e.to_string())?;
    let out = ssm
        .describe_parameters()
        .parameter_filters(filter)
        .send()
        .await
        .map_err(|e| CallError::from_sdk(&e).explain("ssm:DescribeParameters", &name))?;
    let Some(parameter) = out.parameters().first() else {
        return Err(format!("no parameter {name} in this account and region"));
    };
    if parameter.r#type() != Some(&ParameterType::SecureString) {
        return Ok(None);
    }
    Ok(parameter.key_id().map(str::to_owned))
}

/// The ARN of `key` (an id, ARN, alias name or alias ARN) when it is a customer-managed
/// key; `None` for an AWS managed one, which its service uses on the role's behalf.
async fn customer_key(kms: &aws_sdk_kms::Client, key: &str) -> Result<Option<String>, String> {
    if key.starts_with("alias/aws/") || key.contains(":alias/aws/") {
        return Ok(None);
    }
    let out = kms
        .describe_key()
        .key_id(key)
        .send()
        .await
        .map_err(|e| CallError::from_sdk(&e).explain("kms:DescribeKey", key))?;
    let Some(metadata) = out.key_metadata() else {
        return Err("KMS answered DescribeKey with no key".into());
    };
    if metadata.key_manager() == Some(&KeyManagerType::Aws) {
        return Ok(None);
    }
    Ok(Some(
        metadata.arn().map_or_else(|| key.to_owned(), str::to_owned),
    ))
}

/// The needs IAM's simulation of `role` does not allow. Resources that need the same
/// actions are simulated together, in batches, every action over every resource of its
/// batch; IAM answers either one result per action and resource or one per action with a
/// result per resource, and both are read.
async fn simulate(
    iam: &aws_sdk_iam::Client,
    role: &str,
    needed: &[Need],
) -> Result<Vec<Need>, CallError> {
    let by_actions = by_action_set(needed, |need| simulated(&need.resource));
    let mut allowed: BTreeSet<(String, String)> = BTreeSet::new();
    for (actions, resources) in by_actions {
        for batch in resources.chunks(RESOURCES_PER_SIMULATION) {
            let mut request = iam
                .simulate_principal_policy()
                .policy_source_arn(role)
                .set_action_names(Some(actions.iter().map(|a| a.to_string()).collect()));
            for resource in batch.iter().filter(|r| **r != "*") {
                request = request.resource_arns(*resource);
            }
            let mut pages = request.into_paginator().items().send();
            while let Some(result) = pages.next().await {
                let result = result.map_err(|e| CallError::from_sdk(&e))?;
                let action = result.eval_action_name().to_owned();
                let specific = result.resource_specific_results();
                if specific.is_empty() {
                    if *result.eval_decision() == PolicyEvaluationDecisionType::Allowed {
                        let resource = result.eval_resource_name().unwrap_or("*").to_owned();
                        allowed.insert((action, resource));
                    }
                } else {
                    for each in specific {
                        if *each.eval_resource_decision() == PolicyEvaluationDecisionType::Allowed {
                            allowed.insert((action.clone(), each.eval_resource_name().to_owned()));
                        }
                    }
                }
            }
        }
    }
    Ok(needed
        .iter()
        .filter(|n| !allowed.contains(&(n.action.clone(), simulated(&n.resource).to_owned())))
        .cloned()
        .collect())
}

/// The resource a need is simulated on: a pattern's trailing `*` dropped (the log stream a
/// task creates has a name of its own, which any pattern granting the group's streams
/// matches), `*` itself kept.
fn simulated(resource: &str) -> &str {
    if resource == "*" {
        resource
    } else {
        resource.trim_end_matches('*')
    }
}
