//! The credential's silent sources (the broker's calls, the persistent cache, the refresh
//! tokens) and their order ([`standard_chain`]).
//! Each answers, says why it has nothing, or fails for real.

use super::{
    session::{check_pop_support, Session, SignIn},
    silent_chain::{Silent, SilentChain, SilentStep},
    token_request::TokenRequest,
};
use crate::{
    error::{Error, ErrorKind, Result},
    oauth::{with_oidc_scopes, Grant, RefreshToken, TokenResponse},
    platform::BrokerToken,
};
use async_trait::async_trait;
use azure_core::http::Context;
use url::Url;

/// The credential's sources after its in-memory cache: the platform broker (for the account
/// signed in before, then the OS default account), then the persistent cache's access token
/// and the refresh tokens of the browser flow. The broker's come first: when it reports itself
/// unavailable the browser flow's sources take over in the same run; while it is usable it
/// keeps the tokens, and those say so.
pub(crate) fn standard_chain() -> SilentChain {
    SilentChain::new(vec![
        Box::new(BrokerSilent::KnownAccount),
        Box::new(BrokerSilent::DefaultAccount),
        Box::new(PersistentCache),
        Box::new(RefreshTokens),
    ])
}

/// The device code credential's sources after its in-memory cache: it has no broker, so the
/// persistent cache's access token and the refresh tokens.
pub(crate) fn device_code_chain() -> SilentChain {
    SilentChain::new(vec![Box::new(PersistentCache), Box::new(RefreshTokens)])
}

/// The broker's silent calls: for the account signed in before (this process's last broker
/// sign-in, or an authentication record's account where the broker finds accounts by id), and
/// for the operating system's default account when `use_default_broker_account` asks for it.
#[derive(Debug)]
pub(crate) enum BrokerSilent {
    KnownAccount,
    DefaultAccount,
}

#[async_trait]
impl SilentStep for BrokerSilent {
    fn source(&self) -> &'static str {
        match self {
            Self::KnownAccount => "broker, account signed in before",
            Self::DefaultAccount => "broker, default account",
        }
    }

    async fn attempt(
        &self,
        session: &Session,
        request: &TokenRequest,
        _: &Context<'_>,
    ) -> Result<Silent> {
        let Some(broker) = session.usable_broker() else {
            return Ok(Silent::not_available(session.why_no_broker()));
        };
        check_pop_support(&*broker, request)?;
        let broker_request = session.broker_request(&*broker, request);
        let answer = match self {
            Self::KnownAccount => {
                let Some(account) = session.broker_account() else {
                    return Ok(Silent::not_available(
                        "no account has signed in through the broker yet",
                    ));
                };
                broker
                    .acquire_token_silently(&broker_request, &account)
                    .await
            }
            Self::DefaultAccount => {
                if !session.config.use_default_broker_account {
                    return Ok(Silent::not_available(
                        "not asked for (use_default_broker_account is off)",
                    ));
                }
                broker
                    .acquire_token_with_default_account(&broker_request)
                    .await
            }
        };
        broker_answer(session, request, answer)
    }
}

/// A valid access token of the browser flow's account in the persistent cache: no network.
#[derive(Debug)]
pub(crate) struct PersistentCache;

#[async_trait]
impl SilentStep for PersistentCache {
    fn source(&self) -> &'static str {
        "persistent cache"
    }

    async fn attempt(
        &self,
        session: &Session,
        request: &TokenRequest,
        _: &Context<'_>,
    ) -> Result<Silent> {
        if let Some(reason) = browser_flow_only(session, request)? {
            return Ok(Silent::not_available(reason));
        }
        let Some(persistence) = &session.persistence else {
            return Ok(Silent::not_available(
                "none configured (cache_persistence_options)",
            ));
        };
        let Some(account) = session.account() else {
            return Ok(Silent::not_available(
                "no account to look for: no authentication_record, and no sign-in yet",
            ));
        };
        match persistence.access_token(request, &account).await {
            Some(token) => {
                tracing::debug!(
                    home_account_id = account.home_account_id(),
                    "access token from the persistent token cache"
                );
                Ok(Silent::Token(token))
            }
            None if request.claims.is_some() => Ok(Silent::not_available(
                "a claims challenge needs a new token",
            )),
            None => Ok(Silent::not_available(
                "no valid access token of the account for these scopes (or the cache cannot be read)",
            )),
        }
    }
}

/// The browser flow's refresh tokens: the persistent cache's first (another process may have
/// rotated it), then this credential's own when it is another one. A refused one is followed
/// by the next.
#[derive(Debug)]
pub(crate) struct RefreshTokens;

#[async_trait]
impl SilentStep for RefreshTokens {
    fn source(&self) -> &'static str {
        "refresh token"
    }

    async fn attempt(
        &self,
        session: &Session,
        request: &TokenRequest,
        context: &Context<'_>,
    ) -> Result<Silent> {
        if let Some(reason) = browser_flow_only(session, request)? {
            return Ok(Silent::not_available(reason));
        }
        Ok(match refresh(session, request, context).await? {
            Refreshed::SignedIn(sign_in) => Silent::Token(sign_in.token),
            Refreshed::Refused(Some(refusal)) => Silent::refused(refusal),
            Refreshed::Refused(None) => Silent::not_available(
                "none: no sign-in in this process yet, and none stored for the account",
            ),
        })
    }
}

/// What redeeming the refresh tokens gave.
pub(crate) enum Refreshed {
    /// The authority took one: the new tokens, taken in by the session (and stored).
    SignedIn(SignIn),
    /// It refused every one (the last refusal), or there was none to try (`None`).
    Refused(Option<Error>),
}

/// Redeems the refresh tokens of the session's account in turn (the persistent cache's first,
/// then the session's own), until the authority takes one; a refused one is followed by the
/// next. `Err` for a failure that is not a refusal (the network, a 5xx).
pub(crate) async fn refresh(
    session: &Session,
    request: &TokenRequest,
    context: &Context<'_>,
) -> Result<Refreshed> {
    let mut last_refusal = None;
    for (refresh_token, from_store) in refresh_tokens(session, request).await {
        match redeem(session, request, &refresh_token, context).await {
            Ok(response) => {
                let sign_in = session
                    .accept_token_response(response, request, "refresh_token")
                    .await;
                return Ok(Refreshed::SignedIn(sign_in));
            }
            Err(e) if is_silent_miss(&e) => {
                tracing::info!(reason = %e, from_store, "a refresh token was refused");
                if !from_store {
                    session.forget_refresh_token(request);
                }
                last_refusal = Some(e);
            }
            Err(e) => return Err(e),
        }
    }
    Ok(Refreshed::Refused(last_refusal))
}

/// The refresh tokens to try, each with whether it came from the persistent cache.
async fn refresh_tokens(session: &Session, request: &TokenRequest) -> Vec<(RefreshToken, bool)> {
    // Only an account of this authority (host and port): its refresh token goes nowhere else.
    let stored = match &session.persistence {
        Some(persistence) => match session.account() {
            Some(account) if account.is_of(&session.config.authority) => {
                persistence.refresh_token(request, &account).await
            }
            _ => None,
        },
        None => None,
    };
    let mut candidates = Vec::with_capacity(2);
    if let Some(stored) = stored {
        candidates.push((stored, true));
    }
    if let Some(own) = session.refresh_token(request) {
        if candidates.iter().all(|(c, _)| c.secret() != own.secret()) {
            candidates.push((own, false));
        }
    }
    candidates
}

/// `grant_type=refresh_token` at the token endpoint.
async fn redeem(
    session: &Session,
    request: &TokenRequest,
    refresh_token: &RefreshToken,
    context: &Context<'_>,
) -> Result<TokenResponse> {
    let config = &session.config;
    let redirect = config
        .flow
        .redirect_uri
        .as_ref()
        .map_or("http://localhost", Url::as_str);
    config
        .token_endpoint
        .request(
            session.token_url(&request.tenant),
            &config.client_id,
            Grant::RefreshToken(refresh_token),
            &with_oidc_scopes(&request.scopes),
            request.claims.as_deref(),
            redirect,
            context,
        )
        .await
}

/// The browser flow's sources apply only where no broker keeps the tokens; `Some(why)` when
/// they do not apply. A proof-of-possession request without a usable broker fails: it is never
/// answered with a Bearer token.
fn browser_flow_only(session: &Session, request: &TokenRequest) -> Result<Option<&'static str>> {
    if session.usable_broker().is_some() {
        return Ok(Some(
            "not used: the platform broker keeps this credential's tokens",
        ));
    }
    if request.pop.is_some() {
        return Err(session.pop_needs_broker());
    }
    Ok(None)
}

/// A broker's silent answer as a step's: a token, a miss, or "unavailable" (remembered, so
/// the browser flow's sources take over).
fn broker_answer(
    session: &Session,
    request: &TokenRequest,
    answer: Result<BrokerToken>,
) -> Result<Silent> {
    match answer {
        Ok(token) => session
            .accept_broker_token(token, request)
            .map(Silent::Token),
        Err(e) if is_silent_miss(&e) => Ok(Silent::refused(e)),
        Err(e) if e.kind() == ErrorKind::BrokerUnavailable => {
            let reason = format!("unavailable: {}", e.message());
            session.mark_unavailable(e);
            Ok(Silent::not_available(reason))
        }
        Err(e) => Err(e),
    }
}

/// A silent call that missed (the chain goes on) rather than failed.
fn is_silent_miss(e: &Error) -> bool {
    matches!(
        e.kind(),
        ErrorKind::AuthenticationRequired | ErrorKind::AuthenticationFailed
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_device_code_order() {
        assert_eq!(
            device_code_chain().sources(),
            ["persistent cache", "refresh token"]
        );
    }

    #[test]
    fn the_standard_order() {
        assert_eq!(
            standard_chain().sources(),
            [
                "broker, account signed in before",
                "broker, default account",
                "persistent cache",
                "refresh token",
            ]
        );
    }
}
