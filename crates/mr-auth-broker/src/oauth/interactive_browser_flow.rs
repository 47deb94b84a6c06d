use super::{
    loopback_receiver::LoopbackReceiver,
    pkce_verifier::PkceVerifier,
    token_endpoint::{Grant, TokenEndpoint, TokenResponse},
};
use crate::{AuthorityHost, AuthorizeUrlHandler, ClientId, Error, ErrorKind, Result, TenantId};
use azure_core::http::Context;
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine as _};
use rand::RngCore;
use std::{ops::RangeInclusive, time::Duration};
use url::Url;

/// The scopes every browser sign-in adds, for an id token and a refresh token.
const OIDC_SCOPES: [&str; 3] = ["openid", "profile", "offline_access"];

/// The OAuth 2.0 authorization code flow with PKCE for a public client (RFC 6749, 7636,
/// 8252), through the system browser and a loopback redirect receiver.
#[derive(Debug, Clone)]
pub(crate) struct InteractiveBrowserFlow {
    pub(crate) authority_host: AuthorityHost,
    pub(crate) client_id: ClientId,
    pub(crate) redirect_uri: Option<Url>,
    pub(crate) port_range: RangeInclusive<u16>,
    pub(crate) timeout: Duration,
    pub(crate) login_hint: Option<String>,
    pub(crate) authorize_url_handler: AuthorizeUrlHandler,
    pub(crate) token_endpoint: TokenEndpoint,
}

impl InteractiveBrowserFlow {
    /// Signs the user in through the browser and redeems the code. Runs in the caller's task:
    /// dropping the future closes the loopback listener at once.
    pub(crate) async fn sign_in(
        &self,
        tenant: &TenantId,
        scopes: &[String],
        claims: Option<&str>,
        context: &Context<'_>,
    ) -> Result<TokenResponse> {
        let receiver =
            LoopbackReceiver::bind(self.redirect_uri.as_ref(), self.port_range.clone()).await?;
        let redirect_uri = receiver.redirect_uri().to_string();
        let verifier = PkceVerifier::generate();
        let state = zeroize::Zeroizing::new(random_token());
        let nonce = zeroize::Zeroizing::new(random_token());
        let scopes = with_oidc_scopes(scopes);

        let mut url = self.authority_host.authorize_endpoint(tenant);
        {
            let mut q = url.query_pairs_mut();
            q.append_pair("client_id", self.client_id.as_str())
                .append_pair("response_type", "code")
                .append_pair("redirect_uri", &redirect_uri)
                .append_pair("scope", &scopes.join(" "))
                .append_pair("state", &state)
                .append_pair("code_challenge", &verifier.s256_challenge())
                .append_pair("code_challenge_method", "S256")
                .append_pair("nonce", &nonce)
                .append_pair("prompt", "select_account")
                .append_pair("response_mode", "form_post")
                .append_pair("client_info", "1");
            if let Some(hint) = &self.login_hint {
                q.append_pair("login_hint", hint);
            }
            if let Some(claims) = claims {
                q.append_pair("claims", claims);
            }
        }

        // The library never prints the URL (it carries state and nonce): the handler shows it.
        self.authorize_url_handler.open(&url)?;
        tracing::debug!(redirect_uri = %redirect_uri, "waiting for the browser to come back to the loopback receiver");

        let code = match tokio::time::timeout(self.timeout, receiver.receive(&state)).await {
            Ok(result) => result?,
            Err(_) => {
                return Err(Error::new(
                    ErrorKind::TimedOut,
                    format!("no sign-in response reached {redirect_uri} within {} s; finish the sign-in in the browser sooner, or raise the timeout", self.timeout.as_secs()),
                ))
            }
        };
        drop(receiver);

        let response = self
            .token_endpoint
            .request(
                self.authority_host.token_endpoint(tenant),
                &self.client_id,
                Grant::AuthorizationCode {
                    code: &code,
                    verifier,
                    redirect_uri: &redirect_uri,
                },
                &scopes,
                claims,
                &redirect_uri,
                context,
            )
            .await?;
        match &response.id_token_nonce {
            Some(n) if n.as_str() == nonce.as_str() => Ok(response),
            Some(_) => Err(Error::protocol(
                "the id token's nonce does not match the sign-in request; sign in again",
            )),
            None => Err(Error::protocol(
                "the token response has no id token with the sign-in request's nonce",
            )),
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
}
