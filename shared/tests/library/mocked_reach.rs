//! A hub's reach in the answers moto cannot give: moto's STS assumes any role, so a member
//! role that refuses the hub, and an organization listing accounts in every state, are
//! mocked here with the shapes AWS answers with.

use aws_config::SdkConfig;
use aws_sdk_organizations::types::{Account, AccountState, AccountStatus};
use aws_sdk_sts::types::Credentials;
use aws_smithy_mocks::{mock, Rule, RuleMode};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::http::StatusCode;
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::DateTime;
use ecs_warden::aws::mocks::{organizations_client, MockRules};
use ecs_warden::invocation::reach::{Accounts, Place};
use ecs_warden::invocation::report::Status;
use ecs_warden::invocation::settings::{MemberAccounts, MemberRole, Reach};

const HUB: &str = "111111111111";
const MEMBER: &str = "222222222222";

fn reach(accounts: MemberAccounts) -> Reach {
    Reach::Hub {
        role: MemberRole {
            path: "/".into(),
            name: "ecs-warden-member".into(),
            shared: false,
        },
        accounts,
    }
}

fn listed(ids: &[&str]) -> MemberAccounts {
    MemberAccounts::Listed(ids.iter().map(|a| a.to_string()).collect())
}

/// A hub over `accounts` whose STS and Organizations answer from the rules given.
fn hub(accounts: MemberAccounts, sts: &[&Rule], organizations: &[&Rule]) -> Accounts {
    let sts = MockRules {
        sts,
        ..MockRules::default()
    }
    .clients()
    .sts;
    let orgs = organizations_client(organizations, RuleMode::MatchAny);
    let base = SdkConfig::builder().build();
    Accounts::with_clients(
        reach(accounts),
        &base,
        sts,
        orgs,
        Some(HUB.into()),
        "ecs-role-guard",
    )
}

fn assumed() -> aws_sdk_sts::operation::assume_role::AssumeRoleOutput {
    let expiry = std::time::SystemTime::now() + std::time::Duration::from_secs(3600);
    aws_sdk_sts::operation::assume_role::AssumeRoleOutput::builder()
        .credentials(
            Credentials::builder()
                .access_key_id("ASIAEXAMPLE")
                .secret_access_key("secret")
                .session_token("token")
                .expiration(DateTime::from(expiry))
                .build()
                .expect("complete credentials"),
        )
        .build()
}

#[tokio::test]
async fn a_member_role_that_refuses_the_hub_is_a_failed_finding_naming_account_and_role() {
    // STS's awsQuery error, as AssumeRole answers a caller the role's trust does not name
    // (STS API Reference, AssumeRole, Errors; IAM User Guide, "Troubleshoot IAM roles").
    let refused = mock!(aws_sdk_sts::Client::assume_role).then_http_response(|| {
        HttpResponse::new(
            StatusCode::try_from(403).unwrap(),
            SdkBody::from(format!(
                "<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><Error>\
                 <Type>Sender</Type><Code>AccessDenied</Code><Message>User: \
                 arn:aws:sts::{HUB}:assumed-role/hub-EcsRoleGuardRole/ecs-role-guard is not \
                 authorized to perform: sts:AssumeRole on resource: \
                 arn:aws:iam::{MEMBER}:role/ecs-warden-member-ecs-role-guard</Message></Error>\
                 <RequestId>c6104cbe-af31-11e0-8154-cbc7ccf896c7</RequestId></ErrorResponse>"
            )),
        )
    });
    let accounts = hub(listed(&[MEMBER]), &[&refused], &[]);

    let finding = accounts.place(MEMBER, "aws").await.unwrap_err();
    assert_eq!(finding.status, Status::Failed);
    assert_eq!(finding.resource, format!("arn:aws:iam::{MEMBER}:root"));
    let detail = &finding.detail;
    assert!(
        detail.contains(&format!("cannot act in account {MEMBER}")),
        "{detail}"
    );
    assert!(
        detail.contains(&format!(
            "arn:aws:iam::{MEMBER}:role/ecs-warden-member-ecs-role-guard"
        )),
        "{detail}"
    );
    assert!(detail.contains("sts:AssumeRole"), "{detail}");
    // Nothing is remembered from a refusal: the next event asks again.
    assert!(accounts.place(MEMBER, "aws").await.is_err());
    assert_eq!(refused.num_calls(), 2);
}

#[tokio::test]
async fn a_warm_hub_assumes_each_member_role_once_per_credential_lifetime() {
    // Its own function's member role, in sessions that name the function: the member
    // role's trust requires the source identity (member.yaml), and the member account's
    // CloudTrail shows both.
    let assume = mock!(aws_sdk_sts::Client::assume_role)
        .match_requests(|r| {
            r.role_arn()
                == Some(&format!(
                    "arn:aws:iam::{MEMBER}:role/ecs-warden-member-ecs-role-guard"
                ))
                && r.role_session_name() == Some("ecs-warden-ecs-role-guard")
                && r.source_identity() == Some("ecs-warden-ecs-role-guard")
        })
        .then_output(assumed);
    let accounts = hub(listed(&[MEMBER]), &[&assume], &[]);
    for _ in 0..5 {
        assert!(matches!(
            accounts.place(MEMBER, "aws").await,
            Ok(Place::Member(_))
        ));
    }
    assert!(matches!(accounts.place(HUB, "aws").await, Ok(Place::Home)));
    assert_eq!(assume.num_calls(), 1);
}

fn account(id: &str, state: Option<AccountState>, status: Option<AccountStatus>) -> Account {
    let mut account = Account::builder().id(id);
    if let Some(state) = state {
        account = account.state(state);
    }
    if let Some(status) = status {
        account = account.status(status);
    }
    account.build()
}

#[tokio::test]
async fn an_organization_hub_acts_in_active_accounts_listed_once_per_ttl() {
    // Organizations answers with `State` (and, until it is retired, `Status`); an account
    // being closed or suspended is not acted in.
    let pages = mock!(aws_sdk_organizations::Client::list_accounts)
        .match_requests(|r| r.next_token().is_none())
        .then_output(|| {
            aws_sdk_organizations::operation::list_accounts::ListAccountsOutput::builder()
                .accounts(account(
                    MEMBER,
                    Some(AccountState::Active),
                    Some(AccountStatus::Active),
                ))
                .accounts(account("333333333333", Some(AccountState::Suspended), None))
                .next_token("page-2")
                .build()
        });
    let second = mock!(aws_sdk_organizations::Client::list_accounts)
        .match_requests(|r| r.next_token() == Some("page-2"))
        .then_output(|| {
            aws_sdk_organizations::operation::list_accounts::ListAccountsOutput::builder()
                .accounts(account("444444444444", None, Some(AccountStatus::Active)))
                .accounts(account(
                    "555555555555",
                    Some(AccountState::PendingClosure),
                    None,
                ))
                .build()
        });
    let assume = mock!(aws_sdk_sts::Client::assume_role).then_output(assumed);
    let accounts = hub(MemberAccounts::Organization, &[&assume], &[&pages, &second]);

    assert!(matches!(
        accounts.place(MEMBER, "aws").await,
        Ok(Place::Member(_))
    ));
    assert!(matches!(
        accounts.place("444444444444", "aws").await,
        Ok(Place::Member(_))
    ));
    for closed in ["333333333333", "555555555555", "666666666666"] {
        let skipped = accounts.place(closed, "aws").await.unwrap_err();
        assert_eq!(skipped.status, Status::Skipped, "{closed}");
        assert!(
            skipped.detail.contains("not an ACTIVE account"),
            "{}",
            skipped.detail
        );
    }
    assert_eq!(
        accounts.all("aws").await.unwrap(),
        [HUB, MEMBER, "444444444444"]
    );
    assert_eq!(
        (pages.num_calls(), second.num_calls()),
        (1, 1),
        "listed once"
    );
}

#[tokio::test]
async fn an_organization_that_cannot_be_listed_is_a_failed_finding() {
    // Organizations' JSON error when the caller is neither the management account nor a
    // delegated administrator (Organizations API Reference, ListAccounts, Errors).
    let refused = mock!(aws_sdk_organizations::Client::list_accounts).then_http_response(|| {
        HttpResponse::new(
            StatusCode::try_from(400).unwrap(),
            SdkBody::from(
                r#"{"__type":"AccessDeniedException","Message":"You don't have permissions to access this resource."}"#,
            ),
        )
    });
    let accounts = hub(MemberAccounts::Organization, &[], &[&refused]);
    let failed = accounts.place(MEMBER, "aws").await.unwrap_err();
    assert_eq!(failed.status, Status::Failed);
    assert!(
        failed.detail.contains("organizations:ListAccounts"),
        "{}",
        failed.detail
    );
    assert!(
        failed.detail.contains("delegated administrator"),
        "{}",
        failed.detail
    );
}
