//! Lambda entry point of `reconcile`: the library reads the configuration, builds the AWS
//! clients once per container and serves each invocation within its deadline.

use ecs_warden::handlers::reconcile::Reconcile;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    ecs_warden::handlers::serve::<Reconcile>().await
}
