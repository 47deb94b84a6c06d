use crate::{oauth::TenantId, platform::PopParameters};

/// Per-request options: the Python `PopTokenRequestOptions`.
///
/// Pass them to
/// [`InteractiveBrowserBrokerCredential::get_token_info`](crate::InteractiveBrowserBrokerCredential::get_token_info)
/// (or [`SharedTokenCacheCredential::get_token_info`](crate::SharedTokenCacheCredential::get_token_info)),
/// or put them in the request's `azure_core` `Context` (`Context::with_value`) for
/// `TokenCredential::get_token`, which reads them from there.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct BrokerTokenRequestOptions {
    /// A claims challenge (JSON) from a resource's `WWW-Authenticate` header.
    pub claims: Option<String>,
    /// Ask for a continuous-access-evaluation capable token (client capability `CP1`).
    pub enable_cae: bool,
    /// The tenant to get the token from, when not the credential's own; it must be allowed by
    /// `additionally_allowed_tenants`.
    pub tenant_id: Option<TenantId>,
    /// Ask for a proof-of-possession token bound to this request. Needs the platform broker.
    pub pop: Option<PopParameters>,
}

impl BrokerTokenRequestOptions {
    /// The options a caller of `TokenCredential::get_token` put in its request's context (else
    /// the defaults), and that context.
    pub(crate) fn from_sdk(
        options: Option<azure_core::credentials::TokenRequestOptions<'_>>,
    ) -> (Self, azure_core::http::Context<'_>) {
        let context = options.unwrap_or_default().method_options.context;
        (
            context.value::<Self>().cloned().unwrap_or_default(),
            context,
        )
    }

    /// No per-request option set: the request is the credential's own tenant, bearer, no
    /// claims, no CAE (the only kind the lock-free hit path answers).
    pub(crate) fn is_plain(&self) -> bool {
        self.claims.is_none() && !self.enable_cae && self.tenant_id.is_none() && self.pop.is_none()
    }

    /// The `claims` parameter to send: the caller's claims challenge, merged with the `CP1`
    /// client capability when CAE is enabled (as MSAL does).
    pub(crate) fn effective_claims(&self) -> crate::error::Result<Option<String>> {
        let given = match &self.claims {
            Some(c) if !c.trim().is_empty() => {
                Some(serde_json::from_str::<serde_json::Value>(c).map_err(|e| {
                    crate::error::Error::invalid_input(
                        "claims must be a json object (a claims challenge)",
                    )
                    .with_source(e)
                })?)
            }
            _ => None,
        };
        if given.as_ref().is_some_and(|v| !v.is_object()) {
            return Err(crate::error::Error::invalid_input(
                "claims must be a json object (a claims challenge)",
            ));
        }
        if !self.enable_cae {
            return Ok(given.map(|v| v.to_string()));
        }
        let mut merged = given.unwrap_or_else(|| serde_json::json!({}));
        let access_token = merged
            .as_object_mut()
            .expect("checked to be an object")
            .entry("access_token")
            .or_insert_with(|| serde_json::json!({}));
        if let Some(at) = access_token.as_object_mut() {
            at.insert("xms_cc".into(), serde_json::json!({ "values": ["CP1"] }));
        }
        Ok(Some(merged.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn claims_pass_through_and_cae_adds_cp1() {
        let none = BrokerTokenRequestOptions::default();
        assert_eq!(none.effective_claims().unwrap(), None);

        let cae = BrokerTokenRequestOptions {
            enable_cae: true,
            ..Default::default()
        };
        assert_eq!(
            cae.effective_claims().unwrap().unwrap(),
            r#"{"access_token":{"xms_cc":{"values":["CP1"]}}}"#
        );

        let both = BrokerTokenRequestOptions {
            claims: Some(r#"{"access_token":{"nbf":{"essential":true,"value":"1"}}}"#.into()),
            enable_cae: true,
            ..Default::default()
        };
        let v: serde_json::Value =
            serde_json::from_str(&both.effective_claims().unwrap().unwrap()).unwrap();
        assert_eq!(v["access_token"]["nbf"]["value"], "1");
        assert_eq!(v["access_token"]["xms_cc"]["values"][0], "CP1");
    }

    #[test]
    fn claims_must_be_a_json_object() {
        for bad in ["not json", "[1]", "\"s\""] {
            let o = BrokerTokenRequestOptions {
                claims: Some(bad.into()),
                ..Default::default()
            };
            assert_eq!(
                o.effective_claims().unwrap_err().kind(),
                crate::error::ErrorKind::InvalidInput
            );
        }
    }
}
