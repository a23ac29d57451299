//! Lambda entry point of `ecs-role-guard`: the library reads the configuration, builds the AWS
//! clients once per container and serves each invocation within its deadline.

use ecs_warden::handlers::ecs_role_guard::EcsRoleGuard;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    ecs_warden::handlers::serve::<EcsRoleGuard>().await
}
