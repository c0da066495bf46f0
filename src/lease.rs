//! Who may work on a conversation now: a lease per conversation in DynamoDB
//! (`WRAPUP_LOCK_TABLE`), so two deliveries of one request racing on two instances never both
//! write, and two different requests for one conversation are decided one after the other.
//!
//! The whole protocol is DynamoDB's conditional write. Taking the lease is a `PutItem` of
//! `{pk: <conversation id>, expiresAt: <epoch seconds>, token, holder}` that succeeds only when
//! no item exists or the one there has expired; giving it back is a `DeleteItem` that succeeds
//! only while the item still carries our token, so an instance whose lease expired and was taken
//! never removes its successor's. A lease lasts until the invocation's deadline: an instance that
//! crashes blocks the conversation no longer than its own timeout, and DynamoDB's TTL on
//! `expiresAt` clears old items (expiry itself is judged by the condition, not by the TTL sweep,
//! which can lag by days).

use crate::aws_errors::explain;
use crate::clock::{Clock, Deadline};
use crate::error::{Transient, TransientKind};
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::delete_item::DeleteItemError;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValuesOnConditionCheckFailure};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use uuid::Uuid;

/// The table's partition key (a string: the conversation id).
pub const KEY: &str = "pk";
/// The table's TTL attribute: when the lease ends, in epoch seconds.
pub const EXPIRES_AT: &str = "expiresAt";
const TOKEN: &str = "token";
const HOLDER: &str = "holder";

/// The longest a request that found another instance's lease is told to wait: the holder
/// usually gives it back within a second, long before it expires.
const IN_PROGRESS_RETRY_AFTER: Duration = Duration::from_secs(5);

/// A lease call's budget: DynamoDB answers in milliseconds, so a call that takes a second is
/// stuck; the request is then retried rather than the invocation spent waiting.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(1);
/// All attempts of one call (the SDK retries throttling and 5xx with backoff).
pub(crate) const CALL_TIMEOUT: Duration = Duration::from_secs(3);

/// The DynamoDB client settings the leases need, on top of the SDK's configuration chain.
pub(crate) fn tuned(
    builder: aws_sdk_dynamodb::config::Builder,
) -> aws_sdk_dynamodb::config::Builder {
    builder.timeout_config(
        aws_sdk_dynamodb::config::timeout::TimeoutConfig::builder()
            .operation_attempt_timeout(ATTEMPT_TIMEOUT)
            .operation_timeout(CALL_TIMEOUT)
            .build(),
    )
}

/// The leases of one table.
pub struct Leases {
    client: aws_sdk_dynamodb::Client,
    table: String,
    clock: Arc<dyn Clock>,
}

/// A lease this instance holds. Give it back with [`Leases::release`]; a lease never given back
/// expires by itself.
#[derive(Debug)]
pub struct Lease {
    key: String,
    token: String,
    expires_at: i64,
}

impl Lease {
    /// When it ends, in epoch seconds.
    pub fn expires_at(&self) -> i64 {
        self.expires_at
    }
}

/// What giving a lease back found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Released {
    /// It was ours and is gone.
    Released,
    /// Ours expired and another instance holds the conversation now: left untouched.
    NotHeld,
    /// DynamoDB could not be asked; the lease expires by itself. Why, in one line.
    Failed(String),
}

impl Leases {
    /// The leases kept in `table` (a name or an ARN).
    pub fn new(
        client: aws_sdk_dynamodb::Client,
        table: impl Into<String>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            client,
            table: table.into(),
            clock,
        }
    }

    /// The table's name or ARN, as configured.
    pub fn table(&self) -> &str {
        &self.table
    }

    /// Takes the conversation's lease until `deadline`, for `holder` (the invocation's request
    /// id, so a person can find the holder in the logs). Another instance's live lease is a
    /// transient `in_progress`; DynamoDB trouble is a transient `upstream_unavailable`: never a
    /// write without the lease.
    pub async fn acquire(
        &self,
        conversation_id: Uuid,
        holder: &str,
        deadline: Deadline,
    ) -> Result<Lease, Transient> {
        let now = self.clock.unix_seconds();
        let budget = deadline.remaining(self.clock.as_ref()).as_secs_f64().ceil();
        // At least the current second: a lease is never born expired.
        let expires_at = now + (budget as i64).max(1);
        let lease = Lease {
            key: conversation_id.hyphenated().to_string(),
            token: Uuid::new_v4().hyphenated().to_string(),
            expires_at,
        };
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .item(KEY, AttributeValue::S(lease.key.clone()))
            .item(EXPIRES_AT, AttributeValue::N(expires_at.to_string()))
            .item(TOKEN, AttributeValue::S(lease.token.clone()))
            .item(HOLDER, AttributeValue::S(holder.to_owned()))
            .condition_expression("attribute_not_exists(#pk) OR #expiresAt < :now")
            .expression_attribute_names("#pk", KEY)
            .expression_attribute_names("#expiresAt", EXPIRES_AT)
            .expression_attribute_values(":now", AttributeValue::N(now.to_string()))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match result {
            Ok(_) => Ok(lease),
            Err(SdkError::ServiceError(e)) if e.err().is_conditional_check_failed_exception() => {
                let held = match e.into_err() {
                    PutItemError::ConditionalCheckFailedException(c) => c.item,
                    _ => None,
                };
                // The SDK retried a put whose first answer was lost: the item is ours.
                if held.as_ref().and_then(|item| item.get(TOKEN))
                    == Some(&AttributeValue::S(lease.token.clone()))
                {
                    return Ok(lease);
                }
                Err(self.in_progress(conversation_id, held.as_ref(), now))
            }
            Err(e) => Err(Transient::new(
                TransientKind::Upstream,
                format!(
                    "the conversation's lease could not be taken, so nothing was read or written: {}",
                    explain(&e, "dynamodb:PutItem", &self.table)
                ),
            )),
        }
    }

    /// Gives the lease back, only if it is still ours.
    pub async fn release(&self, lease: Lease) -> Released {
        let result = self
            .client
            .delete_item()
            .table_name(&self.table)
            .key(KEY, AttributeValue::S(lease.key.clone()))
            .condition_expression("#token = :token")
            .expression_attribute_names("#token", TOKEN)
            .expression_attribute_values(":token", AttributeValue::S(lease.token.clone()))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match result {
            Ok(_) => Released::Released,
            // Gone already: the SDK retried a delete whose first answer was lost (or the TTL
            // swept an expired lease). Nobody else holds it.
            Err(SdkError::ServiceError(e)) if matches!(e.err(), DeleteItemError::ConditionalCheckFailedException(c) if c.item.is_none()) => {
                Released::Released
            }
            Err(SdkError::ServiceError(e))
                if matches!(e.err(), DeleteItemError::ConditionalCheckFailedException(_)) =>
            {
                tracing::warn!(
                    event = "lease_lost",
                    conversationId = %lease.key,
                    "the conversation's lease expired before it was given back (the invocation ran past its deadline?); another instance's lease, if any, is left alone"
                );
                Released::NotHeld
            }
            Err(e) => {
                let why = explain(&e, "dynamodb:DeleteItem", &self.table);
                tracing::warn!(
                    event = "lease_not_released",
                    conversationId = %lease.key,
                    "the conversation's lease could not be given back; it expires by itself at {}: {why}",
                    lease.expires_at
                );
                Released::Failed(why)
            }
        }
    }

    /// For `doctor`: the table exists keyed by `pk` (a string), expires items on `expiresAt`,
    /// and these credentials may take and give back a lease. The probe's key is no conversation
    /// id (`doctor-<uuid>`) and is removed at once; it expires within a minute if the removal
    /// fails. `Ok` says what was found, `Err` what to fix.
    pub(crate) async fn check(&self) -> Result<String, String> {
        let table = &self.table;
        let described = self
            .client
            .describe_table()
            .table_name(table)
            .send()
            .await
            .map_err(problem(table, "dynamodb:DescribeTable"))?;
        let keys: Vec<(String, String)> = described
            .table
            .as_ref()
            .map(|t| {
                t.key_schema()
                    .iter()
                    .map(|k| {
                        (
                            k.attribute_name().to_owned(),
                            k.key_type().as_str().to_owned(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        let string_key = described.table.as_ref().is_some_and(|t| {
            t.attribute_definitions()
                .iter()
                .any(|a| a.attribute_name() == KEY && a.attribute_type().as_str() == "S")
        });
        if keys != [(KEY.to_owned(), "HASH".to_owned())] || !string_key {
            return Err(format!(
                "table {table} must have exactly the partition key {KEY} (string), as the template creates it; found {keys:?}"
            ));
        }
        let ttl = self
            .client
            .describe_time_to_live()
            .table_name(table)
            .send()
            .await
            .map_err(problem(table, "dynamodb:DescribeTimeToLive"))?;
        let ttl = ttl.time_to_live_description();
        let status = ttl
            .and_then(|d| d.time_to_live_status())
            .map_or("DISABLED", |s| s.as_str());
        let attribute = ttl.and_then(|d| d.attribute_name()).unwrap_or("");
        if !matches!(status, "ENABLED" | "ENABLING") || attribute != EXPIRES_AT {
            return Err(format!(
                "table {table}: time to live is {status} on {attribute:?}; turn it on for {EXPIRES_AT} (aws dynamodb update-time-to-live --table-name {table} --time-to-live-specification Enabled=true,AttributeName={EXPIRES_AT}), or old leases pile up"
            ));
        }
        let probe = format!("doctor-{}", Uuid::new_v4().hyphenated());
        let expires_at = self.clock.unix_seconds() + 60;
        self.client
            .put_item()
            .table_name(table)
            .item(KEY, AttributeValue::S(probe.clone()))
            .item(EXPIRES_AT, AttributeValue::N(expires_at.to_string()))
            .item(HOLDER, AttributeValue::S("doctor".into()))
            .condition_expression("attribute_not_exists(#pk)")
            .expression_attribute_names("#pk", KEY)
            .send()
            .await
            .map_err(problem(table, "dynamodb:PutItem"))?;
        self.client
            .delete_item()
            .table_name(table)
            .key(KEY, AttributeValue::S(probe))
            .condition_expression("attribute_exists(#pk)")
            .expression_attribute_names("#pk", KEY)
            .send()
            .await
            .map_err(problem(table, "dynamodb:DeleteItem"))?;
        Ok(format!(
            "table {table}: keyed by {KEY}, time to live {} on {EXPIRES_AT}, a lease taken and given back",
            status.to_ascii_lowercase()
        ))
    }

    fn in_progress(
        &self,
        conversation_id: Uuid,
        held: Option<&HashMap<String, AttributeValue>>,
        now: i64,
    ) -> Transient {
        let number = |name: &str| match held?.get(name)? {
            AttributeValue::N(n) => n.parse::<i64>().ok(),
            _ => None,
        };
        let text = |name: &str| match held?.get(name)? {
            AttributeValue::S(s) => Some(s.clone()),
            _ => None,
        };
        let left = number(EXPIRES_AT)
            .map(|at| Duration::from_secs(u64::try_from(at - now).unwrap_or(0).max(1)));
        let holder = text(HOLDER).map_or_else(String::new, |h| format!(" (awsRequestId {h})"));
        let until = left.map_or_else(String::new, |l| {
            format!(" for at most {} s more", l.as_secs())
        });
        Transient::new(
            TransientKind::InProgress,
            format!(
                "another invocation{holder} is working on conversation {conversation_id}{until}; this request is retried after it"
            ),
        )
        .with_retry_after(Some(left.map_or(IN_PROGRESS_RETRY_AFTER, |l| l.min(IN_PROGRESS_RETRY_AFTER))))
    }
}

/// A failed call of `doctor`'s check, in one line with the fix.
fn problem<'a, E, R>(
    table: &'a str,
    action: &'static str,
) -> impl FnOnce(SdkError<E, R>) -> String + 'a
where
    E: aws_sdk_dynamodb::error::ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug + 'static,
{
    move |e| format!("table {table}: {}", explain(&e, action, table))
}
