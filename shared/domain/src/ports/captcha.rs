//! Captcha images, and the dev server's window onto their answers.

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
