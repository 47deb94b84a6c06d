//! The activation factories: `WebAuthenticationCoreManager` (its statics and the
//! `IWebAuthenticationCoreManagerInterop` of the window-parented calls) and `WebTokenRequest`.

use crate::{
    abi::{
        inspectable, IWebAuthenticationCoreManagerStatics,
        IWebAuthenticationCoreManagerStatics_Impl, IWebTokenRequestFactory,
        IWebTokenRequestFactory_Impl,
    },
    accounts_settings_pane::FakePaneFactory,
    async_operation::FakeOperation,
    fake_state,
    objects::{answer, FakeProvider, FakeResult, FakeTokenRequest, FakeWebAccount, E_NOTIMPL},
    provider_command::FakeProviderCommandFactory,
    FakeCall,
};
use std::ffi::c_void;
use windows::{
    Security::{
        Authentication::Web::Core::{
            WebTokenRequest, WebTokenRequestPromptType, WebTokenRequestResult,
        },
        Credentials::{WebAccount, WebAccountProvider},
    },
    Win32::{
        Foundation::HWND,
        System::WinRT::{
            IActivationFactory, IActivationFactory_Impl, IWebAuthenticationCoreManagerInterop,
            IWebAuthenticationCoreManagerInterop_Impl,
        },
    },
};
use windows_core::{
    implement, Error, IInspectable, Interface, Ref, Result, GUID, HRESULT, HSTRING,
};
use windows_future::IAsyncOperation;

/// Microsoft's provider id (the AAD and MSA plugins).
const MICROSOFT_PROVIDER: &str = "https://login.microsoft.com";
/// The provider id of the Windows default account.
const DEFAULT_ACCOUNT_PROVIDER: &str = "https://login.windows.local";

const E_UNEXPECTED: HRESULT = HRESULT(0x8000_FFFF_u32 as i32);
const E_NOINTERFACE: HRESULT = HRESULT(0x8000_4002_u32 as i32);

/// `Windows.Security.Authentication.Web.Core.WebAuthenticationCoreManager`.
#[implement(
    IActivationFactory,
    IWebAuthenticationCoreManagerStatics,
    IWebAuthenticationCoreManagerInterop
)]
pub(crate) struct FakeCoreManager;

inspectable!(
    FakeCoreManager_Impl,
    "Windows.Security.Authentication.Web.Core.WebAuthenticationCoreManager"
);

impl IActivationFactory_Impl for FakeCoreManager_Impl {
    fn ActivateInstance(&self) -> Result<IInspectable> {
        // A static class: no instances.
        Err(E_NOTIMPL.into())
    }
}

/// Answers a token call with the script's next response, recording what was asked.
fn token_call(
    method: &str,
    request: &WebTokenRequest,
    account: Option<&WebAccount>,
    hwnd: Option<HWND>,
) -> Result<IAsyncOperation<WebTokenRequestResult>> {
    let (index, response) = fake_state::next_response();
    let mut call = fake_state::call(method);
    call.request = Some(FakeTokenRequest::describe(request)?);
    call.account_id = account
        .map(|a| a.Id().map(|id| id.to_string_lossy()))
        .transpose()?;
    call.hwnd = hwnd.map(|h| h.0 as isize);
    call.token_call = Some(index);
    fake_state::record(call);
    let Some(response) = response else {
        return Err(Error::new(
            E_UNEXPECTED,
            "the fake wam script has no response for this call",
        ));
    };
    if response.hold {
        return Ok(FakeOperation::held(method, Some(index)));
    }
    let result = FakeResult::create(&response, &request.WebAccountProvider()?)?;
    Ok(FakeOperation::ready(method, Some(result), Some(index)))
}

/// The provider `FindAccountProvider*Async(id, authority)` finds, recorded.
fn find_provider(
    method: &str,
    id: &HSTRING,
    authority: Option<&HSTRING>,
) -> Result<IAsyncOperation<WebAccountProvider>> {
    let id = id.to_string_lossy();
    let asked = authority.map(HSTRING::to_string_lossy);
    fake_state::record(FakeCall {
        provider: Some((id.clone(), asked.clone().unwrap_or_default())),
        ..fake_state::call(method)
    });
    let found = if id.eq_ignore_ascii_case(DEFAULT_ACCOUNT_PROVIDER) {
        fake_state::with(|s| s.script.default_account_authority.clone())
            .map(|authority| FakeProvider::create(&id, &authority))
            .transpose()?
    } else if id.eq_ignore_ascii_case(MICROSOFT_PROVIDER) {
        Some(FakeProvider::create(
            &id,
            asked.as_deref().unwrap_or("organizations"),
        )?)
    } else {
        None
    };
    Ok(FakeOperation::ready(method, found, None))
}

/// A non-null object argument.
fn required<T: windows_core::Type<T> + Clone>(value: &Ref<T>) -> Result<T> {
    value.ok().cloned()
}

impl IWebAuthenticationCoreManagerStatics_Impl for FakeCoreManager_Impl {
    unsafe fn GetTokenSilentlyAsync(
        &self,
        request: Ref<WebTokenRequest>,
        result: *mut *mut c_void,
    ) -> HRESULT {
        answer(
            result,
            required(&request).and_then(|r| token_call("GetTokenSilentlyAsync", &r, None, None)),
        )
    }

    unsafe fn GetTokenSilentlyWithWebAccountAsync(
        &self,
        request: Ref<WebTokenRequest>,
        account: Ref<WebAccount>,
        result: *mut *mut c_void,
    ) -> HRESULT {
        let op = required(&request).and_then(|r| {
            let account = required(&account)?;
            token_call(
                "GetTokenSilentlyWithWebAccountAsync",
                &r,
                Some(&account),
                None,
            )
        });
        answer(result, op)
    }

    unsafe fn RequestTokenAsync(
        &self,
        request: Ref<WebTokenRequest>,
        result: *mut *mut c_void,
    ) -> HRESULT {
        answer(
            result,
            required(&request).and_then(|r| token_call("RequestTokenAsync", &r, None, None)),
        )
    }

    unsafe fn RequestTokenWithWebAccountAsync(
        &self,
        request: Ref<WebTokenRequest>,
        account: Ref<WebAccount>,
        result: *mut *mut c_void,
    ) -> HRESULT {
        let op = required(&request).and_then(|r| {
            let account = required(&account)?;
            token_call("RequestTokenWithWebAccountAsync", &r, Some(&account), None)
        });
        answer(result, op)
    }

    unsafe fn FindAccountAsync(
        &self,
        provider: Ref<WebAccountProvider>,
        id: Ref<HSTRING>,
        result: *mut *mut c_void,
    ) -> HRESULT {
        let op = required(&provider).and_then(|provider| {
            let id = id.to_string_lossy();
            fake_state::record(FakeCall {
                provider: Some((
                    provider.Id()?.to_string_lossy(),
                    provider.Authority()?.to_string_lossy(),
                )),
                account_id: Some(id.clone()),
                ..fake_state::call("FindAccountAsync")
            });
            let known =
                fake_state::with(|s| s.script.accounts.iter().find(|a| a.id == id).cloned());
            let account = known
                .map(|a| FakeWebAccount::create(&a, &provider))
                .transpose()?;
            Ok(FakeOperation::ready("FindAccountAsync", account, None))
        });
        answer(result, op)
    }

    unsafe fn FindAccountProviderAsync(
        &self,
        id: Ref<HSTRING>,
        result: *mut *mut c_void,
    ) -> HRESULT {
        answer(result, find_provider("FindAccountProviderAsync", &id, None))
    }

    unsafe fn FindAccountProviderWithAuthorityAsync(
        &self,
        id: Ref<HSTRING>,
        authority: Ref<HSTRING>,
        result: *mut *mut c_void,
    ) -> HRESULT {
        answer(
            result,
            find_provider(
                "FindAccountProviderWithAuthorityAsync",
                &id,
                Some(&authority),
            ),
        )
    }
}

/// The interop methods hand back `riid`; WAM's callers ask for
/// `IAsyncOperation<WebTokenRequestResult>`.
///
/// # Safety
/// `riid` must be null or point to a GUID; `out` must be writable.
unsafe fn interop_answer(
    riid: *const GUID,
    out: *mut *mut c_void,
    op: impl FnOnce() -> Result<IAsyncOperation<WebTokenRequestResult>>,
) -> Result<()> {
    // SAFETY: the caller guarantees `riid` is null or valid.
    let Some(riid) = (unsafe { riid.as_ref() }) else {
        return Err(E_NOINTERFACE.into());
    };
    if *riid != IAsyncOperation::<WebTokenRequestResult>::IID {
        return Err(E_NOINTERFACE.into());
    }
    let op = op()?;
    // SAFETY: the caller guarantees `out` is writable; the reference moves out.
    unsafe { out.write(op.into_raw()) };
    Ok(())
}

impl IWebAuthenticationCoreManagerInterop_Impl for FakeCoreManager_Impl {
    fn RequestTokenForWindowAsync(
        &self,
        appwindow: HWND,
        request: Ref<IInspectable>,
        riid: *const GUID,
        asyncinfo: *mut *mut c_void,
    ) -> Result<()> {
        let request: WebTokenRequest = request.ok()?.cast()?;
        // SAFETY: `riid` and `asyncinfo` are this COM method's parameters.
        unsafe {
            interop_answer(riid, asyncinfo, || {
                token_call(
                    "RequestTokenForWindowAsync",
                    &request,
                    None,
                    Some(appwindow),
                )
            })
        }
    }

    fn RequestTokenWithWebAccountForWindowAsync(
        &self,
        appwindow: HWND,
        request: Ref<IInspectable>,
        webaccount: Ref<IInspectable>,
        riid: *const GUID,
        asyncinfo: *mut *mut c_void,
    ) -> Result<()> {
        let request: WebTokenRequest = request.ok()?.cast()?;
        let account: WebAccount = webaccount.ok()?.cast()?;
        // SAFETY: `riid` and `asyncinfo` are this COM method's parameters.
        unsafe {
            interop_answer(riid, asyncinfo, || {
                token_call(
                    "RequestTokenWithWebAccountForWindowAsync",
                    &request,
                    Some(&account),
                    Some(appwindow),
                )
            })
        }
    }
}

/// `Windows.Security.Authentication.Web.Core.WebTokenRequest`'s factory.
#[implement(IActivationFactory, IWebTokenRequestFactory)]
pub(crate) struct FakeTokenRequestFactory;

inspectable!(
    FakeTokenRequestFactory_Impl,
    "Windows.Security.Authentication.Web.Core.WebTokenRequest"
);

impl IActivationFactory_Impl for FakeTokenRequestFactory_Impl {
    fn ActivateInstance(&self) -> Result<IInspectable> {
        // WebTokenRequest has no default constructor.
        Err(E_NOTIMPL.into())
    }
}

impl IWebTokenRequestFactory_Impl for FakeTokenRequestFactory_Impl {
    unsafe fn Create(
        &self,
        provider: Ref<WebAccountProvider>,
        scope: Ref<HSTRING>,
        client_id: Ref<HSTRING>,
        result: *mut *mut c_void,
    ) -> HRESULT {
        let request = required(&provider).and_then(|p| {
            FakeTokenRequest::create(&p, &scope, &client_id, WebTokenRequestPromptType::Default)
        });
        answer(result, request)
    }

    unsafe fn CreateWithPromptType(
        &self,
        provider: Ref<WebAccountProvider>,
        scope: Ref<HSTRING>,
        client_id: Ref<HSTRING>,
        prompt: WebTokenRequestPromptType,
        result: *mut *mut c_void,
    ) -> HRESULT {
        let request = required(&provider)
            .and_then(|p| FakeTokenRequest::create(&p, &scope, &client_id, prompt));
        answer(result, request)
    }

    unsafe fn CreateWithProvider(
        &self,
        provider: Ref<WebAccountProvider>,
        result: *mut *mut c_void,
    ) -> HRESULT {
        let request = required(&provider).and_then(|p| {
            FakeTokenRequest::create(
                &p,
                &HSTRING::new(),
                &HSTRING::new(),
                WebTokenRequestPromptType::Default,
            )
        });
        answer(result, request)
    }

    unsafe fn CreateWithScope(
        &self,
        provider: Ref<WebAccountProvider>,
        scope: Ref<HSTRING>,
        result: *mut *mut c_void,
    ) -> HRESULT {
        let request = required(&provider).and_then(|p| {
            FakeTokenRequest::create(
                &p,
                &scope,
                &HSTRING::new(),
                WebTokenRequestPromptType::Default,
            )
        });
        answer(result, request)
    }
}

/// The factory for `class`, if the fake serves it.
pub(crate) fn factory_for(class: &str) -> Option<IActivationFactory> {
    match class {
        "Windows.Security.Authentication.Web.Core.WebAuthenticationCoreManager" => {
            Some(FakeCoreManager.into())
        }
        "Windows.Security.Authentication.Web.Core.WebTokenRequest" => {
            Some(FakeTokenRequestFactory.into())
        }
        "Windows.UI.ApplicationSettings.AccountsSettingsPane" => Some(FakePaneFactory.into()),
        "Windows.UI.ApplicationSettings.WebAccountProviderCommand" => {
            Some(FakeProviderCommandFactory.into())
        }
        _ => None,
    }
}

// Keeps the interface types in use for the `implement` macro's QueryInterface tables.
const _: fn() = || {
    let _ = <IWebAuthenticationCoreManagerStatics as Interface>::IID;
    let _ = <IWebTokenRequestFactory as Interface>::IID;
};
