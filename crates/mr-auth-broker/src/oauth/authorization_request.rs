//! The browser's half of the authorization code flow: the authorize URL, and the secrets that
//! bind its answer to this sign-in (`state`, `nonce`, the PKCE verifier).

use super::{client_id::ClientId, pkce_verifier::PkceVerifier, secret_type::secret_type};
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine as _};
use rand::RngCore;
use url::Url;

secret_type! {
    /// The sign-in's `state`: the redirect that carries it back is the answer to this sign-in
    /// (RFC 6749 section 10.12), and only that one ends the loopback receiver's wait.
    pub(crate) struct State;
}

secret_type! {
    /// The sign-in's OpenID Connect `nonce`: the id token must carry it back, which binds the
    /// tokens to this sign-in.
    pub(crate) struct Nonce;
}

/// The scopes every browser sign-in adds, for an id token and a refresh token.
const OIDC_SCOPES: [&str; 3] = ["openid", "profile", "offline_access"];

/// One authorization request (RFC 6749 section 4.1.1 with PKCE, RFC 7636, and OpenID Connect's
/// `nonce`): the URL to open, and what checks and redeems its answer.
pub(crate) struct AuthorizationRequest {
    /// The authorize endpoint with the request's parameters. It carries `state` and `nonce`:
    /// shown to the user only, never logged.
    pub(crate) url: Url,
    pub(crate) state: State,
    pub(crate) nonce: Nonce,
    pub(crate) verifier: PkceVerifier,
}

/// Shows no part of the URL: its query holds `state` and `nonce`.
impl std::fmt::Debug for AuthorizationRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthorizationRequest")
            .field("authorize_endpoint", &self.url.path())
            .finish_non_exhaustive()
    }
}

/// What the request asks for.
#[derive(Debug)]
pub(crate) struct AuthorizationParameters<'a> {
    pub(crate) client_id: &'a ClientId,
    pub(crate) redirect_uri: &'a str,
    /// The scopes, OpenID Connect's included ([`with_oidc_scopes`]).
    pub(crate) scopes: &'a [String],
    pub(crate) login_hint: Option<&'a str>,
    pub(crate) claims: Option<&'a str>,
}

impl AuthorizationRequest {
    /// A request to `authorize_endpoint` with a fresh `state`, `nonce` and PKCE verifier.
    pub(crate) fn new(
        mut authorize_endpoint: Url,
        parameters: &AuthorizationParameters<'_>,
    ) -> Self {
        let verifier = PkceVerifier::generate();
        let state = State::new(random_token());
        let nonce = Nonce::new(random_token());
        {
            let mut q = authorize_endpoint.query_pairs_mut();
            q.append_pair("client_id", parameters.client_id.as_str())
                .append_pair("response_type", "code")
                .append_pair("redirect_uri", parameters.redirect_uri)
                .append_pair("scope", &parameters.scopes.join(" "))
                .append_pair("state", state.secret())
                .append_pair("code_challenge", &verifier.s256_challenge())
                .append_pair("code_challenge_method", "S256")
                .append_pair("nonce", nonce.secret())
                .append_pair("prompt", "select_account")
                .append_pair("response_mode", "form_post")
                .append_pair("client_info", "1");
            if let Some(hint) = parameters.login_hint {
                q.append_pair("login_hint", hint);
            }
            if let Some(claims) = parameters.claims {
                q.append_pair("claims", claims);
            }
        }
        Self {
            url: authorize_endpoint,
            state,
            nonce,
            verifier,
        }
    }
}

/// The caller's scopes plus `openid profile offline_access`, without duplicates.
pub(crate) fn with_oidc_scopes(scopes: &[String]) -> Vec<String> {
    let mut all = scopes.to_vec();
    for s in OIDC_SCOPES {
        if !all.iter().any(|x| x == s) {
            all.push(s.to_owned());
        }
    }
    all
}

/// 24 random bytes, base64url: a `state` or `nonce`.
fn random_token() -> String {
    let mut bytes = [0u8; 24];
    rand::rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oidc_scopes_are_added_once() {
        let s = with_oidc_scopes(&["https://x/.default".into(), "openid".into()]);
        assert_eq!(
            s,
            ["https://x/.default", "openid", "profile", "offline_access"]
        );
    }

    #[test]
    fn random_tokens_differ() {
        assert_ne!(random_token(), random_token());
        assert_eq!(random_token().len(), 32);
    }

    #[test]
    fn the_url_carries_the_request_and_its_secrets_stay_redacted() {
        let client_id = ClientId::default();
        let scopes = with_oidc_scopes(&["s".to_owned()]);
        let request = AuthorizationRequest::new(
            Url::parse("https://login.example.com/t/oauth2/v2.0/authorize").unwrap(),
            &AuthorizationParameters {
                client_id: &client_id,
                redirect_uri: "http://localhost:8400",
                scopes: &scopes,
                login_hint: Some("someone@contoso.com"),
                claims: None,
            },
        );
        let query: Vec<(String, String)> = request.url.query_pairs().into_owned().collect();
        let get = |name: &str| {
            query
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.as_str())
        };
        assert_eq!(get("state"), Some(request.state.secret()));
        assert_eq!(get("nonce"), Some(request.nonce.secret()));
        assert_eq!(
            get("code_challenge"),
            Some(request.verifier.s256_challenge().as_str())
        );
        assert_eq!(get("scope"), Some("s openid profile offline_access"));
        assert_eq!(get("login_hint"), Some("someone@contoso.com"));
        assert_eq!(get("claims"), None);
        assert_ne!(request.state.secret(), request.nonce.secret());
        let debug = format!("{request:?}");
        for secret in [
            request.verifier.secret(),
            request.state.secret(),
            request.nonce.secret(),
        ] {
            assert!(!debug.contains(secret), "{debug}");
        }
    }
}
