//! The `x-ms-client-request-id` of a request, set before the request enters an `azure_core`
//! pipeline.
//!
//! `azure_core`'s `ClientRequestIdPolicy` adds the header itself, but first it looks the header
//! up with `Headers::get_optional_str`, and that lookup builds an `azure_core::Error` whenever
//! the header is absent. The error captures a stack trace when `RUST_BACKTRACE` or
//! `RUST_LIB_BACKTRACE` is set, as it often is on developers' machines: callgrind counts that
//! lookup at about 77,000 instructions per request then, 60% on top of a TLS refresh grant
//! through a bare pipeline (BENCHMARKS.md). A request that already carries the header skips the
//! error, at a smaller cost of typespec 1.1's: a lookup that finds the header formats its
//! "unable to parse" message anyway (`with_context_fn` evaluates its closure eagerly), about
//! 2,700 instructions against 1,200 for a miss without a stack trace. Setting the header costs
//! 1,500 instructions per request in production and saves 76,000 in development.
//!
//! The value is the one the policy would choose: the caller's [`ClientRequestId`] from the
//! context, else a new UUID. It is chosen once per call ([`CallRequestId::new`]) and sent with
//! every try of that call, as `azure_core`'s own pipelines do (their per-call policy runs once,
//! before the retry policy), so the service's logs show one id for one call.

use azure_core::{
    http::{
        headers::{Header as _, HeaderValue, CLIENT_REQUEST_ID},
        request::options::ClientRequestId,
        Context, Request,
    },
    Uuid,
};

/// The `x-ms-client-request-id` of one call, for each of its tries.
#[derive(Debug, Clone)]
pub struct CallRequestId(HeaderValue);

impl CallRequestId {
    /// The caller's [`ClientRequestId`] in `context` when there is one, else a new random UUID.
    pub fn new(context: &Context<'_>) -> Self {
        Self(match context.value::<ClientRequestId>() {
            Some(chosen) => chosen.value(),
            None => HeaderValue::from(String::from(Uuid::new_v4())),
        })
    }

    /// Sets it as `request`'s `x-ms-client-request-id`.
    pub fn insert_into(&self, request: &mut Request) {
        request.insert_header(CLIENT_REQUEST_ID, self.0.clone());
    }

    /// The id.
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use azure_core::http::{Method, Url};

    fn sent(id: &CallRequestId) -> String {
        let mut request = Request::new(Url::parse("https://127.0.0.1/").unwrap(), Method::Get);
        id.insert_into(&mut request);
        request
            .headers()
            .get_optional_str(&CLIENT_REQUEST_ID)
            .unwrap()
            .to_owned()
    }

    #[test]
    fn a_new_uuid_per_call_when_the_caller_chose_none() {
        let (first, second) = (
            CallRequestId::new(&Context::new()),
            CallRequestId::new(&Context::new()),
        );
        assert!(Uuid::parse_str(first.as_str()).is_ok(), "{first:?}");
        assert_ne!(first.as_str(), second.as_str(), "each call has its own id");
        assert_eq!(sent(&first), first.as_str());
        assert_eq!(
            sent(&first),
            sent(&first),
            "every try of a call sends the same id"
        );
    }

    #[test]
    fn the_callers_id_from_the_context() {
        let mut context = Context::new();
        context.insert(ClientRequestId::new("chosen-by-the-caller".to_owned()));
        assert_eq!(sent(&CallRequestId::new(&context)), "chosen-by-the-caller");
    }
}
