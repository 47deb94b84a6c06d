//! A cached account in messages: the cache is another app's file, so its text is made safe to
//! show before it reaches an error message or a terminal.

use crate::CachedAccount;

/// The accounts [`describe_accounts`] names at most; the rest are counted.
const MAX_DESCRIBED: usize = 10;

/// The characters of a user name [`CachedAccount::describe`] shows at most.
const MAX_NAME_CHARS: usize = 128;

impl CachedAccount {
    /// The account's home tenant: its home account id (`<object id>.<home tenant id>`) after
    /// the last dot, else the tenant of its entry.
    pub fn home_tenant(&self) -> &str {
        match self.home_account_id.rsplit_once('.') {
            Some((_, tenant)) if !tenant.is_empty() => tenant,
            _ => &self.realm,
        }
    }

    /// The account for messages: `user@contoso.com (tenant <home tenant>)`, without control
    /// characters or bidirectional overrides (the cache's text cannot drive a terminal), the
    /// user name cut at 128 characters.
    pub fn describe(&self) -> String {
        let name = printable(&self.username, MAX_NAME_CHARS);
        let name = if name.is_empty() {
            "an account without a user name".to_owned()
        } else {
            name
        };
        format!(
            "{name} (tenant {})",
            printable(self.home_tenant(), MAX_NAME_CHARS)
        )
    }
}

/// [`CachedAccount::describe`] of each of `accounts`, comma-separated: at most ten, then how
/// many more there are.
pub fn describe_accounts<'a>(accounts: impl IntoIterator<Item = &'a CachedAccount>) -> String {
    let mut described = Vec::new();
    let mut more = 0usize;
    for account in accounts {
        if described.len() < MAX_DESCRIBED {
            described.push(account.describe());
        } else {
            more += 1;
        }
    }
    if more > 0 {
        described.push(format!("and {more} more"));
    }
    described.join(", ")
}

/// `text` without control characters and bidirectional overrides or isolates, at most `max`
/// characters.
fn printable(text: &str, max: usize) -> String {
    let bidi = |c: char| matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}');
    text.chars()
        .filter(|c| !c.is_control() && !bidi(*c))
        .take(max)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{CacheWrite, MsalTokenCache, RefreshTokenSecret};
    use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine as _};

    /// The accounts of a cache with one sign-in per `(uid, user name)`, home tenant `t`.
    fn accounts(users: &[(&str, &str)]) -> Vec<CachedAccount> {
        let mut cache = MsalTokenCache::new();
        for (uid, username) in users {
            let claims = serde_json::json!({"sub": "s", "preferred_username": username});
            let id_token = format!("e30.{}.", URL_SAFE_NO_PAD.encode(claims.to_string()));
            let info = serde_json::json!({"uid": uid, "utid": "t"}).to_string();
            cache
                .add(&CacheWrite {
                    client_id: "c".into(),
                    environment: "login.example.com".into(),
                    refresh_token: Some(RefreshTokenSecret::new("rt")),
                    id_token: Some(crate::IdTokenSecret::new(id_token)),
                    client_info: Some(URL_SAFE_NO_PAD.encode(info)),
                    ..Default::default()
                })
                .unwrap();
        }
        cache.accounts(Some("c"))
    }

    #[test]
    fn an_account_is_its_name_and_home_tenant_made_printable() {
        let hostile = "evil\u{1b}]0;title\u{7}\u{202e}name@contoso.com";
        let all = accounts(&[("a", "a@contoso.com"), ("h", hostile), ("n", "")]);
        assert_eq!(all[0].home_tenant(), "t");
        assert_eq!(all[0].describe(), "a@contoso.com (tenant t)");
        assert_eq!(all[1].describe(), "evil]0;titlename@contoso.com (tenant t)");
        assert_eq!(
            all[2].describe(),
            "an account without a user name (tenant t)"
        );
        let long = accounts(&[("l", &"x".repeat(1000))]);
        assert_eq!(
            long[0].describe().len(),
            MAX_NAME_CHARS + " (tenant t)".len()
        );
    }

    #[test]
    fn a_long_list_is_cut_and_counted() {
        let users: Vec<(String, String)> = (0..12)
            .map(|n| (format!("u{n:02}"), format!("user{n:02}@contoso.com")))
            .collect();
        let users: Vec<(&str, &str)> = users
            .iter()
            .map(|(u, n)| (u.as_str(), n.as_str()))
            .collect();
        let all = accounts(&users);
        let text = describe_accounts(&all);
        assert!(
            text.starts_with("user00@contoso.com (tenant t), user01@contoso.com"),
            "{text}"
        );
        assert!(
            text.ends_with("user09@contoso.com (tenant t), and 2 more"),
            "{text}"
        );
        assert_eq!(
            describe_accounts(&all[..1]),
            "user00@contoso.com (tenant t)"
        );
        assert_eq!(describe_accounts(&[]), "");
    }
}
