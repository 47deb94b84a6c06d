//! Reading a response body whole, refusing one larger than a bound: a hostile or broken server
//! cannot make a client buffer more than it ever needs.

use futures::StreamExt as _;

/// Why [`read_bounded_body`] did not return the whole body.
#[derive(Debug)]
pub enum BodyReadError {
    /// The body is larger than the limit; reading stopped at the limit.
    TooLarge,
    /// The connection failed before the whole body arrived.
    Cut(azure_core::Error),
}

/// Reads `body` to its end, refusing more than `limit` bytes: it stops reading as soon as the
/// limit would be passed, so an endless body costs `limit` bytes at most.
pub async fn read_bounded_body(
    mut body: azure_core::http::AsyncResponseBody,
    limit: usize,
) -> Result<Vec<u8>, BodyReadError> {
    let mut bytes = Vec::new();
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(BodyReadError::Cut)?;
        if bytes.len() + chunk.len() > limit {
            return Err(BodyReadError::TooLarge);
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(bytes)
}
