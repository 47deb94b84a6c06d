use crate::{
    adopt_sign_in::{adopt, Adoption},
    cache_args::{warn_if_plaintext, CacheArgs},
    cli_error::CliError,
    config_dir::ConfigDir,
    device_code::{headless, prompt_callback, until_interrupted},
    saved_sign_in::{LoginSettings, SavedSignIn},
    shared_cache::SharedCache,
    sign_in::{
        authority_host, client_id, credential_options, device_code_options, RequestTimeoutArgs,
        SignInMode, CLIENT_ID_ENV,
    },
    terminal_text::printable,
};
use clap::Args;
use mr_auth_broker::{
    AuthenticationRecord, AuthorityHost, DeviceCodeCredential, InteractiveBrowserBrokerCredential,
    TenantId, TokenCachePersistenceOptions,
};

/// The scope `login` asks for when none is given: Azure Resource Manager, as `az login` and
/// azure-identity's `authenticate()` do. Any scope gives the refresh token later commands use.
const DEFAULT_LOGIN_SCOPE: &str = "https://management.azure.com//.default";

/// The longest user name shown; real ones are e-mail addresses.
const MAX_DISPLAYED_NAME: usize = 256;

/// Arguments of `mr-auth login`.
#[derive(Debug, Args)]
pub(crate) struct LoginArgs {
    /// The tenant to sign in to (a tenant id or domain; `organizations` accepts any work or
    /// school account).
    #[arg(long, default_value = "organizations", value_name = "TENANT")]
    tenant: String,
    /// How to sign in [default: browser; device-code where no browser here can reach the
    /// sign-in's loopback redirect: no display, or an SSH session, without BROWSER]. The
    /// browser's and the device code's tokens go to the persistent cache every later process
    /// reads; the broker keeps its own (silent in later processes on Linux, not yet with
    /// Windows' WAM).
    #[arg(long, value_enum)]
    aad: Option<SignInMode>,
    /// Sign in with a device code (as `az login --use-device-code`): open the address it
    /// prints on any device and enter the code. The same as `--aad device-code`.
    #[arg(long, conflicts_with = "aad")]
    use_device_code: bool,
    /// The scope to consent to while signing in (repeatable).
    #[arg(long, value_name = "SCOPE", default_value = DEFAULT_LOGIN_SCOPE)]
    scope: Vec<String>,
    /// The app registration (public client) to sign in with [default: the Azure CLI's,
    /// 04b07795-8ddb-461a-bbee-02f9e1bf7b46].
    #[arg(long, env = CLIENT_ID_ENV, value_name = "CLIENT_ID")]
    client_id: Option<String>,
    /// The account to sign in: the one to adopt when the shared token cache holds several
    /// sign-ins, else the one the sign-in page is filled in for.
    #[arg(long, value_name = "USER")]
    username: Option<String>,
    /// Sign in anew (browser, broker or device code) even when the shared token cache already
    /// holds a sign-in of this client id that `login` could adopt.
    #[arg(long)]
    prompt: bool,
    #[command(flatten)]
    cache: CacheArgs,
    #[command(flatten)]
    request_timeout: RequestTimeoutArgs,
}

/// Signs in (adopting a sign-in already in the shared token cache, else interactively), keeps
/// the tokens in the persistent cache and the account in the configuration directory, and
/// prints who signed in (never a token).
pub(crate) async fn run(args: LoginArgs) -> Result<(), CliError> {
    let dir = ConfigDir::from_env()?;
    let persistence = args.cache.persistence(None);
    // Before anything asks the user to sign in: the sign-in can be saved here. The cache its
    // tokens go to is checked by the credential, before the browser (the broker keeps its own).
    dir.check_writable()?;
    let authority_host = authority_host(None)?;
    let tenant =
        TenantId::new(&args.tenant).map_err(|e| CliError::bad_input(format!("--tenant: {e}")))?;
    let scopes: Vec<&str> = args.scope.iter().map(String::as_str).collect();
    // The broker keeps its own sign-ins: there is nothing of it in the cache to adopt.
    let adoption = if args.prompt || args.aad == Some(SignInMode::Broker) {
        Adoption::SignIn
    } else {
        let cache = SharedCache {
            client_id: client_id(args.client_id.as_deref())?,
            authority_host: authority_host.clone(),
            persistence: persistence.clone(),
            request_timeout: args.request_timeout.duration(),
        };
        until_interrupted(adopt(&cache, args.username.as_deref(), &tenant, &scopes)).await?
    };
    // The way it signed in: `None` when it adopted a sign-in.
    let (record, mode) = match adoption {
        Adoption::Adopted(record) => (record, None),
        Adoption::SignIn => {
            let mode = sign_in_mode(&args);
            let record = until_interrupted(sign_in(
                mode,
                &args,
                &scopes,
                authority_host.clone(),
                persistence.clone(),
            ))
            .await?;
            (record, Some(mode))
        }
    };
    let saved = SavedSignIn {
        record,
        settings: LoginSettings {
            broker: mode == Some(SignInMode::Broker),
            tenant: args.tenant,
            authority_host: authority_host.to_string(),
            cache_name: persistence.name.clone(),
            allow_unencrypted_storage: persistence.allow_unencrypted_storage,
        },
    };
    saved.save(&dir)?;
    warn_if_plaintext(&persistence).await;
    println!(
        "Signed in as {} (tenant {}){}",
        display_name(saved.record.username()),
        saved.record.tenant_id().as_str(),
        if mode.is_none() {
            ", adopting the sign-in already in the shared token cache"
        } else {
            ""
        }
    );
    tracing::debug!(config_dir = %dir.path().display(), "saved the sign-in");
    Ok(())
}

/// `--use-device-code`, else `--aad`, else the device code where no browser here can reach
/// the loopback (said in one line on stderr), else the browser.
fn sign_in_mode(args: &LoginArgs) -> SignInMode {
    if args.use_device_code {
        return SignInMode::DeviceCode;
    }
    if let Some(mode) = args.aad {
        return mode;
    }
    match headless() {
        Some(why) => {
            eprintln!("mr-auth: signing in with a device code: {why} (pass --aad browser to use a browser anyway)");
            SignInMode::DeviceCode
        }
        None => SignInMode::Browser,
    }
}

/// Signs in with the credential of `mode` and returns the account's record.
async fn sign_in(
    mode: SignInMode,
    args: &LoginArgs,
    scopes: &[&str],
    authority_host: AuthorityHost,
    persistence: TokenCachePersistenceOptions,
) -> Result<AuthenticationRecord, CliError> {
    let client_id = client_id(args.client_id.as_deref())?;
    let mut options = credential_options(
        mode,
        &args.tenant,
        client_id,
        authority_host,
        None,
        Some(persistence),
        args.request_timeout,
    )?;
    if mode == SignInMode::DeviceCode {
        let options = device_code_options(options);
        let credential = DeviceCodeCredential::new(prompt_callback(), Some(options))?;
        return Ok(credential.authenticate(scopes, None).await?);
    }
    // `--username` fills in the sign-in page (the device code's has no such field).
    options.login_hint.clone_from(&args.username);
    let credential = InteractiveBrowserBrokerCredential::new(Some(options))?;
    Ok(credential.authenticate(scopes, None).await?)
}

/// The user name for people (it comes from the authority, or from the saved record, a file
/// anyone with the user's rights can edit): bounded, without control characters or
/// bidirectional overrides, so it cannot drive the terminal; a record may have none (MSAL's
/// schema allows an empty one).
pub(crate) fn display_name(username: &str) -> String {
    let clean = mr_auth_core::outside_text(printable(username).trim(), MAX_DISPLAYED_NAME);
    if clean.is_empty() {
        "an account without a user name".to_owned()
    } else {
        clean
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_names_cannot_drive_the_terminal() {
        assert_eq!(display_name("user@contoso.com"), "user@contoso.com");
        assert_eq!(
            display_name("evil\u{1b}]0;title\u{7}\r\nname\u{202e}"),
            "evil]0;titlename"
        );
        assert!(display_name(&"a".repeat(5000)).len() <= MAX_DISPLAYED_NAME + 3);
        assert_eq!(display_name(""), "an account without a user name");
    }
}
