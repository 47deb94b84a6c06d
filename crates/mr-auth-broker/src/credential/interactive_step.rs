//! What signs the user in when no silent step has a token: the broker's dialog or the browser
//! flow (with, where the application opted in, the device code flow where neither can be
//! used), or the device code flow alone.

use crate::oauth::{
    AuthorityClient, AuthorityHost, ClientId, DeviceCodeFlow, DeviceCodePromptCallback,
    TokenEndpoint,
};
use mr_auth_core::Clock;
use std::{sync::Arc, time::Duration};

/// A credential's interactive step.
#[derive(Debug)]
pub(crate) enum InteractiveStep {
    /// [`InteractiveBrowserBrokerCredential`](super::InteractiveBrowserBrokerCredential): the
    /// broker's dialog, else the browser flow; with a device code fallback, that flow where
    /// there is no usable broker and no browser here can reach the loopback
    /// ([`Headless`](crate::oauth::Headless)).
    BrokerOrBrowser {
        device_code_fallback: Option<Box<DeviceCodeFlow>>,
    },
    /// [`DeviceCodeCredential`](super::DeviceCodeCredential): the device code flow, always.
    DeviceCode(Box<DeviceCodeFlow>),
}

/// The device code flow of a credential at `authority` for `client_id`, through the
/// credential's authority client (a poll is sent once; the devicecode request is retried).
pub(crate) fn device_code_flow(
    authority: &AuthorityHost,
    client_id: &ClientId,
    timeout: Option<Duration>,
    prompt: DeviceCodePromptCallback,
    client: &AuthorityClient,
    clock: &Arc<dyn Clock>,
) -> DeviceCodeFlow {
    DeviceCodeFlow {
        authority_host: authority.clone(),
        client_id: client_id.clone(),
        timeout,
        prompt,
        client: client.clone(),
        token_endpoint: TokenEndpoint::new(client.clone(), clock.clone()),
        clock: clock.clone(),
    }
}
