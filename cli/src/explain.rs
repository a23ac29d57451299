//! `ecs-warden explain`: what access-doctor or task-doctor would answer about a failure, in
//! words and as the smallest policy. The input is an EventBridge event, a CloudTrail record
//! or log file, or an ECS task state change; with `--recent`, the failures the account
//! still shows. It never writes: both doctors run in audit mode.

use ecs_warden::domain::recent;
use ecs_warden::handlers::access_doctor::AccessDoctor;
use ecs_warden::handlers::task_doctor::TaskDoctor;
use ecs_warden::handlers::{Function, Handler};
use ecs_warden::invocation::ecs_events::{SERVICE_ACTION, TASK_STATE_CHANGE};
use ecs_warden::invocation::events::{envelope_of_record, API_CALL_DETAIL_TYPE};
use ecs_warden::invocation::settings::Mode;
use serde_json::Value;

use crate::present::{self, CannotRun, Progress, Verdict};
use crate::session::{self, read_json, Session};
use crate::{ExplainArgs, Global, Output};

/// Which doctor answers an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Doctor {
    Access,
    Task,
}

/// The events an input holds, each with its doctor; and how many records it passed over
/// (a log file's calls that were not refused).
fn events_of(input: Value) -> Result<(Vec<(Doctor, Value)>, usize), CannotRun> {
    if let Some(records) = input.get("Records").and_then(Value::as_array) {
        let mut events = Vec::new();
        let mut passed = 0;
        for record in records {
            if record.get("errorCode").is_some_and(|c| !c.is_null()) {
                let event = envelope_of_record(record.clone())
                    .map_err(|e| CannotRun(format!("a record of the log file: {e}")))?;
                events.push((Doctor::Access, event));
            } else {
                passed += 1;
            }
        }
        return Ok((events, passed));
    }
    let text = |key: &str| input.get(key).and_then(Value::as_str).map(str::to_owned);
    match (text("detail-type").as_deref(), text("source").as_deref()) {
        (Some(TASK_STATE_CHANGE | SERVICE_ACTION), Some("aws.ecs")) => {
            Ok((vec![(Doctor::Task, input)], 0))
        }
        (Some(API_CALL_DETAIL_TYPE), _) => Ok(refused_only(input)),
        (Some(other), source) => Err(CannotRun(format!(
            "an event explain does not know: detail-type {other:?} from {}; it explains \
             CloudTrail records of refused calls and ECS task state changes",
            source.unwrap_or("no source")
        ))),
        (None, _) if input.get("eventSource").is_some() => {
            let event = envelope_of_record(input).map_err(|e| CannotRun(e.to_string()))?;
            Ok(refused_only(event))
        }
        (None, _) => Err(CannotRun(
            "not an event, a CloudTrail record or a CloudTrail log file ({\"Records\": [...]})"
                .into(),
        )),
    }
}

/// A CloudTrail event, when its call failed; passed over otherwise.
fn refused_only(event: Value) -> (Vec<(Doctor, Value)>, usize) {
    if event
        .pointer("/detail/errorCode")
        .is_some_and(|c| !c.is_null())
    {
        (vec![(Doctor::Access, event)], 0)
    } else {
        (Vec::new(), 1)
    }
}

/// The two doctors, built once.
struct Doctors {
    access: Function<AccessDoctor>,
    task: Function<TaskDoctor>,
}

impl Doctors {
    fn build(session: &Session) -> Result<Self, CannotRun> {
        Ok(Self {
            access: session.function::<AccessDoctor>(Mode::Audit, &[])?,
            task: session.function::<TaskDoctor>(Mode::Audit, &[])?,
        })
    }

    /// The doctor's answer; an input it refuses (an event of no service it knows) is an
    /// answer too, `{"function", "rejected"}`, for one bad record must not hide the others.
    async fn answer(&self, doctor: Doctor, event: Value) -> Result<Value, CannotRun> {
        let answered = match doctor {
            Doctor::Access => session::answer(&self.access, event).await.map(|(_, j)| j),
            Doctor::Task => session::answer(&self.task, event).await.map(|(_, j)| j),
        };
        Ok(match answered {
            Ok(json) => json,
            Err(rejected) => serde_json::json!({
                "function": match doctor {
                    Doctor::Access => AccessDoctor::FUNCTION,
                    Doctor::Task => TaskDoctor::FUNCTION,
                },
                "rejected": rejected.0,
            }),
        })
    }
}

/// Explains the input, or the recent failures.
pub async fn run(global: &Global, args: ExplainArgs) -> Result<Verdict, CannotRun> {
    let (events, passed) = match &args.file {
        Some(path) => events_of(read_json(path)?)?,
        None => (Vec::new(), 0),
    };
    let session = Session::open(global).await?;
    let events = if args.recent {
        recent_failures(&session, &args).await?
    } else {
        events
    };
    let doctors = Doctors::build(&session)?;
    let mut answers = Vec::new();
    let progress = Progress::start(format!("explaining {} failure(s)", events.len()));
    for (n, (doctor, event)) in events.into_iter().enumerate() {
        progress.say(format!("explaining failure {}", n + 1));
        answers.push(doctors.answer(doctor, event).await?);
    }
    progress.done();
    let needs = answers.iter().any(found_something);
    match args.output {
        Output::Json => println!("{}", present::json(&Value::Array(answers))),
        Output::Table | Output::Markdown => {
            let markdown = args.output == Output::Markdown;
            if answers.is_empty() {
                println!(
                    "{}",
                    if args.recent {
                        "No recent failure found: no task that failed to start, no refused call."
                    } else {
                        "Nothing to explain: the input holds no failed call."
                    }
                );
            }
            for answer in &answers {
                print_answer(answer, markdown);
            }
            if passed > 0 {
                println!(
                    "{passed} call(s) that did not fail were passed over: nothing to explain."
                );
            }
        }
    }
    Ok(Verdict::from_needs(needs))
}

/// Whether an answer found something missing or wrong.
fn found_something(answer: &Value) -> bool {
    let listed = |key: &str| answer[key].as_array().is_some_and(|a| !a.is_empty());
    listed("missing")
        || answer["diagnosis"]["missing"]
            .as_array()
            .is_some_and(|a| !a.is_empty())
        || answer["diagnosis"]["cause"]
            .as_str()
            .is_some_and(|c| c != "other")
        || present::rows_of(answer)
            .iter()
            .any(|r| present::needs_doing(r.status))
}

/// The failures ECS and CloudTrail still hold for the regions asked, oldest first.
async fn recent_failures(
    session: &Session,
    args: &ExplainArgs,
) -> Result<Vec<(Doctor, Value)>, CannotRun> {
    let regions = if args.regions.is_empty() {
        vec![session.region.clone()]
    } else {
        args.regions.clone()
    };
    let since = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
        .saturating_sub(args.since) as i64;
    let progress = Progress::start("looking for recent failures");
    let say = |m: String| progress.say(m);
    let mut found = Vec::new();
    for region in &regions {
        let config = session
            .config()
            .to_builder()
            .region(aws_config::Region::new(region.clone()))
            .build();
        let calls = ecs_warden::aws::CallLog::default();
        let ecs = ecs_warden::aws::ecs_client(&config, &calls);
        match recent::failed_tasks(&ecs, region, since, &say).await {
            Ok(tasks) => found.extend(tasks.into_iter().map(|e| (Doctor::Task, e))),
            Err(failed) => progress.note(&format!("{region}: stopped tasks not read: {failed}")),
        }
        let cloudtrail = ecs_warden::aws::cloudtrail_client(&config, &calls);
        match recent::refused_calls(&cloudtrail, region, since, recent::LOOKUP_PACE, &say).await {
            Ok(calls) => found.extend(calls.into_iter().map(|e| (Doctor::Access, e))),
            Err(failed) => progress.note(&format!(
                "{region}: CloudTrail's event history not read: {failed}"
            )),
        }
    }
    progress.done();
    Ok(found)
}

/// One answer, in words: what was refused or why the task stopped, what is missing, and
/// the smallest policy.
fn print_answer(answer: &Value, markdown: bool) {
    if let Some(rejected) = answer["rejected"].as_str() {
        println!("{rejected}\n");
        return;
    }
    let heading = |text: &str| {
        if markdown {
            format!("## {text}")
        } else {
            present::bold(text)
        }
    };
    let code = |value: &Value| {
        let text = present::json(value);
        if markdown {
            format!("```json\n{text}\n```")
        } else {
            text
        }
    };
    if let Some(diagnosis) = answer.get("diagnosis").filter(|d| !d.is_null()) {
        let subject = diagnosis["task"]
            .as_str()
            .or(diagnosis["service"].as_str())
            .unwrap_or_default();
        println!(
            "{}",
            heading(&format!(
                "{}: {}",
                present::short_resource(subject),
                diagnosis["cause"].as_str().unwrap_or("other")
            ))
        );
        println!(
            "Task definition {}, execution role {}.",
            present::short_resource(diagnosis["task_definition"].as_str().unwrap_or("-")),
            diagnosis["execution_role"]
                .as_str()
                .map_or("none", present::short_resource)
        );
        println!("{}", diagnosis["because"].as_str().unwrap_or_default());
        print_missing(&diagnosis["missing"], markdown);
        if let Some(endpoints) = diagnosis["endpoints"].as_array().filter(|e| !e.is_empty()) {
            println!("Endpoints the task must reach:");
            for e in endpoints {
                println!("  - {}", e.as_str().unwrap_or_default());
            }
        }
        if !diagnosis["policy"].is_null() {
            println!("The smallest policy that grants it, for the execution role:");
            println!("{}", code(&diagnosis["policy"]));
        }
    } else {
        let event = answer["event"].as_str().unwrap_or("the input");
        println!("{}", heading(&format!("{event} refused")));
        if let Some(principal) = answer["principal"].as_str() {
            println!("Caller: {principal}");
        }
        if let Some(intents) = answer["intents"].as_array().filter(|i| !i.is_empty()) {
            let names: Vec<&str> = intents.iter().filter_map(Value::as_str).collect();
            println!("What the call was for: {}", names.join(", "));
        }
        print_missing(&answer["missing"], markdown);
        if !answer["minimal_policy"].is_null() {
            println!("The smallest policy that grants it:");
            println!("{}", code(&answer["minimal_policy"]));
        }
    }
    // The findings say again what `Missing` listed; they are shown when it says nothing
    // (a call that could not be simulated, a failure with nothing to grant).
    let listed = |m: &Value| m.as_array().is_some_and(|m| !m.is_empty());
    let rows = present::rows_of(answer);
    if !rows.is_empty() && !listed(&answer["missing"]) && !listed(&answer["diagnosis"]["missing"]) {
        if markdown {
            println!("{}", present::markdown_table(&rows));
        } else {
            println!("{}", present::findings_table(&rows));
        }
    }
    println!();
}

fn print_missing(missing: &Value, markdown: bool) {
    let Some(missing) = missing.as_array().filter(|m| !m.is_empty()) else {
        return;
    };
    println!("Missing:");
    for m in missing {
        let why = m["why"]
            .as_str()
            .map(|w| format!(" ({w})"))
            .unwrap_or_default();
        let (action, resource) = (
            m["action"].as_str().unwrap_or_default(),
            m["resource"].as_str().unwrap_or_default(),
        );
        if markdown {
            println!("- `{action}` on `{resource}`{why}");
        } else {
            println!("  - {action} on {resource}{why}");
        }
    }
}
