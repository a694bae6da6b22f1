//! What the use cases run against: the settings and one adapter behind each
//! port. Built once per cold start by a composition root (the HTTP edge's
//! `compose`, the dev server, tests) and shared by reference. It holds only
//! ports and domain values — no adapter type — so the domain never depends
//! on an adapter.

use crate::config::Config;
use crate::crypto::Keys;
use crate::error::Fault;
use crate::pacer::Pacer;
use crate::password::Passwords;
use crate::ports::{
    CaptchaLog, CaptchaRenderer, Clock, Delivery, NoCaptchaLog, OsRandom, Random, Store,
    SystemClock,
};
use std::sync::Arc;

pub struct Services {
    pub config: Config,
    pub keys: Keys,
    pub store: Arc<dyn Store>,
    pub delivery: Arc<dyn Delivery>,
    pub renderer: Arc<dyn CaptchaRenderer>,
    pub clock: Arc<dyn Clock>,
    pub random: Arc<dyn Random>,
    /// Told each captcha's answer: `NoCaptchaLog` except in the dev server.
    pub captcha_log: Arc<dyn CaptchaLog>,
    pub passwords: Passwords,
    pub pace: Pacer,
}

impl Services {
    /// Services over `store` and `delivery` with the system clock, the OS
    /// CSPRNG, the image renderer and no captcha log.
    pub fn new(
        config: Config,
        store: Arc<dyn Store>,
        delivery: Arc<dyn Delivery>,
    ) -> Result<Self, Fault> {
        Ok(Services {
            keys: Keys::derive(&config.code_key),
            config,
            store,
            delivery,
            renderer: Arc::new(crate::render::ImageRenderer),
            clock: Arc::new(SystemClock),
            random: Arc::new(OsRandom),
            captcha_log: Arc::new(NoCaptchaLog),
            passwords: Passwords::new()?,
            pace: Pacer::default(),
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

    pub fn with_delivery(mut self, delivery: Arc<dyn Delivery>) -> Self {
        self.delivery = delivery;
        self
    }

    /// A random (version 4) UUID from the random source.
    pub fn new_id(&self) -> Result<String, Fault> {
        let mut bytes = [0u8; 16];
        self.random.fill(&mut bytes)?;
        Ok(uuid::Builder::from_random_bytes(bytes).into_uuid().to_string())
    }
}
