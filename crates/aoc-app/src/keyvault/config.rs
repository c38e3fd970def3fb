//! Which vault, and which identity reads it, from the `AZURE_*` variables (the Azure SDKs'
//! names where they have one).

use secrecy::SecretString;

use super::error::KeyVaultError;

pub const DEFAULT_AUTHORITY_HOST: &str = "https://login.microsoftonline.com";
pub const DEFAULT_IMDS_ENDPOINT: &str = "http://169.254.169.254/metadata/identity/oauth2/token";
const IMDS_TOKEN_PATH: &str = "/metadata/identity/oauth2/token";
/// Public cloud vault DNS suffix, for a vault given by name only.
const PUBLIC_VAULT_SUFFIX: &str = "vault.azure.net";
/// Vault DNS suffixes of the national clouds, which are also the resource their tokens are for.
const VAULT_SUFFIXES: &[&str] = &[
    "vault.azure.net",
    "vault.usgovcloudapi.net",
    "vault.azure.cn",
    "vault.microsoftazure.de",
];

/// The vault to read and the identity to read it with.
#[derive(Debug, Clone)]
pub struct VaultConfig {
    /// How messages name the vault: `AZURE_KEY_VAULT_NAME`, else the URL's host.
    pub name: String,
    /// Base URL, without a trailing slash.
    pub url: String,
    /// The resource tokens are asked for (`https://vault.azure.net` in the public cloud).
    pub resource: String,
    pub identity: Identity,
}

/// How the token for the vault is obtained. Secrets are `SecretString`s: `Debug` redacts them.
#[derive(Debug, Clone)]
pub enum Identity {
    /// A service principal: `AZURE_TENANT_ID`, `AZURE_CLIENT_ID`, `AZURE_CLIENT_SECRET`.
    ClientSecret {
        authority_host: String,
        tenant_id: String,
        client_id: String,
        secret: SecretString,
    },
    /// App Service, Functions or Container Apps: `IDENTITY_ENDPOINT` + `IDENTITY_HEADER`.
    AppService {
        endpoint: String,
        header: SecretString,
        /// A user-assigned identity (`AZURE_CLIENT_ID`); none: the system-assigned one.
        client_id: Option<String>,
    },
    /// A virtual machine (or anything else with the Instance Metadata Service).
    Imds {
        endpoint: String,
        client_id: Option<String>,
    },
}

impl Identity {
    /// Names the identity in messages, without any secret.
    pub fn describe(&self) -> &'static str {
        match self {
            Identity::ClientSecret { .. } => "client credentials (AZURE_CLIENT_SECRET)",
            Identity::AppService { .. } => "App Service managed identity (IDENTITY_ENDPOINT)",
            Identity::Imds { .. } => "managed identity (IMDS)",
        }
    }
}

type Lookup<'a> = &'a dyn Fn(&str) -> Option<String>;

/// Trimmed, empty meaning unset (as the settings read every variable).
fn get(lookup: Lookup<'_>, var: &str) -> Option<String> {
    lookup(var)
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
}

/// Is `var` given, directly or as `{var}_FILE`?
pub(crate) fn is_set(lookup: Lookup<'_>, var: &str) -> bool {
    get(lookup, var).is_some() || get(lookup, &format!("{var}_FILE")).is_some()
}

/// A secret variable, or the content of the file `{var}_FILE` names (container secrets), by the
/// same rule every setting follows.
fn secret(lookup: Lookup<'_>, var: &'static str) -> Result<Option<SecretString>, KeyVaultError> {
    crate::config::read_var(lookup, var)
        .map(|v| v.map(SecretString::from))
        .map_err(|e| KeyVaultError::Config {
            var: e.var,
            message: e.message,
        })
}

/// An absolute http(s) URL without query or fragment, returned without a trailing slash.
fn url(var: &'static str, value: &str) -> Result<url::Url, KeyVaultError> {
    let bad = |why: String| KeyVaultError::Config {
        var,
        message: format!("{why}, got '{value}'"),
    };
    let parsed = url::Url::parse(value).map_err(|e| bad(format!("not a URL ({e})")))?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
        return Err(bad("must be an http(s) URL with a host".into()));
    }
    if parsed.query().is_some() || parsed.fragment().is_some() {
        return Err(bad("must not carry a query or fragment".into()));
    }
    Ok(parsed)
}

fn without_trailing_slash(u: &url::Url) -> String {
    u.as_str().trim_end_matches('/').to_string()
}

/// Vault names: 3-24 characters, letters, digits and dashes. Checked because the name becomes
/// a host name.
fn valid_vault_name(name: &str) -> bool {
    (3..=24).contains(&name.len()) && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

/// The token resource for a vault host: its cloud's vault suffix; the public cloud's for
/// anything else (a private endpoint's alias, a test server).
fn resource_for(host: &str) -> String {
    let host = host.to_ascii_lowercase();
    let suffix = VAULT_SUFFIXES
        .iter()
        .find(|s| host.ends_with(&format!(".{s}")))
        .unwrap_or(&PUBLIC_VAULT_SUFFIX);
    format!("https://{suffix}")
}

/// A tenant goes into the token URL's path: a GUID or a domain, nothing that could change the
/// path.
fn valid_tenant(tenant: &str) -> bool {
    !tenant.is_empty()
        && tenant
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
}

impl VaultConfig {
    /// `None` when neither `AZURE_KEY_VAULT_NAME` nor `AZURE_KEY_VAULT_URL` is set: no vault.
    pub fn from_lookup(lookup: Lookup<'_>) -> Result<Option<VaultConfig>, KeyVaultError> {
        let name = get(lookup, "AZURE_KEY_VAULT_NAME");
        let given_url = get(lookup, "AZURE_KEY_VAULT_URL");
        if let Some(n) = &name
            && !valid_vault_name(n)
        {
            return Err(KeyVaultError::Config {
                var: "AZURE_KEY_VAULT_NAME",
                message: format!("a vault name is 3-24 letters, digits and dashes, got '{n}'"),
            });
        }
        let vault_url = match (&given_url, &name) {
            (Some(u), _) => url("AZURE_KEY_VAULT_URL", u)?,
            (None, Some(n)) => url(
                "AZURE_KEY_VAULT_NAME",
                &format!("https://{n}.{PUBLIC_VAULT_SUFFIX}"),
            )?,
            (None, None) => return Ok(None),
        };
        let host = vault_url.host_str().unwrap_or_default().to_string();
        let name = name.unwrap_or_else(|| host.clone());
        Ok(Some(VaultConfig {
            name,
            url: without_trailing_slash(&vault_url),
            resource: resource_for(&host),
            identity: identity(lookup)?,
        }))
    }
}

/// Client credentials when all three are set (as the Azure SDKs' environment credential), else
/// App Service's identity endpoint when the platform announces one, else IMDS.
fn identity(lookup: Lookup<'_>) -> Result<Identity, KeyVaultError> {
    let tenant = get(lookup, "AZURE_TENANT_ID");
    let client_id = get(lookup, "AZURE_CLIENT_ID");
    let client_secret = secret(lookup, "AZURE_CLIENT_SECRET")?;
    if let Some(secret) = client_secret {
        let (Some(tenant_id), Some(client_id)) = (tenant, client_id) else {
            return Err(KeyVaultError::Config {
                var: "AZURE_CLIENT_SECRET",
                message: "needs AZURE_TENANT_ID and AZURE_CLIENT_ID as well (or unset it to use a managed identity)".into(),
            });
        };
        if !valid_tenant(&tenant_id) {
            return Err(KeyVaultError::Config {
                var: "AZURE_TENANT_ID",
                message: format!("expected a tenant id or domain, got '{tenant_id}'"),
            });
        }
        let host = get(lookup, "AZURE_AUTHORITY_HOST")
            .unwrap_or_else(|| DEFAULT_AUTHORITY_HOST.to_string());
        let authority = url("AZURE_AUTHORITY_HOST", &host)?;
        return Ok(Identity::ClientSecret {
            authority_host: without_trailing_slash(&authority),
            tenant_id,
            client_id,
            secret,
        });
    }
    if let Some(endpoint) = get(lookup, "IDENTITY_ENDPOINT") {
        let endpoint = url("IDENTITY_ENDPOINT", &endpoint)?;
        let Some(header) = secret(lookup, "IDENTITY_HEADER")? else {
            return Err(KeyVaultError::Config {
                var: "IDENTITY_HEADER",
                message: "required with IDENTITY_ENDPOINT (App Service, Functions and Container Apps set both; Azure Arc's identity endpoint is not supported)".into(),
            });
        };
        return Ok(Identity::AppService {
            endpoint: endpoint.as_str().to_string(),
            header,
            client_id,
        });
    }
    let endpoint =
        get(lookup, "AZURE_IMDS_ENDPOINT").unwrap_or_else(|| DEFAULT_IMDS_ENDPOINT.to_string());
    let mut endpoint = url("AZURE_IMDS_ENDPOINT", &endpoint)?;
    // `http://169.254.169.254` alone means the usual token path on that host.
    if endpoint.path() == "/" {
        endpoint.set_path(IMDS_TOKEN_PATH);
    }
    Ok(Identity::Imds {
        endpoint: endpoint.as_str().to_string(),
        client_id,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use secrecy::ExposeSecret;
    use std::collections::HashMap;

    fn config(pairs: &[(&str, &str)]) -> Result<Option<VaultConfig>, KeyVaultError> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        VaultConfig::from_lookup(&|k| map.get(k).cloned())
    }

    fn var_of(err: KeyVaultError) -> &'static str {
        match err {
            KeyVaultError::Config { var, .. } => var,
            other => panic!("not a config error: {other}"),
        }
    }

    #[test]
    fn no_vault_variables_means_no_vault() {
        assert!(config(&[]).unwrap().is_none());
        assert!(config(&[("AZURE_KEY_VAULT_NAME", "  ")]).unwrap().is_none());
    }

    #[test]
    fn a_name_becomes_a_public_cloud_vault_read_through_imds() {
        let c = config(&[("AZURE_KEY_VAULT_NAME", "contoso-kv")])
            .unwrap()
            .unwrap();
        assert_eq!(c.name, "contoso-kv");
        assert_eq!(c.url, "https://contoso-kv.vault.azure.net");
        assert_eq!(c.resource, "https://vault.azure.net");
        let Identity::Imds {
            endpoint,
            client_id,
        } = c.identity
        else {
            panic!("expected IMDS");
        };
        assert_eq!(endpoint, DEFAULT_IMDS_ENDPOINT);
        assert!(client_id.is_none());
    }

    #[test]
    fn a_url_wins_over_the_name_and_picks_its_cloud() {
        let c = config(&[
            ("AZURE_KEY_VAULT_NAME", "contoso-kv"),
            (
                "AZURE_KEY_VAULT_URL",
                "https://contoso-kv.vault.usgovcloudapi.net/",
            ),
        ])
        .unwrap()
        .unwrap();
        assert_eq!(c.name, "contoso-kv");
        assert_eq!(c.url, "https://contoso-kv.vault.usgovcloudapi.net");
        assert_eq!(c.resource, "https://vault.usgovcloudapi.net");
        let c = config(&[("AZURE_KEY_VAULT_URL", "http://127.0.0.1:9000")])
            .unwrap()
            .unwrap();
        assert_eq!(c.name, "127.0.0.1");
        assert_eq!(c.resource, "https://vault.azure.net");
    }

    #[test]
    fn identity_is_client_credentials_then_app_service_then_imds() {
        let vault = ("AZURE_KEY_VAULT_NAME", "contoso-kv");
        let all = [
            vault,
            ("AZURE_TENANT_ID", "contoso.onmicrosoft.com"),
            ("AZURE_CLIENT_ID", "app"),
            ("AZURE_CLIENT_SECRET", "s3cret-value"),
            ("IDENTITY_ENDPOINT", "http://localhost:42356/msi/token"),
            ("IDENTITY_HEADER", "h"),
        ];
        let c = config(&all).unwrap().unwrap();
        let Identity::ClientSecret {
            authority_host,
            tenant_id,
            secret,
            ..
        } = &c.identity
        else {
            panic!("expected client credentials");
        };
        assert_eq!(authority_host, DEFAULT_AUTHORITY_HOST);
        assert_eq!(tenant_id, "contoso.onmicrosoft.com");
        assert_eq!(secret.expose_secret(), "s3cret-value");
        assert!(!format!("{c:?}").contains("s3cret-value"));

        let c = config(&all[..2]).unwrap().unwrap();
        assert!(
            matches!(c.identity, Identity::Imds { .. }),
            "tenant alone is not enough"
        );
        let c = config(&[vault, all[2], all[4], all[5]]).unwrap().unwrap();
        let Identity::AppService { client_id, .. } = c.identity else {
            panic!("expected App Service");
        };
        assert_eq!(
            client_id.as_deref(),
            Some("app"),
            "AZURE_CLIENT_ID picks a user-assigned identity"
        );
        let c = config(&[vault, ("AZURE_IMDS_ENDPOINT", "http://127.0.0.1:8010")])
            .unwrap()
            .unwrap();
        let Identity::Imds { endpoint, .. } = c.identity else {
            panic!("expected IMDS");
        };
        assert_eq!(
            endpoint,
            "http://127.0.0.1:8010/metadata/identity/oauth2/token"
        );
    }

    #[test]
    fn bad_values_name_their_variable() {
        let vault = ("AZURE_KEY_VAULT_NAME", "contoso-kv");
        for (pairs, var) in [
            (vec![("AZURE_KEY_VAULT_NAME", "x")], "AZURE_KEY_VAULT_NAME"),
            (
                vec![("AZURE_KEY_VAULT_NAME", "evil.example.org/")],
                "AZURE_KEY_VAULT_NAME",
            ),
            (
                vec![("AZURE_KEY_VAULT_URL", "vault")],
                "AZURE_KEY_VAULT_URL",
            ),
            (
                vec![("AZURE_KEY_VAULT_URL", "ftp://kv")],
                "AZURE_KEY_VAULT_URL",
            ),
            (
                vec![("AZURE_KEY_VAULT_URL", "https://kv/?x=1")],
                "AZURE_KEY_VAULT_URL",
            ),
            (
                vec![vault, ("AZURE_CLIENT_SECRET", "s")],
                "AZURE_CLIENT_SECRET",
            ),
            (
                vec![
                    vault,
                    ("AZURE_TENANT_ID", "../common"),
                    ("AZURE_CLIENT_ID", "c"),
                    ("AZURE_CLIENT_SECRET", "s"),
                ],
                "AZURE_TENANT_ID",
            ),
            (
                vec![
                    vault,
                    ("AZURE_TENANT_ID", "t"),
                    ("AZURE_CLIENT_ID", "c"),
                    ("AZURE_CLIENT_SECRET", "s"),
                    ("AZURE_AUTHORITY_HOST", "login"),
                ],
                "AZURE_AUTHORITY_HOST",
            ),
            (
                vec![vault, ("IDENTITY_ENDPOINT", "http://localhost:1/msi/token")],
                "IDENTITY_HEADER",
            ),
            (
                vec![vault, ("AZURE_IMDS_ENDPOINT", "169.254.169.254")],
                "AZURE_IMDS_ENDPOINT",
            ),
        ] {
            let err = config(&pairs).unwrap_err();
            let text = err.to_string();
            assert_eq!(var_of(err), var, "{pairs:?}");
            assert!(text.starts_with(var), "{text}");
        }
    }

    #[test]
    fn the_client_secret_can_come_from_a_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secret");
        std::fs::write(&path, "from-a-file\n").unwrap();
        let path = path.to_string_lossy().to_string();
        let base = [
            ("AZURE_KEY_VAULT_NAME", "contoso-kv"),
            ("AZURE_TENANT_ID", "t"),
            ("AZURE_CLIENT_ID", "c"),
            ("AZURE_CLIENT_SECRET_FILE", path.as_str()),
        ];
        let c = config(&base).unwrap().unwrap();
        let Identity::ClientSecret { secret, .. } = c.identity else {
            panic!("expected client credentials");
        };
        assert_eq!(secret.expose_secret(), "from-a-file");
        let mut both = base.to_vec();
        both.push(("AZURE_CLIENT_SECRET", "direct"));
        assert_eq!(var_of(config(&both).unwrap_err()), "AZURE_CLIENT_SECRET");
    }
}
