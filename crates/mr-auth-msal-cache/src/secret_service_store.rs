//! The token cache in the freedesktop Secret Service (GNOME Keyring, KWallet), where MSAL's
//! Python extensions keep it on Linux.

use crate::{CacheStore, Result};
use async_trait::async_trait;
use std::path::{Path, PathBuf};
use zeroize::Zeroizing;

/// The cache as a Secret Service item (GNOME Keyring, KWallet), as msal-extensions'
/// `LibsecretPersistence` and azure-identity keep it on Linux: an item labelled `MSALCache` in
/// the default collection (never the in-memory `session` collection: without a default
/// collection that persists, saving fails with
/// [`ErrorKind::StoreUnavailable`](crate::ErrorKind::StoreUnavailable) and says how to fix it)
/// with the attributes `xdg:schema=<schema>` and
/// `MsalClientID=Microsoft.Developer.IdentityService` (plus MSAL .NET's version attribute),
/// and a signal file whose modification time tells other processes that the cache changed
/// (and beside which the cache's lock file is placed).
///
/// The type exists on every platform; off Linux, [`load`](CacheStore::load) and
/// [`save`](CacheStore::save) fail with [`ErrorKind::Unsupported`](crate::ErrorKind::Unsupported)
/// and [`is_available`](Self::is_available) is `false`.
#[derive(Debug, Clone)]
pub struct SecretServiceStore {
    schema: String,
    signal_file: PathBuf,
    /// The session bus to use; `None` for the user's, found as D-Bus does.
    bus_address: Option<String>,
}

impl SecretServiceStore {
    /// The item with the attribute `xdg:schema=<schema>` (`msal.cache.nocae` for
    /// azure-identity's default cache), signalled through `signal_file`
    /// (`~/.IdentityService/<schema>`), on the user's session bus.
    pub fn new(schema: impl Into<String>, signal_file: impl Into<PathBuf>) -> Self {
        Self {
            schema: schema.into(),
            signal_file: signal_file.into(),
            bus_address: None,
        }
    }

    /// The same, on the session bus at `address` (a D-Bus address such as
    /// `unix:path=/run/user/1000/bus`).
    #[must_use]
    pub fn with_session_bus_address(mut self, address: impl Into<String>) -> Self {
        self.bus_address = Some(address.into());
        self
    }

    /// Whether a Secret Service answers on the session bus and has a default collection that
    /// persists, where [`save`](CacheStore::save) writes (a cheap session open and two
    /// look-ups; nothing is unlocked or written).
    pub async fn is_available(&self) -> bool {
        self.probe().await.is_ok()
    }

    /// Why the store cannot be used, if it cannot: no Secret Service on the bus, or no default
    /// collection but the in-memory `session` one (gnome-keyring unlocked with an empty
    /// password has no `login` keyring), whose items vanish when the service stops.
    pub(crate) async fn probe(&self) -> Result<()> {
        platform::probe(self).await
    }
}

#[async_trait]
impl CacheStore for SecretServiceStore {
    async fn load(&self) -> Result<Option<Zeroizing<Vec<u8>>>> {
        platform::load(self).await
    }

    async fn save(&self, document: &[u8]) -> Result<()> {
        platform::save(self, document).await
    }

    /// The default collection exists and persists, and the signal file's directory is private
    /// and writable.
    async fn check_writable(&self) -> Result<()> {
        self.probe().await?;
        let signal_file = self.signal_file.clone();
        crate::cache_file::blocking(move || crate::cache_file::check_writable(&signal_file)).await
    }

    fn location(&self) -> &Path {
        &self.signal_file
    }

    fn describe(&self) -> String {
        format!(
            "Secret Service item {} (signal file {})",
            self.schema,
            self.signal_file.display()
        )
    }

    fn is_plaintext(&self) -> bool {
        false
    }
}

#[cfg(target_os = "linux")]
mod platform {
    use super::SecretServiceStore;
    use crate::{cache_file, Error, ErrorKind, Result, MAX_CACHE_BYTES};
    use secret_service::{Collection, EncryptionType, SecretService};
    use std::{collections::HashMap, time::Duration};
    use zeroize::Zeroizing;

    /// The attribute MSAL's extensions use to find the cache item, and its value.
    const CLIENT_ATTRIBUTE: (&str, &str) = ("MsalClientID", "Microsoft.Developer.IdentityService");
    /// The version attribute MSAL .NET adds; written for it, never required when reading.
    const VERSION_ATTRIBUTE: (&str, &str) = ("Microsoft.Developer.IdentityService", "1.0.0.0");
    /// The item's label, as azure-identity gives it.
    const LABEL: &str = "MSALCache";

    fn search_attributes(store: &SecretServiceStore) -> HashMap<&str, &str> {
        HashMap::from([("xdg:schema", store.schema.as_str()), CLIENT_ATTRIBUTE])
    }

    /// How long reaching the Secret Service may take (connecting to the bus, opening a
    /// session, finding the default collection): a session bus that accepts the connection and
    /// never answers makes the store unavailable after this, not a hang.
    pub(super) const BUS_TIMEOUT: Duration = Duration::from_secs(5);
    /// How long a whole read or write may take once the service answered: long enough for the
    /// user to answer an unlock prompt, bounded all the same.
    pub(super) const OPERATION_TIMEOUT: Duration = Duration::from_secs(120);

    /// The bus the store talks to, as an error names it.
    fn bus_name(store: &SecretServiceStore) -> String {
        match &store.bus_address {
            Some(address) => format!(
                "the session bus at {}",
                mr_auth_core::without_control_characters(address.clone())
            ),
            None => match std::env::var("DBUS_SESSION_BUS_ADDRESS") {
                Ok(address) if !address.is_empty() => format!(
                    "the session bus at {}",
                    mr_auth_core::without_control_characters(address)
                ),
                _ => "the session bus".to_owned(),
            },
        }
    }

    /// `operation`, or a [`ErrorKind::StoreUnavailable`] error naming the bus and `what` when
    /// the Secret Service does not finish it within `limit`.
    async fn within<T>(
        store: &SecretServiceStore,
        limit: Duration,
        what: &str,
        operation: impl std::future::Future<Output = Result<T>>,
    ) -> Result<T> {
        match tokio::time::timeout(limit, operation).await {
            Ok(result) => result,
            Err(_) => Err(Error::new(
                ErrorKind::StoreUnavailable,
                format!(
                    "the Secret Service on {} did not {what} within {} s: the session bus or \
                     the keyring daemon is hung; restart it (or the desktop session), or set \
                     allow_unencrypted_storage to keep the cache in a 0600 file",
                    bus_name(store),
                    limit.as_secs()
                ),
            )),
        }
    }

    pub(super) async fn probe(store: &SecretServiceStore) -> Result<()> {
        // A boxed `dyn` future: opening a cache awaits this, and without the type boundary
        // the compiler's Send check of the callers' futures (the credential's) runs too deep.
        let probing: std::pin::Pin<Box<dyn std::future::Future<Output = Result<()>> + Send + '_>> =
            Box::pin(within(store, BUS_TIMEOUT, "answer", async {
                let service = connect(store).await?;
                default_collection(&service).await.map(|_| ())
            }));
        probing.await
    }

    /// The default collection, where the cache is written; never the `session` collection,
    /// which lives in memory only (the Secret Service specification's `session` alias).
    async fn default_collection<'a>(service: &'a SecretService<'static>) -> Result<Collection<'a>> {
        let not_persistent = |what: &str| {
            Error::new(
                ErrorKind::StoreUnavailable,
                format!(
                    "the Secret Service has {what}, so a token cache stored there would vanish \
                     when it stops; unlock or create the default keyring (GNOME Keyring's \
                     \"login\" keyring, e.g. with Seahorse), or set allow_unencrypted_storage to \
                     keep the cache in a 0600 file"
                ),
            )
        };
        let collection = match service.get_default_collection().await {
            Ok(collection) => collection,
            Err(secret_service::Error::NoResult) => {
                return Err(not_persistent(
                    "no default keyring, only the in-memory session collection",
                ))
            }
            Err(e) => return Err(failed("find the default keyring of", e)),
        };
        let session = service
            .get_collection_by_alias("session")
            .await
            .ok()
            .map(|c| c.collection_path.clone());
        if session.as_ref() == Some(&collection.collection_path)
            || collection
                .collection_path
                .as_str()
                .ends_with("/collection/session")
        {
            return Err(not_persistent(
                "the in-memory session collection as its default keyring",
            ));
        }
        Ok(collection)
    }

    async fn connect(store: &SecretServiceStore) -> Result<SecretService<'static>> {
        within(store, BUS_TIMEOUT, "answer", connect_unbounded(store)).await
    }

    async fn connect_unbounded(store: &SecretServiceStore) -> Result<SecretService<'static>> {
        let unavailable = |e: &dyn std::fmt::Display| {
            Error::new(
                ErrorKind::StoreUnavailable,
                format!(
                    "no Secret Service (GNOME Keyring, KWallet) answers on the session bus ({e}), \
                     so the token cache cannot be encrypted; start one (a desktop session has \
                     one), or set allow_unencrypted_storage to keep the cache in a 0600 file in \
                     ~/.IdentityService"
                ),
            )
        };
        let connected = match &store.bus_address {
            None => SecretService::connect(EncryptionType::Dh).await,
            Some(address) => {
                let connection = zbus::connection::Builder::address(address.as_str())
                    .map_err(|e| unavailable(&e))?
                    .build()
                    .await
                    .map_err(|e| unavailable(&e))?;
                SecretService::connect_with_existing(EncryptionType::Dh, connection).await
            }
        };
        connected.map_err(|e| unavailable(&e))
    }

    pub(super) async fn load(store: &SecretServiceStore) -> Result<Option<Zeroizing<Vec<u8>>>> {
        let service = connect(store).await?;
        within(
            store,
            OPERATION_TIMEOUT,
            "finish reading the token cache",
            read(store, &service),
        )
        .await
    }

    async fn read(
        store: &SecretServiceStore,
        service: &SecretService<'static>,
    ) -> Result<Option<Zeroizing<Vec<u8>>>> {
        let found = service
            .search_items(search_attributes(store))
            .await
            .map_err(|e| failed("search", e))?;
        let mut items = found.unlocked;
        if items.is_empty() && !found.locked.is_empty() {
            for item in &found.locked {
                item.unlock().await.map_err(|e| failed("unlock", e))?;
            }
            items = found.locked;
        }
        // Several items can exist when other tools wrote theirs with other attributes on top;
        // the most recently modified is the current cache.
        let mut newest = None;
        for item in items {
            let modified = item.get_modified().await.unwrap_or(0);
            if newest.as_ref().is_none_or(|(m, _)| modified >= *m) {
                newest = Some((modified, item));
            }
        }
        let Some((_, item)) = newest else {
            return Ok(None);
        };
        let secret = Zeroizing::new(item.get_secret().await.map_err(|e| failed("read", e))?);
        if secret.len() > MAX_CACHE_BYTES {
            return Err(Error::new(
                ErrorKind::InvalidDocument,
                format!(
                    "the token cache in the Secret Service is {} bytes, more than an MSAL cache \
                     can be; it was left as it is",
                    secret.len()
                ),
            ));
        }
        Ok(Some(secret))
    }

    pub(super) async fn save(store: &SecretServiceStore, data: &[u8]) -> Result<()> {
        let service = connect(store).await?;
        within(
            store,
            OPERATION_TIMEOUT,
            "finish writing the token cache",
            write(store, &service, data),
        )
        .await
    }

    async fn write(
        store: &SecretServiceStore,
        service: &SecretService<'static>,
        data: &[u8],
    ) -> Result<()> {
        let collection = default_collection(service).await?;
        collection
            .ensure_unlocked()
            .await
            .map_err(|e| failed("unlock", e))?;
        let mut attributes = search_attributes(store);
        attributes.insert(VERSION_ATTRIBUTE.0, VERSION_ATTRIBUTE.1);
        // The new document first (replacing an item with the same attributes in place), then
        // every other item readers would find (other tools' copies with extra attributes), so
        // exactly one remains and a reader that needs no lock never finds none.
        let created = collection
            .create_item(LABEL, attributes, data, true, "text/plain")
            .await
            .map_err(|e| failed("write", e))?;
        let existing = service
            .search_items(search_attributes(store))
            .await
            .map_err(|e| failed("search", e))?;
        for item in existing.unlocked.iter().chain(existing.locked.iter()) {
            if item.item_path != created.item_path {
                item.delete().await.map_err(|e| failed("replace", e))?;
            }
        }
        let signal_file = store.signal_file.clone();
        tokio::task::spawn_blocking(move || cache_file::touch(&signal_file))
            .await
            .map_err(cache_file::join_error)?
    }

    fn failed(what: &str, e: secret_service::Error) -> Error {
        Error::new(
            ErrorKind::Storage,
            format!("cannot {what} the token cache in the Secret Service: {e}"),
        )
        .with_source(e)
    }
}

#[cfg(not(target_os = "linux"))]
mod platform {
    use super::SecretServiceStore;
    use crate::{Error, ErrorKind, Result};
    use zeroize::Zeroizing;

    fn unsupported() -> Error {
        Error::new(
            ErrorKind::Unsupported,
            "the Secret Service token cache exists only on Linux; open the platform's store with \
             PersistentTokenCache::open instead",
        )
    }

    #[allow(
        clippy::unused_async,
        reason = "the same signature as the Linux implementation's"
    )]
    pub(super) async fn probe(_store: &SecretServiceStore) -> Result<()> {
        Err(unsupported())
    }

    #[allow(
        clippy::unused_async,
        reason = "the same signature as the Linux implementation's"
    )]
    pub(super) async fn load(_store: &SecretServiceStore) -> Result<Option<Zeroizing<Vec<u8>>>> {
        Err(unsupported())
    }

    #[allow(
        clippy::unused_async,
        reason = "the same signature as the Linux implementation's"
    )]
    pub(super) async fn save(_store: &SecretServiceStore, _data: &[u8]) -> Result<()> {
        Err(unsupported())
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;
    use crate::{ErrorKind, PersistentTokenCache, TokenCachePersistenceOptions};
    use mr_auth_core::EnvironmentMap;
    use mr_auth_test_support::{bounded::bounded, hung_bus::HungBus};
    use std::time::Duration;
    use tokio::time::Instant;

    /// A session bus that accepts the connection and never answers: the store is unavailable
    /// after its 5 s bound (a typed error saying so), and a cache that may fall back to a file
    /// does, 5 s in; under paused time, so the bound is measured exactly.
    #[tokio::test(start_paused = true)]
    async fn a_hung_session_bus_is_unavailable_within_seconds() {
        bounded(async {
            let hung = HungBus::start();
            let home =
                std::env::temp_dir().join(format!("mr-auth-hung-ss-{}", uuid::Uuid::new_v4()));
            let store = SecretServiceStore::new("msal.cache.nocae", home.join("signal"))
                .with_session_bus_address(hung.address());

            let started = Instant::now();
            assert!(!store.is_available().await);
            assert_eq!(started.elapsed(), Duration::from_secs(5));
            let started = Instant::now();
            let e = store.load().await.unwrap_err();
            assert_eq!(e.kind(), ErrorKind::StoreUnavailable, "{e}");
            assert!(e.message().contains("did not answer within 5 s"), "{e}");
            assert!(e.message().contains(hung.address()), "names the bus: {e}");
            assert!(
                e.message().contains("allow_unencrypted_storage"),
                "names a fix: {e}"
            );
            assert_eq!(started.elapsed(), Duration::from_secs(5));
            let e = store.save(b"{}").await.unwrap_err();
            assert_eq!(e.kind(), ErrorKind::StoreUnavailable, "{e}");

            let env = EnvironmentMap::new()
                .with("HOME", home.to_str().unwrap())
                .with("DBUS_SESSION_BUS_ADDRESS", hung.address());
            let started = Instant::now();
            let options = |allow_unencrypted_storage| TokenCachePersistenceOptions {
                allow_unencrypted_storage,
                ..Default::default()
            };
            let e = PersistentTokenCache::open_with_environment(&options(false), false, &env)
                .await
                .unwrap_err();
            assert_eq!(e.kind(), ErrorKind::StoreUnavailable, "{e}");
            let file = PersistentTokenCache::open_with_environment(&options(true), false, &env)
                .await
                .unwrap();
            assert!(file.is_plaintext());
            assert_eq!(
                started.elapsed(),
                Duration::from_secs(10),
                "5 s for each open"
            );
            let _ = std::fs::remove_dir_all(&home);
        })
        .await;
    }
}
