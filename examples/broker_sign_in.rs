//! Signs in to Microsoft Entra ID with `InteractiveBrowserBrokerCredential` and its defaults
//! (the system browser on Linux and macOS; WAM on Windows once it is implemented, the browser
//! until then), then lists the Azure subscriptions the account can see, through an
//! `azure_core` pipeline authorized by the credential, as any Azure SDK client is.
//!
//! ```text
//! cargo run -p mr-auth-broker --example broker_sign_in [-- <tenant id or domain>]
//! ```
//!
//! On a machine without a browser, open the printed URL on a machine whose browser can reach
//! this one's `localhost` port (for example through `ssh -L`).
#![allow(
    clippy::print_stdout,
    reason = "an example reports what it did on stdout"
)]

use azure_core::{
    credentials::TokenCredential,
    http::{
        policies::auth::BearerTokenAuthorizationPolicy, ClientOptions, Context, Method, Pipeline,
        Request, Url,
    },
};
use mr_auth_broker::{
    InteractiveBrowserBrokerCredential, InteractiveBrowserBrokerCredentialOptions,
};
use std::sync::Arc;

const ARM_SCOPE: &str = "https://management.azure.com/.default";

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let credential =
        InteractiveBrowserBrokerCredential::new(Some(InteractiveBrowserBrokerCredentialOptions {
            tenant_id: std::env::args().nth(1),
            ..Default::default()
        }))?;

    // The typed call: token type and refresh time too.
    let info = credential.get_token_info(&[ARM_SCOPE], None).await?;
    println!(
        "signed in: a {} token valid until {}",
        info.token_type, info.expires_on
    );

    // The same credential behind azure_core's bearer policy (served from its cache now).
    let authorization: Arc<dyn TokenCredential> = credential.clone();
    let policy = Arc::new(BearerTokenAuthorizationPolicy::new(
        authorization,
        [ARM_SCOPE],
    ));
    let pipeline = Pipeline::new(
        Some("broker_sign_in"),
        Some(env!("CARGO_PKG_VERSION")),
        ClientOptions::default(),
        Vec::new(),
        vec![policy],
        None,
    );
    let mut request = Request::new(
        Url::parse("https://management.azure.com/subscriptions?api-version=2022-12-01")?,
        Method::Get,
    );
    let response = pipeline.send(&Context::new(), &mut request, None).await?;
    let body: serde_json::Value = response.into_body().json()?;
    let subscriptions = body["value"].as_array().cloned().unwrap_or_default();
    println!("{} subscription(s):", subscriptions.len());
    for s in subscriptions {
        println!(
            "  {}  {}",
            s["subscriptionId"].as_str().unwrap_or("?"),
            s["displayName"].as_str().unwrap_or("?")
        );
    }
    Ok(())
}
