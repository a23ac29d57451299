//! Application Auto Scaling as it concerns ECS services: their scalable targets and scaling
//! policies, read in full (paginated).

use aws_sdk_applicationautoscaling::types::{ScalableDimension, ScalingPolicy, ServiceNamespace};

use crate::aws::CallError;
use crate::domain::alarms::ServiceTarget;

/// An ECS service registered with Application Auto Scaling.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScalableService {
    /// `service/<cluster>/<service>`.
    pub resource_id: String,
    /// The role Application Auto Scaling uses for it.
    pub role_arn: String,
}

/// Every ECS service's scalable target in the client's region.
pub async fn scalable_targets(
    autoscaling: &aws_sdk_applicationautoscaling::Client,
) -> Result<Vec<ScalableService>, CallError> {
    let mut items = autoscaling
        .describe_scalable_targets()
        .service_namespace(ServiceNamespace::Ecs)
        .into_paginator()
        .items()
        .send();
    let mut targets = Vec::new();
    while let Some(item) = items.next().await {
        let target = item.map_err(|e| CallError::from_sdk(&e))?;
        if target.scalable_dimension() == &ScalableDimension::EcsServiceDesiredCount {
            targets.push(ScalableService {
                resource_id: target.resource_id().to_owned(),
                role_arn: target.role_arn().to_owned(),
            });
        }
    }
    Ok(targets)
}

/// Every scaling policy on an ECS service's desired count in the client's region.
pub async fn scaling_policies(
    autoscaling: &aws_sdk_applicationautoscaling::Client,
) -> Result<Vec<ScalingPolicy>, CallError> {
    let mut items = autoscaling
        .describe_scaling_policies()
        .service_namespace(ServiceNamespace::Ecs)
        .into_paginator()
        .items()
        .send();
    let mut policies = Vec::new();
    while let Some(item) = items.next().await {
        let policy = item.map_err(|e| CallError::from_sdk(&e))?;
        if policy.scalable_dimension() == &ScalableDimension::EcsServiceDesiredCount {
            policies.push(policy);
        }
    }
    Ok(policies)
}

/// The service's scaling policy called `name`, as Application Auto Scaling holds it now.
pub async fn current_policy(
    autoscaling: &aws_sdk_applicationautoscaling::Client,
    target: &ServiceTarget,
    name: &str,
) -> Result<Option<ScalingPolicy>, CallError> {
    let resource_id = target.resource_id();
    let mut items = autoscaling
        .describe_scaling_policies()
        .service_namespace(ServiceNamespace::Ecs)
        .resource_id(&resource_id)
        .scalable_dimension(ScalableDimension::EcsServiceDesiredCount)
        .policy_names(name)
        .into_paginator()
        .items()
        .send();
    while let Some(item) = items.next().await {
        let policy = item.map_err(|e| CallError::from_sdk(&e))?;
        if policy.policy_name() == name && policy.resource_id() == resource_id {
            return Ok(Some(policy));
        }
    }
    Ok(None)
}
