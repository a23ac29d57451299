//! One account's sweep: every region read from its resume point and its alarms checked, in
//! parallel, the roles what was read uses ensured once, and, when the sweep starts afresh,
//! the CloudTrail trails checked while the regions are read. A region that has not
//! finished when the deadline passes is handed on in the continuation.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_sdk_applicationautoscaling::types::{PolicyType, ScalingPolicy};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tracing::Instrument;

use super::{
    Continuation, Reconcile, RegionSweep, ResumePoint, Stage, SweepClients, Unreached, FUNCTION,
};
use crate::aws::{self, CallError, CallLog, Clients, FailedCall};
use crate::domain::alarms::{self, AlarmIndex, AlarmSettings, ServiceTarget};
use crate::domain::catalog::{
    ECS_AUTOSCALE_ROLE, ECS_AUTOSCALING_SERVICE_LINKED_ROLE, ECS_SERVICE_LINKED_ROLE,
    ECS_SERVICE_ROLE, ECS_TASK_EXECUTION_ROLE, ECS_TASK_EXECUTION_ROLE_OF_ANY_NAME,
};
use crate::domain::checks::Check;
use crate::domain::clusters::{self, RegionInventory};
use crate::domain::execution_role::DOCUMENTED_NAME;
use crate::domain::roles::{self, RoleTarget};
use crate::domain::scaling::{self, ScalableService};
use crate::domain::trails::{self, Need};
use crate::handlers::Watched;
use crate::handlers::{
    access_doctor, ecs_role_guard, role_drift_guard, scaling_guard, slr_deletion,
};
use crate::invocation::checks::CheckId;
use crate::invocation::deadline::Deadline;
use crate::invocation::gate::Scope;
use crate::invocation::report::{Finding, Status};
use crate::invocation::verdict_cache::Verdicts;

/// Regions swept at once: enough to overlap their latency, few enough to stay clear of
/// API rate limits shared with the account's own tooling.
pub const REGION_CONCURRENCY: usize = 4;

/// Where IAM's CloudTrail events reach EventBridge: IAM is global and its events are
/// delivered in us-east-1 only (the template's `IsUsEast1` rules).
pub const IAM_EVENT_REGION: &str = "us-east-1";

/// The event sources whose calls trigger role-drift-guard, access-doctor's IAM part and
/// slr-deletion's follow of a deletion begun elsewhere, all in [`IAM_EVENT_REGION`].
const IAM_EVENTS: (&[&str], &[&str]) = (
    &["iam.amazonaws.com"],
    &[
        role_drift_guard::FUNCTION,
        access_doctor::FUNCTION,
        slr_deletion::FUNCTION,
    ],
);

/// The event sources whose calls trigger the regional functions, in every swept region.
const REGIONAL_EVENTS: (&[&str], &[&str]) = (
    &[
        "ecs.amazonaws.com",
        "autoscaling.amazonaws.com",
        "monitoring.amazonaws.com",
    ],
    &[
        ecs_role_guard::FUNCTION,
        scaling_guard::FUNCTION,
        access_doctor::FUNCTION,
    ],
);

/// What a region's sweep read that names roles: its clusters' services, the execution
/// role of each task definition revision they run, and its scalable targets.
struct RegionFacts {
    inventory: RegionInventory,
    /// Each execution role, with a revision that names it.
    execution_roles: BTreeMap<String, String>,
    targets: Vec<ScalableService>,
}

/// What one account's sweep found, before the invocation's report is made.
pub(super) struct Swept {
    pub(super) account: String,
    pub(super) findings: Vec<Finding>,
    pub(super) regions: Vec<RegionSweep>,
    pub(super) continuation: Option<Continuation>,
    /// Why the account could not be acted in at all (its only finding says so too).
    unreached: Option<String>,
}

impl Swept {
    /// The account, when its sweep could not act in it, with why.
    pub(super) fn unreached(&self) -> Option<Unreached> {
        self.unreached.clone().map(|why| Unreached {
            account: self.account.clone(),
            why,
        })
    }
}

/// Every role something uses, ensured once however many regions use it.
async fn roles_in_use(
    iam: &aws_sdk_iam::Client,
    scope: &Scope,
    read: &[(String, RegionFacts)],
    look_alikes: &Watched,
) -> Vec<Finding> {
    let (targets, mut findings) = roles_needed(read, &scope.account);
    let verdicts = Verdicts::new(Duration::ZERO);
    for target in targets {
        let target = look_alikes.owned(target);
        findings.extend(roles::ensure(iam, &verdicts, scope, &target).await);
    }
    findings
}

/// What CloudTrail must deliver for the event-driven functions: IAM's events in
/// [`IAM_EVENT_REGION`], the regional services' in every swept region (both, when it is
/// swept), in region order.
fn trail_needs(regions: &[String]) -> Vec<Need> {
    let mut needs: BTreeMap<String, Need> = BTreeMap::new();
    let mut add = |region: &str, (sources, functions): (&[&'static str], &[&'static str])| {
        let need = needs.entry(region.to_owned()).or_insert_with(|| Need {
            region: region.to_owned(),
            sources: BTreeSet::new(),
            global: false,
            functions: BTreeSet::new(),
        });
        need.sources.extend(sources);
        need.functions.extend(functions);
    };
    add(IAM_EVENT_REGION, IAM_EVENTS);
    for region in regions {
        add(region, REGIONAL_EVENTS);
    }
    if let Some(need) = needs.get_mut(IAM_EVENT_REGION) {
        need.global = true;
    }
    needs.into_values().collect()
}

/// What the regions' sweeps came to, as they finish.
#[derive(Default)]
struct Gathered {
    findings: Vec<Finding>,
    /// What each region that could be read holds.
    read: Vec<(String, RegionFacts)>,
    sweeps: Vec<RegionSweep>,
    /// The regions left unfinished and where each resumes.
    next: Continuation,
}

impl Gathered {
    /// Adds one region's sweep: a region that could not be read is a failed finding, and
    /// the others are swept without it.
    fn add(&mut self, region: String, run: Result<RegionRun, FailedCall>, took: Duration) {
        match run {
            Ok(run) => {
                self.sweeps.push(RegionSweep::of(&region, &run, took));
                self.findings.extend(run.findings);
                if let Some(point) = run.resume {
                    self.next.regions.push(region.clone());
                    self.next.resume.insert(region.clone(), point);
                }
                self.read.push((region, run.facts));
            }
            Err(why) => {
                self.findings.push(Finding::new(
                    &region,
                    Check::Region,
                    Status::Failed,
                    format!("{why}; the sweep went on without it"),
                ));
                self.sweeps.push(RegionSweep {
                    account: None,
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
}

impl RegionSweep {
    /// The line of a region swept in `took`.
    fn of(region: &str, run: &RegionRun, took: Duration) -> Self {
        let clusters = &run.facts.inventory.clusters;
        Self {
            account: None,
            region: region.to_owned(),
            ok: true,
            clusters: clusters.len(),
            services: clusters.iter().map(|c| c.services.len()).sum(),
            scalable_targets: run.facts.targets.len(),
            scaling_policies: run.checked,
            millis: took.as_millis(),
        }
    }
}

/// The roles the regions read use, each once: the ECS service-linked role wherever a
/// cluster exists, each service's load-balancer role, each scalable target's role (its
/// service-linked role when it names none); a reference that is not a role is a skipped
/// finding. `account` is the sweep's own.
fn roles_needed(read: &[(String, RegionFacts)], account: &str) -> (Vec<RoleTarget>, Vec<Finding>) {
    let mut targets: Vec<RoleTarget> = Vec::new();
    let mut seen = BTreeSet::new();
    // One role per account and name: another account's role of the same name is another
    // role, and a bare name is the sweep's own account's.
    let mut add = |target: RoleTarget| {
        let owner = target.account.clone().unwrap_or_else(|| account.to_owned());
        if seen.insert((owner, target.name.clone())) {
            targets.push(target);
        }
    };
    let mut findings = Vec::new();
    if read.iter().any(|(_, f)| !f.inventory.clusters.is_empty()) {
        add(RoleTarget::catalog(&ECS_SERVICE_LINKED_ROLE));
    }
    for (region, facts) in read {
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
                // What ECS holds: a missing role is recreated where the service expects it.
                Ok(target) => add(target.used_at_its_path()),
                Err(e) => findings.push(Finding::new(
                    role,
                    Check::Role,
                    Status::Skipped,
                    format!("{region}: {e}"),
                )),
            }
        }
        for (role, revision) in &facts.execution_roles {
            // ECS's documented name is checked whole; another name for its trust alone.
            let spec = if role.rsplit('/').next() == Some(DOCUMENTED_NAME) {
                &ECS_TASK_EXECUTION_ROLE
            } else {
                &ECS_TASK_EXECUTION_ROLE_OF_ANY_NAME
            };
            match RoleTarget::named(spec, role, "executionRoleArn") {
                Ok(target) => add(target.used_at_its_path()),
                Err(e) => findings.push(Finding::new(
                    role,
                    Check::Role,
                    Status::Skipped,
                    format!("{region} {revision}: {e}"),
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
                Ok(role) => add(role.used_at_its_path()),
                Err(e) => findings.push(Finding::new(
                    &target.role_arn,
                    Check::Role,
                    Status::Skipped,
                    format!("{region} {}: {e}", target.resource_id),
                )),
            }
        }
    }
    (targets, findings)
}

/// The execution role of every task definition revision the region's services run, each
/// revision read once however many services run it; a revision that cannot be read, or is
/// not reached before the deadline, is a finding (the next sweep reads it).
async fn execution_roles(
    ecs: &aws_sdk_ecs::Client,
    inventory: &RegionInventory,
    deadline: &Deadline,
) -> (BTreeMap<String, String>, Vec<Finding>) {
    let revisions: BTreeSet<&str> = inventory
        .clusters
        .iter()
        .flat_map(|c| &c.services)
        .filter_map(|s| s.task_definition.as_deref())
        .collect();
    let mut roles = BTreeMap::new();
    let mut findings = Vec::new();
    let total = revisions.len();
    for (read, revision) in revisions.into_iter().enumerate() {
        if deadline.passed() {
            findings.push(Finding::new(
                &inventory.region,
                Check::Role,
                Status::Skipped,
                format!(
                    "{} of {total} task definition revisions not read before the deadline; their execution roles are checked by the next sweep",
                    total - read
                ),
            ));
            break;
        }
        match ecs
            .describe_task_definition()
            .task_definition(revision)
            .send()
            .await
        {
            Ok(out) => {
                if let Some(role) = out.task_definition().and_then(|d| d.execution_role_arn()) {
                    roles
                        .entry(role.to_owned())
                        .or_insert_with(|| revision.to_owned());
                }
            }
            Err(e) => findings.push(Finding::new(
                revision,
                Check::Role,
                Status::Failed,
                CallError::from_sdk(&e).explain("ecs:DescribeTaskDefinition", revision),
            )),
        }
    }
    (roles, findings)
}

/// What a region's sweep read, checked and left for the next invocation.
struct RegionRun {
    facts: RegionFacts,
    findings: Vec<Finding>,
    /// Scaling policies whose alarms were checked.
    checked: usize,
    resume: Option<ResumePoint>,
}

/// Where a region's cluster read stopped, as the point to resume from: after the last
/// cluster read when the deadline cut the list, at the alarms when the list was read whole
/// but the deadline has passed, nowhere when the sweep goes on now.
fn resume_after_clusters(stopped: Option<String>, deadline_passed: bool) -> Option<ResumePoint> {
    match stopped {
        Some(last) => Some(ResumePoint {
            stage: Stage::Clusters,
            after: Some(last),
        }),
        None if deadline_passed => Some(ResumePoint {
            stage: Stage::Alarms,
            after: None,
        }),
        None => None,
    }
}

/// One region's sweep: its clients, the invocation's scope and deadline, and the alarm
/// defaults.
struct RegionWork<'a> {
    clients: &'a Clients,
    scope: &'a Scope,
    region: &'a str,
    defaults: &'a AlarmSettings,
    deadline: &'a Deadline,
}

/// Sweeps one region from `start`: its clusters in ARN order, then its targets, policies
/// and alarms, then each policy's alarms in ARN order, until `deadline`. Each stage does at
/// least one item, so successive invocations always get further. The error names the call
/// that failed.
async fn sweep_region(
    clients: &Clients,
    scope: &Scope,
    region: &str,
    defaults: &AlarmSettings,
    start: Option<ResumePoint>,
    deadline: &Deadline,
) -> Result<RegionRun, FailedCall> {
    let work = RegionWork {
        clients,
        scope,
        region,
        defaults,
        deadline,
    };
    let stage = start.as_ref().map_or(Stage::Clusters, |p| p.stage);
    let after = start.and_then(|p| p.after);
    let mut run = RegionRun {
        facts: RegionFacts {
            inventory: RegionInventory {
                region: region.to_owned(),
                clusters: Vec::new(),
            },
            execution_roles: BTreeMap::new(),
            targets: Vec::new(),
        },
        findings: Vec::new(),
        checked: 0,
        resume: None,
    };
    if stage == Stage::Clusters {
        let (inventory, stopped) =
            clusters::inventory_from(&clients.ecs, region, after.as_deref(), deadline)
                .await
                .map_err(|e| e.on("ecs:ListClusters", region))?;
        run.facts.inventory = inventory;
        run.resume = resume_after_clusters(stopped, deadline.passed());
        if run.resume.is_some() {
            return Ok(run);
        }
        let (roles, findings) = execution_roles(&clients.ecs, &run.facts.inventory, deadline).await;
        run.facts.execution_roles = roles;
        run.findings.extend(findings);
    }
    run.facts.targets = scaling::scalable_targets(&clients.autoscaling)
        .await
        .map_err(|e| e.on("application-autoscaling:DescribeScalableTargets", region))?;
    let mut policies = scaling::scaling_policies(&clients.autoscaling)
        .await
        .map_err(|e| e.on("application-autoscaling:DescribeScalingPolicies", region))?;
    policies.sort_by(|a, b| a.policy_arn().cmp(b.policy_arn()));
    let after = if stage == Stage::Alarms { after } else { None };
    policies.retain(|p| after.as_deref().is_none_or(|a| p.policy_arn() > a));
    // One read of every alarm instead of one per policy.
    let index = if policies.is_empty() {
        AlarmIndex::default()
    } else {
        AlarmIndex::load(clients)
            .await
            .map_err(|e| e.on("cloudwatch:DescribeAlarms", region))?
    };
    work.check_alarms(&policies, &index, &mut run).await;
    Ok(run)
}

impl RegionWork<'_> {
    /// Checks each policy's alarms in ARN order until the deadline, at least one; where it
    /// stopped goes into `run.resume`.
    async fn check_alarms(
        &self,
        policies: &[ScalingPolicy],
        index: &AlarmIndex,
        run: &mut RegionRun,
    ) {
        let mut last_checked: Option<&ScalingPolicy> = None;
        for policy in policies {
            if let Some(last) = last_checked.filter(|_| self.deadline.passed()) {
                run.resume = Some(ResumePoint {
                    stage: Stage::Alarms,
                    after: Some(last.policy_arn().to_owned()),
                });
                break;
            }
            last_checked = Some(policy);
            run.checked += 1;
            if let Some(finding) = self.check_policy(policy, index).await {
                run.findings.push(finding);
            }
        }
    }

    /// One policy's alarms: a step policy needs one that invokes it, a target-tracking
    /// policy the ones it lists; other kinds have none to check.
    async fn check_policy(&self, policy: &ScalingPolicy, index: &AlarmIndex) -> Option<Finding> {
        let target = match ServiceTarget::from_resource_id(policy.resource_id()) {
            Ok(target) => target,
            Err(why) => {
                return Some(Finding::new(
                    policy.policy_arn(),
                    Check::Policy,
                    Status::Skipped,
                    why.to_string(),
                ))
            }
        };
        let (clients, scope, index) = (self.clients, self.scope, Some(index));
        Some(match policy.policy_type() {
            PolicyType::StepScaling => {
                alarms::ensure_step_alarm(
                    clients,
                    scope,
                    self.region,
                    self.defaults,
                    &target,
                    policy,
                    index,
                )
                .await
            }
            PolicyType::TargetTrackingScaling => {
                alarms::ensure_target_tracking_alarms(clients, scope, policy, index).await
            }
            _ => return None,
        })
    }
}

impl Reconcile {
    /// Sweeps one account's regions (each from its resume point): every region is read
    /// and its alarms checked in parallel, then the roles in use are ensured once. A region
    /// that has not finished when `deadline` passes is handed on in the continuation. A
    /// sweep that resumes nothing also checks the CloudTrail trails, while the regions are
    /// read; a continuation does not repeat that.
    pub(super) async fn sweep_account(
        &self,
        input: &Continuation,
        event_id: &Option<String>,
        deadline: &Deadline,
    ) -> Swept {
        let regions = &input.regions;
        let partition = aws::ids::partition(regions.first().map_or("", String::as_str));
        let failed = |account: &str, finding: Finding| Swept {
            account: account.to_owned(),
            unreached: Some(finding.detail.clone()),
            findings: vec![finding],
            regions: Vec::new(),
            continuation: None,
        };
        let (account, clients) = match input.account.as_deref() {
            Some(account) => match self.clients.get(account, partition).await {
                Ok(clients) => (account.to_owned(), clients),
                Err(finding) => return failed(account, finding),
            },
            // A single-account function that does not know its own account asks STS.
            None => {
                let clients = self.clients.own();
                match clients.clients.sts.get_caller_identity().send().await {
                    Ok(out) => (out.account().unwrap_or_default().to_owned(), clients),
                    Err(e) => {
                        let err = CallError::from_sdk(&e);
                        let finding = Finding::new(
                            "",
                            CheckId::ACCOUNT,
                            Status::Failed,
                            err.explain("sts:GetCallerIdentity", "the caller"),
                        );
                        return failed("", finding);
                    }
                }
            }
        };
        let scope = Scope {
            mode: self.common.settings.mode,
            account: account.clone(),
            partition,
            event_id: event_id.clone().unwrap_or_default(),
            cause: format!("{FUNCTION}: sweep of {account} in {}", regions.join(", ")),
        };
        let span = tracing::info_span!("account", account = %account);
        async {
            tracing::info!(regions = %regions.join(","), resume = input.resume.len(), "sweeping");
            let mut findings = Vec::new();
            let mut runs = self.spawn_regions(&clients, input, &scope, deadline);
            if input.resume.is_empty() {
                findings.extend(trails::check(&clients.trails, &trail_needs(regions)).await);
            }
            let mut gathered = Gathered::default();
            while let Some(joined) = runs.join_next().await {
                match joined {
                    Ok((region, run, took)) => gathered.add(region, run, took),
                    Err(stopped) => gathered.findings.push(Finding::new(
                        "",
                        Check::Region,
                        Status::Failed,
                        format!("a region's sweep stopped unexpectedly ({stopped}); the sweep went on without it"),
                    )),
                }
            }
            let Gathered {
                findings: swept,
                mut read,
                mut sweeps,
                mut next,
            } = gathered;
            findings.extend(swept);
            read.sort_by(|a, b| a.0.cmp(&b.0));
            // Always, even past the deadline: the clusters and targets read this time are
            // behind the continuation's cursor, so their roles are checked now or never. A
            // handful of roles, a few calls each, within the time kept back to answer.
            findings.extend(
                roles_in_use(&clients.clients.iam, &scope, &read, &self.look_alikes).await,
            );
            sweeps.sort_by(|a, b| a.region.cmp(&b.region));
            next.regions.sort();
            let continuation = (!next.regions.is_empty()).then(|| Continuation {
                account: input.account.clone(),
                ..next
            });
            Swept {
                account,
                findings,
                regions: sweeps,
                continuation,
                unreached: None,
            }
        }
        .instrument(span)
        .await
    }

    /// Starts every region's sweep, at most [`REGION_CONCURRENCY`] at a time, each from its
    /// resume point.
    fn spawn_regions(
        &self,
        clients: &SweepClients,
        input: &Continuation,
        scope: &Scope,
        deadline: &Deadline,
    ) -> JoinSet<(String, Result<RegionRun, FailedCall>, Duration)> {
        let limit = Arc::new(Semaphore::new(REGION_CONCURRENCY));
        let mut runs = JoinSet::new();
        for region in input.regions.iter().cloned() {
            let clients = clients.regional.clients(&region);
            let start = input.resume.get(&region).cloned();
            let (scope, defaults, limit, deadline) = (
                scope.clone(),
                self.alarm_defaults.clone(),
                limit.clone(),
                deadline.clone(),
            );
            runs.spawn(CallLog::carried(
                async move {
                    let _permit = limit.acquire_owned().await;
                    let started = Instant::now();
                    let run =
                        sweep_region(&clients, &scope, &region, &defaults, start, &deadline).await;
                    (region, run, started.elapsed())
                }
                .in_current_span(),
            ));
        }
        runs
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::clusters::{ClusterInventory, ServiceInventory};

    fn facts(services: &[Option<&str>], targets: &[&str]) -> RegionFacts {
        let cluster = ClusterInventory {
            arn: "arn:aws:ecs:eu-west-1:111122223333:cluster/shop".into(),
            services: services
                .iter()
                .enumerate()
                .map(|(i, role)| ServiceInventory {
                    arn: format!("arn:aws:ecs:eu-west-1:111122223333:service/shop/s{i}"),
                    status: "ACTIVE".into(),
                    desired_count: 1,
                    running_count: 1,
                    role_arn: role.map(String::from),
                    task_definition: None,
                })
                .collect(),
            container_instances: Vec::new(),
            ignored: None,
        };
        RegionFacts {
            inventory: RegionInventory {
                region: "eu-west-1".into(),
                clusters: if services.is_empty() {
                    Vec::new()
                } else {
                    vec![cluster]
                },
            },
            execution_roles: BTreeMap::new(),
            targets: targets
                .iter()
                .map(|role| ScalableService {
                    resource_id: "service/shop/s0".into(),
                    role_arn: (*role).into(),
                })
                .collect(),
        }
    }

    const OWN: &str = "111122223333";

    fn names(targets: &[RoleTarget]) -> Vec<&str> {
        targets.iter().map(|t| t.name.as_str()).collect()
    }

    #[test]
    fn a_region_with_a_cluster_needs_the_ecs_service_linked_role_once() {
        let read = vec![
            ("eu-west-1".into(), facts(&[None], &[])),
            ("us-east-1".into(), facts(&[None, None], &[])),
        ];
        let (targets, findings) = roles_needed(&read, OWN);
        assert_eq!(names(&targets), ["AWSServiceRoleForECS"]);
        assert!(findings.is_empty());
        // Nothing read (every region failed, or none holds a cluster): no role is needed.
        assert!(roles_needed(&[], OWN).0.is_empty());
        assert!(roles_needed(&[("eu-west-1".into(), facts(&[], &[]))], OWN)
            .0
            .is_empty());
    }

    #[test]
    fn each_accounts_role_is_needed_once_and_what_is_not_a_role_is_skipped() {
        let read = vec![(
            "eu-west-1".into(),
            facts(
                &[
                    Some("ecsServiceRole"),
                    Some("arn:aws:iam::111122223333:role/ecsServiceRole"),
                ],
                &[
                    "",
                    "arn:aws:iam::444455556666:role/ecsAutoscaleRole",
                    "arn:aws:iam::111122223333:role/ecsAutoscaleRole",
                    "ecsAutoscaleRole",
                    "arn:aws:iam::111122223333:user/bob",
                ],
            ),
        )];
        let (targets, findings) = roles_needed(&read, OWN);
        let owned: Vec<(&str, Option<&str>)> = targets
            .iter()
            .map(|t| (t.name.as_str(), t.account.as_deref()))
            .collect();
        assert_eq!(
            owned,
            [
                ("AWSServiceRoleForECS", None),
                ("ecsServiceRole", None),
                ("AWSServiceRoleForApplicationAutoScaling_ECSService", None),
                // The other account's role does not stand for the sweep's own one.
                ("ecsAutoscaleRole", Some("444455556666")),
                ("ecsAutoscaleRole", Some(OWN)),
            ]
        );
        assert_eq!(findings.len(), 1, "{findings:?}");
        assert_eq!(findings[0].status, Status::Skipped);
        assert!(findings[0].resource.ends_with("user/bob"));
    }

    #[test]
    fn an_execution_role_is_checked_whole_under_its_documented_name_and_for_trust_otherwise() {
        let mut region = facts(&[None], &[]);
        region.execution_roles = [
            (
                "arn:aws:iam::111122223333:role/ecsTaskExecutionRole",
                "web:3",
            ),
            ("arn:aws:iam::111122223333:role/team/web-exec", "api:9"),
            ("arn:aws:iam::111122223333:user/bob", "odd:1"),
        ]
        .iter()
        .map(|(role, revision)| ((*role).to_owned(), (*revision).to_owned()))
        .collect();
        let (targets, findings) = roles_needed(&[("eu-west-1".into(), region)], OWN);
        let checked: Vec<(&str, bool, bool)> = targets
            .iter()
            .map(|t| {
                (
                    t.name.as_str(),
                    t.spec.managed_policy.is_some(),
                    t.withheld.is_none(),
                )
            })
            .collect();
        assert_eq!(
            checked,
            [
                ("AWSServiceRoleForECS", false, true),
                // The documented name: its managed policy too, and writable.
                ("ecsTaskExecutionRole", true, true),
                // Another name: its trust only, and never written.
                ("web-exec", false, false),
            ]
        );
        assert_eq!(findings.len(), 1, "{findings:?}");
        assert!(
            findings[0].detail.contains("odd:1"),
            "{}",
            findings[0].detail
        );
    }

    #[test]
    fn a_cluster_read_resumes_where_the_deadline_cut_it() {
        let cut = resume_after_clusters(Some("arn:c7".into()), true).unwrap();
        assert_eq!(
            (cut.stage, cut.after.as_deref()),
            (Stage::Clusters, Some("arn:c7"))
        );
        let whole = resume_after_clusters(None, true).unwrap();
        assert_eq!((whole.stage, whole.after), (Stage::Alarms, None));
        assert!(resume_after_clusters(None, false).is_none());
    }

    #[test]
    fn iam_events_are_needed_in_us_east_1_and_the_services_in_every_swept_region() {
        let needs = trail_needs(&["eu-west-1".into(), "us-east-1".into()]);
        let seen: Vec<(&str, bool, usize, usize)> = needs
            .iter()
            .map(|n| {
                (
                    n.region.as_str(),
                    n.global,
                    n.sources.len(),
                    n.functions.len(),
                )
            })
            .collect();
        // us-east-1 is swept too: IAM's source and the three regional ones, and the
        // five functions listening there.
        assert_eq!(
            seen,
            [("eu-west-1", false, 3, 3), ("us-east-1", true, 4, 5)]
        );

        let needs = trail_needs(&["ap-southeast-2".into()]);
        assert_eq!(needs.len(), 2);
        assert_eq!(needs[1].region, IAM_EVENT_REGION);
        assert_eq!(needs[1].sources, BTreeSet::from(["iam.amazonaws.com"]));
    }
}
