//! Who still uses a role: ECS services that name it as their load-balancer role and ECS
//! scalable targets whose RoleARN it is, in the regions given.

use tokio::task::JoinSet;
use tracing::Instrument;

use crate::aws::{CallError, CallLog, Regional};
use crate::domain::clusters;
use crate::domain::scaling;

/// What the regions said about a role.
#[derive(Debug, Default)]
pub struct RoleUsers {
    /// `(resource, the role ARN it names)` for every user found.
    pub users: Vec<(String, String)>,
    /// `(region, what failed)` for every region that could not be read.
    pub unread: Vec<(String, String)>,
}

/// Whether `arn` (or a bare name) names the role `name`, whatever its path.
pub fn names_role(arn: &str, name: &str) -> bool {
    arn.rsplit('/').next() == Some(name)
}

/// Looks in every region at once for resources that use the role `name`.
pub async fn users_of(regional: &Regional, regions: &[String], name: &str) -> RoleUsers {
    let mut tasks = JoinSet::new();
    for region in regions {
        let clients = regional.clients(region);
        let (region, name) = (region.clone(), name.to_owned());
        tasks.spawn(CallLog::carried(
            async move {
                let found = region_users(&clients.ecs, &clients.autoscaling, &region, &name).await;
                (region, found)
            }
            .in_current_span(),
        ));
    }
    let mut result = RoleUsers::default();
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok((_, Ok(users))) => result.users.extend(users),
            Ok((region, Err(e))) => result.unread.push((region, e)),
            Err(panicked) => result.unread.push((String::new(), panicked.to_string())),
        }
    }
    result.users.sort();
    result.unread.sort();
    result
}

async fn region_users(
    ecs: &aws_sdk_ecs::Client,
    autoscaling: &aws_sdk_applicationautoscaling::Client,
    region: &str,
    name: &str,
) -> Result<Vec<(String, String)>, String> {
    let inventory = clusters::inventory(ecs, region)
        .await
        .map_err(|e| e.explain("ecs:ListClusters", region))?;
    let mut users: Vec<(String, String)> = inventory
        .clusters
        .iter()
        .flat_map(|c| &c.services)
        .filter_map(|s| {
            let role = s.role_arn.as_deref()?;
            names_role(role, name).then(|| (s.arn.clone(), role.to_owned()))
        })
        .collect();
    let targets = scaling::scalable_targets(autoscaling)
        .await
        .map_err(|e: CallError| {
            e.explain("application-autoscaling:DescribeScalableTargets", region)
        })?;
    users.extend(
        targets
            .into_iter()
            .filter(|t| names_role(&t.role_arn, name))
            .map(|t| {
                (
                    format!("{region} scalable target {}", t.resource_id),
                    t.role_arn,
                )
            }),
    );
    Ok(users)
}
