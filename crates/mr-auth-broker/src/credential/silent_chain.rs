//! The silent steps as a chain, after aws-config's `CredentialsProviderChain`: each source of
//! tokens either answers, says it has nothing ("not available", and why), or fails for real.
//! The chain moves on only past "not available", stops at the first answer or real failure,
//! and when every source had nothing, the [`ErrorKind::AuthenticationRequired`] error the
//! caller gets lists what each said.

use super::{session::Session, token_request::TokenRequest};
use crate::{
    error::{Error, ErrorKind, Result},
    oauth::AccessTokenInfo,
};
use async_trait::async_trait;
use azure_core::http::Context;
use std::{borrow::Cow, fmt};

/// What one source said.
#[derive(Debug)]
pub(crate) enum Silent {
    /// A token: the chain ends with it.
    Token(AccessTokenInfo),
    /// This source has nothing for the request: the chain moves on.
    NotAvailable {
        /// Why, for the error that lists every source (most reasons are fixed text).
        reason: Cow<'static, str>,
        /// The refusal behind it, when a call answered with one (its codes, correlation id).
        refusal: Option<Error>,
    },
}

impl Silent {
    /// Nothing here, for `reason`.
    pub(crate) fn not_available(reason: impl Into<Cow<'static, str>>) -> Self {
        Self::NotAvailable {
            reason: reason.into(),
            refusal: None,
        }
    }

    /// Nothing here: the broker or the authority said no, without UI.
    pub(crate) fn refused(refusal: Error) -> Self {
        Self::NotAvailable {
            reason: Cow::Owned(refusal.message().to_owned()),
            refusal: Some(refusal),
        }
    }
}

/// A source of tokens that never shows UI.
#[async_trait]
pub(crate) trait SilentStep: Send + Sync + fmt::Debug {
    /// The source, as the error that lists every source names it.
    fn source(&self) -> &'static str;

    /// A token, [`Silent::NotAvailable`], or `Err` for a failure that ends the request (the
    /// chain does not try the next source then).
    async fn attempt(
        &self,
        session: &Session,
        request: &TokenRequest,
        context: &Context<'_>,
    ) -> Result<Silent>;
}

/// The steps, in order, and what to tell the caller when none has a token.
#[derive(Debug)]
pub(crate) struct SilentChain {
    steps: Vec<Box<dyn SilentStep>>,
    /// What the caller can do when no step had a token; `None`: sign in interactively (the
    /// interactive credentials' advice).
    remedy: Option<&'static str>,
}

/// What the credential's in-memory cache said: the chain runs only when it had no valid token.
const MEMORY: (&str, &str) = ("memory", "no valid token for this request");

impl SilentChain {
    /// A chain of `steps`, asked in this order (the credential's:
    /// `silent_steps::standard_chain`).
    pub(crate) fn new(steps: Vec<Box<dyn SilentStep>>) -> Self {
        Self {
            steps,
            remedy: None,
        }
    }

    /// The same chain, whose error says `remedy` as what to do (a credential that cannot sign
    /// in interactively at all says where to sign in instead).
    pub(crate) fn with_remedy(self, remedy: &'static str) -> Self {
        Self {
            remedy: Some(remedy),
            ..self
        }
    }

    /// Runs the steps in order; see the module documentation.
    pub(crate) async fn run(
        &self,
        session: &Session,
        request: &TokenRequest,
        context: &Context<'_>,
    ) -> Result<AccessTokenInfo> {
        let mut said = Vec::with_capacity(self.steps.len() + 1);
        said.push(Miss {
            source: MEMORY.0,
            reason: Cow::Borrowed(MEMORY.1),
            refusal: None,
        });
        for step in &self.steps {
            match step.attempt(session, request, context).await? {
                Silent::Token(token) => {
                    tracing::debug!(source = step.source(), "token obtained silently");
                    return Ok(token);
                }
                Silent::NotAvailable { reason, refusal } => said.push(Miss {
                    source: step.source(),
                    reason,
                    refusal,
                }),
            }
        }
        let remedy = match self.remedy {
            Some(remedy) => Remedy::Given(remedy),
            None if session.config.disable_automatic_authentication => Remedy::AllowInteraction,
            None => Remedy::None,
        };
        Err(authentication_required(&said, remedy))
    }

    #[cfg(test)]
    pub(crate) fn sources(&self) -> Vec<&'static str> {
        self.steps.iter().map(|s| s.source()).collect()
    }
}

/// A source that had nothing, and why.
struct Miss {
    source: &'static str,
    reason: Cow<'static, str>,
    refusal: Option<Error>,
}

/// What the error of a chain that found nothing tells the caller to do.
enum Remedy {
    /// Nothing: the interactive step comes next.
    None,
    /// Sign in interactively, which `disable_automatic_authentication` forbids here.
    AllowInteraction,
    /// The chain's own advice.
    Given(&'static str),
}

/// The error when no source had a token: every source's answer, in order, and the codes,
/// correlation id and source error of the last refusal.
fn authentication_required(said: &[Miss], remedy: Remedy) -> Error {
    let what_each_said = said
        .iter()
        .map(|m| format!("{}: {}", m.source, m.reason))
        .collect::<Vec<_>>()
        .join("; ");
    let message = match remedy {
        Remedy::AllowInteraction => format!("no token could be obtained silently and automatic authentication is disabled (disable_automatic_authentication); sign in interactively once (authenticate), or allow it. What each source said: {what_each_said}"),
        Remedy::Given(remedy) => format!("no token could be obtained silently; {remedy}. What each source said: {what_each_said}"),
        Remedy::None => format!("no token could be obtained silently. What each source said: {what_each_said}"),
    };
    let error = Error::new(ErrorKind::AuthenticationRequired, message);
    match said.iter().rev().find_map(|m| m.refusal.clone()) {
        Some(refusal) => error
            .with_error_codes(refusal.error_codes().to_vec())
            .with_correlation_id(refusal.correlation_id().map(str::to_owned))
            .with_source(refusal),
        None => error,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        credential::{
            credential_config::CredentialConfig, BrokerTokenRequestOptions,
            InteractiveBrowserBrokerCredentialOptions,
        },
        oauth::TokenType,
        platform::BrokerMode,
    };
    use azure_core::credentials::Secret;
    use std::sync::{Arc, Mutex};

    /// What a scripted step says.
    type Script = fn() -> Result<Silent>;

    /// A step that says what its script says and logs that it was asked.
    #[derive(Debug)]
    struct Scripted {
        source: &'static str,
        says: Script,
        asked: Arc<Mutex<Vec<&'static str>>>,
    }

    #[async_trait]
    impl SilentStep for Scripted {
        fn source(&self) -> &'static str {
            self.source
        }
        async fn attempt(&self, _: &Session, _: &TokenRequest, _: &Context<'_>) -> Result<Silent> {
            self.asked.lock().unwrap().push(self.source);
            (self.says)()
        }
    }

    fn token() -> Result<Silent> {
        Ok(Silent::Token(AccessTokenInfo {
            token: Secret::new("t"),
            expires_on: time::OffsetDateTime::UNIX_EPOCH,
            token_type: TokenType::Bearer,
            refresh_on: None,
        }))
    }

    fn nothing() -> Result<Silent> {
        Ok(Silent::not_available("nothing here"))
    }

    fn refused() -> Result<Silent> {
        Ok(Silent::refused(
            Error::new(ErrorKind::AuthenticationRequired, "the broker said no")
                .with_error_codes(vec!["AADSTS50076".into()])
                .with_correlation_id(Some("c-1".into())),
        ))
    }

    fn fails() -> Result<Silent> {
        Err(Error::new(ErrorKind::Transport, "the network is down"))
    }

    /// Runs a chain of `(source, script)` steps; what it returned and which steps were asked.
    async fn run(
        steps: &[(&'static str, Script)],
        disabled: bool,
    ) -> (Result<AccessTokenInfo>, Vec<&'static str>) {
        let asked = Arc::new(Mutex::new(Vec::new()));
        let chain = SilentChain::new(
            steps
                .iter()
                .map(|(source, says)| {
                    Box::new(Scripted {
                        source,
                        says: *says,
                        asked: asked.clone(),
                    }) as Box<dyn SilentStep>
                })
                .collect(),
        );
        let (session, request) = session(disabled);
        let result = chain.run(&session, &request, &Context::new()).await;
        let asked = asked.lock().unwrap().clone();
        (result, asked)
    }

    /// A browser-only credential's session, and a request for one scope.
    fn session(disabled: bool) -> (Session, TokenRequest) {
        let options = InteractiveBrowserBrokerCredentialOptions {
            broker: BrokerMode::BrowserOnly,
            disable_automatic_authentication: disabled,
            ..Default::default()
        };
        let session = Session::new(CredentialConfig::for_test(options));
        let request = TokenRequest::resolve(
            &session.config,
            &["s"],
            &BrokerTokenRequestOptions::default(),
        )
        .unwrap();
        (session, request)
    }

    #[tokio::test]
    async fn the_first_answer_ends_the_chain_in_order() {
        let (result, asked) = run(&[("a", nothing), ("b", token), ("c", token)], false).await;
        assert_eq!(result.unwrap().token.secret(), "t");
        assert_eq!(asked, ["a", "b"]);
    }

    #[tokio::test]
    async fn a_real_failure_stops_the_chain() {
        let (result, asked) = run(&[("a", nothing), ("b", fails), ("c", token)], false).await;
        let e = result.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Transport, "{e}");
        assert_eq!(asked, ["a", "b"], "c is never asked");
    }

    #[tokio::test]
    async fn every_miss_is_listed_in_order_with_the_last_refusal_kept() {
        let (result, asked) = run(&[("a", refused), ("b", nothing)], true).await;
        assert_eq!(asked, ["a", "b"]);
        let e = result.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::AuthenticationRequired);
        let message = e.message();
        let at = |needle: &str| {
            message
                .find(needle)
                .unwrap_or_else(|| panic!("{needle:?} missing from {message:?}"))
        };
        assert!(at("memory: no valid token") < at("a: the broker said no"));
        assert!(at("a: the broker said no") < at("b: nothing here"));
        assert!(message.contains("disable_automatic_authentication"), "{e}");
        assert_eq!(e.error_codes(), ["AADSTS50076"]);
        assert_eq!(e.correlation_id(), Some("c-1"));
        assert!(std::error::Error::source(&e).is_some());
    }

    #[tokio::test]
    async fn a_chain_s_own_remedy_replaces_the_interactive_advice() {
        let chain = SilentChain::new(Vec::new()).with_remedy("sign in elsewhere first");
        let (session, request) = session(true);
        let e = chain
            .run(&session, &request, &Context::new())
            .await
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::AuthenticationRequired);
        assert!(
            e.message()
                .starts_with("no token could be obtained silently; sign in elsewhere first."),
            "{e}"
        );
        assert!(
            !e.message().contains("disable_automatic_authentication"),
            "{e}"
        );
    }

    #[tokio::test]
    async fn with_no_source_at_all_memory_is_still_named() {
        let (result, _) = run(&[], false).await;
        let e = result.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::AuthenticationRequired);
        assert!(e.message().contains("memory: no valid token"), "{e}");
        assert!(!e.message().contains("disable_automatic_authentication"));
        assert!(std::error::Error::source(&e).is_none());
    }
}
