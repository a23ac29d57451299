//! Metrics without API calls: one CloudWatch Embedded Metric Format (EMF) line per
//! invocation, written to standard output beside the tracing logs. CloudWatch Logs turns
//! it into metrics in the `ecs-warden` namespace (CloudWatch User Guide, "Specification:
//! Embedded metric format"), so counting findings costs no PutMetricData call, no
//! permission and no latency.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{json, Map, Value};

use crate::invocation::report::{Report, Status};

/// The metrics' namespace.
pub const NAMESPACE: &str = "ecs-warden";

/// Every finding status, as the metric that counts it (always written, 0 included, so a
/// dashboard's sum over time has no gaps).
const STATUSES: [(Status, &str); 7] = [
    (Status::Compliant, "Compliant"),
    (Status::Created, "Created"),
    (Status::Repaired, "Repaired"),
    (Status::WouldCreate, "WouldCreate"),
    (Status::WouldRepair, "WouldRepair"),
    (Status::Skipped, "Skipped"),
    (Status::Failed, "Failed"),
];

/// How an invocation ended, the `status` dimension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Answered, nothing failed.
    Ok,
    /// Answered with at least one `failed` finding.
    Failed,
    /// The input was rejected before any call.
    Rejected,
}

impl Outcome {
    fn as_str(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::Failed => "failed",
            Self::Rejected => "rejected",
        }
    }
}

/// The EMF document of one invocation of `function` in `region` that took `took`:
/// finding counts by status, AWS calls and duration, under one dimension set, (function,
/// status). Metrics are regional already, so `region` is a property, searchable in the
/// logs, not a dimension: each dimension value is billed as metrics of its own.
pub fn document(function: &str, region: &str, report: Option<&Report>, took: Duration) -> Value {
    let outcome = match report {
        None => Outcome::Rejected,
        Some(r) if r.summary.get(&Status::Failed).is_some_and(|n| *n > 0) => Outcome::Failed,
        Some(_) => Outcome::Ok,
    };
    let empty = BTreeMap::new();
    let summary = report.map_or(&empty, |r| &r.summary);
    let mut root = Map::new();
    let mut metrics = Vec::new();
    for (status, name) in STATUSES {
        root.insert(
            name.into(),
            json!(summary.get(&status).copied().unwrap_or(0)),
        );
        metrics.push(json!({"Name": name, "Unit": "Count"}));
    }
    root.insert(
        "AwsCalls".into(),
        json!(report.map_or(0, |r| r.aws_calls.len())),
    );
    metrics.push(json!({"Name": "AwsCalls", "Unit": "Count"}));
    root.insert("Duration".into(), json!(took.as_secs_f64() * 1000.0));
    metrics.push(json!({"Name": "Duration", "Unit": "Milliseconds"}));
    root.insert("function".into(), json!(function));
    root.insert("status".into(), json!(outcome.as_str()));
    root.insert("region".into(), json!(region));
    let timestamp = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis());
    root.insert(
        "_aws".into(),
        json!({
            "Timestamp": timestamp,
            "CloudWatchMetrics": [{
                "Namespace": NAMESPACE,
                "Dimensions": [["function", "status"]],
                "Metrics": metrics,
            }],
        }),
    );
    Value::Object(root)
}

/// Writes the invocation's EMF line to standard output: Lambda sends it to the function's
/// log group, where CloudWatch extracts the metrics (a line of its own, not a tracing
/// event, which would wrap it in another JSON object).
pub fn emit(function: &str, region: &str, report: Option<&Report>, took: Duration) {
    println!("{}", document(function, region, report, took));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::invocation::checks::CheckId;
    use crate::invocation::report::Finding;
    use crate::invocation::settings::Mode;

    /// What the specification requires of a document CloudWatch will extract metrics from:
    /// a `_aws` object with a millisecond `Timestamp` and directives, each with a
    /// namespace, dimension sets of at most 30 keys, at most 100 metrics with a name and a
    /// standard unit, and every key they name present at the root with a string (a
    /// dimension) or a number (a metric).
    fn assert_emf(doc: &Value) {
        let aws = &doc["_aws"];
        assert!(aws["Timestamp"]
            .as_u64()
            .is_some_and(|t| t > 1_600_000_000_000));
        let directives = aws["CloudWatchMetrics"].as_array().expect("directives");
        assert!(!directives.is_empty());
        for directive in directives {
            let namespace = directive["Namespace"].as_str().expect("a namespace");
            assert!((1..=255).contains(&namespace.len()));
            for set in directive["Dimensions"].as_array().expect("dimension sets") {
                let keys = set.as_array().expect("a dimension set");
                assert!(keys.len() <= 30);
                for key in keys {
                    let key = key.as_str().expect("a dimension name");
                    assert!(doc[key].is_string(), "dimension {key} must be a string");
                }
            }
            let metrics = directive["Metrics"].as_array().expect("metrics");
            assert!(metrics.len() <= 100);
            for metric in metrics {
                let name = metric["Name"].as_str().expect("a metric name");
                assert!(doc[name].is_number(), "metric {name} must be a number");
                let unit = metric["Unit"].as_str().unwrap_or("None");
                assert!(["Count", "Milliseconds", "None"].contains(&unit), "{unit}");
            }
        }
    }

    #[test]
    fn an_answer_is_counted_by_status_under_function_and_outcome() {
        let report = Report::new(
            "ecs-role-guard",
            Mode::Enforce,
            None,
            None,
            vec![
                Finding::new("a", CheckId::new("exists", None), Status::Created, ""),
                Finding::new("b", CheckId::new("trust", None), Status::Failed, ""),
            ],
            vec!["iam:GetRole".into(), "iam:CreateServiceLinkedRole".into()],
        );
        let doc = document(
            "ecs-role-guard",
            "eu-west-1",
            Some(&report),
            Duration::from_millis(12),
        );
        assert_emf(&doc);
        assert_eq!(doc["Created"], 1);
        assert_eq!(doc["Failed"], 1);
        assert_eq!(doc["Repaired"], 0);
        assert_eq!(doc["AwsCalls"], 2);
        assert_eq!(doc["status"], "failed");
        assert_eq!(doc["region"], "eu-west-1");
        assert_eq!(doc["_aws"]["CloudWatchMetrics"][0]["Namespace"], NAMESPACE);
    }

    #[test]
    fn a_rejected_input_is_counted_with_no_findings() {
        let doc = document("reconcile", "eu-west-1", None, Duration::from_millis(1));
        assert_emf(&doc);
        assert_eq!(doc["status"], "rejected");
        assert_eq!(doc["AwsCalls"], 0);
        // One line: it must parse back as itself.
        let line = doc.to_string();
        assert!(!line.contains('\n'));
        assert_eq!(serde_json::from_str::<Value>(&line).unwrap(), doc);
    }
}
