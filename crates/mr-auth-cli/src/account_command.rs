//! `mr-auth account list`: the sign-ins in the shared token cache for the client id, whichever
//! MSAL app made them, and which one `mr-auth login` saved.

use crate::{
    cache_args::CacheArgs,
    cli_error::CliError,
    config_dir::ConfigDir,
    saved_sign_in::SavedSignIn,
    shared_cache::SharedCache,
    sign_in::{authority_host, client_id, CLIENT_ID_ENV},
    terminal_text::printable,
};
use clap::{Args, Subcommand, ValueEnum};
use mr_auth_broker::CachedAccount;
use serde_json::json;

/// Arguments of `mr-auth account`.
#[derive(Debug, Args)]
pub(crate) struct AccountArgs {
    #[command(subcommand)]
    command: AccountCommand,
}

#[derive(Debug, Subcommand)]
enum AccountCommand {
    /// List the accounts signed in to the shared token cache for the client id (by
    /// `mr-auth login`, azure-identity, MSAL...), and which one `mr-auth login` saved.
    List(ListArgs),
}

/// Arguments of `mr-auth account list`.
#[derive(Debug, Args)]
struct ListArgs {
    /// What to print.
    #[arg(long, value_enum, default_value_t = ListOutput::Table)]
    output: ListOutput,
    /// The app registration whose sign-ins to list [default: the one `mr-auth login` used,
    /// else the Azure CLI's, 04b07795-8ddb-461a-bbee-02f9e1bf7b46].
    #[arg(long, env = CLIENT_ID_ENV, value_name = "CLIENT_ID")]
    client_id: Option<String>,
    #[command(flatten)]
    cache: CacheArgs,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum ListOutput {
    /// A table for people: user name, tenant, home account id, and `*` for `login`'s account.
    Table,
    /// A JSON array of {"username", "tenantId", "homeAccountId", "environment", "loginAccount"}.
    Json,
}

/// Runs `mr-auth account ...`.
pub(crate) async fn run(args: AccountArgs) -> Result<(), CliError> {
    match args.command {
        AccountCommand::List(args) => list(args).await,
    }
}

/// Prints the accounts of the client id in the shared token cache.
async fn list(args: ListArgs) -> Result<(), CliError> {
    let saved = SavedSignIn::load(&ConfigDir::from_env()?).unwrap_or_else(|e| {
        tracing::debug!(error = %e.one_line(), "the saved sign-in is unreadable; listing without it");
        None
    });
    let settings = saved.as_ref().map(|s| &s.settings);
    let client_id = match (&args.client_id, &saved) {
        (None, Some(saved)) => saved.record.client_id().clone(),
        (given, _) => client_id(given.as_deref())?,
    };
    let cache = SharedCache {
        client_id,
        authority_host: authority_host(settings.map(|s| s.authority_host.as_str()))?,
        persistence: args
            .cache
            .persistence(settings.map(|s| (s.cache_name.as_str(), s.allow_unencrypted_storage))),
        // Listing reads the cache only: no call to the authority.
        request_timeout: mr_auth_broker::DEFAULT_REQUEST_TIMEOUT,
    };
    let accounts = cache.accounts().await?;
    let login_account = saved
        .as_ref()
        .filter(|s| s.record.client_id() == &cache.client_id)
        .map(|s| s.record.home_account_id().to_owned());
    let is_login = |a: &CachedAccount| {
        login_account
            .as_deref()
            .is_some_and(|h| h.eq_ignore_ascii_case(&a.home_account_id))
    };
    match args.output {
        ListOutput::Json => {
            let rows: Vec<serde_json::Value> = accounts
                .iter()
                .map(|a| {
                    json!({
                        "username": a.username,
                        "tenantId": a.home_tenant(),
                        "homeAccountId": a.home_account_id,
                        "environment": a.environment,
                        "loginAccount": is_login(a),
                    })
                })
                .collect();
            println!("{}", serde_json::Value::Array(rows));
        }
        ListOutput::Table if accounts.is_empty() => eprintln!(
            "mr-auth: the shared token cache holds no sign-in of client id {}; sign in with `mr-auth login`",
            cache.client_id
        ),
        ListOutput::Table => print!("{}", table(&accounts, is_login)),
    }
    Ok(())
}

/// The accounts as a table, every cell printable, columns padded to their widest cell.
fn table(accounts: &[CachedAccount], is_login: impl Fn(&CachedAccount) -> bool) -> String {
    let header = ["USERNAME", "TENANT", "HOME ACCOUNT ID", "LOGIN"].map(str::to_owned);
    let rows: Vec<[String; 4]> = std::iter::once(header)
        .chain(accounts.iter().map(|a| {
            [
                printable(&a.username),
                printable(a.home_tenant()),
                printable(&a.home_account_id),
                if is_login(a) { "*" } else { "" }.to_owned(),
            ]
        }))
        .collect();
    let width = |column: usize| {
        rows.iter()
            .map(|r| r[column].chars().count())
            .max()
            .unwrap_or(0)
    };
    let widths = [width(0), width(1), width(2)];
    let mut out = String::new();
    for row in &rows {
        let line = format!(
            "{:w0$}  {:w1$}  {:w2$}  {}",
            row[0],
            row[1],
            row[2],
            row[3],
            w0 = widths[0],
            w1 = widths[1],
            w2 = widths[2],
        );
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}
