//! The decision: what an apply request means, which participant and communication it targets,
//! whether the code fits the conversation's divisions and is already there, and the outcome.
//! No I/O here: everything is decided from values Genesys returned.

pub mod decision;
pub mod outcome;
pub mod request;
pub mod rules;

pub use decision::{Rejection, Target};
pub use outcome::{Outcome, Reason, Status};
pub use request::ApplyRequest;

/// A media type whose wrap-up endpoint we call, named by the participant's array it came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MediaKind {
    Call,
    Callback,
    Email,
    Message,
    Social,
    Video,
}

impl MediaKind {
    /// The segment of `POST /api/v2/conversations/{segment}/.../wrapup`.
    pub fn path_segment(self) -> &'static str {
        match self {
            Self::Call => "calls",
            Self::Callback => "callbacks",
            Self::Email => "emails",
            Self::Message => "messages",
            Self::Social => "socials",
            Self::Video => "videos",
        }
    }

    /// Genesys's lower-case media type name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Call => "voice",
            Self::Callback => "callback",
            Self::Email => "email",
            Self::Message => "message",
            Self::Social => "social",
            Self::Video => "video",
        }
    }
}
