use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), Error> {
    edge::telemetry::init_json();
    let deliverer = edge::compose::deliverer_from_env().await?;
    lambda_runtime::run(service_fn(|event: LambdaEvent<Value>| async {
        Ok::<_, Error>(deliver::handle(&deliverer, event.payload).await)
    }))
    .await
}
