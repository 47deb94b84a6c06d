//! The `WebTokenRequest` WAM is given, assembled as plain data (platform-neutral, so the
//! properties MSAL sends are unit-tested everywhere; the Windows code only copies them over).

use super::wam_route::AccountKind;
use crate::platform::BrokerRequest;
use azure_core::credentials::Secret;
use url::Url;

/// The scope of the MSA plugin's transfer token for MSA passthrough.
pub(crate) const TRANSFER_TOKEN_SCOPE: &str =
    "service::http://Passport.NET/purpose::PURPOSE_AAD_WAM_TRANSFER";

/// Scopes MSAL adds to every request, so WAM returns the id token and client info too.
const OIDC_SCOPES: [&str; 3] = ["openid", "profile", "offline_access"];

/// `WebTokenRequestPromptType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum WamPrompt {
    /// `Default`: UI only if needed.
    Default,
    /// `ForceAuthentication`: show the sign-in (the interactive step).
    ForceAuthentication,
}

/// Silent (`GetTokenSilentlyAsync`) or interactive (`RequestTokenForWindowAsync`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum WamCall {
    /// No UI.
    Silent,
    /// The dialog, parented to a window.
    Interactive,
}

/// Everything a `WebTokenRequest` carries.
#[derive(Debug, Clone)]
pub(crate) struct WamTokenRequest {
    /// Space-separated scopes.
    pub(crate) scope: String,
    /// The app registration's client id.
    pub(crate) client_id: String,
    /// The prompt type.
    pub(crate) prompt: WamPrompt,
    /// `WebTokenRequest.Properties`, in order, without secrets.
    pub(crate) properties: Vec<(&'static str, String)>,
    /// `WebTokenRequest.CorrelationId` (or the `correlationId` property on older Windows).
    pub(crate) correlation_id: String,
    /// MSA passthrough: the transfer token, sent as the `SamlAssertion` property.
    saml_assertion: Option<Secret>,
}

impl WamTokenRequest {
    /// The request for `request`'s token from the plugin of `kind` (for
    /// [`AccountKind::MsaPassthrough`], the AAD plugin's request that redeems the transfer
    /// token: add it with [`WamTokenRequest::with_transfer_token`]).
    ///
    /// Properties, as MSAL sends them: `wam_compat=2.0`, `authority` (with `organizations`
    /// replaced by `common`, MSAL's workaround for WAM failing work accounts on
    /// `organizations`), `validateAuthority` (`yes`/`no`), `discover=home` (AAD plugin only),
    /// `claims`; interactive: `LoginHint` when there is one, else `prompt=select_account`,
    /// with the `ForceAuthentication` prompt type.
    pub(crate) fn for_request(
        request: &BrokerRequest,
        kind: AccountKind,
        call: WamCall,
        correlation_id: String,
    ) -> Self {
        let mut properties = vec![
            ("wam_compat", "2.0".to_owned()),
            ("authority", authority_property(&request.authority, kind)),
            (
                "validateAuthority",
                if request.validate_authority {
                    "yes"
                } else {
                    "no"
                }
                .to_owned(),
            ),
        ];
        if kind != AccountKind::Personal {
            properties.push(("discover", "home".to_owned()));
        }
        if let Some(claims) = &request.claims {
            properties.push(("claims", claims.clone()));
        }
        let prompt = match call {
            WamCall::Silent => WamPrompt::Default,
            WamCall::Interactive => {
                match request
                    .login_hint
                    .as_deref()
                    .filter(|h| !h.trim().is_empty())
                {
                    Some(hint) => properties.push(("LoginHint", hint.to_owned())),
                    None => properties.push(("prompt", "select_account".to_owned())),
                }
                WamPrompt::ForceAuthentication
            }
        };
        Self {
            scope: scope_with_oidc(&request.scopes),
            client_id: request.client_id.as_str().to_owned(),
            prompt,
            properties,
            correlation_id,
            saml_assertion: None,
        }
    }

    /// The MSA plugin's request for a transfer token (MSA passthrough, first step).
    pub(crate) fn transfer_token(request: &BrokerRequest, correlation_id: String) -> Self {
        Self {
            scope: scope_with_oidc(&[TRANSFER_TOKEN_SCOPE.to_owned()]),
            client_id: request.client_id.as_str().to_owned(),
            prompt: WamPrompt::Default,
            properties: vec![("wam_compat", "2.0".to_owned())],
            correlation_id,
            saml_assertion: None,
        }
    }

    /// Adds the transfer token (`SamlAssertion`, type `SAMLV1`) to the AAD plugin's request.
    #[must_use]
    pub(crate) fn with_transfer_token(mut self, transfer_token: Secret) -> Self {
        self.properties
            .push(("SamlAssertionType", "SAMLV1".to_owned()));
        self.saml_assertion = Some(transfer_token);
        self
    }

    /// The transfer token to send as the `SamlAssertion` property, if any.
    pub(crate) fn saml_assertion(&self) -> Option<&Secret> {
        self.saml_assertion.as_ref()
    }
}

/// The scopes, space-separated, with `openid profile offline_access` added once.
fn scope_with_oidc(scopes: &[String]) -> String {
    let mut all: Vec<&str> = scopes.iter().map(String::as_str).collect();
    for s in OIDC_SCOPES {
        if !all.contains(&s) {
            all.push(s);
        }
    }
    all.join(" ")
}

/// The `authority` property: the request's authority, with `organizations` (and, for
/// passthrough, `consumers`) replaced by `common`.
fn authority_property(authority: &Url, kind: AccountKind) -> String {
    let mut url = authority.clone();
    let last = url
        .path_segments()
        .and_then(|mut s| s.rfind(|p| !p.is_empty()).map(str::to_owned));
    let replace = match last.as_deref() {
        Some(t) if t.eq_ignore_ascii_case("organizations") => true,
        Some(t) if t.eq_ignore_ascii_case("consumers") => kind == AccountKind::MsaPassthrough,
        _ => false,
    };
    if replace {
        if let Ok(mut segments) = url.path_segments_mut() {
            segments.pop_if_empty().pop().push("common");
        }
    }
    url.as_str().trim_end_matches('/').to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oauth::{ClientId, TenantId};

    fn request(tenant: &str) -> BrokerRequest {
        let tenant_id = TenantId::new(tenant).unwrap();
        BrokerRequest {
            client_id: ClientId::default(),
            authority: Url::parse(&format!("https://login.microsoftonline.com/{tenant}")).unwrap(),
            tenant_id,
            scopes: vec![
                "https://management.azure.com/.default".into(),
                "openid".into(),
            ],
            redirect_uri: "ms-appx-web://Microsoft.AAD.BrokerPlugin/x".into(),
            claims: None,
            pop: None,
            login_hint: None,
            enable_msa_passthrough: false,
            validate_authority: true,
        }
    }

    fn prop<'a>(r: &'a WamTokenRequest, key: &str) -> Option<&'a str> {
        r.properties
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, v)| v.as_str())
    }

    #[test]
    fn silent_aad_request_has_msal_properties() {
        let r = WamTokenRequest::for_request(
            &request("contoso.onmicrosoft.com"),
            AccountKind::Work,
            WamCall::Silent,
            "cid".into(),
        );
        assert_eq!(
            r.scope,
            "https://management.azure.com/.default openid profile offline_access"
        );
        assert_eq!(r.client_id, ClientId::DEVELOPER_SIGN_ON);
        assert_eq!(r.prompt, WamPrompt::Default);
        assert_eq!(prop(&r, "wam_compat"), Some("2.0"));
        assert_eq!(
            prop(&r, "authority"),
            Some("https://login.microsoftonline.com/contoso.onmicrosoft.com")
        );
        assert_eq!(prop(&r, "validateAuthority"), Some("yes"));
        assert_eq!(prop(&r, "discover"), Some("home"));
        assert_eq!(prop(&r, "claims"), None);
        assert_eq!(prop(&r, "LoginHint"), None);
        assert_eq!(prop(&r, "prompt"), None);
        assert_eq!(r.correlation_id, "cid");
        assert!(r.saml_assertion().is_none());
    }

    #[test]
    fn organizations_becomes_common_and_validation_can_be_off() {
        let mut req = request("organizations");
        req.validate_authority = false;
        req.claims = Some(r#"{"access_token":{"xms_cc":{"values":["CP1"]}}}"#.into());
        let r = WamTokenRequest::for_request(&req, AccountKind::Work, WamCall::Silent, "c".into());
        assert_eq!(
            prop(&r, "authority"),
            Some("https://login.microsoftonline.com/common")
        );
        assert_eq!(prop(&r, "validateAuthority"), Some("no"));
        assert_eq!(prop(&r, "claims"), req.claims.as_deref());
    }

    #[test]
    fn interactive_forces_authentication_with_login_hint_or_account_picker() {
        let mut req = request("organizations");
        let r =
            WamTokenRequest::for_request(&req, AccountKind::Work, WamCall::Interactive, "c".into());
        assert_eq!(r.prompt, WamPrompt::ForceAuthentication);
        assert_eq!(prop(&r, "prompt"), Some("select_account"));
        assert_eq!(prop(&r, "LoginHint"), None);

        req.login_hint = Some("someone@contoso.com".into());
        let r =
            WamTokenRequest::for_request(&req, AccountKind::Work, WamCall::Interactive, "c".into());
        assert_eq!(r.prompt, WamPrompt::ForceAuthentication);
        assert_eq!(prop(&r, "LoginHint"), Some("someone@contoso.com"));
        assert_eq!(prop(&r, "prompt"), None);

        // The hint is for the dialog only.
        let r = WamTokenRequest::for_request(&req, AccountKind::Work, WamCall::Silent, "c".into());
        assert_eq!(prop(&r, "LoginHint"), None);
    }

    #[test]
    fn personal_requests_skip_discovery_and_keep_consumers() {
        let r = WamTokenRequest::for_request(
            &request("consumers"),
            AccountKind::Personal,
            WamCall::Silent,
            "c".into(),
        );
        assert_eq!(prop(&r, "discover"), None);
        assert_eq!(
            prop(&r, "authority"),
            Some("https://login.microsoftonline.com/consumers")
        );
    }

    #[test]
    fn msa_passthrough_requests_a_transfer_token_and_redeems_it_as_saml() {
        let req = request("consumers");
        let t = WamTokenRequest::transfer_token(&req, "c".into());
        assert_eq!(
            t.scope,
            "service::http://Passport.NET/purpose::PURPOSE_AAD_WAM_TRANSFER openid profile offline_access"
        );
        assert_eq!(t.properties, [("wam_compat", "2.0".to_owned())]);

        let r = WamTokenRequest::for_request(
            &req,
            AccountKind::MsaPassthrough,
            WamCall::Silent,
            "c".into(),
        )
        .with_transfer_token(Secret::new("transfer-secret"));
        assert_eq!(
            prop(&r, "authority"),
            Some("https://login.microsoftonline.com/common")
        );
        assert_eq!(prop(&r, "SamlAssertionType"), Some("SAMLV1"));
        assert_eq!(
            r.saml_assertion().map(Secret::secret),
            Some("transfer-secret")
        );
        assert!(
            !format!("{r:?}").contains("transfer-secret"),
            "debug output hides the transfer token"
        );
        assert!(r.properties.iter().all(|(_, v)| v != "transfer-secret"));
    }
}
