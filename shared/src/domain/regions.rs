//! The regions an account has enabled: where its ECS services and scalable targets can be,
//! so where a role can be in use when the deployment names no regions (`WARDEN_REGIONS`
//! unset). A role is global; a deployment's own region says nothing about where it is used.
//!
//! Account Management's ListRegions answers every region with its opt-in status; those
//! enabled by default and those the account opted into are the ones that can hold anything.
//! One call answers all of them (about 35 regions, 50 a page), paid only when a check needs
//! every region: role-drift-guard on a deleted watched role, and a deletion's plan.

use aws_sdk_account::types::RegionOptStatus;

use crate::aws::CallError;

/// The enabled regions of the account `account` acts in, sorted.
pub async fn enabled(account: &aws_sdk_account::Client) -> Result<Vec<String>, CallError> {
    let mut pages = account
        .list_regions()
        .region_opt_status_contains(RegionOptStatus::Enabled)
        .region_opt_status_contains(RegionOptStatus::EnabledByDefault)
        .max_results(50)
        .into_paginator()
        .send();
    let mut regions = Vec::new();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| CallError::from_sdk(&e))?;
        // Read the status back rather than trust the filter to have applied.
        regions.extend(
            page.regions()
                .iter()
                .filter(|r| {
                    matches!(
                        r.region_opt_status(),
                        Some(RegionOptStatus::Enabled | RegionOptStatus::EnabledByDefault)
                    )
                })
                .filter_map(|r| r.region_name().map(String::from)),
        );
    }
    regions.sort();
    regions.dedup();
    Ok(regions)
}
