//! Store adapters: `memory` (the dev server's default and a fast test
//! double) and `dynamodb` (deployed). Both pass the same contract tests.

pub mod dynamodb;
pub mod memory;
