//! The domain: what a request means, which participant and communication it targets, whether
//! the code fits the conversation's divisions and is already there, which rule a Genesys event
//! matches, and the outcome. No I/O here: everything is decided from values Genesys returned.

pub(crate) mod decision;
mod outcome;
mod request;
pub(crate) mod rules;

pub use decision::Target;
pub(crate) use outcome::Details;
pub use outcome::{Outcome, Reason, Status};
pub use request::{ApplyRequest, CodeRef, InvalidRequest, Overwrite, WrapUp};
