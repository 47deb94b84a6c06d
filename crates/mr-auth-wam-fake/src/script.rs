//! What a test tells the fake to do ([`FakeScript`]) and what the fake saw ([`FakeCall`]),
//! exchanged as JSON between the test and the DLL.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// How the fake answers, for one test.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct FakeScript {
    /// The authority (`organizations` or `consumers`) of the provider that
    /// `FindAccountProviderAsync("https://login.windows.local")` returns for the Windows
    /// default account; `None`: no default account (the lookup returns null).
    pub default_account_authority: Option<String>,
    /// The accounts `FindAccountAsync` knows, by id.
    pub accounts: Vec<FakeAccount>,
    /// The answers to token calls (`GetTokenSilently*`, `RequestToken*`), in order; a call
    /// after the last one fails with `E_UNEXPECTED`.
    pub responses: Vec<FakeResponse>,
    /// What the user does in the account picker (`AccountsSettingsPane`); `None`: the test
    /// expects no picker, and `ShowAddAccountForWindowAsync` fails with `E_UNEXPECTED`.
    pub account_picker: Option<FakePicker>,
}

/// The user's answer to the account picker.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct FakePicker {
    /// Which of the offered commands is invoked.
    pub choice: FakePickerChoice,
    /// Keep the pane open (the `ShowAddAccountForWindowAsync` action pending) until it is
    /// cancelled, without invoking any command.
    pub hold: bool,
}

/// Which `WebAccountProviderCommand` the user picks in the pane.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
pub enum FakePickerChoice {
    /// The first command whose provider's authority is not `consumers` (work or school).
    #[default]
    WorkOrSchool,
    /// The command whose provider's authority is `consumers` (a personal account).
    Personal,
    /// None: the pane is closed without a choice.
    Dismiss,
}

/// A `WebAccount`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct FakeAccount {
    /// `WebAccount.Id`.
    pub id: String,
    /// `WebAccount.UserName`.
    pub user_name: String,
}

/// `WebTokenRequestStatus`.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
pub enum FakeStatus {
    /// `Success` (0).
    #[default]
    Success,
    /// `UserCancel` (1).
    UserCancel,
    /// `AccountSwitch` (2).
    AccountSwitch,
    /// `UserInteractionRequired` (3).
    UserInteractionRequired,
    /// `AccountProviderNotAvailable` (4).
    AccountProviderNotAvailable,
    /// `ProviderError` (5).
    ProviderError,
}

impl FakeStatus {
    /// The WinRT value.
    pub fn raw(self) -> i32 {
        match self {
            Self::Success => 0,
            Self::UserCancel => 1,
            Self::AccountSwitch => 2,
            Self::UserInteractionRequired => 3,
            Self::AccountProviderNotAvailable => 4,
            Self::ProviderError => 5,
        }
    }
}

/// `WebProviderError`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct FakeProviderError {
    /// `ErrorCode`.
    pub code: u32,
    /// `ErrorMessage`.
    pub message: String,
}

/// The answer to one token call: a `WebTokenRequestResult`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct FakeResponse {
    /// `ResponseStatus`.
    pub status: FakeStatus,
    /// The `WebTokenResponse.Token` (with a success status).
    pub token: String,
    /// `WebTokenResponse.Properties` (`TokenExpiresOn`, `Authority`, `wamcompat_id_token`, ...).
    pub properties: BTreeMap<String, String>,
    /// `WebTokenResponse.WebAccount`.
    pub account: Option<FakeAccount>,
    /// `ResponseError`.
    pub error: Option<FakeProviderError>,
    /// Keep the operation pending until it is cancelled (see [`crate::FakeWam::wait_until_held`]).
    pub hold: bool,
}

/// A `WebTokenRequest` as the fake received it.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct FakeRequest {
    /// `ClientId`.
    pub client_id: String,
    /// `Scope`.
    pub scope: String,
    /// `PromptType` (0 Default, 1 ForceAuthentication).
    pub prompt_type: i32,
    /// `Properties`, every one.
    pub properties: BTreeMap<String, String>,
    /// `CorrelationId`, if set.
    pub correlation_id: String,
    /// `WebAccountProvider.Id` of the request's provider.
    pub provider_id: String,
    /// `WebAccountProvider.Authority` of the request's provider.
    pub provider_authority: String,
}

/// One call the fake received.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct FakeCall {
    /// The method: `FindAccountProviderAsync`, `GetTokenSilentlyWithWebAccountAsync`,
    /// `RequestTokenForWindowAsync`, `IAsyncInfo.Cancel`, ...
    pub method: String,
    /// The calling thread's name (`GetThreadDescription`), empty when it has none.
    pub thread: String,
    /// The calling thread's COM apartment: `MTA`, `STA`, `MainSTA`, `NA` or `none`.
    pub apartment: String,
    /// The provider id and authority asked for (`FindAccountProvider*`, `FindAccountAsync`).
    pub provider: Option<(String, String)>,
    /// The account id asked for (`FindAccountAsync`) or passed (`*WithWebAccount*`).
    pub account_id: Option<String>,
    /// The window handle passed to the interop methods.
    pub hwnd: Option<isize>,
    /// The request passed to a token call.
    pub request: Option<FakeRequest>,
    /// For a token call or `Cancel`: which token call (0-based, in the order they came).
    pub token_call: Option<usize>,
    /// For `Cancel`: the method whose operation was cancelled.
    pub operation: Option<String>,
    /// For `ShowAddAccountForWindowAsync`: the providers of the `WebAccountProviderCommand`s
    /// the `AccountCommandsRequested` handlers added, as (id, authority), in order.
    pub offered: Vec<(String, String)>,
    /// For `ShowAddAccountForWindowAsync`: the provider of the command the fake invoked.
    pub picked: Option<(String, String)>,
}
