//! Which WAM account provider serves a request (platform-neutral).

use crate::oauth::TenantId;

/// The web account provider id of Microsoft's providers (the AAD and MSA plugins).
pub(crate) const MICROSOFT_PROVIDER: &str = "https://login.microsoft.com";

/// The provider id that stands for the account the user signed in to Windows with.
pub(crate) const DEFAULT_ACCOUNT_PROVIDER: &str = "https://login.windows.local";

/// The provider authority of work and school accounts (the AAD plugin).
pub(crate) const ORGANIZATIONS: &str = "organizations";

/// The provider authority of personal Microsoft accounts (the MSA plugin).
pub(crate) const CONSUMERS: &str = "consumers";

/// What kind of account a token is for, which decides the WAM plugin that issues it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AccountKind {
    /// A work or school account: the AAD plugin.
    Work,
    /// A personal Microsoft account, token from the MSA plugin (consumer apps).
    Personal,
    /// A personal Microsoft account whose token comes from the AAD plugin through a transfer
    /// token (MSA passthrough, first-party apps configured for it).
    MsaPassthrough,
}

impl AccountKind {
    /// The name used in account ids and messages.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Work => "work",
            Self::Personal => "personal",
            Self::MsaPassthrough => "msa-passthrough",
        }
    }

    /// The kind from [`AccountKind::as_str`].
    pub(crate) fn parse(value: &str) -> Option<Self> {
        [Self::Work, Self::Personal, Self::MsaPassthrough]
            .into_iter()
            .find(|k| k.as_str() == value)
    }
}

/// The provider a request goes to: `FindAccountProviderAsync(MICROSOFT_PROVIDER, authority)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct WamRoute {
    /// Which plugin, and for passthrough, the two-step exchange.
    pub(crate) kind: AccountKind,
    /// The authority passed to `FindAccountProviderAsync` for the provider that issues the
    /// final token: `organizations`, `consumers` or the tenant.
    pub(crate) provider_authority: String,
}

impl WamRoute {
    /// The route for a request to `tenant`:
    /// - `consumers`: the MSA plugin, or with MSA passthrough the transfer-token exchange;
    /// - `organizations` and `common`: the AAD plugin's `organizations` provider;
    /// - a tenant: the AAD plugin's provider for that tenant.
    pub(crate) fn for_tenant(tenant: &TenantId, msa_passthrough: bool) -> Self {
        let t = tenant.as_str();
        if t.eq_ignore_ascii_case(CONSUMERS) {
            if msa_passthrough {
                Self::passthrough()
            } else {
                Self {
                    kind: AccountKind::Personal,
                    provider_authority: CONSUMERS.to_owned(),
                }
            }
        } else if t.eq_ignore_ascii_case(ORGANIZATIONS) || t.eq_ignore_ascii_case("common") {
            Self::work(ORGANIZATIONS)
        } else {
            Self::work(t)
        }
    }

    /// The route for the OS default account, whose provider (found through
    /// [`DEFAULT_ACCOUNT_PROVIDER`]) has `default_authority`; `None` when that account cannot
    /// serve a request to `tenant` (the credential then moves on to the next step).
    pub(crate) fn for_default_account(
        default_authority: &str,
        tenant: &TenantId,
        msa_passthrough: bool,
    ) -> Option<Self> {
        let personal_default = default_authority.eq_ignore_ascii_case(CONSUMERS);
        let t = tenant.as_str();
        let personal_tenant = is_personal_tenant(t);
        match (personal_default, msa_passthrough) {
            (true, true) => Some(Self::passthrough()),
            (true, false) if personal_tenant => Some(Self {
                kind: AccountKind::Personal,
                provider_authority: CONSUMERS.to_owned(),
            }),
            (true, false) => None,
            (false, _) if t.eq_ignore_ascii_case(CONSUMERS) => None,
            (false, _) => Some(Self::for_tenant(tenant, false)),
        }
    }

    /// The route that serves a known account of `kind` for a request to `tenant`, or `None`
    /// when the account cannot serve it (a work account for `consumers`, ...).
    pub(crate) fn for_account(kind: AccountKind, tenant: &TenantId) -> Option<Self> {
        let t = tenant.as_str();
        match kind {
            AccountKind::Work if t.eq_ignore_ascii_case(CONSUMERS) => None,
            AccountKind::Work => Some(Self::for_tenant(tenant, false)),
            AccountKind::Personal if is_personal_tenant(t) => Some(Self {
                kind,
                provider_authority: CONSUMERS.to_owned(),
            }),
            AccountKind::Personal => None,
            AccountKind::MsaPassthrough => Some(Self::passthrough()),
        }
    }

    /// A work or school account, from the AAD plugin's provider for `authority`.
    pub(crate) fn work(authority: &str) -> Self {
        Self {
            kind: AccountKind::Work,
            provider_authority: authority.to_owned(),
        }
    }

    /// Passthrough: the final token comes from the AAD plugin's `organizations` provider; the
    /// transfer token from the MSA plugin ([`CONSUMERS`]).
    pub(crate) fn passthrough() -> Self {
        Self {
            kind: AccountKind::MsaPassthrough,
            provider_authority: ORGANIZATIONS.to_owned(),
        }
    }
}

/// Whether personal accounts may answer a request to this tenant.
fn is_personal_tenant(tenant: &str) -> bool {
    tenant.eq_ignore_ascii_case(CONSUMERS) || tenant.eq_ignore_ascii_case("common")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tenant(t: &str) -> TenantId {
        TenantId::new(t).unwrap()
    }

    #[test]
    fn tenant_routes() {
        let r = WamRoute::for_tenant(&tenant("organizations"), false);
        assert_eq!(
            (r.kind, r.provider_authority.as_str()),
            (AccountKind::Work, "organizations")
        );
        let r = WamRoute::for_tenant(&tenant("Common"), true);
        assert_eq!(
            (r.kind, r.provider_authority.as_str()),
            (AccountKind::Work, "organizations")
        );
        let r = WamRoute::for_tenant(&tenant("contoso.onmicrosoft.com"), true);
        assert_eq!(
            (r.kind, r.provider_authority.as_str()),
            (AccountKind::Work, "contoso.onmicrosoft.com")
        );
        let r = WamRoute::for_tenant(&tenant("consumers"), false);
        assert_eq!(
            (r.kind, r.provider_authority.as_str()),
            (AccountKind::Personal, "consumers")
        );
        let r = WamRoute::for_tenant(&tenant("consumers"), true);
        assert_eq!(
            (r.kind, r.provider_authority.as_str()),
            (AccountKind::MsaPassthrough, "organizations")
        );
    }

    #[test]
    fn default_account_routes() {
        let org = tenant("organizations");
        let consumers = tenant("consumers");
        let common = tenant("common");
        // A work default account serves work requests, never consumers.
        let r = WamRoute::for_default_account("organizations", &org, false).unwrap();
        assert_eq!(r.kind, AccountKind::Work);
        assert!(WamRoute::for_default_account("organizations", &consumers, true).is_none());
        // A personal default account: passthrough when enabled, the MSA plugin for personal
        // tenants, else it cannot serve the request.
        let r = WamRoute::for_default_account("consumers", &org, true).unwrap();
        assert_eq!(r.kind, AccountKind::MsaPassthrough);
        let r = WamRoute::for_default_account("Consumers", &common, false).unwrap();
        assert_eq!(r.kind, AccountKind::Personal);
        assert!(WamRoute::for_default_account("consumers", &org, false).is_none());
    }

    #[test]
    fn known_account_routes() {
        let consumers = tenant("consumers");
        assert!(WamRoute::for_account(AccountKind::Work, &consumers).is_none());
        let r = WamRoute::for_account(AccountKind::Work, &tenant("contoso.com")).unwrap();
        assert_eq!(r.provider_authority, "contoso.com");
        let r =
            WamRoute::for_account(AccountKind::MsaPassthrough, &tenant("organizations")).unwrap();
        assert_eq!(r.kind, AccountKind::MsaPassthrough);
        let r = WamRoute::for_account(AccountKind::Personal, &consumers).unwrap();
        assert_eq!(r.provider_authority, "consumers");
        assert!(WamRoute::for_account(AccountKind::Personal, &tenant("organizations")).is_none());
    }

    #[test]
    fn kinds_round_trip() {
        for k in [
            AccountKind::Work,
            AccountKind::Personal,
            AccountKind::MsaPassthrough,
        ] {
            assert_eq!(AccountKind::parse(k.as_str()), Some(k));
        }
        assert_eq!(AccountKind::parse("aad"), None);
    }
}
