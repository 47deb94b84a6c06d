//! Applying an injected [`Fault`] to a token request: some answer in its place (a status, a
//! dropped connection, a garbage body), some shape the token that is then issued.

use bytes::Bytes;
use hyper::{
    header::{self, HeaderValue},
    Response, StatusCode,
};

use super::{json_content_type, token_response, DropConnection, StsService};
use crate::{response_body::ResponseBody, Fault, Outcome, RequestSummary};

/// How an issued token is damaged, if at all.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(super) struct TokenShape {
    /// Leave out `exp`.
    pub(super) no_exp: bool,
    /// Cut the body short and fail the stream.
    pub(super) truncate: bool,
}

/// What a fault does to a request.
pub(super) enum FaultEffect {
    /// The fault is the answer (already recorded in the stats).
    Answered(Result<Response<ResponseBody>, DropConnection>),
    /// Serve the request normally (after a delay, if that was the fault), issuing a token of
    /// this shape if the request is valid.
    Serve(TokenShape),
}

impl StsService {
    /// Applies `fault` (consumed from the queue) to the request described by `summary`.
    pub(super) async fn apply_fault(
        &self,
        fault: Option<Fault>,
        ms_cv: &str,
        summary: &mut RequestSummary,
    ) -> FaultEffect {
        let mut shape = TokenShape::default();
        match fault {
            Some(Fault::Status {
                status,
                retry_after_secs,
            }) => {
                let status =
                    StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
                let mut response = token_response(status, ms_cv, ResponseBody::empty());
                let headers = response.headers_mut();
                match status {
                    StatusCode::BAD_REQUEST => {
                        headers.insert(
                            header::WWW_AUTHENTICATE,
                            HeaderValue::from_static("Invalid request: injected fault"),
                        );
                    }
                    StatusCode::UNAUTHORIZED => {
                        headers.insert(
                            header::WWW_AUTHENTICATE,
                            HeaderValue::from_static("Invalid token: injected fault"),
                        );
                    }
                    _ => {}
                }
                if let Some(secs) = retry_after_secs {
                    headers.insert(header::RETRY_AFTER, HeaderValue::from(secs));
                }
                summary.outcome = Outcome::Status(status.as_u16());
                self.stats.record(summary.clone(), false);
                return FaultEffect::Answered(Ok(response));
            }
            Some(Fault::Delay(delay)) => tokio::time::sleep(delay).await,
            Some(Fault::DropConnection) => {
                summary.outcome = Outcome::Dropped;
                summary.ms_cv = None;
                self.stats.record(summary.clone(), false);
                return FaultEffect::Answered(Err(DropConnection));
            }
            Some(Fault::GarbageBody) => {
                let mut response = token_response(
                    StatusCode::OK,
                    ms_cv,
                    ResponseBody::full(Bytes::from_static(
                        b"<html>\xff\xfe not json {\"AccessToken\": </html>",
                    )),
                );
                json_content_type(&mut response);
                self.stats.record(summary.clone(), false);
                return FaultEffect::Answered(Ok(response));
            }
            Some(Fault::TruncatedBody) => shape.truncate = true,
            Some(Fault::TokenWithoutExp) => shape.no_exp = true,
            None => {}
        }
        FaultEffect::Serve(shape)
    }
}
