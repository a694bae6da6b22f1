//! A deployed function's AWS configuration (`aws::lambda_sdk_config` and
//! `edge::compose::Deployment`, read from the variables Lambda sets): its
//! DynamoDB client, over the ring TLS client, reaches the table and serves a
//! request end to end. A missing SDK feature only shows at run time, so the
//! real clients are built and used here (the deliver function's SES and SNS
//! clients: `aws_delivery.rs`).

use aws::dynamodb::{self, Stream};
use domain::Services;
use edge::compose::Deployment;
use serde_json::json;
use std::sync::Arc;
use vericode_tests::{config, dynamodb_endpoint, parts, request};

#[tokio::test]
async fn a_function_configured_from_lambdas_environment_serves_requests() {
    let endpoint = dynamodb_endpoint();
    let table = format!("test-{}", uuid::Uuid::new_v4());
    let env = |name: &str| match name {
        "AWS_ENDPOINT_URL_DYNAMODB" => Some(endpoint.clone()),
        "TABLE_NAME" => Some(table.clone()),
        _ => std::env::var(name).ok(),
    };
    let sdk = aws::lambda_sdk_config(env);
    let deployment = Deployment::from_lookup(env);
    assert_eq!(deployment.dynamodb_endpoint.as_deref(), Some(endpoint.as_str()));
    let store = deployment.store(&sdk);
    dynamodb::ensure_table(store.client(), &table, Stream::Disabled).await.expect("table");
    let app = Services::new(config(), Arc::new(store)).expect("services").with_image_renderer();

    let resp = create_captcha::handle(&app, request(&json!({}), "192.0.2.60", None)).await;
    let (status, body) = parts(&resp);
    assert_eq!(status, 201, "{body}");
    assert!(body["captcha_id"].as_str().is_some_and(|id| !id.is_empty()), "{body}");
}

#[test]
fn the_region_and_endpoint_come_from_the_environment() {
    let env = |name: &str| match name {
        "AWS_REGION" => Some("eu-west-1".to_string()),
        "AWS_ENDPOINT_URL" => Some("http://127.0.0.1:4566".to_string()),
        _ => None,
    };
    let sdk = aws::lambda_sdk_config(env);
    assert_eq!(sdk.region().map(|r| r.as_ref()), Some("eu-west-1"));
    assert_eq!(sdk.endpoint_url(), Some("http://127.0.0.1:4566"));
    assert!(sdk.http_client().is_some() && sdk.credentials_provider().is_some());
    assert!(sdk.timeout_config().is_some_and(|t| t.operation_timeout().is_some()));

    let sdk = aws::lambda_sdk_config(|_| None);
    assert_eq!(sdk.region().map(|r| r.as_ref()), Some("us-east-1"));
    assert_eq!(sdk.endpoint_url(), None);
}
