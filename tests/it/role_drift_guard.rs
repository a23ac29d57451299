//! role-drift-guard against moto: each drift is made for real on a compliant role, the
//! sample event recording it is replayed, and the IAM state moto holds afterwards must be
//! the compliant role again with everything else as the drift left it.

use aws_sdk_applicationautoscaling::types::{ScalableDimension, ServiceNamespace};
use ecs_warden::domain::catalog::{ECS_AUTOSCALE_ROLE, ECS_SERVICE_ROLE};

use ecs_warden::invocation::report::{Report, Status};
use ecs_warden::invocation::settings::Mode;
use warden_tests::{statuses, writes, Account};

const REGIONS: [&str; 2] = ["eu-west-1", "us-east-1"];
const READ_ONLY: &str = "arn:aws:iam::aws:policy/ReadOnlyAccess";
const BREAK_GLASS: &str = r#"{"Version":"2012-10-17","Statement":[{"Sid":"BreakGlass","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:root"},"Action":"sts:AssumeRole"}]}"#;
/// Another service's statement, the only one left: ECS's was removed.
const OTHER_SERVICE: &str = r#"{"Version":"2012-10-17","Statement":[{"Sid":"Batch","Effect":"Allow","Principal":{"Service":"batch.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;

async fn replay(account: &Account, mode: Mode, file: &str) -> Report {
    let (guard, _) = account.drift_guard(mode, &REGIONS);
    guard
        .handle_payload(account.event(file))
        .await
        .expect("accepted")
}

/// Detaches ecsAutoscaleRole's required policy, as someone would by hand; its ARN.
async fn detach_required(account: &Account) -> String {
    let required = ECS_AUTOSCALE_ROLE.managed_policy.unwrap().arn("aws");
    account
        .iam
        .detach_role_policy()
        .role_name(ECS_AUTOSCALE_ROLE.name)
        .policy_arn(&required)
        .send()
        .await
        .unwrap();
    required
}

#[tokio::test]
async fn a_detached_required_policy_is_reattached_and_nothing_else_changes() {
    let account = Account::new().await;
    account
        .compliant_role(&ECS_AUTOSCALE_ROLE, &[READ_ONLY])
        .await;
    let required = detach_required(&account).await;
    let before = account.trust(ECS_AUTOSCALE_ROLE.name).await;

    let audit = replay(&account, Mode::Audit, "iam-detach-role-policy.json").await;
    assert!(writes(&audit.aws_calls).is_empty());
    assert!(statuses(&audit).contains(&("managed_policy", Status::WouldRepair)));
    assert_eq!(account.attached(ECS_AUTOSCALE_ROLE.name).await, [READ_ONLY]);

    let report = replay(&account, Mode::Enforce, "iam-detach-role-policy.json").await;
    assert_eq!(writes(&report.aws_calls), ["iam:AttachRolePolicy"]);
    assert!(statuses(&report).contains(&("managed_policy", Status::Repaired)));
    let mut expected = vec![required, READ_ONLY.to_owned()];
    expected.sort();
    assert_eq!(account.attached(ECS_AUTOSCALE_ROLE.name).await, expected);
    assert_eq!(account.trust(ECS_AUTOSCALE_ROLE.name).await, before);
}

#[tokio::test]
async fn a_detached_policy_on_a_role_tagged_ignore_is_reported_and_left_detached() {
    let account = Account::new().await;
    account
        .compliant_role(&ECS_AUTOSCALE_ROLE, &[READ_ONLY])
        .await;
    account.ignore_role(ECS_AUTOSCALE_ROLE.name).await;
    detach_required(&account).await;

    let report = replay(&account, Mode::Enforce, "iam-detach-role-policy.json").await;
    assert!(writes(&report.aws_calls).is_empty(), "{report:#?}");
    let finding = report
        .findings
        .iter()
        .find(|f| f.check == "managed_policy")
        .expect("the policy is checked");
    assert_eq!(finding.status, Status::Skipped);
    assert!(
        finding.detail.contains("tagged ecs-warden:ignore=true"),
        "{}",
        finding.detail
    );
    assert_eq!(account.attached(ECS_AUTOSCALE_ROLE.name).await, [READ_ONLY]);
}

#[tokio::test]
async fn a_removed_trust_statement_is_added_back_and_the_others_kept() {
    let account = Account::new().await;
    account
        .compliant_role(&ECS_SERVICE_ROLE, &[READ_ONLY])
        .await;
    account
        .iam
        .update_assume_role_policy()
        .role_name(ECS_SERVICE_ROLE.name)
        .policy_document(OTHER_SERVICE)
        .send()
        .await
        .unwrap();
    let policies = account.attached(ECS_SERVICE_ROLE.name).await;

    let report = replay(
        &account,
        Mode::Enforce,
        "iam-update-assume-role-policy.json",
    )
    .await;
    assert_eq!(writes(&report.aws_calls), ["iam:UpdateAssumeRolePolicy"]);
    let now = account.trust(ECS_SERVICE_ROLE.name).await;
    assert!(now.grants("ecs.amazonaws.com"));
    assert_eq!(
        now.other_statements("ecs.amazonaws.com").len(),
        1,
        "the other service's statement kept"
    );
    assert_eq!(account.attached(ECS_SERVICE_ROLE.name).await, policies);

    // Its own UpdateAssumeRolePolicy comes back as an event: reads only.
    let echo = replay(
        &account,
        Mode::Enforce,
        "iam-update-assume-role-policy-by-warden.json",
    )
    .await;
    assert!(writes(&echo.aws_calls).is_empty(), "{:?}", echo.aws_calls);
    assert!(echo.findings.iter().all(|f| f.status == Status::Compliant));

    // A trust that lets an account in instead: someone else can assume the role, so the
    // ECS statement is not added back (it would hand them the role's policies).
    account
        .iam
        .update_assume_role_policy()
        .role_name(ECS_SERVICE_ROLE.name)
        .policy_document(BREAK_GLASS)
        .send()
        .await
        .unwrap();
    let refused = replay(
        &account,
        Mode::Enforce,
        "iam-update-assume-role-policy.json",
    )
    .await;
    assert!(writes(&refused.aws_calls).is_empty(), "{refused:#?}");
    assert!(statuses(&refused).contains(&("trust", Status::Failed)));
    assert!(!account
        .trust(ECS_SERVICE_ROLE.name)
        .await
        .grants("ecs.amazonaws.com"));
}

#[tokio::test]
async fn inline_policy_changes_leave_a_compliant_role_alone() {
    let account = Account::new().await;
    account
        .compliant_role(&ECS_SERVICE_ROLE, &[READ_ONLY])
        .await;
    account
        .compliant_role(&ECS_AUTOSCALE_ROLE, &[READ_ONLY])
        .await;
    for file in ["iam-delete-role-policy.json", "iam-put-role-policy.json"] {
        let report = replay(&account, Mode::Enforce, file).await;
        assert!(writes(&report.aws_calls).is_empty(), "{file}");
        assert!(
            report
                .findings
                .iter()
                .all(|f| f.status == Status::Compliant),
            "{file}: {:?}",
            report.findings
        );
    }
}

#[tokio::test]
async fn a_deleted_legacy_role_nothing_uses_stays_deleted() {
    let account = Account::new().await;
    let report = replay(&account, Mode::Enforce, "iam-delete-role.json").await;
    assert_eq!(statuses(&report), [("in_use", Status::Skipped)]);
    assert!(report.findings[0].detail.contains("left deleted"));
    assert!(writes(&report.aws_calls).is_empty());
    assert!(account
        .iam
        .get_role()
        .role_name(ECS_SERVICE_ROLE.name)
        .send()
        .await
        .is_err());
}

#[tokio::test]
async fn a_deleted_role_still_in_use_is_recreated_where_its_user_expects_it() {
    let account = Account::new().await;
    // A classic-ELB service in us-east-1 names ecsServiceRole under a path.
    let ecs = aws_sdk_ecs::Client::new(&account.config_in("us-east-1"));
    ecs.create_cluster()
        .cluster_name("legacy")
        .send()
        .await
        .unwrap();
    let role_arn = format!("arn:aws:iam::{}:role/ecs/ecsServiceRole", account.id);
    ecs.create_service()
        .cluster("legacy")
        .service_name("web")
        .desired_count(1)
        .role(&role_arn)
        .send()
        .await
        .unwrap();

    let report = replay(&account, Mode::Enforce, "iam-delete-role.json").await;
    assert_eq!(
        statuses(&report),
        [
            ("in_use", Status::Compliant),
            ("exists", Status::Created),
            ("managed_policy", Status::Created)
        ]
    );
    assert!(report.findings[0].detail.contains("service/legacy/web"));
    let role = account
        .iam
        .get_role()
        .role_name(ECS_SERVICE_ROLE.name)
        .send()
        .await
        .unwrap()
        .role
        .unwrap();
    assert_eq!(role.arn(), role_arn);
    assert_eq!(
        account.attached(ECS_SERVICE_ROLE.name).await,
        [ECS_SERVICE_ROLE.managed_policy.unwrap().arn("aws")]
    );
}

#[tokio::test]
async fn a_deleted_autoscale_role_a_scalable_target_uses_is_recreated() {
    let account = Account::new().await;
    let config = account.config_in("eu-west-1");
    let ecs = aws_sdk_ecs::Client::new(&config);
    ecs.create_cluster()
        .cluster_name("shop")
        .send()
        .await
        .unwrap();
    ecs.create_service()
        .cluster("shop")
        .service_name("cart")
        .desired_count(1)
        .send()
        .await
        .unwrap();
    aws_sdk_applicationautoscaling::Client::new(&config)
        .register_scalable_target()
        .service_namespace(ServiceNamespace::Ecs)
        .resource_id("service/shop/cart")
        .scalable_dimension(ScalableDimension::EcsServiceDesiredCount)
        .min_capacity(1)
        .max_capacity(4)
        .role_arn(format!("arn:aws:iam::{}:role/ecsAutoscaleRole", account.id))
        .send()
        .await
        .unwrap();
    let mut event = account.event("iam-delete-role.json");
    event["detail"]["requestParameters"]["roleName"] = "ecsAutoscaleRole".into();
    let (guard, _) = account.drift_guard(Mode::Enforce, &REGIONS);
    let report = guard.handle_payload(event).await.unwrap();
    assert!(
        statuses(&report).contains(&("exists", Status::Created)),
        "{:?}",
        report.findings
    );
    assert!(account
        .trust(ECS_AUTOSCALE_ROLE.name)
        .await
        .grants("application-autoscaling.amazonaws.com"));
}

#[tokio::test]
async fn an_unwatched_role_or_a_failed_call_costs_no_call() {
    let account = Account::new().await;
    let mut other = account.event("iam-detach-role-policy.json");
    other["detail"]["requestParameters"]["roleName"] = "some-app-role".into();
    let mut failed = account.event("iam-detach-role-policy.json");
    failed["detail"]["errorCode"] = "AccessDenied".into();
    for event in [other, failed] {
        let (guard, _) = account.drift_guard(Mode::Enforce, &REGIONS);
        let report = guard.handle_payload(event).await.unwrap();
        assert_eq!(report.findings[0].status, Status::Skipped);
        assert!(report.aws_calls.is_empty());
    }
}

#[tokio::test]
async fn with_the_default_regions_a_role_used_in_any_enabled_region_is_recreated() {
    use ecs_warden::handlers::role_drift_guard::RoleDriftGuard;
    use warden_tests::default_regions;

    // The stack's Regions left empty: the guard runs in eu-west-1, the role's user is a
    // service in ap-southeast-2.
    let account = Account::new().await;
    let ecs = aws_sdk_ecs::Client::new(&account.config_in("ap-southeast-2"));
    ecs.create_cluster()
        .cluster_name("legacy")
        .send()
        .await
        .unwrap();
    ecs.create_service()
        .cluster("legacy")
        .service_name("web")
        .desired_count(1)
        .role(ECS_SERVICE_ROLE.name)
        .send()
        .await
        .unwrap();
    let (guard, _) = account.handler::<RoleDriftGuard>(default_regions(Mode::Enforce), &[]);
    let started = std::time::Instant::now();
    let report = guard
        .handle_payload(account.event("iam-delete-role.json"))
        .await
        .expect("accepted");
    println!(
        "a deleted role's users in every enabled region: {} calls, {:?} on moto",
        report.aws_calls.len(),
        started.elapsed()
    );
    assert_eq!(
        statuses(&report),
        [
            ("in_use", Status::Compliant),
            ("exists", Status::Created),
            ("managed_policy", Status::Created)
        ],
        "{report:#?}"
    );
    assert!(report.findings[0].detail.contains("service/legacy/web"));
    assert_eq!(report.aws_calls[0], "account:ListRegions");
    // Every enabled region read once: its clusters and its scalable targets.
    let listed = report
        .aws_calls
        .iter()
        .filter(|c| *c == "ecs:ListClusters")
        .count();
    assert_eq!(listed, 17, "{:?}", report.aws_calls);
    assert!(account.role(ECS_SERVICE_ROLE.name).await.is_some());
}
