//! The lease table (`WRAPUP_LOCK_TABLE`): who may work on a conversation now, and what this
//! function remembers about requests and conversations, so a redelivery never depends on how
//! fresh Genesys's read is.
//!
//! - **The lease**: `{pk: <conversation id>, expiresAt, token, holder}`, taken by a conditional
//!   write that succeeds only when no live lease is there, and given back by a delete that
//!   succeeds only while the item still carries its holder's token. Two deliveries racing on two
//!   instances never both write; two different requests for one conversation are decided one
//!   after the other. A lease lasts until the invocation's deadline (a crashed holder blocks no
//!   longer), or after a write whose result is unknown, until that write can no longer land.
//! - **Remembered requests** and the conversation's **last write** (`records.rs`), kept for
//!   `WRAPUP_IDEMPOTENCY_TTL` under keys that are never a conversation id.
//!
//! Expiry is judged by each call's condition; DynamoDB's TTL on `expiresAt` only sweeps (it can
//! lag by days). One file per part:
//!
//! - `table.rs`: the table, the lease as this instance holds it, and giving it back;
//! - `take.rs`: taking the lease, in the same call asking what is remembered;
//! - `finish.rs`: giving it back, in the same call keeping the outcome;
//! - `records.rs`: the shapes of what is kept;
//! - `check.rs`: `doctor`'s check of the table.

mod check;
mod finish;
mod records;
mod table;
mod take;

pub(crate) use finish::End;
pub use records::LastWrite;
pub(crate) use table::tuned;
pub use table::{Lease, Leases, Released, EXPIRES_AT, KEY};
pub(crate) use take::{made_ms, Ask, Taken};
