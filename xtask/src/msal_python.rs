//! The real peers of the persistent-cache tests: a Secret Service (gnome-keyring on a private
//! dbus-daemon, started by the tests) and MSAL for Python and azure-identity in a venv, pinned.
//! The Debian packages they need are in the setup's apt list ([`crate::setup`]).

use std::path::{Path, PathBuf};

use crate::cmd::{Cmd, Result};

/// Debian's Python: the one PyGObject (libsecret for msal-extensions) is built for.
const SYSTEM_PYTHON: &str = "/usr/bin/python3";

/// The MSAL packages the interop tests run against, and azure-identity (its
/// `SharedTokenCacheCredential` and `DeviceCodeCredential` on the same cache).
const MSAL_PACKAGES: &[&str] = &[
    "msal==1.39.0",
    "msal-extensions==1.3.1",
    "azure-identity==1.27.0",
];

/// What the venv's Python must import for the tests to run.
const PROBE: &str = "import gi; gi.require_version('Secret', '1'); \
    from gi.repository import Secret; import msal, msal_extensions; \
    assert msal.__version__ == '1.39.0', msal.__version__; \
    import azure.identity; \
    assert azure.identity.__version__ == '1.27.0', azure.identity.__version__";

/// The venv's Python when the venv at `<target>/msal-venv` has MSAL and azure-identity;
/// installs nothing.
pub(crate) fn installed(target_dir: &Path) -> Option<PathBuf> {
    let python = venv(target_dir).join("bin").join("python");
    (python.is_file() && Cmd::new(&python).args(["-c", PROBE]).succeeds_quietly()).then_some(python)
}

fn venv(target_dir: &Path) -> PathBuf {
    target_dir.join("msal-venv")
}

/// The Debian packages [`ensure`] makes the venv from: Python with venv, PyGObject and
/// libsecret's introspection data (for msal-extensions' libsecret store).
pub(crate) const DEBIAN_PACKAGES: &[&str] =
    &["python3", "python3-venv", "python3-gi", "gir1.2-secret-1"];

/// Makes sure a venv at `<target>/msal-venv` has MSAL and azure-identity (pip, from the system Python with the
/// apt packages already installed); returns the venv's Python for `MR_AUTH_MSAL_PYTHON`.
pub(crate) fn ensure(target_dir: &Path) -> Result<PathBuf> {
    if let Some(python) = installed(target_dir) {
        eprintln!("{} has msal and azure-identity", python.display());
        return Ok(python);
    }
    let venv = venv(target_dir);
    let python = venv.join("bin").join("python");
    // System site packages for PyGObject, which pip cannot build without headers.
    Cmd::new(SYSTEM_PYTHON)
        .args(["-m", "venv", "--clear", "--system-site-packages"])
        .arg(&venv)
        .run()?;
    Cmd::new(&python)
        .args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
        ])
        .args(MSAL_PACKAGES)
        .run()?;
    Cmd::new(&python).args(["-c", PROBE]).run()?;
    Ok(python)
}
