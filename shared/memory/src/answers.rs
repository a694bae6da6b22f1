//! The dev server's memory of captcha answers (`GET /_dev/captchas/{id}`).

use domain::ports::CaptchaLog;
use domain::ports::dev::CaptchaAnswers;
use std::collections::HashMap;
use std::sync::Mutex;

#[derive(Default)]
pub struct AnswerLog(Mutex<HashMap<String, String>>);

impl AnswerLog {
    const MAX: usize = 10_000;

    /// The answer of captcha `id`, if it was issued here.
    pub fn answer(&self, id: &str) -> Option<String> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).get(id).cloned()
    }
}

impl CaptchaLog for AnswerLog {
    fn issued(&self, id: &str, answer: &str) {
        let mut m = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if m.len() >= Self::MAX {
            m.clear();
        }
        m.insert(id.to_string(), answer.to_string());
    }
}

impl CaptchaAnswers for AnswerLog {
    fn answer(&self, id: &str) -> Option<String> {
        AnswerLog::answer(self, id)
    }
}
