//! One hub guarding several accounts, on moto: each account's events change that account
//! and no other, an account the hub does not list is skipped before any call, and a warm
//! hub assumes each member role once. Every assertion reads what moto holds in each
//! account afterwards.

use ecs_warden::aws::accounts::AccountConfigs;
use ecs_warden::aws::CallLog;
use ecs_warden::handlers::ecs_role_guard::EcsRoleGuard;
use ecs_warden::handlers::role_drift_guard::RoleDriftGuard;
use ecs_warden::handlers::scaling_guard::ScalingGuard;
use ecs_warden::handlers::{Function, Handler};
use ecs_warden::invocation::report::{Report, Status};
use ecs_warden::invocation::settings::Mode;
use warden_tests::{endpoint, statuses, Account, FaultProxy, RegionClients, Step};

const SLR: &str = "AWSServiceRoleForECS";

/// A fresh account with the member role trusting `hub`, as the StackSet leaves it.
async fn member_of(hub: &Account) -> Account {
    let member = Account::new().await;
    member.member_role_for(hub).await;
    member
}

async fn answer<H: Handler<Output = Report>>(
    handler: &Function<H>,
    account: &Account,
    file: &str,
) -> Report {
    handler
        .handle_payload(account.event(file))
        .await
        .expect("event accepted")
}

#[tokio::test]
async fn events_from_two_members_change_only_their_own_account() {
    let hub = Account::new().await;
    let (one, two) = (member_of(&hub).await, member_of(&hub).await);
    let (guard, _) = hub.hub_handler::<EcsRoleGuard>(Mode::Enforce, &[&one, &two]);

    let report = answer(&guard, &one, "ecs-create-cluster.json").await;
    assert_eq!(
        statuses(&report),
        [("exists", Status::Created)],
        "{report:#?}"
    );
    assert_eq!(report.account.as_deref(), Some(one.id.as_str()));
    assert_eq!(
        report.aws_calls[0], "sts:AssumeRole",
        "{:?}",
        report.aws_calls
    );
    assert!(one.role(SLR).await.is_some(), "created in the member");
    assert!(two.role(SLR).await.is_none(), "not in the other member");
    assert!(hub.role(SLR).await.is_none(), "not in the hub");

    let report = answer(&guard, &two, "ecs-create-cluster.json").await;
    assert_eq!(statuses(&report), [("exists", Status::Created)]);
    assert!(two.role(SLR).await.is_some());

    // A warm hub keeps each member's credentials: the second event there assumes nothing.
    let again = answer(&guard, &one, "ecs-create-service.json").await;
    assert_eq!(
        statuses(&again),
        [("path", Status::Compliant), ("trust", Status::Compliant)]
    );
    assert!(
        !again.aws_calls.iter().any(|c| c == "sts:AssumeRole"),
        "{:?}",
        again.aws_calls
    );

    // The hub's own account is acted in with its own credentials.
    let home = answer(&guard, &hub, "ecs-create-cluster.json").await;
    assert_eq!(statuses(&home), [("exists", Status::Created)]);
    assert!(!home.aws_calls.iter().any(|c| c == "sts:AssumeRole"));
    assert!(hub.role(SLR).await.is_some());
}

#[tokio::test]
async fn an_account_the_hub_does_not_list_is_skipped_without_a_call() {
    let hub = Account::new().await;
    let listed = member_of(&hub).await;
    let stranger = member_of(&hub).await;
    let (guard, calls) = hub.hub_handler::<EcsRoleGuard>(Mode::Enforce, &[&listed]);

    let report = answer(&guard, &stranger, "ecs-create-cluster.json").await;
    assert_eq!(statuses(&report), [("account", Status::Skipped)]);
    assert!(report.findings[0].detail.contains("not in WARDEN_ACCOUNTS"));
    assert_eq!(report.account.as_deref(), Some(stranger.id.as_str()));
    assert!(report.aws_calls.is_empty(), "{:?}", report.aws_calls);
    assert!(calls.take().is_empty());
    assert!(stranger.role(SLR).await.is_none());
}

#[tokio::test]
async fn a_single_account_function_skips_another_accounts_event_without_a_call() {
    let own = Account::new().await;
    let other = Account::new().await;
    let (guard, _) = own.role_guard(Mode::Enforce, std::time::Duration::ZERO);
    let report = answer(&guard, &other, "ecs-create-cluster.json").await;
    assert_eq!(statuses(&report), [("account", Status::Skipped)]);
    assert!(report.findings[0]
        .detail
        .contains(&format!("its own account {}", own.id)));
    assert!(report.aws_calls.is_empty());
    assert!(other.role(SLR).await.is_none());
    assert!(own.role(SLR).await.is_none());
}

#[tokio::test]
async fn scaling_and_drift_guards_act_in_the_member_that_owns_the_event() {
    let hub = Account::new().await;
    let (one, two) = (member_of(&hub).await, member_of(&hub).await);
    // The same service and step policy in both members; only one's event arrives.
    for member in [&one, &two] {
        let region = RegionClients::new(&member.config);
        region.service("payments", "web", None, &[]).await;
        region.target("payments", "web", None).await;
        let scale_out: &[Step] = &[(Some(0.0), None, 1)];
        region
            .step("payments", "web", "cpu-scale-out", scale_out)
            .await;
    }
    let (scaling, _) = hub.hub_handler::<ScalingGuard>(Mode::Enforce, &[&one, &two]);
    let report = answer(&scaling, &one, "autoscaling-put-step-policy.json").await;
    assert_eq!(
        statuses(&report),
        [("step_alarm", Status::Created)],
        "{report:#?}"
    );
    let alarms = |account: &Account| {
        let region = RegionClients::new(&account.config);
        async move { region.alarms().await.len() }
    };
    assert_eq!(
        alarms(&one).await,
        1,
        "the alarm is in the member that owns the policy"
    );
    assert_eq!(alarms(&two).await, 0);
    assert_eq!(alarms(&hub).await, 0);

    // A watched role's managed policy detached in the second member is reattached there.
    two.compliant_role(&ecs_warden::domain::catalog::ECS_AUTOSCALE_ROLE, &[])
        .await;
    two.iam
        .detach_role_policy()
        .role_name("ecsAutoscaleRole")
        .policy_arn("arn:aws:iam::aws:policy/service-role/AmazonEC2ContainerServiceAutoscaleRole")
        .send()
        .await
        .expect("drift the role");
    let (drift, _) = hub.hub_handler::<RoleDriftGuard>(Mode::Enforce, &[&one, &two]);
    let report = answer(&drift, &two, "iam-detach-role-policy.json").await;
    assert!(
        statuses(&report).contains(&("managed_policy", Status::Repaired)),
        "{report:#?}"
    );
    assert_eq!(
        two.attached("ecsAutoscaleRole").await,
        ["arn:aws:iam::aws:policy/service-role/AmazonEC2ContainerServiceAutoscaleRole"]
    );
    assert!(one.role("ecsAutoscaleRole").await.is_none());
}

#[tokio::test]
async fn clients_for_a_member_act_there_and_assume_the_role_once() {
    let hub = Account::new().await;
    let member = member_of(&hub).await;
    // A proxy that faults nothing, to count the requests that reach moto.
    let proxy = FaultProxy::start(endpoint().trim_start_matches("http://"), 0);
    let calls = CallLog::default();
    let configs = AccountConfigs::new(
        &hub.through(&proxy).config,
        &calls,
        "/ecs-warden-member-reconcile",
        "reconcile",
    );
    assert_eq!(
        configs.role_arn("aws", &member.id),
        format!(
            "arn:aws:iam::{}:role/ecs-warden-member-reconcile",
            member.id
        )
    );

    assert_eq!(
        proxy.counts().requests(),
        0,
        "nothing is assumed before an account is first acted in"
    );
    let config = configs.config("aws", &member.id).await.expect("assumed");
    assert_eq!(calls.take(), ["sts:AssumeRole"], "recorded like any call");
    let sts = aws_sdk_sts::Client::new(&config);
    let who = sts
        .get_caller_identity()
        .send()
        .await
        .expect("caller identity");
    assert_eq!(who.account(), Some(member.id.as_str()));
    // The session names the function, so the member's CloudTrail says which one acted.
    assert_eq!(
        who.arn(),
        Some(
            format!(
                "arn:aws:sts::{}:assumed-role/ecs-warden-member-reconcile/ecs-warden-reconcile",
                member.id
            )
            .as_str()
        )
    );
    // Another client, and the same configuration asked for again: the credentials are
    // cached, so only the calls themselves reach AWS.
    let iam = aws_sdk_iam::Client::new(&configs.config("aws", &member.id).await.expect("cached"));
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

#[tokio::test]
async fn reconcile_sweeps_three_accounts_in_two_regions_and_skips_one_it_may_not_reach() {
    use ecs_warden::handlers::reconcile::Reconcile;
    use serde_json::json;
    use warden_tests::broken_world;

    let hub = Account::new().await;
    let (one, two) = (member_of(&hub).await, member_of(&hub).await);
    let stranger = member_of(&hub).await;
    for member in [&one, &two, &stranger] {
        broken_world(member).await;
    }
    let (reconcile, _) = hub.hub_handler::<Reconcile>(Mode::Enforce, &[&one, &two]);
    let regions = ["eu-west-1", "us-east-1"];

    // The state machine's first step: one input per account, for its map to fan out.
    let plan = reconcile
        .handle_payload(json!({"plan": {"regions": regions}}))
        .await
        .expect("a plan");
    let mut planned: Vec<String> = plan
        .sweeps
        .iter()
        .filter_map(|s| s.account.clone())
        .collect();
    planned.sort();
    let mut expected = vec![hub.id.clone(), one.id.clone(), two.id.clone()];
    expected.sort();
    assert_eq!(planned, expected);
    assert!(
        plan.report.aws_calls.is_empty(),
        "a listed plan makes no call"
    );

    // One invocation over the three accounts and a fourth it does not list.
    let mut accounts = expected.clone();
    accounts.push(stranger.id.clone());
    let report = reconcile
        .handle_payload(json!({"accounts": accounts, "regions": regions}))
        .await
        .expect("a sweep");
    assert!(
        report.continuation.is_none() && report.sweeps.is_empty(),
        "complete"
    );
    let skipped: Vec<_> = report
        .report
        .findings
        .iter()
        .filter(|f| f.check == "account")
        .map(|f| (f.resource.clone(), f.status))
        .collect();
    assert_eq!(
        skipped,
        [(
            format!("arn:aws:iam::{}:root", stranger.id),
            Status::Skipped
        )]
    );
    let mut swept: Vec<(String, String)> = report
        .regions
        .iter()
        .map(|r| (r.account.clone().unwrap_or_default(), r.region.clone()))
        .collect();
    swept.sort();
    assert_eq!(swept.len(), 6, "three accounts by two regions: {swept:?}");

    // Each member's broken world is repaired in that member, the stranger's is not, and the
    // hub (which runs nothing) gains no role.
    for member in [&one, &two] {
        assert!(
            member.role("ecsAutoscaleRole").await.is_some(),
            "{}",
            member.id
        );
        assert!(member.role(SLR).await.is_some());
        let eu = RegionClients::new(&member.config_in("eu-west-1"));
        assert!(eu
            .alarms()
            .await
            .iter()
            .any(|a| a.alarm_name().is_some_and(|n| n.ends_with("/cart-out"))));
    }
    assert!(stranger.role("ecsAutoscaleRole").await.is_none());
    assert!(stranger.role(SLR).await.is_none());
    assert!(hub.role(SLR).await.is_none());
}

#[tokio::test]
async fn access_doctor_simulates_the_caller_in_the_account_of_the_refused_call() {
    use ecs_warden::handlers::access_doctor::AccessDoctor;

    let hub = Account::new().await;
    let member = member_of(&hub).await;
    // The refused caller's role lives in the member only, with scaling but no alarms.
    member.deployer(&["application-autoscaling:*"]).await;
    let (doctor, _) = hub.hub_handler::<AccessDoctor>(Mode::Enforce, &[&member]);
    let d = doctor
        .handle_payload(member.event("access-denied-put-scaling-policy.json"))
        .await
        .expect("accepted");
    assert_eq!(d.report.account.as_deref(), Some(member.id.as_str()));
    assert_eq!(
        d.principal.as_deref(),
        Some(format!("arn:aws:iam::{}:role/PlatformDeployer", member.id).as_str())
    );
    let missing: Vec<&str> = d.missing.iter().map(|m| m.action.as_str()).collect();
    assert!(
        missing.contains(&"cloudwatch:PutMetricAlarm"),
        "{missing:?}"
    );
    assert!(
        !missing.contains(&"application-autoscaling:PutScalingPolicy"),
        "{missing:?}"
    );
    assert_eq!(
        d.report.aws_calls[0], "sts:AssumeRole",
        "{:?}",
        d.report.aws_calls
    );
}

#[tokio::test]
async fn an_organization_hub_acts_in_its_active_accounts_and_lists_them_once() {
    use ecs_warden::invocation::clock::Clock;
    use ecs_warden::invocation::settings::MemberAccounts;

    // The hub's account is the organization's management account here; moto lists the
    // accounts the organization created.
    let hub = Account::new().await;
    let orgs = aws_sdk_organizations::Client::new(&hub.config_in("us-east-1"));
    orgs.create_organization()
        .feature_set(aws_sdk_organizations::types::OrganizationFeatureSet::All)
        .send()
        .await
        .expect("an organization");
    let mut members = Vec::new();
    for name in ["payments", "batch"] {
        let created = orgs
            .create_account()
            .account_name(name)
            .email(format!("{name}@example.com"))
            .send()
            .await
            .expect("an account");
        let id = created
            .create_account_status()
            .and_then(|s| s.account_id())
            .expect("the new account's id")
            .to_owned();
        let member = Account::with_id(&id).await;
        member.member_role_for(&hub).await;
        members.push(member);
    }
    let stranger = member_of(&hub).await;
    let (guard, _) = hub.hub_handler_of::<EcsRoleGuard>(
        Mode::Enforce,
        MemberAccounts::Organization,
        Clock::system(),
    );

    let first = answer(&guard, &members[0], "ecs-create-cluster.json").await;
    assert_eq!(
        statuses(&first),
        [("exists", Status::Created)],
        "{first:#?}"
    );
    assert!(first
        .aws_calls
        .iter()
        .any(|c| c == "organizations:ListAccounts"));
    let second = answer(&guard, &members[1], "ecs-create-cluster.json").await;
    assert_eq!(statuses(&second), [("exists", Status::Created)]);
    assert!(
        !second
            .aws_calls
            .iter()
            .any(|c| c == "organizations:ListAccounts"),
        "the list is kept: {:?}",
        second.aws_calls
    );
    for member in &members {
        assert!(member.role(SLR).await.is_some(), "{}", member.id);
    }
    let outside = answer(&guard, &stranger, "ecs-create-cluster.json").await;
    assert_eq!(statuses(&outside), [("account", Status::Skipped)]);
    assert!(outside.findings[0].detail.contains("not an ACTIVE account"));
    assert!(stranger.role(SLR).await.is_none());
}
