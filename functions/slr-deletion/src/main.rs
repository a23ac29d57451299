//! Lambda entry point: builds the AWS clients once per container and serves deletion steps.

use ecs_warden::aws::{self, CallLog, Clients, Regional};
use ecs_warden::handlers::slr_deletion::SlrDeletion;
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
    let deletion = SlrDeletion::new(
        Clients::new(&config, &calls),
        Regional::new(&config, &calls),
        settings,
        calls,
        notifier,
    );
    lambda_runtime::run(service_fn(|event: LambdaEvent<serde_json::Value>| {
        let deadline = Deadline::from_epoch_millis(event.context.deadline);
        deletion.handle_within(event.payload, deadline)
    }))
    // Every log line, the runtime's own included, names the function.
    .instrument(info_span!(
        "ecs_warden",
        function = ecs_warden::handlers::slr_deletion::FUNCTION
    ))
    .await
}
