//! How `mr-auth` shows the sign-in page: it prints the address on stderr (so a user on a
//! headless machine can open it elsewhere) and starts a browser on it.
//!
//! The browser is the command in `BROWSER` when that is set, as `git`, Python's `webbrowser`
//! and `xdg-open` read it: a list of commands separated by `:` (`;` on Windows), each split on
//! whitespace, with `%s` replaced by the address or, without one, the address appended; the
//! first command that starts is used. Without `BROWSER`, the system's default browser
//! ([`AuthorizeUrlHandler::SystemBrowser`]).

use mr_auth_broker::AuthorizeUrlHandler;
use std::{
    ffi::OsString,
    process::{Command, Stdio},
};
use url::Url;

/// The variable naming the browser command.
pub(crate) const BROWSER_ENV: &str = "BROWSER";

/// The credential option that shows and opens each sign-in address.
pub(crate) fn authorize_url_handler() -> AuthorizeUrlHandler {
    let browser = std::env::var_os(BROWSER_ENV).filter(|v| !v.is_empty());
    AuthorizeUrlHandler::callback(move |url| {
        eprintln!("To sign in, open this address in a browser:\n{url}");
        let opened = match &browser {
            Some(list) => open_with(list, url),
            None => AuthorizeUrlHandler::SystemBrowser.open(url).is_ok(),
        };
        if !opened {
            tracing::debug!(
                "no browser could be started; waiting for the address to be opened by hand"
            );
        }
        // Never an error: the user can still open the printed address.
        Ok(())
    })
}

/// The commands of a `BROWSER` value, each as program and arguments, for `url`.
fn commands(list: &str, url: &Url) -> Vec<Vec<String>> {
    let separator = if cfg!(windows) { ';' } else { ':' };
    list.split(separator)
        .filter_map(|command| {
            let mut words: Vec<String> = command.split_whitespace().map(str::to_owned).collect();
            if words.is_empty() {
                return None;
            }
            if words.iter().any(|w| w.contains("%s")) {
                for word in &mut words {
                    *word = word.replace("%s", url.as_str());
                }
            } else {
                words.push(url.as_str().to_owned());
            }
            Some(words)
        })
        .collect()
}

/// Starts the first command of `list` that starts; whether one did.
fn open_with(list: &OsString, url: &Url) -> bool {
    let Some(list) = list.to_str() else {
        tracing::warn!("{BROWSER_ENV} is not valid unicode; ignoring it");
        return false;
    };
    for words in commands(list, url) {
        let (program, args) = words.split_first().expect("commands are not empty");
        let started = Command::new(program)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn();
        match started {
            Ok(mut child) => {
                // Reap it when it exits, without waiting here.
                std::thread::spawn(move || {
                    let _ = child.wait();
                });
                return true;
            }
            Err(e) => tracing::debug!(browser = %program, error = %e, "cannot start this browser"),
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn browser_lists_follow_the_convention() {
        let url = Url::parse("http://127.0.0.1:1/authorize?state=s").unwrap();
        let sep = if cfg!(windows) { ";" } else { ":" };
        let list = format!("firefox --new-tab{sep}{sep}  {sep}lynx -dump %s --x=%s");
        assert_eq!(
            commands(&list, &url),
            [
                vec!["firefox".to_owned(), "--new-tab".into(), url.to_string()],
                vec![
                    "lynx".to_owned(),
                    "-dump".into(),
                    url.to_string(),
                    format!("--x={url}")
                ],
            ]
        );
    }

    #[test]
    fn the_first_command_that_starts_is_used() {
        let url = Url::parse("http://127.0.0.1:1/").unwrap();
        let sep = if cfg!(windows) { ";" } else { ":" };
        assert!(!open_with(&OsString::from("/nonexistent/browser"), &url));
        if cfg!(unix) {
            assert!(open_with(
                &OsString::from(format!("/nonexistent/browser{sep}true")),
                &url
            ));
        }
    }
}
