//! The table and the lease as this instance holds it: the client, the table's names, and giving
//! a lease back (only while it is still this holder's).

use crate::aws_errors::explain;
use crate::clock::Clock;
use crate::config::{DEFAULT_IDEMPOTENCY_TTL, LEASE_CALL_TIMEOUT};
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::delete_item::DeleteItemError;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValuesOnConditionCheckFailure};
use std::sync::Arc;
use std::time::Duration;

/// The table's partition key (a string: the conversation id, or a remembered item's key).
pub const KEY: &str = "pk";
/// The table's TTL attribute: when the lease ends (or a remembered item may go), epoch seconds.
pub const EXPIRES_AT: &str = "expiresAt";
pub(super) const TOKEN: &str = "token";
pub(super) const HOLDER: &str = "holder";
/// Set on a lease held after a write whose result is unknown.
pub(super) const HOLD: &str = "hold";

/// A lease call's budget: DynamoDB answers in milliseconds, so a call that takes a second is
/// stuck; the request is then retried rather than the invocation spent waiting.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(1);

/// The DynamoDB client settings the leases need, on top of the SDK's configuration chain.
pub(crate) fn tuned(
    builder: aws_sdk_dynamodb::config::Builder,
) -> aws_sdk_dynamodb::config::Builder {
    builder.timeout_config(
        aws_sdk_dynamodb::config::timeout::TimeoutConfig::builder()
            .operation_attempt_timeout(ATTEMPT_TIMEOUT)
            .operation_timeout(LEASE_CALL_TIMEOUT)
            .build(),
    )
}

/// The leases (and what is remembered) of one table.
pub struct Leases {
    pub(super) client: aws_sdk_dynamodb::Client,
    pub(super) table: String,
    pub(super) clock: Arc<dyn Clock>,
    /// How long a decided request is remembered.
    pub(super) remember_for: Duration,
}

/// A lease this instance holds. Give it back with [`Leases::release`] (or, in the pipeline,
/// `finish`); a lease never given back expires by itself.
#[derive(Debug)]
pub struct Lease {
    pub(super) key: String,
    pub(super) token: String,
    pub(super) expires_at: i64,
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
    /// Kept on purpose until a write whose result is unknown can no longer land.
    Held,
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
            remember_for: DEFAULT_IDEMPOTENCY_TTL,
        }
    }

    /// The same table, remembering decided requests this long.
    pub fn remembering(mut self, remember_for: Duration) -> Self {
        self.remember_for = remember_for;
        self
    }

    /// The table's name or ARN, as configured.
    pub fn table(&self) -> &str {
        &self.table
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
}
