//! SES (email) and SNS (transactional SMS).

use async_trait::async_trait;
use aws_sdk_ses::types::{Body, Content, Destination, Message as SesMessage};
use aws_sdk_sns::types::MessageAttributeValue;
use domain::address::Channel;
use domain::messages::Message;
use domain::ports::{Delivery, DeliveryError};

pub struct AwsDelivery {
    ses: aws_sdk_ses::Client,
    sns: aws_sdk_sns::Client,
    from: String,
}

fn refused<E: std::error::Error + Send + Sync + 'static>(e: E) -> DeliveryError {
    DeliveryError(Box::new(e))
}

fn content(text: &str) -> Result<Content, DeliveryError> {
    Content::builder().data(text).charset("UTF-8").build().map_err(refused)
}

impl AwsDelivery {
    pub fn new(sdk: &aws_config::SdkConfig, from: String) -> Self {
        AwsDelivery { ses: aws_sdk_ses::Client::new(sdk), sns: aws_sdk_sns::Client::new(sdk), from }
    }
}

#[async_trait]
impl Delivery for AwsDelivery {
    async fn send(&self, m: &Message) -> Result<(), DeliveryError> {
        match m.channel {
            Channel::Email => {
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
                    .send()
                    .await
                    .map_err(refused)?;
            }
            Channel::Sms => {
                let transactional = MessageAttributeValue::builder()
                    .data_type("String")
                    .string_value("Transactional")
                    .build()
                    .map_err(refused)?;
                self.sns
                    .publish()
                    .phone_number(&m.to)
                    .message(&m.text)
                    .message_attributes("AWS.SNS.SMS.SMSType", transactional)
                    .send()
                    .await
                    .map_err(refused)?;
            }
        }
        Ok(())
    }
}
