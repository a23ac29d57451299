//! Security Hub in the answers moto cannot give: moto imports into an account that has not
//! enabled Security Hub, never throttles, refuses no finding and ignores GetFindings'
//! filters. These are AWS's answers (the BatchImportFindings and GetFindings API
//! references: InvalidAccessException for an account not subscribed, LimitExceededException
//! for a throttle, FailedFindings for a finding refused in a batch that succeeded), and the
//! stored findings an update is decided against (a newer observation, an archived finding).

use std::sync::{Arc, Mutex};

use aws_config::SdkConfig;
use aws_sdk_securityhub::operation::batch_import_findings::{
    BatchImportFindingsError, BatchImportFindingsOutput,
};
use aws_sdk_securityhub::operation::get_findings::GetFindingsOutput;
use aws_sdk_securityhub::types::error::{InvalidAccessException, LimitExceededException};
use aws_sdk_securityhub::types::{
    AwsSecurityFinding, Compliance, ComplianceStatus, ImportFindingsError, RecordState,
    SeverityLabel,
};
use aws_smithy_mocks::{mock, Rule, RuleMode};
use ecs_warden::aws::mocks::security_hub_clients;
use ecs_warden::aws::CallLog;
use ecs_warden::domain::checks::Check;
use ecs_warden::invocation::checks::CheckId;
use ecs_warden::invocation::reach::{AccountClients, Accounts};
use ecs_warden::invocation::report::{Finding, Report, Status};
use ecs_warden::invocation::security_hub::{SecurityHub, BATCH};
use ecs_warden::invocation::settings::Mode;

const ACCOUNT: &str = "111122223333";
const REGION: &str = "eu-west-1";
const SLR: &str =
    "arn:aws:iam::111122223333:role/aws-service-role/ecs.amazonaws.com/AWSServiceRoleForECS";

fn importer(rules: &[&Rule]) -> SecurityHub {
    let calls = CallLog::default();
    let base = SdkConfig::builder().build();
    let accounts = Arc::new(Accounts::single(&base, &calls, ACCOUNT));
    let clients = security_hub_clients(rules, RuleMode::MatchAny);
    let clients = AccountClients::with_own(&accounts, clients, &calls, |_, _| unreachable!());
    SecurityHub::with_clients(clients, &calls)
}

fn report(findings: Vec<Finding>) -> Report {
    let mut report = Report::new(
        "ecs-role-guard",
        Mode::Audit,
        Some("e-1".into()),
        Some("aws.ecs:CreateCluster".into()),
        findings,
        vec![],
    );
    report.account = Some(ACCOUNT.into());
    report
}

/// When the tests' checks observed what they found: 2025-12-02T10:00:00Z.
const OBSERVED_MS: u64 = 1_764_669_600_000;

fn role(name: &str, status: Status) -> Finding {
    let arn = format!("arn:aws:iam::{ACCOUNT}:role/{name}");
    Finding::new(arn, Check::Exists, status, "checked").observed_at(OBSERVED_MS)
}

fn slr(status: Status) -> Finding {
    Finding::new(SLR, Check::Exists, status, "checked").observed_at(OBSERVED_MS)
}

/// A GetFindings rule answering that Security Hub holds none of ours.
fn nothing_stored() -> Rule {
    mock!(aws_sdk_securityhub::Client::get_findings)
        .then_output(|| GetFindingsOutput::builder().build())
}

/// A GetFindings rule answering the finding `id` as Security Hub holds it.
fn stored(id: &str, status: ComplianceStatus, state: RecordState, updated: &str) -> Rule {
    let (id, updated) = (id.to_owned(), updated.to_owned());
    mock!(aws_sdk_securityhub::Client::get_findings).then_output(move || {
        GetFindingsOutput::builder()
            .findings(
                AwsSecurityFinding::builder()
                    .id(&id)
                    .generator_id("ecs-warden/ecs-role-guard/ecs_role")
                    .aws_account_id(ACCOUNT)
                    .created_at("2025-11-01T08:00:00Z")
                    .updated_at(&updated)
                    .compliance(Compliance::builder().status(status.clone()).build())
                    .record_state(state.clone())
                    .build(),
            )
            .build()
    })
}

fn slr_finding_id() -> String {
    format!("ecs-warden/{ACCOUNT}/{REGION}/ecs_role/{SLR}")
}

/// A BatchImportFindings rule that keeps every finding it was sent.
fn importing(sent: &Arc<Mutex<Vec<AwsSecurityFinding>>>) -> Rule {
    let sent = sent.clone();
    mock!(aws_sdk_securityhub::Client::batch_import_findings)
        .match_requests(move |req| {
            sent.lock().unwrap().extend(req.findings().iter().cloned());
            true
        })
        .then_output(|| {
            BatchImportFindingsOutput::builder()
                .failed_count(0)
                .success_count(1)
                .set_failed_findings(Some(vec![]))
                .build()
        })
}

/// What one import of `findings` sends, Security Hub holding what `read` answers; the
/// import must not fail.
async fn sent_after(read: &Rule, findings: Vec<Finding>) -> Vec<AwsSecurityFinding> {
    let sent = Arc::new(Mutex::new(Vec::new()));
    let import = importing(&sent);
    let mut answer = report(findings);
    importer(&[read, &import])
        .import("ecs-role-guard", REGION, &mut answer)
        .await;
    assert!(security_hub_failures(&answer).is_empty(), "{answer:#?}");
    let sent = sent.lock().unwrap().clone();
    sent
}

fn security_hub_failures(report: &Report) -> Vec<&Finding> {
    report
        .findings
        .iter()
        .filter(|f| f.check == CheckId::SECURITY_HUB)
        .collect()
}

#[tokio::test]
async fn an_account_without_security_hub_keeps_its_report_and_says_why() {
    let refused = mock!(aws_sdk_securityhub::Client::batch_import_findings).then_error(|| {
        BatchImportFindingsError::InvalidAccessException(
            InvalidAccessException::builder()
                .code("InvalidAccessException")
                .message("Account 111122223333 is not subscribed to AWS Security Hub")
                .build(),
        )
    });
    let mut answer = report(vec![slr(Status::WouldCreate)]);
    importer(&[&nothing_stored(), &refused])
        .import("ecs-role-guard", REGION, &mut answer)
        .await;
    assert_eq!(
        answer.findings[0].status,
        Status::WouldCreate,
        "the work stands"
    );
    let failures = security_hub_failures(&answer);
    assert_eq!(failures.len(), 1, "{answer:#?}");
    assert_eq!(failures[0].status, Status::Failed);
    assert_eq!(
        failures[0].resource,
        format!("arn:aws:securityhub:{REGION}:{ACCOUNT}:product/{ACCOUNT}/default")
    );
    assert!(
        failures[0]
            .detail
            .contains("not subscribed to AWS Security Hub"),
        "{}",
        failures[0].detail
    );
    assert_eq!(answer.summary[&Status::Failed], 1);
    assert_eq!(refused.num_calls(), 1);
}

#[tokio::test]
async fn a_throttle_and_a_refused_finding_are_failed_findings() {
    let throttled = mock!(aws_sdk_securityhub::Client::batch_import_findings).then_error(|| {
        BatchImportFindingsError::LimitExceededException(
            LimitExceededException::builder()
                .code("LimitExceededException")
                .message("Rate exceeded")
                .build(),
        )
    });
    let mut answer = report(vec![role("ecsAutoscaleRole", Status::Failed)]);
    importer(&[&nothing_stored(), &throttled])
        .import("ecs-role-guard", REGION, &mut answer)
        .await;
    let failures = security_hub_failures(&answer);
    assert_eq!(failures.len(), 1);
    assert!(
        failures[0].detail.contains("LimitExceededException"),
        "{}",
        failures[0].detail
    );

    let partly = mock!(aws_sdk_securityhub::Client::batch_import_findings).then_output(|| {
        BatchImportFindingsOutput::builder()
            .failed_count(1)
            .success_count(0)
            .failed_findings(
                ImportFindingsError::builder()
                    .id("ecs-warden/x")
                    .error_code("InvalidInput")
                    .error_message("Finding does not adhere to Amazon Finding Format.")
                    .build(),
            )
            .build()
    });
    let mut answer = report(vec![role("ecsAutoscaleRole", Status::Failed)]);
    importer(&[&nothing_stored(), &partly])
        .import("ecs-role-guard", REGION, &mut answer)
        .await;
    let failures = security_hub_failures(&answer);
    assert_eq!(failures.len(), 1);
    assert!(
        failures[0].detail.contains("refused 1 of 1")
            && failures[0].detail.contains("InvalidInput"),
        "{}",
        failures[0].detail
    );
}

#[tokio::test]
async fn findings_go_a_hundred_to_a_call_in_asff() {
    let sent = Arc::new(Mutex::new(Vec::new()));
    let import = importing(&sent);
    let findings = (0..250)
        .map(|i| role(&format!("role-{i:03}"), Status::WouldCreate))
        .collect();
    let mut answer = report(findings);
    let read = nothing_stored();
    importer(&[&read, &import])
        .import("ecs-role-guard", REGION, &mut answer)
        .await;
    assert_eq!(import.num_calls(), 3, "250 findings: 100, 100, 50");
    // Over 20: the ACTIVE ones in one read, then the 250 failed by id, 20 to a filter.
    assert_eq!(read.num_calls(), 1 + 13);
    assert!(security_hub_failures(&answer).is_empty(), "{answer:#?}");
    let sent = sent.lock().unwrap();
    assert_eq!(sent.len(), 250);
    assert_eq!(import.num_calls() * BATCH, 300, "each call up to {BATCH}");
    let first = &sent[0];
    // The top-level attributes ASFF requires of every finding.
    assert_eq!(first.schema_version(), Some("2018-10-08"));
    assert_eq!(
        first.id(),
        Some(
            format!("ecs-warden/{ACCOUNT}/{REGION}/ecs_role/arn:aws:iam::{ACCOUNT}:role/role-000")
                .as_str()
        )
    );
    assert_eq!(
        first.product_arn(),
        Some(format!("arn:aws:securityhub:{REGION}:{ACCOUNT}:product/{ACCOUNT}/default").as_str())
    );
    assert_eq!(
        first.generator_id(),
        Some("ecs-warden/ecs-role-guard/ecs_role")
    );
    assert_eq!(first.aws_account_id(), Some(ACCOUNT));
    assert_eq!(first.created_at(), Some("2025-12-02T10:00:00Z"));
    assert_eq!(first.updated_at(), first.created_at());
    assert_eq!(
        first.types(),
        ["Software and Configuration Checks/AWS Security Best Practices"]
    );
    assert!(first.title().unwrap().contains("role-000"));
    assert!(first
        .description()
        .unwrap()
        .starts_with("FAILED exists: checked"));
    assert_eq!(
        first.compliance().and_then(Compliance::status),
        Some(&ComplianceStatus::Failed)
    );
    assert_eq!(
        first.severity().and_then(|s| s.label()),
        Some(&SeverityLabel::Medium)
    );
    assert_eq!(
        first
            .finding_provider_fields()
            .and_then(|f| f.severity())
            .and_then(|s| s.label()),
        Some(&SeverityLabel::Medium)
    );
    let resource = &first.resources()[0];
    assert_eq!(resource.r#type(), Some("AwsIamRole"));
    assert_eq!(
        resource.id(),
        Some(format!("arn:aws:iam::{ACCOUNT}:role/role-000").as_str())
    );
    assert_eq!(first.record_state(), Some(&RecordState::Active));
    assert_eq!(first.product_fields().unwrap()["ecs-warden/EventId"], "e-1");
}

#[tokio::test]
async fn a_passed_finding_is_archived_keeping_when_it_was_created() {
    let open = stored(
        &slr_finding_id(),
        ComplianceStatus::Failed,
        RecordState::Active,
        "2025-12-01T09:00:00Z",
    );
    let sent = sent_after(&open, vec![slr(Status::Created)]).await;
    assert_eq!(sent.len(), 1, "{sent:#?}");
    assert_eq!(
        sent[0].compliance().and_then(Compliance::status),
        Some(&ComplianceStatus::Passed)
    );
    // Out of the open view (BatchImportFindings may not set Workflow), created when it was
    // first imported, updated when the check saw it pass.
    assert_eq!(sent[0].record_state(), Some(&RecordState::Archived));
    assert!(sent[0].workflow().is_none());
    assert_eq!(sent[0].created_at(), Some("2025-11-01T08:00:00Z"));
    assert_eq!(sent[0].updated_at(), Some("2025-12-02T10:00:00Z"));

    // Failing again reopens it, still created when it first was.
    let archived = stored(
        &slr_finding_id(),
        ComplianceStatus::Passed,
        RecordState::Archived,
        "2025-12-02T10:00:00Z",
    );
    let gone = Finding::new(SLR, Check::Exists, Status::WouldCreate, "gone")
        .observed_at(OBSERVED_MS + 60_000);
    let sent = sent_after(&archived, vec![gone]).await;
    assert_eq!(sent[0].record_state(), Some(&RecordState::Active));
    assert_eq!(sent[0].created_at(), Some("2025-11-01T08:00:00Z"));
    assert_eq!(sent[0].updated_at(), Some("2025-12-02T10:01:00Z"));
}

#[tokio::test]
async fn an_older_observation_never_overwrites_a_newer_one() {
    // A guard saw the role repaired at 10:05; a sweep's read of 10:00, which found it
    // missing, is imported after: Security Hub would ignore it, and it is not sent.
    let newer = stored(
        &slr_finding_id(),
        ComplianceStatus::Passed,
        RecordState::Archived,
        "2025-12-02T10:05:00Z",
    );
    let never = mock!(aws_sdk_securityhub::Client::batch_import_findings)
        .then_output(|| BatchImportFindingsOutput::builder().build());
    let mut answer = report(vec![slr(Status::WouldCreate)]);
    importer(&[&newer, &never])
        .import("reconcile", REGION, &mut answer)
        .await;
    assert_eq!((newer.num_calls(), never.num_calls()), (1, 0));
    assert!(security_hub_failures(&answer).is_empty(), "{answer:#?}");
}

#[tokio::test]
async fn a_compliant_control_archives_an_open_finding_and_costs_one_read_otherwise() {
    let open = stored(
        &slr_finding_id(),
        ComplianceStatus::Failed,
        RecordState::Active,
        "2025-12-01T09:00:00Z",
    );
    let sent = sent_after(
        &open,
        vec![
            slr(Status::Compliant),
            role("ecsAutoscaleRole", Status::Compliant),
        ],
    )
    .await;
    assert_eq!(open.num_calls(), 1, "one read of what is stored");
    assert_eq!(sent.len(), 1, "only the open one is archived: {sent:#?}");
    assert_eq!(sent[0].id(), Some(slr_finding_id().as_str()));
    assert_eq!(
        sent[0].compliance().and_then(Compliance::status),
        Some(&ComplianceStatus::Passed)
    );
    assert_eq!(sent[0].record_state(), Some(&RecordState::Archived));
    assert_eq!(
        sent[0].severity().and_then(|s| s.label()),
        Some(&SeverityLabel::Informational)
    );

    // Nothing open: a compliant account makes one read and imports nothing, whether its
    // finding is archived already or was never imported.
    let archived = stored(
        &slr_finding_id(),
        ComplianceStatus::Passed,
        RecordState::Archived,
        "2025-12-01T09:00:00Z",
    );
    for read in [nothing_stored(), archived] {
        let never = mock!(aws_sdk_securityhub::Client::batch_import_findings)
            .then_output(|| BatchImportFindingsOutput::builder().build());
        let mut answer = report(vec![slr(Status::Compliant)]);
        importer(&[&read, &never])
            .import("reconcile", REGION, &mut answer)
            .await;
        assert_eq!((read.num_calls(), never.num_calls()), (1, 0));
        assert!(security_hub_failures(&answer).is_empty());
    }
}

#[tokio::test]
async fn steps_and_diagnoses_are_not_imported() {
    let never = mock!(aws_sdk_securityhub::Client::batch_import_findings)
        .then_output(|| BatchImportFindingsOutput::builder().build());
    let mut answer = report(vec![
        Finding::new(SLR, Check::Deletion, Status::Failed, "a deletion step"),
        Finding::new(SLR, Check::Permission, Status::Failed, "a refused call"),
        Finding::new(SLR, Check::Exists, Status::Skipped, "not checked"),
    ]);
    importer(&[&never])
        .import("slr-deletion", REGION, &mut answer)
        .await;
    assert_eq!(never.num_calls(), 0);
}
