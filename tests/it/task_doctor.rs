//! task-doctor against moto: each test arranges a task definition, its execution role and
//! what it reads (a secret, a parameter, a KMS key) in an account of its own, feeds the
//! sample ECS event for it, and asserts on the diagnosis and on the IAM state moto holds
//! afterwards. moto serves no ECS events itself; the samples are in ECS's documented shape.

use std::time::Duration;

use aws_sdk_ecs::types::{
    ContainerDefinition, EnvironmentFile, EnvironmentFileType, LogConfiguration, LogDriver, Secret,
};
use ecs_warden::domain::task_failure::Cause;
use ecs_warden::handlers::task_doctor::TaskDiagnosis;
use ecs_warden::invocation::report::Status;
use ecs_warden::invocation::settings::Mode;
use serde_json::{json, Value};
use warden_tests::{statuses, writes, Account, SAMPLE_REGION};

const NO_MEMORY: Duration = Duration::ZERO;
const EXECUTION_POLICY: &str =
    "arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy";
const TASKS_TRUST: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ecs-tasks.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;
const EC2_TRUST: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;

/// What the task definition of a test reads.
#[derive(Default)]
struct Uses {
    secrets: Vec<(&'static str, String)>,
    awslogs: Option<&'static str>,
    environment_file: Option<String>,
}

async fn role(account: &Account, name: &str, trust: &str, policies: &[&str]) -> String {
    let out = account
        .iam
        .create_role()
        .role_name(name)
        .assume_role_policy_document(trust)
        .send()
        .await
        .expect("create the role");
    for policy in policies {
        account
            .iam
            .attach_role_policy()
            .role_name(name)
            .policy_arn(*policy)
            .send()
            .await
            .expect("attach");
    }
    out.role.expect("a role").arn
}

fn ecs(account: &Account) -> aws_sdk_ecs::Client {
    aws_sdk_ecs::Client::new(&account.config)
}

/// Registers family `web` (revision 1 in a fresh account) with one container whose image
/// is in the account's ECR, naming `role` as its execution role.
async fn task_definition(account: &Account, role: Option<&str>, uses: Uses) -> String {
    let image = format!(
        "{}.dkr.ecr.{SAMPLE_REGION}.amazonaws.com/web:1.4.2",
        account.id
    );
    let mut container = ContainerDefinition::builder()
        .name("web")
        .image(image)
        .memory(512);
    for (name, value_from) in uses.secrets {
        container = container.secrets(
            Secret::builder()
                .name(name)
                .value_from(value_from)
                .build()
                .expect("a secret"),
        );
    }
    if let Some(group) = uses.awslogs {
        container = container.log_configuration(
            LogConfiguration::builder()
                .log_driver(LogDriver::Awslogs)
                .options("awslogs-group", group)
                .options("awslogs-region", SAMPLE_REGION)
                .options("awslogs-stream-prefix", "web")
                .build()
                .expect("a log configuration"),
        );
    }
    if let Some(object) = uses.environment_file {
        container = container.environment_files(
            EnvironmentFile::builder()
                .value(object)
                .r#type(EnvironmentFileType::S3)
                .build()
                .expect("an environment file"),
        );
    }
    let out = ecs(account)
        .register_task_definition()
        .family("web")
        .set_execution_role_arn(role.map(str::to_owned))
        .container_definitions(container.build())
        .send()
        .await
        .expect("register the task definition");
    out.task_definition()
        .and_then(|d| d.task_definition_arn())
        .expect("an ARN")
        .to_owned()
}

async fn customer_key(account: &Account) -> String {
    let kms = aws_sdk_kms::Client::new(&account.config);
    let key = kms.create_key().send().await.expect("create a key");
    let arn = key.key_metadata().and_then(|k| k.arn()).expect("an ARN");
    kms.create_alias()
        .alias_name("alias/web-secrets")
        .target_key_id(arn)
        .send()
        .await
        .expect("alias the key");
    arn.to_owned()
}

async fn secret(account: &Account, name: &str, key: Option<&str>) -> String {
    let out = aws_sdk_secretsmanager::Client::new(&account.config)
        .create_secret()
        .name(name)
        .secret_string("s3cr3t")
        .set_kms_key_id(key.map(str::to_owned))
        .send()
        .await
        .expect("create the secret");
    out.arn().expect("an ARN").to_owned()
}

async fn parameter(account: &Account, name: &str, key: &str) {
    aws_sdk_ssm::Client::new(&account.config)
        .put_parameter()
        .name(name)
        .value("s3cr3t")
        .r#type(aws_sdk_ssm::types::ParameterType::SecureString)
        .key_id(key)
        .send()
        .await
        .expect("put the parameter");
}

/// The sample `file`, naming the task definition `definition`.
fn event(account: &Account, file: &str, definition: &str) -> Value {
    let mut event = account.event(file);
    if event["detail"].get("taskDefinitionArn").is_some() {
        event["detail"]["taskDefinitionArn"] = json!(definition);
    }
    event
}

async fn diagnose(account: &Account, mode: Mode, event: Value) -> TaskDiagnosis {
    let (doctor, _) = account.task_doctor(mode, NO_MEMORY);
    doctor.handle_payload(event).await.expect("accepted")
}

/// The answer to the sample `file` naming `definition`, in `mode`.
async fn diagnose_sample(
    account: &Account,
    mode: Mode,
    file: &str,
    definition: &str,
) -> TaskDiagnosis {
    diagnose(account, mode, event(account, file, definition)).await
}

fn pairs(answer: &TaskDiagnosis) -> Vec<(String, String)> {
    answer
        .diagnosis
        .as_ref()
        .expect("a diagnosis")
        .missing
        .iter()
        .map(|n| (n.action.clone(), n.resource.clone()))
        .collect()
}

fn iam_calls(answer: &TaskDiagnosis) -> Vec<&String> {
    answer
        .report
        .aws_calls
        .iter()
        .filter(|c| c.starts_with("iam:"))
        .collect()
}

#[tokio::test]
async fn a_secret_behind_a_customer_key_is_missing_from_the_documented_role() {
    let account = Account::new().await;
    let role = role(
        &account,
        "ecsTaskExecutionRole",
        TASKS_TRUST,
        &[EXECUTION_POLICY],
    )
    .await;
    let key = customer_key(&account).await;
    let secret = secret(&account, "prod/web/db", Some("alias/web-secrets")).await;
    let definition = task_definition(
        &account,
        Some(&role),
        Uses {
            secrets: vec![("DB_PASSWORD", format!("{secret}:password::"))],
            awslogs: Some("/ecs/web"),
            ..Uses::default()
        },
    )
    .await;
    let answer = diagnose_sample(
        &account,
        Mode::Enforce,
        "ecs-task-failed-secret.json",
        &definition,
    )
    .await;
    let d = answer.diagnosis.clone().expect("a diagnosis");
    assert_eq!(d.cause, Cause::Permissions, "{d:#?}");
    assert_eq!(d.task_definition, definition);
    assert_eq!(d.execution_role.as_deref(), Some(role.as_str()));
    // The managed policy grants the image and the logs; the secret and its key are the
    // customer's to grant. The key is named by its ARN, though the secret names an alias.
    assert_eq!(
        pairs(&answer),
        [
            ("kms:Decrypt".to_owned(), key.clone()),
            ("secretsmanager:GetSecretValue".to_owned(), secret.clone()),
        ]
    );
    let policy = d.policy.expect("a policy");
    assert_eq!(
        policy["Statement"],
        json!([
            {"Effect": "Allow", "Action": ["kms:Decrypt"], "Resource": [key]},
            {"Effect": "Allow", "Action": ["secretsmanager:GetSecretValue"], "Resource": [secret]},
        ])
    );
    // Grants on a customer's secret are explained, never written, even in enforce.
    assert!(
        writes(&answer.report.aws_calls).is_empty(),
        "{:?}",
        answer.report.aws_calls
    );
    assert!(statuses(&answer.report).contains(&("task_start", Status::Failed)));
    assert_eq!(
        account.attached("ecsTaskExecutionRole").await,
        [EXECUTION_POLICY],
        "the role is as it was"
    );
}

#[tokio::test]
async fn a_parameter_by_name_and_every_other_need_of_a_bare_custom_role() {
    let account = Account::new().await;
    let role = role(&account, "web-exec", TASKS_TRUST, &[]).await;
    let key = customer_key(&account).await;
    parameter(&account, "/prod/web/api-token", &key).await;
    let definition = task_definition(
        &account,
        Some(&role),
        Uses {
            secrets: vec![("API_TOKEN", "/prod/web/api-token".to_owned())],
            awslogs: Some("/ecs/web"),
            environment_file: Some("arn:aws:s3:::web-config/prod.env".into()),
        },
    )
    .await;
    let answer = diagnose_sample(
        &account,
        Mode::Enforce,
        "ecs-task-failed-secret.json",
        &definition,
    )
    .await;
    let d = answer.diagnosis.clone().expect("a diagnosis");
    assert_eq!(d.cause, Cause::Permissions);
    let acct = &account.id;
    let repository = format!("arn:aws:ecr:{SAMPLE_REGION}:{acct}:repository/web");
    let streams = format!("arn:aws:logs:{SAMPLE_REGION}:{acct}:log-group:/ecs/web:log-stream:*");
    let want: Vec<(String, String)> = [
        ("ecr:BatchCheckLayerAvailability", repository.as_str()),
        ("ecr:BatchGetImage", &repository),
        ("ecr:GetAuthorizationToken", "*"),
        ("ecr:GetDownloadUrlForLayer", &repository),
        ("kms:Decrypt", &key),
        ("logs:CreateLogStream", &streams),
        ("logs:PutLogEvents", &streams),
        ("s3:GetBucketLocation", "arn:aws:s3:::web-config"),
        ("s3:GetObject", "arn:aws:s3:::web-config/prod.env"),
        (
            "ssm:GetParameters",
            &format!("arn:aws:ssm:{SAMPLE_REGION}:{acct}:parameter/prod/web/api-token"),
        ),
    ]
    .iter()
    .map(|(a, r)| (a.to_string(), r.to_string()))
    .collect();
    let mut got = pairs(&answer);
    got.sort();
    assert_eq!(got, want);
    assert!(d.policy.is_some());
    // Not the documented name: the role is neither created nor given a managed policy.
    assert!(writes(&answer.report.aws_calls).is_empty());
    assert!(account.attached("web-exec").await.is_empty());
}

#[tokio::test]
async fn a_missing_documented_role_is_created_in_enforce_and_reported_in_audit() {
    let account = Account::new().await;
    let arn = format!("arn:aws:iam::{}:role/ecsTaskExecutionRole", account.id);
    let definition = task_definition(
        &account,
        Some(&arn),
        Uses {
            awslogs: Some("/ecs/web"),
            ..Uses::default()
        },
    )
    .await;
    let sample = event(&account, "ecs-task-failed-secret.json", &definition);

    let audited = diagnose(&account, Mode::Audit, sample.clone()).await;
    assert_eq!(
        audited.diagnosis.as_ref().unwrap().cause,
        Cause::MissingRole
    );
    assert!(writes(&audited.report.aws_calls).is_empty());
    assert!(statuses(&audited.report).contains(&("exists", Status::WouldCreate)));
    assert!(
        account.role("ecsTaskExecutionRole").await.is_none(),
        "audit wrote nothing"
    );

    let enforced = diagnose(&account, Mode::Enforce, sample).await;
    assert_eq!(
        enforced.diagnosis.as_ref().unwrap().cause,
        Cause::MissingRole
    );
    assert!(statuses(&enforced.report).contains(&("exists", Status::Created)));
    assert!(statuses(&enforced.report).contains(&("task_start", Status::Repaired)));
    assert!(
        enforced.diagnosis.as_ref().unwrap().missing.is_empty(),
        "the created role's managed policy grants the logs, simulated again after the write"
    );
    assert!(account.role("ecsTaskExecutionRole").await.is_some());
    assert!(account
        .trust("ecsTaskExecutionRole")
        .await
        .grants("ecs-tasks.amazonaws.com"));
    assert_eq!(
        account.attached("ecsTaskExecutionRole").await,
        [EXECUTION_POLICY]
    );
}

#[tokio::test]
async fn a_missing_custom_role_is_explained_and_not_created() {
    let account = Account::new().await;
    let arn = format!("arn:aws:iam::{}:role/web-exec", account.id);
    let definition = task_definition(&account, Some(&arn), Uses::default()).await;
    let answer = diagnose_sample(
        &account,
        Mode::Enforce,
        "ecs-task-failed-secret.json",
        &definition,
    )
    .await;
    let d = answer.diagnosis.clone().expect("a diagnosis");
    assert_eq!(d.cause, Cause::MissingRole);
    assert!(writes(&answer.report.aws_calls).is_empty());
    assert!(account.role("web-exec").await.is_none());
    let exists = answer
        .report
        .findings
        .iter()
        .find(|f| f.check == ecs_warden::domain::checks::Check::Exists)
        .expect("the role's finding");
    assert!(
        exists.detail.contains("web-exec"),
        "it says which role: {}",
        exists.detail
    );
}

#[tokio::test]
async fn an_untrusting_documented_role_gets_its_trust_back() {
    let account = Account::new().await;
    let role = role(
        &account,
        "ecsTaskExecutionRole",
        EC2_TRUST,
        &[EXECUTION_POLICY],
    )
    .await;
    let definition = task_definition(&account, Some(&role), Uses::default()).await;
    let answer = diagnose_sample(
        &account,
        Mode::Enforce,
        "ecs-task-failed-secret.json",
        &definition,
    )
    .await;
    assert_eq!(answer.diagnosis.as_ref().unwrap().cause, Cause::Trust);
    let trust = account.trust("ecsTaskExecutionRole").await;
    assert!(trust.grants("ecs-tasks.amazonaws.com"));
    assert!(trust.grants("ec2.amazonaws.com"), "repairs are additive");
}

#[tokio::test]
async fn a_network_failure_names_the_endpoints_with_no_iam_call() {
    let account = Account::new().await;
    let secret = secret(&account, "prod/web/db", None).await;
    let definition = task_definition(
        &account,
        Some(&format!("arn:aws:iam::{}:role/web-exec", account.id)),
        Uses {
            secrets: vec![("DB_PASSWORD", secret)],
            awslogs: Some("/ecs/web"),
            ..Uses::default()
        },
    )
    .await;
    let answer = diagnose_sample(
        &account,
        Mode::Enforce,
        "ecs-task-failed-network.json",
        &definition,
    )
    .await;
    let d = answer.diagnosis.clone().expect("a diagnosis");
    assert_eq!(d.cause, Cause::Network);
    assert!(
        iam_calls(&answer).is_empty(),
        "{:?}",
        answer.report.aws_calls
    );
    assert_eq!(answer.report.aws_calls, ["ecs:DescribeTaskDefinition"]);
    assert!(d.missing.is_empty() && d.policy.is_none());
    for host in ["secretsmanager", "api.ecr", "dkr.ecr", "s3", "logs"] {
        let endpoint = format!("{host}.{SAMPLE_REGION}.amazonaws.com");
        assert!(
            d.endpoints.contains(&endpoint),
            "{endpoint} in {:?}",
            d.endpoints
        );
    }
}

#[tokio::test]
async fn ten_identical_failures_cost_no_more_reads_than_one() {
    let account = Account::new().await;
    let role = role(&account, "web-exec", TASKS_TRUST, &[]).await;
    let secret = secret(&account, "prod/web/db", None).await;
    let definition = task_definition(
        &account,
        Some(&role),
        Uses {
            secrets: vec![("DB_PASSWORD", secret)],
            ..Uses::default()
        },
    )
    .await;
    let (doctor, seen) = account.task_doctor(Mode::Enforce, Duration::from_secs(300));
    let sample = event(&account, "ecs-task-failed-secret.json", &definition);
    let first = doctor
        .handle_payload(sample.clone())
        .await
        .expect("accepted");
    let one = seen.take();
    assert!(!one.is_empty());
    for retry in 0..9 {
        // Each retry is another task of the same service: its own ARN and id.
        let mut again = sample.clone();
        let task = format!(
            "arn:aws:ecs:{SAMPLE_REGION}:{}:task/prod/retry{retry}",
            account.id
        );
        again["detail"]["taskArn"] = json!(task);
        again["id"] = json!(format!("retry-{retry}"));
        let answer = doctor.handle_payload(again).await.expect("accepted");
        let d = answer.diagnosis.expect("a diagnosis");
        assert_eq!(d.task.as_deref(), Some(task.as_str()));
        assert_eq!(d.missing, first.diagnosis.as_ref().unwrap().missing);
    }
    assert!(seen.take().is_empty(), "the nine retries made no AWS call");
}

#[tokio::test]
async fn a_service_that_cannot_start_tasks_is_read_from_its_task_definition() {
    let account = Account::new().await;
    let arn = format!("arn:aws:iam::{}:role/web-exec", account.id);
    let definition = task_definition(&account, Some(&arn), Uses::default()).await;
    let ecs = ecs(&account);
    ecs.create_cluster()
        .cluster_name("prod")
        .send()
        .await
        .unwrap();
    ecs.create_service()
        .cluster("prod")
        .service_name("worker")
        .task_definition(&definition)
        .desired_count(1)
        .send()
        .await
        .expect("create the service");
    let (doctor, _) = account.task_doctor(Mode::Audit, Duration::from_secs(300));
    let sample = account.event("ecs-service-task-configuration-failure.json");
    let answer = doctor
        .handle_payload(sample.clone())
        .await
        .expect("accepted");
    let d = answer.diagnosis.clone().expect("a diagnosis");
    assert_eq!(d.cause, Cause::MissingRole, "{d:#?}");
    assert_eq!(d.task, None);
    assert_eq!(
        d.service.as_deref(),
        Some(
            format!(
                "arn:aws:ecs:{SAMPLE_REGION}:{}:service/prod/worker",
                account.id
            )
            .as_str()
        )
    );
    assert_eq!(d.task_definition, definition);
    // The service's next event is the same failure of the same revision: its description
    // is read again (a new deployment would name another revision), the rest is not.
    let again = doctor.handle_payload(sample).await.expect("accepted");
    assert_eq!(again.report.aws_calls, ["ecs:DescribeServices"]);
    assert_eq!(
        again.diagnosis.expect("a diagnosis").cause,
        Cause::MissingRole
    );
}

#[tokio::test]
async fn a_task_a_user_stopped_is_none_of_its_business() {
    let account = Account::new().await;
    let answer = diagnose(
        &account,
        Mode::Enforce,
        account.event("ignored-ecs-task-stopped-by-user.json"),
    )
    .await;
    assert!(answer.diagnosis.is_none());
    assert!(answer.report.aws_calls.is_empty());
    assert_eq!(statuses(&answer.report), [("scope", Status::Skipped)]);
}

#[tokio::test]
async fn the_task_start_control_fails_in_audit_and_passes_once_the_role_is_created() {
    use aws_sdk_securityhub::types::{ComplianceStatus, SeverityLabel};

    let account = Account::new().await;
    account.enable_security_hub(SAMPLE_REGION).await;
    account.import_to_security_hub();
    let arn = format!("arn:aws:iam::{}:role/ecsTaskExecutionRole", account.id);
    let definition = task_definition(
        &account,
        Some(&arn),
        Uses {
            awslogs: Some("/ecs/web"),
            ..Uses::default()
        },
    )
    .await;
    let sample = event(&account, "ecs-task-failed-secret.json", &definition);
    let task_start = |held: &[aws_sdk_securityhub::types::AwsSecurityFinding]| {
        held.iter()
            .find(|f| {
                f.resources()
                    .iter()
                    .any(|r| r.r#type() == Some("AwsEcsTaskDefinition"))
            })
            .cloned()
            .expect("the task definition's finding")
    };

    diagnose(&account, Mode::Audit, sample.clone()).await;
    let held = account.security_hub_findings(SAMPLE_REGION).await;
    let finding = task_start(&held);
    assert_eq!(
        finding.compliance().and_then(|c| c.status()),
        Some(&ComplianceStatus::Failed)
    );
    assert_eq!(
        finding.severity().and_then(|s| s.label()),
        Some(&SeverityLabel::High),
        "its tasks do not start at all"
    );
    assert_eq!(finding.resources()[0].id(), Some(definition.as_str()));

    let enforced = diagnose(&account, Mode::Enforce, sample).await;
    assert!(statuses(&enforced.report).contains(&("task_start", Status::Repaired)));
    assert!(
        enforced.diagnosis.as_ref().unwrap().missing.is_empty(),
        "the created role's managed policy grants the logs, simulated again after the write"
    );
    let held = account.security_hub_findings(SAMPLE_REGION).await;
    let again = task_start(&held);
    assert_eq!(again.id(), finding.id(), "the same finding");
    assert_eq!(
        again.compliance().and_then(|c| c.status()),
        Some(&ComplianceStatus::Passed)
    );
}

#[tokio::test]
async fn a_hub_diagnoses_a_members_task_through_its_member_role() {
    use ecs_warden::handlers::task_doctor::TaskDoctor;

    let hub = Account::new().await;
    let member = Account::new().await;
    member.member_role_for(&hub).await;
    let role = role(&member, "web-exec", TASKS_TRUST, &[]).await;
    let definition = task_definition(&member, Some(&role), Uses::default()).await;
    let (doctor, _) = hub.hub_handler::<TaskDoctor>(Mode::Enforce, &[&member]);
    let answer = doctor
        .handle_payload(event(&member, "ecs-task-failed-secret.json", &definition))
        .await
        .expect("accepted");
    assert_eq!(answer.report.account.as_deref(), Some(member.id.as_str()));
    assert_eq!(answer.report.aws_calls[0], "sts:AssumeRole");
    let d = answer.diagnosis.expect("a diagnosis");
    assert_eq!(d.cause, Cause::Permissions);
    assert_eq!(d.execution_role.as_deref(), Some(role.as_str()));
    assert!(d.missing.iter().any(|n| n.action == "ecr:BatchGetImage"));
}
