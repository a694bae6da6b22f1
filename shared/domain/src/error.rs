//! The error vocabulary the use cases share. Each use case has its own
//! error enum built from these (`Invalid` input, a `Fault` of a dependency)
//! and its own refusals; the HTTP edge maps every one of them to a status,
//! an error code and a message in one place.

pub use crate::invalid::Invalid;
use crate::ports::{ProviderError, RandomError, StoreError};
use std::error::Error as StdError;

/// Something the service depends on failed, or something that cannot
/// happen did. Never the caller's fault; the source chain is kept for the log.
#[derive(Debug, thiserror::Error)]
pub enum Fault {
    /// The store could not be reached, refused the request or returned
    /// something unreadable.
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Random(#[from] RandomError),
    /// An external provider (the captcha's siteverify) failed or did not
    /// answer in time.
    #[error(transparent)]
    Provider(#[from] ProviderError),
    /// Rendering, signing, hashing: a library refused its input.
    #[error("{context}")]
    Internal {
        context: &'static str,
        #[source]
        source: Box<dyn StdError + Send + Sync>,
    },
}

impl Fault {
    pub fn internal(context: &'static str, e: impl Into<Box<dyn StdError + Send + Sync>>) -> Self {
        Fault::Internal { context, source: e.into() }
    }
}

/// Gives a use-case error enum with a `Fault(Fault)` variant the `From`
/// conversions `?` needs for every kind of fault.
#[macro_export]
macro_rules! faults {
    ($($error:ty),* $(,)?) => {$(
        impl From<$crate::ports::StoreError> for $error {
            fn from(e: $crate::ports::StoreError) -> Self {
                Self::Fault($crate::error::Fault::Store(e))
            }
        }
        impl From<$crate::ports::RandomError> for $error {
            fn from(e: $crate::ports::RandomError) -> Self {
                Self::Fault($crate::error::Fault::Random(e))
            }
        }
    )*};
}

/// `err: cause: cause…`, for logs.
pub fn chain(err: &(dyn StdError + 'static)) -> String {
    let mut out = err.to_string();
    let mut next = err.source();
    while let Some(e) = next {
        out.push_str(": ");
        out.push_str(&e.to_string());
        next = e.source();
    }
    out
}
