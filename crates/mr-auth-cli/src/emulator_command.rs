use crate::cli_error::CliError;
use clap::{Args, ValueEnum};
use mr_auth_emulator::{AadMode, Emulator, Fault};
use std::{
    fs,
    io::Write as _,
    net::SocketAddr,
    path::{Path, PathBuf},
    time::Duration,
};
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
    /// Where to write the CA certificate (PEM) clients must trust; the file must not exist yet
    /// (default: `ca.pem` in a new private directory in the system temp folder).
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
        let path = write_ca(
            args.ca_out.as_deref(),
            &std::env::temp_dir(),
            pem.as_bytes(),
        )?;
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

/// Writes the CA certificate to `explicit`, or to `ca.pem` in a new directory under `temp`
/// that only this user can open, and returns the path.
///
/// The file is created with `create_new` (never an existing file, never through a symlink
/// planted at the path) and mode 0600; the directory with mode 0700 and a random name (never
/// one that exists). On Windows the per-user temp folder's ACLs keep others out.
fn write_ca(explicit: Option<&Path>, temp: &Path, pem: &[u8]) -> Result<PathBuf, CliError> {
    let path = match explicit {
        Some(path) => path.to_owned(),
        None => {
            let dir = temp.join(format!("mr-auth-emulator-{}", Uuid::new_v4().simple()));
            #[cfg_attr(not(unix), allow(unused_mut, reason = "the mode is set on Unix only"))]
            let mut builder = fs::DirBuilder::new();
            #[cfg(unix)]
            std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
            builder.create(&dir).map_err(|e| {
                CliError::other(format!(
                    "cannot create a private directory for the CA certificate at {}: {e}; pass --ca-out",
                    dir.display()
                ))
            })?;
            dir.join("ca.pem")
        }
    };
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(&path).map_err(|e| {
        let hint = if e.kind() == std::io::ErrorKind::AlreadyExists {
            "; it already exists: remove it or choose a new --ca-out path"
        } else {
            ""
        };
        CliError::other(format!(
            "cannot create the CA certificate file {}: {e}{hint}",
            path.display()
        ))
    })?;
    file.write_all(pem).map_err(|e| {
        CliError::other(format!(
            "cannot write the CA certificate to {}: {e}",
            path.display()
        ))
    })?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fresh directory for one test, removed at the end.
    struct TempDir(PathBuf);

    impl TempDir {
        fn new() -> Self {
            let dir = std::env::temp_dir().join(format!("mr-auth-cli-test-{}", Uuid::new_v4()));
            fs::create_dir(&dir).unwrap();
            Self(dir)
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    #[test]
    fn the_ca_goes_to_a_new_private_directory_with_a_private_file() {
        let temp = TempDir::new();
        let a = write_ca(None, &temp.0, b"PEM").unwrap();
        let b = write_ca(None, &temp.0, b"PEM").unwrap();
        assert_ne!(a.parent(), b.parent(), "a new directory each time");
        assert_eq!(fs::read(&a).unwrap(), b"PEM");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode(a.parent().unwrap()), 0o700);
            assert_eq!(mode(&a), 0o600);
        }
    }

    #[test]
    fn an_existing_file_or_planted_symlink_is_never_written() {
        let temp = TempDir::new();
        let existing = temp.0.join("ca.pem");
        fs::write(&existing, b"someone else's").unwrap();
        let e = write_ca(Some(&existing), &temp.0, b"PEM").unwrap_err();
        assert!(e.one_line().contains("already exists"), "{}", e.one_line());
        assert_eq!(fs::read(&existing).unwrap(), b"someone else's");
        #[cfg(unix)]
        {
            let target = temp.0.join("target");
            fs::write(&target, b"victim").unwrap();
            let link = temp.0.join("link.pem");
            std::os::unix::fs::symlink(&target, &link).unwrap();
            assert!(write_ca(Some(&link), &temp.0, b"PEM").is_err());
            assert_eq!(
                fs::read(&target).unwrap(),
                b"victim",
                "the symlink was not followed"
            );
        }
    }

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
