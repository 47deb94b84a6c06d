use std::fmt;

/// Where configuration read from the environment comes from (`AZURE_AUTHORITY_HOST`).
///
/// The credential reads the process environment ([`ProcessEnvironment`]); tests and
/// applications that configure themselves differently pass their own source to
/// [`AuthorityHost::resolve`](crate::AuthorityHost::resolve), so nothing needs `set_var`.
pub trait EnvironmentSource: Send + Sync + fmt::Debug {
    /// The value of the variable `name`, if it is set (and valid Unicode).
    fn var(&self, name: &str) -> Option<String>;
}

/// The process environment (`std::env::var`).
#[derive(Debug, Clone, Copy, Default)]
pub struct ProcessEnvironment;

impl EnvironmentSource for ProcessEnvironment {
    fn var(&self, name: &str) -> Option<String> {
        std::env::var(name).ok()
    }
}

impl<const N: usize> EnvironmentSource for [(&'static str, &'static str); N] {
    fn var(&self, name: &str) -> Option<String> {
        self.iter()
            .find(|(key, _)| *key == name)
            .map(|(_, value)| (*value).to_owned())
    }
}
