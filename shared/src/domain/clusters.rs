//! ECS clusters in one region: what uses `AWSServiceRoleForECS` there, and removing it in
//! seed 004's order (scale services to 0, delete them, force-deregister container
//! instances, delete the clusters), one step at a time.

use serde::{Deserialize, Serialize};

use aws_sdk_ecs::types::{ClusterField, ServiceField};

use crate::aws::{CallError, FailedCall};
use crate::domain::catalog;
use crate::domain::checks::Check;
use crate::invocation::deadline::Deadline;
use crate::invocation::gate::{failure, Gated, Scope};
use crate::invocation::report::{Finding, Status};

/// The most clusters one DescribeClusters call accepts.
const DESCRIBE_CLUSTERS_MAX: usize = 100;
/// The most services one DescribeServices call accepts.
const DESCRIBE_SERVICES_MAX: usize = 10;
/// ECS's answers to DeleteCluster while something still runs in it: worth retrying later.
const STILL_IN_USE: [&str; 3] = [
    "ClusterContainsServicesException",
    "ClusterContainsContainerInstancesException",
    "ClusterContainsTasksException",
];

/// One service, as the inventory saw it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceInventory {
    /// The service ARN.
    pub arn: String,
    /// `ACTIVE` or `DRAINING` (`INACTIVE` services are left out).
    pub status: String,
    /// Tasks the service asks for.
    pub desired_count: i32,
    /// Tasks running now.
    pub running_count: i32,
    /// The legacy load-balancer role the service names, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role_arn: Option<String>,
    /// The task definition revision it runs. Not carried in a deletion's state (which
    /// has a size bound and no use for it): reconcile reads it within one invocation.
    #[serde(skip)]
    pub task_definition: Option<String>,
}

/// One cluster and what runs in it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClusterInventory {
    /// The cluster ARN.
    pub arn: String,
    /// Its services that are not yet inactive.
    pub services: Vec<ServiceInventory>,
    /// Its registered container instances' ARNs.
    pub container_instances: Vec<String>,
    /// Why no drain may touch it: it, or one of its services, is tagged
    /// [`catalog::IGNORE_TAG`] (read with the cluster and its services, no extra call).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ignored: Option<String>,
}

/// The clusters of one region.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegionInventory {
    /// The region.
    pub region: String,
    /// Its clusters.
    pub clusters: Vec<ClusterInventory>,
}

impl RegionInventory {
    /// "2 cluster(s), 3 service(s) (2 above 0 tasks), 1 container instance(s)".
    pub fn summary(&self) -> String {
        let services: Vec<&ServiceInventory> =
            self.clusters.iter().flat_map(|c| &c.services).collect();
        let scaled = services.iter().filter(|s| s.desired_count > 0).count();
        let instances: usize = self
            .clusters
            .iter()
            .map(|c| c.container_instances.len())
            .sum();
        format!(
            "{} cluster(s), {} service(s) ({scaled} above 0 tasks), {instances} container instance(s)",
            self.clusters.len(),
            services.len()
        )
    }
}

/// Lists every cluster of the region with its services and container instances, paginated.
pub async fn inventory(
    ecs: &aws_sdk_ecs::Client,
    region: &str,
) -> Result<RegionInventory, CallError> {
    let (found, _) = inventory_from(ecs, region, None, &Deadline::none()).await?;
    Ok(found)
}

/// Reads the region's clusters in ARN order, those after `after` only, until `deadline`:
/// the clusters read, and the last one read when the deadline stopped it before the end.
/// At least one cluster is read, so that successive calls always get further.
pub async fn inventory_from(
    ecs: &aws_sdk_ecs::Client,
    region: &str,
    after: Option<&str>,
    deadline: &Deadline,
) -> Result<(RegionInventory, Option<String>), CallError> {
    let mut listed = Vec::new();
    let mut arns = ecs.list_clusters().into_paginator().items().send();
    while let Some(arn) = arns.next().await {
        listed.push(arn.map_err(|e| CallError::from_sdk(&e))?);
    }
    listed.sort();
    listed.retain(|arn| after.is_none_or(|after| arn.as_str() > after));
    let mut clusters = Vec::new();
    let mut last_read: Option<String> = None;
    for chunk in listed.chunks(DESCRIBE_CLUSTERS_MAX) {
        let out = ecs
            .describe_clusters()
            .set_clusters(Some(chunk.to_vec()))
            .include(ClusterField::Tags)
            .send()
            .await
            .map_err(|e| CallError::from_sdk(&e))?;
        for arn in chunk {
            if last_read.is_some() && deadline.passed() {
                let found = RegionInventory {
                    region: region.to_owned(),
                    clusters,
                };
                return Ok((found, last_read));
            }
            // A deleted cluster stays listed as INACTIVE for a while; it no longer uses
            // the role.
            let active = out
                .clusters()
                .iter()
                .find(|c| c.cluster_arn() == Some(arn.as_str()) && c.status() != Some("INACTIVE"));
            if let Some(active) = active {
                let ignored = opted_out(active.tags()).map(|why| format!("cluster {arn} is {why}"));
                clusters.push(cluster_inventory(ecs, arn.clone(), ignored).await?);
            }
            last_read = Some(arn.clone());
        }
    }
    Ok((
        RegionInventory {
            region: region.to_owned(),
            clusters,
        },
        None,
    ))
}

/// Why an ECS resource with these tags is never written ([`catalog::opted_out`]).
pub fn opted_out(tags: &[aws_sdk_ecs::types::Tag]) -> Option<String> {
    catalog::opted_out(
        tags.iter()
            .filter_map(|t| Some((t.key()?, t.value().unwrap_or_default()))),
    )
}

async fn cluster_inventory(
    ecs: &aws_sdk_ecs::Client,
    arn: String,
    mut ignored: Option<String>,
) -> Result<ClusterInventory, CallError> {
    let mut service_arns = Vec::new();
    let mut pages = ecs
        .list_services()
        .cluster(&arn)
        .into_paginator()
        .items()
        .send();
    while let Some(service) = pages.next().await {
        service_arns.push(service.map_err(|e| CallError::from_sdk(&e))?);
    }
    let mut services = Vec::new();
    for chunk in service_arns.chunks(DESCRIBE_SERVICES_MAX) {
        let out = ecs
            .describe_services()
            .cluster(&arn)
            .set_services(Some(chunk.to_vec()))
            .include(ServiceField::Tags)
            .send()
            .await
            .map_err(|e| CallError::from_sdk(&e))?;
        if ignored.is_none() {
            ignored = out.services().iter().find_map(|s| {
                opted_out(s.tags()).map(|why| {
                    format!(
                        "its service {} is {why}",
                        s.service_arn().unwrap_or_default()
                    )
                })
            });
        }
        // ListServices can still name a service that has just become inactive.
        services.extend(
            out.services()
                .iter()
                .filter(|s| s.status() != Some("INACTIVE"))
                .map(|s| ServiceInventory {
                    arn: s.service_arn().unwrap_or_default().to_owned(),
                    status: s.status().unwrap_or_default().to_owned(),
                    desired_count: s.desired_count(),
                    running_count: s.running_count(),
                    role_arn: s.role_arn().map(String::from),
                    task_definition: s.task_definition().map(String::from),
                }),
        );
    }
    let mut container_instances = Vec::new();
    let mut pages = ecs
        .list_container_instances()
        .cluster(&arn)
        .into_paginator()
        .items()
        .send();
    while let Some(instance) = pages.next().await {
        container_instances.push(instance.map_err(|e| CallError::from_sdk(&e))?);
    }
    Ok(ClusterInventory {
        arn,
        services,
        container_instances,
        ignored,
    })
}

/// What one drain step did in a region.
#[derive(Debug, Default)]
pub struct DrainStep {
    /// Every resource deleted (services, deregistered container instances, clusters).
    pub deleted: Vec<String>,
    /// One finding per write made (or, in audit mode, that would be made) and per failure.
    pub findings: Vec<Finding>,
    /// What is still in the way and why the step does not go further now.
    pub waiting: Vec<String>,
    /// A failure that more waiting will not cure (access denied, an unexpected answer).
    pub stuck: bool,
    /// The region has no cluster left.
    pub clear: bool,
    /// The step stopped before the end (its write budget or the invocation deadline);
    /// the next step carries on.
    pub cut: bool,
}

/// Writes one drain step makes in a region at most: keeps each step's answer, which the
/// state machine carries, far below its 256 KB.
pub const WRITES_PER_STEP: usize = 50;

/// Takes the region one step further towards having no cluster, never sleeping: services
/// still draining and clusters ECS refuses to delete yet are left for the next step.
pub async fn drain_step(
    ecs: &aws_sdk_ecs::Client,
    region: &str,
    scope: &Scope,
    deadline: &Deadline,
) -> DrainStep {
    let mut step = DrainStep::default();
    let found = match inventory(ecs, region).await {
        Ok(found) => found,
        Err(e) => {
            note_failure(&mut step, &e.on("ecs:ListClusters", region));
            return step;
        }
    };
    let mut budget = Budget {
        writes: 0,
        deadline,
    };
    // A cluster its owner opted out of is never drained; nor is the rest of the region,
    // since the role stays in use whatever else goes.
    let opted_out: Vec<&ClusterInventory> = found
        .clusters
        .iter()
        .filter(|c| c.ignored.is_some())
        .collect();
    for cluster in &opted_out {
        let why = cluster.ignored.as_deref().unwrap_or_default();
        step.findings.push(Finding::new(
            &cluster.arn,
            Check::DeleteCluster,
            Status::Skipped,
            format!("not drained: {why}"),
        ));
        step.waiting.push(format!(
            "{why}: nothing in {region} is drained; drain it by hand, or remove the tag"
        ));
        step.stuck = true;
    }
    if !opted_out.is_empty() {
        return step;
    }
    for cluster in &found.clusters {
        if budget.stops(&mut step, cluster) {
            break;
        }
        drain_cluster(ecs, scope, cluster, &mut step, &mut budget).await;
    }
    step.clear = found.clusters.len()
        == step
            .deleted
            .iter()
            .filter(|arn| found.clusters.iter().any(|c| &c.arn == *arn))
            .count();
    step
}

/// What a drain step may still do: writes made against [`WRITES_PER_STEP`], and the
/// invocation deadline. The first write is always allowed, so every step gets further.
struct Budget<'a> {
    writes: usize,
    deadline: &'a Deadline,
}

impl Budget<'_> {
    fn spent(&self) -> bool {
        self.writes > 0 && (self.writes >= WRITES_PER_STEP || self.deadline.passed())
    }

    /// Whether to stop at `cluster` now; if so, notes that the next step carries on.
    fn stops(&self, step: &mut DrainStep, cluster: &ClusterInventory) -> bool {
        if !self.spent() {
            return false;
        }
        step.cut = true;
        step.waiting.push(format!(
            "cluster {} and those after it wait for the next step: this one made {} write(s){}",
            cluster.arn,
            self.writes,
            if self.deadline.passed() {
                " and reached the invocation deadline"
            } else {
                ""
            }
        ));
        true
    }
}

/// One cluster's part of a drain step, in seed 004's order: its services scaled to 0 and
/// deleted, its container instances deregistered, then the cluster once nothing is left.
async fn drain_cluster(
    ecs: &aws_sdk_ecs::Client,
    scope: &Scope,
    cluster: &ClusterInventory,
    step: &mut DrainStep,
    budget: &mut Budget<'_>,
) {
    for service in &cluster.services {
        if budget.stops(step, cluster) {
            return;
        }
        drain_service(ecs, scope, cluster, service, step, budget).await;
    }
    for instance in &cluster.container_instances {
        if budget.stops(step, cluster) {
            return;
        }
        let why = "force-deregister the container instance";
        budget.writes += 1;
        let call = ecs
            .deregister_container_instance()
            .cluster(&cluster.arn)
            .container_instance(instance)
            .force(true)
            .send();
        match scope
            .write("ecs:DeregisterContainerInstance", instance, why, call)
            .await
        {
            Gated::Audited => step
                .findings
                .push(would(instance, Check::DeregisterInstance, why)),
            Gated::Done(_) => {
                step.findings
                    .push(done(instance, Check::DeregisterInstance, why));
                step.deleted.push(instance.clone());
            }
            Gated::Failed(failed) => note_failure(step, &failed),
        }
    }
    // Services deleted this step are still draining: the cluster goes in a later step.
    if !cluster.services.is_empty() {
        step.waiting.push(format!(
            "cluster {} waits for its services to go inactive",
            cluster.arn
        ));
        return;
    }
    let why = "delete the cluster (no service left)";
    budget.writes += 1;
    let call = ecs.delete_cluster().cluster(&cluster.arn).send();
    match scope
        .write("ecs:DeleteCluster", &cluster.arn, why, call)
        .await
    {
        Gated::Audited => step
            .findings
            .push(would(&cluster.arn, Check::DeleteCluster, why)),
        Gated::Done(_) => {
            step.findings
                .push(done(&cluster.arn, Check::DeleteCluster, why));
            step.deleted.push(cluster.arn.clone());
        }
        Gated::Failed(failed) if STILL_IN_USE.contains(&failed.error.code.as_str()) => {
            step.waiting.push(format!(
                "cluster {} not deleted yet ({}: {}); retried next step",
                cluster.arn, failed.error.code, failed.error.message
            ));
        }
        Gated::Failed(failed) => note_failure(step, &failed),
    }
}

/// One service of a drain: scaled to 0 if it still wants tasks, then deleted (it drains
/// on its own; the cluster waits for it). An inactive service only waits.
async fn drain_service(
    ecs: &aws_sdk_ecs::Client,
    scope: &Scope,
    cluster: &ClusterInventory,
    service: &ServiceInventory,
    step: &mut DrainStep,
    budget: &mut Budget<'_>,
) {
    if service.status != "ACTIVE" {
        step.waiting.push(format!(
            "service {} is {} with {} task(s) running",
            service.arn, service.status, service.running_count
        ));
        return;
    }
    if service.desired_count > 0 {
        let why = format!(
            "scale to 0 from {} before deleting it",
            service.desired_count
        );
        budget.writes += 1;
        let call = ecs
            .update_service()
            .cluster(&cluster.arn)
            .service(&service.arn)
            .desired_count(0)
            .send();
        match scope
            .write("ecs:UpdateService", &service.arn, &why, call)
            .await
        {
            Gated::Audited => step
                .findings
                .push(would(&service.arn, Check::ScaleService, &why)),
            Gated::Done(_) => step
                .findings
                .push(done(&service.arn, Check::ScaleService, &why)),
            Gated::Failed(failed) => return note_failure(step, &failed),
        }
    }
    let why = "delete the service (scaled to 0)";
    budget.writes += 1;
    let call = ecs
        .delete_service()
        .cluster(&cluster.arn)
        .service(&service.arn)
        .send();
    match scope
        .write("ecs:DeleteService", &service.arn, why, call)
        .await
    {
        Gated::Audited => step
            .findings
            .push(would(&service.arn, Check::DeleteService, why)),
        Gated::Done(_) => {
            step.findings
                .push(done(&service.arn, Check::DeleteService, why));
            step.deleted.push(service.arn.clone());
            step.waiting
                .push(format!("service {} is draining", service.arn));
        }
        Gated::Failed(failed) => note_failure(step, &failed),
    }
}

fn done(resource: &str, check: Check, why: &str) -> Finding {
    Finding::new(resource, check, Status::Repaired, format!("done: {why}"))
}

fn would(resource: &str, check: Check, why: &str) -> Finding {
    Finding::new(
        resource,
        check,
        Status::WouldRepair,
        format!("audit mode; would {why}"),
    )
}

/// Records a failed write; only a throttle or a fault without an answer is worth retrying.
fn note_failure(step: &mut DrainStep, failed: &FailedCall) {
    let detail = failed.to_string();
    if is_transient(&failed.error) {
        step.waiting
            .push(format!("{}: {detail}; retried next step", failed.resource));
    } else {
        step.stuck = true;
    }
    step.findings.push(failure(failed, Check::Drain, ""));
}

/// A failure that the same call can get past later: throttling, a server fault, no answer.
pub fn is_transient(err: &CallError) -> bool {
    err.code.is_empty()
        || err.code.contains("Throttl")
        || matches!(
            err.code.as_str(),
            "RequestLimitExceeded"
                | "TooManyRequestsException"
                | "ServiceUnavailable"
                | "ServiceUnavailableException"
                | "InternalFailure"
                | "InternalError"
                | "ServerException"
                | "ServiceFailure"
        )
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn cluster(name: &str) -> ClusterInventory {
        ClusterInventory {
            arn: format!("arn:aws:ecs:eu-west-1:111122223333:cluster/{name}"),
            services: Vec::new(),
            container_instances: Vec::new(),
            ignored: None,
        }
    }

    #[test]
    fn a_step_stops_at_its_write_budget_or_deadline_but_only_after_a_write() {
        let none = Deadline::none();
        let mut step = DrainStep::default();
        let fresh = Budget {
            writes: 0,
            deadline: &Deadline::after(Duration::ZERO),
        };
        assert!(
            !fresh.stops(&mut step, &cluster("a")),
            "a step with no write yet always makes one, past its deadline or not"
        );
        let full = Budget {
            writes: WRITES_PER_STEP,
            deadline: &none,
        };
        assert!(full.stops(&mut step, &cluster("b")));
        assert!(step.cut);
        assert!(step.waiting[0].contains("cluster/b and those after it"));
        assert!(!step.waiting[0].contains("deadline"));
        let late = Budget {
            writes: 1,
            deadline: &Deadline::after(Duration::ZERO),
        };
        let mut step = DrainStep::default();
        assert!(late.stops(&mut step, &cluster("c")));
        assert!(step.waiting[0].ends_with("reached the invocation deadline"));
    }

    #[test]
    fn only_throttles_faults_and_lost_answers_are_worth_retrying() {
        let err = |code: &str| CallError {
            code: code.into(),
            ..CallError::default()
        };
        for code in [
            "",
            "ThrottlingException",
            "Throttling",
            "ServiceUnavailable",
            "InternalFailure",
        ] {
            assert!(is_transient(&err(code)), "{code}");
        }
        for code in [
            "AccessDeniedException",
            "ClusterContainsServicesException",
            "InvalidParameterException",
        ] {
            assert!(!is_transient(&err(code)), "{code}");
        }
    }
}
