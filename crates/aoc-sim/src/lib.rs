//! `aoc-sim`: a simulated Microsoft 365 tenant.
//!
//! Two halves:
//!
//! - [`Generator`]: deterministic raw audit records (Entra `directoryAudit`, Intune
//!   `auditEvent`, Management Activity API records) as `serde_json::Value`, each a pure function
//!   of `(seed, source, time slot)`, so the set of records in any time window is fixed by the
//!   seed, whenever it is asked. It plants positives and near misses of every built-in
//!   detection of docs/DETECTIONS.md (single records and `mass-download` / `mass-delete`
//!   bursts) and lists them: [`Generator::detections_between`], `GET /_sim/detections`.
//!   Ordinary records fire none of them. `SimConfig::plant_detections` turns planting off.
//! - [`router`] / [`serve`] / [`start`]: an axum server impersonating the Microsoft identity
//!   platform token endpoint, Microsoft Graph, the Office 365 Management Activity API, and
//!   (for the start-up secrets load) Azure Key Vault and the managed identity token endpoints,
//!   with switches for throttling, outages and failing sources ([`SimHandle`],
//!   `POST /_sim/control`) and ground truth for tests ([`SimHandle::unique_records`]).
//!
//! This crate deliberately does not use `aoc-domain`: it is an independent reading of
//! Microsoft's documentation, so a misreading on either side shows up as a disagreement.

mod blobs;
mod burst;
mod config;
mod error;
mod generate;
mod handle;
mod http;
mod key_vault;
mod managed_identity;
pub mod oidc;
mod rng;
mod tenant;
mod time;
mod timeline;

pub use config::{
    DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, Endpoint, FailingSpec, FaultKind, FaultSpec,
    SimConfig, Target,
};
pub use error::SimError;
pub use generate::plant::{Expected, PlantedDetection};
pub use generate::unified::ContentType;
pub use generate::{DEFAULT_TENANT_ID, EventRates, Generator, SimSource, record_id};
pub use handle::{SimHandle, SimState, SubscriptionStatus};
pub use http::{
    ControlRequest, FailArgs, FaultArgs, RunningSim, router, serve, serve_handle, start,
};
pub use key_vault::{DEFAULT_WEBHOOK_CLIENT_STATE, KeyVaultConfig};
pub use managed_identity::ManagedIdentityConfig;
