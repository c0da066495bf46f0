//! Genesys Cloud: each org's API client, and what it stands on. Imports run down this list:
//!
//! - `client.rs`: the typed calls (the conversation, codes by id and every code, a
//!   participant's and a queue's codes, the one write), one bounded retry in place, the code
//!   cache; the [`Orgs`] below pick a client per org;
//! - `token.rs`: the OAuth client-credentials token a client owns: cached, renewed after a
//!   401, fetched again with a re-read secret after a rotation;
//! - `rate_limit.rs`: the client-side budget per minute;
//! - `transport.rs`: what every call shares (the parts a client is built from, the time a call
//!   may take, response headers, a call that got no answer);
//! - `calls.rs`: calls counted by endpoint and status, for the metrics;
//! - `error.rs`: failures, classified once where the response is seen;
//! - `write.rs`: the one write and the media its endpoint names;
//! - `models.rs`: the parts of Genesys's models this function reads and writes.

mod calls;
mod client;
mod error;
pub(crate) mod models;
mod rate_limit;
mod token;
mod transport;
mod write;

pub(crate) use calls::CallStats;
pub(crate) use client::GenesysClient;
pub(crate) use error::{ErrorClass, GenesysError};
pub(crate) use transport::Shared;
pub use write::MediaKind;
pub(crate) use write::Write;

use std::collections::BTreeMap;
use uuid::Uuid;

/// The client of each configured org: one per mapped org, else the default for every event.
pub(crate) struct Orgs {
    /// The client of `GENESYS_SECRET_ID`'s org (every event, without an org map).
    default: GenesysClient,
    mapped: BTreeMap<Uuid, GenesysClient>,
}

/// An org the org map does not list.
#[derive(Debug, Clone, Copy)]
pub(crate) struct UnknownOrg(pub Uuid);

impl Orgs {
    pub(crate) fn new(default: GenesysClient, mapped: BTreeMap<Uuid, GenesysClient>) -> Self {
        Self { default, mapped }
    }

    /// The client of `GENESYS_SECRET_ID`.
    pub(crate) fn default_client(&self) -> &GenesysClient {
        &self.default
    }

    /// Every configured org's client: the default one, then the mapped ones.
    pub(crate) fn all(&self) -> impl Iterator<Item = &GenesysClient> {
        std::iter::once(&self.default).chain(self.mapped.values())
    }

    /// The client for `org`: its own with an org map, the default one otherwise. An org the
    /// map does not list is refused before any Genesys call.
    pub(crate) fn client(&self, org: Option<Uuid>) -> Result<&GenesysClient, UnknownOrg> {
        match org {
            Some(org) if !self.mapped.is_empty() => self.mapped.get(&org).ok_or(UnknownOrg(org)),
            _ => Ok(&self.default),
        }
    }
}
