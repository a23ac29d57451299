//! Security Hub: with `WARDEN_SECURITY_HUB=true`, each invocation imports its findings into
//! AWS Security Hub in the AWS Security Finding Format (ASFF), where security teams already
//! look, as Cloud Custodian's `post-finding` and Prowler's `--security-hub` do.
//!
//! Design:
//! - One Security Hub finding per account, region, control and resource. A control is what
//!   the account must meet: an ECS role as the catalog defines it, a scaling policy's alarms,
//!   CloudTrail delivering the events. The checks of one control on one resource in an
//!   invocation (a role's `exists`, `trust`, `managed_policy`) become one finding whose
//!   status is the worst of them, so two checks never race for the same finding.
//! - The finding's `Id` is built from those four, so a later evaluation updates the same
//!   finding: FAILED while the account does not meet the control after the invocation
//!   (`failed`, `would_create`, `would_repair`), PASSED once it does (`created`, `repaired`,
//!   `compliant`).
//! - A finding that passes leaves Security Hub's open view by its record state: PASSED is
//!   imported `ARCHIVED`, FAILED `ACTIVE`. BatchImportFindings may not set `Workflow` (it is
//!   the customer's, through BatchUpdateFindings), and Security Hub resolves the workflow of
//!   its own control findings only; `RecordState` is the finding provider's to set (ASFF,
//!   "RecordState"). A finding that fails again turns ACTIVE, and Security Hub puts a
//!   RESOLVED or NOTIFIED workflow back to NEW when the record state goes from ARCHIVED to
//!   ACTIVE or the compliance from PASSED to FAILED (API reference, "Workflow").
//! - `UpdatedAt` is when the check observed the state ([`Finding::observed_at_ms`]), not
//!   when it was imported: Security Hub ignores an update whose `UpdatedAt` is not newer
//!   than the finding's, so a sweep's older FAILED imported late cannot overwrite a guard's
//!   newer PASSED; ecs-warden reads the stored finding first and does not send such an
//!   update at all. `CreatedAt` is the stored finding's, kept through every update.
//! - Before importing, one `GetFindings` reads the stored findings of the evaluations (by
//!   `Id`, 20 to a filter; for a sweep's hundreds, the account's ACTIVE ecs-warden findings
//!   in the region, then by `Id` those failed or changed that are not among them). A
//!   compliant control is imported only to archive a finding still ACTIVE: every import is
//!   a billed finding ingestion event, and a healthy estate re-checked every hour must not
//!   cost one per role and alarm. FAILED findings and changes are always imported.
//! - A finding is imported in the account it is about (the member role in hub mode: with
//!   the account's default product, the caller must be that account) and in the region of
//!   its resource (IAM's global roles: the function's own region), 100 to a call.
//! - Security Hub refusing or throttling never undoes the work: it is a `failed` finding
//!   with check `security_hub` in the report, as a failed notification is.
//!
//! Checks that are not a state of the account (a refused call access-doctor explains, the
//! steps of a deletion, an event out of scope) are not imported: nothing would ever turn
//! them PASSED.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use aws_config::SdkConfig;
use aws_sdk_securityhub::types::builders::AwsSecurityFindingFiltersBuilder;
use aws_sdk_securityhub::types::{
    AwsSecurityFinding, AwsSecurityFindingFilters, Compliance, ComplianceStatus,
    FindingProviderFields, FindingProviderSeverity, Partition, Recommendation, RecordState,
    Remediation, Resource, Severity, SeverityLabel, StringFilter, StringFilterComparison,
};
use aws_smithy_types::date_time::{DateTime, Format};
use futures_util::stream::{self, StreamExt};

use crate::aws::ids::{self, is_account_id, is_region_name, Arn};
use crate::aws::{CallError, CallLog, SecurityHubClients};
use crate::invocation::checks::{self, CheckId, Control, Subject};
use crate::invocation::notice::Notable;
use crate::invocation::reach::{AccountClients, Accounts};
use crate::invocation::report::{Checked, Finding, Status};
use crate::invocation::settings::SettingsError;

/// The environment variable that turns the import on (`true`) or off (`false`, unset).
pub const ENV: &str = "WARDEN_SECURITY_HUB";
/// Findings per `BatchImportFindings` call: the API's limit.
pub const BATCH: usize = 100;
/// Values in one GetFindings filter attribute: the API's limit (AwsSecurityFindingFilters:
/// "For each attribute, you can provide up to 20 filter values").
pub const FILTER_VALUES: usize = 20;
/// Accounts and regions imported into at once (a multi-account sweep has many).
const CONCURRENCY: usize = 4;
/// The ASFF version every finding declares.
pub const SCHEMA_VERSION: &str = "2018-10-08";
/// What every ecs-warden `GeneratorId` and `Id` starts with: how an open finding of ours is
/// found again.
pub const PREFIX: &str = "ecs-warden/";
/// ASFF limits: `Id` and `Title` lengths, `Description` length, recommendation text.
const MAX_ID: usize = 512;
const MAX_TITLE: usize = 256;
const MAX_DESCRIPTION: usize = 1024;
/// The finding type: a configuration the account should have.
const FINDING_TYPE: &str = "Software and Configuration Checks/AWS Security Best Practices";

/// Whether `WARDEN_SECURITY_HUB` turns the import on.
pub fn enabled(value: Option<&str>) -> Result<bool, SettingsError> {
    match value.map(str::trim) {
        None | Some("") | Some("false") => Ok(false),
        Some("true") => Ok(true),
        Some(other) => Err(SettingsError {
            name: ENV,
            value: other.to_owned(),
            problem: "expected true or false",
        }),
    }
}

/// One control on one resource in one account and region, as an invocation left it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Evaluation {
    /// The account the resource is in.
    pub account: String,
    /// The region the finding is imported in.
    pub region: String,
    /// What the account must meet.
    pub control: &'static dyn Control,
    /// The resource, as the report names it (an ARN, or the region for event delivery).
    pub resource: String,
    /// Whether the account does not meet the control after the invocation.
    pub failed: bool,
    /// Whether the invocation created or repaired something for it.
    pub changed: bool,
    /// The checks that went into it.
    pub checks: BTreeSet<CheckId>,
    /// What the checks found, those that failed first.
    pub details: Vec<String>,
    /// When the last of its checks observed the state (milliseconds since the epoch).
    pub observed_at_ms: u64,
}

impl Evaluation {
    /// Whether to import this evaluation given what Security Hub holds of its finding, and
    /// with which `CreatedAt`: never over a finding observed as late or later; a compliant,
    /// unchanged control only to archive a finding still ACTIVE.
    pub fn update(&self, stored: Option<&Stored>) -> Option<String> {
        let observed = timestamp(self.observed_at_ms);
        match stored {
            Some(stored) if stored.updated_at_ms >= self.observed_at_ms => None,
            Some(stored) if self.failed || self.changed || stored.active => Some(
                Some(stored.created_at.clone())
                    .filter(|c| !c.is_empty())
                    .unwrap_or(observed),
            ),
            Some(_) => None,
            None if self.failed || self.changed => Some(observed),
            None => None,
        }
    }

    /// The finding's stable `Id`: the same account, region, control and resource always
    /// give the same one.
    pub fn id(&self) -> String {
        let id = format!(
            "{PREFIX}{}/{}/{}/{}",
            self.account,
            self.region,
            self.control.id(),
            self.resource_id()
        );
        // Past ASFF's limit (a policy ARN with long cluster, service and policy names):
        // cut, and kept unique with a hash of the whole.
        ids::fitted(&id, MAX_ID)
    }

    /// The Security Hub resource the finding is about, as its `Id`.
    pub fn resource_id(&self) -> String {
        match self.control.subject() {
            Subject::Account => account_resource(&self.account),
            Subject::IamRole | Subject::ScalingPolicy | Subject::TaskDefinition => {
                self.resource.clone()
            }
        }
    }
}

/// Security Hub's resource id of an account.
fn account_resource(account: &str) -> String {
    format!("AWS::::Account:{account}")
}

/// The region a finding is imported in: its resource's, or `own` for a global one.
fn region_of(resource: &str, own: &str) -> String {
    if is_region_name(resource) {
        return resource.to_owned();
    }
    match Arn::parse(resource) {
        Some(arn) if is_region_name(arn.region) => arn.region.to_owned(),
        _ => own.to_owned(),
    }
}

/// The account a finding is about: the one it was checked in, else its ARN's, else `home`.
fn account_of(checked: &Checked<'_>, home: Option<&str>) -> Option<String> {
    let from_arn = Arn::parse(&checked.finding.resource)
        .filter(|arn| is_account_id(arn.account))
        .map(|arn| arn.account);
    checked
        .account
        .filter(|a| is_account_id(a))
        .or(from_arn)
        .or(home)
        .map(str::to_owned)
}

/// The evaluations an invocation's checks come to, in account, region, control and
/// resource order; skipped checks and checks of no control are left out.
pub fn evaluate(checked: &[Checked<'_>], own_region: &str, home: Option<&str>) -> Vec<Evaluation> {
    let mut merged: BTreeMap<(String, String, &'static dyn Control, String), Evaluation> =
        BTreeMap::new();
    for one in checked {
        let finding = one.finding;
        let Some(control) = finding.check.control() else {
            continue;
        };
        let (failed, changed) = match finding.status {
            Status::Compliant => (false, false),
            Status::Created | Status::Repaired => (false, true),
            Status::WouldCreate | Status::WouldRepair | Status::Failed => (true, false),
            Status::Skipped => continue,
        };
        let Some(account) = account_of(one, home) else {
            tracing::debug!(resource = %finding.resource, "no account known; not imported");
            continue;
        };
        let region = region_of(&finding.resource, own_region);
        let key = (
            account.clone(),
            region.clone(),
            control,
            finding.resource.clone(),
        );
        let evaluation = merged.entry(key).or_insert_with(|| Evaluation {
            account,
            region,
            control,
            resource: finding.resource.clone(),
            failed: false,
            changed: false,
            checks: BTreeSet::new(),
            details: Vec::new(),
            observed_at_ms: 0,
        });
        evaluation.observed_at_ms = evaluation.observed_at_ms.max(finding.observed_at_ms);
        evaluation.failed |= failed;
        evaluation.changed |= changed;
        evaluation.checks.insert(finding.check);
        let detail = format!("{}: {}", finding.check, finding.detail);
        if failed {
            let at = evaluation
                .details
                .partition_point(|d| d.starts_with("FAILED "));
            evaluation.details.insert(at, format!("FAILED {detail}"));
        } else {
            evaluation.details.push(detail);
        }
    }
    merged.into_values().collect()
}

/// What every finding of an invocation shares.
#[derive(Debug, Clone, Copy)]
pub struct Origin<'a> {
    /// The function that checked.
    pub function: &'static str,
    /// The event that caused it, when there was one.
    pub event_id: Option<&'a str>,
}

/// What Security Hub holds of a finding, as far as an update must know it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stored {
    /// Its `CreatedAt`, kept through updates.
    pub created_at: String,
    /// Its `UpdatedAt`, in milliseconds since the epoch (0 when it does not parse).
    pub updated_at_ms: u64,
    /// Whether it is in the open view (`RecordState` ACTIVE).
    pub active: bool,
}

/// The default product of `account` in `region`: the ProductArn a customer's own findings
/// are imported under.
pub fn product_arn(partition: &str, region: &str, account: &str) -> String {
    format!("arn:{partition}:securityhub:{region}:{account}:product/{account}/default")
}

/// The evaluation in ASFF, first created at `created_at`.
pub fn asff(evaluation: &Evaluation, origin: &Origin<'_>, created_at: &str) -> AwsSecurityFinding {
    let (account, region) = (&evaluation.account, &evaluation.region);
    let partition = ids::partition(region);
    let control = evaluation.control;
    let (status, label) = if evaluation.failed {
        let label = match control.severity(&evaluation.resource) {
            checks::Severity::High => SeverityLabel::High,
            checks::Severity::Medium => SeverityLabel::Medium,
        };
        (ComplianceStatus::Failed, label)
    } else {
        (ComplianceStatus::Passed, SeverityLabel::Informational)
    };
    let checks: Vec<&str> = evaluation.checks.iter().map(|c| c.as_str()).collect();
    let mut finding = AwsSecurityFinding::builder()
        .schema_version(SCHEMA_VERSION)
        .id(evaluation.id())
        .product_arn(product_arn(partition, region, account))
        .generator_id(format!("{PREFIX}{}/{}", origin.function, control.id()))
        .aws_account_id(account)
        .region(region)
        .types(FINDING_TYPE)
        .created_at(created_at)
        .updated_at(timestamp(evaluation.observed_at_ms))
        .severity(Severity::builder().label(label.clone()).build())
        // Severity and Types of an existing finding change through these, so that a
        // severity a customer set with BatchUpdateFindings is kept.
        .finding_provider_fields(
            FindingProviderFields::builder()
                .severity(FindingProviderSeverity::builder().label(label).build())
                .types(FINDING_TYPE)
                .build(),
        )
        .title(ids::cut(
            &control.title(&evaluation.resource, region),
            MAX_TITLE,
        ))
        .description(ids::cut(&evaluation.details.join("; "), MAX_DESCRIPTION))
        .remediation(
            Remediation::builder()
                .recommendation(
                    Recommendation::builder()
                        .text(control.recommendation())
                        .build(),
                )
                .build(),
        )
        .compliance(Compliance::builder().status(status).build())
        .record_state(if evaluation.failed {
            RecordState::Active
        } else {
            RecordState::Archived
        })
        .product_fields("ecs-warden/Function", origin.function)
        .product_fields("ecs-warden/Checks", checks.join(","));
    if let Some(event_id) = origin.event_id {
        finding = finding.product_fields("ecs-warden/EventId", event_id);
    }
    for resource in resources(evaluation, partition) {
        finding = finding.resources(resource);
    }
    finding.build()
}

/// The resources of a finding, typed as Security Hub knows them, each with its ARN as id.
fn resources(evaluation: &Evaluation, partition: &str) -> Vec<Resource> {
    let resource = |kind: &str, id: String| {
        Resource::builder()
            .r#type(kind)
            .id(id)
            .partition(Partition::from(partition))
            .region(&evaluation.region)
            .build()
    };
    match evaluation.control.subject() {
        Subject::IamRole => vec![resource("AwsIamRole", evaluation.resource.clone())],
        Subject::TaskDefinition => vec![resource(
            "AwsEcsTaskDefinition",
            evaluation.resource.clone(),
        )],
        Subject::Account => vec![resource("AwsAccount", evaluation.resource_id())],
        // The service the policy scales is what teams know; the policy has no ASFF type.
        Subject::ScalingPolicy => service_of_policy(&evaluation.resource)
            .map(|service| resource("AwsEcsService", service))
            .into_iter()
            .chain([resource("Other", evaluation.resource.clone())])
            .collect(),
    }
}

/// The ECS service a scaling policy ARN names
/// (`...:scalingPolicy:ID:resource/ecs/service/CLUSTER/SERVICE:policyName/NAME`).
fn service_of_policy(policy_arn: &str) -> Option<String> {
    let arn = Arn::parse(policy_arn)?;
    let (_, rest) = arn.resource.split_once(":resource/ecs/service/")?;
    let (cluster_service, _) = rest.split_once(":policyName/")?;
    let (cluster, service) = cluster_service.split_once('/')?;
    Some(format!(
        "arn:{}:ecs:{}:{}:service/{cluster}/{service}",
        arn.partition, arn.region, arn.account
    ))
}

/// Where findings go: nowhere, or Security Hub in each finding's account and region.
#[derive(Debug, Clone, Default)]
pub struct SecurityHub(Option<Arc<Importer>>);

#[derive(Debug)]
struct Importer {
    clients: AccountClients<SecurityHubClients>,
    calls: CallLog,
}

impl SecurityHub {
    /// No import.
    pub fn off() -> Self {
        Self(None)
    }

    /// Imports through Security Hub clients in every account `accounts` allows.
    pub fn importing(accounts: &Arc<Accounts>, config: &SdkConfig, calls: &CallLog) -> Self {
        let clients = AccountClients::new(accounts, config, calls, SecurityHubClients::new);
        Self::with_clients(clients, calls)
    }

    /// As [`Self::importing`], through `clients` (mocked, in tests).
    pub fn with_clients(clients: AccountClients<SecurityHubClients>, calls: &CallLog) -> Self {
        Self(Some(Arc::new(Importer {
            clients,
            calls: calls.clone(),
        })))
    }

    /// Imports the answer's findings. What fails is added to its report as a `failed`
    /// finding with check `security_hub`, and the calls made to its call list.
    pub async fn import(
        &self,
        function: &'static str,
        own_region: &str,
        answer: &mut impl Notable,
    ) {
        let Some(importer) = &self.0 else { return };
        let home = importer.clients.accounts().home();
        let evaluations = evaluate(&answer.checked(), own_region, home);
        let report = answer.report_mut();
        if evaluations.is_empty() {
            return;
        }
        let origin = Origin {
            function,
            event_id: report.event_id.as_deref(),
        };
        let mut groups: BTreeMap<(String, String), Vec<Evaluation>> = BTreeMap::new();
        for evaluation in evaluations {
            groups
                .entry((evaluation.account.clone(), evaluation.region.clone()))
                .or_default()
                .push(evaluation);
        }
        let outcomes: Vec<Outcome> = stream::iter(groups)
            .map(|((account, region), group)| importer.import_into(account, region, group, origin))
            .buffered(CONCURRENCY)
            .collect()
            .await;
        let imported: usize = outcomes.iter().map(|o| o.imported).sum();
        let failures: Vec<Finding> = outcomes.into_iter().flat_map(|o| o.failures).collect();
        report.aws_calls.extend(importer.calls.take());
        tracing::info!(
            event_id = report.event_id.as_deref(),
            imported,
            failed = failures.len(),
            "security hub import"
        );
        for failure in failures {
            tracing::error!(event_id = report.event_id.as_deref(), resource = %failure.resource, error = %failure.detail, "security hub import failed");
            report.push(failure);
        }
    }
}

/// What one account and region's import came to.
#[derive(Debug, Default)]
struct Outcome {
    imported: usize,
    failures: Vec<Finding>,
}

impl Importer {
    async fn import_into(
        &self,
        account: String,
        region: String,
        group: Vec<Evaluation>,
        origin: Origin<'_>,
    ) -> Outcome {
        let partition = ids::partition(&region);
        let product = product_arn(partition, &region, &account);
        let mut outcome = Outcome::default();
        let failed =
            |detail: String| Finding::new(&product, CheckId::SECURITY_HUB, Status::Failed, detail);
        let clients = match self.clients.get(&account, partition).await {
            Ok(clients) => clients,
            Err(why) => {
                outcome.failures.push(failed(format!(
                    "{} finding(s) not imported: {}",
                    group.len(),
                    why.detail
                )));
                return outcome;
            }
        };
        let client = clients.client(&region);
        let stored = match stored(&client, &account, &region, &group).await {
            Ok(stored) => stored,
            Err(e) => {
                // Without what is stored, an update could move CreatedAt or overwrite a
                // newer observation: nothing is imported, and the next invocation tries.
                outcome.failures.push(failed(format!(
                    "{} finding(s) not imported: their stored state could not be read: {}",
                    group.len(),
                    e.explain(
                        "securityhub:GetFindings",
                        &hub_arn(partition, &region, &account)
                    )
                )));
                return outcome;
            }
        };
        let send: Vec<(Evaluation, String)> = group
            .into_iter()
            .filter_map(|e| {
                let created = e.update(stored.get(&e.id()))?;
                Some((e, created))
            })
            .collect();
        for batch in send.chunks(BATCH) {
            let mut call = client.batch_import_findings();
            for (evaluation, created) in batch {
                call = call.findings(asff(evaluation, &origin, created));
            }
            match call.send().await {
                Ok(out) => {
                    let refused = out.failed_findings();
                    outcome.imported += batch.len() - refused.len();
                    if !refused.is_empty() {
                        let some: Vec<String> = refused
                            .iter()
                            .take(3)
                            .map(|r| {
                                format!(
                                    "{} ({}: {})",
                                    r.id().unwrap_or_default(),
                                    r.error_code().unwrap_or_default(),
                                    r.error_message().unwrap_or_default()
                                )
                            })
                            .collect();
                        outcome.failures.push(failed(format!(
                            "Security Hub refused {} of {} finding(s): {}",
                            refused.len(),
                            batch.len(),
                            some.join("; ")
                        )));
                    }
                }
                Err(e) => outcome.failures.push(failed(format!(
                    "{} finding(s) not imported: {}",
                    batch.len(),
                    CallError::from_sdk(&e).explain("securityhub:BatchImportFindings", &product)
                ))),
            }
        }
        outcome
    }
}

/// What Security Hub holds of the group's findings, by `Id`. Up to [`FILTER_VALUES`]
/// evaluations, one read by their ids; more (a sweep), the account's ACTIVE ecs-warden
/// findings in the region, then by id those failed or changed that are not among them (an
/// archived finding failing again, or one never imported).
async fn stored(
    client: &aws_sdk_securityhub::Client,
    account: &str,
    region: &str,
    group: &[Evaluation],
) -> Result<HashMap<String, Stored>, CallError> {
    let (mut found, missing) = if group.len() <= FILTER_VALUES {
        (HashMap::new(), group.iter().map(Evaluation::id).collect())
    } else {
        let active = findings(client, account, region, |f| {
            f.record_state(equals("ACTIVE"))
        })
        .await?;
        let missing: Vec<String> = group
            .iter()
            .filter(|e| e.failed || e.changed)
            .map(Evaluation::id)
            .filter(|id| !active.contains_key(id))
            .collect();
        (active, missing)
    };
    for chunk in missing.chunks(FILTER_VALUES) {
        let more = findings(client, account, region, |f| {
            f.set_id(Some(chunk.iter().map(|id| equals(id)).collect()))
        })
        .await?;
        found.extend(more);
    }
    Ok(found)
}

/// A filter value that must equal `value`.
fn equals(value: &str) -> StringFilter {
    StringFilter::builder()
        .value(value)
        .comparison(StringFilterComparison::Equals)
        .build()
}

/// ecs-warden's findings of `account` in `region` that `narrow` selects, every page.
async fn findings(
    client: &aws_sdk_securityhub::Client,
    account: &str,
    region: &str,
    narrow: impl FnOnce(AwsSecurityFindingFiltersBuilder) -> AwsSecurityFindingFiltersBuilder,
) -> Result<HashMap<String, Stored>, CallError> {
    let prefix = StringFilter::builder()
        .value(PREFIX)
        .comparison(StringFilterComparison::Prefix)
        .build();
    let filters = narrow(
        AwsSecurityFindingFilters::builder()
            .generator_id(prefix)
            .aws_account_id(equals(account))
            .region(equals(region)),
    )
    .build();
    let mut pages = client
        .get_findings()
        .filters(filters)
        .max_results(100)
        .into_paginator()
        .send();
    let mut found = HashMap::new();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| CallError::from_sdk(&e))?;
        // Read the findings back rather than trust the filter to have applied.
        for f in page.findings() {
            let ours = f.generator_id().is_some_and(|g| g.starts_with(PREFIX))
                && f.aws_account_id() == Some(account);
            let (Some(id), true) = (f.id(), ours) else {
                continue;
            };
            found.insert(
                id.to_owned(),
                Stored {
                    created_at: f.created_at().unwrap_or_default().to_owned(),
                    updated_at_ms: f.updated_at().map_or(0, millis),
                    active: f.record_state() != Some(&RecordState::Archived),
                },
            );
        }
    }
    Ok(found)
}

fn hub_arn(partition: &str, region: &str, account: &str) -> String {
    format!("arn:{partition}:securityhub:{region}:{account}:hub/default")
}

/// A time in milliseconds since the epoch as ASFF's timestamps read (RFC 3339, UTC).
fn timestamp(millis: u64) -> String {
    DateTime::from_millis(millis as i64)
        .fmt(Format::DateTime)
        .unwrap_or_default()
}

/// An ASFF timestamp in milliseconds since the epoch; 0 when it does not parse, which any
/// observation is newer than.
fn millis(timestamp: &str) -> u64 {
    DateTime::from_str(timestamp, Format::DateTime)
        .ok()
        .and_then(|t| t.to_millis().ok())
        .map_or(0, |m| m.max(0) as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Controls as the domain declares them: the plumbing knows none by name.
    enum Declared {
        PolicyAlarms,
        Role,
    }

    impl Control for Declared {
        fn id(&self) -> &'static str {
            match self {
                Self::PolicyAlarms => "scaling_alarms",
                Self::Role => "ecs_role",
            }
        }
        fn subject(&self) -> Subject {
            match self {
                Self::PolicyAlarms => Subject::ScalingPolicy,
                Self::Role => Subject::IamRole,
            }
        }
        fn severity(&self, _: &str) -> checks::Severity {
            checks::Severity::Medium
        }
        fn title(&self, resource: &str, _: &str) -> String {
            format!("{} {resource}", self.id())
        }
        fn recommendation(&self) -> &'static str {
            "fix it"
        }
    }

    const ROLE: &str =
        "arn:aws:iam::111122223333:role/aws-service-role/ecs.amazonaws.com/AWSServiceRoleForECS";
    const POLICY: &str = "arn:aws:autoscaling:eu-west-1:111122223333:scalingPolicy:0a1b:resource/ecs/service/prod/web:policyName/cpu-out";

    #[test]
    fn the_id_is_stable_per_account_region_control_and_resource_and_within_the_limit() {
        let one = |account: &str, region: &str, resource: &str| Evaluation {
            account: account.into(),
            region: region.into(),
            control: &Declared::PolicyAlarms,
            resource: resource.into(),
            failed: true,
            changed: false,
            checks: BTreeSet::new(),
            details: vec![],
            observed_at_ms: 0,
        };
        let a = one("111122223333", "eu-west-1", POLICY);
        let mut passed = a.clone();
        passed.failed = false;
        passed.details = vec!["other words".into()];
        assert_eq!(
            a.id(),
            passed.id(),
            "the status and words do not change the id"
        );
        assert_ne!(a.id(), one("444455556666", "eu-west-1", POLICY).id());
        assert_ne!(a.id(), one("111122223333", "us-east-1", POLICY).id());
        let long = format!("{POLICY}{}", "x".repeat(600));
        let longer = format!("{POLICY}{}y", "x".repeat(600));
        let (l1, l2) = (
            one("111122223333", "eu-west-1", &long).id(),
            one("111122223333", "eu-west-1", &longer).id(),
        );
        assert!(l1.len() <= MAX_ID && l2.len() <= MAX_ID);
        assert_ne!(l1, l2, "cut ids stay unique");
        // The id earlier releases gave this finding: another would leave the old finding
        // open in Security Hub beside the new one.
        let whole = format!("ecs-warden/111122223333/eu-west-1/scaling_alarms/{long}");
        assert_eq!(l1, format!("{}#112559fed00a0ea1", &whole[..495]));
    }

    #[test]
    fn an_update_keeps_created_at_and_never_goes_back_in_time() {
        let at = |failed: bool, changed: bool| Evaluation {
            account: "111122223333".into(),
            region: "eu-west-1".into(),
            control: &Declared::Role,
            resource: ROLE.into(),
            failed,
            changed,
            checks: BTreeSet::new(),
            details: vec![],
            observed_at_ms: 1_764_669_600_000,
        };
        let held = |active: bool, updated_at_ms: u64| Stored {
            created_at: "2025-11-01T08:00:00Z".into(),
            updated_at_ms,
            active,
        };
        let (older, newer) = (1_764_669_000_000, 1_764_670_000_000);
        let (failed, passed, fixed) = (at(true, false), at(false, false), at(false, true));
        // Nothing stored: a failure or a change is created now; a compliant control is not.
        assert_eq!(failed.update(None).as_deref(), Some("2025-12-02T10:00:00Z"));
        assert_eq!(fixed.update(None).as_deref(), Some("2025-12-02T10:00:00Z"));
        assert_eq!(passed.update(None), None);
        // Stored and older: updated, created when it was; a compliant control only to
        // archive an ACTIVE one.
        let created = Some("2025-11-01T08:00:00Z");
        assert_eq!(failed.update(Some(&held(false, older))).as_deref(), created);
        assert_eq!(passed.update(Some(&held(true, older))).as_deref(), created);
        assert_eq!(passed.update(Some(&held(false, older))), None);
        // Stored as late or later: never sent.
        for stored in [held(true, newer), held(false, 1_764_669_600_000)] {
            assert_eq!(failed.update(Some(&stored)), None);
            assert_eq!(fixed.update(Some(&stored)), None);
        }
        assert_eq!(
            millis("2025-12-02T10:00:00.250Z"),
            1_764_669_600_250,
            "ASFF timestamps read back"
        );
        assert_eq!(millis("not a time"), 0);
    }

    #[test]
    fn a_scaling_policy_names_its_ecs_service() {
        assert_eq!(
            service_of_policy(POLICY).as_deref(),
            Some("arn:aws:ecs:eu-west-1:111122223333:service/prod/web")
        );
        assert_eq!(service_of_policy(ROLE), None);
    }

    #[test]
    fn the_setting_reads_true_or_false_only() {
        assert!(!enabled(None).unwrap());
        assert!(!enabled(Some("")).unwrap());
        assert!(!enabled(Some("false")).unwrap());
        assert!(enabled(Some(" true ")).unwrap());
        assert!(enabled(Some("yes")).is_err());
    }
}
