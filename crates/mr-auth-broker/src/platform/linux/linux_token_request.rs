//! The request JSON of `acquireTokenSilently`, `acquireTokenInteractively` and
//! `cancelInteractiveFlow`.

use super::{
    linux_accounts::LinuxAccount,
    protocol::{AUTHORIZATION_TYPE_INTERACTIVE, AUTHORIZATION_TYPE_SILENT},
};
use crate::{
    oauth::ClientId,
    platform::{BrokerRequest, PopParameters},
};
use serde_json::{json, Map, Value};

/// The `authParameters` every token request carries.
fn auth_parameters(request: &BrokerRequest, authorization_type: u8) -> Map<String, Value> {
    let mut p = Map::new();
    p.insert(
        "authority".into(),
        request.authority.as_str().trim_end_matches('/').into(),
    );
    p.insert("authorizationType".into(), authorization_type.into());
    p.insert("clientId".into(), request.client_id.as_str().into());
    p.insert("redirectUri".into(), request.redirect_uri.as_str().into());
    p.insert("requestedScopes".into(), json!(request.scopes));
    if let Some(claims) = &request.claims {
        p.insert("decodedClaims".into(), claims.as_str().into());
    }
    if let Some(pop) = &request.pop {
        p.insert("popParams".into(), pop_params(pop));
    }
    p.insert(
        "additionalQueryParametersForAuthorization".into(),
        json!({}),
    );
    p
}

/// `popParams`: the resource request the broker binds the token to.
pub(crate) fn pop_params(pop: &PopParameters) -> Value {
    let url = pop.url();
    let host = match (url.host_str(), url.port()) {
        (Some(host), Some(port)) => format!("{host}:{port}"),
        (Some(host), None) => host.to_owned(),
        (None, _) => String::new(),
    };
    let mut p = Map::new();
    p.insert("authenticationScheme".into(), "pop".into());
    p.insert("httpMethod".into(), pop.method().as_str().into());
    p.insert("uriHost".into(), host.into());
    p.insert("uriPath".into(), url.path().into());
    if let Some(nonce) = pop.nonce() {
        p.insert("nonce".into(), nonce.into());
    }
    Value::Object(p)
}

/// `acquireTokenSilently` for `account`.
pub(crate) fn silent_request(request: &BrokerRequest, account: &LinuxAccount) -> String {
    let mut p = auth_parameters(request, AUTHORIZATION_TYPE_SILENT);
    p.insert("account".into(), Value::Object(account.raw.clone()));
    if let Some(username) = &account.username {
        p.insert("username".into(), username.as_str().into());
    }
    json!({ "account": Value::Object(account.raw.clone()), "authParameters": p }).to_string()
}

/// `acquireTokenInteractively`: with a login hint, the sign-in for that user; without one, the
/// account picker (`prompt=select_account`, no account or user name).
pub(crate) fn interactive_request(request: &BrokerRequest) -> String {
    let mut p = auth_parameters(request, AUTHORIZATION_TYPE_INTERACTIVE);
    match &request.login_hint {
        Some(hint) => {
            p.insert("username".into(), hint.as_str().into());
        }
        None => {
            p.insert("prompt".into(), "select_account".into());
        }
    }
    json!({ "authParameters": p }).to_string()
}

/// `cancelInteractiveFlow` (sent with the interactive call's correlation id).
pub(crate) fn cancel_request(client_id: &ClientId) -> String {
    json!({ "clientId": client_id.as_str() }).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{oauth::TenantId, platform::PopMethod};

    fn request() -> BrokerRequest {
        BrokerRequest {
            client_id: ClientId::default(),
            tenant_id: TenantId::new("contoso.onmicrosoft.com").unwrap(),
            authority: "https://login.microsoftonline.com/contoso.onmicrosoft.com"
                .parse()
                .unwrap(),
            scopes: vec!["https://management.azure.com/.default".into()],
            redirect_uri: "https://login.microsoftonline.com/common/oauth2/nativeclient".into(),
            claims: None,
            pop: None,
            login_hint: None,
            enable_msa_passthrough: false,
            validate_authority: true,
        }
    }

    fn parse(s: &str) -> Value {
        serde_json::from_str(s).unwrap()
    }

    #[test]
    fn silent_request_carries_the_account_twice_and_type_1() {
        let account = LinuxAccount::from_json(&json!({
            "homeAccountId": "o.t", "username": "a@contoso.com", "realm": "t", "extra": 5
        }))
        .unwrap();
        let v = parse(&silent_request(&request(), &account));
        let p = &v["authParameters"];
        assert_eq!(p["authorizationType"], 1);
        assert_eq!(
            p["authority"],
            "https://login.microsoftonline.com/contoso.onmicrosoft.com"
        );
        assert_eq!(p["clientId"], ClientId::default().as_str());
        assert_eq!(
            p["requestedScopes"],
            json!(["https://management.azure.com/.default"])
        );
        assert_eq!(p["username"], "a@contoso.com");
        assert_eq!(p["account"]["extra"], 5);
        assert_eq!(v["account"]["homeAccountId"], "o.t");
        assert!(p.get("decodedClaims").is_none() && p.get("popParams").is_none());
    }

    #[test]
    fn interactive_request_is_the_picker_or_the_hinted_user() {
        let v = parse(&interactive_request(&request()));
        let p = &v["authParameters"];
        assert_eq!(p["authorizationType"], 6);
        assert_eq!(p["prompt"], "select_account");
        assert!(p.get("username").is_none() && p.get("account").is_none());
        let hinted = BrokerRequest {
            login_hint: Some("a@contoso.com".into()),
            claims: Some(r#"{"access_token":{"xms_cc":{"values":["CP1"]}}}"#.into()),
            ..request()
        };
        let v = parse(&interactive_request(&hinted));
        let p = &v["authParameters"];
        assert_eq!(p["username"], "a@contoso.com");
        assert!(p.get("prompt").is_none());
        assert_eq!(p["decodedClaims"], hinted.claims.unwrap());
    }

    #[test]
    fn pop_params_split_the_url() {
        let pop = PopParameters::new(
            PopMethod::Post,
            "https://contoso.example:8443/items/1?x=y".parse().unwrap(),
            Some("n-1".into()),
        )
        .unwrap();
        let v = parse(&interactive_request(&BrokerRequest {
            pop: Some(pop),
            ..request()
        }));
        assert_eq!(
            v["authParameters"]["popParams"],
            json!({"authenticationScheme": "pop", "httpMethod": "POST", "uriHost": "contoso.example:8443", "uriPath": "/items/1", "nonce": "n-1"})
        );
        let pop =
            PopParameters::new(PopMethod::Get, "https://a.example".parse().unwrap(), None).unwrap();
        let p = pop_params(&pop);
        assert_eq!(p["uriHost"], "a.example");
        assert_eq!(p["uriPath"], "/");
        assert!(p.get("nonce").is_none());
    }

    #[test]
    fn cancel_names_the_client() {
        assert_eq!(
            parse(&cancel_request(&ClientId::default()))["clientId"],
            ClientId::default().as_str()
        );
    }
}
