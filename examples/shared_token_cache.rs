//! A Rust program using the sign-in `mr-auth login` left on this machine, silently:
//! `SharedTokenCacheCredential` reads the persistent token cache `mr-auth login` (and
//! azure-identity, and MSAL with its extensions) write, as `azure_identity`'s
//! `DeveloperToolsCredential` uses the Azure CLI's sign-in. It asks Microsoft Graph who is
//! signed in.
//!
//! ```text
//! mr-auth login
//! cargo run -p mr-auth --features broker --example shared_token_cache [-- <user name>]
//! ```
//!
//! Name the user when the cache holds several sign-ins. It never opens a browser: without a
//! sign-in it fails with `AuthenticationRequired`, saying to run `mr-auth login`.
//!
//! `crates/mr-auth/tests/shared_token_cache_example.rs` runs [`who_am_i`] against a local
//! stand-in for Graph, with the token from a cache another app filled.
#![allow(
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "an example reports what it did"
)]

use mr_auth::{
    azure_core::{
        self,
        http::{
            policies::auth::BearerTokenAuthorizationPolicy, ClientOptions, Context, Method,
            Pipeline, Request, Url,
        },
    },
    broker::{SharedTokenCacheCredential, SharedTokenCacheCredentialOptions},
    TokenCredential,
};
use std::{process::ExitCode, sync::Arc};

/// What the example asks a token for: Microsoft Graph.
pub(crate) const GRAPH_SCOPE: &str = "https://graph.microsoft.com/.default";

/// The user principal name of `credential`'s account, as Microsoft Graph at `graph` says
/// (`GET /v1.0/me`), through an `azure_core` pipeline authorized by the credential, as any
/// Azure SDK client is.
pub(crate) async fn who_am_i(
    credential: Arc<dyn TokenCredential>,
    graph: &Url,
    options: ClientOptions,
) -> azure_core::Result<String> {
    let authorization = BearerTokenAuthorizationPolicy::new(credential, [GRAPH_SCOPE]);
    let pipeline = Pipeline::new(
        Some("shared_token_cache_example"),
        Some(env!("CARGO_PKG_VERSION")),
        options,
        Vec::new(),
        vec![Arc::new(authorization)],
        None,
    );
    let mut me = Request::new(graph.join("v1.0/me")?, Method::Get);
    let response = pipeline.send(&Context::new(), &mut me, None).await?;
    let status = response.status();
    if !status.is_success() {
        return Err(azure_core::Error::with_message(
            azure_core::error::ErrorKind::HttpResponse {
                status,
                error_code: None,
                raw_response: None,
            },
            format!("GET /v1.0/me answered {status}"),
        ));
    }
    let me: serde_json::Value = response.into_body().json()?;
    Ok(me["userPrincipalName"]
        .as_str()
        .unwrap_or("(no user principal name)")
        .to_owned())
}

#[tokio::main]
async fn main() -> ExitCode {
    let options = SharedTokenCacheCredentialOptions {
        username: std::env::args().nth(1),
        ..Default::default()
    };
    let credential = match SharedTokenCacheCredential::new(Some(options)) {
        Ok(credential) => credential,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    let graph = Url::parse("https://graph.microsoft.com/").expect("a valid URL");
    match who_am_i(credential, &graph, ClientOptions::default()).await {
        Ok(name) => {
            println!("Microsoft Graph says the signed-in user is {name}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
