//! The device code sign-in of `login --use-device-code`, `login` on a headless machine and
//! `token --aad device-code`: the prompt on stderr, the headless choice, and Ctrl-C.

use crate::cli_error::CliError;
use mr_auth_broker::{DeviceCodePromptCallback, Headless, ProcessEnvironment};
use std::future::Future;

/// Prints the authority's message (the address and the code) on stderr at once.
pub(crate) fn prompt_callback() -> DeviceCodePromptCallback {
    DeviceCodePromptCallback::new(|prompt| {
        // The library removed control characters already; a terminal is worth the check.
        let message: String = prompt.message.chars().filter(|c| !c.is_control()).collect();
        eprintln!("{message}");
        Ok(())
    })
}

/// Why `login` without `--aad` signs in with a device code here, if it does: no browser on
/// this machine can reach its loopback redirect.
pub(crate) fn headless() -> Option<Headless> {
    Headless::detect(&ProcessEnvironment)
}

/// Runs `work` until it ends, or until the user presses Ctrl-C: then `work` is dropped at once
/// (a sign-in stops waiting or polling) and the command fails with the interrupt's exit code.
pub(crate) async fn until_interrupted<T, E: Into<CliError>>(
    work: impl Future<Output = Result<T, E>>,
) -> Result<T, CliError> {
    tokio::select! {
        biased;
        _ = tokio::signal::ctrl_c() => Err(CliError::interrupted(
            "interrupted (Ctrl-C): the sign-in was abandoned and nothing was saved",
        )),
        result = work => result.map_err(Into::into),
    }
}
