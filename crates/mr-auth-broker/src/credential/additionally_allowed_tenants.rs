use crate::oauth::TenantId;

/// Tenants besides the credential's own that a request may name
/// ([`BrokerTokenRequestOptions::tenant_id`](crate::BrokerTokenRequestOptions::tenant_id)):
/// the Python option `additionally_allowed_tenants`, where `["*"]` is [`Any`](Self::Any).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AdditionallyAllowedTenants {
    /// Only these (compared without regard to case). The default is none.
    Listed(Vec<TenantId>),
    /// Any tenant.
    Any,
}

impl Default for AdditionallyAllowedTenants {
    fn default() -> Self {
        Self::Listed(Vec::new())
    }
}

impl AdditionallyAllowedTenants {
    pub(crate) fn allows(&self, tenant: &TenantId) -> bool {
        match self {
            Self::Any => true,
            Self::Listed(tenants) => tenants
                .iter()
                .any(|t| t.as_str().eq_ignore_ascii_case(tenant.as_str())),
        }
    }
}
