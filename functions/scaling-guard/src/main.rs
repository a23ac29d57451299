//! Lambda entry point of `scaling-guard`: the library reads the configuration, builds the AWS
//! clients once per container and serves each invocation within its deadline.

use ecs_warden::handlers::scaling_guard::ScalingGuard;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    ecs_warden::handlers::serve::<ScalingGuard>().await
}
