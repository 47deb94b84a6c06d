//! A persistent token cache as another app left it: [`TempHome`], a home directory of the
//! test's own (without a Secret Service, so the cache is the plaintext file where that is
//! allowed), and [`MockAccount::sign_in`], the cache entries of a sign-in another MSAL app made
//! for an account of the [`mock_authority`](crate::mock_authority).

use crate::mock_authority::{client_info, unsigned_jwt, MockAccount, TENANT};
use mr_auth_core::EnvironmentMap;
use mr_auth_msal_cache::{
    CacheWrite, IdTokenSecret, MsalTokenCache, PersistentTokenCache, RefreshTokenSecret,
    TokenCachePersistenceOptions,
};
use std::path::{Path, PathBuf};

/// A home directory for one test, removed on drop. Its session bus address leads nowhere, so
/// no Secret Service answers: the persistent cache is `~/.IdentityService/<name>`, a plaintext
/// file, where `allow_unencrypted_storage` allows it.
#[derive(Debug)]
pub struct TempHome(PathBuf);

impl TempHome {
    /// A new, empty home under the system's temporary directory.
    ///
    /// # Panics
    ///
    /// When the directory cannot be created: a test setup failure.
    pub fn new() -> Self {
        let dir = std::env::temp_dir().join(format!("mr-auth-home-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).expect("a temporary home can be created");
        Self(dir)
    }

    /// The home at `path`, made by another [`TempHome`] (a child process of the test that
    /// made it); it is removed on drop too, unless forgotten.
    pub fn at(path: PathBuf) -> Self {
        Self(path)
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.0
    }

    /// A session bus address where nothing listens.
    pub fn no_bus(&self) -> String {
        format!("unix:path={}", self.0.join("no-bus").display())
    }

    /// The environment a credential or the CLI places its cache by: `HOME` (and
    /// `LOCALAPPDATA`) this directory, the session bus [`no_bus`](Self::no_bus).
    pub fn environment(&self) -> EnvironmentMap {
        let home = self.0.display().to_string();
        EnvironmentMap::from_iter([
            ("HOME", home.clone()),
            ("LOCALAPPDATA", home),
            ("DBUS_SESSION_BUS_ADDRESS", self.no_bus()),
        ])
    }

    /// The default cache's file, `~/.IdentityService/msal.cache.nocae`.
    pub fn cache_file(&self) -> PathBuf {
        self.0.join(".IdentityService").join("msal.cache.nocae")
    }

    /// The default cache (`msal.cache`, `.cae` when `cae`), opened as a credential opens it
    /// here.
    ///
    /// # Panics
    ///
    /// When it cannot be opened: a test setup failure.
    pub async fn cache(&self, cae: bool) -> PersistentTokenCache {
        let options = TokenCachePersistenceOptions {
            allow_unencrypted_storage: true,
            ..Default::default()
        };
        PersistentTokenCache::open_with_environment(&options, cae, &self.environment())
            .await
            .expect("the plaintext cache opens")
    }

    /// Adds `writes` to the default non-CAE cache, as the apps that made them would have.
    ///
    /// # Panics
    ///
    /// When the cache cannot be written: a test setup failure.
    pub async fn seed(&self, writes: &[CacheWrite]) {
        self.cache(false)
            .await
            .modify(|document| {
                for write in writes {
                    document.add(write).expect("a seeded sign-in is valid");
                }
            })
            .await
            .expect("the cache is written");
    }

    /// The default non-CAE cache's document.
    ///
    /// # Panics
    ///
    /// When it cannot be read.
    pub async fn document(&self) -> MsalTokenCache {
        self.cache(false)
            .await
            .load()
            .await
            .expect("the cache reads")
    }
}

impl Default for TempHome {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for TempHome {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

impl MockAccount {
    /// The cache entries of a sign-in of this account by `client_id` at the authority host
    /// `environment` (`127.0.0.1` for the mock authority), in the mock's tenant ([`TENANT`]):
    /// its refresh token (of a family app), its id token and `client_info`. Add an access
    /// token with struct update syntax (`access_token`, `scopes`, `expires_in`, `now`).
    pub fn sign_in(&self, client_id: &str, environment: &str, refresh_token: &str) -> CacheWrite {
        let claims = serde_json::json!({
            "oid": self.uid,
            "sub": format!("sub-{}", self.uid),
            "tid": TENANT,
            "preferred_username": self.username,
            "exp": 4_102_444_800u64,
        });
        let id_token = unsigned_jwt(&claims);
        CacheWrite {
            client_id: client_id.to_owned(),
            environment: environment.to_owned(),
            realm: TENANT.to_owned(),
            refresh_token: Some(RefreshTokenSecret::new(refresh_token)),
            id_token: Some(IdTokenSecret::new(id_token)),
            client_info: Some(client_info(&self.uid, &self.utid)),
            grant_type: Some("authorization_code".to_owned()),
            family_id: Some("1".to_owned()),
            ..CacheWrite::default()
        }
    }
}
