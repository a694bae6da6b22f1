use lambda_http::{Error, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    edge::telemetry::init_json();
    let app = edge::compose::from_env().await?;
    lambda_http::run(service_fn(|req| async {
        Ok::<_, Error>(edge::response::guarded(create_challenge::handle(&app, req)).await)
    }))
    .await
}
