//! access-doctor against moto, whose SimulatePrincipalPolicy the harness's launcher
//! supplies from moto's own policy evaluation: the principal's real policies decide what is
//! missing, and the minimal policy must pass the parliament linter.

use std::process::Command;

use ecs_warden::handlers::access_doctor::{Diagnosis, EvalDecision};

use serde_json::{json, Value};
use warden_tests::{venv_bin, writes, Account};

async fn diagnose(account: &Account, payload: Value) -> Diagnosis {
    let (doctor, _) = account.access_doctor();
    let diagnosis = doctor.handle_payload(payload).await.expect("accepted");
    assert!(
        writes(&diagnosis.report.aws_calls)
            .iter()
            .all(|c| c.as_str() == "iam:SimulatePrincipalPolicy"),
        "it only reads: {:?}",
        diagnosis.report.aws_calls
    );
    diagnosis
}

fn missing(diagnosis: &Diagnosis) -> Vec<&str> {
    diagnosis
        .missing
        .iter()
        .map(|m| m.action.as_str())
        .collect()
}

/// The policy is IAM JSON parliament finds nothing wrong with at MEDIUM or above (the
/// seeds themselves give `*` for most of these actions, which parliament notes as LOW).
fn assert_lints_clean(policy: &Value) {
    let out = Command::new(venv_bin("parliament"))
        .args(["--minimum_severity", "MEDIUM", "--json", "--string"])
        .arg(policy.to_string())
        .output()
        .expect("run parliament");
    // No finding is accepted: the condition seed 004 puts on the edit and delete actions
    // is not in ecs-warden's policies (IAM supplies the key for CreateServiceLinkedRole
    // only), so parliament has nothing to say about it.
    let said = String::from_utf8_lossy(&out.stdout);
    let unexplained: Vec<&str> = said.lines().filter(|l| !l.trim().is_empty()).collect();
    assert!(
        unexplained.is_empty(),
        "parliament: {said}{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test]
async fn an_assumed_role_denied_put_scaling_policy_lacks_the_alarm_permissions() {
    let account = Account::new().await;
    account.deployer(&["application-autoscaling:*"]).await;
    let d = diagnose(
        &account,
        account.event("access-denied-put-scaling-policy.json"),
    )
    .await;
    assert_eq!(
        d.principal.as_deref(),
        Some(format!("arn:aws:iam::{}:role/PlatformDeployer", account.id).as_str()),
        "the session issuer from the event"
    );
    assert_eq!(d.intents, ["ecs-service-auto-scaling"]);
    assert_eq!(
        missing(&d),
        ["cloudwatch:DescribeAlarms", "cloudwatch:PutMetricAlarm"]
    );
    assert!(d.missing.iter().all(|m| m.seed == "000"));
    let policy = d.minimal_policy.expect("a policy");
    assert_eq!(
        policy["Statement"][0]["Action"],
        json!(["cloudwatch:DescribeAlarms", "cloudwatch:PutMetricAlarm"])
    );
    assert_lints_clean(&policy);
}

#[tokio::test]
async fn all_none_and_some_permissions() {
    let all = Account::new().await;
    all.deployer(&[
        "application-autoscaling:*",
        "cloudwatch:DescribeAlarms",
        "cloudwatch:PutMetricAlarm",
    ])
    .await;
    let d = diagnose(&all, all.event("access-denied-put-scaling-policy.json")).await;
    assert!(d.missing.is_empty(), "{:?}", d.missing);
    assert_eq!(d.minimal_policy, None);

    // A Deny cannot be fixed by an Allow: reported, left out of the policy.
    let denied = Account::new().await;
    denied
        .deployer(&["application-autoscaling:*", "cloudwatch:*"])
        .await;
    denied
        .iam
        .put_role_policy()
        .role_name("PlatformDeployer")
        .policy_name("no-alarms")
        .policy_document(
            json!({"Version": "2012-10-17", "Statement": [{"Effect": "Deny",
                "Action": "cloudwatch:PutMetricAlarm", "Resource": "*"}]})
            .to_string(),
        )
        .send()
        .await
        .unwrap();
    let d = diagnose(
        &denied,
        denied.event("access-denied-put-scaling-policy.json"),
    )
    .await;
    assert_eq!(missing(&d), ["cloudwatch:PutMetricAlarm"]);
    assert_eq!(d.missing[0].decision, EvalDecision::ExplicitDeny);
    assert_eq!(d.minimal_policy, None);

    let none = Account::new().await;
    none.deployer(&[]).await;
    let d = diagnose(&none, none.event("access-denied-put-scaling-policy.json")).await;
    assert_eq!(d.missing.len(), 8);
    assert_lints_clean(&d.minimal_policy.unwrap());
}

#[tokio::test]
async fn a_launch_template_brings_its_conditional_needs_and_their_absence_drops_them() {
    let account = Account::new().await;
    account.deployer(&["autoscaling:*"]).await;
    let with_template = diagnose(
        &account,
        account.event("access-denied-create-auto-scaling-group.json"),
    )
    .await;
    assert_eq!(
        missing(&with_template),
        [
            "iam:CreateServiceLinkedRole",
            "iam:PassRole",
            "ec2:RunInstances",
            "ec2:CreateTags"
        ]
    );
    assert!(with_template.missing.iter().all(|m| m.seed == "002"));
    assert_lints_clean(with_template.minimal_policy.as_ref().unwrap());

    let mut plain = account.event("access-denied-create-auto-scaling-group.json");
    let params = plain["detail"]["requestParameters"]
        .as_object_mut()
        .unwrap();
    params.remove("launchTemplate");
    params.insert("launchConfigurationName".into(), "legacy-lc".into());
    let without = diagnose(&account, plain).await;
    assert_eq!(missing(&without), ["iam:CreateServiceLinkedRole"]);
    let skipped = without
        .report
        .findings
        .iter()
        .filter(|f| f.status == ecs_warden::invocation::report::Status::Skipped)
        .count();
    assert_eq!(skipped, 3, "PassRole, RunInstances, CreateTags not needed");
}

#[tokio::test]
async fn a_user_denied_the_ecs_service_linked_role_gets_the_seed_004_statement() {
    let account = Account::new().await;
    account.create_user("bob").await;
    let d = diagnose(
        &account,
        account.event("access-denied-create-service-linked-role.json"),
    )
    .await;
    assert_eq!(
        d.principal.as_deref(),
        Some(format!("arn:aws:iam::{}:user/bob", account.id).as_str())
    );
    assert_eq!(missing(&d), ["iam:CreateServiceLinkedRole"]);
    let policy = d.minimal_policy.unwrap();
    let statement = &policy["Statement"][0];
    assert_eq!(
        statement["Resource"],
        format!(
            "arn:aws:iam::{}:role/aws-service-role/ecs.amazonaws.com/AWSServiceRoleForECS*",
            account.id
        )
    );
    assert_eq!(
        statement["Condition"],
        json!({"StringLike": {"iam:AWSServiceName": "ecs.amazonaws.com"}})
    );
    assert_lints_clean(&policy);
}

#[tokio::test]
async fn by_hand_a_session_resolves_to_its_role_with_its_path() {
    let account = Account::new().await;
    account
        .deployer(&["iam:GetServiceLinkedRoleDeletionStatus"])
        .await;
    let d = diagnose(&account, account.event("access-doctor-manual.json")).await;
    assert_eq!(
        d.principal.as_deref(),
        Some(format!("arn:aws:iam::{}:role/platform/PlatformDeployer", account.id).as_str())
    );
    assert_eq!(missing(&d), ["iam:DeleteServiceLinkedRole"]);
    assert_eq!(d.report.aws_calls[0], "iam:GetRole");
}

#[tokio::test]
async fn bad_questions_are_refused_before_any_call() {
    let account = Account::new().await;
    let (doctor, calls) = account.access_doctor();
    for (bad, kind, names) in [
        (
            json!({"principal_arn": "bob", "intent": "ecs-service-auto-scaling"}),
            "BadField",
            "bad principal_arn: \"bob\" is not an ARN",
        ),
        (
            json!({"principal_arn": format!("arn:aws:iam::{}:user/bob", account.id), "intent": "fly"}),
            "BadField",
            "bad intent: \"fly\" is not one of ecs-service-auto-scaling,",
        ),
        (
            json!({"principal": "x"}),
            "NotAnEvent",
            "unknown field `principal`",
        ),
    ] {
        let err = doctor.handle_payload(bad.clone()).await.unwrap_err();
        assert_eq!(err.kind(), kind, "{bad}: {err}");
        assert!(err.to_string().contains(names), "{bad}: {err}");
    }
    assert!(calls.take().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn the_seed_statement_for_deleting_the_ecs_role_grants_nothing_and_says_why() {
    let account = Account::new().await;
    account.create_user("carol").await;
    // Seed 004's example, verbatim in shape: conditioned on iam:AWSServiceName, a key IAM
    // supplies for CreateServiceLinkedRole only.
    let seed_statement = json!({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow",
        "Action": ["iam:DeleteServiceLinkedRole", "iam:GetServiceLinkedRoleDeletionStatus"],
        "Resource": "arn:aws:iam::*:role/aws-service-role/ecs.amazonaws.com/AWSServiceRoleForECS*",
        "Condition": {"StringLike": {"iam:AWSServiceName": "ecs.amazonaws.com"}}}]});
    account
        .iam
        .put_user_policy()
        .user_name("carol")
        .policy_name("seed-004-delete")
        .policy_document(seed_statement.to_string())
        .send()
        .await
        .unwrap();
    let carol = format!("arn:aws:iam::{}:user/carol", account.id);
    let question = json!({"principal_arn": carol, "intent": "delete-ecs-service-linked-role"});
    let diagnosis = diagnose(&account, question.clone()).await;
    assert_eq!(
        missing(&diagnosis),
        [
            "iam:DeleteServiceLinkedRole",
            "iam:GetServiceLinkedRoleDeletionStatus"
        ]
    );
    for finding in &diagnosis.report.findings {
        assert!(
            finding.detail.contains("iam:AWSServiceName")
                && finding.detail.contains("iam:CreateServiceLinkedRole alone"),
            "{}",
            finding.detail
        );
    }
    let policy = diagnosis.minimal_policy.expect("a policy");
    let statement = &policy["Statement"][0];
    assert!(statement.get("Condition").is_none(), "{policy}");
    assert_lints_clean(&policy);

    // The same actions on the role's ARN without the condition, as the template grants
    // them: nothing is missing.
    let template_statement = json!({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow",
        "Action": ["iam:DeleteServiceLinkedRole", "iam:GetServiceLinkedRoleDeletionStatus"],
        "Resource": "arn:aws:iam::*:role/aws-service-role/ecs.amazonaws.com/AWSServiceRoleForECS*"}]});
    account
        .iam
        .put_user_policy()
        .user_name("carol")
        .policy_name("path-scoped-delete")
        .policy_document(template_statement.to_string())
        .send()
        .await
        .unwrap();
    let diagnosis = diagnose(&account, question).await;
    assert!(diagnosis.missing.is_empty(), "{:?}", diagnosis.missing);
    assert!(diagnosis.minimal_policy.is_none());
}

/// Grants the sample's deployer `action` on `*` under `condition`, beside what it has.
async fn grant_under(account: &Account, action: &str, condition: Value) {
    let policy = json!({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": action, "Resource": "*", "Condition": condition}]});
    account
        .iam
        .put_role_policy()
        .role_name("PlatformDeployer")
        .policy_name("conditioned")
        .policy_document(policy.to_string())
        .send()
        .await
        .expect("grant under a condition");
}

#[tokio::test]
async fn a_refused_pass_role_of_an_execution_role_is_the_role_passed_to_ecs_tasks() {
    let account = Account::new().await;
    account.deployer(&["ecs:*"]).await;
    let sample = "access-denied-register-task-definition-pass-role.json";
    let d = diagnose(&account, account.event(sample)).await;
    assert_eq!(
        d.intents,
        ["pass-task-roles"],
        "the refusal's own intent only"
    );
    let role = format!("arn:aws:iam::{}:role/ecsTaskExecutionRole", account.id);
    assert_eq!(missing(&d), ["iam:PassRole"]);
    assert_eq!(d.missing[0].resource, role);
    assert_eq!(d.missing[0].seed, "ecs-developer-guide");
    let policy = d.minimal_policy.expect("a policy");
    assert_eq!(
        policy["Statement"][0]["Condition"],
        json!({"StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}})
    );
    assert_eq!(policy["Statement"][0]["Resource"], json!(role));
    assert_lints_clean(&policy);

    // Granted as the ECS Developer Guide grants it: to ECS's tasks only. IAM supplies the
    // service the role is passed to, and so does the simulation.
    grant_under(
        &account,
        "iam:PassRole",
        json!({"StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}}),
    )
    .await;
    let d = diagnose(&account, account.event(sample)).await;
    assert!(d.missing.is_empty(), "{:?}", d.missing);
}

#[tokio::test]
async fn a_refused_tag_on_create_is_tag_resource_on_the_new_service() {
    let account = Account::new().await;
    account
        .deployer(&[
            "ecs:CreateService",
            "application-autoscaling:*",
            "cloudwatch:*",
        ])
        .await;
    let sample = "access-denied-create-service-tag-resource.json";
    let d = diagnose(&account, account.event(sample)).await;
    assert!(
        d.intents.contains(&"tag-ecs-resources-on-create")
            && !d.intents.contains(&"pass-service-roles"),
        "{:?}",
        d.intents
    );
    let tag = d
        .missing
        .iter()
        .find(|m| m.action == "ecs:TagResource")
        .expect("ecs:TagResource is missing");
    assert_eq!(
        tag.resource,
        format!("arn:aws:ecs:eu-west-1:{}:service/payments/api", account.id)
    );

    // Granted for CreateService's tags only: ECS supplies ecs:CreateAction, and so does
    // the simulation, so the grant is seen.
    grant_under(
        &account,
        "ecs:TagResource",
        json!({"StringEquals": {"ecs:CreateAction": "CreateService"}}),
    )
    .await;
    let d = diagnose(&account, account.event(sample)).await;
    assert!(
        !d.missing.iter().any(|m| m.action == "ecs:TagResource"),
        "{:?}",
        d.missing
    );
}
