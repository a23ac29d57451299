//! The `reconcile` function: on a schedule and by hand, sweep every configured region for
//! what events missed (CloudTrail delivery to EventBridge is best effort) and fix it with
//! the guards' own code.
//!
//! Regions are read in parallel (at most [`REGION_CONCURRENCY`] at once), each fully
//! paginated; a region that cannot be read is a finding and the sweep goes on.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_sdk_applicationautoscaling::types::{PolicyType, ScalingPolicy};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tracing::Instrument;

use crate::alarms::{self, AlarmIndex, AlarmSettings, ServiceTarget};
use crate::aws::{CallError, CallLog, Clients, Regional};
use crate::catalog::{
    self, ECS_AUTOSCALE_ROLE, ECS_AUTOSCALING_SERVICE_LINKED_ROLE, ECS_SERVICE_LINKED_ROLE,
    ECS_SERVICE_ROLE,
};
use crate::clusters::{self, RegionInventory};
use crate::events::EventError;
use crate::notify::{Notable, Notifier};
use crate::report::{Finding, Report, Status};
use crate::roles::{self, RoleTarget, Scope};
use crate::scaling::{self, ScalableService};
use crate::settings::{is_region_name, Settings};
use crate::verdicts::Verdicts;

/// The function's name in reports and logs.
pub const FUNCTION: &str = "reconcile";
/// Regions swept at once: enough to overlap their latency, few enough to stay clear of
/// API rate limits shared with the account's own tooling.
pub const REGION_CONCURRENCY: usize = 4;

/// A manual run: `{"regions": [...]}` (optional; the configured regions by default).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ManualInput {
    #[serde(default)]
    regions: Vec<String>,
}

/// What one region held and how its sweep went.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RegionSweep {
    /// The region.
    pub region: String,
    /// Whether every read succeeded.
    pub ok: bool,
    /// Clusters that are not INACTIVE.
    pub clusters: usize,
    /// Their services.
    pub services: usize,
    /// ECS scalable targets.
    pub scalable_targets: usize,
    /// ECS scaling policies.
    pub scaling_policies: usize,
    /// Milliseconds spent reading the region and checking its alarms.
    pub millis: u128,
}

/// The sweep's report: the usual report (its findings are those that changed state or need
/// a person), with counts of every check by status and what each region held.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SweepReport {
    /// Function, mode, findings worth reading, AWS calls.
    #[serde(flatten)]
    pub report: Report,
    /// Every check's outcomes, compliant ones included: check → status → count.
    pub counts: BTreeMap<&'static str, BTreeMap<Status, usize>>,
    /// Per region.
    pub regions: Vec<RegionSweep>,
}

impl Notable for SweepReport {
    fn report(&self) -> &Report {
        &self.report
    }
    fn report_mut(&mut self) -> &mut Report {
        &mut self.report
    }
}

/// Everything a region holds that the sweep checks.
struct RegionFacts {
    inventory: RegionInventory,
    targets: Vec<ScalableService>,
    policies: Vec<ScalingPolicy>,
    index: AlarmIndex,
}

/// The handler with the clients it keeps between invocations of a warm container.
#[derive(Debug)]
pub struct Reconcile {
    clients: Clients,
    regional: Regional,
    settings: Settings,
    alarm_defaults: AlarmSettings,
    calls: CallLog,
    notifier: Notifier,
}

impl Reconcile {
    /// A sweeper over global clients (IAM, STS) and regional ones.
    pub fn new(
        clients: Clients,
        regional: Regional,
        settings: Settings,
        alarm_defaults: AlarmSettings,
        calls: CallLog,
        notifier: Notifier,
    ) -> Self {
        Self {
            clients,
            regional,
            settings,
            alarm_defaults,
            calls,
            notifier,
        }
    }

    /// Accepts the schedule's event or a manual input, and sweeps.
    pub async fn handle_payload(&self, payload: Value) -> Result<SweepReport, EventError> {
        let result = match self.regions_for(payload) {
            Ok((regions, event_id)) => Ok(self.sweep(&regions, event_id).await),
            Err(e) => Err(e),
        };
        self.notifier.finish(result).await
    }

    fn regions_for(&self, payload: Value) -> Result<(Vec<String>, Option<String>), EventError> {
        if let Some(kind) = payload.get("detail-type") {
            let source = payload
                .get("source")
                .and_then(Value::as_str)
                .unwrap_or_default();
            if kind != "Scheduled Event" || source != "aws.events" {
                return Err(EventError::UnexpectedDetailType {
                    found: kind.as_str().unwrap_or_default().to_owned(),
                    source_name: source.to_owned(),
                });
            }
            let id = payload.get("id").and_then(Value::as_str).map(String::from);
            return Ok((self.settings.regions.clone(), id));
        }
        let input: ManualInput = serde_json::from_value(payload).map_err(|e| {
            EventError::NotAnEvent(format!(
                "expected the schedule's event or {{\"regions\": [\"eu-west-1\", ...]}}: {e}"
            ))
        })?;
        let regions = if input.regions.is_empty() {
            self.settings.regions.clone()
        } else {
            input.regions
        };
        if let Some(bad) = regions.iter().find(|r| !is_region_name(r)) {
            return Err(EventError::BadField {
                field: "regions",
                problem: format!("{bad:?} is not a region"),
            });
        }
        if regions.is_empty() {
            return Err(EventError::BadField {
                field: "regions",
                problem: "none given and WARDEN_REGIONS / AWS_REGION name none".into(),
            });
        }
        Ok((regions, None))
    }

    /// Sweeps `regions`: reads them, ensures the roles in use once, checks every policy's alarms.
    pub async fn sweep(&self, regions: &[String], event_id: Option<String>) -> SweepReport {
        self.calls.take();
        let mut findings = Vec::new();
        let account = match self.clients.sts.get_caller_identity().send().await {
            Ok(out) => out.account().unwrap_or_default().to_owned(),
            Err(e) => {
                let err = CallError::from_sdk(&e);
                findings.push(Finding::new(
                    "",
                    "account",
                    Status::Failed,
                    err.explain("sts:GetCallerIdentity", "the caller"),
                ));
                return self.finish(event_id, findings, Vec::new());
            }
        };
        let scope = Scope {
            mode: self.settings.mode,
            account,
            partition: catalog::partition(regions.first().map_or("", String::as_str)),
            event_id: event_id.clone().unwrap_or_default(),
            cause: format!("{FUNCTION}: sweep of {}", regions.join(", ")),
        };
        tracing::info!(regions = %regions.join(","), "sweeping");

        let limit = Arc::new(Semaphore::new(REGION_CONCURRENCY));
        let mut reads = JoinSet::new();
        for region in regions.iter().cloned() {
            let clients = self.regional.clients(&region);
            let limit = limit.clone();
            reads.spawn(
                async move {
                    let _permit = limit.acquire_owned().await;
                    let started = Instant::now();
                    let facts = read_region(&clients, &region).await;
                    (region, facts, started.elapsed())
                }
                .in_current_span(),
            );
        }
        let mut read = Vec::new();
        let mut sweeps = Vec::new();
        while let Some(joined) = reads.join_next().await {
            let Ok((region, facts, took)) = joined else {
                continue;
            };
            match facts {
                Ok(facts) => read.push((region, facts, took)),
                Err(why) => {
                    findings.push(Finding::new(
                        &region,
                        "region",
                        Status::Failed,
                        format!("{why}; the sweep went on without it"),
                    ));
                    sweeps.push(RegionSweep {
                        region,
                        ok: false,
                        clusters: 0,
                        services: 0,
                        scalable_targets: 0,
                        scaling_policies: 0,
                        millis: took.as_millis(),
                    });
                }
            }
        }
        read.sort_by(|a, b| a.0.cmp(&b.0));

        findings.extend(self.roles_in_use(&scope, &read).await);

        let mut checks = JoinSet::new();
        for (region, facts, took) in read {
            let clients = self.regional.clients(&region);
            let (scope, defaults, limit) =
                (scope.clone(), self.alarm_defaults.clone(), limit.clone());
            checks.spawn(
                async move {
                    let _permit = limit.acquire_owned().await;
                    let started = Instant::now();
                    let found = check_alarms(&clients, &scope, &region, &defaults, &facts).await;
                    let sweep = RegionSweep {
                        ok: true,
                        clusters: facts.inventory.clusters.len(),
                        services: facts
                            .inventory
                            .clusters
                            .iter()
                            .map(|c| c.services.len())
                            .sum(),
                        scalable_targets: facts.targets.len(),
                        scaling_policies: facts.policies.len(),
                        millis: (took + started.elapsed()).as_millis(),
                        region,
                    };
                    (sweep, found)
                }
                .in_current_span(),
            );
        }
        while let Some(joined) = checks.join_next().await {
            if let Ok((sweep, found)) = joined {
                sweeps.push(sweep);
                findings.extend(found);
            }
        }
        sweeps.sort_by(|a, b| a.region.cmp(&b.region));
        self.finish(event_id, findings, sweeps)
    }

    /// Every role something uses, ensured once however many regions use it.
    async fn roles_in_use(
        &self,
        scope: &Scope,
        read: &[(String, RegionFacts, Duration)],
    ) -> Vec<Finding> {
        let mut targets: Vec<RoleTarget> = Vec::new();
        let mut seen = BTreeSet::new();
        let mut add = |target: RoleTarget| {
            if seen.insert(target.name.clone()) {
                targets.push(target);
            }
        };
        let mut findings = Vec::new();
        if read
            .iter()
            .any(|(_, f, _)| !f.inventory.clusters.is_empty())
        {
            add(RoleTarget::catalog(&ECS_SERVICE_LINKED_ROLE));
        }
        for (region, facts, _) in read {
            let service_roles = facts
                .inventory
                .clusters
                .iter()
                .flat_map(|c| &c.services)
                .filter_map(|s| s.role_arn.as_deref());
            for role in service_roles {
                match RoleTarget::named_or_linked(
                    &ECS_SERVICE_ROLE,
                    &ECS_SERVICE_LINKED_ROLE,
                    role,
                    "roleArn",
                ) {
                    Ok(target) => add(target),
                    Err(e) => findings.push(Finding::new(
                        role,
                        "role",
                        Status::Skipped,
                        format!("{region}: {e}"),
                    )),
                }
            }
            for target in &facts.targets {
                // No RoleARN: Application Auto Scaling uses its service-linked role.
                if target.role_arn.is_empty() {
                    add(RoleTarget::catalog(&ECS_AUTOSCALING_SERVICE_LINKED_ROLE));
                    continue;
                }
                match RoleTarget::named_or_linked(
                    &ECS_AUTOSCALE_ROLE,
                    &ECS_AUTOSCALING_SERVICE_LINKED_ROLE,
                    &target.role_arn,
                    "RoleARN",
                ) {
                    Ok(role) => add(role),
                    Err(e) => findings.push(Finding::new(
                        &target.role_arn,
                        "role",
                        Status::Skipped,
                        format!("{region} {}: {e}", target.resource_id),
                    )),
                }
            }
        }
        let verdicts = Verdicts::new(Duration::ZERO);
        for target in &targets {
            findings.extend(roles::ensure(&self.clients.iam, &verdicts, scope, target).await);
        }
        findings
    }

    fn finish(
        &self,
        event_id: Option<String>,
        all: Vec<Finding>,
        regions: Vec<RegionSweep>,
    ) -> SweepReport {
        let mut counts: BTreeMap<&'static str, BTreeMap<Status, usize>> = BTreeMap::new();
        for finding in &all {
            *counts
                .entry(finding.check)
                .or_default()
                .entry(finding.status)
                .or_insert(0) += 1;
        }
        let worth_reading = all
            .into_iter()
            .filter(|f| f.status != Status::Compliant)
            .collect();
        let report = Report::new(
            FUNCTION,
            self.settings.mode,
            event_id,
            None,
            worth_reading,
            self.calls.take(),
        );
        let sweep = SweepReport {
            report,
            counts,
            regions,
        };
        let json = serde_json::to_string(&sweep.counts).unwrap_or_default();
        tracing::info!(counts = %json, "sweep counts");
        sweep.report.log();
        sweep
    }
}

/// Reads what a region holds; the error names the call that failed.
async fn read_region(clients: &Clients, region: &str) -> Result<RegionFacts, String> {
    let inventory = clusters::inventory(&clients.ecs, region)
        .await
        .map_err(|e| e.explain("ecs:ListClusters", region))?;
    let targets = scaling::scalable_targets(&clients.autoscaling)
        .await
        .map_err(|e| e.explain("application-autoscaling:DescribeScalableTargets", region))?;
    let policies = scaling::scaling_policies(&clients.autoscaling)
        .await
        .map_err(|e| e.explain("application-autoscaling:DescribeScalingPolicies", region))?;
    // One read of every alarm instead of one per policy.
    let index = if policies.is_empty() {
        AlarmIndex::default()
    } else {
        AlarmIndex::load(clients)
            .await
            .map_err(|e| e.explain("cloudwatch:DescribeAlarms", region))?
    };
    Ok(RegionFacts {
        inventory,
        targets,
        policies,
        index,
    })
}

async fn check_alarms(
    clients: &Clients,
    scope: &Scope,
    region: &str,
    defaults: &AlarmSettings,
    facts: &RegionFacts,
) -> Vec<Finding> {
    let mut findings = Vec::new();
    for policy in &facts.policies {
        let target = match ServiceTarget::from_resource_id(policy.resource_id()) {
            Ok(target) => target,
            Err(why) => {
                findings.push(Finding::new(
                    policy.policy_arn(),
                    "policy",
                    Status::Skipped,
                    why,
                ));
                continue;
            }
        };
        let finding = match policy.policy_type() {
            PolicyType::StepScaling => {
                alarms::ensure_step_alarm(
                    clients,
                    scope,
                    region,
                    defaults,
                    &target,
                    policy,
                    Some(&facts.index),
                )
                .await
            }
            PolicyType::TargetTrackingScaling => {
                alarms::ensure_target_tracking_alarms(clients, scope, policy, Some(&facts.index))
                    .await
            }
            _ => continue,
        };
        findings.push(finding);
    }
    findings
}
