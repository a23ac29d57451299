//! The one manual edit seed 004 allows on the ECS service-linked role: its description.

use serde::Deserialize;

use super::{bad, check_role_name, SlrDeletion, FUNCTION};
use crate::domain::catalog::ECS_SERVICE_LINKED_ROLE;
use crate::invocation::error::InvocationError;
use crate::invocation::gate::{failure, Gated, Scope};
use crate::invocation::report::{Check, Finding, Report, Status};

/// A manual edit of the role; seed 004 allows only its description.
#[derive(Debug, Deserialize)]
pub(super) struct EditRequest {
    action: String,
    role_name: String,
    #[serde(default)]
    description: Option<String>,
}

impl SlrDeletion {
    /// Seed 004 allows editing only the description of the ECS service-linked role.
    pub(super) async fn edit(&self, request: EditRequest) -> Result<Report, InvocationError> {
        check_role_name(&request.role_name, "role_name")?;
        if request.action != "update_description" {
            return bad(
                "action",
                format!(
                    "{:?} is refused: Amazon ECS does not allow editing {} except its description; its name cannot change because other entities may reference the role (seed 004). The only action is \"update_description\"",
                    request.action, request.role_name
                ),
            );
        }
        let description = request.description.unwrap_or_default();
        if description.chars().count() > 1000
            || description
                .chars()
                .any(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r'))
        {
            return bad(
                "description",
                "at most 1000 characters, no control characters".into(),
            );
        }
        self.common.calls.take();
        let resource = format!("role{}{}", ECS_SERVICE_LINKED_ROLE.path, request.role_name);
        let scope = Scope {
            mode: self.common.settings.mode,
            account: String::new(),
            partition: "aws",
            event_id: String::new(),
            cause: format!("{FUNCTION}: update_description asked"),
        };
        let call = self
            .clients
            .iam
            .update_role_description()
            .role_name(&request.role_name)
            .description(&description)
            .send();
        let finding = match scope
            .write(
                "iam:UpdateRoleDescription",
                &resource,
                "description edit asked",
                call,
            )
            .await
        {
            Gated::Audited => Finding::new(
                &resource,
                Check::Description,
                Status::WouldRepair,
                format!("audit mode; would set the description to {description:?}"),
            ),
            Gated::Done(_) => Finding::new(
                &resource,
                Check::Description,
                Status::Repaired,
                format!("description set to {description:?}"),
            ),
            Gated::Failed(failed) => failure(&failed, Check::Description, ""),
        };
        let report = Report::new(
            FUNCTION,
            self.common.settings.mode,
            None,
            None,
            vec![finding],
            self.common.calls.take(),
        );
        report.log();
        Ok(report)
    }
}
