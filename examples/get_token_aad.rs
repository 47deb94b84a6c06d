//! Exchanges an Entra ID (Azure AD) identity for a Mixed Reality access token.
//!
//! ```text
//! az login   # or: azd auth login
//! MIXEDREALITY_ACCOUNT_ID=<uuid> MIXEDREALITY_ACCOUNT_DOMAIN=<e.g. eastus2.mixedreality.azure.com> \
//!   cargo run --example get_token_aad
//! ```
//!
//! `DeveloperToolsCredential` uses the Azure CLI or Azure Developer CLI sign-in; the identity
//! needs a Mixed Reality role on the account (for example "Remote Rendering Client"). The STS
//! is asked for the regionless scope `https://sts.mixedreality.azure.com//.default`.
//! The token itself is not printed.

use mr_auth::{
    azure_identity::DeveloperToolsCredential, mixed_reality_credential_with_aad, AccountDomain,
    AccountId, MixedRealityStsClientOptions, StsEndpoint,
};
use std::process::ExitCode;

fn required(name: &str) -> Result<String, String> {
    std::env::var(name).map_err(|_| {
        format!("{name} is not set; set MIXEDREALITY_ACCOUNT_ID and MIXEDREALITY_ACCOUNT_DOMAIN (and optionally MIXEDREALITY_STS_ENDPOINT)")
    })
}

async fn run() -> Result<(), String> {
    let account_id: AccountId = required("MIXEDREALITY_ACCOUNT_ID")?
        .parse()
        .map_err(|e| format!("MIXEDREALITY_ACCOUNT_ID: {e}"))?;
    let account_domain: AccountDomain = required("MIXEDREALITY_ACCOUNT_DOMAIN")?
        .parse()
        .map_err(|e| format!("MIXEDREALITY_ACCOUNT_DOMAIN: {e}"))?;
    let mut options = MixedRealityStsClientOptions::default();
    if let Ok(endpoint) = std::env::var("MIXEDREALITY_STS_ENDPOINT") {
        options.custom_endpoint = Some(
            StsEndpoint::new(&endpoint).map_err(|e| format!("MIXEDREALITY_STS_ENDPOINT: {e}"))?,
        );
    }

    let aad = DeveloperToolsCredential::new(None).map_err(|e| e.to_string())?;
    let credential =
        mixed_reality_credential_with_aad(account_id, account_domain, aad, Some(options), None)
            .map_err(|e| e.to_string())?;
    let token = credential
        .get_mixed_reality_token()
        .await
        .map_err(|e| e.to_string())?;
    println!(
        "got a Mixed Reality access token from {} (expires {}); asking again is served from the cache",
        credential.sts_client().endpoint(),
        token.expires_on
    );
    credential
        .get_mixed_reality_token()
        .await
        .map_err(|e| e.to_string())?;
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
