//! The Entra ID credential the sign-in commands share: `login`, `entra-token`, `token --aad`.

use crate::{browser, cli_error::CliError};
use clap::ValueEnum;
use mr_auth_broker::{
    AuthenticationRecord, BrokerMode, ClientId, InteractiveBrowserBrokerCredentialOptions,
    TenantId, TokenCachePersistenceOptions,
};

/// How to sign in interactively.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum SignInMode {
    /// The operating system's broker (WAM on Windows, the Microsoft identity broker over
    /// D-Bus on Linux), else the system browser.
    Broker,
    /// The system browser, even where the OS has a broker.
    Browser,
}

/// The variable naming the app registration (a public client) to sign in with.
pub(crate) const CLIENT_ID_ENV: &str = "MR_AUTH_CLIENT_ID";

/// `client_id`, else [`ClientId::DEVELOPER_SIGN_ON`] (the Azure CLI's public client).
pub(crate) fn client_id(given: Option<&str>) -> Result<ClientId, CliError> {
    match given {
        Some(id) => {
            ClientId::new(id).map_err(|e| CliError::bad_input(format!("--client-id: {e}")))
        }
        None => Ok(ClientId::default()),
    }
}

/// The credential's options: the mode, tenant, client id, the account to be silent for and
/// the persistent cache; the authority host from `AZURE_AUTHORITY_HOST` (else the public
/// cloud); the sign-in page shown on stderr and opened in the browser (`BROWSER`).
pub(crate) fn credential_options(
    mode: SignInMode,
    tenant: &str,
    client_id: ClientId,
    record: Option<AuthenticationRecord>,
    persistence: Option<TokenCachePersistenceOptions>,
) -> Result<InteractiveBrowserBrokerCredentialOptions, CliError> {
    let tenant_id =
        TenantId::new(tenant).map_err(|e| CliError::bad_input(format!("--tenant: {e}")))?;
    Ok(InteractiveBrowserBrokerCredentialOptions {
        client_id,
        tenant_id,
        broker: match mode {
            SignInMode::Broker => BrokerMode::Platform,
            SignInMode::Browser => BrokerMode::BrowserOnly,
        },
        // The library never prints; the CLI shows the address (headless sessions open it
        // elsewhere) and starts a browser on it.
        authorize_url_handler: browser::authorize_url_handler(),
        authentication_record: record,
        token_cache_persistence: persistence,
        ..Default::default()
    })
}
