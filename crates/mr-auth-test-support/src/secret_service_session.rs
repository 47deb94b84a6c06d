//! A real Secret Service for tests: `gnome-keyring-daemon` with only its secrets component,
//! on a [`PrivateSessionBus`], with its keyring in a temporary home, unlocked with a test
//! password. Killed, and its files removed, on drop.

use crate::private_session_bus::{find_on_path, missing, MissingProgram, PrivateSessionBus};
use futures::StreamExt as _;
use std::{collections::HashMap, path::PathBuf, process::Stdio, time::Duration};
use tokio::{
    io::AsyncWriteExt as _,
    process::{Child, Command},
};

/// The bus name a Secret Service owns.
const SECRETS_NAME: &str = "org.freedesktop.secrets";

/// The login keyring's password.
const TEST_PASSWORD: &[u8] = b"mr-auth-test-password";

/// How long the keyring daemon may take to own its name on the bus.
const START_TIMEOUT: Duration = Duration::from_secs(20);

/// A keyring item as a test reads it back: what another program (MSAL's extensions) would see.
#[derive(Debug)]
pub struct KeyringItem {
    /// The item's label.
    pub label: String,
    /// All of its attributes.
    pub attributes: HashMap<String, String>,
    /// The stored secret.
    pub secret: Vec<u8>,
}

/// A running keyring on its own bus.
#[derive(Debug)]
pub struct SecretServiceSession {
    keyring: Child,
    home: PathBuf,
    // Dropped after the daemon, which needs the bus until it exits.
    bus: PrivateSessionBus,
}

impl SecretServiceSession {
    /// Starts a bus and an unlocked keyring on it, or says why `test` is skipped
    /// ([`MissingProgram`]) when `dbus-daemon` or `gnome-keyring-daemon` is not installed and
    /// `CI` is unset. Under CI a missing program fails the test: `cargo xtask ci` installs them
    /// (Debian packages `dbus` and `gnome-keyring`).
    ///
    /// # Errors
    ///
    /// [`MissingProgram`] when either daemon is not on `PATH` outside CI.
    ///
    /// # Panics
    ///
    /// When a program is missing under CI or the keyring does not start (a test failure).
    pub async fn start_or_skip(test: &str) -> Result<Self, MissingProgram> {
        Self::start(test, TEST_PASSWORD).await
    }

    /// As [`start_or_skip`](Self::start_or_skip), but the keyring is unlocked with an empty
    /// password, as on a machine whose user logs in without one: gnome-keyring then creates no
    /// `login` keyring, so the Secret Service has no default collection, only the in-memory
    /// `session` collection (whose items vanish when the daemon stops).
    ///
    /// # Errors
    ///
    /// As [`start_or_skip`](Self::start_or_skip).
    ///
    /// # Panics
    ///
    /// As [`start_or_skip`](Self::start_or_skip).
    pub async fn start_without_default_collection_or_skip(
        test: &str,
    ) -> Result<Self, MissingProgram> {
        Self::start(test, b"").await
    }

    async fn start(test: &str, password: &[u8]) -> Result<Self, MissingProgram> {
        let Some(daemon) = find_on_path("gnome-keyring-daemon") else {
            return Err(missing(test, "gnome-keyring-daemon", "gnome-keyring"));
        };
        let bus = PrivateSessionBus::start_or_skip(test).await?;
        let home = std::env::temp_dir().join(format!("mr-auth-keyring-{}", uuid::Uuid::new_v4()));
        for dir in ["", "data", "config", "runtime"] {
            std::fs::create_dir_all(home.join(dir)).expect("create the keyring's home");
        }
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            std::fs::set_permissions(home.join("runtime"), std::fs::Permissions::from_mode(0o700))
                .expect("make the runtime directory private");
        }

        let connection = zbus::connection::Builder::address(bus.address())
            .expect("the private bus's address parses")
            .build()
            .await
            .expect("connect to the private bus");
        let dbus = zbus::fdo::DBusProxy::new(&connection)
            .await
            .expect("the bus daemon's proxy");
        let mut owner_changes = dbus
            .receive_name_owner_changed_with_args(&[(0, SECRETS_NAME)])
            .await
            .expect("subscribe to the keyring's name");

        let mut keyring = Command::new(daemon)
            .args(["--foreground", "--unlock", "--components=secrets"])
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", &home)
            .env("XDG_DATA_HOME", home.join("data"))
            .env("XDG_CONFIG_HOME", home.join("config"))
            .env("XDG_RUNTIME_DIR", home.join("runtime"))
            .env("DBUS_SESSION_BUS_ADDRESS", bus.address())
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("start gnome-keyring-daemon");
        // `--unlock` reads the login keyring's password from stdin until it is closed; the
        // keyring is created with it on first use.
        let mut stdin = keyring.stdin.take().expect("piped stdin");
        stdin
            .write_all(password)
            .await
            .expect("give the keyring its password");
        drop(stdin);

        let owned = async {
            if dbus
                .name_has_owner(SECRETS_NAME.try_into().expect("a valid bus name"))
                .await
                .unwrap_or(false)
            {
                return;
            }
            while let Some(change) = owner_changes.next().await {
                if change.args().is_ok_and(|a| a.new_owner().is_some()) {
                    return;
                }
            }
        };
        tokio::time::timeout(START_TIMEOUT, owned)
            .await
            .expect("gnome-keyring-daemon owned org.freedesktop.secrets in time");
        Ok(Self { keyring, home, bus })
    }

    /// The bus the keyring is on.
    pub fn bus_address(&self) -> &str {
        self.bus.address()
    }

    /// A temporary home directory for the code under test (not the keyring's own files).
    pub fn home(&self) -> PathBuf {
        self.home.join("user")
    }

    /// The object paths of the keyring's collections and its `default` alias (`/` for none),
    /// as another program would see them.
    ///
    /// # Panics
    ///
    /// When the keyring cannot be asked (a test failure).
    pub async fn collections(&self) -> (Vec<String>, String) {
        let service = self.client().await;
        let all = service
            .get_all_collections()
            .await
            .expect("the keyring's collections");
        let default = match service.get_default_collection().await {
            Ok(collection) => collection.collection_path.to_string(),
            Err(secret_service::Error::NoResult) => "/".to_owned(),
            Err(e) => panic!("the keyring's default collection: {e}"),
        };
        (
            all.iter().map(|c| c.collection_path.to_string()).collect(),
            default,
        )
    }

    /// How many unlocked items carry every one of `attributes`.
    ///
    /// # Panics
    ///
    /// When the keyring cannot be searched (a test failure).
    pub async fn count_items(&self, attributes: &[(&str, &str)]) -> usize {
        let service = self.client().await;
        unlocked_items(&service, attributes).await.len()
    }

    /// The one unlocked item that carries every one of `attributes`, read through a separate
    /// Secret Service client (as another program would read it).
    ///
    /// # Panics
    ///
    /// When there is not exactly one such item, or the keyring cannot be read (a test failure).
    pub async fn only_item(&self, attributes: &[(&str, &str)]) -> KeyringItem {
        let service = self.client().await;
        let found = unlocked_items(&service, attributes).await;
        let [item] = &found[..] else {
            panic!(
                "expected exactly one keyring item with {attributes:?}, found {}",
                found.len()
            );
        };
        KeyringItem {
            label: item.get_label().await.expect("the item's label"),
            attributes: item.get_attributes().await.expect("the item's attributes"),
            secret: item.get_secret().await.expect("the item's secret"),
        }
    }

    /// A Secret Service client of its own on the session's bus.
    async fn client(&self) -> secret_service::SecretService<'static> {
        let connection = zbus::connection::Builder::address(self.bus_address())
            .expect("the bus address parses")
            .build()
            .await
            .expect("connected to the private bus");
        secret_service::SecretService::connect_with_existing(
            secret_service::EncryptionType::Dh,
            connection,
        )
        .await
        .expect("connected to the Secret Service")
    }
}

/// The unlocked items of `service` that carry every one of `attributes`.
async fn unlocked_items<'a>(
    service: &'a secret_service::SecretService<'static>,
    attributes: &[(&str, &str)],
) -> Vec<secret_service::Item<'a>> {
    service
        .search_items(attributes.iter().copied().collect())
        .await
        .expect("searched the keyring")
        .unlocked
}

impl Drop for SecretServiceSession {
    fn drop(&mut self) {
        let _ = self.keyring.start_kill();
        let _ = std::fs::remove_dir_all(&self.home);
    }
}
