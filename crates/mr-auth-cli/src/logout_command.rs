use crate::{
    cli_error::CliError, config_dir::ConfigDir, login_command::display_name,
    saved_sign_in::SavedSignIn,
};
use clap::Args;
use mr_auth_broker::AuthenticationRecord;
use mr_auth_msal_cache::{ErrorKind, PersistentTokenCache, TokenCachePersistenceOptions};

/// Arguments of `mr-auth logout`.
#[derive(Debug, Args)]
pub(crate) struct LogoutArgs {}

/// Removes the signed-in account's tokens of mr-auth's client id from the persistent cache
/// (both the `.nocae` and `.cae` caches), then the saved sign-in. Entries of other apps (other
/// client ids) and of other accounts stay.
pub(crate) async fn run(_args: LogoutArgs) -> Result<(), CliError> {
    let dir = ConfigDir::from_env()?;
    let saved = match SavedSignIn::load(&dir) {
        Ok(Some(saved)) => saved,
        Ok(None) => {
            eprintln!("mr-auth: not signed in; nothing to do");
            return Ok(());
        }
        Err(e) => {
            // Unreadable files would keep every later command failing: remove them, and say
            // that the cache could not be cleaned without knowing the account.
            SavedSignIn::remove(&dir)?;
            eprintln!(
                "mr-auth: warning: {}; removed it, but the token cache was left as it is",
                e.one_line()
            );
            return Ok(());
        }
    };
    let persistence = TokenCachePersistenceOptions {
        name: saved.settings.cache_name.clone(),
        allow_unencrypted_storage: saved.settings.allow_unencrypted_storage,
    };
    let mut removed = 0;
    for cae in [false, true] {
        match remove_tokens(&persistence, cae, &saved.record).await {
            Ok(n) => removed += n,
            // The broker keeps its own tokens: without a usable store, nothing of this sign-in
            // can be in the cache (the browser fallback would have failed to write it too).
            // Only a bad cache name is the user's to fix.
            Err(e) if saved.settings.broker && e.kind() != ErrorKind::InvalidInput => {
                tracing::debug!(error = %e, "no token cache to clean after a broker sign-in");
            }
            Err(e) => return Err(e.into()),
        }
    }
    SavedSignIn::remove(&dir)?;
    tracing::debug!(
        removed,
        "removed the account's entries from the token cache"
    );
    println!(
        "Signed out {} (tenant {})",
        display_name(saved.record.username()),
        saved.record.tenant_id().as_str()
    );
    if saved.settings.broker {
        eprintln!("mr-auth: the operating system's broker keeps its own sign-in; remove the account in the system settings to sign out there too");
    }
    Ok(())
}

/// Removes the account's tokens of the record's client id from one cache, and temporary files
/// killed writers left beside it; how many entries. A cache without any is not written (so
/// logout creates no store that did not exist).
async fn remove_tokens(
    persistence: &TokenCachePersistenceOptions,
    cae: bool,
    record: &AuthenticationRecord,
) -> mr_auth_msal_cache::Result<usize> {
    let cache = PersistentTokenCache::open(persistence, cae).await?;
    // What writers killed mid-write left (whole documents with refresh tokens): removed even
    // when the cache holds nothing of this account.
    match cache.remove_leftovers().await {
        Ok(0) => {}
        Ok(n) => tracing::debug!(removed = n, "removed temporary files killed writers left"),
        Err(e) => {
            tracing::debug!(error = %e, "temporary files of killed writers could not be removed")
        }
    }
    let (client_id, account) = (record.client_id().as_str(), record.home_account_id());
    let mut probe = cache.load().await?;
    if probe.remove_client_tokens(client_id, Some(account)) == 0 {
        return Ok(0);
    }
    cache
        .modify(|c| c.remove_client_tokens(client_id, Some(account)))
        .await
}
