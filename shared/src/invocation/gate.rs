//! The one way ecs-warden writes to AWS. A write goes through [`Scope::write`], which in
//! audit mode makes no call, and otherwise logs the write with the event that caused it,
//! makes the call and reads a failure into a [`FailedCall`]. The caller words the finding
//! from what the gate did ([`Gated`]); [`failure`] words the failed one.

use std::future::Future;

use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

use crate::aws::{self, CallError, FailedCall};
use crate::invocation::checks::CheckId;
use crate::invocation::events::ApiCallEvent;
use crate::invocation::report::{Finding, Status};
use crate::invocation::settings::Mode;

/// Where and why an invocation acts: every write it makes is gated and logged with this.
#[derive(Debug, Clone)]
pub struct Scope {
    /// Enforce or audit.
    pub mode: Mode,
    /// The account the resources live in.
    pub account: String,
    /// The account's partition (`aws`, `aws-cn`, `aws-us-gov`).
    pub partition: &'static str,
    /// The id of the event that caused the check.
    pub event_id: String,
    /// What caused it, e.g. `aws.ecs:CreateService`.
    pub cause: String,
}

/// What the gate did with one write.
#[derive(Debug)]
pub enum Gated<T> {
    /// Audit mode: nothing was called.
    Audited,
    /// The call was made and AWS answered.
    Done(T),
    /// The call was made and failed.
    Failed(FailedCall),
}

impl Scope {
    /// The scope of a check caused by a CloudTrail event.
    pub fn from_event(mode: Mode, event: &ApiCallEvent) -> Self {
        let detail = &event.detail;
        Self {
            mode,
            account: detail.recipient_account_id.clone(),
            partition: aws::ids::partition(&detail.aws_region),
            event_id: event.id.clone().unwrap_or_default(),
            cause: format!("{}:{}", event.source, detail.event_name),
        }
    }

    /// Whether writes are made: false in audit mode.
    pub fn writes(&self) -> bool {
        self.mode == Mode::Enforce
    }

    /// Makes the write `call` (`action` on `resource`, because `why`) unless in audit
    /// mode, logging it first with the event that caused it. `call` is an SDK request not
    /// yet sent: in audit mode it is dropped unsent.
    pub async fn write<T, E>(
        &self,
        action: &'static str,
        resource: &str,
        why: &str,
        call: impl Future<Output = Result<T, SdkError<E, HttpResponse>>>,
    ) -> Gated<T>
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
    {
        if !self.writes() {
            return Gated::Audited;
        }
        tracing::info!(
            event_id = %self.event_id,
            cause = %self.cause,
            action,
            resource,
            why,
            "write"
        );
        match call.await {
            Ok(out) => Gated::Done(out),
            Err(e) => Gated::Failed(CallError::from_sdk(&e).on(action, resource)),
        }
    }
}

/// The failed finding of a write: `lead` (what was wrong, may be empty), then the call
/// and AWS's answer.
pub fn failure(failed: &FailedCall, check: impl Into<CheckId>, lead: &str) -> Finding {
    let detail = if lead.is_empty() {
        failed.to_string()
    } else {
        format!("{lead}; {failed}")
    };
    Finding::new(&failed.resource, check, Status::Failed, detail)
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;

    use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
    use aws_smithy_types::error::ErrorMetadata;

    use super::*;

    fn scope(mode: Mode) -> Scope {
        Scope {
            mode,
            account: "111122223333".into(),
            partition: "aws",
            event_id: "e-1".into(),
            cause: "aws.ecs:CreateService".into(),
        }
    }

    type Answer = Result<u8, SdkError<ErrorMetadata, HttpResponse>>;

    #[tokio::test]
    async fn audit_mode_never_sends_the_call() {
        let sent = Cell::new(false);
        let call = async {
            sent.set(true);
            Answer::Ok(1)
        };
        let gated = scope(Mode::Audit)
            .write(
                "iam:CreateRole",
                "arn:aws:iam::111122223333:role/x",
                "missing",
                call,
            )
            .await;
        assert!(matches!(gated, Gated::Audited));
        assert!(!sent.get(), "audit mode polled the write");
    }

    #[tokio::test]
    async fn enforce_mode_sends_it_and_names_a_failure() {
        let gated = scope(Mode::Enforce)
            .write("iam:CreateRole", "arn:r", "missing", async {
                Answer::Ok(7)
            })
            .await;
        assert!(matches!(gated, Gated::Done(7)));
        let refused = ErrorMetadata::builder()
            .code("AccessDenied")
            .message("not allowed")
            .build();
        let answer: Answer = Err(SdkError::service_error(
            refused,
            HttpResponse::new(
                403.try_into().unwrap(),
                aws_smithy_types::body::SdkBody::empty(),
            ),
        ));
        let Gated::Failed(failed) = scope(Mode::Enforce)
            .write("iam:CreateRole", "arn:r", "missing", async { answer })
            .await
        else {
            panic!("a refused write is a failure");
        };
        assert_eq!(
            (failed.action, failed.resource.as_str()),
            ("iam:CreateRole", "arn:r")
        );
        let finding = failure(&failed, CheckId::new("exists", None), "role missing");
        assert_eq!(finding.status, Status::Failed);
        assert!(
            finding.detail.starts_with("role missing; access denied")
                && finding.detail.contains("iam:CreateRole on arn:r"),
            "{}",
            finding.detail
        );
    }
}
