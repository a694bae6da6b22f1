use std::net::SocketAddr;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    edge::telemetry::init_pretty();
    let settings = devserver::DevSettings::from_env();
    let dev = devserver::dev_from_env(&settings).await?;
    let port = settings.port;
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    tracing::info!(
        "Vericode dev server on http://127.0.0.1:{port} (store: {})",
        settings.store_name()
    );
    axum::serve(
        listener,
        devserver::router(dev).into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await?;
    Ok(())
}
