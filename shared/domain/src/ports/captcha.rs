//! Captcha images, the dev server's window onto their answers, and an
//! external captcha provider's server-side check.

use async_trait::async_trait;
use std::error::Error as StdError;
use std::net::IpAddr;

/// A rendered captcha: its answer and a PNG showing it.
pub struct RenderedCaptcha {
    pub answer: String,
    pub png: Vec<u8>,
}

#[derive(Debug, thiserror::Error)]
#[error("captcha rendering failed")]
pub struct RenderError;

pub trait CaptchaRenderer: Send + Sync {
    fn render(&self) -> Result<RenderedCaptcha, RenderError>;
}

/// Renders nothing: the wiring of every function but the one that issues
/// captchas, so that the image code is linked into that one alone.
pub struct NoRenderer;

impl CaptchaRenderer for NoRenderer {
    fn render(&self) -> Result<RenderedCaptcha, RenderError> {
        Err(RenderError)
    }
}

/// Told the answer of every captcha issued. Deployed functions wire
/// `NoCaptchaLog`; only the dev server keeps answers (for `/_dev/captchas`).
pub trait CaptchaLog: Send + Sync {
    fn issued(&self, id: &str, answer: &str);
}

/// Forgets every answer: the production wiring.
pub struct NoCaptchaLog;

impl CaptchaLog for NoCaptchaLog {
    fn issued(&self, _: &str, _: &str) {}
}

/// Checks an external provider's widget token (Turnstile, hCaptcha) at its
/// siteverify endpoint. Wired only when `CAPTCHA_PROVIDER` names one.
#[async_trait]
pub trait CaptchaVerifier: Send + Sync {
    /// Whether the provider accepts the token. An error is the provider
    /// failing or not answering in time — never a pass.
    async fn verify(&self, token: &str, remote_ip: Option<IpAddr>) -> Result<bool, ProviderError>;
}

#[derive(Debug, thiserror::Error)]
#[error("captcha provider request failed")]
pub struct ProviderError(#[source] pub Box<dyn StdError + Send + Sync>);

/// No provider wired (the built-in captcha needs none): every check fails.
pub struct NoCaptchaVerifier;

#[async_trait]
impl CaptchaVerifier for NoCaptchaVerifier {
    async fn verify(&self, _: &str, _: Option<IpAddr>) -> Result<bool, ProviderError> {
        Err(ProviderError("no captcha provider is wired".into()))
    }
}
