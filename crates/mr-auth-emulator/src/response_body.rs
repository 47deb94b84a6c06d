use std::{
    fmt,
    future::Future,
    pin::Pin,
    task::{Context, Poll},
    time::Duration,
};

use bytes::Bytes;
use hyper::body::{Body, Frame, SizeHint};
use tokio::time::Sleep;

/// How long a truncated body waits after its partial data, so the partial bytes reach the
/// client before the connection is torn down.
const TRUNCATE_FLUSH_DELAY: Duration = Duration::from_millis(20);

/// The error that ends a truncated body; it makes hyper close the connection.
#[derive(Debug)]
pub(crate) struct TruncatedBodyError;

impl fmt::Display for TruncatedBodyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("response body truncated by an injected fault")
    }
}

impl std::error::Error for TruncatedBodyError {}

/// The body of every emulator response: a complete buffer, or (fault injection) a body that
/// announces `declared` bytes, sends fewer, then fails so the connection is closed.
#[derive(Debug)]
pub(crate) enum ResponseBody {
    Full(Option<Bytes>),
    Truncated {
        part: Option<Bytes>,
        declared: u64,
        wait: Option<Pin<Box<Sleep>>>,
    },
}

impl ResponseBody {
    pub(crate) fn empty() -> Self {
        Self::Full(None)
    }

    pub(crate) fn full(bytes: impl Into<Bytes>) -> Self {
        let bytes = bytes.into();
        if bytes.is_empty() {
            Self::Full(None)
        } else {
            Self::Full(Some(bytes))
        }
    }

    /// Announces the length of `whole`, sends its first half, then fails.
    pub(crate) fn truncated(whole: Bytes) -> Self {
        let declared = whole.len() as u64;
        let part = whole.slice(..whole.len() / 2);
        Self::Truncated {
            part: Some(part),
            declared,
            wait: None,
        }
    }
}

impl Body for ResponseBody {
    type Data = Bytes;
    type Error = TruncatedBodyError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, TruncatedBodyError>>> {
        match self.get_mut() {
            Self::Full(bytes) => Poll::Ready(bytes.take().map(|b| Ok(Frame::data(b)))),
            Self::Truncated { part, wait, .. } => {
                if let Some(part) = part.take() {
                    return Poll::Ready(Some(Ok(Frame::data(part))));
                }
                let sleep =
                    wait.get_or_insert_with(|| Box::pin(tokio::time::sleep(TRUNCATE_FLUSH_DELAY)));
                match sleep.as_mut().poll(cx) {
                    Poll::Pending => Poll::Pending,
                    Poll::Ready(()) => Poll::Ready(Some(Err(TruncatedBodyError))),
                }
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        matches!(self, Self::Full(None))
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            Self::Full(Some(bytes)) => SizeHint::with_exact(bytes.len() as u64),
            Self::Full(None) => SizeHint::with_exact(0),
            Self::Truncated { declared, .. } => SizeHint::with_exact(*declared),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;

    #[tokio::test]
    async fn full_body_yields_its_bytes() {
        mr_auth_test_support::bounded(async move {
            let body = ResponseBody::full("abc");
            assert_eq!(body.size_hint().exact(), Some(3));
            let bytes = body.collect().await.unwrap().to_bytes();
            assert_eq!(&bytes[..], b"abc");
            assert!(ResponseBody::empty().is_end_stream());
        })
        .await;
    }

    #[tokio::test]
    async fn truncated_body_sends_half_then_fails() {
        mr_auth_test_support::bounded(async move {
            let mut body = ResponseBody::truncated(Bytes::from_static(b"0123456789"));
            assert_eq!(body.size_hint().exact(), Some(10));
            let first = body.frame().await.unwrap().unwrap().into_data().unwrap();
            assert_eq!(&first[..], b"01234");
            assert!(body.frame().await.unwrap().is_err());
        })
        .await;
    }
}
