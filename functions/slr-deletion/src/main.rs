//! Lambda entry point of `slr-deletion`: the library reads the configuration, builds the AWS
//! clients once per container and serves each invocation within its deadline.

use ecs_warden::handlers::slr_deletion::SlrDeletion;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    ecs_warden::handlers::serve::<SlrDeletion>().await
}
