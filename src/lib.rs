//! genesys-wrapup: applies Genesys Cloud wrap-up codes to ended conversations from AWS Lambda,
//! never writing the same request twice.
//!
//! Layout: `triggers` (envelopes in, platform replies out) → `apply` (one request end to end) →
//! `wrapup` (pure decisions) and `genesys` (the API client); `secrets`, `config`, `telemetry`
//! and `clock` support them; `sandbox` is the emulator used by `invoke --sandbox` and the tests.

pub mod app;
pub mod apply;
pub mod cli;
pub mod clock;
pub mod config;
pub mod error;
pub mod genesys;
pub mod queues;
pub mod rules_source;
pub mod sandbox;
pub mod secrets;
pub mod telemetry;
pub mod triggers;
pub mod wrapup;
