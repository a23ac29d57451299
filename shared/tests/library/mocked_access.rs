//! access-doctor against IAM answers moto cannot give: a simulation answered over two pages,
//! and the function's own role refused SimulatePrincipalPolicy.

use aws_config::SdkConfig;
use aws_sdk_iam::operation::simulate_principal_policy::SimulatePrincipalPolicyOutput;
use aws_sdk_iam::types::{
    EvaluationResult, OrganizationsDecisionDetail, PolicyEvaluationDecisionType,
};
use ecs_warden::aws::mocks::{mock, MockRules, Rule};
use ecs_warden::handlers::access_doctor::{AccessDoctor, DenySource};
use ecs_warden::handlers::{Deps, Function};
use ecs_warden::invocation::report::Status;
use serde_json::json;

const PRINCIPAL: &str = "arn:aws:iam::111122223333:role/PlatformDeployer";

fn doctor(iam: &[&Rule]) -> Function<AccessDoctor> {
    let clients = MockRules {
        iam,
        ..MockRules::default()
    }
    .clients();
    let deps = Deps::from_lookup("access-doctor", SdkConfig::builder().build(), |name| {
        (name == "WARDEN_REGIONS").then(|| "eu-west-1".into())
    })
    .expect("a valid configuration");
    Function::new(AccessDoctor::with_clients(&deps, clients), &deps)
}

fn result(action: &str, decision: PolicyEvaluationDecisionType) -> EvaluationResult {
    EvaluationResult::builder()
        .eval_action_name(action)
        .eval_decision(decision)
        .build()
        .unwrap()
}

#[tokio::test]
async fn every_page_of_a_simulation_is_read() {
    let first = mock!(aws_sdk_iam::Client::simulate_principal_policy)
        .match_requests(|r| r.marker().is_none())
        .then_compute_output(|r| {
            // Real IAM answers in request order, here the first half of the actions.
            let actions = r.action_names();
            let half = actions.len() / 2;
            SimulatePrincipalPolicyOutput::builder()
                .set_evaluation_results(Some(
                    actions[..half]
                        .iter()
                        .map(|a| result(a, PolicyEvaluationDecisionType::Allowed))
                        .collect(),
                ))
                .is_truncated(true)
                .marker("page-2")
                .build()
        });
    let second = mock!(aws_sdk_iam::Client::simulate_principal_policy)
        .match_requests(|r| r.marker() == Some("page-2"))
        .then_compute_output(|r| {
            let actions = r.action_names();
            let half = actions.len() / 2;
            SimulatePrincipalPolicyOutput::builder()
                .set_evaluation_results(Some(
                    actions[half..]
                        .iter()
                        .map(|a| result(a, PolicyEvaluationDecisionType::ImplicitDeny))
                        .collect(),
                ))
                .is_truncated(false)
                .build()
        });
    let doctor = doctor(&[&first, &second]);
    let d = doctor
        .handle_payload(json!({"principal_arn": PRINCIPAL, "intent": "ecs-service-auto-scaling"}))
        .await
        .unwrap();
    assert_eq!(d.missing.len(), 4, "{:?}", d.missing);
    assert_eq!(second.num_calls(), 1);
    let statement = &d.minimal_policy.unwrap()["Statement"][0];
    assert_eq!(statement["Action"].as_array().unwrap().len(), 4);
}

#[tokio::test]
async fn a_refused_simulation_names_the_permission_the_function_lacks() {
    let refused = mock!(aws_sdk_iam::Client::simulate_principal_policy)
        .sequence()
        .http_status(
            403,
            Some(
                "<ErrorResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\"><Error><Type>Sender</Type>\
                 <Code>AccessDenied</Code><Message>not authorized to perform iam:SimulatePrincipalPolicy</Message>\
                 </Error><RequestId>r-1</RequestId></ErrorResponse>"
                    .into(),
            ),
        )
        .build();
    let doctor = doctor(&[&refused]);
    let d = doctor
        .handle_payload(json!({"principal_arn": PRINCIPAL, "intent": "put-lifecycle-hook"}))
        .await
        .unwrap();
    let failed = d
        .report
        .findings
        .iter()
        .find(|f| f.status == Status::Failed)
        .expect("a failed finding");
    assert!(
        failed.detail.contains("lacks iam:SimulatePrincipalPolicy"),
        "{}",
        failed.detail
    );
    assert!(
        d.missing.is_empty(),
        "nothing is claimed missing when nothing could be asked"
    );
    assert_eq!(d.minimal_policy, None);
}

#[tokio::test]
async fn a_refusal_by_a_service_control_policy_is_named_as_such_and_not_granted() {
    // IAM's simulation of a principal in an organization's account says whether the SCPs
    // allow each action (EvaluationResult.OrganizationsDecisionDetail); moto never says.
    let scp = mock!(aws_sdk_iam::Client::simulate_principal_policy).then_compute_output(|r| {
        let actions = r.action_names();
        SimulatePrincipalPolicyOutput::builder()
            .set_evaluation_results(Some(
                actions
                    .iter()
                    .enumerate()
                    .map(|(i, a)| {
                        let result = EvaluationResult::builder()
                            .eval_action_name(a)
                            .eval_resource_name("*");
                        if i == 0 {
                            result
                                .eval_decision(PolicyEvaluationDecisionType::ExplicitDeny)
                                .organizations_decision_detail(
                                    OrganizationsDecisionDetail::builder()
                                        .allowed_by_organizations(false)
                                        .build(),
                                )
                        } else {
                            result.eval_decision(PolicyEvaluationDecisionType::ImplicitDeny)
                        }
                        .build()
                        .unwrap()
                    })
                    .collect(),
            ))
            .is_truncated(false)
            .build()
    });
    let doctor = doctor(&[&scp]);
    let d = doctor
        .handle_payload(json!({"principal_arn": PRINCIPAL, "intent": "ecs-service-auto-scaling"}))
        .await
        .unwrap();
    let by_scp: Vec<_> = d
        .missing
        .iter()
        .filter(|m| m.denied_by == Some(DenySource::ServiceControlPolicy))
        .collect();
    assert_eq!(by_scp.len(), 1, "{:?}", d.missing);
    let finding = d
        .report
        .findings
        .iter()
        .find(|f| f.detail.starts_with(&by_scp[0].action))
        .expect("a finding on the SCP-denied action");
    assert!(
        finding
            .detail
            .contains("service control policy of the organization refuses it"),
        "{}",
        finding.detail
    );
    let policy = serde_json::to_string(&d.minimal_policy).unwrap();
    assert!(
        !policy.contains(&format!("\"{}\"", by_scp[0].action)),
        "an Allow cannot beat the SCP, so the policy does not offer one: {policy}"
    );
    assert_eq!(d.report.account.as_deref(), Some("111122223333"));
}
