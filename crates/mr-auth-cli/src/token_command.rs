use crate::{
    cache_args::{warn_if_plaintext, CacheArgs},
    cli_error::CliError,
    config_dir::ConfigDir,
    device_code::{prompt_callback, until_interrupted},
    saved_sign_in::SavedSignIn,
    sign_in::{
        authority_host, client_id, credential_options, device_code_options, RequestTimeoutArgs,
        SignInMode, CLIENT_ID_ENV,
    },
};
use azure_core::credentials::TokenCredential;
use clap::{Args, ValueEnum};
use mr_auth_broker::{ClientId, DeviceCodeCredential, InteractiveBrowserBrokerCredential};
use mr_auth_core::{
    AccountDomain, AccountId, MixedRealityStsClient, MixedRealityStsClientOptions, StsEndpoint,
};
use mr_auth_credentials::{AccountKey, AccountKeyCredential};
use serde_json::json;
use std::{
    io::{BufRead as _, IsTerminal as _},
    path::PathBuf,
    sync::Arc,
    time::Duration,
};
use time::format_description::well_known::Rfc3339;

/// Arguments of `mr-auth token`.
///
/// The account key is never taken as an argument (it would land in shell history): it is read
/// from the environment variable named by `--key-env`, from standard input with
/// `--key-stdin`, or from a prompt when standard input is a terminal.
#[derive(Debug, Args)]
pub(crate) struct TokenArgs {
    /// The Mixed Reality account id (a UUID).
    #[arg(long, env = "MIXEDREALITY_ACCOUNT_ID")]
    account_id: String,
    /// The account domain, e.g. eastus2.mixedreality.azure.com.
    #[arg(long, env = "MIXEDREALITY_ACCOUNT_DOMAIN")]
    account_domain: String,
    /// A custom STS endpoint replacing `https://sts.<domain>` (e.g. the emulator's).
    #[arg(long, env = "MIXEDREALITY_STS_ENDPOINT")]
    endpoint: Option<String>,
    /// A PEM file of extra root certificates to trust (e.g. the emulator's CA): a regular file
    /// of at most 4 MiB.
    #[arg(long)]
    ca_file: Option<PathBuf>,
    /// Trust only the certificates of --ca-file, not the system's roots (a pinned private STS).
    #[arg(long, requires = "ca_file")]
    no_system_roots: bool,
    /// The environment variable holding the account key.
    #[arg(long, default_value = "MIXEDREALITY_ACCOUNT_KEY")]
    key_env: String,
    /// Read the account key from the first line of standard input.
    #[arg(long, conflicts_with = "aad")]
    key_stdin: bool,
    /// Authenticate with an Azure AD credential instead of an account key.
    #[arg(long, value_enum)]
    aad: Option<AadSource>,
    /// With --aad broker|browser|device-code: the tenant to sign in to [default: the one
    /// `mr-auth login` used, else organizations]. The app registration is the one `login`
    /// used, else `MR_AUTH_CLIENT_ID`'s, else the Azure CLI's.
    #[arg(long, requires = "aad", value_name = "TENANT")]
    tenant: Option<String>,
    /// The Azure AD scope to request (default: `https://sts.mixedreality.azure.com//.default`).
    #[arg(long, requires = "aad")]
    aad_scope: Option<String>,
    /// With --aad broker|browser|device-code: keep the Azure AD tokens in memory only,
    /// neither using nor changing the persistent cache and the account `mr-auth login` saved.
    #[arg(long, requires = "aad")]
    no_persistent_cache: bool,
    #[command(flatten)]
    cache: CacheArgs,
    /// What to print.
    #[arg(long, value_enum, default_value_t = TokenOutput::Json)]
    output: TokenOutput,
    /// Give up after this many seconds.
    #[arg(long, default_value_t = 60)]
    timeout_secs: u64,
    #[command(flatten)]
    request_timeout: RequestTimeoutArgs,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum AadSource {
    /// The Azure CLI or Azure Developer CLI sign-in (azure_identity's DeveloperToolsCredential).
    DeveloperTools,
    /// Sign-in through the OS broker (WAM on Windows, the Microsoft identity broker over D-Bus
    /// on Linux), else the system browser; silent for the account `mr-auth login` saved.
    Broker,
    /// Sign-in through the system browser, even where the OS has a broker; silent for the
    /// account `mr-auth login` saved, from the persistent cache.
    Browser,
    /// Sign-in with a device code (the address and code are printed on stderr); silent for
    /// the account `mr-auth login` saved, from the persistent cache.
    DeviceCode,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum TokenOutput {
    /// {"token", "expires_on", "expires_on_unix", "ms_cv"}.
    Json,
    /// The token alone, for scripts.
    Token,
}

fn read_key(args: &TokenArgs) -> Result<AccountKey, CliError> {
    let key = if args.key_stdin {
        // Zeroized when dropped; the key is moved (not copied) out of it into the AccountKey,
        // which zeroizes it in turn.
        let mut line = zeroize::Zeroizing::new(String::new());
        std::io::stdin().lock().read_line(&mut line).map_err(|e| {
            CliError::bad_input(format!(
                "could not read the account key from standard input: {e}"
            ))
        })?;
        let key_len = line.trim_end_matches(['\r', '\n']).len();
        line.truncate(key_len);
        std::mem::take(&mut *line)
    } else if let Ok(key) = std::env::var(&args.key_env) {
        key
    } else if std::io::stdin().is_terminal() {
        rpassword::prompt_password("Mixed Reality account key: ")
            .map_err(|e| CliError::bad_input(format!("could not read the account key: {e}")))?
    } else {
        return Err(CliError::bad_input(format!(
            "no account key: set {} (or pass --key-stdin, or --aad developer-tools)",
            args.key_env
        )));
    };
    Ok(AccountKey::new(key)?)
}

/// The interactive credential of `--aad broker|browser|device-code`: with the persistent
/// cache (unless `--no-persistent-cache`) and, when `mr-auth login` saved an account, silent
/// for it with the client id, tenant and cache it used. Without a saved account it signs in
/// to `--tenant` (else `organizations`) with `MR_AUTH_CLIENT_ID`'s app (else the Azure CLI's).
async fn interactive_credential(
    mode: SignInMode,
    args: &TokenArgs,
) -> Result<Arc<dyn TokenCredential>, CliError> {
    let unsaved = || -> Result<(String, ClientId, _), CliError> {
        Ok((
            "organizations".to_owned(),
            client_id(std::env::var(CLIENT_ID_ENV).ok().as_deref())?,
            authority_host(None)?,
        ))
    };
    let (tenant, client_id, host, record, persistence) = if args.no_persistent_cache {
        let (tenant, client_id, host) = unsaved()?;
        (tenant, client_id, host, None, None)
    } else {
        let saved = SavedSignIn::load(&ConfigDir::from_env()?)?;
        let persistence = args.cache.persistence(saved.as_ref().map(|s| {
            (
                s.settings.cache_name.as_str(),
                s.settings.allow_unencrypted_storage,
            )
        }));
        warn_if_plaintext(&persistence).await;
        match saved {
            Some(saved) => (
                saved.settings.tenant,
                saved.record.client_id().clone(),
                authority_host(Some(&saved.settings.authority_host))?,
                Some(saved.record),
                Some(persistence),
            ),
            None => {
                let (tenant, client_id, host) = unsaved()?;
                (tenant, client_id, host, None, Some(persistence))
            }
        }
    };
    let tenant = args.tenant.clone().unwrap_or(tenant);
    let options = credential_options(
        mode,
        &tenant,
        client_id,
        host,
        record,
        persistence,
        args.request_timeout,
    )?;
    if mode == SignInMode::DeviceCode {
        let options = device_code_options(options);
        return Ok(DeviceCodeCredential::new(prompt_callback(), Some(options))?);
    }
    Ok(InteractiveBrowserBrokerCredential::new(Some(options))?)
}

pub(crate) async fn run(args: TokenArgs) -> Result<(), CliError> {
    let account_id: AccountId = args.account_id.parse()?;
    let account_domain: AccountDomain = args.account_domain.parse()?;
    let mut options = MixedRealityStsClientOptions {
        timeout: Duration::from_secs(args.timeout_secs.max(1)),
        aad_scope: args.aad_scope.clone(),
        trust_system_roots: !args.no_system_roots,
        ..MixedRealityStsClientOptions::default()
    };
    if let Some(endpoint) = &args.endpoint {
        options.custom_endpoint = Some(StsEndpoint::new(endpoint)?);
    }
    if let Some(path) = &args.ca_file {
        // A regular file of at most 4 MiB, checked on the opened handle: a FIFO or a device
        // fails at once instead of blocking or reading without end.
        let pem = mr_auth_core::read_root_certificates_file(path)?;
        options.extra_root_certificates_pem.push(pem);
    }
    let credential: Arc<dyn TokenCredential> = match args.aad {
        Some(AadSource::DeveloperTools) => azure_identity::DeveloperToolsCredential::new(None)
            .map_err(|e| {
                CliError::other(format!("cannot set up the developer-tools credential: {e}"))
            })?,
        Some(source @ (AadSource::Broker | AadSource::Browser | AadSource::DeviceCode)) => {
            let mode = match source {
                AadSource::Browser => SignInMode::Browser,
                AadSource::DeviceCode => SignInMode::DeviceCode,
                _ => SignInMode::Broker,
            };
            interactive_credential(mode, &args).await?
        }
        None => AccountKeyCredential::new(account_id, read_key(&args)?),
    };
    let client = MixedRealityStsClient::new(account_id, account_domain, credential, Some(options))?;
    // Ctrl-C ends an interactive sign-in's wait (or polling) at once.
    let token = until_interrupted(client.get_token()).await?;
    let secret = token.access_token.token.secret();
    match args.output {
        TokenOutput::Token => println!("{secret}"),
        TokenOutput::Json => {
            let expires_on = token
                .access_token
                .expires_on
                .format(&Rfc3339)
                .map_err(|e| CliError::other(format!("cannot format the expiry: {e}")))?;
            let value = json!({
                "token": secret,
                "expires_on": expires_on,
                "expires_on_unix": token.access_token.expires_on.unix_timestamp(),
                "ms_cv": token.ms_cv,
            });
            println!("{value}");
        }
    }
    Ok(())
}
