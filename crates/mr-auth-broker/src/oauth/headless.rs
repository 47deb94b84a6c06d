//! Whether a browser on this machine can sign the user in through the loopback redirect, read
//! from the environment as the Azure CLI decides whether to open one.

use crate::EnvironmentSource;
use std::fmt;

/// Why no browser on this machine can bring a sign-in back to the loopback redirect: the
/// user would have to open the address on another device, whose browser cannot reach this
/// machine's `localhost`. A device code sign-in works there.
///
/// [`Headless::detect`] reads it from the environment. A `BROWSER` variable (the command a
/// terminal session opens addresses with) counts as a browser here, whatever the session.
///
/// ```
/// use mr_auth_broker::Headless;
///
/// let ssh = [("SSH_CONNECTION", "10.0.0.2 52144 10.0.0.1 22"), ("DISPLAY", ":0")];
/// assert_eq!(Headless::detect(&ssh), Some(Headless::SshSession));
/// let ssh_with_browser = [("SSH_TTY", "/dev/pts/1"), ("BROWSER", "w3m")];
/// assert_eq!(Headless::detect(&ssh_with_browser), None);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Headless {
    /// A Linux (or other Unix, not macOS) session without a display: `DISPLAY` and
    /// `WAYLAND_DISPLAY` are unset, and `BROWSER` too.
    NoDisplay,
    /// An SSH session (`SSH_CONNECTION` or `SSH_TTY` is set) without `BROWSER`: a browser
    /// would open on the remote machine, if anywhere, out of the user's sight.
    SshSession,
}

impl Headless {
    /// The reason `env` gives, if any: none when `BROWSER` is set, else an SSH session, else
    /// (on Unix other than macOS) no display.
    pub fn detect(env: &dyn EnvironmentSource) -> Option<Self> {
        let set = |name: &str| env.var_os(name).is_some_and(|v| !v.is_empty());
        if set("BROWSER") {
            return None;
        }
        if set("SSH_CONNECTION") || set("SSH_TTY") {
            return Some(Self::SshSession);
        }
        let has_display_server = cfg!(all(unix, not(target_os = "macos")));
        if has_display_server && !set("DISPLAY") && !set("WAYLAND_DISPLAY") {
            return Some(Self::NoDisplay);
        }
        None
    }
}

impl fmt::Display for Headless {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::NoDisplay => {
                "there is no display (DISPLAY and WAYLAND_DISPLAY are unset) and BROWSER is not set"
            }
            Self::SshSession => {
                "this is an SSH session (SSH_CONNECTION or SSH_TTY is set) and BROWSER is not set"
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_session_from_the_environment() {
        let unix = cfg!(all(unix, not(target_os = "macos")));
        type Environment<'a> = &'a [(&'a str, &'a str)];
        let cases: [(Environment<'_>, Option<Headless>); 7] = [
            (&[], unix.then_some(Headless::NoDisplay)),
            (&[("DISPLAY", ":0")], None),
            (&[("WAYLAND_DISPLAY", "wayland-0")], None),
            (&[("DISPLAY", "")], unix.then_some(Headless::NoDisplay)),
            (&[("BROWSER", "lynx")], None),
            (
                &[("DISPLAY", ":0"), ("SSH_TTY", "/dev/pts/0")],
                Some(Headless::SshSession),
            ),
            (&[("SSH_CONNECTION", "a b c d"), ("BROWSER", "w3m")], None),
        ];
        for (env, expected) in cases {
            let env = mr_auth_core::EnvironmentMap::from_iter(env.iter().copied());
            assert_eq!(Headless::detect(&env), expected, "{env:?}");
        }
        assert!(Headless::SshSession.to_string().contains("SSH_CONNECTION"));
        assert!(Headless::NoDisplay.to_string().contains("WAYLAND_DISPLAY"));
    }
}
