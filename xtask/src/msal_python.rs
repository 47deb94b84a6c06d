//! The real peers of the persistent-cache tests: a Secret Service (gnome-keyring on a private
//! dbus-daemon, started by the tests) and MSAL for Python and azure-identity in a venv, pinned.

use std::path::{Path, PathBuf};

use crate::apt;
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

/// Commands the Secret Service tests start, and the Debian packages that provide them.
const KEYRING_TOOLS: &[&str] = &["dbus-daemon", "gnome-keyring-daemon"];
const KEYRING_APT_PACKAGES: &[&str] = &["dbus", "gnome-keyring"];

/// Debian packages for libsecret from Python, and for making a venv.
const PYTHON_APT_PACKAGES: &[&str] = &["python3", "python3-venv", "python3-gi", "gir1.2-secret-1"];

/// What the venv's Python must import for the tests to run.
const PROBE: &str = "import gi; gi.require_version('Secret', '1'); \
    from gi.repository import Secret; import msal, msal_extensions; \
    assert msal.__version__ == '1.39.0', msal.__version__; \
    import azure.identity; \
    assert azure.identity.__version__ == '1.27.0', azure.identity.__version__";

/// Makes sure the keyring tools are installed and a venv at `<target>/msal-venv` has MSAL and
/// azure-identity;
/// returns the venv's Python for `MR_AUTH_MSAL_PYTHON`.
pub(crate) fn ensure(target_dir: &Path) -> Result<PathBuf> {
    apt::ensure(KEYRING_TOOLS, KEYRING_APT_PACKAGES)?;
    let gi_probe = "import gi; gi.require_version('Secret', '1'); from gi.repository import Secret";
    let system_ready = Path::new(SYSTEM_PYTHON).is_file()
        && Cmd::new(SYSTEM_PYTHON)
            .args(["-c", gi_probe])
            .succeeds_quietly()
        && Cmd::new(SYSTEM_PYTHON)
            .args(["-c", "import venv, ensurepip"])
            .succeeds_quietly();
    if !system_ready {
        apt::install(PYTHON_APT_PACKAGES)?;
    }
    let venv = target_dir.join("msal-venv");
    let python = venv.join("bin").join("python");
    if python.is_file() && Cmd::new(&python).args(["-c", PROBE]).succeeds_quietly() {
        eprintln!("{} has msal and azure-identity", venv.display());
        return Ok(python);
    }
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
