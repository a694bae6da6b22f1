//! The application: configuration plus the adapters behind every port.
//! Built once per cold start (or once per dev server) and shared by reference.

use crate::captcha::{DevAnswerLog, ImageRenderer};
use crate::config::{Config, ConfigError, Secrets};
use crate::crypto::Keys;
use crate::error::ApiError;
use crate::ports::{CaptchaRenderer, Clock, OsRandom, Random, Store, SystemClock};
use crate::store::dynamodb::DynamoStore;
use std::sync::Arc;

pub struct App {
    pub config: Config,
    pub keys: Keys,
    pub store: Arc<dyn Store>,
    pub clock: Arc<dyn Clock>,
    pub random: Arc<dyn Random>,
    pub renderer: Arc<dyn CaptchaRenderer>,
    /// Only the dev server sets this (`GET /_dev/captchas/{id}`).
    pub dev_captcha_answers: Option<Arc<DevAnswerLog>>,
}

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error(transparent)]
    Config(#[from] ConfigError),
}

impl App {
    /// An app over `store` with the system clock, the OS CSPRNG and the image renderer.
    pub fn new(config: Config, store: Arc<dyn Store>) -> Self {
        App {
            keys: Keys::derive(&config.code_key),
            config,
            store,
            clock: Arc::new(SystemClock),
            random: Arc::new(OsRandom),
            renderer: Arc::new(ImageRenderer),
            dev_captcha_answers: None,
        }
    }

    /// A deployed function's app: configuration from the environment
    /// (secrets required) and the DynamoDB store.
    pub async fn from_env() -> Result<Self, StartupError> {
        let config = Config::from_env(Secrets::Required)?;
        let store = DynamoStore::from_env(&config).await;
        Ok(App::new(config, Arc::new(store)))
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

    pub fn with_dev_captcha_answers(mut self, log: Arc<DevAnswerLog>) -> Self {
        self.dev_captcha_answers = Some(log);
        self
    }

    /// A random (version 4) UUID from the app's random source.
    pub fn new_id(&self) -> Result<String, ApiError> {
        let mut bytes = [0u8; 16];
        self.random.fill(&mut bytes).map_err(ApiError::internal)?;
        Ok(uuid::Builder::from_random_bytes(bytes).into_uuid().to_string())
    }
}
