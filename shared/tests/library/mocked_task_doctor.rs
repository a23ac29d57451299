//! task-doctor against answers moto cannot give: IAM's simulation answering one result per
//! action with a result per resource (`ResourceSpecificResults`, IAM API Reference,
//! EvaluationResult), a secret whose metadata the function may not read, and a secret under
//! an AWS managed key named by its ARN.

use aws_config::SdkConfig;
use aws_sdk_ecs::operation::describe_task_definition::DescribeTaskDefinitionOutput;
use aws_sdk_ecs::types::{ContainerDefinition, Secret, TaskDefinition};
use aws_sdk_iam::operation::get_role::GetRoleOutput;
use aws_sdk_iam::operation::simulate_principal_policy::SimulatePrincipalPolicyOutput;
use aws_sdk_iam::types::{
    EvaluationResult, PolicyEvaluationDecisionType, ResourceSpecificResult, Role,
};
use aws_sdk_kms::operation::describe_key::DescribeKeyOutput;
use aws_sdk_kms::types::{KeyManagerType, KeyMetadata};
use aws_sdk_secretsmanager::operation::describe_secret::DescribeSecretOutput;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::http::StatusCode;
use aws_smithy_types::body::SdkBody;
use ecs_warden::aws::mocks::{mock, MockRules};
use ecs_warden::domain::checks::Check;
use ecs_warden::domain::task_failure::Cause;
use ecs_warden::handlers::task_doctor::TaskDoctor;
use ecs_warden::handlers::{Deps, Function};
use ecs_warden::invocation::report::Status;
use serde_json::json;

const ACCOUNT: &str = "111122223333";
const ROLE: &str = "arn:aws:iam::111122223333:role/web-exec";
const READABLE: &str = "arn:aws:secretsmanager:eu-west-1:111122223333:secret:prod/db-AbCdEf";
const HIDDEN: &str = "arn:aws:secretsmanager:eu-west-1:111122223333:secret:prod/api-GhIjKl";
const AWS_KEY: &str = "arn:aws:kms:eu-west-1:111122223333:key/0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0";
const DEFINITION: &str = "arn:aws:ecs:eu-west-1:111122223333:task-definition/web:7";

/// A Fargate task of `web:7` that failed to start, as ECS sends it.
fn event() -> serde_json::Value {
    json!({
        "version": "0", "id": "6a7b8c9d-0e1f-4a2b-8c3d-4e5f6a7b8c9d",
        "detail-type": "ECS Task State Change", "source": "aws.ecs",
        "account": ACCOUNT, "time": "2026-11-20T10:12:52Z", "region": "eu-west-1",
        "resources": ["arn:aws:ecs:eu-west-1:111122223333:task/prod/0f1e2d3c4b5a69788796a5b4c3d2e1f0"],
        "detail": {
            "clusterArn": "arn:aws:ecs:eu-west-1:111122223333:cluster/prod",
            "taskArn": "arn:aws:ecs:eu-west-1:111122223333:task/prod/0f1e2d3c4b5a69788796a5b4c3d2e1f0",
            "taskDefinitionArn": DEFINITION,
            "lastStatus": "STOPPED", "desiredStatus": "STOPPED",
            "stopCode": "TaskFailedToStart",
            "stoppedReason": "ResourceInitializationError: unable to pull secrets or registry auth: execution resource retrieval failed: unable to retrieve secret from asm: service call has been retried 1 time(s): failed to fetch secret arn:aws:secretsmanager:eu-west-1:111122223333:secret:prod/api-Gh...",
            "group": "service:web", "launchType": "FARGATE",
            "containers": [{"name": "web", "lastStatus": "STOPPED"}],
            "overrides": {"containerOverrides": [{"name": "web"}]}
        }
    })
}

#[tokio::test]
async fn per_resource_decisions_an_unreadable_secret_and_an_aws_managed_key() {
    let definition = mock!(aws_sdk_ecs::Client::describe_task_definition).then_output(|| {
        DescribeTaskDefinitionOutput::builder()
            .task_definition(
                TaskDefinition::builder()
                    .task_definition_arn(DEFINITION)
                    .execution_role_arn(ROLE)
                    .container_definitions(
                        ContainerDefinition::builder()
                            .name("web")
                            .image("public.ecr.aws/nginx/nginx:1.27")
                            .secrets(
                                Secret::builder()
                                    .name("DB")
                                    .value_from(READABLE)
                                    .build()
                                    .unwrap(),
                            )
                            .secrets(
                                Secret::builder()
                                    .name("API")
                                    .value_from(HIDDEN)
                                    .build()
                                    .unwrap(),
                            )
                            .build(),
                    )
                    .build(),
            )
            .build()
    });
    let readable = mock!(aws_sdk_secretsmanager::Client::describe_secret)
        .match_requests(|r| r.secret_id() == Some(READABLE))
        .then_output(|| {
            DescribeSecretOutput::builder()
                .arn(READABLE)
                .kms_key_id(AWS_KEY)
                .build()
        });
    // Secrets Manager's JSON error for a caller without secretsmanager:DescribeSecret.
    let hidden = mock!(aws_sdk_secretsmanager::Client::describe_secret)
        .match_requests(|r| r.secret_id() == Some(HIDDEN))
        .then_http_response(|| {
            HttpResponse::new(
                StatusCode::try_from(400).unwrap(),
                SdkBody::from(
                    r#"{"__type":"AccessDeniedException","Message":"User: arn:aws:sts::111122223333:assumed-role/ecs-warden-TaskDoctorRole/task-doctor is not authorized to perform: secretsmanager:DescribeSecret on resource: prod/api because no identity-based policy allows the secretsmanager:DescribeSecret action"}"#,
                ),
            )
        });
    let key = mock!(aws_sdk_kms::Client::describe_key).then_output(|| {
        DescribeKeyOutput::builder()
            .key_metadata(
                KeyMetadata::builder()
                    .key_id("0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0")
                    .arn(AWS_KEY)
                    .key_manager(KeyManagerType::Aws)
                    .build()
                    .unwrap(),
            )
            .build()
    });
    let role = mock!(aws_sdk_iam::Client::get_role).then_output(|| {
        GetRoleOutput::builder()
            .role(
                Role::builder()
                    .path("/")
                    .role_name("web-exec")
                    .role_id("AROAEXAMPLEWEBEXEC01")
                    .arn(ROLE)
                    .create_date(aws_smithy_types::DateTime::from_secs(1_700_000_000))
                    .assume_role_policy_document(
                        "%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%5B%7B%22Effect%22%3A%22Allow%22%2C%22Principal%22%3A%7B%22Service%22%3A%22ecs-tasks.amazonaws.com%22%7D%2C%22Action%22%3A%22sts%3AAssumeRole%22%7D%5D%7D",
                    )
                    .build()
                    .unwrap(),
            )
            .build()
    });
    // One result for the action, its decision the least of the resources', and a result
    // per resource.
    let simulation =
        mock!(aws_sdk_iam::Client::simulate_principal_policy).then_compute_output(|r| {
            assert_eq!(
                r.resource_arns(),
                [HIDDEN, READABLE],
                "both secrets in one call, in order"
            );
            let each = |arn: &str, decision| {
                ResourceSpecificResult::builder()
                    .eval_resource_name(arn)
                    .eval_resource_decision(decision)
                    .build()
                    .unwrap()
            };
            SimulatePrincipalPolicyOutput::builder()
                .evaluation_results(
                    EvaluationResult::builder()
                        .eval_action_name("secretsmanager:GetSecretValue")
                        .eval_resource_name("*")
                        .eval_decision(PolicyEvaluationDecisionType::ImplicitDeny)
                        .resource_specific_results(each(
                            READABLE,
                            PolicyEvaluationDecisionType::Allowed,
                        ))
                        .resource_specific_results(each(
                            HIDDEN,
                            PolicyEvaluationDecisionType::ImplicitDeny,
                        ))
                        .build()
                        .unwrap(),
                )
                .is_truncated(false)
                .build()
        });
    let clients = MockRules {
        iam: &[&role, &simulation],
        ecs: &[&definition],
        secrets: &[&readable, &hidden],
        kms: &[&key],
        ..MockRules::default()
    }
    .task_clients("eu-west-1");
    let deps = Deps::from_lookup("task-doctor", SdkConfig::builder().build(), |name| {
        (name == "WARDEN_REGIONS").then(|| "eu-west-1".into())
    })
    .expect("a valid configuration");
    let doctor = Function::new(TaskDoctor::with_clients(&deps, clients), &deps);
    let answer = doctor.handle_payload(event()).await.expect("accepted");
    let d = answer.diagnosis.expect("a diagnosis");
    assert_eq!(d.cause, Cause::Permissions);
    let missing: Vec<(&str, &str)> = d
        .missing
        .iter()
        .map(|n| (n.action.as_str(), n.resource.as_str()))
        .collect();
    // The readable secret is allowed and its AWS managed key needs no grant; the hidden
    // one is denied, and its key, unknown, is said to be unchecked rather than guessed.
    assert_eq!(missing, [("secretsmanager:GetSecretValue", HIDDEN)]);
    assert_eq!(key.num_calls(), 1);
    let unknown = answer
        .report
        .findings
        .iter()
        .find(|f| f.check == Check::SecretKey)
        .expect("the unknown key's finding");
    assert_eq!(unknown.status, Status::Skipped);
    assert_eq!(unknown.resource, HIDDEN);
    assert!(
        unknown.detail.contains("secretsmanager:DescribeSecret"),
        "{}",
        unknown.detail
    );
    assert_eq!(
        d.policy.expect("a policy")["Statement"],
        json!([{"Effect": "Allow", "Action": ["secretsmanager:GetSecretValue"], "Resource": [HIDDEN]}])
    );
}
