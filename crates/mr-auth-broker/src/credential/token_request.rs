use super::{
    broker_token_request_options::BrokerTokenRequestOptions, credential_config::CredentialConfig,
};
use crate::{
    error::{Error, ErrorKind, Result},
    oauth::{ClientId, TenantId},
    platform::PopParameters,
};
use std::{
    fmt,
    hash::{Hash, Hasher},
    sync::Arc,
};

/// One request, validated and resolved against the credential's options: the tenant rules,
/// the scopes, the claims (with CAE merged in) and the PoP binding.
#[derive(Debug, Clone)]
pub(crate) struct TokenRequest {
    pub(crate) tenant: TenantId,
    pub(crate) scopes: Vec<String>,
    pub(crate) claims: Option<String>,
    pub(crate) enable_cae: bool,
    pub(crate) pop: Option<PopParameters>,
}

/// What a cached token is for. Never scopes alone: a PoP token must not answer a Bearer
/// request, a CAE token a non-CAE one, or one tenant's token another tenant's request.
///
/// Built once per request and then only moved between the caches: its parts are shared (a
/// clone is a reference count) and hashed once, when it is built (the single-flight cache
/// looks a key up, stores it and finds it again when its fetch ends).
#[derive(Clone)]
pub(crate) struct CacheKey {
    /// `parts` hashed with a fixed hasher: the maps hash this number, not the parts again.
    hash: u64,
    parts: Arc<KeyParts>,
}

#[derive(Debug, PartialEq, Eq)]
struct KeyParts {
    /// The credential's own (shared, not copied per key).
    authority: Arc<str>,
    tenant: String,
    client_id: ClientId,
    scopes: Vec<String>,
    claims: Option<String>,
    enable_cae: bool,
    pop: Option<PopParameters>,
}

impl CacheKey {
    fn new(parts: KeyParts) -> Self {
        // A fixed hasher, so equal parts always give the same number. Keys come from the
        // application's own requests, not from the network, and the caches hold 64 at most.
        // The authority and client id are left out: one credential's keys all have the same
        // (they are still compared).
        let mut hasher = std::hash::DefaultHasher::new();
        let KeyParts {
            authority: _,
            tenant,
            client_id: _,
            scopes,
            claims,
            enable_cae,
            pop,
        } = &parts;
        (tenant, scopes, claims, enable_cae, pop).hash(&mut hasher);
        Self {
            hash: hasher.finish(),
            parts: Arc::new(parts),
        }
    }
}

impl PartialEq for CacheKey {
    fn eq(&self, other: &Self) -> bool {
        self.hash == other.hash
            && (Arc::ptr_eq(&self.parts, &other.parts) || self.parts == other.parts)
    }
}

impl Eq for CacheKey {}

impl Hash for CacheKey {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_u64(self.hash);
    }
}

impl fmt::Debug for CacheKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.parts.fmt(f)
    }
}

impl TokenRequest {
    /// Validates scopes and options and picks the tenant.
    pub(crate) fn resolve(
        config: &CredentialConfig,
        scopes: &[&str],
        options: &BrokerTokenRequestOptions,
    ) -> Result<Self> {
        if scopes.is_empty() {
            return Err(Error::invalid_input(
                "at least one scope is required, such as https://management.azure.com/.default",
            ));
        }
        let mut sorted = Vec::with_capacity(scopes.len());
        for s in scopes {
            if s.is_empty()
                || s.chars()
                    .any(|c| c.is_whitespace() || c.is_control() || c == '"')
            {
                return Err(Error::invalid_input(format!(
                    "scope {s:?} is not valid; pass each scope separately, without spaces"
                )));
            }
            sorted.push((*s).to_owned());
        }
        sorted.sort();
        sorted.dedup();
        Ok(Self {
            tenant: resolve_tenant(config, options.tenant_id.as_ref())?,
            scopes: sorted,
            claims: options.effective_claims()?,
            enable_cae: options.enable_cae,
            pop: options.pop.clone(),
        })
    }

    pub(crate) fn cache_key(&self, config: &CredentialConfig) -> CacheKey {
        CacheKey::new(KeyParts {
            authority: Arc::clone(&config.authority_key),
            tenant: self.tenant.as_str().to_ascii_lowercase(),
            client_id: config.client_id.clone(),
            scopes: self.scopes.clone(),
            claims: self.claims.clone(),
            enable_cae: self.enable_cae,
            pop: self.pop.clone(),
        })
    }
}

/// The Python rule: the configured tenant, unless the request names another that
/// `additionally_allowed_tenants` allows.
fn resolve_tenant(config: &CredentialConfig, requested: Option<&TenantId>) -> Result<TenantId> {
    let Some(requested) = requested else {
        return Ok(config.tenant_id.clone());
    };
    if requested
        .as_str()
        .eq_ignore_ascii_case(config.tenant_id.as_str())
        || config.additionally_allowed_tenants.allows(requested)
    {
        return Ok(requested.clone());
    }
    Err(Error::new(
        ErrorKind::TenantNotAllowed,
        format!(
            "the request is for tenant {requested}, which this credential (tenant {}) may not use; add it to additionally_allowed_tenants, or use AdditionallyAllowedTenants::Any",
            config.tenant_id
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::credential::{
        AdditionallyAllowedTenants, InteractiveBrowserBrokerCredentialOptions,
    };

    fn config(o: InteractiveBrowserBrokerCredentialOptions) -> CredentialConfig {
        CredentialConfig::for_test(o)
    }

    fn t(s: &str) -> TenantId {
        TenantId::new(s).unwrap()
    }

    #[test]
    fn tenant_rules() {
        let c = config(InteractiveBrowserBrokerCredentialOptions {
            tenant_id: t("home.onmicrosoft.com"),
            additionally_allowed_tenants: AdditionallyAllowedTenants::Listed(vec![t(
                "Guest.onmicrosoft.com",
            )]),
            ..Default::default()
        });
        assert_eq!(resolve_tenant(&c, None).unwrap(), t("home.onmicrosoft.com"));
        assert_eq!(
            resolve_tenant(&c, Some(&t("HOME.onmicrosoft.com"))).unwrap(),
            t("HOME.onmicrosoft.com")
        );
        assert_eq!(
            resolve_tenant(&c, Some(&t("guest.onmicrosoft.com"))).unwrap(),
            t("guest.onmicrosoft.com")
        );
        let e = resolve_tenant(&c, Some(&t("other.onmicrosoft.com"))).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::TenantNotAllowed);
        assert!(e.message().contains("additionally_allowed_tenants"));

        let any = config(InteractiveBrowserBrokerCredentialOptions {
            additionally_allowed_tenants: AdditionallyAllowedTenants::Any,
            ..Default::default()
        });
        assert!(resolve_tenant(&any, Some(&t("whatever.com"))).is_ok());
    }

    #[test]
    fn scopes_are_validated_sorted_and_deduplicated() {
        let c = config(InteractiveBrowserBrokerCredentialOptions::default());
        let o = BrokerTokenRequestOptions::default();
        let r = TokenRequest::resolve(&c, &["b", "a", "b"], &o).unwrap();
        assert_eq!(r.scopes, ["a", "b"]);
        for bad in [&[][..], &["a b"][..], &[""][..]] {
            assert_eq!(
                TokenRequest::resolve(&c, bad, &o).unwrap_err().kind(),
                ErrorKind::InvalidInput
            );
        }
    }

    #[test]
    fn the_cache_key_tells_cae_claims_tenant_and_pop_apart() {
        let c = config(InteractiveBrowserBrokerCredentialOptions {
            additionally_allowed_tenants: AdditionallyAllowedTenants::Any,
            ..Default::default()
        });
        let key = |o: BrokerTokenRequestOptions| {
            TokenRequest::resolve(&c, &["s"], &o).unwrap().cache_key(&c)
        };
        let base = key(BrokerTokenRequestOptions::default());
        let pop = PopParameters::new(
            crate::platform::PopMethod::Get,
            "https://r.example/x".parse().unwrap(),
            None,
        )
        .unwrap();
        for other in [
            BrokerTokenRequestOptions {
                enable_cae: true,
                ..Default::default()
            },
            BrokerTokenRequestOptions {
                claims: Some("{}".into()),
                ..Default::default()
            },
            BrokerTokenRequestOptions {
                tenant_id: Some(t("other.com")),
                ..Default::default()
            },
            BrokerTokenRequestOptions {
                pop: Some(pop),
                ..Default::default()
            },
        ] {
            assert_ne!(key(other.clone()), base, "{other:?}");
        }
    }
}
