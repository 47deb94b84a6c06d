use std::{
    collections::{BTreeMap, HashMap},
    ffi::OsString,
    fmt,
};

/// Where configuration read from the environment comes from: `AZURE_AUTHORITY_HOST` for the
/// broker's credential, `HOME`, `LOCALAPPDATA` and `DBUS_SESSION_BUS_ADDRESS` for the
/// persistent token cache.
///
/// Production code reads the process environment ([`ProcessEnvironment`]). Tests and
/// applications that configure themselves differently pass their own source, usually an
/// [`EnvironmentMap`], so nothing needs `std::env::set_var` (which races with every other
/// thread reading the environment).
///
/// ```
/// use mr_auth_core::{EnvironmentMap, EnvironmentSource};
///
/// let env = EnvironmentMap::new().with("HOME", "/home/someone");
/// assert_eq!(env.var("HOME").as_deref(), Some("/home/someone"));
/// assert_eq!(env.var("LOCALAPPDATA"), None);
/// ```
pub trait EnvironmentSource: Send + Sync + fmt::Debug {
    /// The value of the variable `name`, if it is set and valid Unicode.
    fn var(&self, name: &str) -> Option<String>;

    /// The value of the variable `name` as the operating system holds it, for values that
    /// are paths (which need not be Unicode). The default is [`var`](Self::var)'s value.
    fn var_os(&self, name: &str) -> Option<OsString> {
        self.var(name).map(OsString::from)
    }
}

/// The process environment (`std::env::var`).
#[derive(Debug, Clone, Copy, Default)]
pub struct ProcessEnvironment;

impl EnvironmentSource for ProcessEnvironment {
    fn var(&self, name: &str) -> Option<String> {
        std::env::var(name).ok()
    }

    fn var_os(&self, name: &str) -> Option<OsString> {
        std::env::var_os(name)
    }
}

/// An environment held in memory: the variables it was given, and nothing of the process's.
///
/// Its `Debug` lists the variables' names only, since values such as keys may be secret.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct EnvironmentMap {
    vars: BTreeMap<String, String>,
}

impl EnvironmentMap {
    /// An environment with no variables set.
    pub fn new() -> Self {
        Self::default()
    }

    /// The same environment with `name` set to `value`.
    #[must_use]
    pub fn with(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.set(name, value);
        self
    }

    /// Sets `name` to `value`, replacing any earlier value.
    pub fn set(&mut self, name: impl Into<String>, value: impl Into<String>) {
        self.vars.insert(name.into(), value.into());
    }

    /// Unsets `name`; returns its value if it was set.
    pub fn remove(&mut self, name: &str) -> Option<String> {
        self.vars.remove(name)
    }
}

impl EnvironmentSource for EnvironmentMap {
    fn var(&self, name: &str) -> Option<String> {
        self.vars.get(name).cloned()
    }
}

impl<K: Into<String>, V: Into<String>> FromIterator<(K, V)> for EnvironmentMap {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        Self {
            vars: iter
                .into_iter()
                .map(|(name, value)| (name.into(), value.into()))
                .collect(),
        }
    }
}

impl fmt::Debug for EnvironmentMap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EnvironmentMap")
            .field("names", &self.vars.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl<S: std::hash::BuildHasher + Send + Sync> EnvironmentSource for HashMap<String, String, S> {
    fn var(&self, name: &str) -> Option<String> {
        self.get(name).cloned()
    }
}

impl<const N: usize> EnvironmentSource for [(&'static str, &'static str); N] {
    fn var(&self, name: &str) -> Option<String> {
        self.iter()
            .find(|(key, _)| *key == name)
            .map(|(_, value)| (*value).to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_map_holds_only_what_it_was_given() {
        let mut env: EnvironmentMap = [("HOME", "/home/a"), ("EMPTY", "")].into_iter().collect();
        assert_eq!(env.var("HOME").as_deref(), Some("/home/a"));
        assert_eq!(env.var("EMPTY").as_deref(), Some(""));
        assert_eq!(env.var_os("HOME"), Some(OsString::from("/home/a")));
        // Not the process's PATH, which is always set here.
        assert_eq!(env.var("PATH"), None);
        env.set("HOME", "/home/b");
        assert_eq!(env.var("HOME").as_deref(), Some("/home/b"));
        assert_eq!(env.remove("HOME").as_deref(), Some("/home/b"));
        assert_eq!(env.var("HOME"), None);
    }

    #[test]
    fn debug_shows_names_not_values() {
        let env = EnvironmentMap::new().with("MIXEDREALITY_ACCOUNT_KEY", "secret-key-value");
        let debug = format!("{env:?}");
        assert!(debug.contains("MIXEDREALITY_ACCOUNT_KEY"), "{debug}");
        assert!(!debug.contains("secret-key-value"), "{debug}");
    }

    #[test]
    fn hash_maps_and_arrays_are_sources() {
        let map = HashMap::from([("A".to_owned(), "1".to_owned())]);
        assert_eq!(map.var("A").as_deref(), Some("1"));
        assert_eq!(map.var("B"), None);
        let array = [("A", "2")];
        assert_eq!(array.var("A").as_deref(), Some("2"));
        assert_eq!(array.var_os("B"), None);
    }

    #[test]
    fn the_process_environment_is_read() {
        // PATH is set in every test run (cargo and nextest both pass it on).
        assert_eq!(
            ProcessEnvironment.var("PATH"),
            std::env::var("PATH").ok(),
            "var"
        );
        assert_eq!(ProcessEnvironment.var_os("PATH"), std::env::var_os("PATH"));
    }
}
