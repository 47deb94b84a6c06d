use super::{
    authority_host::AuthorityHost,
    authorization_request::{with_oidc_scopes, AuthorizationParameters, AuthorizationRequest},
    authorize_url_handler::AuthorizeUrlHandler,
    client_id::ClientId,
    loopback_receiver::LoopbackReceiver,
    tenant_id::TenantId,
    token_endpoint::{Grant, TokenEndpoint},
    token_response::TokenResponse,
};
use crate::error::{Error, ErrorKind, Result};
use azure_core::http::Context;
use std::{ops::RangeInclusive, time::Duration};
use url::Url;

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
        let scopes = with_oidc_scopes(scopes);
        let request = AuthorizationRequest::new(
            self.authority_host.authorize_endpoint(tenant),
            &AuthorizationParameters {
                client_id: &self.client_id,
                redirect_uri: &redirect_uri,
                scopes: &scopes,
                login_hint: self.login_hint.as_deref(),
                claims,
            },
        );

        // The library never prints the URL (it carries state and nonce): the handler shows it.
        self.authorize_url_handler.open(&request.url)?;
        tracing::debug!(redirect_uri = %redirect_uri, "waiting for the browser to come back to the loopback receiver");

        let code = match tokio::time::timeout(self.timeout, receiver.receive(&request.state)).await
        {
            Ok(result) => result?,
            Err(_) => {
                return Err(Error::new(
                    ErrorKind::Timeout,
                    format!("no sign-in response reached {redirect_uri} within {} s; finish the sign-in in the browser sooner, or raise the timeout", self.timeout.as_secs()),
                ))
            }
        };
        drop(receiver);

        let AuthorizationRequest {
            nonce, verifier, ..
        } = request;
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
            Some(n) if n.as_str() == nonce.secret() => Ok(response),
            Some(_) => Err(Error::protocol(
                "the id token's nonce does not match the sign-in request; sign in again",
            )),
            None => Err(Error::protocol(
                "the token response has no id token with the sign-in request's nonce",
            )),
        }
    }
}
