//! The WinRT interfaces the fake implements, declared with `windows_core::interface`: the
//! `windows` crate declares these (they are exclusive to their runtime classes) without the
//! `_Impl` traits that `#[implement]` needs. Each vtable is the same as the `windows` crate's
//! `<name>_Vtbl` (same IID, same method order), so the broker's `windows` projections call
//! into these implementations.
//!
//! `windows_core::interface` cannot derive from `IInspectable`, so [`IInspectableSlots`]
//! declares IInspectable's three methods under IUnknown; the resulting vtables have the same
//! layout as an IInspectable-derived interface.
#![allow(non_snake_case, reason = "WinRT method names, as the ABI names them")]
#![allow(
    clippy::missing_safety_doc,
    reason = "COM vtable methods; callers follow the ABI"
)]

use std::ffi::c_void;
use windows::{
    Foundation::TypedEventHandler,
    Security::{
        Authentication::Web::Core::{
            WebTokenRequest, WebTokenRequestPromptType, WebTokenRequestStatus,
        },
        Credentials::{WebAccount, WebAccountProvider, WebAccountState},
    },
    UI::ApplicationSettings::{
        AccountsSettingsPane, AccountsSettingsPaneCommandsRequestedEventArgs,
        WebAccountProviderCommandInvokedHandler,
    },
};
use windows_core::{interface, IUnknown, IUnknown_Vtbl, Ref, GUID, HRESULT, HSTRING};

/// IInspectable's methods (`GetIids`, `GetRuntimeClassName`, `GetTrustLevel`), as the base of
/// every interface below. Its own IID is never asked for.
#[interface("5d1c3f7e-6a0b-4c55-9d4e-0f2b8a1e7c31")]
pub(crate) unsafe trait IInspectableSlots: IUnknown {
    fn GetIids(&self, count: *mut u32, iids: *mut *mut GUID) -> HRESULT;
    fn GetRuntimeClassName(&self, name: *mut HSTRING) -> HRESULT;
    fn GetTrustLevel(&self, level: *mut i32) -> HRESULT;
}

#[interface("6aca7c92-a581-4479-9c10-752eff44fd34")]
pub(crate) unsafe trait IWebAuthenticationCoreManagerStatics:
    IInspectableSlots
{
    fn GetTokenSilentlyAsync(
        &self,
        request: Ref<WebTokenRequest>,
        result: *mut *mut c_void,
    ) -> HRESULT;
    fn GetTokenSilentlyWithWebAccountAsync(
        &self,
        request: Ref<WebTokenRequest>,
        account: Ref<WebAccount>,
        result: *mut *mut c_void,
    ) -> HRESULT;
    fn RequestTokenAsync(&self, request: Ref<WebTokenRequest>, result: *mut *mut c_void)
        -> HRESULT;
    fn RequestTokenWithWebAccountAsync(
        &self,
        request: Ref<WebTokenRequest>,
        account: Ref<WebAccount>,
        result: *mut *mut c_void,
    ) -> HRESULT;
    fn FindAccountAsync(
        &self,
        provider: Ref<WebAccountProvider>,
        id: Ref<HSTRING>,
        result: *mut *mut c_void,
    ) -> HRESULT;
    fn FindAccountProviderAsync(&self, id: Ref<HSTRING>, result: *mut *mut c_void) -> HRESULT;
    fn FindAccountProviderWithAuthorityAsync(
        &self,
        id: Ref<HSTRING>,
        authority: Ref<HSTRING>,
        result: *mut *mut c_void,
    ) -> HRESULT;
}

#[interface("6cf2141c-0ff0-4c67-b84f-99ddbe4a72c9")]
pub(crate) unsafe trait IWebTokenRequestFactory: IInspectableSlots {
    fn Create(
        &self,
        provider: Ref<WebAccountProvider>,
        scope: Ref<HSTRING>,
        client_id: Ref<HSTRING>,
        result: *mut *mut c_void,
    ) -> HRESULT;
    fn CreateWithPromptType(
        &self,
        provider: Ref<WebAccountProvider>,
        scope: Ref<HSTRING>,
        client_id: Ref<HSTRING>,
        prompt: WebTokenRequestPromptType,
        result: *mut *mut c_void,
    ) -> HRESULT;
    fn CreateWithProvider(
        &self,
        provider: Ref<WebAccountProvider>,
        result: *mut *mut c_void,
    ) -> HRESULT;
    fn CreateWithScope(
        &self,
        provider: Ref<WebAccountProvider>,
        scope: Ref<HSTRING>,
        result: *mut *mut c_void,
    ) -> HRESULT;
}

#[interface("b77b4d68-adcb-4673-b364-0cf7b35caf97")]
pub(crate) unsafe trait IWebTokenRequest: IInspectableSlots {
    fn WebAccountProvider(&self, result: *mut *mut c_void) -> HRESULT;
    fn Scope(&self, result: *mut HSTRING) -> HRESULT;
    fn ClientId(&self, result: *mut HSTRING) -> HRESULT;
    fn PromptType(&self, result: *mut WebTokenRequestPromptType) -> HRESULT;
    fn Properties(&self, result: *mut *mut c_void) -> HRESULT;
}

#[interface("d700c079-30c8-4397-9654-961c3be8b855")]
pub(crate) unsafe trait IWebTokenRequest2: IInspectableSlots {
    fn AppProperties(&self, result: *mut *mut c_void) -> HRESULT;
}

#[interface("5a755b51-3bb1-41a5-a63d-90bc32c7db9a")]
pub(crate) unsafe trait IWebTokenRequest3: IInspectableSlots {
    fn CorrelationId(&self, result: *mut HSTRING) -> HRESULT;
    fn SetCorrelationId(&self, value: Ref<HSTRING>) -> HRESULT;
}

#[interface("c12a8305-d1f8-4483-8d54-38fe292784ff")]
pub(crate) unsafe trait IWebTokenRequestResult: IInspectableSlots {
    fn ResponseData(&self, result: *mut *mut c_void) -> HRESULT;
    fn ResponseStatus(&self, result: *mut WebTokenRequestStatus) -> HRESULT;
    fn ResponseError(&self, result: *mut *mut c_void) -> HRESULT;
    fn InvalidateCacheAsync(&self, result: *mut *mut c_void) -> HRESULT;
}

#[interface("67a7c5ca-83f6-44c6-a3b1-0eb69e41fa8a")]
pub(crate) unsafe trait IWebTokenResponse: IInspectableSlots {
    fn Token(&self, result: *mut HSTRING) -> HRESULT;
    fn ProviderError(&self, result: *mut *mut c_void) -> HRESULT;
    fn WebAccount(&self, result: *mut *mut c_void) -> HRESULT;
    fn Properties(&self, result: *mut *mut c_void) -> HRESULT;
}

#[interface("db191bb1-50c5-4809-8dca-09c99410245c")]
pub(crate) unsafe trait IWebProviderError: IInspectableSlots {
    fn ErrorCode(&self, result: *mut u32) -> HRESULT;
    fn ErrorMessage(&self, result: *mut HSTRING) -> HRESULT;
    fn Properties(&self, result: *mut *mut c_void) -> HRESULT;
}

#[interface("29dcc8c3-7ab9-4a7c-a336-b942f9dbf7c7")]
pub(crate) unsafe trait IWebAccountProvider: IInspectableSlots {
    fn Id(&self, result: *mut HSTRING) -> HRESULT;
    fn DisplayName(&self, result: *mut HSTRING) -> HRESULT;
    fn IconUri(&self, result: *mut *mut c_void) -> HRESULT;
}

#[interface("4a01eb05-4e42-41d4-b518-e008a5163614")]
pub(crate) unsafe trait IWebAccountProvider2: IInspectableSlots {
    fn DisplayPurpose(&self, result: *mut HSTRING) -> HRESULT;
    fn Authority(&self, result: *mut HSTRING) -> HRESULT;
}

#[interface("69473eb2-8031-49be-80bb-96cb46d99aba")]
pub(crate) unsafe trait IWebAccount: IInspectableSlots {
    fn WebAccountProvider(&self, result: *mut *mut c_void) -> HRESULT;
    fn UserName(&self, result: *mut HSTRING) -> HRESULT;
    fn State(&self, result: *mut WebAccountState) -> HRESULT;
}

#[interface("7b56d6f8-990b-4eb5-94a7-5621f3a8b824")]
pub(crate) unsafe trait IWebAccount2: IInspectableSlots {
    fn Id(&self, result: *mut HSTRING) -> HRESULT;
    fn Properties(&self, result: *mut *mut c_void) -> HRESULT;
    fn GetPictureAsync(&self, size: i32, result: *mut *mut c_void) -> HRESULT;
    fn SignOutAsync(&self, result: *mut *mut c_void) -> HRESULT;
    fn SignOutWithClientIdAsync(
        &self,
        client_id: Ref<HSTRING>,
        result: *mut *mut c_void,
    ) -> HRESULT;
}

/// Implements [`IInspectableSlots`] for a fake runtime class named `$name`.
macro_rules! inspectable {
    ($impl:ty, $name:literal) => {
        impl $crate::abi::IInspectableSlots_Impl for $impl {
            unsafe fn GetIids(
                &self,
                count: *mut u32,
                iids: *mut *mut windows_core::GUID,
            ) -> windows_core::HRESULT {
                // SAFETY: COM out-parameters, valid for writes per the IInspectable contract.
                unsafe {
                    count.write(0);
                    iids.write(std::ptr::null_mut());
                }
                windows_core::HRESULT(0)
            }
            unsafe fn GetRuntimeClassName(
                &self,
                name: *mut windows_core::HSTRING,
            ) -> windows_core::HRESULT {
                // SAFETY: a COM out-parameter, valid for writes.
                unsafe { name.write(windows_core::HSTRING::from($name)) };
                windows_core::HRESULT(0)
            }
            unsafe fn GetTrustLevel(&self, level: *mut i32) -> windows_core::HRESULT {
                // SAFETY: a COM out-parameter, valid for writes; 0 is BaseTrust.
                unsafe { level.write(0) };
                windows_core::HRESULT(0)
            }
        }
    };
}
pub(crate) use inspectable;

#[interface("81ea942c-4f09-4406-a538-838d9b14b7e6")]
pub(crate) unsafe trait IAccountsSettingsPane: IInspectableSlots {
    fn AccountCommandsRequested(
        &self,
        handler: Ref<PaneCommandsRequestedHandler>,
        token: *mut i64,
    ) -> HRESULT;
    fn RemoveAccountCommandsRequested(&self, token: i64) -> HRESULT;
}

#[interface("3b68c099-db19-45d0-9abf-95d3773c9330")]
pub(crate) unsafe trait IAccountsSettingsPaneCommandsRequestedEventArgs:
    IInspectableSlots
{
    fn WebAccountProviderCommands(&self, result: *mut *mut c_void) -> HRESULT;
    fn WebAccountCommands(&self, result: *mut *mut c_void) -> HRESULT;
    fn CredentialCommands(&self, result: *mut *mut c_void) -> HRESULT;
    fn Commands(&self, result: *mut *mut c_void) -> HRESULT;
    fn HeaderText(&self, result: *mut HSTRING) -> HRESULT;
    fn SetHeaderText(&self, value: Ref<HSTRING>) -> HRESULT;
    fn GetDeferral(&self, result: *mut *mut c_void) -> HRESULT;
}

#[interface("d69bdd9a-a0a6-4e9b-88dc-c71e757a3501")]
pub(crate) unsafe trait IWebAccountProviderCommand: IInspectableSlots {
    fn WebAccountProvider(&self, result: *mut *mut c_void) -> HRESULT;
    fn Invoked(&self, result: *mut *mut c_void) -> HRESULT;
}

#[interface("d5658a1b-b176-4776-8469-a9d3ff0b3f59")]
pub(crate) unsafe trait IWebAccountProviderCommandFactory: IInspectableSlots {
    fn CreateWebAccountProviderCommand(
        &self,
        provider: Ref<WebAccountProvider>,
        invoked: Ref<WebAccountProviderCommandInvokedHandler>,
        result: *mut *mut c_void,
    ) -> HRESULT;
}

/// The `AccountCommandsRequested` event's delegate type.
pub(crate) type PaneCommandsRequestedHandler =
    TypedEventHandler<AccountsSettingsPane, AccountsSettingsPaneCommandsRequestedEventArgs>;
