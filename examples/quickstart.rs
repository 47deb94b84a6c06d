//! The whole Mixed Reality flow on one machine, with no Azure account:
//!
//! 1. start the local STS emulator in this process, over TLS with a freshly generated CA;
//! 2. exchange an account key for a Mixed Reality access token through the real client,
//!    trusting only that CA;
//! 3. print the token's header, claims and expiry.
//!
//! ```text
//! cargo run --example quickstart
//! ```

use mr_auth::{
    decode_jwt_unverified, sts_client_with_account_key, AccountId, AccountKey, Clock as _,
    MixedRealityStsClientOptions, StsEndpoint, SystemClock,
};
use mr_auth_emulator::Emulator;
use std::{error::Error, process::ExitCode};
use uuid::Uuid;

async fn run() -> Result<(), Box<dyn Error>> {
    // A throwaway account: the emulator knows it, nothing else does.
    let account = Uuid::new_v4();
    let key = Uuid::new_v4().simple().to_string();

    let emulator = Emulator::builder()
        .account(account, key.clone())
        .start()
        .await?;
    println!("local STS emulator listening at {}", emulator.endpoint());

    let options = MixedRealityStsClientOptions {
        custom_endpoint: Some(StsEndpoint::from_url(emulator.endpoint().clone())?),
        extra_root_certificates_pem: emulator.ca_pem().map(str::to_owned).into_iter().collect(),
        ..MixedRealityStsClientOptions::default()
    };
    let client = sts_client_with_account_key(
        AccountId::new(account)?,
        "mixedreality.azure.com".parse()?,
        AccountKey::new(key)?,
        Some(options),
    )?;
    let token = client.get_token().await?;

    let decoded = decode_jwt_unverified(token.access_token.token.secret())?;
    let left = (decoded.expires_on - SystemClock.now()).whole_seconds();
    println!(
        "MS-CV of the response: {}",
        token.ms_cv.as_deref().unwrap_or("none")
    );
    println!(
        "token header: {}",
        serde_json::Value::Object(decoded.header)
    );
    println!(
        "token claims: {:#}",
        serde_json::Value::Object(decoded.claims)
    );
    println!("expires on {} (in {left} s)", decoded.expires_on);

    emulator.shutdown().await;
    Ok(())
}

#[tokio::main]
async fn main() -> ExitCode {
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("quickstart failed: {error}");
            ExitCode::FAILURE
        }
    }
}
