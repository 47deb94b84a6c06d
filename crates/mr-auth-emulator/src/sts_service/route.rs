//! Which handler a request goes to.

use hyper::Method;

/// Where the JSON Web Key Set is served, below the path prefix.
pub(crate) const JWKS_PATH: &str = "/.well-known/jwks.json";
/// Where the OpenID-style discovery document is served, below the path prefix.
pub(crate) const DISCOVERY_PATH: &str = "/.well-known/openid-configuration";

/// Which handler a request goes to.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Route<'a> {
    Token(&'a str),
    Jwks,
    Discovery,
    MethodNotAllowed,
    NotFound,
}

/// Matches `{prefix}/Accounts/{id}/token` (segment names case-insensitive, as IIS-hosted
/// services match them), `{prefix}/.well-known/jwks.json` and
/// `{prefix}/.well-known/openid-configuration`.
pub(super) fn route<'a>(method: &Method, path: &'a str, prefix: &str) -> Route<'a> {
    let Some(rest) = path.strip_prefix(prefix) else {
        return Route::NotFound;
    };
    let get_only = |route: Route<'a>| {
        if method == Method::GET {
            route
        } else {
            Route::MethodNotAllowed
        }
    };
    if rest == JWKS_PATH {
        return get_only(Route::Jwks);
    }
    if rest == DISCOVERY_PATH {
        return get_only(Route::Discovery);
    }
    let mut segments = rest.split('/');
    match (
        segments.next(),
        segments.next(),
        segments.next(),
        segments.next(),
        segments.next(),
    ) {
        (Some(""), Some(accounts), Some(id), Some(token), None)
            if accounts.eq_ignore_ascii_case("accounts")
                && token.eq_ignore_ascii_case("token")
                && !id.is_empty() =>
        {
            get_only(Route::Token(id))
        }
        _ => Route::NotFound,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "87e9abb1-79b9-4502-bbae-cfae8c610f23";

    #[test]
    fn routes() {
        let get = Method::GET;
        assert_eq!(
            route(&get, &format!("/Accounts/{ID}/token"), ""),
            Route::Token(ID)
        );
        assert_eq!(route(&get, "/accounts/x/TOKEN", ""), Route::Token("x"));
        assert_eq!(
            route(&get, "/sts/Accounts/x/token", "/sts"),
            Route::Token("x")
        );
        assert_eq!(route(&get, "/Accounts/x/token", "/sts"), Route::NotFound);
        assert_eq!(route(&get, "/Accounts//token", ""), Route::NotFound);
        assert_eq!(route(&get, "/Accounts/x/token/more", ""), Route::NotFound);
        assert_eq!(route(&get, "/Accounts/x", ""), Route::NotFound);
        assert_eq!(route(&get, "/", ""), Route::NotFound);
        assert_eq!(route(&get, JWKS_PATH, ""), Route::Jwks);
        assert_eq!(route(&get, DISCOVERY_PATH, ""), Route::Discovery);
        assert_eq!(
            route(&Method::POST, "/Accounts/x/token", ""),
            Route::MethodNotAllowed
        );
    }
}
