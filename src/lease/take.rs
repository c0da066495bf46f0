//! Taking a conversation's lease, in one DynamoDB call that also asks the table what it
//! remembers: a `TransactWriteItems` of three parts, all or nothing:
//!
//! 1. `Put` the lease `{pk: <conversation>, expiresAt, token, holder}` if no live lease is there;
//! 2. `ConditionCheck` that the request is not remembered as decided (a remembered request, or
//!    one whose last write had an unknown result, passes: it is decided afresh);
//! 3. `ConditionCheck` that the conversation's last write by this function bears on nothing:
//!    its reads can no longer lag behind it, and it came from a request no newer than this one.
//!
//! When a check fails, DynamoDB cancels the whole call and hands back the item that failed it:
//! a remembered outcome is answered at once (no lease, no Genesys call); a last write that
//! bears on the request is taken again without the third check, knowing the write (one more
//! call, only in the minutes after a write or for an older request); another instance's live
//! lease is `in_progress`.

use super::records::{
    n, number, recall, request_key, s, text, write_key, Item, LastWrite, LAG_UNTIL, SENT_AT, STATE,
    UNKNOWN,
};
use super::table::{Lease, Leases, EXPIRES_AT, HOLD, HOLDER, KEY, TOKEN};
use crate::aws_errors::explain;
use crate::clock::Deadline;
use crate::error::{Transient, TransientKind};
use crate::wrapup::{Identity, Outcome};
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{
    ConditionCheck, Put, ReturnValuesOnConditionCheckFailure, TransactWriteItem,
};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use uuid::Uuid;

/// The longest a request that found another instance's lease is told to wait: the holder
/// usually gives it back within a second, long before it expires.
const IN_PROGRESS_RETRY_AFTER: Duration = Duration::from_secs(5);

/// Who asks for a conversation's lease, and for which request.
pub(crate) struct Ask<'a> {
    pub(crate) conversation_id: Uuid,
    /// The invocation's request id, so a person can find the holder in the logs.
    pub(crate) holder: &'a str,
    pub(crate) deadline: Deadline,
    /// The request's identity (`None`: nothing is remembered about it).
    pub(crate) identity: Option<&'a Identity>,
    pub(crate) dry_run: bool,
}

/// What taking the lease found.
#[derive(Debug)]
pub(crate) enum Taken {
    /// This instance holds the conversation, and this is what this function last wrote on it
    /// when that bears on the request (a read may still lag behind it, or it came from a newer
    /// request).
    Held(Lease, Option<LastWrite>),
    /// An earlier delivery of this request decided it: its outcome, as a redelivery answers it.
    Remembered(Box<Outcome>),
}

/// A check besides the lease, in the order the call lists them after it.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Part {
    Request,
    Write,
}

/// Which checks the call makes besides the lease.
#[derive(Clone, Copy)]
struct Checks {
    request: bool,
    write: bool,
}

/// Which of the call's parts failed, with the item each found.
struct Refused {
    lease: Option<Option<Item>>,
    request: Option<Option<Item>>,
    write: Option<Option<Item>>,
}

impl Leases {
    /// Takes the conversation's lease alone, asking nothing about any request: what a tool
    /// that only needs the conversation to itself uses. Given back with [`Leases::release`].
    pub async fn acquire(
        &self,
        conversation_id: Uuid,
        holder: &str,
        deadline: Deadline,
    ) -> Result<Lease, Transient> {
        let ask = Ask {
            conversation_id,
            holder,
            deadline,
            identity: None,
            dry_run: false,
        };
        match self.take(&ask).await? {
            Taken::Held(lease, _) => Ok(lease),
            // Nothing is remembered about no request.
            Taken::Remembered(_) => {
                Err(self.unavailable("a remembered request answered no request"))
            }
        }
    }

    /// Takes the conversation's lease until the deadline, unless the request is remembered.
    /// Another instance's live lease is a transient `in_progress`; DynamoDB trouble a transient
    /// `upstream_unavailable`: never a write without the lease.
    pub(crate) async fn take(&self, ask: &Ask<'_>) -> Result<Taken, Transient> {
        let now = self.clock.unix_seconds();
        let budget = ask
            .deadline
            .remaining(self.clock.as_ref())
            .as_secs_f64()
            .ceil();
        // At least the current second: a lease is never born expired.
        let lease = Lease {
            key: ask.conversation_id.hyphenated().to_string(),
            token: Uuid::new_v4().hyphenated().to_string(),
            expires_at: now + (budget as i64).max(1),
        };
        let sent_at_ms = made_ms(ask.identity, now);
        let mut known_write = None;
        let mut check_request = ask.identity.is_some();
        // At most three calls: a last write that bears on the request is read, then passed
        // over; so is a remembered item this version cannot read (the request is decided
        // afresh rather than retried until it expires).
        for _ in 0..3 {
            let checks = Checks {
                request: check_request,
                write: known_write.is_none(),
            };
            let refused = match self.take_once(ask, &lease, now, sent_at_ms, checks).await {
                Ok(()) => return Ok(Taken::Held(lease, known_write)),
                Err(Ok(refused)) => refused,
                Err(Err(e)) => return Err(e),
            };
            if let Some(item) = refused.request.flatten() {
                match recall(&item, ask.conversation_id) {
                    Some(outcome) => return Ok(Taken::Remembered(Box::new(outcome))),
                    None => check_request = false,
                }
            }
            match refused.lease {
                // The SDK retried a call whose first answer was lost: the lease is ours.
                Some(Some(item)) if text(&item, TOKEN) == Some(lease.token.clone()) => {
                    return Ok(Taken::Held(lease, known_write))
                }
                Some(held) => {
                    return Err(self.in_progress(ask.conversation_id, held.as_ref(), now))
                }
                None => {}
            }
            if let Some(item) = refused.write.flatten() {
                match LastWrite::from_item(&item, now) {
                    Some(write) => known_write = Some(write),
                    None => {
                        return Err(
                            self.unavailable("the conversation's last write could not be read")
                        )
                    }
                }
            }
        }
        Err(self.unavailable("the call kept being cancelled"))
    }

    /// One `TransactWriteItems`: `Ok(())` when the lease is taken; `Err(Ok(_))` what refused it.
    async fn take_once(
        &self,
        ask: &Ask<'_>,
        lease: &Lease,
        now: i64,
        sent_at_ms: i64,
        checks: Checks,
    ) -> Result<(), Result<Refused, Transient>> {
        let table = &self.table;
        let all_old = ReturnValuesOnConditionCheckFailure::AllOld;
        let built = |e: aws_sdk_dynamodb::error::BuildError| -> Result<Refused, Transient> {
            Err(self.unavailable(&format!("the call could not be built: {e}")))
        };
        let put = Put::builder()
            .table_name(table)
            .item(KEY, s(&lease.key))
            .item(EXPIRES_AT, n(lease.expires_at))
            .item(TOKEN, s(&lease.token))
            .item(HOLDER, s(ask.holder))
            .condition_expression("attribute_not_exists(#pk) OR #expiresAt < :now")
            .expression_attribute_names("#pk", KEY)
            .expression_attribute_names("#expiresAt", EXPIRES_AT)
            .expression_attribute_values(":now", n(now))
            .return_values_on_condition_check_failure(all_old.clone())
            .build()
            .map_err(built)?;
        let mut items = vec![TransactWriteItem::builder().put(put).build()];
        let mut parts = Vec::new();
        if let (true, Some(identity)) = (checks.request, ask.identity) {
            let request = ConditionCheck::builder()
                .table_name(table)
                .key(KEY, s(request_key(identity, ask.dry_run)))
                .condition_expression(
                    "attribute_not_exists(#pk) OR #expiresAt < :now OR #state = :unknown",
                )
                .expression_attribute_names("#pk", KEY)
                .expression_attribute_names("#expiresAt", EXPIRES_AT)
                .expression_attribute_names("#state", STATE)
                .expression_attribute_values(":now", n(now))
                .expression_attribute_values(":unknown", s(UNKNOWN))
                .return_values_on_condition_check_failure(all_old.clone())
                .build()
                .map_err(built)?;
            items.push(
                TransactWriteItem::builder()
                    .condition_check(request)
                    .build(),
            );
            parts.push(Part::Request);
        }
        if checks.write {
            let write = ConditionCheck::builder()
                .table_name(table)
                .key(KEY, s(write_key(ask.conversation_id)))
                .condition_expression(
                    "attribute_not_exists(#pk) OR #expiresAt < :now OR (#lagUntil < :now AND #sentAt <= :mine)",
                )
                .expression_attribute_names("#pk", KEY)
                .expression_attribute_names("#expiresAt", EXPIRES_AT)
                .expression_attribute_names("#lagUntil", LAG_UNTIL)
                .expression_attribute_names("#sentAt", SENT_AT)
                .expression_attribute_values(":now", n(now))
                .expression_attribute_values(":mine", n(sent_at_ms))
                .return_values_on_condition_check_failure(all_old)
                .build()
                .map_err(built)?;
            items.push(TransactWriteItem::builder().condition_check(write).build());
            parts.push(Part::Write);
        }
        let result = self
            .client
            .transact_write_items()
            .set_transact_items(Some(items))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(SdkError::ServiceError(e))
                if matches!(
                    e.err(),
                    TransactWriteItemsError::TransactionCanceledException(_)
                ) =>
            {
                let TransactWriteItemsError::TransactionCanceledException(cancelled) = e.into_err()
                else {
                    return Err(Err(self.unavailable("the call was cancelled")));
                };
                let reasons = cancelled.cancellation_reasons.unwrap_or_default();
                let part = |i: usize| {
                    reasons
                        .get(i)
                        .filter(|r| r.code() == Some("ConditionalCheckFailed"))
                        .map(|r| r.item().cloned())
                };
                let position = |wanted: Part| parts.iter().position(|p| *p == wanted);
                Err(Ok(Refused {
                    lease: part(0),
                    request: position(Part::Request).and_then(|i| part(i + 1)),
                    write: position(Part::Write).and_then(|i| part(i + 1)),
                }))
            }
            Err(e) => Err(Err(self.unavailable(&explain(
                &e,
                "dynamodb:TransactWriteItems",
                table,
            )))),
        }
    }

    fn unavailable(&self, why: &str) -> Transient {
        Transient::new(
            TransientKind::Upstream,
            format!(
                "the conversation's lease could not be taken, so nothing was read or written: {why}"
            ),
        )
    }

    fn in_progress(&self, conversation_id: Uuid, held: Option<&Item>, now: i64) -> Transient {
        let left = held
            .and_then(|item| number(item, EXPIRES_AT))
            .map(|at| Duration::from_secs(u64::try_from(at - now).unwrap_or(0).max(1)));
        let holder = held
            .and_then(|item| text(item, HOLDER))
            .map_or_else(String::new, |h| format!(" (awsRequestId {h})"));
        // Held after a write whose result is unknown: nothing changes before the hold ends.
        let hold = held.and_then(|item| text(item, HOLD)).is_some();
        let what = if hold {
            "waits until a write whose result is unknown can no longer land on"
        } else {
            "is working on"
        };
        let until = left.map_or_else(String::new, |l| {
            format!(" for at most {} s more", l.as_secs())
        });
        let retry_after = match (left, hold) {
            (Some(left), true) => left,
            (Some(left), false) => left.min(IN_PROGRESS_RETRY_AFTER),
            (None, _) => IN_PROGRESS_RETRY_AFTER,
        };
        Transient::new(
            TransientKind::InProgress,
            format!(
                "another invocation{holder} {what} conversation {conversation_id}{until}; this request is retried after it"
            ),
        )
        .with_retry_after(Some(retry_after))
    }
}

/// When the request was made, in epoch milliseconds: what its identity says, never later than
/// `now` (epoch seconds; a sender's clock ahead of ours must not make its request outrank every
/// later one), and `now` when nothing says.
pub(crate) fn made_ms(identity: Option<&Identity>, now: i64) -> i64 {
    let now_ms = now.saturating_mul(1_000);
    identity
        .and_then(Identity::when)
        .map_or(now_ms, |at| epoch_ms(at).min(now_ms))
}

/// Milliseconds since the Unix epoch (0 before it).
fn epoch_ms(at: SystemTime) -> i64 {
    at.duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}
