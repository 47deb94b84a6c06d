//! What the shared token cache tests (`shared_token_cache.rs` and
//! `shared_token_cache_interop.rs`) share: the scope they ask for, and the token a credential
//! gives for it.
#![allow(
    unreachable_pub,
    reason = "a module of each shared token cache test binary, not of a library"
)]

use mr_auth_broker::SharedTokenCacheCredential;

/// The scope every test asks for.
pub const SCOPE: &str = "https://storage.azure.com/.default";

/// The access token `credential` gives for [`SCOPE`], which it must give.
pub async fn token_secret(credential: &SharedTokenCacheCredential) -> String {
    let token = credential.get_token_info(&[SCOPE], None).await;
    token.unwrap().token.secret().to_owned()
}
