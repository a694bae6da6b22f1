//! What the use cases run against: the settings and one adapter behind each
//! port. Built once per cold start by a composition root (the HTTP edge's
//! `compose`, the dev server, tests) and shared by reference. It holds only
//! ports and domain values — no adapter type — so the domain never depends
//! on an adapter.

use crate::config::Config;
use crate::crypto::Keys;
use crate::error::Fault;
use crate::password::Passwords;
use crate::ports::{
    CaptchaLog, CaptchaRenderer, CaptchaVerifier, Clock, Metrics, NoCaptchaLog, NoCaptchaVerifier,
    NoMetrics, NoRenderer, OsRandom, Random, Relay, Store, StreamRelay, SystemClock,
};
use crate::templates::{TemplateIndex, TemplateSets};
use crate::token::TokenKeys;
use std::sync::Arc;

pub struct Services {
    pub config: Config,
    pub keys: Keys,
    /// Sign and check sessions and verification tokens.
    pub tokens: TokenKeys,
    pub store: Arc<dyn Store>,
    /// Told of each outgoing message a send commits (the stream does the
    /// work when deployed).
    pub relay: Arc<dyn Relay>,
    pub metrics: Arc<dyn Metrics>,
    pub renderer: Arc<dyn CaptchaRenderer>,
    pub clock: Arc<dyn Clock>,
    pub random: Arc<dyn Random>,
    /// Told each captcha's answer: `NoCaptchaLog` except in the dev server.
    pub captcha_log: Arc<dyn CaptchaLog>,
    /// Checks external providers' tokens (`CAPTCHA_PROVIDER=turnstile|hcaptcha`).
    pub captcha_verifier: Arc<dyn CaptchaVerifier>,
    pub passwords: Passwords,
    /// Named template sets for code messages (`TEMPLATES_DIR`; none by
    /// default), compiled: what delivery renders with.
    pub templates: Arc<TemplateSets>,
    /// Which of them there are: what a send accepts by name.
    pub template_index: Arc<TemplateIndex>,
}

impl Services {
    /// Services over `store` with the system clock, the OS CSPRNG, the stream
    /// relay, and no captcha renderer, captcha log or metrics. Whatever
    /// issues captchas adds the renderer (`with_image_renderer`): a function
    /// built without it links no image code.
    pub fn new(config: Config, store: Arc<dyn Store>) -> Result<Self, Fault> {
        Ok(Services {
            keys: Keys::derive(&config.code_key),
            tokens: TokenKeys::new(&config.jwt_signing_key, &config.jwt_previous_public_keys),
            config,
            store,
            relay: Arc::new(StreamRelay),
            metrics: Arc::new(NoMetrics),
            renderer: Arc::new(NoRenderer),
            clock: Arc::new(SystemClock),
            random: Arc::new(OsRandom),
            captcha_log: Arc::new(NoCaptchaLog),
            captcha_verifier: Arc::new(NoCaptchaVerifier),
            passwords: Passwords::new()?,
            templates: Arc::new(TemplateSets::default()),
            template_index: Arc::new(TemplateIndex::default()),
        })
    }

    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    pub fn with_random(mut self, random: Arc<dyn Random>) -> Self {
        self.random = random;
        self
    }

    pub fn with_renderer(mut self, renderer: Arc<dyn CaptchaRenderer>) -> Self {
        self.renderer = renderer;
        self
    }

    pub fn with_captcha_log(mut self, log: Arc<dyn CaptchaLog>) -> Self {
        self.captcha_log = log;
        self
    }

    pub fn with_captcha_verifier(mut self, verifier: Arc<dyn CaptchaVerifier>) -> Self {
        self.captcha_verifier = verifier;
        self
    }

    pub fn with_relay(mut self, relay: Arc<dyn Relay>) -> Self {
        self.relay = relay;
        self
    }

    /// Sends may name the sets in `templates`, and delivery renders them.
    pub fn with_templates(mut self, templates: Arc<TemplateSets>) -> Self {
        self.template_index = templates.index();
        self.templates = templates;
        self
    }

    /// Sends may name the sets in `index`: for the send function, which
    /// never renders (the delivery function `load`s the sets).
    pub fn with_template_index(mut self, index: Arc<TemplateIndex>) -> Self {
        self.template_index = index;
        self
    }

    pub fn with_metrics(mut self, metrics: Arc<dyn Metrics>) -> Self {
        self.metrics = metrics;
        self
    }

    /// A random (version 4) UUID from the random source.
    pub fn new_id(&self) -> Result<String, Fault> {
        let mut bytes = [0u8; 16];
        self.random.fill(&mut bytes)?;
        Ok(uuid::Builder::from_random_bytes(bytes).into_uuid().to_string())
    }
}
