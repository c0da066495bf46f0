//! The integration tests: one binary, one module per area (as ripgrep's core crate does), so a
//! change in the library relinks one test executable instead of one per file.
//!
//! Every test talks only to loopback: the sandbox's Genesys Cloud and New Relic emulators,
//! in-memory or loopback AWS twins, and moto's server (`MOTO_ENDPOINT`, started by
//! `scripts/test.sh`) for Secrets Manager, SQS and Parameter Store.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a harness: a failed setup stops the run

mod common;

mod aws;
mod cli;
mod dashboards;
mod decisions;
mod docs;
mod doctor;
mod dry_run;
mod fault_matrix;
mod genesys_events;
mod hostile;
mod layout;
mod lease;
mod metrics;
mod newrelic;
mod outcomes;
mod real_org;
mod redaction;
mod redrive;
mod rules_check;
mod runtime;
mod sqs;
mod template;
mod webhook;
