use crate::{
    BrokerAccount, BrokerRequest, BrokerToken, ClientId, Error, ErrorKind, ParentWindowHandle,
    PlatformBroker, Result,
};
use async_trait::async_trait;

/// A platform broker that is never available: set it as
/// [`platform_broker`](crate::InteractiveBrowserBrokerCredentialOptions::platform_broker) to use
/// the interactive browser flow even where the OS has a broker (for example on Windows, to
/// sign in through the browser instead of WAM, or on a Windows test runner that must not show
/// WAM's dialog).
#[derive(Debug, Clone, Copy, Default)]
pub struct NoPlatformBroker;

impl NoPlatformBroker {
    fn unavailable() -> Error {
        Error::new(
            ErrorKind::BrokerUnavailable,
            "the platform broker is turned off (NoPlatformBroker); using the browser flow",
        )
    }
}

#[async_trait]
impl PlatformBroker for NoPlatformBroker {
    fn supports_pop(&self) -> bool {
        false
    }

    fn redirect_uri(&self, _client_id: &ClientId) -> String {
        "http://localhost".to_owned()
    }

    async fn acquire_token_silently(
        &self,
        _: &BrokerRequest,
        _: &BrokerAccount,
    ) -> Result<BrokerToken> {
        Err(Self::unavailable())
    }

    async fn acquire_token_with_default_account(&self, _: &BrokerRequest) -> Result<BrokerToken> {
        Err(Self::unavailable())
    }

    async fn acquire_token_interactively(
        &self,
        _: &BrokerRequest,
        _: Option<ParentWindowHandle>,
    ) -> Result<BrokerToken> {
        Err(Self::unavailable())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::TenantId;

    #[tokio::test]
    async fn every_step_reports_broker_unavailable() {
        let request = BrokerRequest {
            client_id: ClientId::new("04b07795-8ddb-461a-bbee-02f9e1bf7b46").unwrap(),
            tenant_id: TenantId::new("organizations").unwrap(),
            authority: "https://login.microsoftonline.com/organizations"
                .parse()
                .unwrap(),
            scopes: vec!["https://management.azure.com/.default".into()],
            redirect_uri: "http://localhost".into(),
            claims: None,
            pop: None,
            login_hint: None,
            enable_msa_passthrough: false,
            validate_authority: true,
        };
        let account = BrokerAccount {
            id: "a".into(),
            username: None,
        };
        let broker = NoPlatformBroker;
        assert!(!broker.supports_pop());
        let silent = broker
            .acquire_token_silently(&request, &account)
            .await
            .unwrap_err();
        let default = broker
            .acquire_token_with_default_account(&request)
            .await
            .unwrap_err();
        let interactive = broker
            .acquire_token_interactively(&request, None)
            .await
            .unwrap_err();
        for error in [silent, default, interactive] {
            assert_eq!(error.kind(), ErrorKind::BrokerUnavailable);
        }
    }
}
