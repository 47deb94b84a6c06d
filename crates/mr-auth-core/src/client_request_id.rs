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
//! context, else a new UUID.

use azure_core::{
    http::{
        headers::{Header as _, CLIENT_REQUEST_ID},
        request::options::ClientRequestId,
        Context, Request,
    },
    Uuid,
};

/// Sets `request`'s `x-ms-client-request-id`: the [`ClientRequestId`] in `context` when the
/// caller put one there, else a new random UUID.
pub fn insert_client_request_id(request: &mut Request, context: &Context<'_>) {
    match context.value::<ClientRequestId>() {
        Some(chosen) => request.insert_header(CLIENT_REQUEST_ID, chosen.value()),
        None => request.insert_header(CLIENT_REQUEST_ID, String::from(Uuid::new_v4())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use azure_core::http::{Method, Url};

    fn request() -> Request {
        Request::new(Url::parse("https://127.0.0.1/").unwrap(), Method::Get)
    }

    #[test]
    fn a_new_uuid_when_the_caller_chose_none() {
        let (mut first, mut second) = (request(), request());
        insert_client_request_id(&mut first, &Context::new());
        insert_client_request_id(&mut second, &Context::new());
        let id = |r: &Request| {
            r.headers()
                .get_optional_str(&CLIENT_REQUEST_ID)
                .unwrap()
                .to_owned()
        };
        let (a, b) = (id(&first), id(&second));
        assert!(Uuid::parse_str(&a).is_ok(), "{a}");
        assert_ne!(a, b, "each request has its own id");
    }

    #[test]
    fn the_callers_id_from_the_context() {
        let mut context = Context::new();
        context.insert(ClientRequestId::new("chosen-by-the-caller".to_owned()));
        let mut request = request();
        insert_client_request_id(&mut request, &context);
        assert_eq!(
            request.headers().get_optional_str(&CLIENT_REQUEST_ID),
            Some("chosen-by-the-caller")
        );
    }
}
