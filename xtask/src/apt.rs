//! Installing Debian packages with apt, only those not installed yet.

use std::sync::atomic::{AtomicBool, Ordering};

use crate::cmd::{missing_programs, which, Cmd, Result};

/// Whether this process already ran `apt-get update` (run it at most once).
static UPDATED: AtomicBool = AtomicBool::new(false);

/// Makes sure every command in `commands` is on `PATH`, installing `packages` with apt when
/// any is missing (see [`install`]). Returns whether anything was installed.
pub(crate) fn ensure(commands: &[&str], packages: &[&str]) -> Result<bool> {
    let missing = missing_programs(commands);
    if missing.is_empty() {
        return Ok(false);
    }
    eprintln!("missing {}", missing.join(", "));
    install(packages)?;
    let still_missing = missing_programs(commands);
    if still_missing.is_empty() {
        Ok(true)
    } else {
        Err(format!(
            "installed {} but {} is still not on PATH",
            packages.join(" "),
            still_missing.join(", ")
        ))
    }
}

/// The packages of `packages` that dpkg does not list as installed (all of them where there is
/// no dpkg).
pub(crate) fn not_installed<'a>(packages: &[&'a str]) -> Vec<&'a str> {
    let listed = Cmd::new("dpkg-query")
        .args(["-W", "-f", "${binary:Package} ${db:Status-Status}\\n"])
        .args(packages)
        .read_quietly_even_on_failure()
        .unwrap_or_default();
    packages
        .iter()
        .copied()
        .filter(|package| !is_listed_installed(&listed, package))
        .collect()
}

/// Whether `dpkg-query -W -f '${binary:Package} ${db:Status-Status}\n'` output lists
/// `package` (with or without an architecture suffix) as installed.
fn is_listed_installed(listed: &str, package: &str) -> bool {
    listed.lines().any(|line| {
        let mut fields = line.split_whitespace();
        let name = fields.next().unwrap_or_default();
        let name = name.split_once(':').map_or(name, |(name, _arch)| name);
        name == package && fields.next() == Some("installed")
    })
}

/// Installs `packages` with apt (no recommends). The install is tried first with the package
/// lists already on the machine; only when that fails is `apt-get update` run (once per
/// process) and the install retried.
pub(crate) fn install(packages: &[&str]) -> Result {
    eprintln!("installing {} with apt", packages.join(" "));
    if which("apt-get").is_none() {
        return Err(format!(
            "apt-get is not available: install {} by hand",
            packages.join(" ")
        ));
    }
    let install = || {
        apt_get()
            .args(["install", "-y", "--no-install-recommends"])
            .args(packages)
    };
    if install().run().is_err() {
        if !UPDATED.swap(true, Ordering::SeqCst) {
            apt_get().arg("update").run()?;
        }
        install().run()?;
    }
    Ok(())
}

/// `apt-get` run non-interactively, through `sudo` when we are not root, waiting for a dpkg
/// lock held by someone else rather than failing at once.
fn apt_get() -> Cmd {
    let root = Cmd::new("id")
        .arg("-u")
        .read_quietly()
        .is_some_and(|uid| uid.trim() == "0");
    let cmd = if root || which("sudo").is_none() {
        Cmd::new("apt-get")
    } else {
        Cmd::new("sudo").args(["-E", "apt-get"])
    };
    cmd.env("DEBIAN_FRONTEND", "noninteractive")
        .args(["-q", "-o", "DPkg::Lock::Timeout=600"])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_installed_packages_from_dpkg_query() {
        let listed =
            "wine64 installed\nchromium not-installed\nlibc6-dev-arm64-cross:all installed\n";
        assert!(is_listed_installed(listed, "wine64"));
        assert!(!is_listed_installed(listed, "chromium"));
        assert!(is_listed_installed(listed, "libc6-dev-arm64-cross"));
        assert!(!is_listed_installed(listed, "wine"));
        assert!(!is_listed_installed(listed, "wine6"));
    }
}
