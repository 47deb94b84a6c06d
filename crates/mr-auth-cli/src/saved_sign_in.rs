//! What `mr-auth login` leaves in the configuration directory for later commands: the
//! account (an `AuthenticationRecord`, in the JSON Python's `azure-identity` reads, in
//! `authentication_record.json`) and how it signed in (`login_settings.json`: the broker mode,
//! tenant and token cache it used), so `entra-token`, `token --aad` and `logout` find the same
//! cache and account without repeating the flags. Neither file holds a secret; both are 0600.

use crate::{cli_error::CliError, config_dir::ConfigDir};
use mr_auth_broker::AuthenticationRecord;
use serde_json::{json, Value};

/// The record's file name in the configuration directory.
pub(crate) const RECORD_FILE: &str = "authentication_record.json";
/// The settings' file name in the configuration directory.
pub(crate) const SETTINGS_FILE: &str = "login_settings.json";

/// How `mr-auth login` signed in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LoginSettings {
    /// Through the platform broker (`true`) or the browser only.
    pub(crate) broker: bool,
    /// The tenant asked for at login (`organizations` by default).
    pub(crate) tenant: String,
    /// The authority host signed in at (`AZURE_AUTHORITY_HOST` at login, else the public
    /// cloud's), so later commands need not repeat the variable.
    pub(crate) authority_host: String,
    /// The persistent cache's name.
    pub(crate) cache_name: String,
    /// Whether the cache may be a plaintext file.
    pub(crate) allow_unencrypted_storage: bool,
}

impl LoginSettings {
    fn to_json(&self) -> String {
        json!({
            "version": 1,
            "aad": if self.broker { "broker" } else { "browser" },
            "tenant": self.tenant,
            "authorityHost": self.authority_host,
            "cacheName": self.cache_name,
            "allowUnencryptedStorage": self.allow_unencrypted_storage,
        })
        .to_string()
    }

    fn from_json(text: &str) -> Option<Self> {
        let value: Value = serde_json::from_str(text).ok()?;
        if value["version"] != 1 {
            return None;
        }
        Some(Self {
            broker: match value["aad"].as_str()? {
                "broker" => true,
                "browser" => false,
                _ => return None,
            },
            tenant: value["tenant"].as_str()?.to_owned(),
            authority_host: value["authorityHost"].as_str()?.to_owned(),
            cache_name: value["cacheName"].as_str()?.to_owned(),
            allow_unencrypted_storage: value["allowUnencryptedStorage"].as_bool()?,
        })
    }
}

/// The signed-in account and how it signed in.
#[derive(Debug, Clone)]
pub(crate) struct SavedSignIn {
    pub(crate) record: AuthenticationRecord,
    pub(crate) settings: LoginSettings,
}

impl SavedSignIn {
    /// What `login` saved in `dir`, or `None` when nobody is signed in.
    ///
    /// # Errors
    ///
    /// When a file cannot be read or is not what `login` writes (the message says to sign in
    /// again).
    pub(crate) fn load(dir: &ConfigDir) -> Result<Option<Self>, CliError> {
        let Some(record) = dir.read(RECORD_FILE)? else {
            return Ok(None);
        };
        let record = AuthenticationRecord::from_json(&record).map_err(|e| {
            CliError::not_signed_in(format!(
                "{} cannot be read ({e}); run `mr-auth login` again",
                dir.path().join(RECORD_FILE).display()
            ))
        })?;
        let settings = dir
            .read(SETTINGS_FILE)?
            .and_then(|text| LoginSettings::from_json(&text))
            .ok_or_else(|| {
                CliError::not_signed_in(format!(
                    "{} is missing or unreadable; run `mr-auth login` again",
                    dir.path().join(SETTINGS_FILE).display()
                ))
            })?;
        Ok(Some(Self { record, settings }))
    }

    /// Saves the sign-in in `dir` (settings first: a record never points at unknown settings).
    pub(crate) fn save(&self, dir: &ConfigDir) -> Result<(), CliError> {
        dir.write_private(SETTINGS_FILE, &self.settings.to_json())?;
        dir.write_private(RECORD_FILE, &self.record.to_json())?;
        Ok(())
    }

    /// Removes the saved sign-in from `dir`; whether there was a record.
    pub(crate) fn remove(dir: &ConfigDir) -> Result<bool, CliError> {
        let had_record = dir.remove(RECORD_FILE)?;
        dir.remove(SETTINGS_FILE)?;
        Ok(had_record)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_round_trip_and_foreign_ones_are_refused() {
        let settings = LoginSettings {
            broker: true,
            tenant: "organizations".into(),
            authority_host: "https://login.microsoftonline.com".into(),
            cache_name: "msal.cache".into(),
            allow_unencrypted_storage: false,
        };
        assert_eq!(
            LoginSettings::from_json(&settings.to_json()),
            Some(settings.clone())
        );
        let browser = LoginSettings {
            broker: false,
            allow_unencrypted_storage: true,
            ..settings
        };
        assert_eq!(LoginSettings::from_json(&browser.to_json()), Some(browser));
        for bad in [
            "",
            "[]",
            r#"{"version":2,"aad":"broker","tenant":"t","authorityHost":"h","cacheName":"c","allowUnencryptedStorage":false}"#,
            r#"{"version":1,"aad":"wam","tenant":"t","authorityHost":"h","cacheName":"c","allowUnencryptedStorage":false}"#,
            r#"{"version":1,"aad":"broker","tenant":"t","cacheName":"c","allowUnencryptedStorage":false}"#,
        ] {
            assert_eq!(LoginSettings::from_json(bad), None, "{bad}");
        }
    }
}
