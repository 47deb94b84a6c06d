//! `mr-auth`: exchange Mixed Reality credentials for an access token, sign in to Entra ID once
//! and get Entra ID tokens for any scope (as `az login` / `az account get-access-token`),
//! decode tokens, and run the local STS emulator.
//!
//! Exit codes: 0 success; 2 bad input (including usage errors); 3 authentication failed or
//! the request was rejected; 4 transient failure (throttled, service error, network, timeout),
//! worth retrying later; 5 the service answered something unusable; 6 not signed in (run
//! `mr-auth login`); 130 interrupted by Ctrl-C; 1 anything else.
#![forbid(unsafe_code)]

mod account_command;
mod adopt_sign_in;
mod browser;
mod cache_args;
mod cli_error;
mod config_dir;
mod decode_command;
mod device_code;
mod emulator_command;
mod entra_token_command;
mod logging;
mod login_command;
mod logout_command;
mod saved_sign_in;
mod shared_cache;
mod sign_in;
mod terminal_text;
mod token_command;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

const AFTER_HELP: &str =
    "Exit codes: 0 success, 2 bad input, 3 authentication failed or request rejected, \
4 transient failure (retry later), 5 unusable service response, 6 not signed in (run \
`mr-auth login`), 130 interrupted (Ctrl-C), 1 other.

The account `mr-auth login` signs in is kept in the configuration directory: \
MR_AUTH_CONFIG_DIR, else %APPDATA%\\mr-auth (Windows), \
~/Library/Application Support/mr-auth (macOS), $XDG_CONFIG_HOME/mr-auth or ~/.config/mr-auth. \
Its tokens are kept in the persistent token cache shared with MSAL-based tools (see \
--cache-name). AZURE_AUTHORITY_HOST selects another cloud's authority. Every call to the \
authority is bounded by --request-timeout-secs (login, entra-token, token --aad; default 60 s, \
retries included).";

/// Mixed Reality authentication from the command line.
#[derive(Debug, Parser)]
#[command(name = "mr-auth", version, about, after_help = AFTER_HELP)]
struct Cli {
    /// Show what mr-auth does on standard error (-v: debug, -vv: trace); `RUST_LOG` (e.g.
    /// `RUST_LOG=mr_auth_broker=trace`) replaces this filter. Secrets are never shown.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    verbose: u8,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Exchange an account key or an Azure AD credential for a Mixed Reality access token.
    Token(token_command::TokenArgs),
    /// Sign in to Entra ID (adopting a sign-in already in the shared token cache, else
    /// interactively: browser, broker or device code) and keep the sign-in for later commands
    /// and processes.
    Login(login_command::LoginArgs),
    /// Print an Entra ID access token for any scope, silently, for the account `login` signed
    /// in (the JSON of `az account get-access-token`).
    EntraToken(entra_token_command::EntraTokenArgs),
    /// Sign out: remove this app's tokens for the account from the persistent cache and the
    /// saved account (other apps' sign-ins stay).
    Logout(logout_command::LogoutArgs),
    /// The accounts signed in to the shared token cache (by mr-auth or another MSAL app).
    Account(account_command::AccountArgs),
    /// Show a JWT's header and claims and when it expires (no signature check).
    Decode(decode_command::DecodeArgs),
    /// Run the local Mixed Reality STS emulator until interrupted (Ctrl-C).
    Emulator(emulator_command::EmulatorArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    logging::init(cli.verbose);
    let result = match cli.command {
        // The command run most, usually answered from the cache file alone: one thread, no
        // worker pool to start (a refresh, when one is needed, runs on it as well).
        Command::EntraToken(args) => run_on(false, entra_token_command::run(args)),
        Command::Decode(args) => decode_command::run(args),
        Command::Token(args) => run_on(true, token_command::run(args)),
        Command::Login(args) => run_on(true, login_command::run(args)),
        Command::Logout(args) => run_on(true, logout_command::run(args)),
        Command::Account(args) => run_on(true, account_command::run(args)),
        Command::Emulator(args) => run_on(true, emulator_command::run(args)),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("mr-auth: error: {}", error.one_line());
            ExitCode::from(error.exit_code())
        }
    }
}

/// Runs a command on a tokio runtime: the multi-thread one `#[tokio::main]` makes, or one on
/// the main thread alone.
fn run_on(
    multi_thread: bool,
    command: impl std::future::Future<Output = Result<(), cli_error::CliError>>,
) -> Result<(), cli_error::CliError> {
    let mut builder = if multi_thread {
        tokio::runtime::Builder::new_multi_thread()
    } else {
        tokio::runtime::Builder::new_current_thread()
    };
    let runtime = builder.enable_all().build().map_err(|e| {
        cli_error::CliError::other(format!("could not start the async runtime: {e}"))
    })?;
    runtime.block_on(command)
}
