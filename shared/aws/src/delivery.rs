//! SES (email) and SNS (transactional SMS), for the delivery function.
//! Provider errors are reduced to their kind and request id before they go
//! anywhere, since their messages can quote the address.

use async_trait::async_trait;
use aws_sdk_ses::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_ses::types::{Body, Content, Destination, Message as SesMessage};
use aws_sdk_sns::types::MessageAttributeValue;
use domain::address::Channel;
use domain::messages::Message;
use domain::ports::{Delivery, DeliveryError};

pub struct AwsDelivery {
    ses: aws_sdk_ses::Client,
    sns: aws_sdk_sns::Client,
    from: String,
    /// The SES configuration set that publishes bounces and complaints.
    configuration_set: Option<String>,
}

/// A provider's refusal by kind, without its message.
#[derive(Debug, thiserror::Error)]
#[error("{service} {kind} (request id {request_id})")]
pub struct ProviderError {
    service: &'static str,
    kind: String,
    request_id: String,
}

/// Refusals no retry can change: the provider rejects the address or the
/// sender, or the request itself.
const PERMANENT: &[&str] = &[
    "MessageRejected",
    "MailFromDomainNotVerifiedException",
    "ConfigurationSetDoesNotExistException",
    "ConfigurationSetSendingPausedException",
    "InvalidParameter",
    "InvalidParameterValue",
    "InvalidParameterException",
    "ValidationError",
];

/// Sorts an SDK error into permanent or not, keeping only its kind.
pub(crate) fn classify<E: ProvideErrorMetadata, R>(
    service: &'static str,
    e: SdkError<E, R>,
) -> DeliveryError {
    let (kind, request_id) = match &e {
        SdkError::ServiceError(se) => (
            se.err().code().unwrap_or("unknown").to_string(),
            se.err().meta().extra("aws_request_id").unwrap_or("none").to_string(),
        ),
        SdkError::TimeoutError(_) => ("timeout".into(), "none".into()),
        SdkError::DispatchFailure(_) => ("unreachable".into(), "none".into()),
        SdkError::ResponseError(_) => ("unreadable response".into(), "none".into()),
        _ => ("request not sent".into(), "none".into()),
    };
    let permanent = PERMANENT.contains(&kind.as_str());
    let error = ProviderError { service, kind, request_id };
    if permanent { DeliveryError::permanent(error) } else { DeliveryError::transient(error) }
}

fn content(text: &str) -> Result<Content, DeliveryError> {
    Content::builder().data(text).charset("UTF-8").build().map_err(DeliveryError::permanent)
}

/// `AWS_ENDPOINT_URL_SES` and `_SNS`, which override the SDK configuration's
/// endpoint for one provider (read with the rest of the deployment).
#[derive(Clone, Debug, Default)]
pub struct Endpoints {
    pub ses: Option<String>,
    pub sns: Option<String>,
}

impl AwsDelivery {
    pub fn new(
        sdk: &aws_config::SdkConfig,
        from: String,
        configuration_set: Option<String>,
        endpoints: Endpoints,
    ) -> Self {
        let mut ses = aws_sdk_ses::config::Builder::from(sdk);
        if let Some(url) = endpoints.ses {
            ses = ses.endpoint_url(url);
        }
        let mut sns = aws_sdk_sns::config::Builder::from(sdk);
        if let Some(url) = endpoints.sns {
            sns = sns.endpoint_url(url);
        }
        AwsDelivery {
            ses: aws_sdk_ses::Client::from_conf(ses.build()),
            sns: aws_sdk_sns::Client::from_conf(sns.build()),
            from,
            configuration_set,
        }
    }

    async fn email(&self, m: &Message) -> Result<(), DeliveryError> {
        let mut body = Body::builder().text(content(&m.text)?);
        if let Some(html) = &m.html {
            body = body.html(content(html)?);
        }
        let message = SesMessage::builder()
            .subject(content(m.subject.as_deref().unwrap_or_default())?)
            .body(body.build())
            .build();
        self.ses
            .send_email()
            .source(&self.from)
            .destination(Destination::builder().to_addresses(&m.to).build())
            .message(message)
            .set_configuration_set_name(self.configuration_set.clone())
            .send()
            .await
            .map_err(|e| classify("SES", e))?;
        Ok(())
    }

    async fn sms(&self, m: &Message) -> Result<(), DeliveryError> {
        let transactional = MessageAttributeValue::builder()
            .data_type("String")
            .string_value("Transactional")
            .build()
            .map_err(DeliveryError::permanent)?;
        self.sns
            .publish()
            .phone_number(&m.to)
            .message(&m.text)
            .message_attributes("AWS.SNS.SMS.SMSType", transactional)
            .send()
            .await
            .map_err(|e| classify("SNS", e))?;
        Ok(())
    }
}

#[async_trait]
impl Delivery for AwsDelivery {
    /// SES: the account's sending quota; SNS: the account's SMS settings.
    /// Both are reads that send nothing.
    async fn probe(&self, channel: Channel, _: &str) -> Result<(), DeliveryError> {
        match channel {
            Channel::Email => {
                self.ses.get_send_quota().send().await.map_err(|e| classify("SES", e))?;
            }
            Channel::Sms => {
                self.sns.get_sms_attributes().send().await.map_err(|e| classify("SNS", e))?;
            }
        }
        Ok(())
    }

    async fn send(&self, m: &Message) -> Result<(), DeliveryError> {
        match m.channel {
            Channel::Email => self.email(m).await,
            Channel::Sms => self.sms(m).await,
        }
    }
}
