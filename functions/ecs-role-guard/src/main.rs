//! Lambda entry point: builds the IAM client once per container and serves events.

use ecs_warden::aws::{self, CallLog};
use ecs_warden::handlers::ecs_role_guard::EcsRoleGuard;
use ecs_warden::invocation::deadline::Deadline;
use ecs_warden::invocation::notify::Notifier;
use ecs_warden::invocation::settings::Settings;
use lambda_runtime::tracing::{info_span, Instrument};
use lambda_runtime::{service_fn, Error, LambdaEvent};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let settings = Settings::from_env()?;
    let calls = CallLog::default();
    let config = aws::sdk_config().await;
    let notifier = Notifier::from_env(&config, &calls)?;
    let guard = EcsRoleGuard::new(aws::iam_client(&config, &calls), settings, calls, notifier);
    lambda_runtime::run(service_fn(|event: LambdaEvent<serde_json::Value>| {
        let deadline = Deadline::from_epoch_millis(event.context.deadline);
        guard.handle_within(event.payload, deadline)
    }))
    // Every log line, the runtime's own included, names the function.
    .instrument(info_span!(
        "ecs_warden",
        function = ecs_warden::handlers::ecs_role_guard::FUNCTION
    ))
    .await
}
