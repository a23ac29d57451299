//! Role checks against answers moto cannot give: real IAM's "has been taken" race answer,
//! throttling, and access denied. Errors are served as IAM's XML error bodies so the SDK's
//! own deserializer and retry classifier run on them.

use std::time::Duration;

use aws_sdk_iam::operation::create_role::CreateRoleOutput;
use aws_sdk_iam::operation::get_role::GetRoleOutput;
use aws_sdk_iam::primitives::DateTime;
use aws_sdk_iam::types::Role;
use aws_sdk_iam::Client;
use ecs_warden::aws::mocks::{mock, MockRules, Rule, RuleMode};
use ecs_warden::domain::catalog::{ECS_SERVICE_LINKED_ROLE, ECS_SERVICE_ROLE};
use ecs_warden::domain::roles::{ensure, RoleTarget};
use ecs_warden::invocation::gate::Scope;
use ecs_warden::invocation::report::Status;
use ecs_warden::invocation::settings::Mode;
use ecs_warden::invocation::verdict_cache::Verdicts;

const ACCOUNT: &str = "111122223333";

fn scope() -> Scope {
    Scope {
        mode: Mode::Enforce,
        account: ACCOUNT.into(),
        partition: "aws",
        event_id: "test-event".into(),
        cause: "aws.ecs:CreateService".into(),
    }
}

fn iam_error(code: &str, message: &str) -> Option<String> {
    Some(format!(
        "<ErrorResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\"><Error><Type>Sender</Type>\
         <Code>{code}</Code><Message>{message}</Message></Error><RequestId>r-1</RequestId></ErrorResponse>"
    ))
}

fn client(rules: &[&Rule]) -> Client {
    MockRules {
        iam: rules,
        mode: RuleMode::Sequential,
        attempts: Some(4),
        ..MockRules::default()
    }
    .iam()
}

fn service_linked_role() -> Role {
    let spec = &ECS_SERVICE_LINKED_ROLE;
    Role::builder()
        .role_name(spec.name)
        .path(spec.path)
        .role_id("AROAEXAMPLE")
        .arn(spec.arn("aws", ACCOUNT))
        .create_date(DateTime::from_secs(0))
        // URL-encoded, as IAM returns it.
        .assume_role_policy_document(
            "%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%5B%7B%22Effect%22%3A%22Allow%22%2C%22Principal%22%3A%7B%22Service%22%3A%22ecs.amazonaws.com%22%7D%2C%22Action%22%3A%22sts%3AAssumeRole%22%7D%5D%7D",
        )
        .build()
        .unwrap()
}

fn not_found() -> Rule {
    mock!(Client::get_role)
        .sequence()
        .http_status(404, iam_error("NoSuchEntity", "The role cannot be found."))
        .build()
}

#[tokio::test]
async fn has_been_taken_is_a_lost_race_not_a_failure() {
    let taken = mock!(Client::create_service_linked_role)
        .sequence()
        .http_status(
            400,
            iam_error(
                "InvalidInput",
                "Service role name AWSServiceRoleForECS has been taken in this account, please try a different suffix.",
            ),
        )
        .build();
    let get = not_found();
    let iam = client(&[&get, &taken]);
    let target = RoleTarget::catalog(&ECS_SERVICE_LINKED_ROLE);
    let findings = ensure(&iam, &Verdicts::new(Duration::ZERO), &scope(), &target).await;
    assert_eq!(findings.len(), 1, "{findings:#?}");
    assert_eq!(findings[0].status, Status::Compliant, "{findings:#?}");
    assert!(
        findings[0].detail.contains("another caller"),
        "{}",
        findings[0].detail
    );
    assert_eq!(taken.num_calls(), 1, "a lost race is not retried");
}

#[tokio::test]
async fn throttling_is_retried_until_the_answer_comes() {
    let throttled = mock!(Client::get_role)
        .sequence()
        .http_status(400, iam_error("Throttling", "Rate exceeded"))
        .times(2)
        .output(|| GetRoleOutput::builder().role(service_linked_role()).build())
        .build();
    let iam = client(&[&throttled]);
    let target = RoleTarget::catalog(&ECS_SERVICE_LINKED_ROLE);
    let findings = ensure(&iam, &Verdicts::new(Duration::ZERO), &scope(), &target).await;
    assert!(
        findings.iter().all(|f| f.status == Status::Compliant),
        "{findings:#?}"
    );
    assert_eq!(throttled.num_calls(), 3);
}

#[tokio::test]
async fn throttling_past_every_attempt_is_a_failed_finding_that_says_so() {
    let throttled = mock!(Client::get_role)
        .sequence()
        .http_status(400, iam_error("Throttling", "Rate exceeded"))
        .times(4)
        .build();
    let iam = client(&[&throttled]);
    let target = RoleTarget::catalog(&ECS_SERVICE_LINKED_ROLE);
    let findings = ensure(&iam, &Verdicts::new(Duration::ZERO), &scope(), &target).await;
    assert_eq!(findings[0].status, Status::Failed);
    assert!(
        findings[0].detail.contains("iam:GetRole"),
        "{}",
        findings[0].detail
    );
    assert!(
        findings[0].detail.contains("Throttling"),
        "{}",
        findings[0].detail
    );
}

#[tokio::test]
async fn access_denied_names_the_missing_permission() {
    let denied = mock!(Client::create_role)
        .sequence()
        .http_status(
            403,
            iam_error(
                "AccessDenied",
                "User: arn:aws:sts::111122223333:assumed-role/warden/fn is not authorized to perform: iam:CreateRole",
            ),
        )
        .build();
    let get = not_found();
    let iam = client(&[&get, &denied]);
    let target = RoleTarget::catalog(&ECS_SERVICE_ROLE);
    let findings = ensure(&iam, &Verdicts::new(Duration::ZERO), &scope(), &target).await;
    assert_eq!(findings.len(), 1);
    assert_eq!(findings[0].status, Status::Failed);
    assert!(
        findings[0]
            .detail
            .contains("lacks iam:CreateRole on arn:aws:iam::111122223333:role/ecsServiceRole"),
        "{}",
        findings[0].detail
    );
}

#[tokio::test]
async fn a_role_created_without_its_policy_is_reported_not_hidden() {
    let get = not_found();
    let create = mock!(Client::create_role).then_output(|| {
        CreateRoleOutput::builder()
            .role(
                Role::builder()
                    .role_name("ecsServiceRole")
                    .path("/")
                    .role_id("AROAEXAMPLE")
                    .arn("arn:aws:iam::111122223333:role/ecsServiceRole")
                    .create_date(DateTime::from_secs(0))
                    .build()
                    .unwrap(),
            )
            .build()
    });
    let denied = mock!(Client::attach_role_policy)
        .sequence()
        .http_status(
            403,
            iam_error(
                "AccessDenied",
                "not authorized to perform: iam:AttachRolePolicy",
            ),
        )
        .build();
    let iam = client(&[&get, &create, &denied]);
    let verdicts = Verdicts::new(Duration::from_secs(60));
    let target = RoleTarget::catalog(&ECS_SERVICE_ROLE);
    let findings = ensure(&iam, &verdicts, &scope(), &target).await;
    let statuses: Vec<_> = findings
        .iter()
        .map(|f| (f.check.as_str(), f.status))
        .collect();
    assert_eq!(
        statuses,
        [
            ("exists", Status::Created),
            ("managed_policy", Status::Failed)
        ]
    );
    assert!(
        findings[1].detail.contains("lacks iam:AttachRolePolicy"),
        "{}",
        findings[1].detail
    );
}
