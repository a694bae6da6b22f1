//! The application: configuration plus the adapters behind every port.
//! Built once per cold start (or once per dev server) and shared by reference.

use crate::captcha::{DevAnswerLog, ImageRenderer};
use crate::codes::Pacer;
use crate::config::{Config, ConfigError, Secrets};
use crate::crypto::Keys;
use crate::delivery::aws::AwsDelivery;
use crate::delivery::{Delivery, NoDelivery};
use crate::error::ApiError;
use crate::messages::Templates;
use crate::password::Passwords;
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
    pub delivery: Arc<dyn Delivery>,
    pub templates: Templates,
    pub passwords: Passwords,
    pub pace: Pacer,
    /// Only the dev server sets this (`GET /_dev/captchas/{id}`).
    pub dev_captcha_answers: Option<Arc<DevAnswerLog>>,
    /// Only the dev server sets this (`GET /_dev/outbox`): the same outbox as `delivery`.
    pub dev_outbox: Option<Arc<crate::delivery::outbox::Outbox>>,
}

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("a message template does not compile")]
    Templates(#[from] minijinja::Error),
    #[error("password hashing could not start: {0}")]
    Passwords(String),
}

impl App {
    /// An app over `store` and `delivery` with the system clock, the OS
    /// CSPRNG and the image renderer.
    pub fn new(
        config: Config,
        store: Arc<dyn Store>,
        delivery: Arc<dyn Delivery>,
    ) -> Result<Self, StartupError> {
        Ok(App {
            keys: Keys::derive(&config.code_key),
            config,
            store,
            clock: Arc::new(SystemClock),
            random: Arc::new(OsRandom),
            renderer: Arc::new(ImageRenderer),
            delivery,
            templates: Templates::new()?,
            passwords: Passwords::new().map_err(|e| StartupError::Passwords(e.to_string()))?,
            pace: Pacer::default(),
            dev_captcha_answers: None,
            dev_outbox: None,
        })
    }

    /// A deployed function's app: configuration from the environment
    /// (secrets required) and DynamoDB. It sends no messages, so the SES and
    /// SNS clients are not even linked into functions that use it.
    pub async fn from_env() -> Result<Self, StartupError> {
        let config = Config::from_env(Secrets::Required)?;
        let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest()).load().await;
        let store = DynamoStore::from_sdk(&sdk, &config);
        App::new(config, Arc::new(store), Arc::new(NoDelivery))
    }

    /// `from_env` for the function that sends codes: SES and SNS as well,
    /// and `EMAIL_FROM` is required. The AWS configuration is loaded once and
    /// shared by the three clients.
    pub async fn from_env_sending() -> Result<Self, StartupError> {
        let config = Config::from_env(Secrets::Required)?;
        let from = config.email_from.clone().ok_or(ConfigError::Missing("EMAIL_FROM"))?;
        let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest()).load().await;
        let store = DynamoStore::from_sdk(&sdk, &config);
        App::new(config, Arc::new(store), Arc::new(AwsDelivery::new(&sdk, from)))
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

    /// Delivers through an in-memory outbox that `GET /_dev/outbox` reads.
    pub fn with_dev_outbox(mut self, outbox: Arc<crate::delivery::outbox::Outbox>) -> Self {
        self.delivery = outbox.clone();
        self.dev_outbox = Some(outbox);
        self
    }

    /// A random (version 4) UUID from the app's random source.
    pub fn new_id(&self) -> Result<String, ApiError> {
        let mut bytes = [0u8; 16];
        self.random.fill(&mut bytes).map_err(ApiError::internal)?;
        Ok(uuid::Builder::from_random_bytes(bytes).into_uuid().to_string())
    }
}
