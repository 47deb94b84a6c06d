//! Azure Blob Storage with `InteractiveBrowserBrokerCredential`: the Azure SDK's own
//! `azure_storage_blob` client, authorized by a user's sign-in (WAM on Windows, the system
//! browser elsewhere), creates a container, uploads a blob, reads it back and lists the
//! container, then deletes the container.
//!
//! ```text
//! AZURE_STORAGE_ACCOUNT_NAME=<account> [AZURE_TENANT_ID=<tenant>] \
//!     cargo run -p mr-auth --features broker --example blob_with_broker
//! ```
//!
//! The signed-in user needs a data role on the account, for example *Storage Blob Data
//! Contributor* (the *Owner* or *Contributor* management roles are not enough). One sign-in
//! serves every request: the credential caches the token.
//!
//! `tests/blob_with_broker_azurite.rs` runs [`round_trip`] against Azurite, with a real
//! headless Chromium signing in at a local mock authority.
#![allow(
    clippy::print_stdout,
    reason = "an example reports what it did on stdout"
)]

use futures::TryStreamExt as _;
use mr_auth::{
    azure_core::{
        self,
        http::{RequestContent, Url},
    },
    broker::{InteractiveBrowserBrokerCredential, InteractiveBrowserBrokerCredentialOptions},
};

use azure_storage_blob::BlobServiceClient;

/// The blob the example writes.
pub(crate) const BLOB_NAME: &str = "hello.txt";
/// What it writes there.
pub(crate) const CONTENT: &[u8] = b"Hello from mr-auth and azure_storage_blob";

/// What [`round_trip`] read back from the service.
#[derive(Debug)]
pub(crate) struct RoundTrip {
    /// The content of the blob as downloaded.
    pub(crate) downloaded: Vec<u8>,
    /// The names of the blobs listed in the container.
    pub(crate) listed: Vec<String>,
}

/// Creates `container`, uploads [`CONTENT`] as [`BLOB_NAME`], downloads it and lists the
/// container, through `service`.
pub(crate) async fn round_trip(
    service: &BlobServiceClient,
    container: &str,
) -> azure_core::Result<RoundTrip> {
    let container_client = service.blob_container_client(container);
    container_client.create(None).await?;
    let blob = container_client.blob_client(BLOB_NAME);
    blob.upload(RequestContent::from(CONTENT.to_vec()), None)
        .await?;
    let downloaded = blob.download(None).await?.body.collect().await?.to_vec();
    let mut listed = Vec::new();
    let mut pager = container_client.list_blobs(None)?;
    while let Some(item) = pager.try_next().await? {
        listed.extend(item.name);
    }
    Ok(RoundTrip { downloaded, listed })
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let account = std::env::var("AZURE_STORAGE_ACCOUNT_NAME")
        .map_err(|_| "set AZURE_STORAGE_ACCOUNT_NAME to your storage account's name")?;
    let mut options = InteractiveBrowserBrokerCredentialOptions::default();
    if let Ok(tenant) = std::env::var("AZURE_TENANT_ID") {
        options.tenant_id = tenant.parse()?;
    }
    // The OS broker where there is one (WAM, Linux's identity broker), else the system browser.
    let credential = InteractiveBrowserBrokerCredential::new(Some(options))?;
    let service = BlobServiceClient::new(
        Url::parse(&format!("https://{account}.blob.core.windows.net/"))?,
        Some(credential),
        None,
    )?;

    let container = format!("mr-auth-example-{}", uuid::Uuid::new_v4().simple());
    let result = round_trip(&service, &container).await?;
    println!(
        "container {container}: uploaded {BLOB_NAME}, read back {:?}, listed {:?}",
        String::from_utf8_lossy(&result.downloaded),
        result.listed
    );
    service
        .blob_container_client(&container)
        .delete(None)
        .await?;
    println!("deleted container {container}");
    Ok(())
}
