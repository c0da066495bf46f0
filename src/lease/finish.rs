//! Giving a conversation's lease back, in one DynamoDB call that also remembers how the request
//! ended: a `TransactWriteItems` that deletes the lease only while it still carries this
//! holder's token, and puts what is kept:
//!
//! - decided without a write (`already_applied`, `skipped`; a dry run's `would_apply`): the
//!   request's outcome, for `WRAPUP_IDEMPOTENCY_TTL`;
//! - written: the outcome, and the conversation's last write;
//! - written with an unknown result: the request as `unknown` (its next delivery re-reads), and
//!   instead of the delete, an update that holds the lease until the write can no longer land;
//! - rejected or transient: nothing (a retry or a redrive is decided afresh); a plain
//!   conditional delete.
//!
//! When the lease is no longer this holder's (it ran past its deadline), what is kept is still
//! put, in a second call, and the other holder's lease is left alone.

use super::records::{self, request_key, s, Item, LastWrite};
use super::table::{Lease, Leases, Released, EXPIRES_AT, HOLD, KEY, TOKEN};
use super::take::{made_ms, Ask};
use crate::aws_errors::explain;
use crate::wrapup::{Identity, Outcome};
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{
    AttributeValue, Delete, Put, ReturnValuesOnConditionCheckFailure, TransactWriteItem, Update,
};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// How long after this function wrote a code a read that does not show it may still be
/// lagging behind the write (Genesys answers a write with 202: accepted, seen a moment later).
pub(crate) const LAG_WINDOW: Duration = Duration::from_secs(300);
/// How long after a write whose result is unknown was sent it may still land.
pub(crate) const UNKNOWN_WRITE_HOLD: Duration = Duration::from_secs(60);

/// How a request that held the lease ended.
pub(crate) enum End<'a> {
    /// Decided without a write, or a dry run's `would_apply`: remembered.
    Decided(&'a Outcome),
    /// Written: remembered, with the conversation's last write.
    Written(&'a Outcome),
    /// A write whose result is unknown, sent at this time: remembered as unknown, the lease
    /// held until the write can no longer land.
    Unknown(SystemTime),
    /// Rejected, or trouble the platform retries: nothing kept.
    Forgotten,
}

impl Leases {
    /// Gives the lease back (or holds it, after an unknown write) and keeps what `end` says.
    pub(crate) async fn finish(&self, lease: Lease, ask: &Ask<'_>, end: End<'_>) -> Released {
        let now = self.clock.unix_seconds();
        let remember_until =
            now + i64::try_from(self.remember_for.as_secs()).unwrap_or(i64::MAX / 2);
        let Some(identity) = ask.identity else {
            return self.release(lease).await;
        };
        let key = request_key(identity, ask.dry_run);
        let kept: Vec<Item> = match &end {
            End::Forgotten => return self.release(lease).await,
            End::Decided(outcome) => vec![records::remembered(
                key,
                outcome,
                ask.conversation_id,
                now,
                remember_until,
            )],
            End::Written(outcome) => {
                let mut kept = vec![records::remembered(
                    key,
                    outcome,
                    ask.conversation_id,
                    now,
                    remember_until,
                )];
                if let Some(write) = last_write(outcome, identity, now) {
                    kept.push(write.item(ask.conversation_id, now, remember_until));
                }
                kept
            }
            End::Unknown(_) => vec![records::unknown(
                key,
                ask.conversation_id,
                now,
                remember_until,
            )],
        };
        let hold_until = match end {
            End::Unknown(sent) => {
                Some(epoch_seconds_ceil(sent + UNKNOWN_WRITE_HOLD).max(lease.expires_at))
            }
            _ => None,
        };
        match self.finish_once(&lease, hold_until, &kept).await {
            Ok(()) => match hold_until {
                Some(until) => {
                    tracing::warn!(
                        event = "lease_held",
                        conversationId = %lease.key,
                        holdUntil = until,
                        "a write's result is unknown: the conversation's lease is held until it can no longer land, then the next delivery re-reads before it decides"
                    );
                    Released::Held
                }
                None => Released::Released,
            },
            Err(Some(released)) => {
                // Not ours any more: keep what must be kept, alone.
                if let Err(why) = self.put_all(kept).await {
                    self.not_kept(&lease, &why);
                }
                released
            }
            Err(None) => Released::Failed("see the lease_not_released warning".into()),
        }
    }

    /// One `TransactWriteItems`: the lease deleted (or held until `hold_until`) while it is
    /// ours, and `kept` put. `Err(Some(_))`: the lease was not ours (nothing written);
    /// `Err(None)`: DynamoDB could not be asked (logged).
    async fn finish_once(
        &self,
        lease: &Lease,
        hold_until: Option<i64>,
        kept: &[Item],
    ) -> Result<(), Option<Released>> {
        let table = &self.table;
        let all_old = ReturnValuesOnConditionCheckFailure::AllOld;
        let fail = |e: aws_sdk_dynamodb::error::BuildError| {
            self.not_kept(lease, &format!("the call could not be built: {e}"));
            None
        };
        let first = match hold_until {
            None => TransactWriteItem::builder()
                .delete(
                    Delete::builder()
                        .table_name(table)
                        .key(KEY, s(&lease.key))
                        .condition_expression("#token = :token")
                        .expression_attribute_names("#token", TOKEN)
                        .expression_attribute_values(":token", s(&lease.token))
                        .return_values_on_condition_check_failure(all_old)
                        .build()
                        .map_err(fail)?,
                )
                .build(),
            Some(until) => TransactWriteItem::builder()
                .update(
                    Update::builder()
                        .table_name(table)
                        .key(KEY, s(&lease.key))
                        .update_expression("SET #expiresAt = :until, #hold = :hold")
                        .condition_expression("#token = :token")
                        .expression_attribute_names("#token", TOKEN)
                        .expression_attribute_names("#expiresAt", EXPIRES_AT)
                        .expression_attribute_names("#hold", HOLD)
                        .expression_attribute_values(":token", s(&lease.token))
                        .expression_attribute_values(":until", AttributeValue::N(until.to_string()))
                        .expression_attribute_values(":hold", s("unknown_write"))
                        .return_values_on_condition_check_failure(all_old)
                        .build()
                        .map_err(fail)?,
                )
                .build(),
        };
        let mut items = vec![first];
        for item in kept {
            let put = Put::builder()
                .table_name(table)
                .set_item(Some(item.clone()))
                .build()
                .map_err(fail)?;
            items.push(TransactWriteItem::builder().put(put).build());
        }
        match self
            .client
            .transact_write_items()
            .set_transact_items(Some(items))
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(SdkError::ServiceError(e))
                if matches!(
                    e.err(),
                    TransactWriteItemsError::TransactionCanceledException(_)
                ) =>
            {
                let TransactWriteItemsError::TransactionCanceledException(cancelled) = e.into_err()
                else {
                    return Err(None);
                };
                let held_by_other = cancelled
                    .cancellation_reasons
                    .unwrap_or_default()
                    .first()
                    .filter(|r| r.code() == Some("ConditionalCheckFailed"))
                    .map(|r| r.item().is_some());
                match held_by_other {
                    // Gone already: the SDK retried a call whose first answer was lost (it was
                    // done), or the TTL swept an expired lease. Nobody else holds it.
                    Some(false) => Err(Some(Released::Released)),
                    Some(true) => {
                        tracing::warn!(
                            event = "lease_lost",
                            conversationId = %lease.key,
                            "the conversation's lease expired before it was given back (the invocation ran past its deadline?); another instance's lease, if any, is left alone"
                        );
                        Err(Some(Released::NotHeld))
                    }
                    None => {
                        self.not_kept(lease, "the call was cancelled");
                        Err(None)
                    }
                }
            }
            Err(e) => {
                self.not_kept(lease, &explain(&e, "dynamodb:TransactWriteItems", table));
                Err(None)
            }
        }
    }

    /// Puts each item on its own (after the lease was found not ours).
    async fn put_all(&self, kept: Vec<Item>) -> Result<(), String> {
        for item in kept {
            self.client
                .put_item()
                .table_name(&self.table)
                .set_item(Some(item))
                .send()
                .await
                .map_err(|e| explain(&e, "dynamodb:PutItem", &self.table))?;
        }
        Ok(())
    }

    fn not_kept(&self, lease: &Lease, why: &str) {
        tracing::warn!(
            event = "lease_not_released",
            conversationId = %lease.key,
            "the conversation's lease could not be given back (it expires by itself at {}) and the request's outcome may not be remembered: {why}",
            lease.expires_at
        );
    }
}

/// What this function wrote, from the outcome of the request that wrote it.
fn last_write(outcome: &Outcome, identity: &Identity, now: i64) -> Option<LastWrite> {
    let sent_at_ms = made_ms(Some(identity), now);
    Some(LastWrite {
        participant_id: outcome.participant_id.clone()?,
        communication_id: outcome.communication_id.clone()?,
        code: outcome.wrap_up_code_id.clone()?,
        previous_code: outcome.current_wrap_up_code.clone(),
        sent_at_ms,
        lag_until: now + i64::try_from(LAG_WINDOW.as_secs()).unwrap_or(300),
        reads_may_lag: true,
    })
}

/// Epoch seconds of `at`, rounded up.
fn epoch_seconds_ceil(at: SystemTime) -> i64 {
    at.duration_since(UNIX_EPOCH).map_or(0, |d| {
        let whole = i64::try_from(d.as_secs()).unwrap_or(i64::MAX - 1);
        whole + i64::from(d.subsec_nanos() > 0)
    })
}
