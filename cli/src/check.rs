//! `ecs-warden check`: reconcile's sweep, run here, read-only unless `--fix`. Every check is
//! listed, compliant ones included, grouped by account and region.

use std::collections::BTreeMap;

use ecs_warden::handlers::reconcile::{Reconcile, SweepReport};
use ecs_warden::invocation::settings::{
    Mode, ACCOUNTS_ENV, MEMBER_ROLE_ENV, MEMBER_ROLE_SHARED_ENV,
};
use serde_json::{json, Value};

use crate::present::{self, CannotRun, Progress, Row, Verdict};
use crate::session::{self, Session};
use crate::{CheckArgs, Global, Output};

/// One check as `--output json` lists it under `checks`.
struct Checked {
    account: String,
    region: String,
    resource: String,
    check: &'static str,
    status: String,
    detail: String,
}

/// Runs the sweep and prints every check.
pub async fn run(global: &Global, args: CheckArgs) -> Result<Verdict, CannotRun> {
    let session = Session::open(global).await?;
    let regions = if args.regions.is_empty() {
        vec![session.region.clone()]
    } else {
        args.regions.clone()
    };
    let mut vars = vec![("WARDEN_REGIONS", regions.join(","))];
    let own = args.accounts.is_empty()
        || (args.accounts.len() == 1 && args.accounts[0] == session.account);
    if let Some(role) = &args.member_role {
        if args.accounts.is_empty() {
            return Err(CannotRun(
                "--member-role needs --accounts: account ids, comma-separated, or organization"
                    .into(),
            ));
        }
        vars.push((MEMBER_ROLE_ENV, role.clone()));
        vars.push((MEMBER_ROLE_SHARED_ENV, "true".into()));
        vars.push((ACCOUNTS_ENV, args.accounts.join(",")));
    } else if !own {
        return Err(CannotRun(format!(
            "--accounts names accounts other than yours ({}): add --member-role, the role \
             to assume in each (e.g. OrganizationAccountAccessRole)",
            session.account
        )));
    }
    let mode = if args.fix { Mode::Enforce } else { Mode::Audit };
    let function = session.function::<Reconcile>(mode, &vars)?;
    let payload = match args.accounts.as_slice() {
        [] => json!({ "regions": regions }),
        [one] if one == "organization" => json!({ "regions": regions }),
        [one] => json!({ "regions": regions, "account": one }),
        many => json!({ "regions": regions, "accounts": many }),
    };
    let progress = Progress::start(format!(
        "{} {} in {}: {}",
        if args.fix {
            "checking and fixing"
        } else {
            "checking"
        },
        match args.accounts.as_slice() {
            [] => format!("account {}", session.account),
            [one] if one == "organization" => "the organization".into(),
            many => format!("{} account(s)", many.len()),
        },
        regions.join(", "),
        if args.fix {
            "writes allowed"
        } else {
            "read-only"
        }
    ));
    let answered = session::answer(&function, payload).await;
    progress.done();
    let (report, mut answer) = answered?;
    let checked = every_check(&report, &session.account);
    answer["checks"] = Value::Array(
        checked
            .iter()
            .map(|c| {
                json!({
                    "account": c.account, "region": c.region, "resource": c.resource,
                    "check": c.check, "status": c.status, "detail": c.detail,
                })
            })
            .collect(),
    );
    let needs = checked.iter().any(|c| present::needs_doing(&c.status));
    match args.output {
        Output::Json => println!("{}", present::json(&answer)),
        Output::Table => print_tables(&checked, &session, args.fix),
        Output::Markdown => print_markdown(&checked),
    }
    Ok(Verdict::from_needs(needs))
}

/// Every check the sweep made, compliant ones included, in the order they are shown:
/// account, region, then what needs doing first.
fn every_check(report: &SweepReport, own: &str) -> Vec<Checked> {
    let rank = |s: &str| match s {
        "failed" => 0,
        "would_create" | "would_repair" => 1,
        "created" | "repaired" => 2,
        "skipped" => 3,
        _ => 4,
    };
    let mut all: Vec<Checked> = report
        .checked
        .iter()
        .map(|(account, f)| Checked {
            account: if account.is_empty() {
                own.to_owned()
            } else {
                account.clone()
            },
            region: present::region_of(&f.resource),
            resource: f.resource.clone(),
            check: f.check.as_str(),
            status: present::status_name(f.status),
            detail: f.detail.clone(),
        })
        .collect();
    all.sort_by(|a, b| {
        (&a.account, &a.region, rank(&a.status), a.check, &a.resource).cmp(&(
            &b.account,
            &b.region,
            rank(&b.status),
            b.check,
            &b.resource,
        ))
    });
    all
}

fn groups(checked: &[Checked]) -> BTreeMap<(&str, &str), Vec<&Checked>> {
    let mut by: BTreeMap<(&str, &str), Vec<&Checked>> = BTreeMap::new();
    for c in checked {
        by.entry((c.account.as_str(), c.region.as_str()))
            .or_default()
            .push(c);
    }
    by
}

fn rows<'a>(group: &[&'a Checked]) -> Vec<Row<'a>> {
    group
        .iter()
        .map(|c| Row {
            status: &c.status,
            check: c.check,
            resource: &c.resource,
            detail: &c.detail,
        })
        .collect()
}

fn print_tables(checked: &[Checked], session: &Session, fix: bool) {
    println!("Signed in as {}.\n", session.arn);
    for ((account, region), group) in groups(checked) {
        let statuses = group.iter().map(|c| c.status.as_str());
        println!(
            "{}",
            present::bold(&format!(
                "Account {account}, {region}: {}",
                present::tally(statuses)
            ))
        );
        println!("{}\n", present::findings_table(&rows(&group)));
    }
    let total = present::tally(checked.iter().map(|c| c.status.as_str()));
    println!("{} checks: {total}.", checked.len());
    let needs = checked.iter().any(|c| present::needs_doing(&c.status));
    if !fix {
        println!("Read-only: nothing was changed in {}.", session.account);
        if needs {
            println!("Run with --fix to create and repair what ECS needs (additively).");
        }
    }
}

fn print_markdown(checked: &[Checked]) {
    println!("# ecs-warden check\n");
    for ((account, region), group) in groups(checked) {
        let statuses = group.iter().map(|c| c.status.as_str());
        println!(
            "## Account {account}, {region}\n\n{}.\n",
            present::tally(statuses)
        );
        println!("{}", present::markdown_table(&rows(&group)));
    }
}
