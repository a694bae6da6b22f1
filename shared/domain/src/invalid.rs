//! Input a request cannot be served with.

/// Input the request cannot be served with. Nothing was read or written.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Invalid {
    /// A required field is absent (its name, dotted for nested fields).
    #[error("the field {0} is required")]
    Missing(String),
    /// A field that is not accepted in this request.
    #[error("the field {0} is not accepted here")]
    Unknown(String),
    /// A field has a value outside what it accepts.
    #[error("the field {0} has an invalid value")]
    Value(String),
    /// The field holding an email address does not hold a valid one.
    #[error("invalid email address in {0}")]
    Email(&'static str),
    /// The field holding a phone number does not hold a valid one.
    #[error("invalid phone number in {0}")]
    Phone(&'static str),
    /// The field holding a new password breaks the length rule.
    #[error("weak password in {0}")]
    WeakPassword(&'static str),
}

impl Invalid {
    pub fn value(field: &str) -> Self {
        Invalid::Value(field.to_string())
    }
    pub fn missing(field: &str) -> Self {
        Invalid::Missing(field.to_string())
    }
}
