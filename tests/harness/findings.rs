//! Reading answers: the findings in an answer's JSON, and the writes in a call log.

use ecs_warden::invocation::report::{Report, Status};
use serde_json::Value;

/// The write operations a call log contains.
pub fn writes(calls: &[String]) -> Vec<&String> {
    calls
        .iter()
        .filter(|c| is_write(c.split_once(':').map_or(c.as_str(), |(_, op)| op)))
        .collect()
}

/// Whether an operation (`DeleteService`, no service prefix) changes something. AssumeRole
/// changes nothing in the account whose role it assumes.
pub fn is_write(operation: &str) -> bool {
    const READS: [&str; 6] = [
        "Get",
        "List",
        "Describe",
        "Simulate",
        "Generate",
        "AssumeRole",
    ];
    !READS.iter().any(|r| operation.starts_with(r))
}

/// One finding as an answer's JSON holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FoundFinding {
    /// The resource.
    pub resource: String,
    /// The check.
    pub check: String,
    /// The status, as its wire name (`created`, `failed`, ...).
    pub status: String,
    /// The detail.
    pub detail: String,
}

/// Every finding in an answer's JSON, wherever it sits (a report, a sweep, a deletion
/// step), in document order.
pub fn findings_in(answer: &Value) -> Vec<FoundFinding> {
    fn walk(value: &Value, out: &mut Vec<FoundFinding>) {
        match value {
            Value::Object(map) => {
                let field = |k: &str| map.get(k).and_then(Value::as_str).map(str::to_owned);
                if let (Some(resource), Some(check), Some(status), Some(detail)) = (
                    field("resource"),
                    field("check"),
                    field("status"),
                    field("detail"),
                ) {
                    out.push(FoundFinding {
                        resource,
                        check,
                        status,
                        detail,
                    });
                }
                map.values().for_each(|v| walk(v, out));
            }
            Value::Array(items) => items.iter().for_each(|v| walk(v, out)),
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(answer, &mut out);
    out
}

/// Each finding's check and status, in order.
pub fn statuses(report: &Report) -> Vec<(&'static str, Status)> {
    report
        .findings
        .iter()
        .map(|f| (f.check.as_str(), f.status))
        .collect()
}
