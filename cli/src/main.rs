//! `ecs-warden`, the command-line program: the functions' own code run from a terminal
//! with a person's credentials. It holds arguments and presentation only; what is checked,
//! explained and done is the library's, exactly as the deployed functions do it.
//!
//! - `session`: credentials, region and who the caller is; the functions' configuration
//!   made from the arguments;
//! - `check`, `explain`, `replay`, `delete_slr`: one module per command;
//! - `present`: tables, colour, progress and the exit status.

mod check;
mod delete_slr;
mod explain;
mod present;
mod replay;
mod session;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// What the program is asked, from its arguments.
#[derive(Debug, Parser)]
#[command(
    name = "ecs-warden",
    version,
    about = "Keeps AWS accounts ready for Amazon ECS: checks the roles and alarms ECS needs, \
             explains refused calls and tasks that failed to start, and deletes the ECS \
             service-linked role safely.",
    after_help = "\
Examples:
  ecs-warden check                             read-only check of your account and region
  ecs-warden check --regions eu-west-1,us-east-1 --output markdown
  ecs-warden check --fix                       create and repair what check reported
  ecs-warden explain cloudtrail-record.json    why a call was refused, and the policy
  ecs-warden explain --recent --since 2h       the last two hours' failures, found for you
  ecs-warden replay events/ecs-create-service.json
  ecs-warden delete-slr --drain --confirm-account 111122223333

Credentials and region come from the usual AWS sources (AWS_PROFILE, SSO, the
environment); AWS_ENDPOINT_URL is honoured. Exit status: 0 all is well, 2 something
needs doing (or was refused), 1 the program could not run."
)]
struct Cli {
    #[command(flatten)]
    global: Global,
    #[command(subcommand)]
    command: Command,
}

/// Options every command takes.
#[derive(Debug, Clone, Args)]
pub struct Global {
    /// The AWS profile to use (instead of AWS_PROFILE).
    #[arg(long, global = true)]
    profile: Option<String>,
    /// The AWS region for calls that need one (instead of AWS_REGION or the profile's).
    #[arg(long, global = true)]
    region: Option<String>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Check what ECS needs in your account(s): every role and alarm, read-only unless --fix.
    Check(CheckArgs),
    /// Explain a refused call or a task that failed to start, with the smallest policy.
    Explain(ExplainArgs),
    /// Run an event through the function the template's rules send it to, locally.
    Replay(ReplayArgs),
    /// Delete the ECS service-linked role, draining what uses it when asked.
    DeleteSlr(DeleteSlrArgs),
}

/// How results are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Output {
    /// A table per account and region (text elsewhere), for a person.
    Table,
    /// The functions' own JSON answer.
    Json,
    /// Markdown, for a pull request or a wiki page.
    Markdown,
}

/// `ecs-warden check`.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Regions to check, comma-separated (default: your region).
    #[arg(long, value_delimiter = ',')]
    regions: Vec<String>,
    /// Accounts to check, comma-separated, or `organization` for every ACTIVE account
    /// (default: your own). Needs --member-role for any account but your own.
    #[arg(long, value_delimiter = ',')]
    accounts: Vec<String>,
    /// The role to assume in each account, with its path if any
    /// (e.g. OrganizationAccountAccessRole).
    #[arg(long)]
    member_role: Option<String>,
    /// How to print the results.
    #[arg(long, value_enum, default_value_t = Output::Table)]
    output: Output,
    /// Create and repair what is missing (additively, as the functions do in enforce mode).
    #[arg(long)]
    fix: bool,
}

/// `ecs-warden explain`.
#[derive(Debug, Args)]
pub struct ExplainArgs {
    /// An EventBridge event, a CloudTrail record, a CloudTrail log file
    /// ({"Records": [...]}) or an ECS task state change; `-` reads standard input.
    #[arg(required_unless_present = "recent", conflicts_with = "recent")]
    file: Option<PathBuf>,
    /// Find the recent failures yourself: tasks that failed to start, and refused ECS,
    /// Application Auto Scaling and CloudWatch calls in CloudTrail's event history.
    #[arg(long)]
    recent: bool,
    /// With --recent: how far back, as 30m, 2h or 1d.
    #[arg(long, default_value = "1h", value_parser = present::parse_age)]
    since: u64,
    /// With --recent: the regions to look in, comma-separated (default: your region).
    #[arg(long, value_delimiter = ',')]
    regions: Vec<String>,
    /// How to print the results.
    #[arg(long, value_enum, default_value_t = Output::Table)]
    output: Output,
}

/// `ecs-warden replay`.
#[derive(Debug, Args)]
pub struct ReplayArgs {
    /// An EventBridge event or a CloudTrail record; or a function's input with --function.
    file: PathBuf,
    /// Run this function instead of those the rules choose (for inputs no rule routes,
    /// such as reconcile's or slr-deletion's).
    #[arg(long)]
    function: Option<String>,
    /// Let the function write (enforce mode); read-only without it.
    #[arg(long)]
    fix: bool,
    /// How to print the results.
    #[arg(long, value_enum, default_value_t = Output::Table)]
    output: Output,
}

/// `ecs-warden delete-slr`.
#[derive(Debug, Args)]
pub struct DeleteSlrArgs {
    /// Regions to look for clusters in, comma-separated (default: every region enabled
    /// for the account).
    #[arg(long, value_delimiter = ',')]
    regions: Vec<String>,
    /// Delete every ECS service, container instance and cluster that uses the role first.
    #[arg(long, requires = "confirm_account")]
    drain: bool,
    /// With --drain: your account id, as a second key against draining the wrong account.
    #[arg(long)]
    confirm_account: Option<String>,
    /// Do not ask before draining (the confirmation is asked only on a terminal).
    #[arg(long)]
    yes: bool,
    /// Report what would be deleted, and delete nothing.
    #[arg(long)]
    dry_run: bool,
    /// The role's name: AWSServiceRoleForECS, or with its suffix.
    #[arg(long, default_value = "AWSServiceRoleForECS")]
    role_name: String,
}

fn main() -> ExitCode {
    // Bad arguments could not run: exit status 1 (clap's own is 2, which here means that
    // something needs doing). Help and the version are answers: 0.
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() {
                ExitCode::from(1)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => return present::cannot_run(&format!("could not start: {e}")),
    };
    let result = runtime.block_on(async {
        match cli.command {
            Command::Check(args) => check::run(&cli.global, args).await,
            Command::Explain(args) => explain::run(&cli.global, args).await,
            Command::Replay(args) => replay::run(&cli.global, args).await,
            Command::DeleteSlr(args) => delete_slr::run(&cli.global, args).await,
        }
    });
    match result {
        Ok(verdict) => verdict.exit_code(),
        Err(problem) => present::cannot_run(&problem.to_string()),
    }
}
