//! What a person sees: the exit status, tables that fit the terminal, colour only on a
//! terminal (and never with `NO_COLOR`), progress on standard error only.

use std::fmt;
use std::io::IsTerminal;
use std::process::ExitCode;
use std::time::Duration;

use comfy_table::presets::UTF8_FULL_CONDENSED;
use comfy_table::{Cell, Color, ContentArrangement, Table};
use ecs_warden::invocation::report::Status;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde_json::Value;

/// How a command that ran ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Everything is as ECS needs it (exit 0).
    Clear,
    /// Something needs doing, could not be done, or was refused (exit 2).
    NeedsDoing,
}

impl Verdict {
    /// `NeedsDoing` when `needs` holds.
    pub fn from_needs(needs: bool) -> Self {
        if needs {
            Self::NeedsDoing
        } else {
            Self::Clear
        }
    }

    /// The process's exit status.
    pub fn exit_code(self) -> ExitCode {
        match self {
            Self::Clear => ExitCode::SUCCESS,
            Self::NeedsDoing => ExitCode::from(2),
        }
    }
}

/// Why a command could not run: a message that says what to do (exit 1).
#[derive(Debug)]
pub struct CannotRun(pub String);

impl fmt::Display for CannotRun {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Prints why the program could not run and answers exit status 1.
pub fn cannot_run(message: &str) -> ExitCode {
    let prefix = if colour(std::io::stderr().is_terminal()) {
        "\x1b[1;31merror:\x1b[0m"
    } else {
        "error:"
    };
    eprintln!("ecs-warden: {prefix} {message}");
    ExitCode::from(1)
}

/// Whether to colour an output that `is_terminal`: only a terminal, and never with
/// `NO_COLOR` set (no-color.org).
pub fn colour(is_terminal: bool) -> bool {
    is_terminal && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

/// Whether standard output gets colour.
pub fn stdout_colour() -> bool {
    colour(std::io::stdout().is_terminal())
}

/// `30m`, `2h`, `1d` or plain seconds, as seconds.
pub fn parse_age(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let (number, unit) = text
        .find(|c: char| !c.is_ascii_digit())
        .map_or((text, "s"), |i| text.split_at(i));
    let n: u64 = number
        .parse()
        .map_err(|_| format!("{text:?} is not an age such as 30m, 2h or 1d"))?;
    let scale = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return Err(format!("{text:?}: the unit is one of s, m, h, d")),
    };
    // CloudTrail's event history keeps 90 days.
    let seconds = n * scale;
    if seconds == 0 || seconds > 90 * 86_400 {
        return Err(format!("{text:?}: give between 1s and 90d"));
    }
    Ok(seconds)
}

/// A spinner with a message on standard error, drawn only when it is a terminal.
pub struct Progress(ProgressBar);

impl Progress {
    /// Starts one saying `message`.
    pub fn start(message: impl Into<String>) -> Self {
        let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
        bar.set_style(
            ProgressStyle::with_template("{spinner} {msg} ({elapsed})")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        bar.set_message(message.into());
        bar.enable_steady_tick(Duration::from_millis(120));
        Self(bar)
    }

    /// Says `message` now.
    pub fn say(&self, message: impl Into<String>) {
        self.0.set_message(message.into());
    }

    /// A line above the spinner, kept after it goes (on a terminal; plain otherwise).
    pub fn note(&self, line: &str) {
        if self.0.is_hidden() {
            eprintln!("{line}");
        } else {
            self.0.println(line);
        }
    }

    /// Lines of the answer, on standard output, the spinner set aside while they print.
    pub fn print(&self, text: &str) {
        self.0.suspend(|| println!("{text}"));
    }

    /// Removes it.
    pub fn done(&self) {
        self.0.finish_and_clear();
    }
}

/// A status as a report names it (`would_create`).
pub fn status_name(status: Status) -> String {
    serde_json::to_value(status)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// Whether a status means something needs doing: missing, drifted or failed.
pub fn needs_doing(status: &str) -> bool {
    matches!(status, "would_create" | "would_repair" | "failed")
}

/// A status's colour in a table.
fn status_colour(status: &str) -> Color {
    match status {
        "compliant" => Color::Green,
        "created" | "repaired" => Color::Cyan,
        "would_create" | "would_repair" => Color::Yellow,
        "failed" => Color::Red,
        _ => Color::DarkGrey,
    }
}

/// The region an ARN names, `global` for IAM's, or the resource itself when it is a region.
pub fn region_of(resource: &str) -> String {
    let parts: Vec<&str> = resource.splitn(6, ':').collect();
    if parts.len() == 6 && parts[0] == "arn" {
        return if parts[3].is_empty() {
            "global".into()
        } else {
            parts[3].into()
        };
    }
    if ecs_warden::aws::ids::is_region_name(resource) {
        return resource.into();
    }
    "-".into()
}

/// The part of an ARN a person reads (`role/ecsServiceRole`); anything else as it is.
pub fn short_resource(resource: &str) -> &str {
    let parts: Vec<&str> = resource.splitn(6, ':').collect();
    if parts.len() == 6 && parts[0] == "arn" {
        parts[5]
    } else {
        resource
    }
}

/// One row of a findings table.
pub struct Row<'a> {
    /// The finding's status name.
    pub status: &'a str,
    /// The check's name.
    pub check: &'a str,
    /// The resource, as the report names it.
    pub resource: &'a str,
    /// What was found and done.
    pub detail: &'a str,
}

/// The rows as a table that fits the terminal (100 columns when not on one).
pub fn findings_table(rows: &[Row<'_>]) -> String {
    let styled = stdout_colour();
    let mut table = Table::new();
    table
        .load_preset(UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Dynamic)
        .set_header(vec!["status", "check", "resource", "detail"]);
    if styled {
        table.enforce_styling();
    } else {
        table.force_no_tty();
    }
    if table.width().is_none() {
        table.set_width(100);
    }
    for row in rows {
        let mut status = Cell::new(row.status);
        if styled {
            status = status.fg(status_colour(row.status));
        }
        table.add_row(vec![
            status,
            Cell::new(row.check),
            Cell::new(short_resource(row.resource)),
            Cell::new(row.detail),
        ]);
    }
    table.to_string()
}

/// The rows as a Markdown table.
pub fn markdown_table(rows: &[Row<'_>]) -> String {
    let cell = |s: &str| s.replace('|', "\\|").replace('\n', " ");
    let mut out = String::from("| status | check | resource | detail |\n|---|---|---|---|\n");
    for row in rows {
        out += &format!(
            "| {} | {} | `{}` | {} |\n",
            cell(row.status),
            cell(row.check),
            cell(row.resource),
            cell(row.detail)
        );
    }
    out
}

/// `text` in bold, on a terminal.
pub fn bold(text: &str) -> String {
    if stdout_colour() {
        format!("\x1b[1m{text}\x1b[0m")
    } else {
        text.to_owned()
    }
}

/// The findings of a report's JSON, as rows.
pub fn rows_of(answer: &Value) -> Vec<Row<'_>> {
    answer["findings"]
        .as_array()
        .map(|findings| {
            findings
                .iter()
                .map(|f| Row {
                    status: f["status"].as_str().unwrap_or_default(),
                    check: f["check"].as_str().unwrap_or_default(),
                    resource: f["resource"].as_str().unwrap_or_default(),
                    detail: f["detail"].as_str().unwrap_or_default(),
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Counts of statuses, in the order a person reads them: "3 compliant, 1 would_create".
pub fn tally<'a>(statuses: impl Iterator<Item = &'a str>) -> String {
    let order = [
        "failed",
        "would_create",
        "would_repair",
        "created",
        "repaired",
        "skipped",
        "compliant",
    ];
    let all: Vec<&str> = statuses.collect();
    let parts: Vec<String> = order
        .iter()
        .filter_map(|s| {
            let n = all.iter().filter(|x| *x == s).count();
            (n > 0).then(|| format!("{n} {s}"))
        })
        .collect();
    if parts.is_empty() {
        "nothing checked".into()
    } else {
        parts.join(", ")
    }
}

/// Pretty JSON for standard output.
pub fn json(value: &Value) -> String {
    serde_json::to_string_pretty(value).unwrap_or_else(|_| value.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_read_as_a_person_writes_them() {
        assert_eq!(parse_age("30m"), Ok(1800));
        assert_eq!(parse_age("2h"), Ok(7200));
        assert_eq!(parse_age("1d"), Ok(86_400));
        assert_eq!(parse_age("90"), Ok(90));
        assert!(parse_age("91d").is_err());
        assert!(parse_age("2 weeks").is_err());
        assert!(parse_age("0h").is_err());
    }

    #[test]
    fn regions_and_short_names_come_from_the_arn() {
        let role = "arn:aws:iam::111122223333:role/ecsServiceRole";
        assert_eq!(region_of(role), "global");
        assert_eq!(short_resource(role), "role/ecsServiceRole");
        let alarm = "arn:aws:cloudwatch:eu-west-1:111122223333:alarm:a:b";
        assert_eq!(region_of(alarm), "eu-west-1");
        assert_eq!(short_resource(alarm), "alarm:a:b");
        assert_eq!(region_of("eu-west-1"), "eu-west-1");
        assert_eq!(region_of("sweep"), "-");
    }
}
