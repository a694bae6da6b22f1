//! How a store fails, apart from the domain outcomes of its conditions.

use std::error::Error as StdError;

/// Store failures that are not domain outcomes: the store could not be
/// reached, refused the request, or returned something unreadable. The
/// source chain is kept so an outage is never mistaken for a lost race.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("store request failed")]
    Unavailable(#[source] Box<dyn StdError + Send + Sync>),
    #[error("stored item is malformed: {0}")]
    Corrupt(String),
}
