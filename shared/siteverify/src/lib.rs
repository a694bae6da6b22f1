//! The `CaptchaVerifier` port's adapter: an external captcha provider's
//! server-side check. Cloudflare Turnstile and hCaptcha share the protocol:
//! `POST` a form with `secret`, `response` (the widget's token) and
//! optionally `remoteip` to the siteverify endpoint, which answers
//! `{"success": bool, "error-codes": [...]}`. Only the functions that check
//! captchas (send a code, log in) and the dev server link this crate.
//!
//! A provider that does not answer within the timeout, answers with an
//! error status or unreadable JSON, or says our own secret is wrong is a
//! `ProviderError` (`503`), never a pass; only a readable `success: false`
//! about the token is a wrong captcha.

use async_trait::async_trait;
use bytes::Bytes;
use domain::ports::{CaptchaVerifier, ProviderError};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use std::net::IpAddr;
use std::time::Duration;

type Https = hyper_rustls::HttpsConnector<HttpConnector>;

pub struct SiteVerify {
    client: Client<Https, Full<Bytes>>,
    url: hyper::Uri,
    secret: String,
    timeout: Duration,
}

impl SiteVerify {
    /// A client for `url` with `secret`; each check (connect included) ends
    /// after `timeout`. TLS: rustls with the AWS-LC provider and the
    /// system's root certificates; plain `http://` for a local stand-in.
    pub fn new(url: &str, secret: &str, timeout: Duration) -> Result<Self, ProviderError> {
        let fail = |e: Box<dyn std::error::Error + Send + Sync>| ProviderError(e);
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_provider_and_native_roots(rustls::crypto::ring::default_provider())
            .map_err(|e| fail(e.into()))?
            .https_or_http()
            .enable_http1()
            .build();
        let client = Client::builder(TokioExecutor::new()).build(https);
        let url = url.parse().map_err(|e: hyper::http::uri::InvalidUri| fail(e.into()))?;
        Ok(SiteVerify { client, url, secret: secret.to_string(), timeout })
    }

    async fn post(&self, form: String) -> Result<(hyper::StatusCode, Bytes), ProviderError> {
        let fail = |e: Box<dyn std::error::Error + Send + Sync>| ProviderError(e);
        let request = hyper::Request::post(&self.url)
            .header(hyper::header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Full::new(Bytes::from(form)))
            .map_err(|e| fail(e.into()))?;
        let exchange = async {
            let response = self.client.request(request).await.map_err(|e| fail(e.into()))?;
            let status = response.status();
            let body = response.into_body().collect().await.map_err(|e| fail(e.into()))?;
            Ok((status, body.to_bytes()))
        };
        tokio::time::timeout(self.timeout, exchange)
            .await
            .map_err(|_| fail("siteverify did not answer in time".into()))?
    }
}

#[derive(serde::Deserialize)]
struct Answer {
    success: bool,
    #[serde(default, rename = "error-codes")]
    error_codes: Vec<String>,
}

/// Error codes that are about our request, not about the token.
const OUR_FAULT: &[&str] = &["missing-input-secret", "invalid-input-secret", "bad-request"];

#[async_trait]
impl CaptchaVerifier for SiteVerify {
    async fn verify(&self, token: &str, remote_ip: Option<IpAddr>) -> Result<bool, ProviderError> {
        let mut form = format!("secret={}&response={}", encode(&self.secret), encode(token));
        if let Some(ip) = remote_ip {
            form.push_str(&format!("&remoteip={ip}"));
        }
        let (status, body) = self.post(form).await?;
        if !status.is_success() {
            return Err(ProviderError(format!("siteverify answered {status}").into()));
        }
        let answer: Answer = serde_json::from_slice(&body).map_err(|e| ProviderError(e.into()))?;
        if let Some(code) = answer.error_codes.iter().find(|c| OUR_FAULT.contains(&c.as_str())) {
            return Err(ProviderError(format!("siteverify refused our request: {code}").into()));
        }
        if !answer.success {
            tracing::info!(error_codes = ?answer.error_codes, "captcha provider refused the token");
        }
        Ok(answer.success)
    }
}

/// `application/x-www-form-urlencoded` for one value: unreserved bytes as
/// they are, everything else percent-encoded.
fn encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use domain::config::ExternalCaptcha;

    /// The HTTPS client (rustls, AWS-LC, the system's roots) builds: a
    /// missing feature would otherwise only show at the first check.
    #[test]
    fn the_https_client_builds() {
        for kind in [ExternalCaptcha::Turnstile, ExternalCaptcha::HCaptcha] {
            let verifier = SiteVerify::new(kind.verify_url(), "secret", Duration::from_secs(2));
            assert!(verifier.is_ok(), "{}", kind.name());
        }
    }

    #[test]
    fn form_values_are_percent_encoded() {
        assert_eq!(encode("a b&c=d+é"), "a%20b%26c%3Dd%2B%C3%A9");
        assert_eq!(encode("0x4AAA-_.~"), "0x4AAA-_.~");
    }
}
