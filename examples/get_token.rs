//! Exchanges a Mixed Reality account key for an access token at the STS.
//!
//! ```text
//! MIXEDREALITY_ACCOUNT_ID=<uuid> MIXEDREALITY_ACCOUNT_DOMAIN=<e.g. eastus2.mixedreality.azure.com> \
//! MIXEDREALITY_ACCOUNT_KEY=<key> [MIXEDREALITY_STS_ENDPOINT=<url>] cargo run --example get_token
//! ```
//!
//! The key is read from the environment, never from the command line, so it does not land in
//! shell history. The token itself is not printed, only its expiry and the service's MS-CV.

use mr_auth::{
    sts_client_with_account_key, AccountDomain, AccountId, AccountKey,
    MixedRealityStsClientOptions, StsEndpoint,
};
use std::process::ExitCode;

fn required(name: &str) -> Result<String, String> {
    std::env::var(name).map_err(|_| {
        format!(
            "{name} is not set; set MIXEDREALITY_ACCOUNT_ID, MIXEDREALITY_ACCOUNT_DOMAIN and MIXEDREALITY_ACCOUNT_KEY (and optionally MIXEDREALITY_STS_ENDPOINT), or run `cargo run --example quickstart` to try the local emulator"
        )
    })
}

async fn run() -> Result<(), String> {
    let account_id: AccountId = required("MIXEDREALITY_ACCOUNT_ID")?
        .parse()
        .map_err(|e| format!("MIXEDREALITY_ACCOUNT_ID: {e}"))?;
    let account_domain: AccountDomain = required("MIXEDREALITY_ACCOUNT_DOMAIN")?
        .parse()
        .map_err(|e| format!("MIXEDREALITY_ACCOUNT_DOMAIN: {e}"))?;
    let key = AccountKey::new(required("MIXEDREALITY_ACCOUNT_KEY")?)
        .map_err(|e| format!("MIXEDREALITY_ACCOUNT_KEY: {e}"))?;
    let mut options = MixedRealityStsClientOptions::default();
    if let Ok(endpoint) = std::env::var("MIXEDREALITY_STS_ENDPOINT") {
        options.custom_endpoint = Some(
            StsEndpoint::new(&endpoint).map_err(|e| format!("MIXEDREALITY_STS_ENDPOINT: {e}"))?,
        );
    }

    let client = sts_client_with_account_key(account_id, account_domain, key, Some(options))
        .map_err(|e| e.to_string())?;
    let token = client.get_token().await.map_err(|e| e.to_string())?;
    println!(
        "got a Mixed Reality access token from {} (expires {}, MS-CV {})",
        client.endpoint(),
        token.access_token.expires_on,
        token.ms_cv.as_deref().unwrap_or("none")
    );
    Ok(())
}

#[tokio::main]
async fn main() -> ExitCode {
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}
