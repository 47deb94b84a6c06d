/// Host names of the public cloud's authority that MSAL treats as one environment.
const PUBLIC_CLOUD_ALIASES: [&str; 4] = [
    "login.microsoftonline.com",
    "login.windows.net",
    "login.microsoft.com",
    "sts.windows.net",
];

/// Whether two authority hosts are one MSAL environment: equal (ignoring ASCII case), or both
/// aliases of the public cloud's authority (`login.microsoftonline.com`, `login.windows.net`,
/// `login.microsoft.com`, `sts.windows.net`). Cache look-ups match entries this way.
///
/// ```
/// use mr_auth_msal_cache::same_environment;
///
/// assert!(same_environment("login.windows.net", "LOGIN.microsoftonline.com"));
/// assert!(!same_environment("login.microsoftonline.us", "login.microsoftonline.com"));
/// ```
pub fn same_environment(a: &str, b: &str) -> bool {
    let public = |host: &str| {
        PUBLIC_CLOUD_ALIASES
            .iter()
            .any(|h| h.eq_ignore_ascii_case(host))
    };
    a.eq_ignore_ascii_case(b) || (public(a) && public(b))
}
