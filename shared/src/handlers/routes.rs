//! Which functions the template's EventBridge rules deliver an event to, decided here the
//! way EventBridge decides it, so that `ecs-warden replay` runs exactly those.
//!
//! The rules are data: `rules.json`, generated from `template.yaml` by
//! `scripts/rule_table.py` (and checked against it by `make template-check`). The matcher
//! implements the parts of EventBridge's pattern language the template uses (exact values,
//! `exists`, `prefix`, `anything-but` of values or of a prefix, `$or`), and two things a
//! pattern does not say: a rule in state `ENABLED` receives no read-only management event
//! (only `ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS` does), and a rule of the
//! us-east-1 stack alone (`IsUsEast1`) sees only that region's events. The contract test
//! holds the answers against EventBridge's own matcher for every sample in `events/`.

use std::sync::OnceLock;

use serde::Deserialize;
use serde_json::{Map, Value};

/// The template's rules, as `scripts/rule_table.py` wrote them.
const RULES: &str = include_str!("rules.json");

/// The state that delivers read-only management events too.
const ALL_MANAGEMENT_EVENTS: &str = "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS";

/// One EventBridge rule of the template.
#[derive(Debug, Clone, Deserialize)]
pub struct Rule {
    /// `Resource.Event` for a function's own rule, the resource's name otherwise.
    pub name: String,
    /// The functions the rule runs (through a state machine for some).
    pub functions: Vec<String>,
    /// `ENABLED` or `ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS`.
    pub state: String,
    /// Whether the rule exists only in the us-east-1 stack.
    pub us_east_1_only: bool,
    /// The event pattern, `${AWS::Partition}` and `${AWS::AccountId}` left to fill in.
    pub pattern: Value,
}

#[derive(Deserialize)]
struct Table {
    rules: Vec<Rule>,
}

/// Every rule of the template.
pub fn rules() -> &'static [Rule] {
    static PARSED: OnceLock<Vec<Rule>> = OnceLock::new();
    PARSED.get_or_init(|| {
        serde_json::from_str::<Table>(RULES)
            .map(|t| t.rules)
            .unwrap_or_default()
    })
}

/// The rules that deliver `event`, in the template's order.
pub fn matching(event: &Value) -> Vec<&'static Rule> {
    let text = |key: &str| event.get(key).and_then(Value::as_str).unwrap_or_default();
    let region = text("region");
    let account = text("account");
    let partition = crate::aws::ids::partition(region);
    let read_only = event
        .pointer("/detail/readOnly")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    rules()
        .iter()
        .filter(|rule| !rule.us_east_1_only || region == "us-east-1")
        .filter(|rule| !read_only || rule.state == ALL_MANAGEMENT_EVENTS)
        .filter(|rule| {
            let pattern = fill(&rule.pattern, partition, account);
            matches_object(&pattern, event)
        })
        .collect()
}

/// The functions the template's rules deliver `event` to, each once, sorted.
pub fn functions_for(event: &Value) -> Vec<&'static str> {
    let mut found: Vec<&'static str> = matching(event)
        .into_iter()
        .flat_map(|rule| rule.functions.iter().map(String::as_str))
        .collect();
    found.sort_unstable();
    found.dedup();
    found
}

/// `pattern` with the event's partition and account where the template had `!Sub`.
fn fill(pattern: &Value, partition: &str, account: &str) -> Value {
    match pattern {
        Value::String(s) => Value::String(
            s.replace("${AWS::Partition}", partition)
                .replace("${AWS::AccountId}", account),
        ),
        Value::Array(items) => {
            Value::Array(items.iter().map(|v| fill(v, partition, account)).collect())
        }
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), fill(v, partition, account)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// Whether every key of `pattern` matches `event`'s field of that name; `$or` holds when
/// one of its patterns does.
fn matches_object(pattern: &Value, event: &Value) -> bool {
    let Value::Object(fields) = pattern else {
        return false;
    };
    fields.iter().all(|(key, expected)| {
        if key == "$or" {
            return expected
                .as_array()
                .is_some_and(|any| any.iter().any(|p| matches_object(p, event)));
        }
        let found = event.get(key);
        match expected {
            Value::Object(_) => found.is_some_and(|f| f.is_object() && matches_object(expected, f)),
            Value::Array(allowed) => matches_field(allowed, found),
            _ => false,
        }
    })
}

/// Whether a field's value (`None`: absent) is one `allowed` accepts; an array value
/// matches when one of its elements does.
fn matches_field(allowed: &[Value], found: Option<&Value>) -> bool {
    let values: Vec<&Value> = match found {
        None => Vec::new(),
        Some(Value::Array(items)) => items.iter().collect(),
        Some(one) => vec![one],
    };
    allowed.iter().any(|rule| match rule {
        Value::Object(op) => matches_operator(op, found.is_some(), &values),
        literal => values.contains(&literal),
    })
}

fn matches_operator(op: &Map<String, Value>, present: bool, values: &[&Value]) -> bool {
    if let Some(exists) = op.get("exists").and_then(Value::as_bool) {
        return exists == present;
    }
    if let Some(prefix) = op.get("prefix").and_then(Value::as_str) {
        return values
            .iter()
            .any(|v| v.as_str().is_some_and(|s| s.starts_with(prefix)));
    }
    if let Some(excluded) = op.get("anything-but") {
        // EventBridge: anything-but matches a field that is present and not excluded.
        return present
            && values.iter().any(|v| match excluded {
                Value::Object(inner) => match inner.get("prefix").and_then(Value::as_str) {
                    Some(prefix) => v.as_str().is_some_and(|s| !s.starts_with(prefix)),
                    None => false,
                },
                Value::Array(list) => !list.contains(v),
                one => *v != one,
            });
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_table_is_read_and_names_every_event_driven_function() {
        let functions: Vec<&str> = rules()
            .iter()
            .flat_map(|r| r.functions.iter().map(String::as_str))
            .collect();
        for f in [
            "ecs-role-guard",
            "scaling-guard",
            "role-drift-guard",
            "access-doctor",
            "task-doctor",
            "slr-deletion",
        ] {
            assert!(functions.contains(&f), "no rule runs {f}");
        }
    }

    #[test]
    fn operators_behave_as_eventbridge_documents_them() {
        let event = json!({"a": "abc", "list": ["x", "y"], "n": {"m": "v"}});
        let holds = |p: Value| matches_object(&p, &event);
        assert!(holds(json!({"a": ["abc"]})));
        assert!(holds(json!({"list": ["y"]})));
        assert!(holds(json!({"a": [{"prefix": "ab"}]})));
        assert!(!holds(json!({"a": [{"prefix": "b"}]})));
        assert!(holds(json!({"gone": [{"exists": false}]})));
        assert!(!holds(json!({"a": [{"exists": false}]})));
        assert!(holds(json!({"a": [{"anything-but": "x"}]})));
        assert!(!holds(json!({"a": [{"anything-but": ["abc"]}]})));
        assert!(!holds(json!({"gone": [{"anything-but": "x"}]})));
        assert!(!holds(json!({"a": [{"anything-but": {"prefix": "a"}}]})));
        assert!(holds(json!({"n": {"m": ["v"]}})));
        assert!(holds(json!({"$or": [{"a": ["no"]}, {"n": {"m": ["v"]}}]})));
        assert!(!holds(json!({"$or": [{"a": ["no"]}, {"n": {"m": ["w"]}}]})));
    }
}
