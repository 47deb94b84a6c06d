//! The D-Bus side: one connection to the session bus, calls to the broker's methods, and what
//! a failed call means for the credential.

use super::{
    call_failure::CallFailure,
    protocol::{BUS_NAME, INTERFACE, MAX_RESPONSE_BYTES, OBJECT_PATH, PROTOCOL_VERSION},
};
use crate::error::{Error, ErrorKind};
use std::time::Duration;

/// A connection to the bus the broker is on. Cheap to clone (zbus shares the socket).
#[derive(Debug, Clone)]
pub(crate) struct BrokerBus {
    connection: zbus::Connection,
}

const INSTALL_HINT: &str = "on an intune-enrolled desktop install and sign in to microsoft-identity-broker (the intune-portal package), or sign in through the browser";

impl BrokerBus {
    /// Connects to the bus at `address` (a D-Bus address such as `unix:path=/run/user/1000/bus`),
    /// or to the session bus (`DBUS_SESSION_BUS_ADDRESS`, else `$XDG_RUNTIME_DIR/bus`).
    /// Any failure is [`ErrorKind::BrokerUnavailable`]: without a bus there is no broker.
    pub(crate) async fn connect(address: Option<&str>) -> Result<Self, Error> {
        let builder = match address {
            Some(address) => zbus::connection::Builder::address(address),
            None => zbus::connection::Builder::session(),
        };
        let where_ = address.unwrap_or("the session bus");
        let connection = match builder {
            Ok(builder) => builder.build().await,
            Err(e) => Err(e),
        }
        .map_err(|e| {
            Error::new(
                ErrorKind::BrokerUnavailable,
                format!("cannot connect to {where_} to reach the microsoft identity broker ({e}); {INSTALL_HINT}"),
            )
            .with_source(e)
        })?;
        Ok(Self { connection })
    }

    /// Calls `method(PROTOCOL_VERSION, correlation_id, body)` on the broker and returns its
    /// answer, bounded by `timeout` when given.
    pub(crate) async fn call(
        &self,
        method: &str,
        correlation_id: &str,
        body: &str,
        timeout: Option<Duration>,
    ) -> Result<String, CallFailure> {
        tracing::debug!(
            method,
            correlation_id,
            "calling the microsoft identity broker"
        );
        let arguments = (PROTOCOL_VERSION, correlation_id, body);
        let call = self.connection.call_method(
            Some(BUS_NAME),
            OBJECT_PATH,
            Some(INTERFACE),
            method,
            &arguments,
        );
        let reply = match timeout {
            Some(limit) => match tokio::time::timeout(limit, call).await {
                Ok(reply) => reply,
                Err(_) => {
                    return Err(CallFailure {
                        error: Error::new(
                            ErrorKind::Timeout,
                            format!(
                                "the microsoft identity broker did not answer {method} within {} s; check that it is not stuck (restart it) and retry",
                                limit.as_secs_f32()
                            ),
                        ),
                        connection_lost: false,
                    })
                }
            },
            None => call.await,
        };
        let message = reply.map_err(|e| call_failure(method, e))?;
        let answer: String = message.body().deserialize().map_err(|e| CallFailure {
            error: Error::new(
                ErrorKind::BrokerUnavailable,
                format!("the service at {BUS_NAME} answered {method} with something other than a string; it does not look like the microsoft identity broker"),
            )
            .with_source(e),
            connection_lost: false,
        })?;
        if answer.len() > MAX_RESPONSE_BYTES {
            return Err(CallFailure {
                error: Error::new(
                    ErrorKind::BrokerUnavailable,
                    format!("the broker answered {method} with {} bytes, more than the {MAX_RESPONSE_BYTES} accepted", answer.len()),
                ),
                connection_lost: false,
            });
        }
        Ok(answer)
    }
}

/// The credential's error for a failed D-Bus call.
fn call_failure(method: &str, error: zbus::Error) -> CallFailure {
    let (kind, message, lost) = match &error {
        zbus::Error::MethodError(name, detail, _) => {
            let detail = detail
                .as_deref()
                .map(|d| mr_auth_core::outside_text(d, 512))
                .filter(|d| !d.trim().is_empty())
                .map(|d| format!(": {d}"))
                .unwrap_or_default();
            let name = name.as_str();
            match name {
                "org.freedesktop.DBus.Error.ServiceUnknown"
                | "org.freedesktop.DBus.Error.NameHasNoOwner" => (
                    ErrorKind::BrokerUnavailable,
                    format!("the microsoft identity broker is not running: nothing owns {BUS_NAME} on the session bus ({name}); {INSTALL_HINT}"),
                    false,
                ),
                "org.freedesktop.DBus.Error.UnknownMethod"
                | "org.freedesktop.DBus.Error.UnknownObject"
                | "org.freedesktop.DBus.Error.UnknownInterface" => (
                    ErrorKind::BrokerUnavailable,
                    format!("the service at {BUS_NAME} has no {INTERFACE}.{method} ({name}{detail}); it is not the microsoft identity broker, or too old a one: update microsoft-identity-broker"),
                    false,
                ),
                n if n.starts_with("org.freedesktop.DBus.Error.Spawn") => (
                    ErrorKind::BrokerUnavailable,
                    format!("the session bus could not start the microsoft identity broker ({name}{detail}); check its installation"),
                    false,
                ),
                "org.freedesktop.DBus.Error.AccessDenied" => (
                    ErrorKind::BrokerUnavailable,
                    format!("the session bus does not let this process call the microsoft identity broker ({name}{detail})"),
                    false,
                ),
                "org.freedesktop.DBus.Error.NoReply"
                | "org.freedesktop.DBus.Error.Timeout"
                | "org.freedesktop.DBus.Error.TimedOut" => (
                    ErrorKind::Timeout,
                    format!("the microsoft identity broker did not answer {method} ({name}{detail}); retry, or restart the broker"),
                    false,
                ),
                _ => (
                    ErrorKind::AuthenticationFailed,
                    format!("the microsoft identity broker failed {method} with the d-bus error {name}{detail}"),
                    false,
                ),
            }
        }
        zbus::Error::InputOutput(_) | zbus::Error::Connection(..) => (
            ErrorKind::BrokerUnavailable,
            format!("lost the connection to the session bus while calling the microsoft identity broker's {method} ({error}); retry"),
            true,
        ),
        _ => (
            ErrorKind::BrokerUnavailable,
            format!("the call to the microsoft identity broker's {method} failed ({error})"),
            false,
        ),
    };
    CallFailure {
        error: Error::new(kind, message).with_source(error),
        connection_lost: lost,
    }
}
