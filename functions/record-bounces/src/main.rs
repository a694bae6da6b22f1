use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), Error> {
    edge::telemetry::init_json();
    let app = edge::compose::from_env().await?;
    let app = &app;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        let suppressed = record_bounces::handle(app, &event.payload).await?;
        Ok::<_, Error>(serde_json::json!({ "suppressed": suppressed }))
    }))
    .await
}
