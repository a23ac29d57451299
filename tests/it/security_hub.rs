//! Security Hub on moto: the functions import their findings into the account and region
//! they are about, an audit run leaves them FAILED, and the same finding (the same `Id`)
//! turns PASSED once an enforce run repairs the account or a person fixes it by hand.
//! Every assertion reads what moto's Security Hub holds afterwards.
//!
//! moto differs from AWS here in ways written down where they matter: it imports into an
//! account that never enabled Security Hub and ignores GetFindings' filters. The tests
//! enable Security Hub as AWS requires; the refusals are in `shared/tests/library/mocked_security_hub.rs`.

use aws_sdk_securityhub::types::{
    AwsSecurityFinding, ComplianceStatus, RecordState, SeverityLabel,
};
use ecs_warden::domain::catalog::ECS_SERVICE_LINKED_ROLE;
use ecs_warden::handlers::ecs_role_guard::EcsRoleGuard;

use ecs_warden::invocation::report::Status;
use ecs_warden::invocation::settings::Mode;
use serde_json::json;
use std::time::Duration;
use warden_tests::{statuses, Account, RegionClients, SAMPLE_REGION};

fn status(finding: &AwsSecurityFinding) -> Option<&ComplianceStatus> {
    finding.compliance().and_then(|c| c.status())
}

fn label(finding: &AwsSecurityFinding) -> Option<&SeverityLabel> {
    finding.severity().and_then(|s| s.label())
}

/// A finding's `UpdatedAt`, in milliseconds since the epoch.
fn updated(finding: &AwsSecurityFinding) -> i64 {
    use aws_sdk_securityhub::primitives::{DateTime, DateTimeFormat};
    let at = DateTime::from_str(
        finding.updated_at().unwrap_or_default(),
        DateTimeFormat::DateTime,
    )
    .expect("an RFC 3339 UpdatedAt");
    at.to_millis().expect("a time in range")
}

/// The Security Hub calls among an answer's calls.
fn security_hub_calls(calls: &[String]) -> Vec<&str> {
    calls
        .iter()
        .map(String::as_str)
        .filter(|c| c.starts_with("securityhub:"))
        .collect()
}

/// The account with Security Hub enabled in `regions` and its handlers importing.
async fn importing(regions: &[&str]) -> Account {
    let account = Account::new().await;
    for region in regions {
        account.enable_security_hub(region).await;
    }
    account.import_to_security_hub();
    account
}

#[tokio::test]
async fn an_audit_run_leaves_a_failed_finding_and_an_enforce_run_passes_the_same_one() {
    let account = importing(&[SAMPLE_REGION]).await;
    let slr = format!(
        "arn:aws:iam::{}:role{}{}",
        account.id, ECS_SERVICE_LINKED_ROLE.path, ECS_SERVICE_LINKED_ROLE.name
    );

    let (audit, _) = account.role_guard(Mode::Audit, Duration::ZERO);
    let report = audit
        .handle_payload(account.event("ecs-create-cluster.json"))
        .await
        .unwrap();
    assert_eq!(statuses(&report), [("exists", Status::WouldCreate)]);
    assert!(report
        .aws_calls
        .contains(&"securityhub:BatchImportFindings".to_owned()));
    assert!(account.role(ECS_SERVICE_LINKED_ROLE.name).await.is_none());

    let held = account.security_hub_findings(SAMPLE_REGION).await;
    assert_eq!(held.len(), 1, "{held:#?}");
    let failed = &held[0];
    let id = format!("ecs-warden/{}/{SAMPLE_REGION}/ecs_role/{slr}", account.id);
    assert_eq!(failed.id(), Some(id.as_str()));
    assert_eq!(status(failed), Some(&ComplianceStatus::Failed));
    assert_eq!(
        label(failed),
        Some(&SeverityLabel::High),
        "the SLR blocks ECS"
    );
    assert_eq!(failed.aws_account_id(), Some(account.id.as_str()));
    assert_eq!(
        failed.generator_id(),
        Some("ecs-warden/ecs-role-guard/ecs_role")
    );
    assert_eq!(
        failed.product_arn(),
        Some(
            format!(
                "arn:aws:securityhub:{SAMPLE_REGION}:{0}:product/{0}/default",
                account.id
            )
            .as_str()
        )
    );
    let resource = &failed.resources()[0];
    assert_eq!(
        (resource.r#type(), resource.id()),
        (Some("AwsIamRole"), Some(slr.as_str()))
    );
    assert_eq!(
        failed.product_fields().unwrap()["ecs-warden/EventId"],
        report.event_id.clone().unwrap()
    );

    let (enforce, _) = account.role_guard(Mode::Enforce, Duration::ZERO);
    let report = enforce
        .handle_payload(account.event("ecs-create-cluster.json"))
        .await
        .unwrap();
    assert_eq!(statuses(&report), [("exists", Status::Created)]);
    assert!(account.role(ECS_SERVICE_LINKED_ROLE.name).await.is_some());

    let held = account.security_hub_findings(SAMPLE_REGION).await;
    assert_eq!(held.len(), 1, "the same finding, updated: {held:#?}");
    assert_eq!(held[0].id(), Some(id.as_str()));
    assert_eq!(status(&held[0]), Some(&ComplianceStatus::Passed));
    assert_eq!(label(&held[0]), Some(&SeverityLabel::Informational));
    // Passed, it leaves the open view (Security Hub resolves the workflow of its own
    // controls only); it was created when it first failed, and updated when it passed.
    assert_eq!(held[0].record_state(), Some(&RecordState::Archived));
    assert_eq!(held[0].created_at(), failed.created_at());
    assert!(updated(&held[0]) > updated(failed), "{held:#?}");
    let passed = held[0].clone();

    // Compliant now, with nothing open: a read of the open findings and no import.
    let again = enforce
        .handle_payload(account.event("ecs-create-cluster.json"))
        .await
        .unwrap();
    assert_eq!(
        statuses(&again),
        [("path", Status::Compliant), ("trust", Status::Compliant)]
    );
    assert_eq!(
        security_hub_calls(&again.aws_calls),
        ["securityhub:GetFindings"]
    );

    // Deleted again, it fails again: the same finding, back in the open view, created when
    // it first failed.
    account
        .iam
        .delete_service_linked_role()
        .role_name(ECS_SERVICE_LINKED_ROLE.name)
        .send()
        .await
        .unwrap();
    audit
        .handle_payload(account.event("ecs-create-cluster.json"))
        .await
        .unwrap();
    let held = account.security_hub_findings(SAMPLE_REGION).await;
    assert_eq!(held.len(), 1, "{held:#?}");
    assert_eq!(status(&held[0]), Some(&ComplianceStatus::Failed));
    assert_eq!(held[0].record_state(), Some(&RecordState::Active));
    assert_eq!(held[0].created_at(), failed.created_at());
    assert!(updated(&held[0]) > updated(&passed));
}

#[tokio::test]
async fn a_fix_made_by_hand_resolves_the_finding_on_the_next_sweep() {
    let regions = ["eu-west-1", "ap-southeast-2"];
    // CloudTrail's finding of the IAM events lands in us-east-1, where they are delivered.
    let account = importing(&["eu-west-1", "ap-southeast-2", "us-east-1"]).await;
    account.trail("eu-west-1", "platform-eu", false, true);
    let everywhere = account.trail("us-east-1", "org-wide", true, false);

    let (reconcile, _) = account.reconcile(Mode::Audit, &regions);
    let first = reconcile.handle_payload(json!({})).await.unwrap();
    assert!(
        !first
            .report
            .findings
            .iter()
            .any(|f| f.check == "security_hub"),
        "{:#?}",
        first.report.findings
    );
    let delivery = |held: &[AwsSecurityFinding]| -> Vec<(String, Option<ComplianceStatus>)> {
        held.iter()
            .filter(|f| f.generator_id() == Some("ecs-warden/reconcile/event_delivery"))
            .map(|f| (f.id().unwrap().to_owned(), status(f).cloned()))
            .collect()
    };
    let expected = |region: &str| {
        format!(
            "ecs-warden/{0}/{region}/event_delivery/AWS::::Account:{0}",
            account.id
        )
    };
    for region in ["us-east-1", "ap-southeast-2"] {
        let held = account.security_hub_findings(region).await;
        assert_eq!(
            delivery(&held),
            [(expected(region), Some(ComplianceStatus::Failed))],
            "{region}"
        );
        let resource = &held
            .iter()
            .find(|f| f.id() == Some(expected(region).as_str()))
            .unwrap()
            .resources()[0];
        assert_eq!(resource.r#type(), Some("AwsAccount"));
    }
    // eu-west-1 was compliant and nothing of ours was open there: nothing imported.
    assert!(delivery(&account.security_hub_findings("eu-west-1").await).is_empty());

    // A person starts the trail logging; the next sweep, still in audit mode, finds both
    // regions compliant and resolves the same findings.
    account.start_logging("us-east-1", &everywhere);
    let second = reconcile.handle_payload(json!({})).await.unwrap();
    assert_eq!(
        second.counts["cloudtrail"][&Status::Compliant],
        3,
        "{:?}",
        second.counts
    );
    for region in ["us-east-1", "ap-southeast-2"] {
        assert_eq!(
            delivery(&account.security_hub_findings(region).await),
            [(expected(region), Some(ComplianceStatus::Passed))],
            "{region}"
        );
    }
}

#[tokio::test]
async fn a_hub_imports_into_the_member_account_the_finding_is_about() {
    let hub = Account::new().await;
    let member = Account::new().await;
    member.member_role_for(&hub).await;
    member.enable_security_hub(SAMPLE_REGION).await;
    hub.enable_security_hub(SAMPLE_REGION).await;
    hub.import_to_security_hub();
    let (guard, _) = hub.hub_handler::<EcsRoleGuard>(Mode::Audit, &[&member]);

    let report = guard
        .handle_payload(member.event("ecs-create-cluster.json"))
        .await
        .unwrap();
    assert_eq!(statuses(&report), [("exists", Status::WouldCreate)]);
    let held = member.security_hub_findings(SAMPLE_REGION).await;
    assert_eq!(held.len(), 1, "{held:#?}");
    assert_eq!(held[0].aws_account_id(), Some(member.id.as_str()));
    assert_eq!(status(&held[0]), Some(&ComplianceStatus::Failed));
    assert!(
        hub.security_hub_findings(SAMPLE_REGION).await.is_empty(),
        "nothing in the hub's own Security Hub"
    );
}

#[tokio::test]
async fn a_step_policy_without_its_alarm_is_a_finding_on_the_ecs_service() {
    let account = importing(&[SAMPLE_REGION]).await;
    let region = RegionClients::new(&account.config);
    region.service("payments", "web", None, &[]).await;
    region.target("payments", "web", None).await;
    // The scale-out policy events/autoscaling-put-step-policy.json names.
    let policy = region
        .step(
            "payments",
            "web",
            "cpu-scale-out",
            &[(Some(0.0), Some(15.0), 1), (Some(15.0), None, 2)],
        )
        .await;

    let (audit, _) = account.scaling_guard(Mode::Audit);
    let report = audit
        .handle_payload(account.event("autoscaling-put-step-policy.json"))
        .await
        .unwrap();
    assert_eq!(statuses(&report), [("step_alarm", Status::WouldCreate)]);
    assert!(region.alarms().await.is_empty(), "audit writes nothing");
    let held = account.security_hub_findings(SAMPLE_REGION).await;
    assert_eq!(held.len(), 1, "{held:#?}");
    assert_eq!(status(&held[0]), Some(&ComplianceStatus::Failed));
    assert_eq!(
        label(&held[0]),
        Some(&SeverityLabel::Medium),
        "below a missing SLR"
    );
    let resources: Vec<(Option<&str>, Option<&str>)> = held[0]
        .resources()
        .iter()
        .map(|r| (r.r#type(), r.id()))
        .collect();
    let service = format!(
        "arn:aws:ecs:{SAMPLE_REGION}:{}:service/payments/web",
        account.id
    );
    assert_eq!(
        resources,
        [
            (Some("AwsEcsService"), Some(service.as_str())),
            (Some("Other"), Some(policy.as_str()))
        ]
    );

    let (enforce, _) = account.scaling_guard(Mode::Enforce);
    let report = enforce
        .handle_payload(account.event("autoscaling-put-step-policy.json"))
        .await
        .unwrap();
    assert_eq!(statuses(&report), [("step_alarm", Status::Created)]);
    assert_eq!(region.alarms().await.len(), 1);
    let held = account.security_hub_findings(SAMPLE_REGION).await;
    assert_eq!(held.len(), 1);
    assert_eq!(status(&held[0]), Some(&ComplianceStatus::Passed));

    // A second delivery finds the alarm: nothing is open, so one read and no import.
    let again = enforce
        .handle_payload(account.event("autoscaling-put-step-policy.json"))
        .await
        .unwrap();
    assert_eq!(statuses(&again), [("step_alarm", Status::Compliant)]);
    assert_eq!(
        security_hub_calls(&again.aws_calls),
        ["securityhub:GetFindings"]
    );
    assert_eq!(account.security_hub_findings(SAMPLE_REGION).await.len(), 1);
}
