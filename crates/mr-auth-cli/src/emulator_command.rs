use crate::cli_error::CliError;
use clap::{Args, ValueEnum};
use mr_auth_emulator::{AadMode, Emulator, Fault};
use std::{net::SocketAddr, path::PathBuf, time::Duration};
use uuid::Uuid;

/// Arguments of `mr-auth emulator`.
#[derive(Debug, Args)]
pub(crate) struct EmulatorArgs {
    /// The address to listen on (loopback only).
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: SocketAddr,
    /// An account as `<uuid>:<key>` (repeatable). Emulator keys are local test values, not
    /// secrets of a real account. Without any, one account with a random key is created and
    /// printed.
    #[arg(long = "account", value_name = "UUID:KEY")]
    accounts: Vec<String>,
    /// Serve plain http instead of https.
    #[arg(long)]
    no_tls: bool,
    /// Where to write the CA certificate (PEM) clients must trust (default: a file in the
    /// system temp folder).
    #[arg(long)]
    ca_out: Option<PathBuf>,
    /// Faults to inject, in order, before normal service, e.g. `429:1,500,drop,delay:200ms,garbage,truncate,no-exp`.
    #[arg(long, default_value = "")]
    faults: String,
    /// Whether Azure AD bearer tokens are accepted.
    #[arg(long, value_enum, default_value_t = AadArg::Disabled)]
    aad: AadArg,
    /// Lifetime of issued tokens, in seconds.
    #[arg(long, default_value_t = 86_400)]
    token_lifetime_secs: u64,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum AadArg {
    /// Account keys only.
    Disabled,
    /// Also accept any well-formed, unexpired JWT as an Azure AD token.
    Permissive,
}

fn parse_account(text: &str) -> Result<(Uuid, String), CliError> {
    let (id, key) = text
        .split_once(':')
        .ok_or_else(|| CliError::bad_input(format!("--account {text:?} is not <uuid>:<key>")))?;
    let id = Uuid::try_parse(id.trim())
        .map_err(|_| CliError::bad_input(format!("--account: {id:?} is not a UUID")))?;
    if key.is_empty() {
        return Err(CliError::bad_input("--account: the key is empty"));
    }
    Ok((id, key.to_owned()))
}

pub(crate) async fn run(args: EmulatorArgs) -> Result<(), CliError> {
    let mut accounts = args
        .accounts
        .iter()
        .map(|text| parse_account(text))
        .collect::<Result<Vec<_>, _>>()?;
    let generated = accounts.is_empty();
    if generated {
        accounts.push((Uuid::new_v4(), Uuid::new_v4().simple().to_string()));
    }
    let faults = Fault::parse_script(&args.faults)
        .map_err(|e| CliError::bad_input(format!("--faults: {e}")))?;
    let mut builder = Emulator::builder()
        .address(args.listen)
        .tls(!args.no_tls)
        .faults(faults)
        .token_lifetime(Duration::from_secs(args.token_lifetime_secs))
        .aad(match args.aad {
            AadArg::Disabled => AadMode::Disabled,
            AadArg::Permissive => AadMode::Permissive,
        });
    for (id, key) in &accounts {
        builder = builder.account(*id, key.clone());
    }
    let emulator = builder
        .start()
        .await
        .map_err(|e| CliError::bad_input(format!("cannot start the emulator: {e}")))?;

    println!("endpoint: {}", emulator.endpoint());
    if let Some(pem) = emulator.ca_pem() {
        let path = args.ca_out.clone().unwrap_or_else(|| {
            std::env::temp_dir().join(format!(
                "mr-auth-emulator-ca-{}.pem",
                emulator.local_addr().port()
            ))
        });
        std::fs::write(&path, pem).map_err(|e| {
            CliError::other(format!(
                "cannot write the CA certificate to {}: {e}",
                path.display()
            ))
        })?;
        println!("ca: {}", path.display());
    }
    for (id, key) in &accounts {
        if generated {
            println!("account: {id} key: {key}");
        } else {
            println!("account: {id}");
        }
    }
    println!("ready; press Ctrl-C to stop");
    tokio::signal::ctrl_c()
        .await
        .map_err(|e| CliError::other(format!("cannot wait for Ctrl-C: {e}")))?;
    eprintln!("stopping");
    emulator.shutdown().await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn account_arguments() {
        let (id, key) =
            parse_account("87e9abb1-79b9-4502-bbae-cfae8c610f23:k:with:colons").unwrap();
        assert_eq!(id.to_string(), "87e9abb1-79b9-4502-bbae-cfae8c610f23");
        assert_eq!(key, "k:with:colons");
        assert!(parse_account("nocolon")
            .unwrap_err()
            .one_line()
            .contains("not <uuid>:<key>"));
        assert!(parse_account("x:k")
            .unwrap_err()
            .one_line()
            .contains("not a UUID"));
        assert!(parse_account("87e9abb1-79b9-4502-bbae-cfae8c610f23:")
            .unwrap_err()
            .one_line()
            .contains("empty"));
    }
}
