//! Why the vault could not be read. Every message names the vault (and the secret, when one is
//! concerned) so an operator knows where to look; none carries a secret value or a token: the
//! details quoted from remote answers are error codes and messages only, with any credential
//! the loader holds cut out.

#[derive(Debug, thiserror::Error)]
pub enum KeyVaultError {
    /// A vault or identity variable is invalid.
    #[error("{var}: {message}")]
    Config { var: &'static str, message: String },

    #[error("Key Vault '{vault}': cannot set up HTTP: {reason}")]
    Client { vault: String, reason: String },

    #[error("Key Vault '{vault}': the {identity} token endpoint is unreachable at {url}: {reason}")]
    IdentityUnreachable {
        vault: String,
        identity: &'static str,
        url: String,
        reason: String,
    },

    #[error(
        "Key Vault '{vault}': the {identity} gave no token for {resource} ({status}): {detail}"
    )]
    IdentityRefused {
        vault: String,
        identity: &'static str,
        resource: String,
        status: String,
        detail: String,
    },

    #[error("Key Vault '{vault}' is unreachable at {url}: {reason}")]
    Unreachable {
        vault: String,
        url: String,
        reason: String,
    },

    #[error(
        "Key Vault '{vault}': secret '{secret}': access denied ({status}): give the identity 'Get' permission on secrets ({detail})"
    )]
    Forbidden {
        vault: String,
        secret: String,
        status: String,
        detail: String,
    },

    #[error(
        "Key Vault '{vault}': secret '{secret}': the vault refused the token ({status}): {detail}"
    )]
    Unauthorized {
        vault: String,
        secret: String,
        status: String,
        detail: String,
    },

    #[error("Key Vault '{vault}': secret '{secret}': unexpected answer {status}: {detail}")]
    Status {
        vault: String,
        secret: String,
        status: String,
        detail: String,
    },

    #[error("Key Vault '{vault}': secret '{secret}': the answer is not a secret ({reason})")]
    Malformed {
        vault: String,
        secret: String,
        reason: String,
    },
}
