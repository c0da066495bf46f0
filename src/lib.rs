//! genesys-wrapup: applies Genesys Cloud wrap-up codes to ended conversations from AWS Lambda,
//! never writing the same request twice.
//!
//! The data path, in one direction: `triggers` recognise what arrived → `handler` runs each
//! unit through the one `pipeline` (read → target → ended → rules → code → checks → one
//! `Write`) → replies and `telemetry`. `wrapup` holds the pure decisions, `genesys` the API
//! client; `secrets`, `queues`, `rules_source`, `config` and `clock` support them. The
//! `sandbox` feature adds the Genesys Cloud emulator behind `invoke --sandbox`, the tests and
//! the benches; the deployed binary is built without it.

mod app;
mod cli;
mod clock;
mod config;
mod doctor;
mod error;
mod genesys;
mod handler;
mod http;
mod pipeline;
mod queues;
mod rules_source;
mod secrets;
mod telemetry;
mod triggers;
mod wrapup;

#[cfg(feature = "sandbox")]
pub mod sandbox;

pub use app::{App, Dependencies, StartupError};
pub use cli::run;
pub use clock::{Clock, Deadline, SystemClock};
pub use config::Settings;
pub use error::{Transient, TransientKind};
pub use handler::{handle, Invocation, Reply};
pub use queues::{QueueError, Queues};
pub use secrets::{SecretError, SecretStore, WebhookKeys};
pub use telemetry::init_logging;
pub use triggers::{recognise, signature, webhook::precheck, Envelope};
pub use wrapup::{
    ApplyRequest, CodeRef, Kind, Outcome, Overwrite, Reason, Request, Status, Wanted,
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
