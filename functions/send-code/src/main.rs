use lambda_http::{Error, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    edge::telemetry::init_json();
    // Only this function (and `deliver`) reads the named template sets;
    // this one needs their names only.
    let templates = edge::compose::template_index_from_env()?;
    let app = edge::compose::from_env().await?.with_template_index(templates);
    let app = edge::compose::with_captcha_provider(app)?;
    lambda_http::run(service_fn(|req| async {
        Ok::<_, Error>(edge::response::guarded(send_code::handle(&app, req)).await)
    }))
    .await
}
