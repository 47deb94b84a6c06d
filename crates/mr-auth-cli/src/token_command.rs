use crate::cli_error::CliError;
use azure_core::credentials::TokenCredential;
use clap::{Args, ValueEnum};
use mr_auth_broker::{
    AuthorizeUrlHandler, BrokerMode, InteractiveBrowserBrokerCredential,
    InteractiveBrowserBrokerCredentialOptions, SystemBrowser,
};
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
    /// A PEM file of extra root certificates to trust (e.g. the emulator's CA).
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
    /// The Azure AD scope to request (default: `https://sts.mixedreality.azure.com//.default`).
    #[arg(long, requires = "aad")]
    aad_scope: Option<String>,
    /// What to print.
    #[arg(long, value_enum, default_value_t = TokenOutput::Json)]
    output: TokenOutput,
    /// Give up after this many seconds.
    #[arg(long, default_value_t = 60)]
    timeout_secs: u64,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum AadSource {
    /// The Azure CLI or Azure Developer CLI sign-in (azure_identity's DeveloperToolsCredential).
    DeveloperTools,
    /// Interactive sign-in through the OS broker (WAM on Windows, the Microsoft identity broker
    /// over D-Bus on Linux), else the system browser.
    Broker,
    /// Interactive sign-in through the system browser, even where the OS has a broker.
    Browser,
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
        let pem = std::fs::read_to_string(path).map_err(|e| {
            CliError::bad_input(format!("cannot read the CA file {}: {e}", path.display()))
        })?;
        options.extra_root_certificates_pem.push(pem);
    }
    let credential: Arc<dyn TokenCredential> = match args.aad {
        Some(AadSource::DeveloperTools) => azure_identity::DeveloperToolsCredential::new(None)
            .map_err(|e| {
                CliError::other(format!("cannot set up the developer-tools credential: {e}"))
            })?,
        Some(source @ (AadSource::Broker | AadSource::Browser)) => {
            let broker_options = InteractiveBrowserBrokerCredentialOptions {
                broker: match source {
                    AadSource::Browser => BrokerMode::BrowserOnly,
                    _ => BrokerMode::Platform,
                },
                // The library never prints; the CLI shows the URL (headless sessions open it
                // elsewhere) and tries the system browser too.
                authorize_url_handler: AuthorizeUrlHandler::callback(|url| {
                    eprintln!("To sign in, open this address in a browser:\n{url}");
                    let _ = SystemBrowser.open(url);
                    Ok(())
                }),
                ..Default::default()
            };
            InteractiveBrowserBrokerCredential::new(Some(broker_options)).map_err(|e| {
                CliError::bad_input(format!("cannot set up the interactive credential: {e}"))
            })?
        }
        None => AccountKeyCredential::new(account_id, read_key(&args)?),
    };
    let client = MixedRealityStsClient::new(account_id, account_domain, credential, Some(options))?;
    let token = client.get_token().await?;
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
