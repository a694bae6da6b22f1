//! The composition root of a deployed function: configuration from the
//! environment (secrets required), the AWS clients, and the adapters behind
//! the domain's ports. Built once per cold start, outside the handler.

use crate::metrics::EmfMetrics;
use aws::dynamodb::{self, DynamoStore};
use domain::config::{Config, ConfigError, Secrets};
use domain::templates::{TemplateIndex, TemplateSets};
use domain::{Fault, Services};
use std::sync::Arc;

/// The adapters' settings (the domain's are in `Config`).
#[derive(Clone, Debug)]
pub struct Deployment {
    /// `TABLE_NAME` (default `vericode`).
    pub table_name: String,
    /// `DYNAMODB_ENDPOINT`, else the SDK's own `AWS_ENDPOINT_URL_DYNAMODB`:
    /// overrides the DynamoDB endpoint.
    pub dynamodb_endpoint: Option<String>,
    /// `EMAIL_FROM`: the sender of emails; required where email is sent.
    pub email_from: Option<String>,
    /// `SES_CONFIGURATION_SET`: publishes bounces and complaints (optional).
    pub ses_configuration_set: Option<String>,
    /// `AWS_ENDPOINT_URL_SES`: overrides the SES endpoint.
    pub ses_endpoint: Option<String>,
    /// `AWS_ENDPOINT_URL_SNS`: overrides the SNS endpoint.
    pub sns_endpoint: Option<String>,
    /// `TEMPLATES_DIR`: a folder of named template sets (optional).
    pub templates_dir: Option<String>,
    /// `EVENT_BUS_NAME`: the EventBridge bus account events go to (none:
    /// they are not published).
    pub event_bus_name: Option<String>,
    /// `AWS_ENDPOINT_URL_EVENTBRIDGE`: overrides the EventBridge endpoint.
    pub eventbridge_endpoint: Option<String>,
}

impl Deployment {
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Self {
        let get = |name: &str| get(name).filter(|v| !v.trim().is_empty());
        Deployment {
            table_name: get("TABLE_NAME").unwrap_or_else(|| "vericode".into()),
            dynamodb_endpoint: get("DYNAMODB_ENDPOINT")
                .or_else(|| aws::service_endpoint(get, "DYNAMODB")),
            email_from: get("EMAIL_FROM"),
            ses_configuration_set: get("SES_CONFIGURATION_SET"),
            ses_endpoint: aws::service_endpoint(get, "SES"),
            sns_endpoint: aws::service_endpoint(get, "SNS"),
            templates_dir: get("TEMPLATES_DIR").map(|dir| dir.trim().to_string()),
            event_bus_name: get("EVENT_BUS_NAME").map(|name| name.trim().to_string()),
            eventbridge_endpoint: aws::service_endpoint(get, "EVENTBRIDGE"),
        }
    }

    pub fn from_env() -> Self {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// SES and SNS, as this deployment reaches them: the sender (or the
    /// error naming `EMAIL_FROM`), the configuration set and the endpoints.
    #[cfg(feature = "delivery")]
    pub fn delivery(
        &self,
        sdk: &aws_config::SdkConfig,
    ) -> Result<aws::delivery::AwsDelivery, ConfigError> {
        let endpoints = aws::delivery::Endpoints {
            ses: self.ses_endpoint.clone(),
            sns: self.sns_endpoint.clone(),
        };
        let set = self.ses_configuration_set.clone();
        Ok(aws::delivery::AwsDelivery::new(sdk, self.sender()?, set, endpoints))
    }

    /// The EventBridge bus account events go to, if `EVENT_BUS_NAME` names one.
    #[cfg(feature = "delivery")]
    pub fn events(&self, sdk: &aws_config::SdkConfig) -> Option<aws::events::EventBridgeBus> {
        let bus = self.event_bus_name.clone()?;
        Some(aws::events::EventBridgeBus::new(sdk, bus, self.eventbridge_endpoint.clone()))
    }

    /// The sender, or the error naming `EMAIL_FROM`.
    pub fn sender(&self) -> Result<String, ConfigError> {
        self.email_from.clone().ok_or(ConfigError::Missing("EMAIL_FROM"))
    }

    /// The DynamoDB store this deployment names.
    pub fn store(&self, sdk: &aws_config::SdkConfig) -> DynamoStore {
        let client = dynamodb::client(sdk, self.dynamodb_endpoint.as_deref());
        DynamoStore::new(client, self.table_name.clone())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Catalog(#[from] &'static domain::catalog::CatalogError),
    #[error(transparent)]
    Templates(#[from] domain::templates::TemplateError),
    #[error("the service could not start")]
    Services(#[from] Fault),
}

/// The domain's configuration from the process environment.
pub fn config_from_env(secrets: Secrets) -> Result<Config, StartupError> {
    domain::catalog::catalog()?;
    Ok(Config::from_lookup(|name| std::env::var(name).ok(), secrets)?)
}

/// Compiles the message templates now, so that a broken one fails the
/// start of whatever sends messages, naming its file.
pub fn check_templates() -> Result<(), StartupError> {
    domain::catalog::catalog()?.templates()?;
    Ok(())
}

/// The named template sets under `TEMPLATES_DIR` (none when unset), read,
/// compiled and test-rendered now: a broken one fails the start, naming its
/// file.
pub fn templates_from_env() -> Result<Arc<TemplateSets>, StartupError> {
    Ok(Arc::new(templates_with(TemplateSets::load)?.unwrap_or_default()))
}

/// The names of the template sets under `TEMPLATES_DIR` and the channels
/// each serves, the layout checked but nothing compiled: the send function
/// only names a set (the delivery function renders it, and refuses to start
/// on a broken one), so it links no template engine.
pub fn template_index_from_env() -> Result<Arc<TemplateIndex>, StartupError> {
    Ok(Arc::new(templates_with(TemplateIndex::read)?.unwrap_or_default()))
}

/// `read` of `TEMPLATES_DIR`; `None` when it is unset.
fn templates_with<T>(
    read: fn(&std::path::Path) -> Result<T, domain::templates::TemplateError>,
) -> Result<Option<T>, StartupError> {
    match Deployment::from_env().templates_dir {
        Some(dir) => Ok(Some(read(std::path::Path::new(&dir))?)),
        None => Ok(None),
    }
}

/// A deployed function's services: DynamoDB, and metrics in EMF. No
/// function behind the API sends messages (the delivery function does), so
/// the SES and SNS clients are linked into that one alone.
pub async fn from_env() -> Result<Services, StartupError> {
    let config = config_from_env(Secrets::Required)?;
    let sdk = aws::lambda_sdk_config(|name| std::env::var(name).ok());
    let store = Deployment::from_env().store(&sdk);
    Ok(Services::new(config, Arc::new(store))?.with_metrics(Arc::new(EmfMetrics)))
}

/// The delivery function's deliverer: DynamoDB, SES and SNS (the AWS
/// configuration is loaded once and shared by the three clients), EMF
/// metrics; `EMAIL_FROM` is required and the templates are compiled now.
/// How long an external captcha provider has to answer a check.
#[cfg(feature = "siteverify")]
pub const CAPTCHA_PROVIDER_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(2);

/// Wires the external captcha provider `CAPTCHA_PROVIDER` names (nothing for
/// the built-in captcha). For the functions that check captchas.
#[cfg(feature = "siteverify")]
pub fn with_captcha_provider(services: Services) -> Result<Services, StartupError> {
    use domain::config::CaptchaProvider;
    match &services.config.captcha_provider {
        CaptchaProvider::Builtin | CaptchaProvider::Pow | CaptchaProvider::BuiltinOrPow => {
            Ok(services)
        }
        CaptchaProvider::External { secret, verify_url, .. } => {
            let verifier =
                siteverify::SiteVerify::new(verify_url, secret, CAPTCHA_PROVIDER_TIMEOUT)
                    .map_err(Fault::from)?;
            Ok(services.with_captcha_verifier(Arc::new(verifier)))
        }
    }
}

#[cfg(feature = "delivery")]
pub async fn deliverer_from_env() -> Result<domain::outbox::Deliverer, StartupError> {
    let config = config_from_env(Secrets::Required)?;
    check_templates()?;
    let deployment = Deployment::from_env();
    let sdk = aws::lambda_sdk_config(|name| std::env::var(name).ok());
    let delivery = deployment.delivery(&sdk)?;
    let store = deployment.store(&sdk);
    let services = Services::new(config, Arc::new(store))?
        .with_metrics(Arc::new(EmfMetrics))
        .with_templates(templates_from_env()?);
    let deliverer = domain::outbox::Deliverer::new(&services, Arc::new(delivery));
    Ok(match deployment.events(&sdk) {
        Some(bus) => deliverer.with_events(Arc::new(bus)),
        None => deliverer,
    })
}
