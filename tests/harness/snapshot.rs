//! Snapshots of what an account holds, comparable across accounts: the faulty runs must
//! end where the clean one does.

use ecs_warden::domain::trust_policy::TrustPolicy;
use serde_json::Value;

use crate::*;

impl Account {
    /// What the account holds that the functions write, with its id replaced by
    /// `ACCOUNT`: every role (path, trust, description, managed and inline policies) and,
    /// in each of `regions`, every alarm and every ECS cluster and service. Two accounts
    /// that went through the same events hold the same snapshot.
    pub async fn snapshot(&self, regions: &[&str]) -> Value {
        let mut roles = serde_json::Map::new();
        let listed = self
            .iam
            .list_roles()
            .into_paginator()
            .items()
            .send()
            .collect::<Result<Vec<_>, _>>()
            .await
            .expect("list roles");
        for role in listed {
            let name = role.role_name().to_owned();
            let inline = self
                .iam
                .list_role_policies()
                .role_name(&name)
                .send()
                .await
                .expect("list role policies");
            let trust = TrustPolicy::parse(role.assume_role_policy_document().unwrap_or("{}"))
                .expect("a trust policy that parses");
            let trust: Value = serde_json::from_str(&trust.to_json()).expect("trust JSON");
            roles.insert(
                name.clone(),
                serde_json::json!({
                    "path": role.path(),
                    "trust": trust,
                    "description": role.description(),
                    "managed": self.attached(&name).await,
                    "inline": inline.policy_names(),
                }),
            );
        }
        let mut by_region = serde_json::Map::new();
        for region in regions {
            let clients = RegionClients::new(&self.config_in(region));
            let mut alarms: Vec<Value> = clients
                .alarms()
                .await
                .iter()
                .map(|a| {
                    let mut dimensions: Vec<(String, String)> = a
                        .dimensions()
                        .iter()
                        .map(|d| {
                            let field = |v: Option<&str>| v.unwrap_or_default().to_owned();
                            (field(d.name()), field(d.value()))
                        })
                        .collect();
                    dimensions.sort();
                    serde_json::json!({
                        "name": a.alarm_name(),
                        "namespace": a.namespace(),
                        "metric": a.metric_name(),
                        "dimensions": dimensions,
                        "statistic": a.statistic().map(|s| s.as_str()),
                        "comparison": a.comparison_operator().map(|c| c.as_str()),
                        "threshold": a.threshold(),
                        "periods": a.evaluation_periods(),
                        "period": a.period(),
                        "actions": a.alarm_actions(),
                    })
                })
                .collect();
            alarms.sort_by_key(|a| a["name"].to_string());
            by_region.insert(
                region.to_string(),
                serde_json::json!({ "alarms": alarms, "clusters": clients.ecs_state().await }),
            );
        }
        let held = serde_json::json!({ "roles": roles, "regions": by_region });
        let text = without_uuids(&held.to_string().replace(&self.id, "ACCOUNT"));
        let mut held: Value = serde_json::from_str(&text).expect("the snapshot stays JSON");
        for region in regions {
            if let Some(Value::Array(alarms)) = held["regions"][region].get_mut("alarms") {
                let mut seen = Vec::new();
                alarms.retain(|a| !is_managed_copy(a, &mut seen));
            }
        }
        held
    }
}

/// Whether `alarm` is a copy, once UUIDs are out, of a target-tracking alarm already
/// `seen`. Moto differs from AWS here: its PutScalingPolicy on an existing target-tracking
/// policy builds a new policy with a fresh pair of alarms and leaves the old pair in place
/// (moto/applicationautoscaling/models.py, `put_scaling_policy`), where Application Auto
/// Scaling updates the alarms it manages for the policy. A write retried after its answer
/// was lost (the SDK's retry, or a redelivery) therefore leaves extra copies on moto only;
/// one of each is what AWS would hold.
fn is_managed_copy(alarm: &Value, seen: &mut Vec<Value>) -> bool {
    let managed = alarm["name"]
        .as_str()
        .is_some_and(|n| n.starts_with("TargetTracking-"));
    if !managed {
        return false;
    }
    if seen.contains(alarm) {
        return true;
    }
    seen.push(alarm.clone());
    false
}

/// `text` with every UUID replaced by `UUID`: moto names target-tracking alarms and policy
/// ARNs with random ones, which differ between two accounts holding the same thing.
pub fn without_uuids(text: &str) -> String {
    const GROUPS: [usize; 5] = [8, 4, 4, 4, 12];
    let is_uuid = |s: &[u8]| {
        let mut at = 0;
        GROUPS.iter().enumerate().all(|(i, &n)| {
            let ok = s[at..at + n].iter().all(u8::is_ascii_hexdigit)
                && (i == GROUPS.len() - 1 || s[at + n] == b'-');
            at += n + 1;
            ok
        })
    };
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < bytes.len() {
        if i + 36 <= bytes.len() && is_uuid(&bytes[i..i + 36]) {
            out.push_str("UUID");
            i += 36;
        } else {
            let c = text[i..].chars().next().expect("a char at a boundary");
            out.push(c);
            i += c.len_utf8();
        }
    }
    out
}
