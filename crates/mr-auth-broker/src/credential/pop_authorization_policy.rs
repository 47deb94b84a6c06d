use super::{
    broker_token_request_options::BrokerTokenRequestOptions,
    interactive_browser_broker_credential::InteractiveBrowserBrokerCredential,
};
use crate::{
    oauth::TokenType,
    platform::{PopMethod, PopParameters},
};
use azure_core::{
    error::ErrorKind as CoreErrorKind,
    http::{
        headers::{Headers, AUTHORIZATION, WWW_AUTHENTICATE},
        policies::{Policy, PolicyResult},
        Context, Request, StatusCode,
    },
};
use std::sync::{Arc, Mutex};

/// An `azure_core` pipeline policy that authorizes each request with a proof-of-possession
/// token bound to that request's method and URL: `Authorization: PoP <token>`.
///
/// azure_core's `BearerTokenAuthorizationPolicy` only writes `Bearer`. This policy asks the
/// credential for a PoP token for every request (the credential caches them per method, URL
/// and nonce). When the resource answers `401` with a `WWW-Authenticate: PoP nonce="..."`
/// challenge, the policy remembers the nonce, gets a token bound to it, and sends the request
/// once more. Later requests use the latest nonce from the start.
///
/// PoP tokens come only from the platform broker; elsewhere every request fails with
/// [`ErrorKind::PopNeedsBroker`](crate::ErrorKind::PopNeedsBroker) rather than going out with a
/// Bearer token.
#[derive(Debug)]
pub struct PopAuthorizationPolicy {
    credential: Arc<InteractiveBrowserBrokerCredential>,
    scopes: Vec<String>,
    request_options: BrokerTokenRequestOptions,
    nonce: Mutex<Option<String>>,
}

impl PopAuthorizationPolicy {
    /// A policy getting PoP tokens for `scopes` from `credential`.
    pub fn new<S: Into<String>>(
        credential: Arc<InteractiveBrowserBrokerCredential>,
        scopes: impl IntoIterator<Item = S>,
    ) -> Self {
        Self {
            credential,
            scopes: scopes.into_iter().map(Into::into).collect(),
            request_options: BrokerTokenRequestOptions::default(),
            nonce: Mutex::new(None),
        }
    }

    /// Per-request options (claims, CAE, tenant) used for every token; their `pop` is replaced
    /// by each request's own.
    #[must_use]
    pub fn with_request_options(mut self, options: BrokerTokenRequestOptions) -> Self {
        self.request_options = options;
        self
    }

    fn current_nonce(&self) -> Option<String> {
        self.nonce.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    async fn authorize(
        &self,
        request: &mut Request,
        nonce: Option<String>,
    ) -> azure_core::Result<()> {
        let method: PopMethod = request.method().as_str().parse()?;
        let pop = PopParameters::new(method, request.url().clone(), nonce)?;
        let options = BrokerTokenRequestOptions {
            pop: Some(pop),
            ..self.request_options.clone()
        };
        let scopes: Vec<&str> = self.scopes.iter().map(String::as_str).collect();
        let token = self
            .credential
            .get_token_info(&scopes, Some(options))
            .await?;
        if token.token_type != TokenType::Pop {
            return Err(azure_core::Error::with_message(
                CoreErrorKind::Credential,
                "the credential returned a non-pop token for a pop request; not sending it",
            ));
        }
        request.insert_header(AUTHORIZATION, format!("PoP {}", token.token.secret()));
        Ok(())
    }
}

#[async_trait::async_trait]
impl Policy for PopAuthorizationPolicy {
    async fn send(
        &self,
        ctx: &Context,
        request: &mut Request,
        next: &[Arc<dyn Policy>],
    ) -> PolicyResult {
        let nonce = self.current_nonce();
        self.authorize(request, nonce.clone()).await?;
        let response = next[0].send(ctx, request, &next[1..]).await?;
        if response.status() != StatusCode::Unauthorized {
            return Ok(response);
        }
        let Some(challenge_nonce) = pop_challenge_nonce(response.headers()) else {
            return Ok(response);
        };
        if nonce.as_deref() == Some(challenge_nonce.as_str()) {
            // The resource refused a token bound to this very nonce: retrying cannot help.
            return Ok(response);
        }
        *self.nonce.lock().unwrap_or_else(|p| p.into_inner()) = Some(challenge_nonce.clone());
        self.authorize(request, Some(challenge_nonce)).await?;
        request.body_mut().reset().await?;
        next[0].send(ctx, request, &next[1..]).await
    }
}

/// The `nonce` of a `PoP` challenge in `WWW-Authenticate`, if there is one.
fn pop_challenge_nonce(headers: &Headers) -> Option<String> {
    let value = headers.get_optional_str(&WWW_AUTHENTICATE)?;
    parse_pop_nonce(value)
}

fn parse_pop_nonce(value: &str) -> Option<String> {
    // Find the PoP scheme: at the start, or after a comma, followed by whitespace.
    let lower = value.to_ascii_lowercase();
    let mut start = None;
    let mut from = 0;
    while let Some(i) = lower[from..].find("pop") {
        let at = from + i;
        let before_ok = lower[..at].trim_end().is_empty() || lower[..at].trim_end().ends_with(',');
        let after_ok = lower[at + 3..].starts_with(|c: char| c.is_whitespace());
        if before_ok && after_ok {
            start = Some(at + 3);
            break;
        }
        from = at + 3;
    }
    let params = &value[start?..];
    for param in split_params(params) {
        let (name, raw) = param.split_once('=')?;
        let name = name.trim();
        if name.contains(char::is_whitespace) {
            // The next scheme began ("Bearer realm=..."): the PoP challenge had no nonce.
            return None;
        }
        if name.eq_ignore_ascii_case("nonce") {
            let raw = raw.trim();
            let nonce = raw
                .strip_prefix('"')
                .and_then(|r| r.strip_suffix('"'))
                .unwrap_or(raw);
            return (!nonce.is_empty()).then(|| nonce.to_owned());
        }
    }
    None
}

/// Splits `a="x, y", b=z` at the commas outside quotes.
fn split_params(s: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let (mut quoted, mut begin) = (false, 0);
    for (i, c) in s.char_indices() {
        match c {
            '"' => quoted = !quoted,
            ',' if !quoted => {
                out.push(&s[begin..i]);
                begin = i + 1;
            }
            _ => {}
        }
    }
    out.push(&s[begin..]);
    out.into_iter().filter(|p| !p.trim().is_empty()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_pop_nonces() {
        assert_eq!(
            parse_pop_nonce(r#"PoP nonce="abc""#).as_deref(),
            Some("abc")
        );
        assert_eq!(
            parse_pop_nonce(r#"pop realm="x", nonce=tok"#).as_deref(),
            Some("tok")
        );
        assert_eq!(
            parse_pop_nonce(r#"Bearer authorization_uri="https://l/x", PoP nonce="n, 2""#)
                .as_deref(),
            Some("n, 2")
        );
        assert_eq!(parse_pop_nonce(r#"Bearer nonce="x""#), None);
        assert_eq!(parse_pop_nonce(r#"PoP realm="r", Bearer nonce="x""#), None);
        assert_eq!(parse_pop_nonce(r#"Popular nonce="x""#), None);
        assert_eq!(parse_pop_nonce("PoP"), None);
    }
}
