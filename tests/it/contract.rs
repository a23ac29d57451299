//! The contract between `template.yaml` and `events/`: every rule of the template asked,
//! through EventBridge's TestEventPattern on the harness's moto, whether it matches every
//! sample. Each sample must reach the function it was written for and no other, and the
//! negative samples (`ignored-*.json`) none.
//!
//! What TestEventPattern does not model is modelled here, as AWS documents it:
//! - a rule in state `ENABLED` never receives a read-only management event (`readOnly:
//!   true`); one in `ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS` does (EventBridge User
//!   Guide, "Receiving read-only management events from AWS services");
//! - a rule with condition `IsUsEast1` exists only in the us-east-1 stack, and an event is
//!   delivered on the default bus of its own region.
//!
//! A member account of a hub forwards with `member.yaml`'s rules: each sample a
//! template rule delivers must be forwarded by the member rule made from it, and no other.

use std::collections::BTreeMap;

use warden_tests::Account;

const ALL_MANAGEMENT_EVENTS: &str = "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS";

/// Where each EventBridge sample must go. Files that are not EventBridge events (manual
/// inputs, deletion states) are not routed by rules and are not listed.
const ROUTES: &[(&str, &[&str])] = &[
    (
        "access-denied-create-auto-scaling-group.json",
        &["access-doctor"],
    ),
    (
        "access-denied-create-service-linked-role.json",
        &["access-doctor"],
    ),
    (
        "access-denied-describe-scaling-policies.json",
        &["access-doctor"],
    ),
    ("access-denied-put-scaling-policy.json", &["access-doctor"]),
    // A refused CreateService is ecs-role-guard's too: it may have failed for want of the
    // service-linked role.
    (
        "access-denied-create-service-tag-resource.json",
        &["access-doctor", "ecs-role-guard"],
    ),
    (
        "access-denied-register-task-definition-pass-role.json",
        &["access-doctor"],
    ),
    ("autoscaling-delete-scaling-policy.json", &["scaling-guard"]),
    ("autoscaling-put-step-policy-mixed.json", &["scaling-guard"]),
    (
        "autoscaling-put-step-policy-scale-in.json",
        &["scaling-guard"],
    ),
    ("autoscaling-put-step-policy.json", &["scaling-guard"]),
    (
        "autoscaling-put-target-tracking-policy.json",
        &["scaling-guard"],
    ),
    (
        "autoscaling-register-scalable-target-role.json",
        &["scaling-guard"],
    ),
    (
        "autoscaling-register-scalable-target.json",
        &["scaling-guard"],
    ),
    ("ecs-create-cluster-failed.json", &["ecs-role-guard"]),
    ("ecs-create-cluster.json", &["ecs-role-guard"]),
    ("ecs-create-service-failed-slr.json", &["ecs-role-guard"]),
    (
        "ecs-create-service-infrastructure-role.json",
        &["ecs-role-guard"],
    ),
    ("ecs-create-service-legacy-role.json", &["ecs-role-guard"]),
    ("ecs-create-service-role-arn.json", &["ecs-role-guard"]),
    ("ecs-create-service.json", &["ecs-role-guard"]),
    ("ecs-update-service.json", &["ecs-role-guard"]),
    // ECS's own events, not CloudTrail's: a task that never started, a service that could
    // not start one, and a task a user stopped, which no rule takes.
    (
        "ecs-service-task-configuration-failure.json",
        &["task-doctor"],
    ),
    ("ecs-task-failed-network.json", &["task-doctor"]),
    ("ecs-task-failed-secret.json", &["task-doctor"]),
    ("iam-delete-role-policy.json", &["role-drift-guard"]),
    ("iam-delete-role.json", &["role-drift-guard"]),
    ("iam-delete-service-linked-role.json", &["slr-deletion"]),
    ("iam-detach-role-policy.json", &["role-drift-guard"]),
    ("iam-put-role-policy.json", &["role-drift-guard"]),
    // ecs-warden's own repair comes back as an event and finds the role compliant.
    (
        "iam-update-assume-role-policy-by-warden.json",
        &["role-drift-guard"],
    ),
    ("iam-update-assume-role-policy.json", &["role-drift-guard"]),
    ("monitoring-delete-alarms.json", &["scaling-guard"]),
    // The schedule's event reaches reconcile through its state machine, not a pattern.
    ("reconcile-scheduled.json", &[]),
    // Negative samples: a successful EC2 Auto Scaling call, a scaling policy for a
    // DynamoDB table, a read that was not refused.
    ("ignored-describe-alarms.json", &[]),
    // ecs-warden's own DeleteServiceLinkedRole, from any region's state machine, is followed
    // by that execution: no second follow-up starts.
    ("ignored-iam-delete-service-linked-role-by-warden.json", &[]),
    ("ignored-iam-delete-service-linked-role-in-member.json", &[]),
    ("ignored-dynamodb-put-scaling-policy.json", &[]),
    ("ignored-ec2-create-auto-scaling-group.json", &[]),
    ("ignored-ecs-task-stopped-by-user.json", &[]),
];

/// The rules `tests/routes.py` read from `template`, by name.
fn rules_of(routes: &serde_json::Value) -> BTreeMap<String, Rule> {
    routes["rules"]
        .as_array()
        .expect("rules")
        .iter()
        .map(|r| {
            let condition = r["condition"].as_str().unwrap_or_default();
            assert!(
                condition.is_empty() || condition == "IsUsEast1",
                "a rule condition this test does not model: {condition}"
            );
            let rule = Rule {
                functions: serde_json::from_value(r["functions"].clone()).expect("functions"),
                state: r["state"].as_str().expect("state").to_owned(),
                us_east_1_only: condition == "IsUsEast1",
            };
            (r["name"].as_str().expect("name").to_owned(), rule)
        })
        .collect()
}

/// The rules of `routes` that deliver each sample, as the sample's region and kind allow.
fn delivering(routes: &serde_json::Value) -> BTreeMap<String, Vec<String>> {
    let rules = rules_of(routes);
    let matches = routes["matches"].as_object().expect("matches");
    matches
        .iter()
        .map(|(file, matched)| {
            let about = &routes["events"][file];
            let region = about["region"].as_str().unwrap_or_default();
            let read_only = about["read_only"].as_bool().unwrap_or(false);
            let names = matched
                .as_array()
                .expect("rule names")
                .iter()
                .map(|n| n.as_str().expect("a rule name").to_owned())
                .filter(|n| delivered(&rules[n], region, read_only, &rules[n].state))
                .collect();
            (file.clone(), names)
        })
        .collect()
}

/// A rule of the template as `tests/routes.py` read it.
struct Rule {
    functions: Vec<String>,
    state: String,
    us_east_1_only: bool,
}

/// Whether EventBridge delivers an event that matched `rule`'s pattern to its targets.
fn delivered(rule: &Rule, region: &str, read_only: bool, state: &str) -> bool {
    (!rule.us_east_1_only || region == "us-east-1")
        && (!read_only || state == ALL_MANAGEMENT_EVENTS)
}

#[tokio::test(flavor = "multi_thread")]
async fn every_sample_reaches_its_function_and_no_other() {
    let account = Account::new().await;
    let routes = account.routes();
    let rules = rules_of(&routes);
    // Every event-driven function has a rule; reconcile is started by its schedule.
    for function in [
        "ecs-role-guard",
        "scaling-guard",
        "role-drift-guard",
        "slr-deletion",
        "access-doctor",
        "task-doctor",
    ] {
        assert!(
            rules
                .values()
                .any(|r| r.functions.iter().any(|f| f == function)),
            "no rule targets {function}"
        );
    }
    let matches = routes["matches"].as_object().expect("matches");
    let expected: BTreeMap<&str, &[&str]> = ROUTES.iter().copied().collect();
    let listed: Vec<&String> = matches.keys().collect();
    assert_eq!(
        listed,
        expected.keys().collect::<Vec<_>>(),
        "every EventBridge sample in events/ has its expected route here, and no other"
    );
    let mut problems = Vec::new();
    for (file, matched) in matches {
        let about = &routes["events"][file];
        let region = about["region"].as_str().unwrap_or_default();
        let read_only = about["read_only"].as_bool().unwrap_or(false);
        let mut reached: Vec<&str> = Vec::new();
        for name in matched.as_array().expect("rule names") {
            let rule = &rules[name.as_str().expect("a rule name")];
            if delivered(rule, region, read_only, &rule.state) {
                reached.extend(rule.functions.iter().map(String::as_str));
            } else if read_only && rule.state != ALL_MANAGEMENT_EVENTS {
                println!(
                    "{file}: matches {name}, whose state {} drops read-only events",
                    rule.state
                );
            }
            // A read-only sample shows why its rule needs the other state: as a plain
            // ENABLED rule it would never receive it.
            if read_only && rule.state == ALL_MANAGEMENT_EVENTS {
                assert!(
                    !delivered(rule, region, read_only, "ENABLED"),
                    "{file}: a read-only event must not reach an ENABLED rule"
                );
            }
        }
        reached.sort();
        reached.dedup();
        let want = expected[file.as_str()];
        println!("{file} -> {reached:?} (rules {matched})");
        if reached != want {
            problems.push(format!("{file}: reaches {reached:?}, written for {want:?}"));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    // The read-only sample proves the state is modelled: it reached access-doctor only
    // through a rule of the other state.
    let read = &matches["access-denied-describe-scaling-policies.json"];
    assert!(read
        .as_array()
        .expect("rules")
        .iter()
        .all(|name| rules[name.as_str().unwrap_or_default()].state == ALL_MANAGEMENT_EVENTS));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_member_account_forwards_to_the_hub_exactly_what_the_hub_handles() {
    let account = Account::new().await;
    let hub = delivering(&account.routes());
    let member = delivering(&account.routes_of("member.yaml"));
    assert_eq!(
        hub.keys().collect::<Vec<_>>(),
        member.keys().collect::<Vec<_>>()
    );
    for (file, rules) in &hub {
        // template.yaml's `Function.Event` and `Rule` become member.yaml's `ForwardEvent`
        // and `ForwardRule`.
        let mut want: Vec<String> = rules
            .iter()
            .map(|r| format!("Forward{}", r.rsplit('.').next().unwrap_or(r)))
            .collect();
        want.sort();
        let mut forwarded = member[file].clone();
        forwarded.sort();
        assert_eq!(forwarded, want, "{file}");
    }
    assert!(
        member.values().filter(|r| !r.is_empty()).count() >= 20,
        "the samples are forwarded: {member:?}"
    );
}

/// `ecs-warden replay` routes with the library's router (`handlers::routes`, the rules as
/// `scripts/rule_table.py` copied them from the template): for every sample it must answer
/// what EventBridge's matcher answers above.
#[test]
fn the_replay_router_routes_every_sample_as_eventbridge_does() {
    let expected: BTreeMap<&str, &[&str]> = ROUTES.iter().copied().collect();
    let mut problems = Vec::new();
    for (file, want) in &expected {
        let text = std::fs::read_to_string(warden_tests::root().join("events").join(file))
            .unwrap_or_else(|e| panic!("read events/{file}: {e}"));
        let event: serde_json::Value = serde_json::from_str(&text).expect("a sample is JSON");
        // reconcile's schedule reaches it through the state machine, which no pattern says.
        let want: Vec<&str> = if *file == "reconcile-scheduled.json" {
            Vec::new()
        } else {
            want.to_vec()
        };
        let routed = ecs_warden::handlers::routes::functions_for(&event);
        if routed != want {
            problems.push(format!(
                "{file}: the router says {routed:?}, EventBridge {want:?}"
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
