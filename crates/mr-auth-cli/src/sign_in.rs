//! The Entra ID credential the sign-in commands share: `login`, `entra-token`, `token --aad`.

use crate::{browser, cli_error::CliError};
use clap::{Args, ValueEnum};
use mr_auth_broker::{
    AuthenticationRecord, AuthorityHost, BrokerMode, ClientId, DeviceCodeCredentialOptions,
    InteractiveBrowserBrokerCredentialOptions, ProcessEnvironment, TenantId,
    TokenCachePersistenceOptions, DEFAULT_REQUEST_TIMEOUT,
};
use std::time::Duration;

/// The most `--request-timeout-secs` may be: an hour.
const MAX_REQUEST_TIMEOUT_SECS: u64 = 3600;

/// The bound of each call to the authority, for the commands that reach it.
#[derive(Debug, Clone, Copy, Args)]
pub(crate) struct RequestTimeoutArgs {
    /// The most one call to the authority's token or device code endpoint may take, in
    /// seconds, retries and the waits between them included (each try is also bounded: 20 s,
    /// or this when shorter). A silent token that cannot be had within it fails naming the
    /// cause and the tries; a refused connection fails within seconds
    #[arg(
        long,
        value_name = "SECS",
        default_value_t = DEFAULT_REQUEST_TIMEOUT.as_secs(),
        value_parser = clap::value_parser!(u64).range(1..=MAX_REQUEST_TIMEOUT_SECS),
    )]
    pub(crate) request_timeout_secs: u64,
}

impl RequestTimeoutArgs {
    /// The bound as the credentials take it.
    pub(crate) fn duration(self) -> Duration {
        Duration::from_secs(self.request_timeout_secs)
    }
}

/// How to sign in interactively.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum SignInMode {
    /// The operating system's broker (WAM on Windows, the Microsoft identity broker over
    /// D-Bus on Linux), else the system browser.
    Broker,
    /// The system browser, even where the OS has a broker.
    Browser,
    /// A device code: open the address it prints on any device and enter the code (for
    /// machines without a browser: SSH sessions, containers).
    DeviceCode,
}

/// The variable naming the app registration (a public client) to sign in with.
pub(crate) const CLIENT_ID_ENV: &str = "MR_AUTH_CLIENT_ID";

/// `client_id`, else [`ClientId::DEVELOPER_SIGN_ON`] (the Azure CLI's public client).
pub(crate) fn client_id(given: Option<&str>) -> Result<ClientId, CliError> {
    match given {
        Some(id) => ClientId::new(id).map_err(|e| CliError::bad_input(format!("--client-id: {e}"))),
        None => Ok(ClientId::default()),
    }
}

/// The authority host: `AZURE_AUTHORITY_HOST` when set, else `saved` (what `login` used),
/// else the public cloud.
pub(crate) fn authority_host(saved: Option<&str>) -> Result<AuthorityHost, CliError> {
    let from_env =
        std::env::var_os(AuthorityHost::ENVIRONMENT_VARIABLE).is_some_and(|v| !v.is_empty());
    match saved {
        Some(host) if !from_env => AuthorityHost::new(host).map_err(|e| {
            CliError::not_signed_in(format!(
                "the saved authority host {host:?} is not valid ({e}); run `mr-auth login` again"
            ))
        }),
        _ => Ok(AuthorityHost::resolve(None, &ProcessEnvironment)?),
    }
}

/// The credential's options: the mode, tenant, client id, authority host, the account to be
/// silent for, the persistent cache and the bound of each call to the authority; the sign-in page shown on stderr and opened in the
/// browser (`BROWSER`).
pub(crate) fn credential_options(
    mode: SignInMode,
    tenant: &str,
    client_id: ClientId,
    authority_host: AuthorityHost,
    record: Option<AuthenticationRecord>,
    persistence: Option<TokenCachePersistenceOptions>,
    request_timeout: RequestTimeoutArgs,
) -> Result<InteractiveBrowserBrokerCredentialOptions, CliError> {
    let tenant_id =
        TenantId::new(tenant).map_err(|e| CliError::bad_input(format!("--tenant: {e}")))?;
    Ok(InteractiveBrowserBrokerCredentialOptions {
        client_id,
        tenant_id,
        authority: Some(authority_host),
        broker: match mode {
            SignInMode::Broker => BrokerMode::Platform,
            SignInMode::Browser | SignInMode::DeviceCode => BrokerMode::BrowserOnly,
        },
        // The library never prints; the CLI shows the address (headless sessions open it
        // elsewhere) and starts a browser on it.
        authorize_url_handler: browser::authorize_url_handler(),
        authentication_record: record,
        cache_persistence_options: persistence,
        request_timeout: request_timeout.duration(),
        ..Default::default()
    })
}

/// The device code credential's options for the sign-in `options` describe: its tenant,
/// client id, authority host, the account to be silent for, the persistent cache and the bound
/// of each call to the authority. It waits as long as the code is valid.
pub(crate) fn device_code_options(
    options: InteractiveBrowserBrokerCredentialOptions,
) -> DeviceCodeCredentialOptions {
    DeviceCodeCredentialOptions {
        client_id: options.client_id,
        tenant_id: options.tenant_id,
        authority: options.authority,
        authentication_record: options.authentication_record,
        cache_persistence_options: options.cache_persistence_options,
        request_timeout: options.request_timeout,
        ..Default::default()
    }
}
