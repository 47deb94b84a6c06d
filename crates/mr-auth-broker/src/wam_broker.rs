//! The Windows Web Account Manager broker. The WinRT implementation is the next issue; until
//! then this reports the broker as unavailable so the credential falls back to the browser.

use crate::{
    BrokerAccount, BrokerRequest, BrokerToken, ClientId, Error, ErrorKind, ParentWindowHandle,
    PlatformBroker, Result,
};
use async_trait::async_trait;

/// WAM through WinRT (`Windows.Security.Authentication.Web.Core`).
#[derive(Debug, Default)]
pub(crate) struct WamBroker {}

impl WamBroker {
    pub(crate) fn new() -> Self {
        Self {}
    }

    fn unavailable() -> Error {
        Error::new(
            ErrorKind::BrokerUnavailable,
            "wam support not built yet; using the browser flow",
        )
    }
}

#[async_trait]
impl PlatformBroker for WamBroker {
    fn supports_pop(&self) -> bool {
        false
    }

    fn redirect_uri(&self, client_id: &ClientId) -> String {
        format!("ms-appx-web://Microsoft.AAD.BrokerPlugin/{client_id}")
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
