//! The thin layer over WinRT's `Windows.Security.Authentication.Web.Core`: every call here
//! blocks, so it runs only on the worker thread of [`run_in_mta`](super::mta_thread::run_in_mta).
//! Everything with logic in it (request properties, status mapping, response reading) is in
//! the platform-neutral files next to this one.

use super::{
    mta_thread::Canceller,
    wam_call_error::{WamCallError, WamStage},
    wam_response::WamResponse,
    wam_status::{check_status, WamProviderError, WamStatus},
    wam_token_request::{WamPrompt, WamTokenRequest},
    wine_detection::wine_version,
};
use crate::{error::Result, platform::ParentWindowHandle};
use azure_core::credentials::Secret;
use windows::{
    core::{factory, HSTRING},
    Security::{
        Authentication::Web::Core::{
            WebAuthenticationCoreManager, WebTokenRequest, WebTokenRequestPromptType,
            WebTokenRequestResult,
        },
        Credentials::{WebAccount, WebAccountProvider},
    },
    Win32::{Foundation::HWND, System::WinRT::IWebAuthenticationCoreManagerInterop},
};
use windows_future::IAsyncOperation;

/// WAM, activated, for one broker call on the worker thread.
pub(crate) struct WamClient<'a> {
    interop: IWebAuthenticationCoreManagerInterop,
    canceller: &'a Canceller,
}

impl std::fmt::Debug for WamClient<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WamClient").finish_non_exhaustive()
    }
}

/// The credential's error for a failed WinRT call at `stage`.
pub(crate) fn failed(stage: WamStage, error: &windows::core::Error) -> crate::error::Error {
    let hresult = error.code();
    let message = if hresult.is_ok() {
        // windows-rs reports a null result (nothing found) as an "empty" error.
        "wam returned nothing".to_owned()
    } else {
        error.message()
    };
    WamCallError {
        stage,
        // The HRESULT's bit pattern, as it is written in documentation (0x80040154).
        hresult: hresult.0 as u32,
        message,
        wine_version: wine_version(),
    }
    .into_error()
}

impl<'a> WamClient<'a> {
    /// Activates `WebAuthenticationCoreManager` through its interop interface (the one
    /// `RequestTokenForWindowAsync` needs). On a system without WAM this fails with
    /// `REGDB_E_CLASSNOTREG` (0x80040154): [`ErrorKind::BrokerUnavailable`](crate::ErrorKind::BrokerUnavailable).
    pub(crate) fn activate(canceller: &'a Canceller) -> Result<Self> {
        let interop =
            factory::<WebAuthenticationCoreManager, IWebAuthenticationCoreManagerInterop>()
                .map_err(|e| failed(WamStage::Activation, &e))?;
        Ok(Self { interop, canceller })
    }

    /// Cancels what this broker call waits on when the caller stops waiting.
    pub(crate) fn canceller(&self) -> &Canceller {
        self.canceller
    }

    fn wait<R>(&self, stage: WamStage, op: windows::core::Result<IAsyncOperation<R>>) -> Result<R>
    where
        R: windows::core::RuntimeType + 'static,
    {
        let op = op.map_err(|e| failed(stage, &e))?;
        self.canceller.wait(op).map_err(|e| failed(stage, &e))
    }

    /// `FindAccountProviderAsync(id)`, or with an authority
    /// (`organizations`, `consumers`, a tenant).
    pub(crate) fn provider(&self, id: &str, authority: Option<&str>) -> Result<WebAccountProvider> {
        let id = HSTRING::from(id);
        let op = match authority {
            Some(a) => WebAuthenticationCoreManager::FindAccountProviderWithAuthorityAsync(
                &id,
                &HSTRING::from(a),
            ),
            None => WebAuthenticationCoreManager::FindAccountProviderAsync(&id),
        };
        self.wait(WamStage::ProviderLookup, op)
    }

    /// `FindAccountAsync(provider, id)`: `None` when WAM no longer knows the account.
    pub(crate) fn find_account(
        &self,
        provider: &WebAccountProvider,
        id: &str,
    ) -> Result<Option<WebAccount>> {
        let op = WebAuthenticationCoreManager::FindAccountAsync(provider, &HSTRING::from(id))
            .map_err(|e| failed(WamStage::Call, &e))?;
        match self.canceller.wait(op) {
            Ok(account) => Ok(Some(account)),
            Err(e) if e.code().is_ok() => Ok(None),
            Err(e) => Err(failed(WamStage::Call, &e)),
        }
    }

    /// The `WebTokenRequest` for `request` on `provider`.
    pub(crate) fn web_token_request(
        &self,
        provider: &WebAccountProvider,
        request: &WamTokenRequest,
    ) -> Result<WebTokenRequest> {
        self.build_request(provider, request)
            .map_err(|e| failed(WamStage::Call, &e))
    }

    fn build_request(
        &self,
        provider: &WebAccountProvider,
        request: &WamTokenRequest,
    ) -> windows::core::Result<WebTokenRequest> {
        let prompt = match request.prompt {
            WamPrompt::Default => WebTokenRequestPromptType::Default,
            WamPrompt::ForceAuthentication => WebTokenRequestPromptType::ForceAuthentication,
        };
        let web_request = WebTokenRequest::CreateWithPromptType(
            provider,
            &HSTRING::from(request.scope.as_str()),
            &HSTRING::from(request.client_id.as_str()),
            prompt,
        )?;
        let properties = web_request.Properties()?;
        for (key, value) in &request.properties {
            properties.Insert(&HSTRING::from(*key), &HSTRING::from(value.as_str()))?;
        }
        if let Some(assertion) = request.saml_assertion() {
            properties.Insert(
                &HSTRING::from("SamlAssertion"),
                &HSTRING::from(assertion.secret()),
            )?;
        }
        // `CorrelationId` exists from Windows 10 1803; older builds take the property.
        if web_request
            .SetCorrelationId(&HSTRING::from(request.correlation_id.as_str()))
            .is_err()
        {
            properties.Insert(
                &HSTRING::from("correlationId"),
                &HSTRING::from(request.correlation_id.as_str()),
            )?;
        }
        Ok(web_request)
    }

    /// `GetTokenSilentlyAsync`: for `account`, or for the provider's default account.
    pub(crate) fn silent(
        &self,
        request: &WebTokenRequest,
        account: Option<&WebAccount>,
    ) -> Result<WebTokenRequestResult> {
        let op = match account {
            Some(a) => {
                WebAuthenticationCoreManager::GetTokenSilentlyWithWebAccountAsync(request, a)
            }
            None => WebAuthenticationCoreManager::GetTokenSilentlyAsync(request),
        };
        self.wait(WamStage::Call, op)
    }

    /// `IWebAuthenticationCoreManagerInterop::RequestTokenForWindowAsync(hwnd, request)` (or
    /// `RequestTokenWithWebAccountForWindowAsync` for `account`): the dialog, owned by `window`.
    pub(crate) fn interactive(
        &self,
        window: ParentWindowHandle,
        request: &WebTokenRequest,
        account: Option<&WebAccount>,
    ) -> Result<WebTokenRequestResult> {
        let hwnd = HWND(window.as_raw() as *mut core::ffi::c_void);
        let op: windows::core::Result<IAsyncOperation<WebTokenRequestResult>> = match account {
            // SAFETY: `hwnd` is a non-null window handle (WAM validates it and fails with
            // ERROR_INVALID_WINDOW_HANDLE otherwise), `request` and `a` are live WinRT objects,
            // and the result type is the IAsyncOperation<WebTokenRequestResult> the interop
            // interface documents for this method.
            Some(a) => unsafe {
                self.interop
                    .RequestTokenWithWebAccountForWindowAsync(hwnd, request, a)
            },
            // SAFETY: as above, without an account.
            None => unsafe { self.interop.RequestTokenForWindowAsync(hwnd, request) },
        };
        self.wait(WamStage::Call, op)
    }
}

/// Checks `result`'s status (see [`check_status`]) and reads its first response.
pub(crate) fn read_result(
    result: &WebTokenRequestResult,
    redirect_uri: &str,
) -> Result<WamResponse> {
    let status = result
        .ResponseStatus()
        .map_err(|e| failed(WamStage::Call, &e))?;
    let status = WamStatus::from_raw(status.0);
    if !status.is_success() {
        let error = result.ResponseError().ok().map(|e| WamProviderError {
            code: e.ErrorCode().unwrap_or(0),
            message: e
                .ErrorMessage()
                .map(|m| m.to_string_lossy())
                .unwrap_or_default(),
        });
        check_status(status, error.as_ref(), redirect_uri)?;
    }
    read_response(result).map_err(|e| failed(WamStage::Call, &e))
}

fn read_response(result: &WebTokenRequestResult) -> windows::core::Result<WamResponse> {
    let first = result.ResponseData()?.GetAt(0)?;
    let mut properties = Vec::new();
    for pair in &first.Properties()? {
        properties.push((
            pair.Key()?.to_string_lossy(),
            pair.Value()?.to_string_lossy(),
        ));
    }
    let account = first.WebAccount().ok();
    Ok(WamResponse {
        token: Secret::new(first.Token()?.to_string_lossy()),
        properties,
        web_account_id: account
            .as_ref()
            .and_then(|a| a.Id().ok())
            .map(|id| id.to_string_lossy()),
        username: account
            .as_ref()
            .and_then(|a| a.UserName().ok())
            .map(|u| u.to_string_lossy()),
    })
}

/// `WebAccount.Id` and `UserName`, for remembering an account.
pub(crate) fn account_id_and_name(account: &WebAccount) -> (Option<String>, Option<String>) {
    (
        account.Id().ok().map(|id| id.to_string_lossy()),
        account.UserName().ok().map(|u| u.to_string_lossy()),
    )
}

/// `WebAccountProvider.Authority` (`organizations` or `consumers` for Microsoft's providers).
pub(crate) fn provider_authority(provider: &WebAccountProvider) -> Result<String> {
    provider
        .Authority()
        .map(|a| a.to_string_lossy())
        .map_err(|e| failed(WamStage::Call, &e))
}
