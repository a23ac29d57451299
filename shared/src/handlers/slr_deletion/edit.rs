//! The one manual edit seed 004 allows on the ECS service-linked role: its description.

use std::future::Future;

use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use serde::Deserialize;

use super::{bad, check_role_name, SlrDeletion, FUNCTION};
use crate::aws::{self, ids::is_account_id};
use crate::domain::catalog::ECS_SERVICE_LINKED_ROLE;
use crate::domain::checks::Check;
use crate::invocation::error::InvocationError;
use crate::invocation::gate::{failure, Gated, Scope};
use crate::invocation::report::{Finding, Report, Status};

/// A manual edit of the role; seed 004 allows only its description.
#[derive(Debug, Deserialize)]
pub(super) struct EditRequest {
    action: String,
    role_name: String,
    #[serde(default)]
    description: Option<String>,
    /// The account whose role to edit: a member account, for a hub.
    #[serde(default)]
    account: Option<String>,
}

/// An edit request checked before any call: the role, the description, the account.
#[derive(Debug)]
pub struct Edit {
    role_name: String,
    description: String,
    account: Option<String>,
}

impl EditRequest {
    /// Seed 004 allows editing only the description of the ECS service-linked role.
    pub(super) fn checked(self) -> Result<Edit, InvocationError> {
        let request = self;
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
        if let Some(account) = request.account.as_deref().filter(|a| !is_account_id(a)) {
            return bad(
                "account",
                format!("{account:?} is not a 12-digit account id"),
            );
        }
        Ok(Edit {
            role_name: request.role_name,
            description,
            account: request.account,
        })
    }
}

impl SlrDeletion {
    /// Edits the role's description, in the account the request names.
    pub(super) async fn edit(&self, request: Edit) -> Report {
        let description = request.description;
        let partition = aws::ids::partition(
            self.common
                .settings
                .regions
                .first()
                .map_or("", String::as_str),
        );
        let (account, clients) = self
            .in_account(request.account.as_deref(), partition, false)
            .await;
        let resource = match &account {
            Some(account) => format!(
                "arn:{partition}:iam::{account}:role{}{}",
                ECS_SERVICE_LINKED_ROLE.path, request.role_name
            ),
            None => format!("role{}{}", ECS_SERVICE_LINKED_ROLE.path, request.role_name),
        };
        let finding = match clients {
            Ok(clients) => {
                let scope = Scope {
                    mode: self.common.settings.mode,
                    account: account.clone().unwrap_or_default(),
                    partition,
                    event_id: String::new(),
                    cause: format!("{FUNCTION}: update_description asked"),
                };
                let call = clients
                    .clients
                    .iam
                    .update_role_description()
                    .role_name(&request.role_name)
                    .description(&description)
                    .send();
                edited(&scope, &resource, &description, call).await
            }
            Err(refused) => refused,
        };
        let mut report = Report::new(
            FUNCTION,
            self.common.settings.mode,
            None,
            None,
            vec![finding],
            self.common.calls.take(),
        );
        report.account = account;
        report.log();
        report
    }
}

/// The finding of the description edit `call`, made through the gate.
async fn edited<T, E>(
    scope: &Scope,
    resource: &str,
    description: &str,
    call: impl Future<Output = Result<T, SdkError<E, HttpResponse>>>,
) -> Finding
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    match scope
        .write(
            "iam:UpdateRoleDescription",
            resource,
            "description edit asked",
            call,
        )
        .await
    {
        Gated::Audited => Finding::new(
            resource,
            Check::Description,
            Status::WouldRepair,
            format!("audit mode; would set the description to {description:?}"),
        ),
        Gated::Done(_) => Finding::new(
            resource,
            Check::Description,
            Status::Repaired,
            format!("description set to {description:?}"),
        ),
        Gated::Failed(failed) => failure(&failed, Check::Description, ""),
    }
}
