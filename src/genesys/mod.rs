//! Genesys Cloud: typed calls, the token, error classes, the models we read and the one write.

mod calls;
mod client;
mod error;
pub(crate) mod models;
mod rate_limit;
mod token;
mod write;

pub(crate) use calls::CallStats;
pub(crate) use client::{GenesysClient, Shared};
pub(crate) use error::{ErrorClass, GenesysError};
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

    /// The client for `org`: its own with an org map, the default one otherwise. An org the
    /// map does not list is refused before any Genesys call.
    pub(crate) fn client(&self, org: Option<Uuid>) -> Result<&GenesysClient, UnknownOrg> {
        match org {
            Some(org) if !self.mapped.is_empty() => self.mapped.get(&org).ok_or(UnknownOrg(org)),
            _ => Ok(&self.default),
        }
    }
}
