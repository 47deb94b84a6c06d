//! The platform's store for a named cache, placed where MSAL's extensions place it, with the
//! directories and the session bus read from an [`EnvironmentSource`].

use crate::{CacheStore, Error, ErrorKind, Result};
use mr_auth_core::EnvironmentSource;
use std::{path::PathBuf, sync::Arc};

/// The directory MSAL's extensions keep caches in, under the home or local app data directory.
const IDENTITY_SERVICE_DIR: &str = ".IdentityService";

/// `<dir>/.IdentityService`, where `<dir>` is the variable `variable` of `env` (an empty value
/// counts as unset).
fn identity_service_dir(env: &dyn EnvironmentSource, variable: &str) -> Result<PathBuf> {
    env.var_os(variable)
        .filter(|v| !v.is_empty())
        .map(|dir| PathBuf::from(dir).join(IDENTITY_SERVICE_DIR))
        .ok_or_else(|| {
            Error::new(
                ErrorKind::StoreUnavailable,
                format!(
                    "cannot place the token cache: {variable} is not set; set it to the user's \
                     directory"
                ),
            )
        })
}

/// The session bus the Secret Service is looked for on: `DBUS_SESSION_BUS_ADDRESS`, else
/// `$XDG_RUNTIME_DIR/bus` (as D-Bus itself finds it); `None` leaves it to D-Bus.
#[cfg_attr(
    not(target_os = "linux"),
    allow(dead_code, reason = "the Secret Service is looked for on Linux only")
)]
fn session_bus_address(env: &dyn EnvironmentSource) -> Option<String> {
    let non_empty = |v: &String| !v.is_empty();
    env.var("DBUS_SESSION_BUS_ADDRESS")
        .filter(non_empty)
        .or_else(|| {
            env.var("XDG_RUNTIME_DIR")
                .filter(non_empty)
                .map(|dir| format!("unix:path={dir}/bus"))
        })
}

/// The platform's store for the stored name `name` (`<cache name>.nocae` or `.cae`): DPAPI on
/// Windows, the Secret Service on Linux, and a plaintext file where there is none and
/// `allow_unencrypted` says so.
#[allow(
    clippy::unused_async,
    reason = "async on Linux, where the Secret Service is probed over D-Bus"
)]
pub(crate) async fn platform_store(
    name: &str,
    allow_unencrypted: bool,
    env: &dyn EnvironmentSource,
) -> Result<Arc<dyn CacheStore>> {
    #[cfg(windows)]
    {
        let _ = allow_unencrypted;
        let dir = identity_service_dir(env, "LOCALAPPDATA")?;
        Ok(Arc::new(crate::DpapiFileStore::new(dir.join(name))))
    }
    #[cfg(target_os = "linux")]
    {
        let file = identity_service_dir(env, "HOME")?.join(name);
        let mut store = crate::SecretServiceStore::new(name, file.clone());
        if let Some(address) = session_bus_address(env) {
            store = store.with_session_bus_address(address);
        }
        let unusable = match store.probe().await {
            Ok(()) => return Ok(Arc::new(store)),
            Err(e) => e,
        };
        if allow_unencrypted {
            tracing::warn!(
                path = %file.display(),
                reason = %unusable,
                "the Secret Service cannot keep the token cache: it is stored unencrypted (allow_unencrypted_storage)"
            );
            return Ok(Arc::new(crate::FileStore::new(file)));
        }
        Err(unusable)
    }
    #[cfg(not(any(windows, target_os = "linux")))]
    {
        let file = identity_service_dir(env, "HOME")?.join(name);
        if allow_unencrypted {
            return Ok(Arc::new(crate::FileStore::new(file)));
        }
        Err(Error::new(
            ErrorKind::Unsupported,
            "an encrypted token cache is not supported on this platform yet (the macOS Keychain \
             is not implemented); set allow_unencrypted_storage to keep it in a 0600 file",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mr_auth_core::EnvironmentMap;

    #[test]
    fn directories_come_from_the_environment_given() {
        let env = EnvironmentMap::new()
            .with("HOME", "/home/a")
            .with("LOCALAPPDATA", "");
        assert_eq!(
            identity_service_dir(&env, "HOME").unwrap(),
            PathBuf::from("/home/a").join(".IdentityService")
        );
        let err = identity_service_dir(&env, "LOCALAPPDATA").unwrap_err();
        assert_eq!(err.kind(), ErrorKind::StoreUnavailable);
        assert!(err.message().contains("LOCALAPPDATA is not set"), "{err}");
    }

    #[test]
    fn the_bus_is_the_address_else_the_runtime_directory_s() {
        let both = EnvironmentMap::new()
            .with("DBUS_SESSION_BUS_ADDRESS", "unix:path=/tmp/b")
            .with("XDG_RUNTIME_DIR", "/run/user/7");
        assert_eq!(
            session_bus_address(&both).as_deref(),
            Some("unix:path=/tmp/b")
        );
        let runtime = EnvironmentMap::new().with("XDG_RUNTIME_DIR", "/run/user/7");
        assert_eq!(
            session_bus_address(&runtime).as_deref(),
            Some("unix:path=/run/user/7/bus")
        );
        let empty = EnvironmentMap::new().with("DBUS_SESSION_BUS_ADDRESS", "");
        assert_eq!(session_bus_address(&empty), None);
    }
}
