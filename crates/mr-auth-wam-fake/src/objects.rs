//! The runtime-class objects the fake hands out: `WebAccountProvider`, `WebAccount`,
//! `WebTokenRequest`, `WebTokenRequestResult`, `WebTokenResponse` and `WebProviderError`.
//! Each is returned as the `windows` crate's class type (a QueryInterface for the class's
//! default interface, which the object implements), so the broker sees exactly what WAM
//! would give it.

use crate::{
    abi::{
        inspectable, IWebAccount, IWebAccount2, IWebAccount2_Impl, IWebAccountProvider,
        IWebAccountProvider2, IWebAccountProvider2_Impl, IWebAccountProvider_Impl,
        IWebAccount_Impl, IWebProviderError, IWebProviderError_Impl, IWebTokenRequest,
        IWebTokenRequest2, IWebTokenRequest2_Impl, IWebTokenRequest3, IWebTokenRequest3_Impl,
        IWebTokenRequestResult, IWebTokenRequestResult_Impl, IWebTokenRequest_Impl,
        IWebTokenResponse, IWebTokenResponse_Impl,
    },
    string_map::FakeStringMap,
    FakeAccount, FakeRequest, FakeResponse, FakeStatus,
};
use std::{collections::BTreeMap, ffi::c_void, sync::Mutex};
use windows::Security::{
    Authentication::Web::Core::{
        WebProviderError, WebTokenRequest, WebTokenRequestPromptType, WebTokenRequestResult,
        WebTokenRequestStatus, WebTokenResponse,
    },
    Credentials::{WebAccount, WebAccountProvider, WebAccountState},
};
use windows_collections::{IMap, IVectorView};
use windows_core::{implement, IUnknown, Interface, Ref, Result, HRESULT, HSTRING};

/// `E_NOTIMPL`, for the members WAM's callers never use.
pub(crate) const E_NOTIMPL: HRESULT = HRESULT(0x8000_4001_u32 as i32);
const S_OK: HRESULT = HRESULT(0);

/// Writes `value` (or null) to a COM out-parameter.
///
/// # Safety
/// `out` must be valid for writes.
pub(crate) unsafe fn put<I: Interface>(out: *mut *mut c_void, value: Option<I>) -> HRESULT {
    // SAFETY: the caller guarantees `out` is writable; ownership of the reference moves out.
    unsafe { out.write(value.map_or(std::ptr::null_mut(), Interface::into_raw)) };
    S_OK
}

/// Writes `value` to a COM string out-parameter.
///
/// # Safety
/// `out` must be valid for writes.
pub(crate) unsafe fn put_string(out: *mut HSTRING, value: &HSTRING) -> HRESULT {
    // SAFETY: the caller guarantees `out` is writable; the clone's ownership moves out.
    unsafe { out.write(value.clone()) };
    S_OK
}

/// `object` as the `windows` crate's class `C` (QueryInterface for its default interface).
pub(crate) fn as_class<C: Interface>(object: impl Into<IUnknown>) -> Result<C> {
    object.into().cast()
}

/// Turns a `Result` into the HRESULT an ABI method returns, writing the value on success.
pub(crate) fn answer<I: Interface>(out: *mut *mut c_void, value: Result<I>) -> HRESULT {
    match value {
        // SAFETY: every caller passes its own COM out-parameter.
        Ok(v) => unsafe { put(out, Some(v)) },
        Err(e) => e.code(),
    }
}

#[implement(IWebAccountProvider, IWebAccountProvider2)]
pub(crate) struct FakeProvider {
    id: HSTRING,
    authority: HSTRING,
}

impl FakeProvider {
    pub(crate) fn create(id: &str, authority: &str) -> Result<WebAccountProvider> {
        as_class(Self {
            id: id.into(),
            authority: authority.into(),
        })
    }
}

inspectable!(
    FakeProvider_Impl,
    "Windows.Security.Credentials.WebAccountProvider"
);

impl IWebAccountProvider_Impl for FakeProvider_Impl {
    unsafe fn Id(&self, result: *mut HSTRING) -> HRESULT {
        // SAFETY: an out-parameter of this ABI method.
        unsafe { put_string(result, &self.id) }
    }
    unsafe fn DisplayName(&self, result: *mut HSTRING) -> HRESULT {
        // SAFETY: an out-parameter of this ABI method.
        unsafe { put_string(result, &HSTRING::from("mr-auth fake WAM provider")) }
    }
    unsafe fn IconUri(&self, _result: *mut *mut c_void) -> HRESULT {
        E_NOTIMPL
    }
}

impl IWebAccountProvider2_Impl for FakeProvider_Impl {
    unsafe fn DisplayPurpose(&self, result: *mut HSTRING) -> HRESULT {
        // SAFETY: an out-parameter of this ABI method.
        unsafe { put_string(result, &HSTRING::new()) }
    }
    unsafe fn Authority(&self, result: *mut HSTRING) -> HRESULT {
        // SAFETY: an out-parameter of this ABI method.
        unsafe { put_string(result, &self.authority) }
    }
}

#[implement(IWebAccount, IWebAccount2)]
pub(crate) struct FakeWebAccount {
    id: HSTRING,
    user_name: HSTRING,
    provider: WebAccountProvider,
}

impl FakeWebAccount {
    pub(crate) fn create(
        account: &FakeAccount,
        provider: &WebAccountProvider,
    ) -> Result<WebAccount> {
        as_class(Self {
            id: account.id.as_str().into(),
            user_name: account.user_name.as_str().into(),
            provider: provider.clone(),
        })
    }
}

inspectable!(
    FakeWebAccount_Impl,
    "Windows.Security.Credentials.WebAccount"
);

impl IWebAccount_Impl for FakeWebAccount_Impl {
    unsafe fn WebAccountProvider(&self, result: *mut *mut c_void) -> HRESULT {
        // SAFETY: an out-parameter of this ABI method.
        unsafe { put(result, Some(self.provider.clone())) }
    }
    unsafe fn UserName(&self, result: *mut HSTRING) -> HRESULT {
        // SAFETY: an out-parameter of this ABI method.
        unsafe { put_string(result, &self.user_name) }
    }
    unsafe fn State(&self, result: *mut WebAccountState) -> HRESULT {
        // SAFETY: an out-parameter of this ABI method.
        unsafe { result.write(WebAccountState::Connected) };
        S_OK
    }
}

impl IWebAccount2_Impl for FakeWebAccount_Impl {
    unsafe fn Id(&self, result: *mut HSTRING) -> HRESULT {
        // SAFETY: an out-parameter of this ABI method.
        unsafe { put_string(result, &self.id) }
    }
    unsafe fn Properties(&self, result: *mut *mut c_void) -> HRESULT {
        let empty: BTreeMap<String, String> = BTreeMap::new();
        // SAFETY: an out-parameter of this ABI method.
        unsafe { put(result, Some(FakeStringMap::create(&empty))) }
    }
    unsafe fn GetPictureAsync(&self, _size: i32, _result: *mut *mut c_void) -> HRESULT {
        E_NOTIMPL
    }
    unsafe fn SignOutAsync(&self, _result: *mut *mut c_void) -> HRESULT {
        E_NOTIMPL
    }
    unsafe fn SignOutWithClientIdAsync(
        &self,
        _client_id: Ref<HSTRING>,
        _result: *mut *mut c_void,
    ) -> HRESULT {
        E_NOTIMPL
    }
}

#[implement(IWebTokenRequest, IWebTokenRequest2, IWebTokenRequest3)]
pub(crate) struct FakeTokenRequest {
    provider: WebAccountProvider,
    scope: HSTRING,
    client_id: HSTRING,
    prompt: WebTokenRequestPromptType,
    properties: IMap<HSTRING, HSTRING>,
    app_properties: IMap<HSTRING, HSTRING>,
    correlation_id: Mutex<HSTRING>,
}

impl FakeTokenRequest {
    pub(crate) fn create(
        provider: &WebAccountProvider,
        scope: &HSTRING,
        client_id: &HSTRING,
        prompt: WebTokenRequestPromptType,
    ) -> Result<WebTokenRequest> {
        let empty: BTreeMap<String, String> = BTreeMap::new();
        as_class(Self {
            provider: provider.clone(),
            scope: scope.clone(),
            client_id: client_id.clone(),
            prompt,
            properties: FakeStringMap::create(&empty),
            app_properties: FakeStringMap::create(&empty),
            correlation_id: Mutex::new(HSTRING::new()),
        })
    }

    /// What `request` carries, read through the `windows` crate's projection.
    pub(crate) fn describe(request: &WebTokenRequest) -> Result<FakeRequest> {
        let provider = request.WebAccountProvider()?;
        Ok(FakeRequest {
            client_id: request.ClientId()?.to_string_lossy(),
            scope: request.Scope()?.to_string_lossy(),
            prompt_type: request.PromptType()?.0,
            properties: FakeStringMap::entries(&request.Properties()?)?,
            correlation_id: request.CorrelationId()?.to_string_lossy(),
            provider_id: provider.Id()?.to_string_lossy(),
            provider_authority: provider.Authority()?.to_string_lossy(),
        })
    }
}

inspectable!(
    FakeTokenRequest_Impl,
    "Windows.Security.Authentication.Web.Core.WebTokenRequest"
);

impl IWebTokenRequest_Impl for FakeTokenRequest_Impl {
    unsafe fn WebAccountProvider(&self, result: *mut *mut c_void) -> HRESULT {
        // SAFETY: an out-parameter of this ABI method.
        unsafe { put(result, Some(self.provider.clone())) }
    }
    unsafe fn Scope(&self, result: *mut HSTRING) -> HRESULT {
        // SAFETY: an out-parameter of this ABI method.
        unsafe { put_string(result, &self.scope) }
    }
    unsafe fn ClientId(&self, result: *mut HSTRING) -> HRESULT {
        // SAFETY: an out-parameter of this ABI method.
        unsafe { put_string(result, &self.client_id) }
    }
    unsafe fn PromptType(&self, result: *mut WebTokenRequestPromptType) -> HRESULT {
        // SAFETY: an out-parameter of this ABI method.
        unsafe { result.write(self.prompt) };
        S_OK
    }
    unsafe fn Properties(&self, result: *mut *mut c_void) -> HRESULT {
        // SAFETY: an out-parameter of this ABI method.
        unsafe { put(result, Some(self.properties.clone())) }
    }
}

impl IWebTokenRequest2_Impl for FakeTokenRequest_Impl {
    unsafe fn AppProperties(&self, result: *mut *mut c_void) -> HRESULT {
        // SAFETY: an out-parameter of this ABI method.
        unsafe { put(result, Some(self.app_properties.clone())) }
    }
}

impl IWebTokenRequest3_Impl for FakeTokenRequest_Impl {
    unsafe fn CorrelationId(&self, result: *mut HSTRING) -> HRESULT {
        let id = self
            .correlation_id
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        // SAFETY: an out-parameter of this ABI method.
        unsafe { put_string(result, &id) }
    }
    unsafe fn SetCorrelationId(&self, value: Ref<HSTRING>) -> HRESULT {
        *self
            .correlation_id
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = (*value).clone();
        S_OK
    }
}

#[implement(IWebTokenRequestResult)]
pub(crate) struct FakeResult {
    status: WebTokenRequestStatus,
    data: IVectorView<WebTokenResponse>,
    error: Option<WebProviderError>,
}

impl FakeResult {
    /// The result `response` scripts, for a request to `provider`.
    pub(crate) fn create(
        response: &FakeResponse,
        provider: &WebAccountProvider,
    ) -> Result<WebTokenRequestResult> {
        let error = response
            .error
            .as_ref()
            .map(|e| {
                as_class::<WebProviderError>(FakeError {
                    code: e.code,
                    message: e.message.as_str().into(),
                })
            })
            .transpose()?;
        let success = matches!(
            response.status,
            FakeStatus::Success | FakeStatus::AccountSwitch
        );
        let data = if success {
            let account = response
                .account
                .as_ref()
                .map(|a| FakeWebAccount::create(a, provider))
                .transpose()?;
            vec![Some(as_class::<WebTokenResponse>(FakeTokenResponse {
                token: response.token.as_str().into(),
                properties: FakeStringMap::create(&response.properties),
                account,
                error: error.clone(),
            })?)]
        } else {
            Vec::new()
        };
        as_class(Self {
            status: WebTokenRequestStatus(response.status.raw()),
            data: IVectorView::from(data),
            error,
        })
    }
}

inspectable!(
    FakeResult_Impl,
    "Windows.Security.Authentication.Web.Core.WebTokenRequestResult"
);

impl IWebTokenRequestResult_Impl for FakeResult_Impl {
    unsafe fn ResponseData(&self, result: *mut *mut c_void) -> HRESULT {
        // SAFETY: an out-parameter of this ABI method.
        unsafe { put(result, Some(self.data.clone())) }
    }
    unsafe fn ResponseStatus(&self, result: *mut WebTokenRequestStatus) -> HRESULT {
        // SAFETY: an out-parameter of this ABI method.
        unsafe { result.write(self.status) };
        S_OK
    }
    unsafe fn ResponseError(&self, result: *mut *mut c_void) -> HRESULT {
        // SAFETY: an out-parameter of this ABI method.
        unsafe { put(result, self.error.clone()) }
    }
    unsafe fn InvalidateCacheAsync(&self, _result: *mut *mut c_void) -> HRESULT {
        E_NOTIMPL
    }
}

#[implement(IWebTokenResponse)]
struct FakeTokenResponse {
    token: HSTRING,
    properties: IMap<HSTRING, HSTRING>,
    account: Option<WebAccount>,
    error: Option<WebProviderError>,
}

inspectable!(
    FakeTokenResponse_Impl,
    "Windows.Security.Authentication.Web.Core.WebTokenResponse"
);

impl IWebTokenResponse_Impl for FakeTokenResponse_Impl {
    unsafe fn Token(&self, result: *mut HSTRING) -> HRESULT {
        // SAFETY: an out-parameter of this ABI method.
        unsafe { put_string(result, &self.token) }
    }
    unsafe fn ProviderError(&self, result: *mut *mut c_void) -> HRESULT {
        // SAFETY: an out-parameter of this ABI method.
        unsafe { put(result, self.error.clone()) }
    }
    unsafe fn WebAccount(&self, result: *mut *mut c_void) -> HRESULT {
        // SAFETY: an out-parameter of this ABI method.
        unsafe { put(result, self.account.clone()) }
    }
    unsafe fn Properties(&self, result: *mut *mut c_void) -> HRESULT {
        // SAFETY: an out-parameter of this ABI method.
        unsafe { put(result, Some(self.properties.clone())) }
    }
}

#[implement(IWebProviderError)]
struct FakeError {
    code: u32,
    message: HSTRING,
}

inspectable!(
    FakeError_Impl,
    "Windows.Security.Authentication.Web.Core.WebProviderError"
);

impl IWebProviderError_Impl for FakeError_Impl {
    unsafe fn ErrorCode(&self, result: *mut u32) -> HRESULT {
        // SAFETY: an out-parameter of this ABI method.
        unsafe { result.write(self.code) };
        S_OK
    }
    unsafe fn ErrorMessage(&self, result: *mut HSTRING) -> HRESULT {
        // SAFETY: an out-parameter of this ABI method.
        unsafe { put_string(result, &self.message) }
    }
    unsafe fn Properties(&self, result: *mut *mut c_void) -> HRESULT {
        let empty: BTreeMap<String, String> = BTreeMap::new();
        // SAFETY: an out-parameter of this ABI method.
        unsafe { put(result, Some(FakeStringMap::create(&empty))) }
    }
}
