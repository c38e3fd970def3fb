//! Settings from the environment (and an optional `.env`, loaded by the binary), under the
//! original service's variable names. Every value is validated at start-up: a bad one stops
//! the process with a message naming the variable. A secret may instead be given as
//! `NAME_FILE`, the path of a file holding it (container and Kubernetes secrets).

mod known;
mod secret_url;
mod warnings;

use std::collections::HashMap;
use std::io::Read;
use std::net::SocketAddr;
use std::time::Duration;

use ipnet::IpNet;
use secrecy::SecretString;

pub use known::{FILE_SUFFIX, SETTINGS, SettingInfo, file_variable, setting};
pub use secret_url::{SecretUrl, redact as redact_url};
pub use warnings::unknown_variable_warnings;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("{var}: {message}")]
pub struct ConfigError {
    pub var: &'static str,
    pub message: String,
}

/// Microsoft 365 connection settings. `client_secret` is a SecretString: never printed.
#[derive(Debug, Clone)]
pub struct M365Settings {
    pub tenant_id: String,
    pub client_id: String,
    pub client_secret: SecretString,
    pub login_base_url: String,
    pub graph_base_url: String,
    pub manage_base_url: String,
    pub unified_content_types: Vec<String>,
    /// Minimum spacing between Graph report requests (the reports API allows ~5 per 10 s).
    pub graph_min_interval: Duration,
    /// Attempts per request (throttling and transient failures are retried); not an env
    /// setting: the default suits Microsoft, tests shorten it.
    pub max_attempts: u32,
    /// First backoff delay when the answer carries no Retry-After.
    pub retry_base_delay: Duration,
    /// Content blobs downloaded at once.
    pub blob_concurrency: usize,
}

#[derive(Debug, Clone)]
pub struct AuthSettings {
    pub enabled: bool,
    pub tenant_id: String,
    pub client_id: String,
    /// Another OIDC provider's issuer; when empty, Entra ID of `tenant_id`.
    pub issuer: String,
    pub allowed_roles: Vec<String>,
    pub allowed_groups: Vec<String>,
    /// Scopes the web UI requests at sign-in (AUTH_SCOPES, separated by spaces or commas).
    /// Empty: `openid profile api://{client_id}/access_as_user`.
    pub scopes: Vec<String>,
}

#[derive(Debug, Clone, Default)]
pub struct PrivacySettings {
    pub services: Vec<String>,
    pub sensitive_operations: Vec<String>,
    pub service_roles: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct RateLimitSettings {
    pub enabled: bool,
    /// Requests per window for the default category.
    pub requests: u32,
    pub window: Duration,
    pub redis_url: Option<SecretUrl>,
}

#[derive(Debug, Clone)]
pub struct Settings {
    pub database_url: SecretUrl,
    /// How long start-up waits for a PostgreSQL that is not up yet (zero: one attempt).
    pub database_startup_timeout: Duration,
    pub bind_addr: SocketAddr,
    /// Reverse proxies whose forwarding headers are believed (TRUSTED_PROXIES): only a request
    /// whose TCP peer is one of them gets its client address from X-Forwarded-For / Forwarded.
    pub trusted_proxies: Vec<IpNet>,
    /// None when TENANT_ID/CLIENT_ID/CLIENT_SECRET are not all set: fetching is then disabled.
    pub m365: Option<M365Settings>,
    pub enable_periodic_fetch: bool,
    pub fetch_interval: Duration,
    pub retention_days: Option<u32>,
    /// Where uploaded import files are written until their job has read them
    /// (IMPORT_UPLOAD_DIR); None: the system temporary directory.
    pub import_upload_dir: Option<String>,
    /// Largest import upload accepted, in bytes (IMPORT_MAX_UPLOAD_MB).
    pub import_max_upload_bytes: u64,
    pub cors_origins: Vec<String>,
    pub docs_enabled: bool,
    pub auth: AuthSettings,
    pub privacy: PrivacySettings,
    pub rate_limit: RateLimitSettings,
    pub metrics_allowed_ips: Vec<IpNet>,
    pub webhook_client_secret: Option<SecretString>,
    pub mappings_file: Option<String>,
    pub ai_features_enabled: bool,
    /// The language model behind the natural-language features (LLM_*).
    pub llm: LlmSettings,
    /// Send Strict-Transport-Security (set when served behind https).
    pub hsts: bool,
    pub alerts: AlertSettings,
    /// EGRESS_ALLOW_PRIVATE as written: the private hosts and networks outbound calls (alert
    /// notifications, SIEM, LLM) may reach; parsed by `egress` when the context is built.
    pub egress_allow_private: String,
    pub siem: SiemSettings,
}

/// Forwarding of stored events to SIEM targets (SIEM_*, SPLUNK_HEC_*, SYSLOG_*); checked
/// against the egress guard when the context is built.
#[derive(Debug, Clone)]
pub struct SiemSettings {
    /// The one switch: no target forwards while it is off.
    pub enabled: bool,
    /// Generic webhook (the original's); the URL may carry a token, so it is a secret.
    pub webhook_url: Option<SecretString>,
    /// `json` (one JSON array per batch) or `ndjson` (one event per line).
    pub webhook_format: String,
    /// A whole header line, e.g. `Authorization: Bearer x`.
    pub webhook_auth_header: Option<SecretString>,
    /// SIEM_ALLOWED_DOMAINS as written (wildcards allowed); empty = any public host.
    pub allowed_domains: String,
    pub splunk_hec_url: Option<String>,
    pub splunk_hec_token: Option<SecretString>,
    pub splunk_hec_index: Option<String>,
    pub splunk_hec_sourcetype: String,
    /// `tcp://host:port` or `tls://host:port`.
    pub syslog_url: Option<String>,
    /// `json` or `cef`.
    pub syslog_format: String,
    /// PEM file of the CA(s) that sign the syslog receiver's certificate; unset: system roots.
    pub syslog_ca_file: Option<String>,
    /// Events per delivery.
    pub batch_size: u32,
    /// A backlog past this many events (per target) is logged once per crossing.
    pub backlog_warn: u64,
    /// First retry delay after a failed delivery, doubled per failure up to `retry_max`; not
    /// env settings: the defaults suit a real receiver, tests shorten them.
    pub retry_base: Duration,
    pub retry_max: Duration,
    /// Pause before looking for new events when a target is up to date.
    pub idle: Duration,
}

/// An OpenAI-compatible chat completions endpoint (LLM_*). Configured when LLM_BASE_URL or
/// LLM_API_KEY is set; without either the AI features answer from counts alone.
#[derive(Debug, Clone)]
pub struct LlmSettings {
    pub api_key: Option<SecretString>,
    /// LLM_BASE_URL as written; None: OpenAI's (`https://api.openai.com/v1`) when a key is set.
    pub base_url: Option<String>,
    /// The model, or with LLM_API_VERSION the Azure OpenAI / Foundry deployment name.
    pub model: String,
    /// Events sent to the model per question.
    pub max_events: usize,
    pub timeout: Duration,
    /// Set for Azure OpenAI / Foundry: `api-key` header and deployment URLs.
    pub api_version: Option<String>,
    /// LLM_ALLOWED_DOMAINS as written (wildcards allowed); empty = any public host.
    pub allowed_domains: String,
}

impl LlmSettings {
    pub fn configured(&self) -> bool {
        self.api_key.is_some() || self.base_url.is_some()
    }
}

/// Alert rules and their notifications (ALERTS_*, ALERT_*).
#[derive(Debug, Clone, Default)]
pub struct AlertSettings {
    pub enabled: bool,
    /// Evaluate events loaded by `aoc import` too (old records raise alerts dated in the past).
    pub on_import: bool,
    /// Lowercase domains that count as the organisation's own (mail forwarding detections).
    pub internal_domains: Vec<String>,
    /// Notification webhooks; these URLs carry their receivers' tokens, so they are secrets.
    pub webhook_url: Option<SecretString>,
    pub teams_webhook_url: Option<SecretString>,
    pub slack_webhook_url: Option<SecretString>,
    /// ALERT_ALLOWED_DOMAINS as written (wildcards allowed); empty = any public host.
    pub allowed_domains: String,
    /// low, medium, high or critical: alerts below it are not sent.
    pub notify_min_severity: String,
    /// The address people open AOC at (PUBLIC_URL), for links in notifications.
    pub public_url: Option<String>,
}

/// Largest secret file read: secrets are short, and a path pointing at something else (a
/// device, a log) must not fill memory.
const MAX_SECRET_FILE_BYTES: u64 = 64 * 1024;

struct Env<'a>(&'a dyn Fn(&str) -> Option<String>);

impl Env<'_> {
    /// The variable as written: trimmed, empty meaning unset.
    fn raw(&self, var: &str) -> Option<String> {
        (self.0)(var)
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
    }

    /// The variable's value; for a secret, from the file named by `NAME_FILE` when that is set
    /// instead.
    fn get(&self, var: &'static str) -> Result<Option<String>, ConfigError> {
        let value = self.raw(var);
        if !known::is_secret(var) {
            return Ok(value);
        }
        let file_var = file_variable(var);
        let Some(path) = self.raw(&file_var) else {
            return Ok(value);
        };
        if value.is_some() {
            return Err(ConfigError {
                var,
                message: format!("both {var} and {file_var} are set: keep one"),
            });
        }
        read_secret_file(var, &file_var, &path).map(Some)
    }

    fn string(&self, var: &'static str, default: &str) -> Result<String, ConfigError> {
        Ok(self.get(var)?.unwrap_or_else(|| default.to_string()))
    }

    fn bool(&self, var: &'static str, default: bool) -> Result<bool, ConfigError> {
        match self.get(var)? {
            None => Ok(default),
            Some(v) => match v.to_ascii_lowercase().as_str() {
                "1" | "true" | "yes" | "on" => Ok(true),
                "0" | "false" | "no" | "off" => Ok(false),
                _ => Err(ConfigError {
                    var,
                    message: format!("expected true or false, got '{v}'"),
                }),
            },
        }
    }

    fn number<T: std::str::FromStr + PartialOrd + std::fmt::Display>(
        &self,
        var: &'static str,
        min: T,
        max: T,
    ) -> Result<Option<T>, ConfigError> {
        let Some(v) = self.get(var)? else {
            return Ok(None);
        };
        let n: T = v.parse().map_err(|_| ConfigError {
            var,
            message: format!("expected a number, got '{v}'"),
        })?;
        if n < min || n > max {
            return Err(ConfigError {
                var,
                message: format!("must be between {min} and {max}, got {n}"),
            });
        }
        Ok(Some(n))
    }

    fn list(&self, var: &'static str) -> Result<Vec<String>, ConfigError> {
        Ok(self.get(var)?.map(|v| split_list(&v)).unwrap_or_default())
    }

    /// CIDRs or single addresses, comma-separated.
    fn nets(&self, var: &'static str, default: &str) -> Result<Vec<IpNet>, ConfigError> {
        let mut list = self.list(var)?;
        if list.is_empty() {
            list = split_list(default);
        }
        list.iter()
            .map(|s| {
                s.parse::<IpNet>()
                    .or_else(|_| s.parse::<std::net::IpAddr>().map(IpNet::from))
                    .map_err(|_| ConfigError {
                        var,
                        message: format!("'{s}' is not an IP address or CIDR"),
                    })
            })
            .collect()
    }

    /// An http(s) base URL. Credentials have no place in one, and refusing them keeps every
    /// such setting safe to print.
    fn url(&self, var: &'static str, default: &str) -> Result<String, ConfigError> {
        let v = self.string(var, default)?;
        let parsed = url::Url::parse(&v).map_err(|e| ConfigError {
            var,
            message: format!("not a URL ({e}): '{}'", redact_url(&v)),
        })?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(ConfigError {
                var,
                message: format!("must be an http(s) URL, got '{}'", redact_url(&v)),
            });
        }
        if !parsed.username().is_empty() || parsed.password().is_some() {
            return Err(ConfigError {
                var,
                message: "must not contain a user name or password".into(),
            });
        }
        Ok(v.trim_end_matches('/').to_string())
    }
}

fn split_list(v: &str) -> Vec<String> {
    v.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(String::from)
        .collect()
}

/// A secret from `NAME_FILE`. Errors name the variable and the path, never what the file holds.
fn read_secret_file(var: &'static str, file_var: &str, path: &str) -> Result<String, ConfigError> {
    let fail = |why: String| ConfigError {
        var,
        message: format!("cannot read {file_var}={path}: {why}"),
    };
    let file = std::fs::File::open(path).map_err(|e| fail(e.to_string()))?;
    let mut bytes = Vec::new();
    file.take(MAX_SECRET_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| fail(e.to_string()))?;
    if bytes.len() as u64 > MAX_SECRET_FILE_BYTES {
        return Err(fail(format!(
            "larger than {} KiB, not a secret",
            MAX_SECRET_FILE_BYTES / 1024
        )));
    }
    let text = String::from_utf8(bytes).map_err(|_| fail("not UTF-8 text".into()))?;
    // Secret files usually end in a newline (echo, kubectl create secret --from-file); the
    // value is trimmed like a variable's.
    let value = text.trim();
    if value.is_empty() {
        return Err(fail("the file is empty".into()));
    }
    Ok(value.to_string())
}

/// One variable as [`Settings`] reads it: trimmed, empty meaning unset, and for a secret (see
/// [`SETTINGS`]) taken from `NAME_FILE` when that is set instead. For readers outside
/// [`Settings`] (the Key Vault loader), so `AZURE_CLIENT_SECRET_FILE` works like the others.
pub fn read_var(
    lookup: &dyn Fn(&str) -> Option<String>,
    var: &'static str,
) -> Result<Option<String>, ConfigError> {
    Env(lookup).get(var)
}

impl Settings {
    /// Read settings from the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(&|k| std::env::var(k).ok())
    }

    /// Read settings from a map (tests, `aoc demo`).
    pub fn from_map(map: &HashMap<String, String>) -> Result<Self, ConfigError> {
        Self::from_lookup(&|k| map.get(k).cloned())
    }

    pub fn from_lookup(lookup: &dyn Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let env = Env(lookup);
        let database_url = SecretUrl::new(env.string("DATABASE_URL", "sqlite://aoc.db")?);
        let bind = env.string("BIND_ADDR", "127.0.0.1:8000")?;
        let bind_addr = bind.parse().map_err(|_| ConfigError {
            var: "BIND_ADDR",
            message: format!("expected HOST:PORT such as 127.0.0.1:8000, got '{bind}'"),
        })?;

        let tenant = env.get("TENANT_ID")?;
        let client = env.get("CLIENT_ID")?;
        let secret = env.get("CLIENT_SECRET")?;
        let m365 = match (tenant, client, secret) {
            (Some(tenant_id), Some(client_id), Some(secret)) => Some(M365Settings {
                tenant_id,
                client_id,
                client_secret: SecretString::from(secret),
                login_base_url: env.url("LOGIN_BASE_URL", "https://login.microsoftonline.com")?,
                graph_base_url: env.url("GRAPH_BASE_URL", "https://graph.microsoft.com")?,
                manage_base_url: env.url("MANAGE_BASE_URL", "https://manage.office.com")?,
                unified_content_types: {
                    let list = env.list("UNIFIED_CONTENT_TYPES")?;
                    if list.is_empty() {
                        vec![
                            "Audit.Exchange".into(),
                            "Audit.SharePoint".into(),
                            "Audit.General".into(),
                        ]
                    } else {
                        list
                    }
                },
                graph_min_interval: Duration::from_millis(
                    env.number("GRAPH_MIN_INTERVAL_MS", 0u64, 60_000)?
                        .unwrap_or(2_000),
                ),
                max_attempts: 5,
                retry_base_delay: Duration::from_secs(1),
                blob_concurrency: 4,
            }),
            (None, None, None) => None,
            _ => {
                return Err(ConfigError {
                    var: "TENANT_ID",
                    message: "TENANT_ID, CLIENT_ID and CLIENT_SECRET must be set together".into(),
                });
            }
        };

        let auth = AuthSettings {
            enabled: env.bool("AUTH_ENABLED", false)?,
            tenant_id: env.string("AUTH_TENANT_ID", "")?,
            client_id: env.string("AUTH_CLIENT_ID", "")?,
            issuer: env.string("AUTH_ISSUER", "")?,
            allowed_roles: env.list("AUTH_ALLOWED_ROLES")?,
            allowed_groups: env.list("AUTH_ALLOWED_GROUPS")?,
            scopes: env
                .string("AUTH_SCOPES", "")?
                .split(|c: char| c == ',' || c.is_whitespace())
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect(),
        };
        if auth.enabled {
            if auth.client_id.is_empty() {
                return Err(ConfigError {
                    var: "AUTH_CLIENT_ID",
                    message: "required when AUTH_ENABLED=true".into(),
                });
            }
            if auth.tenant_id.is_empty() && auth.issuer.is_empty() {
                return Err(ConfigError {
                    var: "AUTH_TENANT_ID",
                    message: "AUTH_TENANT_ID (or AUTH_ISSUER) is required when AUTH_ENABLED=true"
                        .into(),
                });
            }
        }

        Ok(Settings {
            database_url,
            database_startup_timeout: Duration::from_secs(
                env.number("DATABASE_STARTUP_TIMEOUT_SECONDS", 0u64, 86_400)?
                    .unwrap_or(30),
            ),
            bind_addr,
            trusted_proxies: env.nets("TRUSTED_PROXIES", "")?,
            m365,
            enable_periodic_fetch: env.bool("ENABLE_PERIODIC_FETCH", false)?,
            fetch_interval: Duration::from_secs(
                60 * env
                    .number("FETCH_INTERVAL_MINUTES", 1u64, 10_080)?
                    .unwrap_or(60),
            ),
            retention_days: env.number("RETENTION_DAYS", 1u32, 36_500)?,
            import_upload_dir: env.get("IMPORT_UPLOAD_DIR")?,
            import_max_upload_bytes: 1024
                * 1024
                * env
                    .number("IMPORT_MAX_UPLOAD_MB", 1u64, 1_048_576)?
                    .unwrap_or(512),
            cors_origins: env.list("CORS_ORIGINS")?,
            docs_enabled: env.bool("DOCS_ENABLED", false)?,
            auth,
            privacy: PrivacySettings {
                services: env.list("PRIVACY_SERVICES")?,
                sensitive_operations: env.list("PRIVACY_SENSITIVE_OPERATIONS")?,
                service_roles: env.list("PRIVACY_SERVICE_ROLES")?,
            },
            rate_limit: RateLimitSettings {
                enabled: env.bool("RATE_LIMIT_ENABLED", true)?,
                requests: env
                    .number("RATE_LIMIT_REQUESTS", 1u32, 1_000_000)?
                    .unwrap_or(120),
                window: Duration::from_secs(
                    env.number("RATE_LIMIT_WINDOW_SECONDS", 1u64, 86_400)?
                        .unwrap_or(60),
                ),
                redis_url: env.get("REDIS_URL")?.map(SecretUrl::new),
            },
            metrics_allowed_ips: env
                .nets("METRICS_ALLOWED_IPS", known::DEFAULT_METRICS_ALLOWED_IPS)?,
            webhook_client_secret: env.get("WEBHOOK_CLIENT_SECRET")?.map(SecretString::from),
            mappings_file: env.get("MAPPINGS_FILE")?,
            ai_features_enabled: env.bool("AI_FEATURES_ENABLED", false)?,
            llm: LlmSettings {
                api_key: env.get("LLM_API_KEY")?.map(SecretString::from),
                base_url: env.get("LLM_BASE_URL")?,
                model: env.string("LLM_MODEL", "gpt-4o-mini")?,
                max_events: env.number("LLM_MAX_EVENTS", 1usize, 500)?.unwrap_or(50),
                timeout: Duration::from_secs(
                    env.number("LLM_TIMEOUT_SECONDS", 1u64, 600)?.unwrap_or(30),
                ),
                api_version: env.get("LLM_API_VERSION")?,
                allowed_domains: env.string("LLM_ALLOWED_DOMAINS", "")?,
            },
            hsts: env.bool("HSTS_ENABLED", false)?,
            alerts: AlertSettings {
                enabled: env.bool("ALERTS_ENABLED", false)?,
                on_import: env.bool("ALERTS_ON_IMPORT", false)?,
                internal_domains: env
                    .list("ALERTS_INTERNAL_DOMAINS")?
                    .into_iter()
                    .map(|d| d.trim_start_matches('@').to_ascii_lowercase())
                    .collect(),
                webhook_url: env.get("ALERT_WEBHOOK_URL")?.map(SecretString::from),
                teams_webhook_url: env.get("ALERT_TEAMS_WEBHOOK_URL")?.map(SecretString::from),
                slack_webhook_url: env.get("ALERT_SLACK_WEBHOOK_URL")?.map(SecretString::from),
                allowed_domains: env.string("ALERT_ALLOWED_DOMAINS", "")?,
                notify_min_severity: {
                    let v = env
                        .string("ALERT_NOTIFY_MIN_SEVERITY", "low")?
                        .to_ascii_lowercase();
                    if !["low", "medium", "high", "critical"].contains(&v.as_str()) {
                        return Err(ConfigError {
                            var: "ALERT_NOTIFY_MIN_SEVERITY",
                            message: format!("expected low, medium, high or critical, got '{v}'"),
                        });
                    }
                    v
                },
                public_url: match env.get("PUBLIC_URL")? {
                    None => None,
                    Some(u) => match url::Url::parse(&u) {
                        Ok(parsed) if matches!(parsed.scheme(), "http" | "https") => {
                            Some(u.trim_end_matches('/').to_string())
                        }
                        _ => {
                            return Err(ConfigError {
                                var: "PUBLIC_URL",
                                message: format!(
                                    "expected the http(s) address AOC is opened at, got '{u}'"
                                ),
                            });
                        }
                    },
                },
            },
            egress_allow_private: env.string("EGRESS_ALLOW_PRIVATE", "")?,
            siem: siem_settings(&env)?,
        })
    }
}

fn siem_settings(env: &Env<'_>) -> Result<SiemSettings, ConfigError> {
    let one_of = |var: &'static str, default: &str, allowed: &[&str]| {
        let v = env.string(var, default)?.to_ascii_lowercase();
        if allowed.contains(&v.as_str()) {
            Ok(v)
        } else {
            Err(ConfigError {
                var,
                message: format!("expected {}, got '{v}'", allowed.join(" or ")),
            })
        }
    };
    let siem = SiemSettings {
        enabled: env.bool("SIEM_ENABLED", false)?,
        webhook_url: env.get("SIEM_WEBHOOK_URL")?.map(SecretString::from),
        webhook_format: one_of("SIEM_WEBHOOK_FORMAT", "json", &["json", "ndjson"])?,
        webhook_auth_header: env.get("SIEM_WEBHOOK_AUTH_HEADER")?.map(SecretString::from),
        allowed_domains: env.string("SIEM_ALLOWED_DOMAINS", "")?,
        splunk_hec_url: env.get("SPLUNK_HEC_URL")?,
        splunk_hec_token: env.get("SPLUNK_HEC_TOKEN")?.map(SecretString::from),
        splunk_hec_index: env.get("SPLUNK_HEC_INDEX")?,
        splunk_hec_sourcetype: env.string("SPLUNK_HEC_SOURCETYPE", "aoc:event")?,
        syslog_url: env.get("SYSLOG_URL")?,
        syslog_format: one_of("SYSLOG_FORMAT", "json", &["json", "cef"])?,
        syslog_ca_file: env.get("SYSLOG_CA_FILE")?,
        batch_size: env.number("SIEM_BATCH_SIZE", 1u32, 10_000)?.unwrap_or(500),
        backlog_warn: env
            .number("SIEM_BACKLOG_WARN", 1u64, 1_000_000_000)?
            .unwrap_or(100_000),
        retry_base: Duration::from_secs(1),
        retry_max: Duration::from_secs(60),
        idle: Duration::from_secs(1),
    };
    if siem.splunk_hec_url.is_some() != siem.splunk_hec_token.is_some() {
        return Err(ConfigError {
            var: "SPLUNK_HEC_TOKEN",
            message: "SPLUNK_HEC_URL and SPLUNK_HEC_TOKEN must be set together".into(),
        });
    }
    Ok(siem)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    fn settings(pairs: &[(&str, &str)]) -> Result<Settings, ConfigError> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Settings::from_map(&map)
    }

    #[test]
    fn defaults_are_the_embedded_store_on_loopback() {
        let s = settings(&[]).unwrap();
        assert_eq!(s.database_url.expose(), "sqlite://aoc.db");
        assert!(s.trusted_proxies.is_empty());
        assert_eq!(s.bind_addr.to_string(), "127.0.0.1:8000");
        assert!(s.m365.is_none());
        assert_eq!(s.fetch_interval, Duration::from_secs(3600));
        assert!(!s.docs_enabled && !s.auth.enabled);
    }

    #[test]
    fn bad_values_name_the_variable() {
        for (var, value) in [
            ("BIND_ADDR", "nowhere"),
            ("FETCH_INTERVAL_MINUTES", "soon"),
            ("FETCH_INTERVAL_MINUTES", "0"),
            ("ENABLE_PERIODIC_FETCH", "maybe"),
            ("RETENTION_DAYS", "-3"),
            ("METRICS_ALLOWED_IPS", "10.0.0.0/99"),
            ("TRUSTED_PROXIES", "10.0.0.1,proxy.internal"),
        ] {
            let err = settings(&[(var, value)]).unwrap_err();
            assert_eq!(err.var, var, "{value}");
            assert!(err.to_string().starts_with(var));
        }
        let err = settings(&[("TENANT_ID", "t")]).unwrap_err();
        assert_eq!(err.var, "TENANT_ID");
        let err = settings(&[("AUTH_ENABLED", "true")]).unwrap_err();
        assert_eq!(err.var, "AUTH_CLIENT_ID");
        let err = settings(&[
            ("TENANT_ID", "t"),
            ("CLIENT_ID", "c"),
            ("CLIENT_SECRET", "s"),
            ("GRAPH_BASE_URL", "ftp://x"),
        ])
        .unwrap_err();
        assert_eq!(err.var, "GRAPH_BASE_URL");
    }

    #[test]
    fn ui_scopes_split_on_spaces_or_commas() {
        let s = settings(&[("AUTH_SCOPES", " openid, profile  api://x/Read.All ")]).unwrap();
        assert_eq!(s.auth.scopes, ["openid", "profile", "api://x/Read.All"]);
        assert!(settings(&[]).unwrap().auth.scopes.is_empty());
    }

    #[test]
    fn secret_is_not_in_debug_output() {
        let s = settings(&[
            ("TENANT_ID", "t"),
            ("CLIENT_ID", "c"),
            ("CLIENT_SECRET", "hunter2-very-secret"),
        ])
        .unwrap();
        let dbg = format!("{s:?}");
        assert!(!dbg.contains("hunter2-very-secret"));
        assert!(dbg.contains("client_id"));
    }

    #[test]
    fn trusted_proxies_are_nets_or_addresses() {
        let s = settings(&[("TRUSTED_PROXIES", " 10.0.0.0/8, 192.0.2.1 ,::1")]).unwrap();
        let nets: Vec<String> = s.trusted_proxies.iter().map(|n| n.to_string()).collect();
        assert_eq!(nets, ["10.0.0.0/8", "192.0.2.1/32", "::1/128"]);
    }

    #[test]
    fn url_passwords_are_not_in_debug_output() {
        let s = settings(&[
            ("DATABASE_URL", "postgres://u:hunter2@h/db"),
            ("REDIS_URL", "redis://:s3cret@h"),
        ])
        .unwrap();
        let dbg = format!("{s:?}");
        assert!(!dbg.contains("hunter2"), "{dbg}");
        assert!(!dbg.contains("s3cret"), "{dbg}");
        assert!(dbg.contains("postgres://u:***@h/db"), "{dbg}");
        assert_eq!(s.database_url.expose(), "postgres://u:hunter2@h/db");
        assert_eq!(
            s.rate_limit.redis_url.as_ref().unwrap().expose(),
            "redis://:s3cret@h"
        );
    }

    #[test]
    fn base_urls_refuse_credentials_without_echoing_them() {
        for value in [
            "https://u:pw-0815@graph.example",
            "https://tok-0815@graph.example",
        ] {
            let err = settings(&[
                ("TENANT_ID", "t"),
                ("CLIENT_ID", "c"),
                ("CLIENT_SECRET", "s"),
                ("GRAPH_BASE_URL", value),
            ])
            .unwrap_err();
            assert_eq!(err.var, "GRAPH_BASE_URL");
            assert!(!err.to_string().contains("0815"), "{err}");
        }
    }

    // ----- NAME_FILE -----

    fn write(dir: &tempfile::TempDir, name: &str, content: &[u8]) -> String {
        let path = dir.path().join(name);
        std::fs::write(&path, content).unwrap();
        path.display().to_string()
    }

    #[test]
    fn secrets_come_from_files() {
        use secrecy::ExposeSecret;
        let dir = tempfile::tempdir().unwrap();
        let secret = write(&dir, "secret", b"file-secret-0815\n");
        let db = write(&dir, "db", b"postgres://u:pw@h/db\r\n");
        let redis = write(&dir, "redis", b"redis://:pw@h\n");
        let hook = write(&dir, "hook", b"  hook-state \n");
        let s = settings(&[
            ("TENANT_ID", "t"),
            ("CLIENT_ID", "c"),
            ("CLIENT_SECRET_FILE", &secret),
            ("DATABASE_URL_FILE", &db),
            ("REDIS_URL_FILE", &redis),
            ("WEBHOOK_CLIENT_SECRET_FILE", &hook),
        ])
        .unwrap();
        assert_eq!(
            s.m365.unwrap().client_secret.expose_secret(),
            "file-secret-0815"
        );
        assert_eq!(s.database_url.expose(), "postgres://u:pw@h/db");
        assert_eq!(s.rate_limit.redis_url.unwrap().expose(), "redis://:pw@h");
        assert_eq!(
            s.webhook_client_secret.unwrap().expose_secret(),
            "hook-state"
        );
        // An empty NAME_FILE is as good as unset.
        let s = settings(&[
            ("DATABASE_URL", "sqlite://x.db"),
            ("DATABASE_URL_FILE", " "),
        ])
        .unwrap();
        assert_eq!(s.database_url.expose(), "sqlite://x.db");
        // Only secrets are read from files: BIND_ADDR_FILE is not a setting (the start-up
        // warning says so).
        let path = write(&dir, "bind", b"0.0.0.0:1\n");
        let s = settings(&[("BIND_ADDR_FILE", &path)]).unwrap();
        assert_eq!(s.bind_addr.to_string(), "127.0.0.1:8000");
    }

    #[test]
    fn a_secret_set_twice_is_an_error_naming_both() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(&dir, "secret", b"from-file-0815\n");
        let err = settings(&[
            ("CLIENT_SECRET", "inline-0815"),
            ("CLIENT_SECRET_FILE", &path),
        ])
        .unwrap_err();
        assert_eq!(err.var, "CLIENT_SECRET");
        let text = err.to_string();
        assert!(text.contains("CLIENT_SECRET_FILE"), "{text}");
        assert!(!text.contains("0815"), "{text}");
    }

    #[test]
    fn unreadable_secret_files_name_variable_and_path_only() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing").display().to_string();
        let empty = write(&dir, "empty", b"\n");
        let binary = write(&dir, "binary", b"pw-0815\xff\xfe");
        let huge = write(&dir, "huge", &vec![b'x'; 70 * 1024]);
        let a_dir = dir.path().display().to_string();
        for (path, why) in [
            (&missing, "No such file"),
            (&empty, "empty"),
            (&binary, "UTF-8"),
            (&huge, "larger than"),
            (&a_dir, ""),
        ] {
            let err = settings(&[("DATABASE_URL_FILE", path)]).unwrap_err();
            assert_eq!(err.var, "DATABASE_URL");
            let text = err.to_string();
            assert!(
                text.contains(&format!("DATABASE_URL_FILE={path}")),
                "{text}"
            );
            assert!(text.contains(why), "{text}");
            assert!(!text.contains("0815") && !text.contains("xxxx"), "{text}");
        }
    }

    #[test]
    fn read_var_applies_files_to_other_readers_secrets() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(&dir, "azure", b"azure-secret\n");
        let map: HashMap<String, String> =
            HashMap::from([("AZURE_CLIENT_SECRET_FILE".to_string(), path)]);
        let lookup = |k: &str| map.get(k).cloned();
        assert_eq!(
            read_var(&lookup, "AZURE_CLIENT_SECRET").unwrap().as_deref(),
            Some("azure-secret")
        );
        assert_eq!(read_var(&lookup, "AZURE_TENANT_ID").unwrap(), None);
    }

    // ----- the settings table -----

    /// Settings as complete as the table allows (Microsoft 365 and auth on), so every branch
    /// that reads a variable runs.
    fn full() -> HashMap<String, String> {
        [
            ("TENANT_ID", "t"),
            ("CLIENT_ID", "c"),
            ("CLIENT_SECRET", "s"),
            ("AUTH_ENABLED", "true"),
            ("AUTH_TENANT_ID", "t"),
            ("AUTH_CLIENT_ID", "c"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
    }

    #[test]
    fn the_table_has_each_name_once() {
        let mut names: Vec<&str> = SETTINGS.iter().map(|s| s.name).collect();
        names.sort_unstable();
        let before = names.len();
        names.dedup();
        assert_eq!(before, names.len());
        for s in SETTINGS {
            assert!(!s.description.is_empty(), "{}", s.name);
            if s.secret {
                let file = file_variable(s.name);
                assert!(setting(&file).is_none(), "{file} is a setting of its own");
            }
        }
    }

    #[test]
    fn every_variable_settings_reads_is_in_the_table() {
        let map = full();
        let asked = std::cell::RefCell::new(Vec::<String>::new());
        Settings::from_lookup(&|k| {
            asked.borrow_mut().push(k.to_string());
            map.get(k).cloned()
        })
        .unwrap();
        let asked = asked.into_inner();
        assert!(asked.len() > 30, "{asked:?}");
        for name in asked {
            if setting(&name).is_some() {
                continue;
            }
            let base = name.strip_suffix(FILE_SUFFIX).unwrap_or(&name);
            let info = setting(base).unwrap_or_else(|| panic!("{name} is not in SETTINGS"));
            assert!(info.secret, "{name}: only secrets have a file variant");
        }
    }

    #[test]
    fn documented_defaults_are_the_defaults() {
        let base = full();
        let baseline = format!("{:?}", Settings::from_map(&base).unwrap());
        for s in SETTINGS
            .iter()
            .filter(|s| !s.default.is_empty() && !base.contains_key(s.name))
        {
            let mut map = base.clone();
            map.insert(s.name.to_string(), s.default.to_string());
            let with_default = format!("{:?}", Settings::from_map(&map).unwrap());
            assert_eq!(baseline, with_default, "{}={}", s.name, s.default);
        }
    }

    /// `NAME=value` lines of `.env.example`, commented out or not: (name, value, commented).
    fn example_assignments(text: &str) -> Vec<(String, String, bool)> {
        text.lines()
            .filter_map(|line| {
                let line = line.trim();
                let (commented, rest) = match line.strip_prefix('#') {
                    Some(rest) => (true, rest.trim_start()),
                    None => (false, line),
                };
                let (name, value) = rest.split_once('=')?;
                let is_name = !name.is_empty()
                    && name
                        .bytes()
                        .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_');
                is_name.then(|| (name.to_string(), value.to_string(), commented))
            })
            .collect()
    }

    #[test]
    fn env_example_lists_every_setting_with_its_default() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../.env.example");
        let text = std::fs::read_to_string(path).unwrap();
        let lines = example_assignments(&text);
        for (name, value, commented) in &lines {
            let info = setting(name)
                .unwrap_or_else(|| panic!(".env.example names {name}, which AOC does not read"));
            assert!(
                commented,
                "{name}: every line is commented out (defaults apply)"
            );
            assert_eq!(
                value, info.default,
                "{name}: .env.example shows another default"
            );
        }
        for s in SETTINGS {
            let n = lines.iter().filter(|(name, ..)| name == s.name).count();
            assert_eq!(n, 1, "{} appears {n} times in .env.example", s.name);
        }
    }
}
