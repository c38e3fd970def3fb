//! Every variable AOC reads, in one table: the unknown-variable check, `.env.example` (a test
//! keeps the two equal) and the secret-file lookup all go by it.

/// One environment variable AOC reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SettingInfo {
    pub name: &'static str,
    /// The value that behaves like leaving it unset, as written in `.env.example`; empty when
    /// unset means "off" or "derived" (the description says which).
    pub default: &'static str,
    /// Sensitive: never logged, and may be given as `NAME_FILE` (a path to read it from).
    pub secret: bool,
    pub description: &'static str,
}

const fn plain(
    name: &'static str,
    default: &'static str,
    description: &'static str,
) -> SettingInfo {
    SettingInfo {
        name,
        default,
        secret: false,
        description,
    }
}

const fn secret(name: &'static str, description: &'static str) -> SettingInfo {
    SettingInfo {
        name,
        default: "",
        secret: true,
        description,
    }
}

/// Loopback and the private ranges: a scraper inside the deployment's network.
pub(crate) const DEFAULT_METRICS_ALLOWED_IPS: &str =
    "127.0.0.0/8,::1/128,10.0.0.0/8,172.16.0.0/12,192.168.0.0/16,fc00::/7";

/// Suffix of the variable that names a file holding a secret setting's value.
pub const FILE_SUFFIX: &str = "_FILE";

/// Every setting, grouped as `.env.example` groups them.
pub const SETTINGS: &[SettingInfo] = &[
    // Storage, listening, logs
    SettingInfo {
        name: "DATABASE_URL",
        default: "sqlite://aoc.db",
        secret: true,
        description: "where events are stored: sqlite://PATH or postgres://user:pass@host/db",
    },
    plain(
        "DATABASE_STARTUP_TIMEOUT_SECONDS",
        "30",
        "how long start-up waits for a PostgreSQL that is not up yet (refusing, unreachable, starting up); 0 = fail at once",
    ),
    plain(
        "BIND_ADDR",
        "127.0.0.1:8000",
        "where `aoc serve` listens (HOST:PORT)",
    ),
    plain(
        "TRUSTED_PROXIES",
        "",
        "reverse proxies (CIDRs or addresses, comma-separated) whose X-Forwarded-For / Forwarded headers name the client",
    ),
    plain("AOC_LOG", "info", "log filter, e.g. debug or aoc_app=trace"),
    plain(
        "AOC_LOG_FORMAT",
        "text",
        "log lines as text (coloured only on a terminal) or json (one object a line)",
    ),
    // Microsoft 365
    plain(
        "TENANT_ID",
        "",
        "tenant to fetch audit logs from (with CLIENT_ID and CLIENT_SECRET)",
    ),
    plain("CLIENT_ID", "", "app registration used to fetch"),
    secret("CLIENT_SECRET", "that app registration's client secret"),
    plain(
        "LOGIN_BASE_URL",
        "https://login.microsoftonline.com",
        "token endpoint host (national clouds differ)",
    ),
    plain(
        "GRAPH_BASE_URL",
        "https://graph.microsoft.com",
        "Microsoft Graph",
    ),
    plain(
        "MANAGE_BASE_URL",
        "https://manage.office.com",
        "Office 365 Management Activity API",
    ),
    plain(
        "UNIFIED_CONTENT_TYPES",
        "Audit.Exchange,Audit.SharePoint,Audit.General",
        "Management API content types (Audit.AzureActiveDirectory is optional)",
    ),
    plain(
        "GRAPH_MIN_INTERVAL_MS",
        "2000",
        "spacing of Graph audit requests (the reports API allows ~5 per 10 s)",
    ),
    plain("ENABLE_PERIODIC_FETCH", "false", "fetch in the background"),
    plain(
        "FETCH_INTERVAL_MINUTES",
        "60",
        "how often the background fetch runs",
    ),
    plain(
        "RETENTION_DAYS",
        "",
        "delete events older than this many days (unset: keep all)",
    ),
    plain(
        "IMPORT_UPLOAD_DIR",
        "",
        "where uploaded import files wait for their job (unset: the system temp directory)",
    ),
    plain(
        "IMPORT_MAX_UPLOAD_MB",
        "512",
        "largest import upload accepted through POST /api/jobs/import",
    ),
    plain(
        "MAPPINGS_FILE",
        "",
        "YAML with category labels and summary templates (unset: built-in)",
    ),
    secret(
        "WEBHOOK_CLIENT_SECRET",
        "required clientState of Graph change notifications (unset: webhook needs a token)",
    ),
    // Sign-in
    plain(
        "AUTH_ENABLED",
        "false",
        "require an OIDC bearer token on /api",
    ),
    plain(
        "AUTH_TENANT_ID",
        "",
        "Entra ID tenant that issues the tokens",
    ),
    plain(
        "AUTH_CLIENT_ID",
        "",
        "this API's app registration (token audience)",
    ),
    plain(
        "AUTH_ISSUER",
        "",
        "another OIDC provider's issuer instead of Entra ID",
    ),
    plain(
        "AUTH_ALLOWED_ROLES",
        "",
        "app roles that grant access (comma-separated)",
    ),
    plain(
        "AUTH_ALLOWED_GROUPS",
        "",
        "groups that grant access (comma-separated)",
    ),
    plain(
        "AUTH_SCOPES",
        "",
        "scopes the web UI requests (unset: openid profile api://CLIENT/access_as_user)",
    ),
    plain(
        "AUTH_OPENID_CONFIG_URL",
        "",
        "OpenID discovery document to take signing keys from (unset: derived from the tenant or issuer)",
    ),
    // Privacy
    plain(
        "PRIVACY_SERVICES",
        "",
        "services whose events are hidden from callers without a privacy role",
    ),
    plain(
        "PRIVACY_SENSITIVE_OPERATIONS",
        "",
        "operations hidden from callers without a privacy role",
    ),
    plain(
        "PRIVACY_SERVICE_ROLES",
        "",
        "roles that see the hidden events",
    ),
    // Rate limits
    plain("RATE_LIMIT_ENABLED", "true", "rate limits on /api"),
    plain(
        "RATE_LIMIT_REQUESTS",
        "120",
        "requests per window for reads",
    ),
    plain("RATE_LIMIT_WINDOW_SECONDS", "60", "the window"),
    SettingInfo {
        name: "REDIS_URL",
        default: "",
        secret: true,
        description: "share the budget between replicas through Redis (unset: in-process)",
    },
    // Hardening and features
    plain(
        "METRICS_ALLOWED_IPS",
        DEFAULT_METRICS_ALLOWED_IPS,
        "who may read /metrics (CIDRs or addresses)",
    ),
    plain(
        "CORS_ORIGINS",
        "",
        "allowed browser origins (comma-separated)",
    ),
    plain("DOCS_ENABLED", "false", "serve /docs and /openapi.json"),
    plain(
        "HSTS_ENABLED",
        "false",
        "send Strict-Transport-Security (when served behind https)",
    ),
    // Alert rules and notifications
    plain(
        "ALERTS_ENABLED",
        "false",
        "evaluate alert rules (the built-in pack and your own) on every stored event",
    ),
    plain(
        "ALERTS_ON_IMPORT",
        "false",
        "evaluate events loaded by `aoc import` too",
    ),
    plain(
        "ALERTS_INTERNAL_DOMAINS",
        "",
        "the organisation's mail domains (comma-separated); forwarding elsewhere is external",
    ),
    secret("ALERT_WEBHOOK_URL", "send alerts as JSON to this webhook"),
    secret(
        "ALERT_TEAMS_WEBHOOK_URL",
        "send alerts to Microsoft Teams (Workflows or incoming webhook URL)",
    ),
    secret(
        "ALERT_SLACK_WEBHOOK_URL",
        "send alerts to Slack (incoming webhook URL)",
    ),
    plain(
        "ALERT_ALLOWED_DOMAINS",
        "",
        "hosts alert webhooks may point at (comma-separated, *.example.com wildcards; unset: any public host)",
    ),
    plain(
        "ALERT_NOTIFY_MIN_SEVERITY",
        "low",
        "send alerts of this severity and above (low, medium, high, critical)",
    ),
    plain(
        "PUBLIC_URL",
        "",
        "the address people open AOC at, for links in alert notifications",
    ),
    plain(
        "EGRESS_ALLOW_PRIVATE",
        "",
        "private hosts or CIDRs outbound calls may reach (e.g. 127.0.0.1,10.0.0.0/8); plain http is allowed to these only",
    ),
    // SIEM forwarding (docs/API.md, SIEM forwarding)
    plain(
        "SIEM_ENABLED",
        "false",
        "forward every stored event to the SIEM targets below (each optional, several at once)",
    ),
    secret(
        "SIEM_WEBHOOK_URL",
        "generic webhook target: batches of events POSTed as JSON",
    ),
    plain(
        "SIEM_WEBHOOK_FORMAT",
        "json",
        "webhook body: json (one array per batch) or ndjson (one event per line)",
    ),
    secret(
        "SIEM_WEBHOOK_AUTH_HEADER",
        "a header sent with each webhook request, e.g. `Authorization: Bearer x`",
    ),
    plain(
        "SIEM_ALLOWED_DOMAINS",
        "",
        "hosts SIEM targets may point at (comma-separated, *.example.com wildcards; unset: any public host)",
    ),
    plain(
        "SPLUNK_HEC_URL",
        "",
        "Splunk HTTP Event Collector: the base URL or the full /services/collector/event URL",
    ),
    secret(
        "SPLUNK_HEC_TOKEN",
        "the HEC token (sent as `Authorization: Splunk <token>`)",
    ),
    plain(
        "SPLUNK_HEC_INDEX",
        "",
        "Splunk index (unset: the token's default)",
    ),
    plain(
        "SPLUNK_HEC_SOURCETYPE",
        "aoc:event",
        "Splunk sourcetype of forwarded events",
    ),
    plain(
        "SYSLOG_URL",
        "",
        "syslog target, RFC 5424 with octet counting: tcp://host:port or tls://host:port",
    ),
    plain(
        "SYSLOG_FORMAT",
        "json",
        "syslog message payload: json or cef",
    ),
    plain(
        "SYSLOG_CA_FILE",
        "",
        "PEM file of the CA that signs the syslog receiver's certificate (unset: system roots)",
    ),
    plain(
        "SIEM_BATCH_SIZE",
        "500",
        "events per delivery to a SIEM target",
    ),
    plain(
        "SIEM_BACKLOG_WARN",
        "100000",
        "warn (once per crossing) when a SIEM target is this many events behind",
    ),
    plain("AI_FEATURES_ENABLED", "false", "natural-language features"),
    secret(
        "LLM_API_KEY",
        "API key of the language model for ask and explain (also from Key Vault; unset with no LLM_BASE_URL: answers without a model)",
    ),
    plain(
        "LLM_BASE_URL",
        "",
        "OpenAI-compatible endpoint (e.g. https://api.openai.com/v1, an Azure OpenAI resource, http://127.0.0.1:11434/v1 for a local Ollama listed in EGRESS_ALLOW_PRIVATE); unset with a key: OpenAI",
    ),
    plain(
        "LLM_MODEL",
        "gpt-4o-mini",
        "model name, or the Azure deployment name",
    ),
    plain(
        "LLM_MAX_EVENTS",
        "50",
        "events given to the model per question",
    ),
    plain(
        "LLM_TIMEOUT_SECONDS",
        "30",
        "how long to wait for the model before answering without it",
    ),
    plain(
        "LLM_API_VERSION",
        "",
        "set for Azure OpenAI / Foundry (e.g. 2024-10-21): api-key header and /openai/deployments/{model} URLs",
    ),
    plain(
        "LLM_ALLOWED_DOMAINS",
        "",
        "hosts LLM_BASE_URL may point at (comma-separated, *.example.com wildcards; unset: any public host)",
    ),
    // Azure Key Vault (read by the Key Vault loader before the settings above)
    plain(
        "AZURE_KEY_VAULT_NAME",
        "",
        "vault to read secret settings from",
    ),
    plain(
        "AZURE_KEY_VAULT_URL",
        "",
        "the vault's URL, instead of its name",
    ),
    plain(
        "AZURE_TENANT_ID",
        "",
        "tenant of the identity that reads the vault",
    ),
    plain(
        "AZURE_CLIENT_ID",
        "",
        "that identity's client id (a user-assigned managed identity, or an app)",
    ),
    secret(
        "AZURE_CLIENT_SECRET",
        "that app's client secret (unset: managed identity)",
    ),
    plain(
        "AZURE_AUTHORITY_HOST",
        "https://login.microsoftonline.com",
        "token endpoint host for the vault identity",
    ),
    plain(
        "AZURE_IMDS_ENDPOINT",
        "http://169.254.169.254/metadata/identity/oauth2/token",
        "managed identity endpoint on virtual machines",
    ),
    plain(
        "IDENTITY_ENDPOINT",
        "",
        "managed identity endpoint (set by App Service and Container Apps)",
    ),
    secret(
        "IDENTITY_HEADER",
        "managed identity header (set by App Service and Container Apps)",
    ),
];

/// Variables of the platform that often sit next to AOC's and are read by other software;
/// they share a prefix with AOC settings but are not typos.
pub(crate) const FOREIGN: &[&str] = &["AZURE_FEDERATED_TOKEN_FILE"];

pub fn setting(name: &str) -> Option<&'static SettingInfo> {
    SETTINGS.iter().find(|s| s.name == name)
}

pub fn is_secret(name: &str) -> bool {
    setting(name).is_some_and(|s| s.secret)
}

/// `CLIENT_SECRET_FILE` for `CLIENT_SECRET`.
pub fn file_variable(name: &str) -> String {
    format!("{name}{FILE_SUFFIX}")
}
