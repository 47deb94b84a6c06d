//! The fake WAM provider (`crates/mr-auth-wam-fake`) in the Wine prefix: built for
//! `x86_64-pc-windows-gnu`, copied into the prefix and registered for the classes it serves
//! under `HKLM\Software\Microsoft\WindowsRuntime\ActivatableClassId`, where Wine's
//! `RoGetActivationFactory` looks them up (see "Windows: WAM through WinRT" in the broker
//! README). Registered only while the broker's `wam_fake` tests run: the other Windows tests
//! need WAM to be missing (activation failing with 0x80040154).

use std::fs;
use std::path::Path;
use std::time::Duration;

use crate::cmd::{Cmd, Result};
use crate::wine_prefix::WinePrefix;

/// The package and the DLL it builds.
pub(crate) const PACKAGE: &str = "mr-auth-wam-fake";
const DLL: &str = "mr_auth_wam_fake.dll";

/// Where the DLL goes in the prefix (`C:\mr-auth-wam-fake\`), and the path registered.
const PREFIX_DIR: &str = "drive_c/mr-auth-wam-fake";
const REGISTERED_PATH: &str = "C:\\mr-auth-wam-fake\\mr_auth_wam_fake.dll";

/// The runtime classes the broker's WAM module activates, which the fake serves.
const CLASSES: &[&str] = &[
    "Windows.Security.Authentication.Web.Core.WebAuthenticationCoreManager",
    "Windows.Security.Authentication.Web.Core.WebTokenRequest",
    // The account picker of MSA passthrough.
    "Windows.UI.ApplicationSettings.AccountsSettingsPane",
    "Windows.UI.ApplicationSettings.WebAccountProviderCommand",
];

const CLASS_KEY: &str = "HKLM\\Software\\Microsoft\\WindowsRuntime\\ActivatableClassId";

/// How long one `wine reg` invocation may take.
const REG_TIMEOUT: Duration = Duration::from_secs(120);

/// Copies the built fake (`<target>/x86_64-pc-windows-gnu/debug/mr_auth_wam_fake.dll`) into
/// the prefix and registers its classes.
pub(crate) fn register(prefix: &WinePrefix, target_dir: &Path, windows_target: &str) -> Result {
    let built = target_dir.join(windows_target).join("debug").join(DLL);
    let dir = prefix.path().join(PREFIX_DIR);
    fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    fs::copy(&built, dir.join(DLL))
        .map_err(|e| format!("cannot copy {} into the wine prefix: {e}", built.display()))?;
    for class in CLASSES {
        prefix
            .wine_cmd("wine")
            .args(["reg", "add", &format!("{CLASS_KEY}\\{class}")])
            .args([
                "/v",
                "DllPath",
                "/t",
                "REG_SZ",
                "/d",
                REGISTERED_PATH,
                "/f",
                "/reg:64",
            ])
            .timeout(REG_TIMEOUT)
            .run()?;
    }
    Ok(())
}

/// Removes the fake's registrations (those present: after an interrupted run, or none).
pub(crate) fn unregister(prefix: &WinePrefix) -> Result {
    for class in CLASSES {
        let key = format!("{CLASS_KEY}\\{class}");
        let present = prefix
            .wine_cmd("wine")
            .args(["reg", "query", &key, "/reg:64"])
            .timeout(REG_TIMEOUT)
            .succeeds_quietly();
        if present {
            prefix
                .wine_cmd("wine")
                .args(["reg", "delete", &key, "/f", "/reg:64"])
                .timeout(REG_TIMEOUT)
                .run()?;
        }
    }
    Ok(())
}

/// A `cargo` command building the fake for `windows_target`.
pub(crate) fn build(cargo: Cmd, windows_target: &str) -> Cmd {
    cargo.args([
        "build",
        "-p",
        PACKAGE,
        "--target",
        windows_target,
        "--locked",
    ])
}
