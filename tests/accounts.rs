//! A hub acting in a member account through the member role (issue 18's groundwork): the
//! clients built for the member act in the member's account and nowhere else, and however
//! many clients and calls a warm container makes there, it assumes the role once.

use ecs_warden::aws::accounts::AccountConfigs;
use warden_tests::{endpoint, Account, FaultProxy};

#[tokio::test]
async fn clients_for_a_member_act_there_and_assume_the_role_once() {
    let hub = Account::new().await;
    let member = Account::new().await;
    // A proxy that faults nothing, to count the requests that reach moto.
    let proxy = FaultProxy::start(endpoint().trim_start_matches("http://"), 0);
    let configs = AccountConfigs::new(&hub.through(&proxy).config, "/ecs-warden-member");
    assert_eq!(
        configs.role_arn("aws", &member.id),
        format!("arn:aws:iam::{}:role/ecs-warden-member", member.id)
    );

    let config = configs.config("aws", &member.id).await;
    assert_eq!(
        proxy.counts().requests(),
        0,
        "nothing is assumed before a call needs it"
    );
    let sts = aws_sdk_sts::Client::new(&config);
    let who = sts
        .get_caller_identity()
        .send()
        .await
        .expect("caller identity");
    assert_eq!(who.account(), Some(member.id.as_str()));
    // Another client, and the same configuration asked for again: the credentials are
    // cached, so only the calls themselves reach AWS.
    let iam = aws_sdk_iam::Client::new(&configs.config("aws", &member.id).await);
    iam.create_role()
        .role_name("made-through-the-hub")
        .assume_role_policy_document(
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ecs.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#,
        )
        .send()
        .await
        .expect("create a role in the member account");
    let ecs = aws_sdk_ecs::Client::new(&config);
    ecs.list_clusters().send().await.expect("list clusters");
    assert_eq!(
        proxy.counts().requests(),
        1 + 3,
        "one AssumeRole, then the three calls"
    );

    // What the hub did there is in the member account, not in its own.
    assert!(member.role("made-through-the-hub").await.is_some());
    assert!(hub.role("made-through-the-hub").await.is_none());
}
