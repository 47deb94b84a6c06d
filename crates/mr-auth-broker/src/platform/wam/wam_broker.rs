//! [`WamBroker`]: the [`PlatformBroker`] of Windows, through WinRT's Web Account Manager.

use super::{
    accounts_settings_pane::show_account_picker,
    mta_thread::run_in_mta,
    wam_account_id::WamAccountId,
    wam_account_picker::{AccountPickerOffer, PickedAccount},
    wam_client::{account_id_and_name, provider_authority, read_result, WamClient},
    wam_route::{AccountKind, WamRoute, CONSUMERS, DEFAULT_ACCOUNT_PROVIDER, MICROSOFT_PROVIDER},
    wam_token_request::{WamCall, WamTokenRequest},
    window_handle_choice::WindowHandleChoice,
};
use crate::{
    error::{Error, ErrorKind, Result},
    oauth::ClientId,
    platform::{BrokerAccount, BrokerRequest, BrokerToken, ParentWindowHandle, PlatformBroker},
};
use async_trait::async_trait;
use windows::Security::{
    Authentication::Web::Core::WebTokenRequest,
    Credentials::{WebAccount, WebAccountProvider},
};

/// WAM through WinRT (`Windows.Security.Authentication.Web.Core`).
///
/// - Silent with a known account: `FindAccountAsync` + `GetTokenSilentlyAsync(request, account)`.
/// - Silent with the OS default account: the provider of `https://login.windows.local`
///   (whose authority says work or personal), then `GetTokenSilentlyAsync(request)`.
/// - Interactive: `RequestTokenForWindowAsync(hwnd, request)`, parented to the application's
///   window, else the console, foreground or desktop window. With MSA passthrough and no
///   login hint, Windows' account picker (`AccountsSettingsPane`, parented the same way)
///   first asks whether to sign in with a work or school account or a personal one.
/// - MSA passthrough: a transfer token from the MSA plugin
///   (`service::http://Passport.NET/purpose::PURPOSE_AAD_WAM_TRANSFER`), redeemed by the AAD
///   plugin as a `SamlAssertion`.
///
/// Proof-of-possession tokens are not offered: the WinRT API has no way to carry the PoP key
/// binding, so [`PlatformBroker::supports_pop`] is `false` and the credential answers PoP
/// requests with [`ErrorKind::PopNeedsBroker`], never with a Bearer token.
///
/// Every WinRT call runs on a worker thread in the multi-threaded apartment; the async
/// methods only wait for it.
#[derive(Debug, Default)]
pub(crate) struct WamBroker {}

impl WamBroker {
    pub(crate) fn new() -> Self {
        Self {}
    }
}

/// A silent step that cannot give a token: the credential moves on.
fn silent_miss(message: impl Into<String>) -> Error {
    Error::new(ErrorKind::AuthenticationRequired, message)
}

fn correlation_id() -> String {
    uuid::Uuid::new_v4().to_string()
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
        request: &BrokerRequest,
        account: &BrokerAccount,
    ) -> Result<BrokerToken> {
        let Some(id) = WamAccountId::parse(&account.id) else {
            return Err(silent_miss("the account was not signed in through wam"));
        };
        let Some(route) = WamRoute::for_account(id.kind, &request.tenant_id) else {
            return Err(silent_miss(format!(
                "the {} account signed in earlier cannot get tokens for tenant {}",
                id.kind.as_str(),
                request.tenant_id
            )));
        };
        let request = request.clone();
        run_in_mta(move |canceller| {
            let wam = WamClient::activate(canceller)?;
            silently_with_account(&wam, &request, &route, &id)
        })
        .await
    }

    async fn acquire_token_with_default_account(
        &self,
        request: &BrokerRequest,
    ) -> Result<BrokerToken> {
        let request = request.clone();
        run_in_mta(move |canceller| {
            let wam = WamClient::activate(canceller)?;
            silently_with_default_account(&wam, &request)
        })
        .await
    }

    async fn acquire_token_interactively(
        &self,
        request: &BrokerRequest,
        parent_window: Option<ParentWindowHandle>,
    ) -> Result<BrokerToken> {
        let request = request.clone();
        run_in_mta(move |canceller| {
            let wam = WamClient::activate(canceller)?;
            let Some(window) = WindowHandleChoice::current(parent_window) else {
                return Err(Error::new(
                    ErrorKind::BrokerUnavailable,
                    "no window to parent the wam dialog to (no console, foreground or desktop window)",
                ));
            };
            tracing::debug!(source = ?window.source, "parenting the wam dialog");
            interactively(&wam, &request, window.handle)
        })
        .await
    }
}

fn microsoft_provider(wam: &WamClient<'_>, authority: &str) -> Result<WebAccountProvider> {
    wam.provider(MICROSOFT_PROVIDER, Some(authority))
}

/// The final request of `route`, with the passthrough transfer token when there is one.
fn final_request(
    wam: &WamClient<'_>,
    request: &BrokerRequest,
    route: &WamRoute,
    call: WamCall,
    transfer_token: Option<azure_core::credentials::Secret>,
) -> Result<WebTokenRequest> {
    let provider = microsoft_provider(wam, &route.provider_authority)?;
    let mut wam_request = WamTokenRequest::for_request(request, route.kind, call, correlation_id());
    if let Some(token) = transfer_token {
        wam_request = wam_request.with_transfer_token(token);
    }
    wam.web_token_request(&provider, &wam_request)
}

fn passthrough_account(account: &WebAccount) -> Option<BrokerAccount> {
    let (id, username) = account_id_and_name(account);
    let id = id.filter(|id| !id.is_empty())?;
    Some(BrokerAccount {
        id: WamAccountId {
            kind: AccountKind::MsaPassthrough,
            web_account_id: id,
        }
        .to_string(),
        username: username.filter(|u| !u.trim().is_empty()),
    })
}

fn silently_with_account(
    wam: &WamClient<'_>,
    request: &BrokerRequest,
    route: &WamRoute,
    id: &WamAccountId,
) -> Result<BrokerToken> {
    // Passthrough accounts live in the MSA plugin; the others in the route's provider.
    let account_authority = match route.kind {
        AccountKind::MsaPassthrough => CONSUMERS,
        _ => route.provider_authority.as_str(),
    };
    let provider = microsoft_provider(wam, account_authority)?;
    let Some(account) = wam.find_account(&provider, &id.web_account_id)? else {
        return Err(silent_miss(
            "wam no longer knows the account signed in earlier",
        ));
    };
    let redirect = request.redirect_uri.as_str();
    match route.kind {
        AccountKind::Work | AccountKind::Personal => {
            let web_request = final_request(wam, request, route, WamCall::Silent, None)?;
            read_result(&wam.silent(&web_request, Some(&account))?, redirect)?
                .into_broker_token(route.kind, None)
        }
        AccountKind::MsaPassthrough => {
            let transfer = WamTokenRequest::transfer_token(request, correlation_id());
            let transfer = wam.web_token_request(&provider, &transfer)?;
            let transfer =
                read_result(&wam.silent(&transfer, Some(&account))?, redirect)?.transfer_token()?;
            let web_request = final_request(wam, request, route, WamCall::Silent, Some(transfer))?;
            read_result(&wam.silent(&web_request, None)?, redirect)?
                .into_broker_token(route.kind, passthrough_account(&account))
        }
    }
}

fn silently_with_default_account(
    wam: &WamClient<'_>,
    request: &BrokerRequest,
) -> Result<BrokerToken> {
    let default = match wam.provider(DEFAULT_ACCOUNT_PROVIDER, None) {
        Ok(p) => p,
        // WAM works but Windows has no default Microsoft account (a local account).
        Err(e) if e.kind() == ErrorKind::BrokerUnavailable => {
            return Err(silent_miss(format!(
                "windows has no default microsoft account ({})",
                e.message()
            )))
        }
        Err(e) => return Err(e),
    };
    let authority = provider_authority(&default)?;
    let Some(route) = WamRoute::for_default_account(
        &authority,
        &request.tenant_id,
        request.enable_msa_passthrough,
    ) else {
        return Err(silent_miss(format!(
            "the windows default account ({authority}) cannot get tokens for tenant {}{}",
            request.tenant_id,
            if authority.eq_ignore_ascii_case(CONSUMERS) {
                "; personal accounts need enable_msa_passthrough (first-party apps configured for it)"
            } else {
                ""
            }
        )));
    };
    let redirect = request.redirect_uri.as_str();
    match route.kind {
        AccountKind::Work | AccountKind::Personal => {
            let web_request = final_request(wam, request, &route, WamCall::Silent, None)?;
            read_result(&wam.silent(&web_request, None)?, redirect)?
                .into_broker_token(route.kind, None)
        }
        AccountKind::MsaPassthrough => {
            let transfer = WamTokenRequest::transfer_token(request, correlation_id());
            let transfer = wam.web_token_request(&default, &transfer)?;
            let response = read_result(&wam.silent(&transfer, None)?, redirect)?;
            let account = response.account(AccountKind::MsaPassthrough);
            let transfer = response.transfer_token()?;
            let web_request = final_request(wam, request, &route, WamCall::Silent, Some(transfer))?;
            read_result(&wam.silent(&web_request, None)?, redirect)?
                .into_broker_token(route.kind, account)
        }
    }
}

fn interactively(
    wam: &WamClient<'_>,
    request: &BrokerRequest,
    window: ParentWindowHandle,
) -> Result<BrokerToken> {
    if let Some(offer) = AccountPickerOffer::for_request(request) {
        return interactively_with_picker(wam, request, window, &offer);
    }
    let route = WamRoute::for_tenant(&request.tenant_id, request.enable_msa_passthrough);
    match route.kind {
        AccountKind::Work | AccountKind::Personal => {
            let provider = microsoft_provider(wam, &route.provider_authority)?;
            interactively_with_provider(wam, request, window, &route, &provider)
        }
        AccountKind::MsaPassthrough => {
            let msa = microsoft_provider(wam, CONSUMERS)?;
            passthrough_interactively(wam, request, window, &route, &msa)
        }
    }
}

/// MSA passthrough without a login hint: Windows' account picker asks which kind of account
/// to sign in with, then that provider's dialog runs.
fn interactively_with_picker(
    wam: &WamClient<'_>,
    request: &BrokerRequest,
    window: ParentWindowHandle,
    offer: &AccountPickerOffer,
) -> Result<BrokerToken> {
    let Some(picked) = show_account_picker(wam.canceller(), window, offer)? else {
        return Err(Error::new(
            ErrorKind::UserCancelled,
            "the account picker was closed without choosing an account",
        ));
    };
    tracing::debug!(?picked, "account picked in the wam account picker");
    let route = offer.route(picked);
    match picked {
        PickedAccount::WorkOrSchool => {
            let provider = microsoft_provider(wam, &route.provider_authority)?;
            interactively_with_provider(wam, request, window, &route, &provider)
        }
        PickedAccount::Personal => {
            let msa = microsoft_provider(wam, CONSUMERS)?;
            passthrough_interactively(wam, request, window, &route, &msa)
        }
    }
}

/// The dialog of `provider` (a work or personal account, no passthrough).
fn interactively_with_provider(
    wam: &WamClient<'_>,
    request: &BrokerRequest,
    window: ParentWindowHandle,
    route: &WamRoute,
    provider: &WebAccountProvider,
) -> Result<BrokerToken> {
    let wam_request =
        WamTokenRequest::for_request(request, route.kind, WamCall::Interactive, correlation_id());
    let web_request = wam.web_token_request(provider, &wam_request)?;
    read_result(
        &wam.interactive(window, &web_request, None)?,
        &request.redirect_uri,
    )?
    .into_broker_token(route.kind, None)
}

/// The personal-account sign-in of the MSA plugin (`msa`), asking for a transfer token that
/// the AAD plugin then redeems in its own dialog.
fn passthrough_interactively(
    wam: &WamClient<'_>,
    request: &BrokerRequest,
    window: ParentWindowHandle,
    route: &WamRoute,
    msa: &WebAccountProvider,
) -> Result<BrokerToken> {
    let redirect = request.redirect_uri.as_str();
    let transfer = WamTokenRequest::transfer_token(request, correlation_id());
    let transfer_request = wam.web_token_request(msa, &transfer)?;
    let response = read_result(&wam.interactive(window, &transfer_request, None)?, redirect)?;
    let account = response.account(AccountKind::MsaPassthrough);
    let transfer = response.transfer_token()?;
    let web_request = final_request(wam, request, route, WamCall::Interactive, Some(transfer))?;
    read_result(&wam.interactive(window, &web_request, None)?, redirect)?
        .into_broker_token(route.kind, account)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oauth::{ClientId, TenantId};
    use std::time::Duration;
    use url::Url;

    fn request() -> BrokerRequest {
        BrokerRequest {
            client_id: ClientId::default(),
            tenant_id: TenantId::default(),
            authority: Url::parse("https://login.microsoftonline.com/organizations").unwrap(),
            scopes: vec!["https://management.azure.com/.default".into()],
            redirect_uri: WamBroker::new().redirect_uri(&ClientId::default()),
            claims: None,
            pop: None,
            login_hint: None,
            enable_msa_passthrough: false,
            validate_authority: true,
        }
    }

    /// Bounds a broker call: an unavailable WAM must answer quickly, never hang.
    async fn bounded<T>(f: impl std::future::Future<Output = T>) -> T {
        tokio::time::timeout(Duration::from_secs(60), f)
            .await
            .expect("the wam call answered within 60 s")
    }

    #[test]
    fn redirect_uri_is_the_broker_plugin_uri() {
        assert_eq!(
            WamBroker::new().redirect_uri(&ClientId::default()),
            "ms-appx-web://Microsoft.AAD.BrokerPlugin/04b07795-8ddb-461a-bbee-02f9e1bf7b46"
        );
        assert!(!WamBroker::new().supports_pop());
    }

    #[tokio::test]
    async fn foreign_account_ids_are_a_silent_miss_without_touching_wam() {
        let account = BrokerAccount {
            id: "acct-1".into(),
            username: None,
        };
        let e = WamBroker::new()
            .acquire_token_silently(&request(), &account)
            .await
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::AuthenticationRequired);
    }

    /// Under Wine (the CI's Windows run) WAM cannot be activated: every method reports
    /// `BrokerUnavailable` with HRESULT 0x80040154, promptly, without panicking.
    #[tokio::test]
    async fn under_wine_every_method_is_broker_unavailable_with_the_hresult() {
        let Some(version) = super::super::wine_version() else {
            eprintln!("skipped: not running under wine; this test checks wam's absence");
            return;
        };
        let broker = WamBroker::new();
        let account = BrokerAccount {
            id: "wam:work:someone".into(),
            username: None,
        };
        let results = [
            bounded(broker.acquire_token_silently(&request(), &account)).await,
            bounded(broker.acquire_token_with_default_account(&request())).await,
            bounded(broker.acquire_token_interactively(&request(), None)).await,
            bounded(
                broker.acquire_token_interactively(&request(), ParentWindowHandle::from_raw(0x10)),
            )
            .await,
        ];
        for result in results {
            let e = result.unwrap_err();
            assert_eq!(e.kind(), ErrorKind::BrokerUnavailable, "{e}");
            assert!(e.message().contains("0x80040154"), "{e}");
            assert!(e.message().contains(&format!("wine {version}")), "{e}");
        }
    }

    /// The real-WAM paths cannot run in CI. This one needs real Windows with a signed-in
    /// work account as the Windows default account, and `MR_AUTH_WAM_LIVE=1`; it is skipped,
    /// with the reason printed, everywhere else.
    #[tokio::test]
    async fn real_wam_default_account_gives_a_bearer_token() {
        if let Some(version) = super::super::wine_version() {
            eprintln!("skipped: running under wine {version}, which has no wam");
            return;
        }
        if std::env::var_os("MR_AUTH_WAM_LIVE").is_none() {
            eprintln!("skipped: set MR_AUTH_WAM_LIVE=1 on windows with a work account signed in to run against the real wam");
            return;
        }
        let token = bounded(WamBroker::new().acquire_token_with_default_account(&request()))
            .await
            .expect("the windows default account gives a token silently");
        assert_eq!(token.token.token_type, crate::oauth::TokenType::Bearer);
        assert!(!token.token.token.secret().is_empty());
        let account = token.account.expect("wam reports the account");
        assert!(WamAccountId::parse(&account.id).is_some(), "{}", account.id);

        // The account just returned works silently.
        let again = bounded(WamBroker::new().acquire_token_silently(&request(), &account))
            .await
            .expect("silent with the known account");
        assert!(again.token.expires_on > mr_auth_core::Clock::now(&mr_auth_core::SystemClock));
    }
}
