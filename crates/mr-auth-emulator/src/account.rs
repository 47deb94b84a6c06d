use uuid::Uuid;

use crate::{AccountKey, Error, ErrorKind, Result};

/// A Mixed Reality account served by the emulator.
///
/// Holds the account id, one or two keys (like the portal's primary and secondary keys) and
/// the values written into the tokens issued for it: the tenant id (`tid`), the ARM
/// resource id (`rid`) and the region (`apr`).
#[derive(Debug, Clone)]
pub struct Account {
    id: Uuid,
    keys: Vec<AccountKey>,
    tenant_id: Uuid,
    resource_id: String,
    region: String,
}

impl Account {
    /// The most keys an account can have.
    pub const MAX_KEYS: usize = 2;

    /// An account with one key, region `eastus`, a tenant id derived from the account id and
    /// a resource id of the form
    /// `/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/mr-auth-emulator/providers/Microsoft.MixedReality/remoteRenderingAccounts/<id>`.
    ///
    /// The nil UUID is rejected, as the real clients reject it.
    pub fn new(id: Uuid, key: AccountKey) -> Result<Self> {
        if id.is_nil() {
            return Err(Error::new(
                ErrorKind::InvalidConfig,
                "the nil uuid is not a valid account id",
            ));
        }
        // A stable, distinct tenant per account: the account id with its bits flipped,
        // formatted as a v4-looking UUID so it never equals the account id.
        let mut tenant = *id.as_bytes();
        tenant.iter_mut().for_each(|b| *b = !*b);
        let tenant_id = uuid::Builder::from_random_bytes(tenant).into_uuid();
        Ok(Self {
            id,
            keys: vec![key],
            tenant_id,
            resource_id: format!(
                "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/mr-auth-emulator/providers/Microsoft.MixedReality/remoteRenderingAccounts/{id}"
            ),
            region: "eastus".to_owned(),
        })
    }

    /// Adds a second key; fails when the account already has [`Account::MAX_KEYS`].
    pub fn with_key(mut self, key: AccountKey) -> Result<Self> {
        if self.keys.len() >= Self::MAX_KEYS {
            return Err(Error::new(
                ErrorKind::InvalidConfig,
                format!("account {} already has two keys", self.id),
            ));
        }
        self.keys.push(key);
        Ok(self)
    }

    /// Sets the tenant id written as `tid`.
    pub fn with_tenant_id(mut self, tenant_id: Uuid) -> Self {
        self.tenant_id = tenant_id;
        self
    }

    /// Sets the ARM resource id written as `rid`.
    pub fn with_resource_id(mut self, resource_id: impl Into<String>) -> Self {
        self.resource_id = resource_id.into();
        self
    }

    /// Sets the region written as `apr` (e.g. `eastus2`).
    pub fn with_region(mut self, region: impl Into<String>) -> Self {
        self.region = region.into();
        self
    }

    /// The account id.
    pub fn id(&self) -> Uuid {
        self.id
    }

    /// The accepted keys (one or two).
    pub fn keys(&self) -> &[AccountKey] {
        &self.keys
    }

    /// The tenant id written as `tid`.
    pub fn tenant_id(&self) -> Uuid {
        self.tenant_id
    }

    /// The ARM resource id written as `rid`.
    pub fn resource_id(&self) -> &str {
        &self.resource_id
    }

    /// The region written as `apr`.
    pub fn region(&self) -> &str {
        &self.region
    }

    /// Whether `candidate` is one of this account's keys (constant time per key).
    pub(crate) fn accepts_key(&self, candidate: &[u8]) -> bool {
        // Check every key so the time does not reveal which one matched.
        self.keys
            .iter()
            .fold(false, |found, key| key.matches(candidate) | found)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id() -> Uuid {
        Uuid::parse_str("87e9abb1-79b9-4502-bbae-cfae8c610f23").unwrap()
    }

    #[test]
    fn rejects_nil_id() {
        let err = Account::new(Uuid::nil(), AccountKey::new("k").unwrap()).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidConfig);
    }

    #[test]
    fn at_most_two_keys() {
        let account = Account::new(id(), AccountKey::new("a").unwrap())
            .unwrap()
            .with_key(AccountKey::new("b").unwrap())
            .unwrap();
        assert!(account.accepts_key(b"a"));
        assert!(account.accepts_key(b"b"));
        assert!(!account.accepts_key(b"c"));
        assert!(account.with_key(AccountKey::new("c").unwrap()).is_err());
    }

    #[test]
    fn defaults_are_distinct_and_stable() {
        let a = Account::new(id(), AccountKey::new("a").unwrap()).unwrap();
        let b = Account::new(id(), AccountKey::new("a").unwrap()).unwrap();
        assert_ne!(a.tenant_id(), a.id());
        assert_eq!(a.tenant_id(), b.tenant_id());
        assert!(a.resource_id().ends_with(&id().to_string()));
        assert_eq!(a.region(), "eastus");
    }

    #[test]
    fn debug_hides_keys() {
        let account = Account::new(id(), AccountKey::new("hunter2-key").unwrap()).unwrap();
        assert!(!format!("{account:?}").contains("hunter2-key"));
    }
}
