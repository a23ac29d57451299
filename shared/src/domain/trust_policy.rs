//! Trust policy documents: decode what IAM returns, find the grant a role needs, and add
//! it back without touching any other statement.

use percent_encoding::percent_decode_str;
use serde_json::{Map, Value};

/// Why a trust policy document cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BadTrustPolicy {
    /// The URL-decoded bytes are not UTF-8.
    #[error("trust policy is not UTF-8 once decoded: {0}")]
    NotUtf8(String),
    /// JSON, but not an object.
    #[error("trust policy is not a JSON object: {0}")]
    NotAnObject(String),
    /// Not JSON.
    #[error("trust policy is not JSON: {0}")]
    NotJson(String),
}

/// A parsed trust policy.
#[derive(Debug, Clone, PartialEq)]
pub struct TrustPolicy {
    doc: Map<String, Value>,
}

impl TrustPolicy {
    /// Parses a document as GetRole returns it (URL-encoded) or as written (plain JSON).
    pub fn parse(raw: &str) -> Result<Self, BadTrustPolicy> {
        let trimmed = raw.trim_start();
        // IAM URL-encodes the document; plain JSON always starts with '{', an encoded one
        // with "%7B", so decoding only non-JSON keeps a literal '%' inside a plain document.
        let text = if trimmed.starts_with('{') {
            trimmed.to_owned()
        } else {
            percent_decode_str(trimmed)
                .decode_utf8()
                .map_err(|e| BadTrustPolicy::NotUtf8(e.to_string()))?
                .into_owned()
        };
        match serde_json::from_str(&text) {
            Ok(Value::Object(doc)) => Ok(Self { doc }),
            Ok(other) => Err(BadTrustPolicy::NotAnObject(other.to_string())),
            Err(e) => Err(BadTrustPolicy::NotJson(e.to_string())),
        }
    }

    /// The document's `Version`, when it has one.
    pub fn version(&self) -> Option<&str> {
        self.doc.get("Version").and_then(Value::as_str)
    }

    /// The statements, whether `Statement` is a single object or a list.
    pub fn statements(&self) -> Vec<&Value> {
        match self.doc.get("Statement") {
            Some(Value::Array(list)) => list.iter().collect(),
            Some(single @ Value::Object(_)) => vec![single],
            _ => Vec::new(),
        }
    }

    /// Whether some statement allows `principal` (a service) to `sts:AssumeRole`.
    pub fn grants(&self, principal: &str) -> bool {
        self.statements()
            .into_iter()
            .any(|s| statement_grants(s, principal))
    }

    /// The statements other than the ones granting `principal`: reported, never removed.
    pub fn other_statements(&self, principal: &str) -> Vec<&Value> {
        self.statements()
            .into_iter()
            .filter(|s| !statement_grants(s, principal))
            .collect()
    }

    /// A copy with `required`'s statements appended, keeping every existing statement and
    /// the existing `Version`.
    pub fn with_statements_of(&self, required: &TrustPolicy) -> TrustPolicy {
        let mut statements: Vec<Value> = self.statements().into_iter().cloned().collect();
        statements.extend(required.statements().into_iter().cloned());
        let mut doc = self.doc.clone();
        if !doc.contains_key("Version") {
            if let Some(version) = required.version() {
                doc.insert("Version".into(), Value::String(version.into()));
            }
        }
        doc.insert("Statement".into(), Value::Array(statements));
        TrustPolicy { doc }
    }

    /// The document as compact JSON, ready for UpdateAssumeRolePolicy.
    pub fn to_json(&self) -> String {
        Value::Object(self.doc.clone()).to_string()
    }
}

impl TrustPolicy {
    /// Who besides AWS services may assume the role: the principals of every statement that
    /// allows an assume action (`sts:AssumeRole`, `...WithSAML`, `...WithWebIdentity`) to an
    /// account, user, role, federated or `*` principal, or to everyone but some
    /// (`NotPrincipal`). Empty when only services may.
    pub fn assumable_by_others(&self) -> Vec<String> {
        let mut others = Vec::new();
        for statement in self.statements() {
            let allows = statement.get("Effect").and_then(Value::as_str) == Some("Allow");
            let assumes = one_or_many(statement.get("Action")).any(|action| {
                let action = action.to_ascii_lowercase();
                action.starts_with("sts:assumerole") || action == "sts:*" || action == "*"
            }) || statement.get("NotAction").is_some();
            if !(allows && assumes) {
                continue;
            }
            if statement.get("NotPrincipal").is_some() {
                others.push("NotPrincipal (everyone but those named)".to_owned());
            }
            match statement.get("Principal") {
                Some(Value::String(any)) => others.push(any.clone()),
                Some(Value::Object(kinds)) => {
                    for (kind, value) in kinds {
                        if kind != "Service" {
                            others.extend(one_or_many(Some(value)).map(|p| format!("{kind} {p}")));
                        }
                    }
                }
                _ => {}
            }
        }
        others
    }
}

fn statement_grants(statement: &Value, principal: &str) -> bool {
    let allows = statement.get("Effect").and_then(Value::as_str) == Some("Allow");
    let assumes = one_or_many(statement.get("Action")).any(|action| {
        // Action names are case-insensitive in IAM.
        let action = action.to_ascii_lowercase();
        action == "sts:assumerole" || action == "sts:*" || action == "*"
    });
    let trusts = one_or_many(statement.pointer("/Principal/Service")).any(|s| s == principal);
    allows && assumes && trusts
}

fn one_or_many(value: Option<&Value>) -> impl Iterator<Item = &str> {
    let items: Vec<&str> = match value {
        Some(Value::String(one)) => vec![one.as_str()],
        Some(Value::Array(many)) => many.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    items.into_iter()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::catalog::ECS_SERVICE_ROLE;

    #[test]
    fn decodes_the_url_encoded_form_get_role_returns() {
        let encoded = "%7B%22Version%22%3A%222008-10-17%22%2C%22Statement%22%3A%5B%7B%22Sid%22%3A%22%22%2C%22Effect%22%3A%22Allow%22%2C%22Principal%22%3A%7B%22Service%22%3A%22ecs.amazonaws.com%22%7D%2C%22Action%22%3A%22sts%3AAssumeRole%22%7D%5D%7D";
        let policy = TrustPolicy::parse(encoded).unwrap();
        assert_eq!(policy.version(), Some("2008-10-17"));
        assert!(policy.grants("ecs.amazonaws.com"));
    }

    #[test]
    fn accepts_lists_and_a_single_statement_object() {
        let policy = TrustPolicy::parse(
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow",
            "Principal":{"Service":["ec2.amazonaws.com","ecs.amazonaws.com"]},
            "Action":["sts:TagSession","STS:AssumeRole"]}}"#,
        )
        .unwrap();
        assert!(policy.grants("ecs.amazonaws.com"));
        assert!(!policy.grants("application-autoscaling.amazonaws.com"));
    }

    #[test]
    fn a_deny_or_another_action_does_not_grant() {
        for doc in [
            r#"{"Statement":[{"Effect":"Deny","Principal":{"Service":"ecs.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#,
            r#"{"Statement":[{"Effect":"Allow","Principal":{"Service":"ecs.amazonaws.com"},"Action":"sts:TagSession"}]}"#,
            r#"{"Statement":[{"Effect":"Allow","Principal":{"AWS":"ecs.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#,
        ] {
            assert!(
                !TrustPolicy::parse(doc).unwrap().grants("ecs.amazonaws.com"),
                "{doc}"
            );
        }
    }

    #[test]
    fn repair_appends_the_seed_statement_and_keeps_the_others() {
        let current = TrustPolicy::parse(
            r#"{"Version":"2012-10-17","Statement":[{"Sid":"Ci","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"sts:AssumeRole"}]}"#,
        )
        .unwrap();
        let seed = TrustPolicy::parse(ECS_SERVICE_ROLE.trust_policy).unwrap();
        let repaired = current.with_statements_of(&seed);
        assert!(repaired.grants("ecs.amazonaws.com"));
        assert_eq!(repaired.version(), Some("2012-10-17"));
        assert_eq!(repaired.statements().len(), 2);
        assert_eq!(repaired.statements()[0], current.statements()[0]);
        assert_eq!(repaired.other_statements("ecs.amazonaws.com").len(), 1);
    }

    #[test]
    fn anyone_but_a_service_who_may_assume_the_role_is_named() {
        let only_services = TrustPolicy::parse(
            r#"{"Statement":[{"Effect":"Allow","Principal":{"Service":["ecs.amazonaws.com","ec2.amazonaws.com"]},"Action":"sts:AssumeRole"}]}"#,
        )
        .unwrap();
        assert!(only_services.assumable_by_others().is_empty());
        let planted = TrustPolicy::parse(
            r#"{"Statement":[{"Effect":"Allow","Principal":{"Service":"ecs.amazonaws.com"},"Action":"sts:AssumeRole"},
                {"Effect":"Allow","Principal":{"AWS":["arn:aws:iam::111122223333:user/mallory"]},"Action":"sts:AssumeRole"},
                {"Effect":"Allow","Principal":"*","Action":["sts:TagSession","sts:AssumeRoleWithWebIdentity"]},
                {"Effect":"Deny","Principal":{"AWS":"*"},"Action":"sts:AssumeRole"}]}"#,
        )
        .unwrap();
        assert_eq!(
            planted.assumable_by_others(),
            ["AWS arn:aws:iam::111122223333:user/mallory", "*"]
        );
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        for raw in ["", "%7B", "%FF%FE", "[1]", "null"] {
            assert!(TrustPolicy::parse(raw).is_err(), "{raw:?}");
        }
    }
}
