//! ecs-role-guard against moto: each test gets its own account and asserts on the IAM
//! state moto holds afterwards, not only on the report.

use std::time::Duration;

use ecs_warden::domain::catalog::{ECS_SERVICE_LINKED_ROLE, ECS_SERVICE_ROLE};
use ecs_warden::domain::trust_policy::TrustPolicy;

use ecs_warden::invocation::report::{Report, Status};
use ecs_warden::invocation::settings::Mode;
use serde_json::{json, Value};
use warden_tests::{statuses, writes, Account};

const NO_MEMORY: Duration = Duration::ZERO;
/// A CreateService naming `ecsServiceRole` for its classic load balancer.
const LEGACY_ROLE_EVENT: &str = "ecs-create-service-legacy-role.json";
const LB_ROLE: &str = "ecsServiceRole";
const SERVICE_ROLE_POLICY: &str =
    "arn:aws:iam::aws:policy/service-role/AmazonEC2ContainerServiceRole";

async fn run(account: &Account, mode: Mode, file: &str) -> Report {
    let (guard, _) = account.role_guard(mode, NO_MEMORY);
    guard
        .handle_payload(account.event(file))
        .await
        .expect("event accepted")
}

async fn make_role(account: &Account, name: &str, trust: &str, policies: &[&str]) {
    account
        .iam
        .create_role()
        .role_name(name)
        .assume_role_policy_document(trust)
        .send()
        .await
        .unwrap();
    for policy in policies {
        account
            .iam
            .attach_role_policy()
            .role_name(name)
            .policy_arn(*policy)
            .send()
            .await
            .unwrap();
    }
}

#[tokio::test]
async fn fresh_account_gets_the_service_linked_role_with_its_path_and_trust() {
    let account = Account::new().await;
    let report = run(&account, Mode::Enforce, "ecs-create-cluster.json").await;
    assert_eq!(
        statuses(&report),
        [("exists", Status::Created)],
        "{report:#?}"
    );
    assert_eq!(
        report.event_id.as_deref(),
        Some("0f6b7c1e-2d4a-4b5e-9c8f-1a2b3c4d5e01")
    );

    let slr = account
        .role("AWSServiceRoleForECS")
        .await
        .expect("created in moto");
    assert_eq!(slr.path(), "/aws-service-role/ecs.amazonaws.com/");
    assert_eq!(slr.arn(), ECS_SERVICE_LINKED_ROLE.arn("aws", &account.id));
    assert!(account
        .trust("AWSServiceRoleForECS")
        .await
        .grants("ecs.amazonaws.com"));
}

#[tokio::test]
async fn second_delivery_reads_once_and_writes_nothing() {
    let account = Account::new().await;
    let (guard, calls) = account.role_guard(Mode::Enforce, NO_MEMORY);
    let event = account.event("ecs-create-cluster.json");
    let first = guard.handle_payload(event.clone()).await.unwrap();
    assert_eq!(
        first.aws_calls,
        ["iam:GetRole", "iam:CreateServiceLinkedRole"]
    );
    calls.take();

    let second = guard.handle_payload(event).await.unwrap();
    assert_eq!(
        second.aws_calls,
        ["iam:GetRole"],
        "a compliant SLR costs one read"
    );
    assert!(
        second
            .findings
            .iter()
            .all(|f| f.status == Status::Compliant),
        "{second:#?}"
    );
    let roles = account.iam.list_roles().send().await.unwrap();
    assert_eq!(roles.roles().len(), 1);
}

#[tokio::test]
async fn a_warm_container_remembers_a_compliant_verdict() {
    let account = Account::new().await;
    let (guard, _) = account.role_guard(Mode::Enforce, Duration::from_secs(60));
    let event = account.event(LEGACY_ROLE_EVENT);
    guard.handle_payload(event.clone()).await.unwrap();
    for _ in 0..5 {
        let again = guard.handle_payload(event.clone()).await.unwrap();
        assert!(again.aws_calls.is_empty(), "{:?}", again.aws_calls);
        assert_eq!(statuses(&again), [("role", Status::Compliant)]);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn ten_concurrent_deliveries_all_succeed_with_one_role() {
    let account = Account::new().await;
    let event = account.event("ecs-create-service.json");
    let deliveries = (0..10).map(|_| {
        // Ten containers, as Lambda would scale out for a burst.
        let (guard, _) = account.role_guard(Mode::Enforce, NO_MEMORY);
        let event = event.clone();
        async move { guard.handle_payload(event).await }
    });
    let reports = join_all(deliveries).await;
    for report in &reports {
        let report = report.as_ref().expect("accepted");
        assert!(
            report
                .findings
                .iter()
                .all(|f| matches!(f.status, Status::Created | Status::Compliant)),
            "{report:#?}"
        );
    }
    let roles = account
        .iam
        .list_roles()
        .path_prefix("/aws-service-role/ecs.amazonaws.com/")
        .send()
        .await
        .unwrap();
    let names: Vec<&str> = roles.roles().iter().map(|r| r.role_name()).collect();
    assert_eq!(names, ["AWSServiceRoleForECS"]);
}

/// Runs every future on its own task, so they really overlap, and collects the outputs.
async fn join_all<F>(futures: impl Iterator<Item = F>) -> Vec<F::Output>
where
    F: std::future::Future + Send + 'static,
    F::Output: Send + 'static,
{
    let handles: Vec<_> = futures.map(tokio::spawn).collect();
    let mut out = Vec::new();
    for handle in handles {
        out.push(handle.await.expect("task"));
    }
    out
}

#[tokio::test]
async fn missing_ecs_service_role_is_created_with_the_seed_trust_and_policy() {
    let account = Account::new().await;
    let report = run(&account, Mode::Enforce, LEGACY_ROLE_EVENT).await;
    assert_eq!(
        statuses(&report),
        [
            ("exists", Status::Created),
            ("managed_policy", Status::Created)
        ],
        "{report:#?}"
    );
    let created = account.role(LB_ROLE).await.expect("created in moto");
    assert_eq!(created.path(), "/");
    let doc = account.trust(LB_ROLE).await;
    let seed = TrustPolicy::parse(ECS_SERVICE_ROLE.trust_policy).unwrap();
    assert_eq!(
        doc, seed,
        "trust document is the seed's, Version 2008-10-17 included"
    );
    assert_eq!(account.attached(LB_ROLE).await, [SERVICE_ROLE_POLICY]);
}

#[tokio::test]
async fn a_compliant_ecs_service_role_costs_two_reads() {
    let account = Account::new().await;
    make_role(
        &account,
        LB_ROLE,
        ECS_SERVICE_ROLE.trust_policy,
        &[SERVICE_ROLE_POLICY],
    )
    .await;
    let report = run(&account, Mode::Enforce, LEGACY_ROLE_EVENT).await;
    assert_eq!(
        report.aws_calls,
        ["iam:GetRole", "iam:ListAttachedRolePolicies"]
    );
    assert_eq!(
        statuses(&report),
        [
            ("trust", Status::Compliant),
            ("managed_policy", Status::Compliant)
        ]
    );
}

#[tokio::test]
async fn a_role_the_call_names_that_is_not_the_catalogs_is_never_written() {
    // paymentsLbRole: neither ecsServiceRole nor a look-alike in WARDEN_WATCHED_ROLES.
    let account = Account::new().await;
    let report = run(&account, Mode::Enforce, "ecs-create-service-role-arn.json").await;
    assert_eq!(
        statuses(&report),
        [("exists", Status::Skipped)],
        "{report:#?}"
    );
    assert!(
        report.findings[0].detail.contains("WARDEN_WATCHED_ROLES"),
        "{report:#?}"
    );
    assert!(writes(&report.aws_calls).is_empty());
    assert!(account.role("paymentsLbRole").await.is_none());
}

#[tokio::test]
async fn a_look_alike_configured_in_watched_roles_is_written_like_the_catalogs() {
    // WARDEN_WATCHED_ROLES names paymentsLbRole as an ecsServiceRole: created, under the
    // catalog's path whatever path the call chose.
    let account = Account::new().await;
    let (guard, _) = account.role_guard_watching(Mode::Enforce, "paymentsLbRole=ecsServiceRole");
    let report = guard
        .handle_payload(account.event("ecs-create-service-role-arn.json"))
        .await
        .unwrap();
    assert!(
        report.findings.iter().all(|f| f.status == Status::Created),
        "{report:#?}"
    );
    let created = account
        .role("paymentsLbRole")
        .await
        .expect("created in moto");
    assert_eq!(created.path(), "/");
    assert_eq!(
        account.attached("paymentsLbRole").await,
        [SERVICE_ROLE_POLICY]
    );
}

#[tokio::test]
async fn the_catalog_role_is_created_under_the_catalogs_path_with_the_creation_tag() {
    // The call chose a path; the role is created where the catalog puts it, tagged as
    // ecs-warden's own.
    let account = Account::new().await;
    let mut event = account.event("ecs-create-service-role-arn.json");
    event["detail"]["requestParameters"]["role"] = json!(format!(
        "arn:aws:iam::{}:role/ecs/legacy/{LB_ROLE}",
        account.id
    ));
    let (guard, _) = account.role_guard(Mode::Enforce, NO_MEMORY);
    let report = guard.handle_payload(event).await.unwrap();
    assert!(
        report.findings.iter().all(|f| f.status == Status::Created),
        "{report:#?}"
    );
    assert!(
        report.findings[0].detail.contains("/ecs/legacy/"),
        "{report:#?}"
    );
    let created = account.role(LB_ROLE).await.expect("created in moto");
    assert_eq!(created.path(), "/");
    let tags: Vec<(&str, &str)> = created
        .tags()
        .iter()
        .map(|t| (t.key(), t.value()))
        .collect();
    assert_eq!(tags, [("ecs-warden:created-by", "ecs-warden")]);
    assert_eq!(account.attached(LB_ROLE).await, [SERVICE_ROLE_POLICY]);
}

#[tokio::test]
async fn another_accounts_role_is_skipped_and_nothing_is_created() {
    let account = Account::new().await;
    let mut event = account.event("ecs-create-service-role-arn.json");
    event["detail"]["requestParameters"]["role"] =
        json!("arn:aws:iam::999988887777:role/ecs/legacy/paymentsLbRole");
    let (guard, _) = account.role_guard(Mode::Enforce, NO_MEMORY);
    let report = guard.handle_payload(event).await.unwrap();
    assert_eq!(statuses(&report), [("exists", Status::Skipped)]);
    assert!(report.findings[0].detail.contains("999988887777"));
    assert!(report.aws_calls.is_empty());
    assert!(account.role("paymentsLbRole").await.is_none());
}

#[tokio::test]
async fn a_detached_policy_is_reattached_and_nothing_else_changes() {
    let account = Account::new().await;
    make_role(&account, LB_ROLE, ECS_SERVICE_ROLE.trust_policy, &[]).await;
    let trust_before = account.trust(LB_ROLE).await;
    let report = run(&account, Mode::Enforce, LEGACY_ROLE_EVENT).await;
    assert_eq!(
        statuses(&report),
        [
            ("trust", Status::Compliant),
            ("managed_policy", Status::Repaired)
        ]
    );
    assert_eq!(writes(&report.aws_calls), ["iam:AttachRolePolicy"]);
    assert_eq!(account.attached(LB_ROLE).await, [SERVICE_ROLE_POLICY]);
    assert_eq!(account.trust(LB_ROLE).await, trust_before);
}

#[tokio::test]
async fn a_missing_trust_statement_is_added_and_another_services_kept() {
    let account = Account::new().await;
    let other = json!({"Sid": "Batch", "Effect": "Allow",
        "Principal": {"Service": "batch.amazonaws.com"}, "Action": "sts:AssumeRole"});
    let drifted = json!({"Version": "2012-10-17", "Statement": [other.clone()]});
    make_role(
        &account,
        LB_ROLE,
        &drifted.to_string(),
        &[SERVICE_ROLE_POLICY],
    )
    .await;

    let report = run(&account, Mode::Enforce, LEGACY_ROLE_EVENT).await;
    assert_eq!(
        statuses(&report),
        [
            ("trust", Status::Repaired),
            ("managed_policy", Status::Compliant)
        ]
    );
    assert_eq!(writes(&report.aws_calls), ["iam:UpdateAssumeRolePolicy"]);
    let after = account.trust(LB_ROLE).await;
    assert!(after.grants("ecs.amazonaws.com"));
    assert_eq!(after.version(), Some("2012-10-17"));
    let statements: Vec<Value> = after.statements().into_iter().cloned().collect();
    assert_eq!(statements.len(), 2);
    assert_eq!(
        statements[0], other,
        "the customer's statement is kept as it was"
    );
    assert_eq!(account.attached(LB_ROLE).await, [SERVICE_ROLE_POLICY]);
}

#[tokio::test]
async fn a_planted_role_someone_else_can_assume_is_reported_and_never_widened() {
    // A principal that may create roles but not attach policies plants ecsServiceRole
    // trusting itself as well as ECS, then makes a call naming it: attaching the seed's
    // policy would hand it Elastic Load Balancing and EC2 writes.
    let account = Account::new().await;
    account.create_user("mallory").await;
    let mallory = format!("arn:aws:iam::{}:user/mallory", account.id);
    let planted = json!({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "ecs.amazonaws.com"}, "Action": "sts:AssumeRole"},
        {"Effect": "Allow", "Principal": {"AWS": mallory}, "Action": "sts:AssumeRole"}]});
    make_role(&account, LB_ROLE, &planted.to_string(), &[]).await;
    let trust_before = account.trust(LB_ROLE).await;

    for mode in [Mode::Enforce, Mode::Audit] {
        let report = run(&account, mode, LEGACY_ROLE_EVENT).await;
        assert_eq!(
            statuses(&report),
            [
                ("trust", Status::Compliant),
                ("managed_policy", Status::Failed)
            ],
            "{report:#?}"
        );
        let detail = &report.findings[1].detail;
        assert!(detail.contains(&mallory), "{detail}");
        assert!(detail.contains("never widens"), "{detail}");
        assert!(writes(&report.aws_calls).is_empty(), "{report:#?}");
    }
    assert!(
        account.attached(LB_ROLE).await.is_empty(),
        "nothing attached"
    );
    assert_eq!(account.trust(LB_ROLE).await, trust_before);

    // Its trust missing ECS as well: not repaired either.
    let planted = json!({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": mallory}, "Action": "sts:AssumeRole"}]});
    account
        .iam
        .update_assume_role_policy()
        .role_name(LB_ROLE)
        .policy_document(planted.to_string())
        .send()
        .await
        .unwrap();
    let report = run(&account, Mode::Enforce, LEGACY_ROLE_EVENT).await;
    assert_eq!(
        statuses(&report),
        [
            ("trust", Status::Failed),
            ("managed_policy", Status::Failed)
        ],
        "{report:#?}"
    );
    assert!(writes(&report.aws_calls).is_empty(), "{report:#?}");
    assert!(!account.trust(LB_ROLE).await.grants("ecs.amazonaws.com"));
}

#[tokio::test]
async fn a_role_tagged_ignore_is_checked_and_reported_but_never_written_in_enforce() {
    // A Terraform-owned ecsServiceRole without its policy and with another service's trust
    // only: both would be repaired, but its owner opted out.
    let account = Account::new().await;
    let batch_only = json!({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "batch.amazonaws.com"}, "Action": "sts:AssumeRole"}]});
    make_role(&account, LB_ROLE, &batch_only.to_string(), &[]).await;
    account.ignore_role(LB_ROLE).await;
    let trust_before = account.trust(LB_ROLE).await;
    let report = run(&account, Mode::Enforce, LEGACY_ROLE_EVENT).await;
    assert_eq!(
        statuses(&report),
        [
            ("trust", Status::Skipped),
            ("managed_policy", Status::Skipped)
        ],
        "{report:#?}"
    );
    for finding in &report.findings {
        assert!(
            finding.detail.contains("tagged ecs-warden:ignore=true"),
            "{}",
            finding.detail
        );
    }
    assert!(writes(&report.aws_calls).is_empty(), "{report:#?}");
    // The same reads as any check of an existing role: the tag costs no call.
    assert_eq!(
        report.aws_calls,
        ["iam:GetRole", "iam:ListAttachedRolePolicies"],
        "{report:#?}"
    );
    assert!(
        account.attached(LB_ROLE).await.is_empty(),
        "nothing attached"
    );
    assert_eq!(account.trust(LB_ROLE).await, trust_before);
}

#[tokio::test]
async fn audit_mode_writes_nothing_and_says_what_it_would_do() {
    let account = Account::new().await;
    let slr = run(&account, Mode::Audit, "ecs-create-cluster.json").await;
    assert_eq!(statuses(&slr), [("exists", Status::WouldCreate)]);
    assert_eq!(slr.aws_calls, ["iam:GetRole"]);

    let missing = run(&account, Mode::Audit, LEGACY_ROLE_EVENT).await;
    assert_eq!(statuses(&missing), [("exists", Status::WouldCreate)]);
    assert!(missing.findings[0]
        .detail
        .contains("AmazonEC2ContainerServiceRole"));
    assert!(writes(&missing.aws_calls).is_empty());

    let drifted = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
        "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]});
    make_role(&account, LB_ROLE, &drifted.to_string(), &[]).await;
    let before = account.trust(LB_ROLE).await;
    let repair = run(&account, Mode::Audit, LEGACY_ROLE_EVENT).await;
    assert_eq!(
        statuses(&repair),
        [
            ("trust", Status::WouldRepair),
            ("managed_policy", Status::WouldRepair)
        ]
    );
    assert!(
        writes(&repair.aws_calls).is_empty(),
        "{:?}",
        repair.aws_calls
    );

    assert!(account.role("AWSServiceRoleForECS").await.is_none());
    assert_eq!(account.trust(LB_ROLE).await, before);
    assert!(account.attached(LB_ROLE).await.is_empty());
}

#[tokio::test]
async fn a_call_refused_for_want_of_the_role_gets_it_and_a_retry_hint() {
    let account = Account::new().await;
    for file in [
        "ecs-create-service-failed-slr.json",
        "ecs-create-cluster-failed.json",
    ] {
        let report = run(&account, Mode::Enforce, file).await;
        let finding = &report.findings[0];
        assert!(
            matches!(finding.status, Status::Created | Status::Compliant),
            "{report:#?}"
        );
        assert!(
            finding.detail.contains("can now be retried"),
            "{}",
            finding.detail
        );
    }
    assert!(account.role("AWSServiceRoleForECS").await.is_some());
}

#[tokio::test]
async fn update_service_without_a_role_ensures_the_service_linked_role() {
    let account = Account::new().await;
    let report = run(&account, Mode::Enforce, "ecs-update-service.json").await;
    assert_eq!(statuses(&report), [("exists", Status::Created)]);
    assert!(account.role("AWSServiceRoleForECS").await.is_some());
}

#[tokio::test]
async fn malformed_and_foreign_events_are_named_errors_without_any_aws_call() {
    let account = Account::new().await;
    let (guard, calls) = account.role_guard(Mode::Enforce, NO_MEMORY);
    let good = account.event(LEGACY_ROLE_EVENT);
    let mut cases: Vec<(Value, &str)> = vec![
        (json!("not an event"), "NotAnEvent"),
        (json!({"hello": "world"}), "NotAnEvent"),
        (
            json!({"detail-type": "Scheduled Event", "source": "aws.events", "detail": {}}),
            "UnexpectedDetailType",
        ),
    ];
    let mut foreign = good.clone();
    foreign["source"] = json!("aws.iam");
    cases.push((foreign, "UnexpectedSource"));
    let mut other_call = good.clone();
    other_call["detail"]["eventName"] = json!("DeleteCluster");
    cases.push((other_call, "UnexpectedEvent"));
    let mut no_account = good.clone();
    no_account["detail"]
        .as_object_mut()
        .unwrap()
        .remove("recipientAccountId");
    cases.push((no_account, "MalformedDetail"));
    let mut bad_role = good.clone();
    bad_role["detail"]["requestParameters"]["role"] = json!("arn:aws:iam::12:role/x");
    cases.push((bad_role, "BadField"));
    let mut bad_region = good.clone();
    bad_region["detail"]["awsRegion"] = json!("moon-base");
    cases.push((bad_region, "BadField"));
    let mut bad_params = good;
    bad_params["detail"]["requestParameters"]["role"] = json!(42);
    cases.push((bad_params, "MalformedDetail"));

    for (payload, kind) in cases {
        let err = guard.handle_payload(payload.clone()).await.unwrap_err();
        assert_eq!(err.kind(), kind, "{payload}: {err}");
        assert!(!err.to_string().is_empty());
    }
    assert!(calls.take().is_empty(), "no AWS call for bad input");
    assert!(account
        .iam
        .list_roles()
        .send()
        .await
        .unwrap()
        .roles()
        .is_empty());
}

const INFRASTRUCTURE_EVENT: &str = "ecs-create-service-infrastructure-role.json";
const VOLUMES_POLICY: &str =
    "arn:aws:iam::aws:policy/service-role/AmazonECSInfrastructureRolePolicyForVolumes";
const EC2_TRUST: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;

#[tokio::test]
async fn an_infrastructure_role_ecs_could_not_assume_gets_its_trust_and_the_volumes_policy() {
    let account = Account::new().await;
    make_role(&account, "ecsInfrastructureRole", EC2_TRUST, &[]).await;

    let audited = run(&account, Mode::Audit, INFRASTRUCTURE_EVENT).await;
    assert!(
        writes(&audited.aws_calls).is_empty(),
        "{:?}",
        audited.aws_calls
    );
    let seen = statuses(&audited);
    assert!(seen.contains(&("trust", Status::WouldRepair)), "{seen:?}");
    assert!(
        seen.contains(&("managed_policy", Status::WouldRepair)),
        "{seen:?}"
    );
    assert!(!account
        .trust("ecsInfrastructureRole")
        .await
        .grants("ecs.amazonaws.com"));

    let enforced = run(&account, Mode::Enforce, INFRASTRUCTURE_EVENT).await;
    let seen = statuses(&enforced);
    assert!(seen.contains(&("trust", Status::Repaired)), "{seen:?}");
    assert!(
        seen.contains(&("managed_policy", Status::Repaired)),
        "{seen:?}"
    );
    let trust = account.trust("ecsInfrastructureRole").await;
    assert!(trust.grants("ecs.amazonaws.com"));
    assert!(trust.grants("ec2.amazonaws.com"), "repairs are additive");
    assert_eq!(
        account.attached("ecsInfrastructureRole").await,
        [VOLUMES_POLICY]
    );
}

#[tokio::test]
async fn an_infrastructure_role_of_another_name_is_explained_and_not_created() {
    let account = Account::new().await;
    let mut event = account.event(INFRASTRUCTURE_EVENT);
    let role = format!("arn:aws:iam::{}:role/ledger-volumes", account.id);
    event["detail"]["errorMessage"] = json!(format!(
        "ECS was unable to assume the configured ECS Infrastructure Role '{role}'. Please verify that the role being passed has the proper trust relationship with Amazon ECS."
    ));
    event["detail"]["requestParameters"]["volumeConfigurations"][0]["managedEBSVolume"]
        ["roleArn"] = json!(role);
    let (guard, _) = account.role_guard(Mode::Enforce, NO_MEMORY);
    let report = guard.handle_payload(event).await.expect("accepted");
    let exists = report
        .findings
        .iter()
        .find(|f| f.resource.ends_with("role/ledger-volumes"))
        .expect("a finding on the role");
    assert!(
        exists.detail.contains("ledger-volumes"),
        "{}",
        exists.detail
    );
    assert!(
        account.role("ledger-volumes").await.is_none(),
        "never created"
    );
    assert!(
        !writes(&report.aws_calls)
            .iter()
            .any(|c| c.as_str() != "iam:CreateServiceLinkedRole"),
        "only the service-linked role may be written: {:?}",
        report.aws_calls
    );
}
