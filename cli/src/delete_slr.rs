//! `ecs-warden delete-slr`: the deletion of the ECS service-linked role driven from the
//! terminal the way the state machine drives it: one slr-deletion step at a time, each
//! output fed back after its `wait_seconds`, until `done`. The plan's inventory is shown,
//! and on a terminal a person confirms before any drain deletes anything.

use std::io::{IsTerminal, Write};
use std::time::Duration;

use ecs_warden::handlers::slr_deletion::SlrDeletion;
use ecs_warden::invocation::settings::Mode;
use serde_json::{json, Value};

use crate::present::{self, CannotRun, Progress, Verdict};
use crate::session::{self, Session};
use crate::{DeleteSlrArgs, Global};

/// Drives the deletion to its end and prints how it went.
pub async fn run(global: &Global, args: DeleteSlrArgs) -> Result<Verdict, CannotRun> {
    let session = Session::open(global).await?;
    if let Some(confirm) = &args.confirm_account {
        if confirm != &session.account {
            return Err(CannotRun(format!(
                "--confirm-account {confirm} is not the account you are signed in to ({}): \
                 nothing was deleted",
                session.account
            )));
        }
    }
    let mode = if args.dry_run {
        Mode::Audit
    } else {
        Mode::Enforce
    };
    // The regions, when named, go in the request; without them the plan looks in every
    // region enabled for the account, as the function does with no WARDEN_REGIONS.
    let function = session.function::<SlrDeletion>(mode, &[])?;
    let mut request = json!({ "role_name": args.role_name, "drain": args.drain });
    if !args.regions.is_empty() {
        request["regions"] = json!(args.regions);
    }
    if let Some(confirm) = &args.confirm_account {
        request["confirm_account"] = json!(confirm);
    }
    let mut payload = json!({ "start": request });
    let mut shown_inventory = false;
    let mut progress = Progress::start("planning: looking for ECS clusters in every region");
    loop {
        let (_, state) = session::answer(&function, payload).await?;
        let phase = state["phase"].as_str().unwrap_or_default().to_owned();
        for line in step_lines(&state) {
            progress.print(&line);
        }
        if !shown_inventory && state["inventory"].as_array().is_some_and(|i| !i.is_empty()) {
            shown_inventory = true;
            progress.print(&inventory_text(&state));
            if phase == "drain" && !args.yes && std::io::stdin().is_terminal() {
                progress.done();
                if !confirmed(&session.account)? {
                    println!("Nothing was deleted.");
                    return Ok(Verdict::NeedsDoing);
                }
                progress = Progress::start("draining");
            }
        }
        if state["done"].as_bool() == Some(true) {
            progress.done();
            return Ok(outcome(&state));
        }
        let wait = state["wait_seconds"].as_u64().unwrap_or(0);
        progress.say(format!(
            "{phase}: {} deleted so far; next step in {wait} s",
            state["deleted_count"].as_u64().unwrap_or(0)
        ));
        tokio::time::sleep(Duration::from_secs(wait)).await;
        payload = state;
    }
}

/// The lines a step's findings give a person: everything but what is compliant.
fn step_lines(state: &Value) -> Vec<String> {
    present::rows_of(state)
        .iter()
        .filter(|r| r.status != "compliant")
        .map(|r| format!("{:>12}  {}", r.status, r.detail))
        .collect()
}

fn inventory_text(state: &Value) -> String {
    let mut out = String::from("What uses the role:\n");
    for region in state["inventory"].as_array().into_iter().flatten() {
        let clusters = region["clusters"].as_array().map_or(0, Vec::len);
        out += &format!(
            "  {}: {clusters} cluster(s)\n",
            region["region"].as_str().unwrap_or_default()
        );
        for cluster in region["clusters"].as_array().into_iter().flatten() {
            let services = cluster["services"].as_array().map_or(0, Vec::len);
            let instances = cluster["container_instances"]
                .as_array()
                .map_or(0, Vec::len);
            out += &format!(
                "    {}: {services} service(s), {instances} container instance(s)\n",
                present::short_resource(cluster["arn"].as_str().unwrap_or_default())
            );
        }
    }
    if let Some(cut) = state["inventory_cut"].as_str() {
        out += &format!("  {cut}\n");
    }
    out
}

/// Asks the person at the terminal to type the account id before anything is deleted.
fn confirmed(account: &str) -> Result<bool, CannotRun> {
    print!(
        "The drain deletes every ECS service, container instance and cluster above, in \
         account {account}.\nType the account id to go on: "
    );
    std::io::stdout()
        .flush()
        .map_err(|e| CannotRun(e.to_string()))?;
    let mut line = String::new();
    std::io::stdin()
        .read_line(&mut line)
        .map_err(|e| CannotRun(format!("could not read the answer: {e}")))?;
    Ok(line.trim() == account)
}

fn outcome(state: &Value) -> Verdict {
    let outcome = state["outcome"].as_str().unwrap_or("unknown");
    let reason = |fallback: &'static str| {
        state["reason"]
            .as_str()
            .map_or(fallback.to_owned(), str::to_owned)
    };
    let said = match outcome {
        "deleted" => "AWSServiceRoleForECS is deleted.".to_owned(),
        "blocked" => format!(
            "Deletion blocked: {}",
            reason("something still uses the role; --drain removes it")
        ),
        other => format!("Deletion {other}: {}", reason("the findings above say why")),
    };
    println!("{}", present::bold(&said));
    Verdict::from_needs(outcome != "deleted")
}
