//! `mr-auth login` adopting a sign-in that is already in the shared token cache: when the
//! cache holds a refresh token of the client id for one account (or for the one `--username`
//! names), `login` redeems it (a refresh grant, no UI) instead of signing in again, as the
//! library's `SharedTokenCacheCredential::authenticate` does, and saves that account.
//! `--prompt` skips this; several accounts without `--username` are listed for the user to
//! choose; a refused refresh token (revoked, expired) is said and the interactive sign-in
//! follows.

use crate::{cli_error::CliError, shared_cache::SharedCache, terminal_text::printable};
use mr_auth_broker::{AuthenticationRecord, ErrorKind, TenantId};
use mr_auth_msal_cache::describe_accounts;

/// What `login` does after looking at the cache.
#[derive(Debug)]
pub(crate) enum Adoption {
    /// Signed in with the account's refresh token: its record.
    Adopted(AuthenticationRecord),
    /// Sign in interactively.
    SignIn,
}

/// Adopts the account of the client id in `cache` that `username` names (or the only one),
/// getting a token for `scopes` in `tenant`; see the module documentation.
///
/// # Errors
///
/// Bad input when several accounts fit and none was named (the message lists them); the
/// token endpoint's errors other than a refusal (network, 5xx), which an interactive sign-in
/// would meet too.
pub(crate) async fn adopt(
    cache: &SharedCache,
    username: Option<&str>,
    tenant: &TenantId,
    scopes: &[&str],
) -> Result<Adoption, CliError> {
    let credential = cache.credential(username, Some(tenant.clone()))?;
    let (all, fitting) = match (
        credential.accounts().await,
        credential.matching_accounts().await,
    ) {
        (Ok(all), Ok(fitting)) => (all, fitting),
        (Err(e), _) | (_, Err(e)) => {
            // The interactive sign-in that follows says what is wrong with the cache.
            tracing::debug!(error = %e, "the shared token cache cannot be read; not adopting a sign-in");
            return Ok(Adoption::SignIn);
        }
    };
    match (fitting.as_slice(), username) {
        ([], None) => Ok(Adoption::SignIn),
        ([], Some(username)) => {
            let there = if all.is_empty() {
                String::new()
            } else {
                format!(" (it holds {})", describe_accounts(&all))
            };
            eprintln!(
                "mr-auth: the shared token cache holds no sign-in of {} in tenant {tenant}{there}; signing in",
                printable(username)
            );
            Ok(Adoption::SignIn)
        }
        ([account], _) => match credential.authenticate(scopes, None).await {
            Ok(record) => Ok(Adoption::Adopted(record)),
            Err(e) if e.kind() == ErrorKind::AuthenticationRequired => {
                tracing::debug!(error = %e, "the cached sign-in was refused");
                eprintln!(
                    "mr-auth: the existing sign-in of {} in the shared token cache could not be used ({}); signing in again",
                    account.describe(),
                    refusal(&e)
                );
                Ok(Adoption::SignIn)
            }
            Err(e) => Err(e.into()),
        },
        (several, _) => Err(CliError::bad_input(format!(
            "the shared token cache holds sign-ins of several accounts for client id {}: {}; choose one with --username{}, or sign in anew with --prompt",
            cache.client_id,
            describe_accounts(several),
            if username.is_some() { " and --tenant" } else { "" },
        ))),
    }
}

/// What the authority said when it refused, for one line on stderr.
fn refusal(e: &mr_auth_broker::Error) -> String {
    let source = std::error::Error::source(e)
        .map(ToString::to_string)
        .unwrap_or_else(|| e.message().to_owned());
    printable(&source)
}
