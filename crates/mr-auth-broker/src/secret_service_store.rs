//! The token cache in the freedesktop Secret Service (GNOME Keyring, KWallet), where MSAL's
//! Python extensions keep it on Linux.

use crate::{cache_file, msal_token_cache::MAX_CACHE_BYTES, Error, ErrorKind, Result};
use secret_service::{EncryptionType, SecretService};
use std::{collections::HashMap, path::PathBuf};
use zeroize::Zeroizing;

/// The attribute MSAL's extensions use to find the cache item, and its value.
const CLIENT_ATTRIBUTE: (&str, &str) = ("MsalClientID", "Microsoft.Developer.IdentityService");
/// The version attribute MSAL .NET adds; written for it, never required when reading.
const VERSION_ATTRIBUTE: (&str, &str) = ("Microsoft.Developer.IdentityService", "1.0.0.0");
/// The item's label, as azure-identity gives it.
const LABEL: &str = "MSALCache";

/// One cache document, stored as a Secret Service item in the default collection with the
/// attributes `xdg:schema=<cache name>` and `MsalClientID=Microsoft.Developer.IdentityService`
/// (plus MSAL .NET's version attribute), and a signal file whose modification time tells other
/// processes that the cache changed.
#[derive(Debug, Clone)]
pub(crate) struct SecretServiceStore {
    schema: String,
    signal_file: PathBuf,
    /// The session bus to use; `None` for the user's, found as D-Bus does.
    bus_address: Option<String>,
}

impl SecretServiceStore {
    pub(crate) fn new(schema: String, signal_file: PathBuf, bus_address: Option<String>) -> Self {
        Self {
            schema,
            signal_file,
            bus_address,
        }
    }

    pub(crate) fn signal_file(&self) -> &PathBuf {
        &self.signal_file
    }

    fn search_attributes(&self) -> HashMap<&str, &str> {
        HashMap::from([("xdg:schema", self.schema.as_str()), CLIENT_ATTRIBUTE])
    }

    /// Whether a Secret Service answers on the session bus (a cheap session open).
    pub(crate) async fn is_available(&self) -> bool {
        self.connect().await.is_ok()
    }

    async fn connect(&self) -> Result<SecretService<'static>> {
        let unavailable = |e: &dyn std::fmt::Display| {
            Error::new(
                ErrorKind::PersistentCache,
                format!(
                    "no Secret Service (GNOME Keyring, KWallet) answers on the session bus: {e}; \
                     start one, or set allow_unencrypted_storage to keep the cache in a 0600 file"
                ),
            )
        };
        let connected = match &self.bus_address {
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

    pub(crate) async fn load(&self) -> Result<Option<Zeroizing<Vec<u8>>>> {
        let service = self.connect().await?;
        let found = service
            .search_items(self.search_attributes())
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
                ErrorKind::PersistentCache,
                format!(
                    "the token cache in the Secret Service is {} bytes, more than an MSAL cache can be",
                    secret.len()
                ),
            ));
        }
        Ok(Some(secret))
    }

    pub(crate) async fn save(&self, data: &[u8]) -> Result<()> {
        let service = self.connect().await?;
        let collection = match service.get_default_collection().await {
            Ok(c) => c,
            Err(_) => service
                .get_any_collection()
                .await
                .map_err(|e| failed("open a collection of", e))?,
        };
        collection
            .ensure_unlocked()
            .await
            .map_err(|e| failed("unlock", e))?;
        // Replace every item that readers would find, whatever extra attributes its writer
        // added, so that exactly one current item remains.
        let existing = service
            .search_items(self.search_attributes())
            .await
            .map_err(|e| failed("search", e))?;
        for item in existing.unlocked.iter().chain(existing.locked.iter()) {
            item.delete().await.map_err(|e| failed("replace", e))?;
        }
        let mut attributes = self.search_attributes();
        attributes.insert(VERSION_ATTRIBUTE.0, VERSION_ATTRIBUTE.1);
        collection
            .create_item(LABEL, attributes, data, true, "text/plain")
            .await
            .map_err(|e| failed("write", e))?;
        cache_file::touch(&self.signal_file)
    }
}

fn failed(what: &str, e: secret_service::Error) -> Error {
    Error::new(
        ErrorKind::PersistentCache,
        format!("cannot {what} the token cache in the Secret Service: {e}"),
    )
}
