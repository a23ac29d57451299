//! The CloudTrail check against answers moto cannot give: an organization trail seen from a
//! member account (a shadow trail homed in the management account), GetEventSelectors
//! answering with AWS's default selector rather than moto's empty lists, advanced
//! selectors, and CloudTrail refusing the read.

use std::collections::BTreeSet;

use aws_sdk_cloudtrail::operation::describe_trails::DescribeTrailsOutput;
use aws_sdk_cloudtrail::operation::get_event_selectors::GetEventSelectorsOutput;
use aws_sdk_cloudtrail::operation::get_trail_status::GetTrailStatusOutput;
use aws_sdk_cloudtrail::types::{
    AdvancedEventSelector, AdvancedFieldSelector, EventSelector, ReadWriteType, Trail,
};
use aws_sdk_cloudtrail::Client;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::http::StatusCode;
use aws_smithy_types::body::SdkBody;
use ecs_warden::aws::mocks::{mock, trail_clients, Rule, RuleMode};
use ecs_warden::domain::trails::{self, Need};
use ecs_warden::invocation::report::{Finding, Status};

/// An organization trail as a member account sees it: its ARN names the management
/// account, its home region is the management account's (CloudTrail User Guide,
/// "Creating a trail for an organization").
const ORG_TRAIL: &str = "arn:aws:cloudtrail:us-east-1:999988887777:trail/org-trail";
const LOCAL_TRAIL: &str = "arn:aws:cloudtrail:eu-west-1:111122223333:trail/platform-writes";

fn need(region: &str, global: bool) -> Need {
    let sources: &[&'static str] = if global {
        &["iam.amazonaws.com"]
    } else {
        &["ecs.amazonaws.com", "autoscaling.amazonaws.com"]
    };
    Need {
        region: region.into(),
        sources: sources.iter().copied().collect(),
        global,
        functions: BTreeSet::from(["role-drift-guard"]),
    }
}

fn org_trail() -> Trail {
    Trail::builder()
        .name("org-trail")
        .trail_arn(ORG_TRAIL)
        .home_region("us-east-1")
        .is_multi_region_trail(true)
        .is_organization_trail(true)
        .include_global_service_events(true)
        .has_custom_event_selectors(false)
        .build()
}

/// DescribeTrails listing `trails`, when asked for shadow trails too.
fn describe(trails: Vec<Trail>) -> Rule {
    mock!(Client::describe_trails)
        .match_requests(|r| r.include_shadow_trails() == Some(true))
        .then_output(move || {
            DescribeTrailsOutput::builder()
                .set_trail_list(Some(trails.clone()))
                .build()
        })
}

fn status(arn: &'static str, logging: bool) -> Rule {
    mock!(Client::get_trail_status)
        .match_requests(move |r| r.name() == Some(arn))
        .then_output(move || GetTrailStatusOutput::builder().is_logging(logging).build())
}

fn selectors(arn: &'static str, answer: GetEventSelectorsOutput) -> Rule {
    mock!(Client::get_event_selectors)
        .match_requests(move |r| r.trail_name() == Some(arn))
        .then_output(move || answer.clone())
}

/// What AWS answers for a trail created without custom selectors: the default basic
/// selector (AWS CLI reference, `get-event-selectors` example).
fn default_selector(arn: &str) -> GetEventSelectorsOutput {
    GetEventSelectorsOutput::builder()
        .trail_arn(arn)
        .event_selectors(
            EventSelector::builder()
                .read_write_type(ReadWriteType::All)
                .include_management_events(true)
                .set_data_resources(Some(vec![]))
                .build(),
        )
        .build()
}

fn statuses(findings: &[Finding]) -> Vec<(&str, &str, Status)> {
    findings
        .iter()
        .map(|f| (f.resource.as_str(), f.check.as_str(), f.status))
        .collect()
}

#[tokio::test]
async fn an_organization_trail_covers_every_region_and_is_read_once() {
    let listed = describe(vec![org_trail()]);
    let logging = status(ORG_TRAIL, true);
    let kept = selectors(ORG_TRAIL, default_selector(ORG_TRAIL));
    let trails = trail_clients(&[&listed, &logging, &kept], RuleMode::MatchAny);

    let needs = [need("eu-west-1", false), need("us-east-1", true)];
    let findings = trails::check(&trails, &needs).await;

    assert_eq!(
        statuses(&findings),
        [
            ("eu-west-1", "cloudtrail", Status::Compliant),
            ("us-east-1", "cloudtrail", Status::Compliant)
        ]
    );
    assert!(
        findings[0].detail.contains(ORG_TRAIL),
        "{}",
        findings[0].detail
    );
    assert!(!findings[0].detail.contains("access-doctor never hears"));
    // One list per region, one status and one selector read for the trail.
    assert_eq!(listed.num_calls(), 2);
    assert_eq!(logging.num_calls(), 1);
    assert_eq!(kept.num_calls(), 1);
}

#[tokio::test]
async fn write_only_advanced_selectors_count_and_a_stopped_trail_does_not() {
    // eu-west-1: a single-region trail with the console's "write-only management events"
    // advanced selector. us-east-1: a trail that was stopped.
    let local = Trail::builder()
        .name("platform-writes")
        .trail_arn(LOCAL_TRAIL)
        .home_region("eu-west-1")
        .is_multi_region_trail(false)
        .include_global_service_events(true)
        .has_custom_event_selectors(true)
        .build();
    let stopped_arn = "arn:aws:cloudtrail:us-east-1:111122223333:trail/audit";
    let stopped = Trail::builder()
        .name("audit")
        .trail_arn(stopped_arn)
        .home_region("us-east-1")
        .is_multi_region_trail(false)
        .include_global_service_events(true)
        .build();
    let write_only = GetEventSelectorsOutput::builder()
        .trail_arn(LOCAL_TRAIL)
        .advanced_event_selectors(
            AdvancedEventSelector::builder()
                .name("Management events selector")
                .field_selectors(
                    AdvancedFieldSelector::builder()
                        .field("eventCategory")
                        .equals("Management")
                        .build()
                        .unwrap(),
                )
                .field_selectors(
                    AdvancedFieldSelector::builder()
                        .field("readOnly")
                        .equals("false")
                        .build()
                        .unwrap(),
                )
                .build()
                .unwrap(),
        )
        .build();
    let eu_list = describe(vec![local]);
    let us_list = describe(vec![stopped]);
    let local_status = status(LOCAL_TRAIL, true);
    let local_selectors = selectors(LOCAL_TRAIL, write_only);
    let stopped_status = status(stopped_arn, false);
    let stopped_selectors = selectors(stopped_arn, default_selector(stopped_arn));
    let trails = trail_clients(
        &[
            &eu_list,
            &local_status,
            &local_selectors,
            &us_list,
            &stopped_status,
            &stopped_selectors,
        ],
        RuleMode::Sequential,
    );

    let needs = [need("eu-west-1", false), need("us-east-1", true)];
    let findings = trails::check(&trails, &needs).await;

    assert_eq!(
        statuses(&findings),
        [
            ("eu-west-1", "cloudtrail", Status::Compliant),
            ("us-east-1", "cloudtrail", Status::Failed)
        ]
    );
    assert!(
        findings[0].detail.contains("access-doctor never hears"),
        "a write-only trail drops refused reads: {}",
        findings[0].detail
    );
    let failed = &findings[1].detail;
    assert!(failed.contains("trail audit is not logging"), "{failed}");
    assert!(
        failed.contains("role-drift-guard will never be triggered"),
        "{failed}"
    );
}

#[tokio::test]
async fn a_refused_read_is_a_failed_finding_that_names_the_permission() {
    let refused = mock!(Client::describe_trails).then_http_response(|| {
        HttpResponse::new(
            StatusCode::try_from(400).unwrap(),
            SdkBody::from(
                r#"{"__type":"AccessDeniedException","Message":"User: arn:aws:sts::111122223333:assumed-role/warden/reconcile is not authorized to perform: cloudtrail:DescribeTrails"}"#,
            ),
        )
    });
    let trails = trail_clients(&[&refused], RuleMode::MatchAny);
    let findings = trails::check(&trails, &[need("eu-west-1", false)]).await;
    assert_eq!(
        statuses(&findings),
        [("eu-west-1", "cloudtrail", Status::Failed)]
    );
    assert!(
        findings[0]
            .detail
            .contains("lacks cloudtrail:DescribeTrails on eu-west-1"),
        "{}",
        findings[0].detail
    );
}
