use std::num::NonZeroIsize;

/// A native window handle (an `HWND` on Windows) that the broker's sign-in dialog is
/// parented to, so it opens in front of the application instead of behind it.
///
/// With none, the Windows broker uses the console window (its root owner, e.g. the Windows
/// Terminal window), else the foreground window, else the desktop window.
/// Other platforms ignore it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ParentWindowHandle(NonZeroIsize);

impl ParentWindowHandle {
    /// Wraps a raw handle; a null handle is `None`.
    pub fn from_raw(handle: isize) -> Option<Self> {
        NonZeroIsize::new(handle).map(Self)
    }

    /// The raw handle.
    pub fn as_raw(self) -> isize {
        self.0.get()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn null_is_none() {
        assert_eq!(ParentWindowHandle::from_raw(0), None);
        assert_eq!(
            ParentWindowHandle::from_raw(42).map(|h| h.as_raw()),
            Some(42)
        );
    }
}
