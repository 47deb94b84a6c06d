//! Issuing a signed Mixed Reality token for an authorized request.

use bytes::Bytes;
use hyper::{Response, StatusCode};

use super::{fault_application::TokenShape, json_content_type, token_response, StsService};
use crate::{
    response_body::ResponseBody, token_signer::TokenClaims, Account, CredentialKind, Outcome,
    RequestSummary,
};

impl StsService {
    /// Signs a token for `account` (shaped by an injected fault, if any), records the request
    /// and returns the `{"AccessToken":"<jwt>"}` response.
    pub(super) fn issue(
        &self,
        account: &Account,
        kind: CredentialKind,
        shape: TokenShape,
        ms_cv: &str,
        mut summary: RequestSummary,
    ) -> Response<ResponseBody> {
        let now = self.now_secs();
        let claims = TokenClaims {
            // From the thread-local generator: no system call per token.
            jti: uuid::Builder::from_random_bytes(rand::random()).into_uuid(),
            aid: account.id(),
            tid: account.tenant_id(),
            rid: account.resource_id(),
            aao: match kind {
                CredentialKind::AadToken => "AAD",
                _ => "AccountKey",
            },
            apr: account.region(),
            iss: &self.issuer,
            aud: &self.audience,
            iat: now,
            nbf: now,
            exp: (!shape.no_exp).then(|| now.saturating_add(self.token_lifetime.as_secs())),
        };
        let Ok(token) = self.signer.sign(&claims) else {
            let response = token_response(
                StatusCode::INTERNAL_SERVER_ERROR,
                ms_cv,
                ResponseBody::empty(),
            );
            summary.outcome = Outcome::Status(500);
            self.stats.record(summary, false);
            return response;
        };
        let mut body = String::with_capacity(token.len() + 20);
        body.push_str(r#"{"AccessToken":""#);
        body.push_str(&token);
        body.push_str(r#""}"#);
        let body = Bytes::from(body);
        let body = if shape.truncate {
            summary.outcome = Outcome::Truncated;
            ResponseBody::truncated(body)
        } else {
            ResponseBody::full(body)
        };
        let mut response = token_response(StatusCode::OK, ms_cv, body);
        json_content_type(&mut response);
        self.stats.record(summary, true);
        response
    }
}
