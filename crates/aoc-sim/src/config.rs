//! Simulator configuration and the switches that can be flipped at start or at run time.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::generate::{DEFAULT_TENANT_ID, EventRates};
use crate::key_vault::KeyVaultConfig;
use crate::managed_identity::ManagedIdentityConfig;

/// Demo application (client) id.
pub const DEFAULT_CLIENT_ID: &str = "00000000-0000-0000-0000-0000000000c1";
/// Demo client secret. Not a secret: anyone with the source can read it.
pub const DEFAULT_CLIENT_SECRET: &str = "aoc-sim-client-secret";

/// Everything the simulated tenant needs. `Default` gives the demo tenant.
#[derive(Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct SimConfig {
    /// Directory (tenant) id; must be a GUID, as the Management API checks.
    pub tenant_id: String,
    pub client_id: String,
    pub client_secret: String,
    pub seed: u64,
    /// Records exist from `now - days` (fixed when the handle is created) up to the current `now`.
    pub days: u32,
    /// Mean records per day per source.
    pub events_per_day: EventRates,
    /// Graph page size when the client gives no `$top`.
    pub page_size: usize,
    /// Largest `$top` Graph accepts.
    pub max_page_size: usize,
    /// Entries per page of `subscriptions/content` before a `NextPageUri` is sent. Microsoft
    /// does not document its page size; the default is small enough that a day of the demo
    /// tenant's blobs (up to 48 per content type with 30-minute buckets) takes several pages,
    /// so clients meet `NextPageUri` without asking for it.
    pub content_page_size: usize,
    /// Length of the time buckets records are packed into blobs by.
    pub blob_minutes: u32,
    /// Absolute base for `@odata.nextLink`, `NextPageUri` and `contentUri`, e.g.
    /// `http://127.0.0.1:8081`. `None`: taken from the listener in [`crate::serve`], or from the
    /// request's `Host` header when only the router is used.
    pub base_url: Option<String>,
    /// Frozen clock. `None`: the wall clock.
    pub now: Option<DateTime<Utc>>,
    /// `expires_in` of issued tokens; validity is checked against the wall clock.
    pub token_lifetime_secs: u64,
    /// Management content types subscribed before the first request.
    pub subscriptions: Vec<String>,
    /// HTTP status of an `AF429` throttling answer from the Management API.
    pub management_throttle_status: u16,
    /// Faults armed at start.
    pub faults: Vec<FaultSpec>,
    /// Endpoints failing with a fixed status from the start.
    pub failing: Vec<FailingSpec>,
    /// The Azure Key Vault served at `/secrets/{name}`.
    pub key_vault: KeyVaultConfig,
    /// The host's managed identities (IMDS and App Service token endpoints).
    pub managed_identity: ManagedIdentityConfig,
    /// Plant detection positives and near misses (docs/DETECTIONS.md), listed by
    /// `GET /_sim/detections`. Off: no record fires a built-in detection and there are no
    /// bursts.
    pub plant_detections: bool,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            tenant_id: DEFAULT_TENANT_ID.to_string(),
            client_id: DEFAULT_CLIENT_ID.to_string(),
            client_secret: DEFAULT_CLIENT_SECRET.to_string(),
            seed: 42,
            days: 7,
            events_per_day: EventRates::default(),
            page_size: 50,
            max_page_size: 1000,
            content_page_size: 20,
            blob_minutes: 30,
            base_url: None,
            now: None,
            token_lifetime_secs: 3599,
            subscriptions: Vec::new(),
            management_throttle_status: 403,
            faults: Vec::new(),
            failing: Vec::new(),
            key_vault: KeyVaultConfig::default(),
            managed_identity: ManagedIdentityConfig::default(),
            plant_detections: true,
        }
    }
}

impl fmt::Debug for SimConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SimConfig")
            .field("tenant_id", &self.tenant_id)
            .field("client_id", &self.client_id)
            .field("client_secret", &"<redacted>")
            .field("seed", &self.seed)
            .field("days", &self.days)
            .field("events_per_day", &self.events_per_day)
            .field("page_size", &self.page_size)
            .field("max_page_size", &self.max_page_size)
            .field("content_page_size", &self.content_page_size)
            .field("blob_minutes", &self.blob_minutes)
            .field("base_url", &self.base_url)
            .field("now", &self.now)
            .field("token_lifetime_secs", &self.token_lifetime_secs)
            .field("subscriptions", &self.subscriptions)
            .field(
                "management_throttle_status",
                &self.management_throttle_status,
            )
            .field("faults", &self.faults)
            .field("failing", &self.failing)
            .field("key_vault", &self.key_vault)
            .field("managed_identity", &self.managed_identity)
            .field("plant_detections", &self.plant_detections)
            .finish()
    }
}

/// Which requests a switch applies to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Target {
    /// Every Graph and Management request (not login, Key Vault, managed identity or `/_sim`).
    #[default]
    Any,
    /// The token endpoint.
    Login,
    /// `directoryAudits`, `auditEvents` and `getByIds`.
    Graph,
    Directory,
    Intune,
    GetByIds,
    /// Every Management Activity API request.
    Management,
    /// `subscriptions/content` only.
    ContentList,
    /// Blob downloads only.
    ContentBlob,
    /// Key Vault `GET /secrets/{name}`.
    KeyVault,
    /// The managed identity token endpoints (IMDS and App Service).
    ManagedIdentity,
}

/// A counted endpoint.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Endpoint {
    Token,
    DirectoryAudits,
    AuditEvents,
    GetByIds,
    SubscriptionsStart,
    SubscriptionsStop,
    SubscriptionsList,
    SubscriptionsContent,
    ContentBlob,
    VaultSecret,
    ManagedIdentityToken,
}

impl Endpoint {
    pub const ALL: [Endpoint; 11] = [
        Endpoint::Token,
        Endpoint::DirectoryAudits,
        Endpoint::AuditEvents,
        Endpoint::GetByIds,
        Endpoint::SubscriptionsStart,
        Endpoint::SubscriptionsStop,
        Endpoint::SubscriptionsList,
        Endpoint::SubscriptionsContent,
        Endpoint::ContentBlob,
        Endpoint::VaultSecret,
        Endpoint::ManagedIdentityToken,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Endpoint::Token => "token",
            Endpoint::DirectoryAudits => "directory_audits",
            Endpoint::AuditEvents => "audit_events",
            Endpoint::GetByIds => "get_by_ids",
            Endpoint::SubscriptionsStart => "subscriptions_start",
            Endpoint::SubscriptionsStop => "subscriptions_stop",
            Endpoint::SubscriptionsList => "subscriptions_list",
            Endpoint::SubscriptionsContent => "subscriptions_content",
            Endpoint::ContentBlob => "content_blob",
            Endpoint::VaultSecret => "vault_secret",
            Endpoint::ManagedIdentityToken => "managed_identity_token",
        }
    }

    pub(crate) fn is_management(self) -> bool {
        matches!(
            self,
            Endpoint::SubscriptionsStart
                | Endpoint::SubscriptionsStop
                | Endpoint::SubscriptionsList
                | Endpoint::SubscriptionsContent
                | Endpoint::ContentBlob
        )
    }

    pub(crate) fn matches(self, target: Target) -> bool {
        match target {
            // Faults aimed at the audit APIs must not also break the start-up secrets load.
            Target::Any => !matches!(
                self,
                Endpoint::Token | Endpoint::VaultSecret | Endpoint::ManagedIdentityToken
            ),
            Target::Login => self == Endpoint::Token,
            Target::Graph => matches!(
                self,
                Endpoint::DirectoryAudits | Endpoint::AuditEvents | Endpoint::GetByIds
            ),
            Target::Directory => self == Endpoint::DirectoryAudits,
            Target::Intune => self == Endpoint::AuditEvents,
            Target::GetByIds => self == Endpoint::GetByIds,
            Target::Management => self.is_management(),
            Target::ContentList => self == Endpoint::SubscriptionsContent,
            Target::ContentBlob => self == Endpoint::ContentBlob,
            Target::KeyVault => self == Endpoint::VaultSecret,
            Target::ManagedIdentity => self == Endpoint::ManagedIdentityToken,
        }
    }
}

/// What a one-shot fault does to the request it hits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FaultKind {
    /// Graph: 429 `TooManyRequests`; Management: `management_throttle_status` with `AF429`;
    /// login: 429.
    Throttle,
    /// 503 on every API.
    Unavailable,
}

/// Fail the next `count` requests matching `target`. `retry_after_secs: None` sends no
/// `Retry-After` header (Intune does that sometimes).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FaultSpec {
    pub kind: FaultKind,
    #[serde(default)]
    pub target: Target,
    pub count: u32,
    #[serde(default)]
    pub retry_after_secs: Option<u64>,
}

/// Every request matching `target` fails with `status` until cleared.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FailingSpec {
    pub target: Target,
    pub status: u16,
}
