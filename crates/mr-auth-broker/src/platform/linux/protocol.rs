//! The names and limits of the broker's D-Bus protocol.

use std::time::Duration;

// Where the broker is on the bus: only the Linux bus client (`broker_bus`) addresses it.

/// The broker's well-known name on the session bus.
#[cfg(target_os = "linux")]
pub(crate) const BUS_NAME: &str = "com.microsoft.identity.broker1";
/// The broker's object.
#[cfg(target_os = "linux")]
pub(crate) const OBJECT_PATH: &str = "/com/microsoft/identity/broker1";
/// The broker's interface (every method is `(s protocol_version, s correlation_id, s
/// request_json) -> s response_json`).
#[cfg(target_os = "linux")]
pub(crate) const INTERFACE: &str = "com.microsoft.identity.Broker1";
/// The protocol version clients send.
#[cfg(target_os = "linux")]
pub(crate) const PROTOCOL_VERSION: &str = "0.0";

/// The redirect URI the broker uses for every app: the app registration must list it under
/// "Mobile and desktop applications".
pub(crate) const NATIVE_CLIENT_REDIRECT_URI: &str =
    "https://login.microsoftonline.com/common/oauth2/nativeclient";

/// The MSAL C++ version this client says it is compatible with (`getLinuxBrokerVersion`).
pub(crate) const MSAL_CPP_VERSION: &str = "1.28.0";

/// The oldest broker this client talks to: the 2.0 line, whose protocol the public
/// descriptions cover. Older (1.x) brokers are reported as unavailable.
pub(crate) const MIN_BROKER_VERSION: (u32, u32, u32) = (2, 0, 0);

/// `authorizationType` of a silent request (with the cached refresh token).
pub(crate) const AUTHORIZATION_TYPE_SILENT: u8 = 1;
/// `authorizationType` of an interactive request.
pub(crate) const AUTHORIZATION_TYPE_INTERACTIVE: u8 = 6;

/// Largest broker answer read, in bytes; anything longer is refused unparsed.
pub(crate) const MAX_RESPONSE_BYTES: usize = 1024 * 1024;
/// Largest access token accepted, in bytes.
pub(crate) const MAX_TOKEN_BYTES: usize = 128 * 1024;
/// Largest account object kept and sent back to the broker, in bytes of JSON.
pub(crate) const MAX_ACCOUNT_BYTES: usize = 16 * 1024;
/// Largest short text field kept (ids, user names, status, tag), in bytes.
pub(crate) const MAX_FIELD_BYTES: usize = 1024;
/// Most accounts read from `getAccounts`.
pub(crate) const MAX_ACCOUNTS: usize = 64;

/// The default bound of every call that shows no UI (accounts, silent, cancel).
pub(crate) const DEFAULT_CALL_TIMEOUT: Duration = Duration::from_secs(60);
/// The default bound of reaching the broker: connecting to the bus and its version call.
pub(crate) const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// The prefix of [`BrokerAccount::id`](crate::BrokerAccount::id) for accounts of this broker.
pub(crate) const ACCOUNT_ID_PREFIX: &str = "linux-broker:";
