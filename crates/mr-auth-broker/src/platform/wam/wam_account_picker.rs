//! The combined work-or-school and personal account picker that MSA passthrough shows
//! (platform-neutral part): whether a request shows it, which providers it offers and the
//! route each choice goes on with. The pane itself is in `accounts_settings_pane`.
//!
//! As MSAL.NET's WAM broker does: with MSA passthrough, an interactive request without an
//! account or a login hint first asks the user, in Windows' `AccountsSettingsPane`, which kind
//! of account to sign in with. The work-or-school choice goes to the AAD plugin; the personal
//! choice to the MSA plugin for a transfer token that the AAD plugin redeems.

use super::wam_route::{AccountKind, WamRoute, CONSUMERS};
use crate::platform::BrokerRequest;

/// What the user picked in the pane.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PickedAccount {
    /// A work or school account (the AAD plugin).
    WorkOrSchool,
    /// A personal Microsoft account (the MSA plugin, then the passthrough exchange).
    Personal,
}

/// The providers the picker offers for one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct AccountPickerOffer {
    /// The authority of the AAD plugin's provider offered for work and school accounts
    /// (`organizations`, or the request's tenant); `None` for tenant `consumers`, which work
    /// and school accounts cannot serve.
    work_or_school: Option<String>,
}

impl AccountPickerOffer {
    /// The picker for `request`, or `None` when it shows none: without MSA passthrough (the
    /// AAD plugin's own dialog lists its accounts), or with a login hint (the dialog is
    /// pre-filled with it).
    pub(crate) fn for_request(request: &BrokerRequest) -> Option<Self> {
        let hint = request
            .login_hint
            .as_deref()
            .filter(|h| !h.trim().is_empty());
        if !request.enable_msa_passthrough || hint.is_some() {
            return None;
        }
        let work = WamRoute::for_tenant(&request.tenant_id, false);
        Some(Self {
            work_or_school: (work.kind == AccountKind::Work).then_some(work.provider_authority),
        })
    }

    /// Each choice with the authority of its provider (`FindAccountProviderAsync(
    /// "https://login.microsoft.com", authority)`), in the pane's order: work or school first.
    pub(crate) fn providers(&self) -> Vec<(PickedAccount, &str)> {
        self.work_or_school
            .as_deref()
            .map(|authority| (PickedAccount::WorkOrSchool, authority))
            .into_iter()
            .chain([(PickedAccount::Personal, CONSUMERS)])
            .collect()
    }

    /// The route a choice goes on with.
    pub(crate) fn route(&self, picked: PickedAccount) -> WamRoute {
        match (picked, &self.work_or_school) {
            (PickedAccount::WorkOrSchool, Some(authority)) => WamRoute::work(authority),
            // Work or school is never offered without an authority; the passthrough route
            // is what a personal account gets either way.
            (PickedAccount::WorkOrSchool, None) | (PickedAccount::Personal, _) => {
                WamRoute::passthrough()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oauth::{ClientId, TenantId};
    use url::Url;

    fn request(tenant: &str, passthrough: bool, hint: Option<&str>) -> BrokerRequest {
        BrokerRequest {
            client_id: ClientId::default(),
            tenant_id: TenantId::new(tenant).unwrap(),
            authority: Url::parse(&format!("https://login.microsoftonline.com/{tenant}")).unwrap(),
            scopes: vec!["https://management.azure.com/.default".into()],
            redirect_uri: "ms-appx-web://Microsoft.AAD.BrokerPlugin/x".into(),
            claims: None,
            pop: None,
            login_hint: hint.map(str::to_owned),
            enable_msa_passthrough: passthrough,
            validate_authority: true,
        }
    }

    #[test]
    fn only_passthrough_without_a_login_hint_shows_the_picker() {
        assert_eq!(
            AccountPickerOffer::for_request(&request("organizations", false, None)),
            None
        );
        assert_eq!(
            AccountPickerOffer::for_request(&request("organizations", true, Some("a@b.com"))),
            None
        );
        assert!(
            AccountPickerOffer::for_request(&request("organizations", true, Some("  "))).is_some(),
            "a blank hint is no hint"
        );
    }

    #[test]
    fn work_or_school_first_then_personal() {
        for (tenant, authority) in [
            ("organizations", "organizations"),
            ("common", "organizations"),
            ("contoso.onmicrosoft.com", "contoso.onmicrosoft.com"),
        ] {
            let offer = AccountPickerOffer::for_request(&request(tenant, true, None)).unwrap();
            assert_eq!(
                offer.providers(),
                [
                    (PickedAccount::WorkOrSchool, authority),
                    (PickedAccount::Personal, "consumers")
                ],
                "{tenant}"
            );
            assert_eq!(
                offer.route(PickedAccount::WorkOrSchool),
                WamRoute::work(authority)
            );
            assert_eq!(
                offer.route(PickedAccount::Personal).kind,
                AccountKind::MsaPassthrough
            );
        }
    }

    #[test]
    fn consumers_offers_only_personal_accounts() {
        let offer = AccountPickerOffer::for_request(&request("consumers", true, None)).unwrap();
        assert_eq!(offer.providers(), [(PickedAccount::Personal, "consumers")]);
        assert_eq!(
            offer.route(PickedAccount::Personal),
            WamRoute::for_tenant(&TenantId::new("consumers").unwrap(), true)
        );
    }
}
