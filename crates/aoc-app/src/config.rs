//! Settings from the environment (and an optional `.env`, loaded by the binary), under the
//! original service's variable names. Every value is validated at start-up: a bad one stops
//! the process with a message naming the variable.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Duration;

use ipnet::IpNet;
use secrecy::SecretString;

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
    pub redis_url: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Settings {
    pub database_url: String,
    pub bind_addr: SocketAddr,
    /// None when TENANT_ID/CLIENT_ID/CLIENT_SECRET are not all set: fetching is then disabled.
    pub m365: Option<M365Settings>,
    pub enable_periodic_fetch: bool,
    pub fetch_interval: Duration,
    pub retention_days: Option<u32>,
    pub cors_origins: Vec<String>,
    pub docs_enabled: bool,
    pub auth: AuthSettings,
    pub privacy: PrivacySettings,
    pub rate_limit: RateLimitSettings,
    pub metrics_allowed_ips: Vec<IpNet>,
    pub webhook_client_secret: Option<SecretString>,
    pub mappings_file: Option<String>,
    pub ai_features_enabled: bool,
    /// Send Strict-Transport-Security (set when served behind https).
    pub hsts: bool,
}

const DEFAULT_METRICS_NETS: &[&str] = &[
    "127.0.0.0/8",
    "::1/128",
    "10.0.0.0/8",
    "172.16.0.0/12",
    "192.168.0.0/16",
    "fc00::/7",
];

struct Env<'a>(&'a dyn Fn(&str) -> Option<String>);

impl Env<'_> {
    fn get(&self, var: &str) -> Option<String> {
        (self.0)(var)
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
    }

    fn string(&self, var: &str, default: &str) -> String {
        self.get(var).unwrap_or_else(|| default.to_string())
    }

    fn bool(&self, var: &'static str, default: bool) -> Result<bool, ConfigError> {
        match self.get(var) {
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
        let Some(v) = self.get(var) else {
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

    fn list(&self, var: &str) -> Vec<String> {
        self.get(var)
            .map(|v| {
                v.split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(String::from)
                    .collect()
            })
            .unwrap_or_default()
    }

    fn url(&self, var: &'static str, default: &str) -> Result<String, ConfigError> {
        let v = self.string(var, default);
        let parsed = url::Url::parse(&v).map_err(|e| ConfigError {
            var,
            message: format!("not a URL ({e}): '{v}'"),
        })?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(ConfigError {
                var,
                message: format!("must be an http(s) URL, got '{v}'"),
            });
        }
        Ok(v.trim_end_matches('/').to_string())
    }
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
        let database_url = env.string("DATABASE_URL", "sqlite://aoc.db");
        let bind = env.string("BIND_ADDR", "127.0.0.1:8000");
        let bind_addr = bind.parse().map_err(|_| ConfigError {
            var: "BIND_ADDR",
            message: format!("expected HOST:PORT such as 127.0.0.1:8000, got '{bind}'"),
        })?;

        let tenant = env.get("TENANT_ID");
        let client = env.get("CLIENT_ID");
        let secret = env.get("CLIENT_SECRET");
        let m365 = match (tenant, client, secret) {
            (Some(tenant_id), Some(client_id), Some(secret)) => Some(M365Settings {
                tenant_id,
                client_id,
                client_secret: SecretString::from(secret),
                login_base_url: env.url("LOGIN_BASE_URL", "https://login.microsoftonline.com")?,
                graph_base_url: env.url("GRAPH_BASE_URL", "https://graph.microsoft.com")?,
                manage_base_url: env.url("MANAGE_BASE_URL", "https://manage.office.com")?,
                unified_content_types: {
                    let list = env.list("UNIFIED_CONTENT_TYPES");
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
            tenant_id: env.string("AUTH_TENANT_ID", ""),
            client_id: env.string("AUTH_CLIENT_ID", ""),
            issuer: env.string("AUTH_ISSUER", ""),
            allowed_roles: env.list("AUTH_ALLOWED_ROLES"),
            allowed_groups: env.list("AUTH_ALLOWED_GROUPS"),
            scopes: env
                .string("AUTH_SCOPES", "")
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

        let metrics_allowed_ips = {
            let list = env.list("METRICS_ALLOWED_IPS");
            let list: Vec<String> = if list.is_empty() {
                DEFAULT_METRICS_NETS.iter().map(|s| s.to_string()).collect()
            } else {
                list
            };
            list.iter()
                .map(|s| {
                    s.parse::<IpNet>()
                        .or_else(|_| s.parse::<std::net::IpAddr>().map(IpNet::from))
                        .map_err(|_| ConfigError {
                            var: "METRICS_ALLOWED_IPS",
                            message: format!("'{s}' is not an IP address or CIDR"),
                        })
                })
                .collect::<Result<Vec<_>, _>>()?
        };

        Ok(Settings {
            database_url,
            bind_addr,
            m365,
            enable_periodic_fetch: env.bool("ENABLE_PERIODIC_FETCH", false)?,
            fetch_interval: Duration::from_secs(
                60 * env
                    .number("FETCH_INTERVAL_MINUTES", 1u64, 10_080)?
                    .unwrap_or(60),
            ),
            retention_days: env.number("RETENTION_DAYS", 1u32, 36_500)?,
            cors_origins: env.list("CORS_ORIGINS"),
            docs_enabled: env.bool("DOCS_ENABLED", false)?,
            auth,
            privacy: PrivacySettings {
                services: env.list("PRIVACY_SERVICES"),
                sensitive_operations: env.list("PRIVACY_SENSITIVE_OPERATIONS"),
                service_roles: env.list("PRIVACY_SERVICE_ROLES"),
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
                redis_url: env.get("REDIS_URL"),
            },
            metrics_allowed_ips,
            webhook_client_secret: env.get("WEBHOOK_CLIENT_SECRET").map(SecretString::from),
            mappings_file: env.get("MAPPINGS_FILE"),
            ai_features_enabled: env.bool("AI_FEATURES_ENABLED", false)?,
            hsts: env.bool("HSTS_ENABLED", false)?,
        })
    }
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
        assert_eq!(s.database_url, "sqlite://aoc.db");
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
}
