//! Genesys Cloud: typed calls, the token cache and error classes.

pub mod client;
pub mod error;
pub mod models;
pub mod rate_limit;

pub use client::GenesysClient;
pub use error::{Endpoint, ErrorClass, GenesysError};
