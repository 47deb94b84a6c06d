//! The Wine prefix that runs the Windows test binaries (see "Checking Windows code on Linux" in
//! `../shared/spec/broker.md`).

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::cmd::{Cmd, Result};

/// The C source of the `bcryptprimitives.dll` stub, relative to the workspace root.
const STUB_SOURCE: &str = "xtask/assets/bcryptprimitives.c";

/// How long `wineboot -i` may take to create a prefix (it takes about 20 s on 2 cores).
const WINEBOOT_TIMEOUT: Duration = Duration::from_secs(300);

/// Written into the prefix once `wineboot -i` finished, so an interrupted boot is redone.
const READY_MARKER: &str = ".mr-auth-wineboot-done";

/// A headless Wine prefix under the target directory, with the `bcryptprimitives.dll` stub
/// that Rust's Windows binaries need.
#[derive(Debug)]
pub(crate) struct WinePrefix {
    path: PathBuf,
}

impl WinePrefix {
    /// Creates the prefix under `target_dir` unless it is already there, and installs the
    /// stub DLL (rebuilt only when its source changed).
    pub(crate) fn ensure(root: &Path, target_dir: &Path) -> Result<Self> {
        let prefix = Self {
            path: target_dir.join("wine-prefix"),
        };
        if prefix.path.join(READY_MARKER).is_file() {
            eprintln!("wine prefix {} already set up", prefix.path.display());
        } else {
            prefix.boot()?;
        }
        let dll = build_stub(root, target_dir)?;
        prefix.install_dll(&dll)?;
        Ok(prefix)
    }

    fn boot(&self) -> Result {
        if self.path.exists() {
            // A prefix without the marker is a half-made one; start over.
            fs::remove_dir_all(&self.path)
                .map_err(|e| format!("cannot remove {}: {e}", self.path.display()))?;
        }
        fs::create_dir_all(&self.path)
            .map_err(|e| format!("cannot create {}: {e}", self.path.display()))?;
        self.wine_cmd("wineboot")
            .arg("-i")
            .timeout(WINEBOOT_TIMEOUT)
            .run()
            .inspect_err(|_| self.kill_server())?;
        // wineboot returns before wineserver has written the registry to disk.
        self.wine_cmd("wineserver")
            .arg("-w")
            .timeout(Duration::from_secs(120))
            .run()?;
        fs::write(self.path.join(READY_MARKER), "wineboot -i finished\n")
            .map_err(|e| format!("cannot write the prefix marker: {e}"))
    }

    fn install_dll(&self, dll: &Path) -> Result {
        let system32 = self.path.join("drive_c/windows/system32");
        let dest = system32.join("bcryptprimitives.dll");
        let wanted = fs::read(dll).map_err(|e| format!("cannot read {}: {e}", dll.display()))?;
        if fs::read(&dest).is_ok_and(|present| present == wanted) {
            return Ok(());
        }
        if !system32.is_dir() {
            return Err(format!(
                "{} is missing: the wine prefix looks broken, delete {} and rerun",
                system32.display(),
                self.path.display()
            ));
        }
        eprintln!("installing {} into {}", dll.display(), system32.display());
        fs::write(&dest, wanted).map_err(|e| format!("cannot write {}: {e}", dest.display()))
    }

    /// The prefix directory (`WINEPREFIX`).
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// A command with the environment every Wine invocation here uses: this prefix, 64-bit,
    /// no debug chatter, no display (headless), and no Mono/Gecko install prompts.
    pub(crate) fn wine_cmd(&self, program: impl AsRef<std::ffi::OsStr>) -> Cmd {
        Cmd::new(program)
            .env("WINEPREFIX", &self.path)
            .env("WINEARCH", "win64")
            .env("WINEDEBUG", "-all")
            .env("WINEDLLOVERRIDES", "mscoree,mshtml=")
            .env_remove("DISPLAY")
    }

    /// Stops every Wine process of this prefix (best effort: nothing may be running).
    pub(crate) fn kill_server(&self) {
        let _ = self
            .wine_cmd("wineserver")
            .arg("-k")
            .timeout(Duration::from_secs(60))
            .run();
    }
}

/// Builds `bcryptprimitives.dll` from [`STUB_SOURCE`] into `<target>/wine-stub/`, unless the
/// DLL there is newer than the source.
fn build_stub(root: &Path, target_dir: &Path) -> Result<PathBuf> {
    let source = root.join(STUB_SOURCE);
    let out_dir = target_dir.join("wine-stub");
    let dll = out_dir.join("bcryptprimitives.dll");
    let modified = |p: &Path| fs::metadata(p).and_then(|m| m.modified()).ok();
    let source_time =
        modified(&source).ok_or_else(|| format!("{} is missing", source.display()))?;
    if modified(&dll).is_some_and(|dll_time| dll_time >= source_time) {
        return Ok(dll);
    }
    fs::create_dir_all(&out_dir)
        .map_err(|e| format!("cannot create {}: {e}", out_dir.display()))?;
    Cmd::new("x86_64-w64-mingw32-gcc")
        .args(["-shared", "-O2", "-Wall", "-Werror", "-s", "-o"])
        .arg(&dll)
        .arg(&source)
        .arg("-ladvapi32")
        .run()?;
    Ok(dll)
}
