//! Which window the WAM dialog is parented to, so it never opens behind the terminal.
//!
//! The choice is a pure function of the candidate handles (unit-tested everywhere); on Windows
//! [`WindowHandleChoice::current`] reads the real ones.

use crate::platform::ParentWindowHandle;

/// Where the chosen window came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum WindowSource {
    /// `parent_window_handle` from the options.
    Application,
    /// The console window (`GetConsoleWindow`, then its root owner, which under Windows
    /// Terminal is the terminal's window).
    Console,
    /// The foreground window (`GetForegroundWindow`).
    Foreground,
    /// The desktop window (`GetDesktopWindow`).
    Desktop,
}

/// The window the dialog is parented to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct WindowHandleChoice {
    /// The `HWND`, never null.
    pub(crate) handle: ParentWindowHandle,
    /// Which candidate it was.
    pub(crate) source: WindowSource,
}

impl WindowHandleChoice {
    /// The application's window if it gave one, else the console window, else the foreground
    /// window, else the desktop window; each candidate is asked for only when the ones before
    /// it are missing (null). `None` only when every candidate is null.
    pub(crate) fn choose(
        application: Option<ParentWindowHandle>,
        console: impl FnOnce() -> isize,
        foreground: impl FnOnce() -> isize,
        desktop: impl FnOnce() -> isize,
    ) -> Option<Self> {
        if let Some(handle) = application {
            return Some(Self {
                handle,
                source: WindowSource::Application,
            });
        }
        let pick = |raw: isize, source| {
            ParentWindowHandle::from_raw(raw).map(|handle| Self { handle, source })
        };
        pick(console(), WindowSource::Console)
            .or_else(|| pick(foreground(), WindowSource::Foreground))
            .or_else(|| pick(desktop(), WindowSource::Desktop))
    }
}

#[cfg(windows)]
#[allow(unsafe_code, reason = "Win32 window functions (FFI)")]
mod platform {
    use super::WindowHandleChoice;
    use crate::platform::ParentWindowHandle;
    use windows::Win32::{
        System::Console::GetConsoleWindow,
        UI::WindowsAndMessaging::{
            GetAncestor, GetDesktopWindow, GetForegroundWindow, GA_ROOTOWNER,
        },
    };

    impl WindowHandleChoice {
        /// [`WindowHandleChoice::choose`] with this process's real windows.
        pub(crate) fn current(application: Option<ParentWindowHandle>) -> Option<Self> {
            Self::choose(
                application,
                console_window,
                foreground_window,
                desktop_window,
            )
        }
    }

    /// The console window's root owner (the terminal's window under Windows Terminal), or the
    /// console window itself; null without a console.
    pub(crate) fn console_window() -> isize {
        // SAFETY: GetConsoleWindow takes no arguments and only reads process state; it
        // returns null when the process has no console.
        let console = unsafe { GetConsoleWindow() };
        if console.is_invalid() {
            return 0;
        }
        // SAFETY: `console` is a window handle just returned by the system; GetAncestor
        // tolerates stale handles by returning null.
        let owner = unsafe { GetAncestor(console, GA_ROOTOWNER) };
        let chosen = if owner.is_invalid() { console } else { owner };
        chosen.0 as isize
    }

    /// The foreground window, or null.
    pub(crate) fn foreground_window() -> isize {
        // SAFETY: GetForegroundWindow takes no arguments and returns a handle or null.
        unsafe { GetForegroundWindow() }.0 as isize
    }

    /// The desktop window (never null on a real desktop).
    pub(crate) fn desktop_window() -> isize {
        // SAFETY: GetDesktopWindow takes no arguments and returns a handle.
        unsafe { GetDesktopWindow() }.0 as isize
    }
}

#[cfg(all(windows, test))]
use platform::console_window;

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    fn never() -> isize {
        panic!("must not be asked")
    }

    #[test]
    fn the_application_window_wins_and_nothing_else_is_asked() {
        let app = ParentWindowHandle::from_raw(7);
        let c = WindowHandleChoice::choose(app, never, never, never).unwrap();
        assert_eq!(
            (c.handle.as_raw(), c.source),
            (7, WindowSource::Application)
        );
    }

    #[test]
    fn console_then_foreground_then_desktop() {
        let c = WindowHandleChoice::choose(None, || 11, never, never).unwrap();
        assert_eq!((c.handle.as_raw(), c.source), (11, WindowSource::Console));

        let c = WindowHandleChoice::choose(None, || 0, || 22, never).unwrap();
        assert_eq!(
            (c.handle.as_raw(), c.source),
            (22, WindowSource::Foreground)
        );

        let asked = Cell::new(0);
        let c = WindowHandleChoice::choose(
            None,
            || {
                asked.set(asked.get() + 1);
                0
            },
            || {
                asked.set(asked.get() + 1);
                0
            },
            || 33,
        )
        .unwrap();
        assert_eq!((c.handle.as_raw(), c.source), (33, WindowSource::Desktop));
        assert_eq!(asked.get(), 2);
    }

    #[test]
    fn no_window_at_all_is_none() {
        assert_eq!(WindowHandleChoice::choose(None, || 0, || 0, || 0), None);
    }

    /// Under Wine (the CI's Windows run) a console program has no console window; whether a
    /// foreground window exists yet depends on the Wine prefix's desktop (a fresh prefix on a
    /// loaded machine may have none for a while), so either it or the desktop is chosen, never a
    /// null handle. On real Windows from a terminal the console window is found.
    #[cfg(windows)]
    #[test]
    fn real_windows_choice() {
        let choice = WindowHandleChoice::current(None).expect("some window is always found");
        if let Some(version) = crate::platform::wam::wine_version() {
            assert_eq!(
                console_window(),
                0,
                "wine {version}: GetConsoleWindow is null"
            );
            assert!(
                matches!(
                    choice.source,
                    WindowSource::Foreground | WindowSource::Desktop
                ),
                "wine {version}: {:?}",
                choice.source
            );
            assert_ne!(choice.handle.as_raw(), 0, "wine {version}: never null");
        } else {
            eprintln!(
                "real windows: the dialog would be parented to the {:?} window",
                choice.source
            );
            assert_ne!(choice.handle.as_raw(), 0);
        }
        let app = ParentWindowHandle::from_raw(0x1234);
        assert_eq!(WindowHandleChoice::current(app).map(|c| c.handle), app);
    }
}
