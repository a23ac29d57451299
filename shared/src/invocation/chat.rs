//! The chat format of a notification: the custom notification schema that Amazon Q
//! Developer in chat applications (formerly AWS Chatbot) renders in Slack, Microsoft Teams
//! and Amazon Chime when it reads an SNS topic (its administrator guide, "Custom
//! notifications": `version` "1.0", `source` "custom", a `content` with `textType`
//! "client-markdown", `title`, `description`, `nextSteps`, `keywords`, and a `metadata`
//! with `threadId`, `summary`, `eventType`, `relatedResources`, `additionalContext`).
//!
//! A chat message is read by a person on a phone: a title that says what happened, a few
//! findings in markdown, and the event id that finds the full report in the logs. Whatever
//! does not fit is counted, never silently dropped.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::invocation::notice::{wire_name, Notice, Severity};
use crate::invocation::report::Finding;

/// The schema version Amazon Q Developer requires.
pub const VERSION: &str = "1.0";
/// The `source` of every custom notification.
pub const SOURCE: &str = "custom";
/// The one text type the schema supports: the chat platform's own markdown.
pub const TEXT_TYPE: &str = "client-markdown";
/// Findings a message lists before it counts the rest.
const LISTED: usize = 10;
/// A finding's detail beyond this many characters is cut: a chat line, not a report.
const DETAIL_CHARS: usize = 300;

/// A custom notification, as Amazon Q Developer in chat applications reads it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChatMessage {
    /// Always [`VERSION`].
    pub version: &'static str,
    /// Always [`SOURCE`].
    pub source: &'static str,
    /// The EventBridge id of the triggering event, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// What is shown.
    pub content: Content,
    /// How it is threaded and what it is about.
    pub metadata: Metadata,
}

/// The visible part of a custom notification.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Content {
    /// Always [`TEXT_TYPE`].
    pub text_type: &'static str,
    /// One line: what happened, with an emoji for how much it matters.
    pub title: String,
    /// The findings worth a person, in markdown.
    pub description: String,
    /// What to do next.
    pub next_steps: Vec<String>,
    /// Words the channel can filter on.
    pub keywords: Vec<String>,
}

/// The part of a custom notification that groups and describes it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Metadata {
    /// One thread per function and account, so a busy account does not flood a channel.
    pub thread_id: String,
    /// The notification's one-line summary (the SNS subject).
    pub summary: String,
    /// How much it matters: `failed`, `blocked`, `changed` or `would_change`.
    pub event_type: String,
    /// The resources the listed findings are about.
    pub related_resources: Vec<String>,
    /// What identifies the invocation.
    pub additional_context: BTreeMap<String, String>,
}

fn emoji(severity: Severity) -> &'static str {
    match severity {
        Severity::Failed => ":x:",
        Severity::Blocked => ":no_entry:",
        Severity::Changed => ":white_check_mark:",
        Severity::WouldChange => ":mag:",
    }
}

/// Markdown's code spans end at a backtick: keep resources inside theirs, and nothing in
/// them that Slack reads as a link or a mention.
fn code(text: &str) -> String {
    let text = text
        .replace('`', "'")
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace("://", ":\u{200B}//");
    format!("`{text}`")
}

/// Text from an event (a policy name, a tag value, a stopped reason) as plain words in
/// markdown: no emphasis, link, mention or heading it could carry survives. Slack's `<url|text>`
/// and `<!channel>` become entities, markdown's marks are escaped, and a URL is broken so
/// that no client links it.
fn plain(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\\' | '`' | '*' | '_' | '~' | '[' | ']' | '(' | ')' | '#' | '|' | '!' | '@' => {
                out.push('\\');
                out.push(c);
            }
            _ => out.push(c),
        }
    }
    out.replace("://", ":\u{200B}//")
}

fn line(finding: &Finding) -> String {
    let mut detail: String = finding.detail.chars().take(DETAIL_CHARS).collect();
    if detail.len() < finding.detail.len() {
        detail.push('…');
    }
    let detail = plain(&detail);
    format!(
        "• *{}* {} on {}: {}",
        wire_name(&finding.status),
        wire_name(&finding.check),
        code(&finding.resource),
        detail
    )
}

impl ChatMessage {
    /// The chat message of a notice about `account` (when the report names one).
    pub fn of(notice: &Notice<'_>, account: Option<&str>) -> Self {
        let severity = wire_name(&notice.severity);
        let summary = notice.subject();
        let listed = notice.findings.iter().take(LISTED);
        let mut lines: Vec<String> = listed.clone().map(|f| line(f)).collect();
        if let Some(outcome) = notice.outcome {
            lines.insert(0, format!("The deletion ended *{outcome}*."));
        }
        let rest = notice.findings.len().saturating_sub(LISTED) + notice.omitted;
        if rest > 0 {
            lines.push(format!("…and {rest} more finding(s) in the full report."));
        }
        let where_from = match notice.event_id {
            Some(id) => format!("event {}", code(id)),
            None => "a manual invocation".to_owned(),
        };
        let cause = notice
            .event
            .map(|e| format!(" after {}", code(e)))
            .unwrap_or_default();
        lines.push(format!(
            "_{} mode, {where_from}{cause}{}._",
            wire_name(&notice.mode),
            account
                .map(|a| format!(", account {}", code(a)))
                .unwrap_or_default()
        ));
        let find = match notice.event_id {
            Some(id) => format!(
                "Full report: the ecs-warden {} logs, event_id {id}",
                notice.function
            ),
            None => format!("Full report: the ecs-warden {} logs", notice.function),
        };
        let mut next_steps = vec![find];
        if notice.severity == Severity::WouldChange {
            next_steps.push(
                "Audit mode changed nothing: fix it by hand, or switch the stack's Mode to enforce"
                    .into(),
            );
        }
        let mut related: Vec<String> = listed
            .map(|f| f.resource.clone())
            .filter(|r| r.starts_with("arn:"))
            .collect();
        related.dedup();
        let mut context = BTreeMap::from([
            ("function".to_owned(), notice.function.to_owned()),
            ("mode".to_owned(), wire_name(&notice.mode)),
        ]);
        if let Some(id) = notice.event_id {
            context.insert("event_id".into(), id.to_owned());
        }
        if let Some(account) = account {
            context.insert("account".into(), account.to_owned());
        }
        Self {
            version: VERSION,
            source: SOURCE,
            id: notice.event_id.map(str::to_owned),
            content: Content {
                text_type: TEXT_TYPE,
                title: format!("{} {summary}", emoji(notice.severity)),
                description: lines.join("\n"),
                next_steps,
                keywords: vec![
                    "ecs-warden".into(),
                    notice.function.to_owned(),
                    severity.clone(),
                ],
            },
            metadata: Metadata {
                thread_id: format!(
                    "ecs-warden-{}-{}",
                    notice.function,
                    account.unwrap_or("account")
                ),
                summary,
                event_type: severity,
                related_resources: related,
                additional_context: context,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::invocation::checks::CheckId;
    use crate::invocation::report::{Report, Status};
    use crate::invocation::settings::Mode;
    use serde_json::Value;

    /// The documented schema, field by field: what Amazon Q Developer requires (`version`
    /// "1.0", `source` "custom") and the type of every optional field it reads. A field
    /// the schema does not have fails too.
    pub(crate) fn schema_problems(message: &Value) -> Vec<String> {
        let mut problems = Vec::new();
        let mut check = |ok: bool, what: &str| {
            if !ok {
                problems.push(what.to_owned());
            }
        };
        let strings = |v: &Value| v.as_array().is_some_and(|a| a.iter().all(Value::is_string));
        let only = |v: &Value, keys: &[&str]| {
            v.as_object()
                .is_some_and(|o| o.keys().all(|k| keys.contains(&k.as_str())))
        };
        check(message["version"] == "1.0", "version must be 1.0");
        check(message["source"] == "custom", "source must be custom");
        check(
            only(message, &["version", "source", "id", "content", "metadata"]),
            "top-level fields",
        );
        check(
            message.get("id").is_none_or(Value::is_string),
            "id is a string",
        );
        let content = &message["content"];
        check(
            only(
                content,
                &["textType", "title", "description", "nextSteps", "keywords"],
            ),
            "content fields",
        );
        check(
            content
                .get("textType")
                .is_none_or(|t| t == "client-markdown"),
            "textType is client-markdown",
        );
        for field in ["title", "description"] {
            check(
                content.get(field).is_none_or(Value::is_string),
                "title and description are strings",
            );
        }
        for field in ["nextSteps", "keywords"] {
            check(
                content.get(field).is_none_or(strings),
                "nextSteps and keywords are lists of strings",
            );
        }
        let metadata = &message["metadata"];
        if !metadata.is_null() {
            check(
                only(
                    metadata,
                    &[
                        "threadId",
                        "summary",
                        "eventType",
                        "relatedResources",
                        "additionalContext",
                    ],
                ),
                "metadata fields",
            );
            for field in ["threadId", "summary", "eventType"] {
                check(
                    metadata.get(field).is_none_or(Value::is_string),
                    "metadata strings",
                );
            }
            check(
                metadata.get("relatedResources").is_none_or(strings),
                "relatedResources is a list of strings",
            );
            check(
                metadata.get("additionalContext").is_none_or(|c| {
                    c.as_object()
                        .is_some_and(|o| o.values().all(Value::is_string))
                }),
                "additionalContext maps strings to strings",
            );
        }
        problems
    }

    fn report(findings: Vec<Finding>) -> Report {
        Report::new(
            "scaling-guard",
            Mode::Audit,
            Some("e-7".into()),
            Some("aws.application-autoscaling:PutScalingPolicy".into()),
            findings,
            vec![],
        )
    }

    #[test]
    fn a_notice_reads_as_the_documented_custom_notification() {
        let r = report(vec![
            Finding::new(
                "arn:aws:autoscaling:eu-west-1:111122223333:scalingPolicy:x",
                CheckId::new("step_alarm", None),
                Status::WouldCreate,
                "no alarm invokes `this` policy",
            ),
            Finding::new(
                "arn:r2",
                CheckId::new("exists", None),
                Status::Compliant,
                "fine",
            ),
        ]);
        let notice = Notice::of(&r).unwrap();
        let message = serde_json::to_value(ChatMessage::of(&notice, Some("111122223333"))).unwrap();
        assert_eq!(
            schema_problems(&message),
            Vec::<String>::new(),
            "{message:#}"
        );
        assert_eq!(message["id"], "e-7");
        let content = &message["content"];
        assert_eq!(
            content["title"],
            ":mag: ecs-warden scaling-guard: 1 would_create"
        );
        let description = content["description"].as_str().unwrap();
        assert!(
            // The detail's backticks come from event data: escaped, not a code span.
            description.starts_with("• *would_create* step_alarm on `arn:aws:autoscaling:eu-west-1:111122223333:scalingPolicy:x`: no alarm invokes \\`this\\` policy"),
            "{description}"
        );
        assert!(description.contains("event `e-7`"), "{description}");
        assert!(
            !description.contains("fine"),
            "compliant findings are not listed"
        );
        assert!(content["nextSteps"][0]
            .as_str()
            .unwrap()
            .contains("event_id e-7"));
        assert_eq!(
            message["metadata"]["threadId"],
            "ecs-warden-scaling-guard-111122223333"
        );
        assert_eq!(
            message["metadata"]["additionalContext"]["account"],
            "111122223333"
        );
        assert_eq!(message["metadata"]["eventType"], "would_change");
    }

    #[test]
    fn a_long_report_lists_ten_findings_and_counts_the_rest() {
        let findings = (0..25)
            .map(|i| {
                Finding::new(
                    format!("arn:r{i}"),
                    CheckId::new("exists", None),
                    Status::Failed,
                    "x".repeat(1000),
                )
            })
            .collect();
        let r = report(findings);
        let notice = Notice::of(&r).unwrap();
        let message = serde_json::to_value(ChatMessage::of(&notice, None)).unwrap();
        assert!(schema_problems(&message).is_empty());
        let description = message["content"]["description"].as_str().unwrap();
        assert_eq!(description.matches("• ").count(), 10);
        assert!(
            description.contains("…and 15 more finding(s)"),
            "{description}"
        );
        assert!(
            description.len() < 4_000,
            "{} characters",
            description.len()
        );
        assert_eq!(
            message["content"]["title"],
            ":x: ecs-warden scaling-guard: 25 failed"
        );
    }

    #[test]
    fn event_data_cannot_inject_links_mentions_or_marks() {
        let hostile = "policy [click](https://evil.example) <https://evil.example|sign in> <!channel> *bold* `x`";
        let text = plain(hostile);
        for injected in ["](", "<http", "<!channel>", "https://", "*bold*", "`x`"] {
            assert!(!text.contains(injected), "{injected} survived in {text}");
        }
        assert!(text.contains("evil.example"), "the words are kept: {text}");
        let finding = Finding::new(
            "arn:aws:iam::111122223333:role/x`](https://evil.example)",
            CheckId::new("managed_policy", None),
            Status::Failed,
            hostile,
        );
        let line = line(&finding);
        assert!(!line.contains("](https://"), "{line}");
        assert!(!line.contains("<!channel>"), "{line}");
    }

    #[test]
    fn the_schema_check_fails_what_the_schema_refuses() {
        let good = serde_json::json!({"version": "1.0", "source": "custom", "content": {"description": "d"}});
        assert!(schema_problems(&good).is_empty());
        for bad in [
            serde_json::json!({"version": "2.0", "source": "custom", "content": {}}),
            serde_json::json!({"version": "1.0", "source": "ecs-warden", "content": {}}),
            serde_json::json!({"version": "1.0", "source": "custom", "content": {"textType": "plain"}}),
            serde_json::json!({"version": "1.0", "source": "custom", "content": {"nextSteps": "do"}}),
            serde_json::json!({"version": "1.0", "source": "custom", "content": {}, "findings": []}),
        ] {
            assert!(!schema_problems(&bad).is_empty(), "{bad}");
        }
    }
}
