//! genesys-wrapup: applies Genesys Cloud wrap-up codes to ended conversations from AWS Lambda,
//! never writing the same request twice.
//!
//! # Layout
//!
//! Data and imports run one way, from the edges in (no module imports one above it, at any
//! depth: `tests/it/layout.rs`). Top to bottom:
//!
//! - `cli` (the binary's commands) and `handler` (one invocation) on top; `doctor` checks a
//!   deployment through the same parts; `redrive` sends the attention queue's messages on;
//!   `app` builds the parts once per process.
//! - `triggers` recognise the event's envelope and make deliveries; `telemetry` records
//!   outcomes (logs, EMF metrics, New Relic).
//! - `pipeline` runs one request to its outcome: the table of contents of every decision.
//! - `rules`: the wrap-up rules, all of them (matching, checking, where they come from,
//!   resolving their codes in Genesys).
//! - `wrapup` holds the decisions, one file each, on values already read (no I/O).
//! - `lease` keeps the lease table (leases, remembered outcomes, the last write), below the
//!   pipeline and above `wrapup`, whose outcomes it keeps; `genesys` is the API client; `secrets` and `queues` the other AWS
//!   adapters, and `aws_errors` words their failures.
//! - `http`, `config`, `clock` and `error` are the ground everything stands on.
//! - `sandbox` (feature `sandbox`, never in the deployed binary): the Genesys Cloud and New
//!   Relic emulators, the demo org and in-memory AWS twins behind `invoke --sandbox`, the tests
//!   and the benches.
//!
//! Each folder's `mod.rs` lists its files the same way (a test keeps every list whole).
//!
//! # Words
//!
//! One word for one thing, here and in the docs:
//!
//! - **event**: the JSON Lambda hands the function; its **envelope** ([`Envelope`]) is the
//!   platform's shape: an HTTP request, an SQS batch, one EventBridge event or direct invoke.
//! - **delivery**: one request as it arrived, with its **trigger** (how: `eventbridge`,
//!   `webhook`, `sqs`, `direct`), event id and attempt. An SQS batch holds several.
//! - **request** ([`Request`]): what a delivery asks, of one of two **kinds** ([`Kind`]): an
//!   **apply request** ([`ApplyRequest`], the caller names the code) or a **Genesys event**
//!   (`user.end`, `customer.end`, `acw` from Genesys's EventBridge integration; wrap-up
//!   **rules** name the code). Never "native".
//! - **wanted** ([`Wanted`]): the wrap-up a request or rule asks for (code, notes, tags,
//!   overwrite). Genesys's own `Wrapup` is what the participant has now.
//! - **target**: the participant and communication the code goes on; **ended**: the agent's
//!   part has ended (after-call work counts as ended).
//! - **write**: the one `POST .../wrapup`; a **dry run** stops right before it.
//! - **identity**: what makes two deliveries the same request (an EventBridge event's `id`, a
//!   webhook's `Idempotency-Key`, else a hash of the request's canonical form), and when it was
//!   made; a **redelivery** is a delivery of a request already seen.
//! - **lease** ([`lease::Lease`]): one instance's right, for a while, to read, decide and write
//!   one conversation (`WRAPUP_LOCK_TABLE`); without the table, delivery is at least once.
//! - **remembered**: a request's outcome kept in the lease table (`WRAPUP_IDEMPOTENCY_TTL`), so
//!   its redelivery is answered without Genesys; the conversation's **last write** is what this
//!   function last wrote on it, which counts while Genesys's reads lag.
//! - **outcome** ([`Outcome`]): a [`Status`], with a [`Reason`] when rejected or skipped;
//!   **transient** trouble ([`Transient`]) is no outcome but an error the platform retries.

mod app;
mod aws_errors;
mod cli;
mod clock;
mod config;
mod doctor;
mod error;
mod genesys;
mod handler;
mod http;
pub mod lease;
mod pipeline;
mod queues;
mod redrive;
mod rules;
mod secrets;
mod telemetry;
mod triggers;
mod wrapup;

#[cfg(feature = "sandbox")]
pub mod sandbox;

pub use app::{App, StartupError};
pub use cli::run;

pub use clock::{Clock, Deadline, SystemClock};
pub use config::Settings;
pub use error::{Transient, TransientKind};
pub use handler::{handle, Invocation, Reply};
pub use queues::{QueueError, Queues};
pub use secrets::{SecretError, SecretStore, WebhookKeys};
pub use telemetry::{init_logging, JsonLines};
pub use triggers::{recognise, signature, webhook::precheck, Envelope};
pub use wrapup::{
    ApplyRequest, CodeRef, Kind, Outcome, Overwrite, Predicted, Reason, Request, Status, Wanted,
};

/// The pure decisions on what Genesys returned, and the models they read: what the fuzz
/// targets and the decision tests drive, with no I/O.
pub mod decide {
    pub use crate::genesys::models::{
        AfterCallWork, Communication, Conversation, DivisionMembership, EntityRef, ErrorBody,
        Participant, TokenResponse, Wrapup, WrapupCode,
    };
    pub use crate::genesys::MediaKind;
    pub use crate::wrapup::{
        check_division, codes_named, is_already_applied, is_ended, keep_current, select_target,
        supervisor, unended_leg, ByName, Keep, Rejection, Target,
    };
}
