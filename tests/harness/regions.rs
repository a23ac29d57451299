//! Arranging ECS, Application Auto Scaling and CloudWatch in one region, and a world of
//! three regions broken in every way a sweep repairs.

use aws_config::SdkConfig;
use aws_sdk_applicationautoscaling::types::{
    AdjustmentType, PolicyType, PredefinedMetricSpecification, ScalableDimension, ScalingPolicy,
    ServiceNamespace, StepAdjustment, StepScalingPolicyConfiguration,
    TargetTrackingScalingPolicyConfiguration,
};
use aws_sdk_cloudwatch::types::{ComparisonOperator, MetricAlarm, Statistic};
use ecs_warden::domain::catalog::ECS_AUTOSCALING_SERVICE_LINKED_ROLE;
pub use ecs_warden::handlers::Handler;
use serde_json::Value;

use crate::*;

/// The regions of [`broken_world`].
pub const SWEPT_REGIONS: [&str; 3] = ["eu-west-1", "us-east-1", "ap-southeast-2"];

/// The ARN of the Application Auto Scaling service-linked role in `account`.
pub fn slr_arn(account: &str) -> String {
    let spec = &ECS_AUTOSCALING_SERVICE_LINKED_ROLE;
    format!("arn:aws:iam::{account}:role{}{}", spec.path, spec.name)
}

/// Three regions ([`SWEPT_REGIONS`]) broken in every way a sweep repairs, one case each;
/// returns their clients, in that order.
pub async fn broken_world(account: &Account) -> Vec<RegionClients> {
    let regions: Vec<RegionClients> = SWEPT_REGIONS
        .iter()
        .map(|r| RegionClients::new(&account.config_in(r)))
        .collect();
    let [eu, us, ap] = &regions[..] else {
        unreachable!()
    };
    let autoscale = format!("arn:aws:iam::{}:role/ecsAutoscaleRole", account.id);
    // eu-west-1: a legacy role and an autoscale role that do not exist, a step policy
    // without alarm, a target-tracking policy with a deleted alarm.
    eu.service("shop", "cart", Some("ecsServiceRole"), &[])
        .await;
    eu.service("shop", "api", None, &[]).await;
    eu.target("shop", "cart", Some(&autoscale)).await;
    eu.step("shop", "cart", "cart-out", &[(Some(0.0), None, 2)])
        .await;
    let listed = eu.tracking("shop", "cart", "cart-cpu").await;
    eu.cloudwatch
        .delete_alarms()
        .alarm_names(&listed[0])
        .send()
        .await
        .unwrap();
    // us-east-1: the scaling service-linked role missing, a scale-in policy without alarm,
    // a policy a customer alarm already drives.
    us.service("batch", "jobs", None, &[]).await;
    us.target("batch", "jobs", Some(&slr_arn(&account.id)))
        .await;
    us.step("batch", "jobs", "jobs-in", &[(None, Some(0.0), -1)])
        .await;
    let driven = us
        .step("batch", "jobs", "jobs-out", &[(Some(0.0), None, 1)])
        .await;
    us.customer_alarm("team-jobs-high", &driven).await;
    // ap-southeast-2: an ambiguous step policy (needs a person), a healthy tracking policy.
    ap.service("edge", "cdn", None, &[]).await;
    ap.target("edge", "cdn", Some(&slr_arn(&account.id))).await;
    ap.step(
        "edge",
        "cdn",
        "cdn-both",
        &[(None, Some(0.0), -1), (Some(0.0), None, 1)],
    )
    .await;
    ap.tracking("edge", "cdn", "cdn-cpu").await;
    regions
}

/// One region's ECS, Application Auto Scaling and CloudWatch, for arranging what a test
/// needs and reading what moto holds afterwards (calls here are not counted).
pub struct RegionClients {
    /// ECS.
    pub ecs: aws_sdk_ecs::Client,
    /// Application Auto Scaling.
    pub autoscaling: aws_sdk_applicationautoscaling::Client,
    /// CloudWatch.
    pub cloudwatch: aws_sdk_cloudwatch::Client,
}

/// A step adjustment: metric interval bounds relative to the threshold, and the change.
pub type Step = (Option<f64>, Option<f64>, i32);

impl RegionClients {
    /// The clients of the region `config` acts in.
    pub fn new(config: &SdkConfig) -> Self {
        Self {
            ecs: aws_sdk_ecs::Client::new(config),
            autoscaling: aws_sdk_applicationautoscaling::Client::new(config),
            cloudwatch: aws_sdk_cloudwatch::Client::new(config),
        }
    }

    /// Tags cluster `cluster` `ecs-warden:ignore=true`, as a team whose code owns it would.
    pub async fn ignore_cluster(&self, cluster: &str) {
        let described = self
            .ecs
            .describe_clusters()
            .clusters(cluster)
            .send()
            .await
            .expect("describe the cluster");
        let arn = described.clusters()[0].cluster_arn().unwrap_or_default();
        self.ignore(arn).await;
    }

    /// Tags service `service` of `cluster` `ecs-warden:ignore=true`.
    pub async fn ignore_service(&self, cluster: &str, service: &str) {
        let described = self
            .ecs
            .describe_services()
            .cluster(cluster)
            .services(service)
            .send()
            .await
            .expect("describe the service");
        let arn = described.services()[0].service_arn().unwrap_or_default();
        self.ignore(arn).await;
    }

    /// Tags the ECS resource `arn` `ecs-warden:ignore=true`.
    pub async fn ignore(&self, arn: &str) {
        let tag = aws_sdk_ecs::types::Tag::builder()
            .key("ecs-warden:ignore")
            .value("true")
            .build();
        self.ecs
            .tag_resource()
            .resource_arn(arn)
            .tags(tag)
            .send()
            .await
            .expect("tag the resource");
    }

    /// An ECS service (and its cluster, if new) naming `role`, tagged with `tags`.
    pub async fn service(
        &self,
        cluster: &str,
        service: &str,
        role: Option<&str>,
        tags: &[(&str, &str)],
    ) {
        self.ecs
            .create_cluster()
            .cluster_name(cluster)
            .send()
            .await
            .expect("create cluster");
        self.ecs
            .create_service()
            .cluster(cluster)
            .service_name(service)
            .desired_count(2)
            .set_role(role.map(String::from))
            .set_tags(Some(
                tags.iter()
                    .map(|(k, v)| aws_sdk_ecs::types::Tag::builder().key(*k).value(*v).build())
                    .collect(),
            ))
            .send()
            .await
            .expect("create service");
    }

    /// `clusters` clusters (`c00`, ...) of `services` services (`s00`, ...) each, the first
    /// service of the first cluster naming `legacy_role` when given, and `policies` step
    /// policies (`out`) without alarms on the first cluster's first services: an account
    /// large enough for a sweep or a plan to be cut by its deadline.
    pub async fn fleet(
        &self,
        clusters: usize,
        services: usize,
        policies: usize,
        legacy_role: Option<&str>,
    ) {
        for c in 0..clusters {
            let cluster = format!("c{c:02}");
            self.ecs
                .create_cluster()
                .cluster_name(&cluster)
                .send()
                .await
                .expect("create cluster");
            for s in 0..services {
                let role = legacy_role.filter(|_| c == 0 && s == 0);
                self.ecs
                    .create_service()
                    .cluster(&cluster)
                    .service_name(format!("s{s:02}"))
                    .desired_count(1)
                    .set_role(role.map(String::from))
                    .send()
                    .await
                    .expect("create service");
            }
        }
        for p in 0..policies {
            let service = format!("s{p:02}");
            self.target("c00", &service, None).await;
            self.step("c00", &service, "out", &[(Some(0.0), None, 1)])
                .await;
        }
    }

    /// Registers the service as a scalable target, naming `role_arn` when given.
    pub async fn target(&self, cluster: &str, service: &str, role_arn: Option<&str>) {
        self.autoscaling
            .register_scalable_target()
            .service_namespace(ServiceNamespace::Ecs)
            .resource_id(format!("service/{cluster}/{service}"))
            .scalable_dimension(ScalableDimension::EcsServiceDesiredCount)
            .min_capacity(1)
            .max_capacity(10)
            .set_role_arn(role_arn.map(String::from))
            .send()
            .await
            .expect("register scalable target");
    }

    /// Puts a ChangeInCapacity step policy; returns its ARN.
    pub async fn step(&self, cluster: &str, service: &str, name: &str, steps: &[Step]) -> String {
        let config = StepScalingPolicyConfiguration::builder()
            .adjustment_type(AdjustmentType::ChangeInCapacity)
            .set_step_adjustments(Some(
                steps
                    .iter()
                    .map(|(lower, upper, change)| {
                        StepAdjustment::builder()
                            .set_metric_interval_lower_bound(*lower)
                            .set_metric_interval_upper_bound(*upper)
                            .scaling_adjustment(*change)
                            .build()
                            .expect("step")
                    })
                    .collect(),
            ))
            .cooldown(60)
            .build();
        self.autoscaling
            .put_scaling_policy()
            .policy_name(name)
            .service_namespace(ServiceNamespace::Ecs)
            .resource_id(format!("service/{cluster}/{service}"))
            .scalable_dimension(ScalableDimension::EcsServiceDesiredCount)
            .policy_type(PolicyType::StepScaling)
            .step_scaling_policy_configuration(config)
            .send()
            .await
            .expect("put step policy")
            .policy_arn()
            .to_owned()
    }

    /// Puts a target-tracking policy on average CPU at 60 %; returns the alarms it lists.
    pub async fn tracking(&self, cluster: &str, service: &str, name: &str) -> Vec<String> {
        let config = TargetTrackingScalingPolicyConfiguration::builder()
            .target_value(60.0)
            .predefined_metric_specification(
                PredefinedMetricSpecification::builder()
                    .predefined_metric_type("ECSServiceAverageCPUUtilization".into())
                    .build()
                    .expect("metric"),
            )
            .build()
            .expect("configuration");
        let out = self
            .autoscaling
            .put_scaling_policy()
            .policy_name(name)
            .service_namespace(ServiceNamespace::Ecs)
            .resource_id(format!("service/{cluster}/{service}"))
            .scalable_dimension(ScalableDimension::EcsServiceDesiredCount)
            .policy_type(PolicyType::TargetTrackingScaling)
            .target_tracking_scaling_policy_configuration(config)
            .send()
            .await
            .expect("put target-tracking policy");
        out.alarms()
            .iter()
            .map(|a| a.alarm_name().to_owned())
            .collect()
    }

    /// The policy called `name` on `resource_id`, as moto holds it.
    pub async fn policy(&self, resource_id: &str, name: &str) -> Option<ScalingPolicy> {
        let out = self
            .autoscaling
            .describe_scaling_policies()
            .service_namespace(ServiceNamespace::Ecs)
            .resource_id(resource_id)
            .send()
            .await
            .expect("describe scaling policies");
        out.scaling_policies()
            .iter()
            .find(|p| p.policy_name() == name && p.resource_id() == resource_id)
            .cloned()
    }

    /// A customer's own alarm whose action is `action`.
    pub async fn customer_alarm(&self, name: &str, action: &str) {
        self.cloudwatch
            .put_metric_alarm()
            .alarm_name(name)
            .namespace("AWS/ECS")
            .metric_name("MemoryUtilization")
            .statistic(Statistic::Maximum)
            .period(300)
            .evaluation_periods(1)
            .threshold(90.0)
            .comparison_operator(ComparisonOperator::GreaterThanThreshold)
            .alarm_actions(action)
            .send()
            .await
            .expect("put customer alarm");
    }

    /// Every ECS cluster of the region with its status and services (status, desired
    /// count), sorted by name.
    pub async fn ecs_state(&self) -> Value {
        let listed = self
            .ecs
            .list_clusters()
            .send()
            .await
            .expect("list clusters");
        if listed.cluster_arns().is_empty() {
            return Value::Array(Vec::new());
        }
        let described = self
            .ecs
            .describe_clusters()
            .set_clusters(Some(listed.cluster_arns().to_vec()))
            .send()
            .await
            .expect("describe clusters");
        let mut clusters = Vec::new();
        for cluster in described.clusters() {
            let name = cluster.cluster_name().unwrap_or_default();
            let arns = self
                .ecs
                .list_services()
                .cluster(name)
                .send()
                .await
                .expect("list services");
            let mut services = Vec::new();
            if !arns.service_arns().is_empty() {
                let out = self
                    .ecs
                    .describe_services()
                    .cluster(name)
                    .set_services(Some(arns.service_arns().to_vec()))
                    .send()
                    .await
                    .expect("describe services");
                for s in out.services() {
                    services.push(serde_json::json!([
                        s.service_name(),
                        s.status(),
                        s.desired_count()
                    ]));
                }
            }
            services.sort_by_key(|s| s.to_string());
            clusters.push(serde_json::json!({
                "name": name,
                "status": cluster.status(),
                "services": services,
            }));
        }
        clusters.sort_by_key(|c| c["name"].to_string());
        Value::Array(clusters)
    }

    /// Every metric alarm of the region.
    pub async fn alarms(&self) -> Vec<MetricAlarm> {
        let out = self
            .cloudwatch
            .describe_alarms()
            .send()
            .await
            .expect("describe alarms");
        out.metric_alarms().to_vec()
    }
}
