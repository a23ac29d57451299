//! Lambda entry point of `role-drift-guard`: the library reads the configuration, builds the AWS
//! clients once per container and serves each invocation within its deadline.

use ecs_warden::handlers::role_drift_guard::RoleDriftGuard;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    ecs_warden::handlers::serve::<RoleDriftGuard>().await
}
