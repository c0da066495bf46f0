//! Wrap-up rules: which code a Genesys event gets. Genesys's own events say that a conversation
//! or an agent's part ended, never which code to apply; rules name it. Everything about rules is
//! in this folder, the command that checks them aside (`cli/rules.rs`):
//!
//! - `matching.rs`: what a rule is, and which rule an event and its participant match (the
//!   first one wins);
//! - `check.rs`: is a rule set usable? Every problem the function refuses at load, found at
//!   once and named by rule and field, with the fix;
//! - `source.rs`: where rules come from (inline, a file, Parameter Store), read again after a
//!   TTL; a set that does not load never stops the function;
//! - `resolve.rs`: do the codes and queues a rule set names exist in the org? Asked of Genesys
//!   by `rules check --resolve` and by `doctor`.
//!
//! Imports run one way: rules read `wrapup` (requests, events, the wanted wrap-up), `genesys`
//! and `config`; nothing in `wrapup` knows rules exist. A rule names its code with the same
//! [`CodeRef`](crate::CodeRef) an apply request does, so a new way of naming a code (a code
//! Genesys predicts, say) is a `CodeRef` in `wrapup/request.rs`, chosen by a decision of its own
//! in `wrapup/` next to `code.rs`: apply requests and rules both get it, and a rule's own fields
//! for it are checked in `check.rs`.

mod check;
mod matching;
mod resolve;
mod source;

pub(crate) use check::RuleProblem;
pub(crate) use matching::{Asks, ParticipantFacts, Rule, RuleSet};
pub(crate) use resolve::resolve;
pub(crate) use source::{text, ParameterStore, Rules, SsmParameters};
