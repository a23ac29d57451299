//! Lambda entry point of `access-doctor`: the library reads the configuration, builds the AWS
//! clients once per container and serves each invocation within its deadline.

use ecs_warden::handlers::access_doctor::AccessDoctor;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    ecs_warden::handlers::serve::<AccessDoctor>().await
}
