//! The interactive step: the broker's dialog, or (no broker, or it is unavailable) the
//! browser flow, or the device code flow (the device code credential's, or the browser
//! credential's opt-in fallback where no browser here can reach the loopback). It runs in the
//! caller's own task, so dropping the caller's future cancels it.

use super::{
    interactive_step::InteractiveStep,
    session::{check_pop_support, Session, SignIn},
    token_request::TokenRequest,
};
use crate::{
    error::{Error, ErrorKind, Result},
    oauth::{DeviceCodeFlow, Headless, DEVICE_CODE_GRANT_TYPE},
    platform::PlatformBroker,
};
use azure_core::http::Context;

/// What a persistent cache that cannot keep the browser flow's tokens means for a sign-in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CacheCheck {
    /// `authenticate`: the caller asked for the tokens to be kept, so the sign-in is refused
    /// before any UI.
    Required,
    /// `get_token`: never fails because of the cache; a warning, and the tokens are kept in
    /// memory.
    BestEffort,
}

/// Signs the user in, bounded by the configured timeout. Before the browser or device code
/// flow shows anything, the persistent cache is checked (`cache_check` says what its failure
/// means); the broker keeps its own tokens.
pub(crate) async fn sign_in_interactively(
    session: &Session,
    request: &TokenRequest,
    context: &Context<'_>,
    cache_check: CacheCheck,
) -> Result<SignIn> {
    let config = &session.config;
    let device_code_fallback = match &config.interactive {
        InteractiveStep::DeviceCode(flow) => {
            check_cache(session, request, cache_check).await?;
            return device_code_sign_in(session, flow, request, context).await;
        }
        InteractiveStep::BrokerOrBrowser {
            device_code_fallback,
        } => device_code_fallback,
    };
    if let Some(broker) = session.usable_broker() {
        match broker_dialog(session, &*broker, request).await {
            Err(e) if e.kind() == ErrorKind::BrokerUnavailable => session.mark_unavailable(e),
            other => return other,
        }
    }
    if request.pop.is_some() {
        return Err(session.pop_needs_broker());
    }
    check_cache(session, request, cache_check).await?;
    if let Some(flow) = device_code_fallback {
        if let Some(headless) = Headless::detect(&*config.environment) {
            tracing::info!(reason = %headless, "no browser here can reach the loopback redirect; signing in with a device code");
            return device_code_sign_in(session, flow, request, context).await;
        }
    }
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
        .accept_token_response(response, request, "authorization_code")
        .await)
}

/// The device code flow; its tokens go where the browser flow's go.
async fn device_code_sign_in(
    session: &Session,
    flow: &DeviceCodeFlow,
    request: &TokenRequest,
    context: &Context<'_>,
) -> Result<SignIn> {
    if request.pop.is_some() {
        return Err(session.pop_needs_broker());
    }
    let response = flow
        .sign_in(
            &request.tenant,
            &request.scopes,
            request.claims.as_deref(),
            context,
        )
        .await?;
    Ok(session
        .accept_token_response(response, request, DEVICE_CODE_GRANT_TYPE)
        .await)
}

/// Whether the persistent cache can keep the tokens of the sign-in about to start: before any
/// UI, so a broken cache is found before the user signs in, not after.
async fn check_cache(
    session: &Session,
    request: &TokenRequest,
    cache_check: CacheCheck,
) -> Result<()> {
    if let Err(e) = session.check_persistence(request).await {
        if cache_check == CacheCheck::Required {
            return Err(e);
        }
        tracing::warn!(error = %e, "the persistent token cache cannot keep the tokens of this sign-in; they are kept in memory only");
    }
    Ok(())
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
    let record = session
        .broker_record(&token, request)
        .map(std::sync::Arc::new);
    Ok(SignIn {
        token: session.accept_broker_token(token, request)?,
        record,
        persist_error: None,
    })
}
