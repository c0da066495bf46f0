//! `doctor`'s check of the lease table: the key, the time to live, and a probe lease taken and
//! given back. A failure here means deliveries fall back to at least once (or wait, retried,
//! when the table cannot be reached): the line names the table and the fix.

use super::table::{Leases, EXPIRES_AT, HOLDER, KEY};
use crate::aws_errors::explain;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::types::AttributeValue;
use uuid::Uuid;

impl Leases {
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
