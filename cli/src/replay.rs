//! `ecs-warden replay`: an event run through the functions the template's rules deliver it
//! to (`handlers::routes`), here, read-only unless `--fix`; their reports printed.

use ecs_warden::handlers::access_doctor::AccessDoctor;
use ecs_warden::handlers::ecs_role_guard::EcsRoleGuard;
use ecs_warden::handlers::reconcile::Reconcile;
use ecs_warden::handlers::role_drift_guard::RoleDriftGuard;
use ecs_warden::handlers::routes;
use ecs_warden::handlers::scaling_guard::ScalingGuard;
use ecs_warden::handlers::slr_deletion::SlrDeletion;
use ecs_warden::handlers::task_doctor::TaskDoctor;
use ecs_warden::handlers::Handler;
use ecs_warden::invocation::events::envelope_of_record;
use ecs_warden::invocation::settings::Mode;
use serde_json::Value;

use crate::present::{self, CannotRun, Verdict};
use crate::session::{self, read_json, Session};
use crate::{Global, Output, ReplayArgs};

/// The functions replay can run, by name.
const FUNCTIONS: [&str; 7] = [
    "access-doctor",
    "ecs-role-guard",
    "reconcile",
    "role-drift-guard",
    "scaling-guard",
    "slr-deletion",
    "task-doctor",
];

/// Runs the event through its functions and prints their reports.
pub async fn run(global: &Global, args: ReplayArgs) -> Result<Verdict, CannotRun> {
    let mut input = read_json(&args.file)?;
    if input.get("detail-type").is_none() && input.get("eventSource").is_some() {
        input = envelope_of_record(input).map_err(|e| CannotRun(e.to_string()))?;
    }
    let functions: Vec<String> = match &args.function {
        Some(name) if FUNCTIONS.contains(&name.as_str()) => vec![name.clone()],
        Some(name) => {
            return Err(CannotRun(format!(
                "{name:?} is not a function of ecs-warden: one of {}",
                FUNCTIONS.join(", ")
            )))
        }
        None => routes::functions_for(&input)
            .into_iter()
            .map(str::to_owned)
            .collect(),
    };
    if functions.is_empty() {
        let why = if input.get("detail-type").is_some() {
            "no rule of the template takes this event: deployed, ecs-warden would not see it"
        } else {
            "not an EventBridge event, so no rule routes it; name the function with --function"
        };
        println!("{why}.");
        return Ok(Verdict::Clear);
    }
    let session = Session::open(global).await?;
    let mode = if args.fix { Mode::Enforce } else { Mode::Audit };
    let mut answers = Vec::new();
    for name in &functions {
        let answer = match name.as_str() {
            "access-doctor" => one::<AccessDoctor>(&session, mode, &input).await?,
            "ecs-role-guard" => one::<EcsRoleGuard>(&session, mode, &input).await?,
            "reconcile" => one::<Reconcile>(&session, mode, &input).await?,
            "role-drift-guard" => one::<RoleDriftGuard>(&session, mode, &input).await?,
            "scaling-guard" => one::<ScalingGuard>(&session, mode, &input).await?,
            "slr-deletion" => one::<SlrDeletion>(&session, mode, &input).await?,
            _ => one::<TaskDoctor>(&session, mode, &input).await?,
        };
        answers.push(answer);
    }
    let needs = answers.iter().any(|a| {
        present::rows_of(a)
            .iter()
            .any(|r| present::needs_doing(r.status))
    });
    match args.output {
        Output::Json => println!("{}", present::json(&Value::Array(answers))),
        Output::Table | Output::Markdown => {
            for answer in &answers {
                print_report(answer, args.output == Output::Markdown);
            }
            if !args.fix {
                println!(
                    "Read-only: nothing was changed. Run with --fix to let the function write."
                );
            }
        }
    }
    Ok(Verdict::from_needs(needs))
}

async fn one<H: Handler>(session: &Session, mode: Mode, input: &Value) -> Result<Value, CannotRun> {
    let function = session.function::<H>(mode, &[])?;
    Ok(session::answer(&function, input.clone()).await?.1)
}

fn print_report(answer: &Value, markdown: bool) {
    let function = answer["function"].as_str().unwrap_or("?");
    let rows = present::rows_of(answer);
    let title = format!(
        "{function} ({}): {}",
        answer["mode"].as_str().unwrap_or("?"),
        present::tally(rows.iter().map(|r| r.status))
    );
    if markdown {
        println!("## {title}\n\n{}", present::markdown_table(&rows));
    } else {
        println!(
            "{}\n{}",
            present::bold(&title),
            present::findings_table(&rows)
        );
    }
    if let Some(calls) = answer["aws_calls"].as_array() {
        let calls: Vec<&str> = calls.iter().filter_map(Value::as_str).collect();
        println!(
            "AWS calls: {}\n",
            if calls.is_empty() {
                "none".into()
            } else {
                calls.join(", ")
            }
        );
    }
}
