//! Signs in to Microsoft Entra ID with `InteractiveBrowserBrokerCredential` (the platform
//! broker where there is one: WAM on Windows; else the browser flow), then lists the Azure
//! subscriptions the account can see, through an `azure_core` pipeline authorized by the
//! credential, as any Azure SDK client is.
//!
//! ```text
//! cargo run -p mr-auth-broker --example broker_sign_in [-- <tenant id or domain>]
//! ```
//!
//! The library never prints; this example's authorize-URL callback prints the browser flow's
//! URL and then tries the system browser, so on a machine without a browser you can open the
//! URL on a machine whose browser reaches this one's `localhost` port (`ssh -L`).
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
    AuthorizeUrlHandler, InteractiveBrowserBrokerCredential,
    InteractiveBrowserBrokerCredentialOptions, TenantId,
};
use std::sync::Arc;

const ARM_SCOPE: &str = "https://management.azure.com/.default";

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let tenant_id = match std::env::args().nth(1) {
        Some(tenant) => tenant.parse()?,
        None => TenantId::default(),
    };
    let credential =
        InteractiveBrowserBrokerCredential::new(Some(InteractiveBrowserBrokerCredentialOptions {
            tenant_id,
            authorize_url_handler: AuthorizeUrlHandler::callback(|url| {
                #[allow(
                    clippy::print_stderr,
                    reason = "an example shows the sign-in url to its user"
                )]
                {
                    eprintln!("To sign in, open this address in a browser:\n{url}");
                }
                // Headless: no browser to start, the printed URL is enough.
                let _ = AuthorizeUrlHandler::SystemBrowser.open(url);
                Ok(())
            }),
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
