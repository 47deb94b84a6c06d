//! MSAL's keys of the cache's entries, all in one place. MSAL for Python, .NET and Java look
//! entries up by these exact strings, so they must not change.

/// A credential entry's key (`AccessToken`, `RefreshToken`, `IdToken`):
/// `<home account id>-<environment>-<credential type>-<client id>-<realm>-<target>`,
/// lower-cased. Refresh tokens are cross-tenant: their realm part is empty; id tokens have no
/// target.
pub(crate) fn credential_key(
    home_account_id: &str,
    environment: &str,
    credential_type: &str,
    client_id: &str,
    realm: &str,
    target: &str,
) -> String {
    [
        home_account_id,
        environment,
        credential_type,
        client_id,
        realm,
        target,
    ]
    .join("-")
    .to_ascii_lowercase()
}

/// An `Account` entry's key: `<home account id>-<environment>-<realm>`, lower-cased.
pub(crate) fn account_key(home_account_id: &str, environment: &str, realm: &str) -> String {
    [home_account_id, environment, realm]
        .join("-")
        .to_ascii_lowercase()
}

/// An `AppMetadata` entry's key: `appmetadata-<environment>-<client id>` (not lower-cased:
/// MSAL writes the client id as given).
pub(crate) fn app_metadata_key(environment: &str, client_id: &str) -> String {
    format!("appmetadata-{environment}-{client_id}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_msal_s() {
        assert_eq!(
            credential_key("U.T", "Login.Example", "RefreshToken", "C", "", "b a"),
            "u.t-login.example-refreshtoken-c--b a"
        );
        assert_eq!(account_key("U.T", "env", "R"), "u.t-env-r");
        assert_eq!(app_metadata_key("env", "Client"), "appmetadata-env-Client");
    }
}
