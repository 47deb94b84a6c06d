//! The interactive step: the broker's dialog, or (no broker, or it is unavailable) the
//! browser flow. It runs in the caller's own task, so dropping the caller's future cancels it.

use super::{
    session::{check_pop_support, Session, SignIn},
    token_request::TokenRequest,
};
use crate::{
    error::{Error, ErrorKind, Result},
    platform::PlatformBroker,
};
use azure_core::http::Context;

/// Signs the user in, bounded by the configured timeout.
pub(crate) async fn sign_in_interactively(
    session: &Session,
    request: &TokenRequest,
    context: &Context<'_>,
) -> Result<SignIn> {
    if let Some(broker) = session.usable_broker() {
        match broker_dialog(session, &*broker, request).await {
            Err(e) if e.kind() == ErrorKind::BrokerUnavailable => session.mark_unavailable(e),
            other => return other,
        }
    }
    if request.pop.is_some() {
        return Err(session.pop_needs_broker());
    }
    let config = &session.config;
    let response = config
        .flow
        .sign_in(
            &request.tenant,
            &request.scopes,
            request.claims.as_deref(),
            context,
        )
        .await?;
    Ok(session
        .accept_browser_response(response, request, "authorization_code")
        .await)
}

/// The broker's account picker or sign-in window.
async fn broker_dialog(
    session: &Session,
    broker: &dyn PlatformBroker,
    request: &TokenRequest,
) -> Result<SignIn> {
    check_pop_support(broker, request)?;
    let config = &session.config;
    let broker_request = session.broker_request(broker, request);
    let dialog = broker.acquire_token_interactively(&broker_request, config.parent_window_handle);
    let token = tokio::time::timeout(config.timeout, dialog)
        .await
        .map_err(|_| {
            Error::new(
                ErrorKind::Timeout,
                format!("the broker's sign-in did not finish within {} s; finish it sooner, or raise the timeout", config.timeout.as_secs()),
            )
        })??;
    let record = session.broker_record(&token, request);
    Ok(SignIn {
        token: session.accept_broker_token(token, request)?,
        record,
        persist_error: None,
    })
}
