//! The integration tests: one binary, one module per area (as ripgrep's core crate does), so a
//! change in the library relinks one test executable instead of one per file.
//!
//! Every test talks only to loopback: the sandbox's Genesys Cloud and New Relic emulators,
//! in-memory or loopback AWS twins, and moto's server (`MOTO_ENDPOINT`, started by
//! `scripts/test.sh`) for Secrets Manager, SQS, Parameter Store, KMS and DynamoDB.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a harness: a failed setup stops the run

// The shared harness: the real handler on the sandbox, a manual clock, moto, event builders.
mod common;

// The deployed AWS paths: Secrets Manager and SQS through the SDK, against moto.
mod aws;
// The binary as users run it: `invoke --sandbox` on every sample, exit codes, clean stdout.
mod cli;
// Dashboards name only metrics, dimensions and attributes the function emits.
mod dashboards;
// The pure decisions (`genesys_wrapup::decide`): target, ended, code, division, overwrite.
mod decisions;
// README, contract and configuration table say what the code does.
mod docs;
// `doctor` as operators run it: every check green on a good set-up, each failure named.
mod doctor;
// Dry run: every read as in a real run, no write, the would-be write shown to the caller only.
mod dry_run;
// Every Genesys call times every fault: outcome class, calls made, writes.
mod fault_matrix;
// Genesys's own events through wrap-up rules, and several orgs from one deployment.
mod genesys_events;
// Hostile input: nothing but canonical UUIDs reaches a URL, webhook attacks refused early.
mod hostile;
// The layout: imports one way at every depth, every table of contents whole.
mod layout;
// One instance at a time per conversation (the lease table, on moto's DynamoDB).
mod lease;
// EMF metrics reach CloudWatch at every log level Lambda's filter allows.
mod metrics;
// New Relic custom events: one POST per invocation, the contract attributes, bounded delivery.
mod newrelic;
// Every outcome and transient class of the contract, with the calls and writes behind it.
mod outcomes;
// What a real org does: after-call work, supervisors, codes by name, agent choices, throttling.
mod real_org;
// No secret, token or signing key in any log line, outcome or error.
mod redaction;
// Copilot's predicted codes and observe rules against the emulator's summaries.
mod predictions;
// Exactly once with lagging reads: redeliveries remembered, newer writes stand, unknown writes held.
mod redelivery;
// `redrive` against moto: every kind of attention-queue message, failed sends keep it.
mod redrive;
// `rules check`: every problem by rule and field, the deployed setting, `--resolve`.
mod rules_check;
// The binary under a Lambda Runtime API, with epoch deadlines and relative budgets.
mod runtime;
// The buffered path: partial batch failures, ordering, backoff, attention queue, enqueue mode.
mod sqs;
// The SAM template's promises to a first-time deployer.
mod template;
// The roots every HTTPS connection trusts: builtin refuses a private CA, system trusts it.
mod tls;
// Every webhook status code of the contract.
mod webhook;
