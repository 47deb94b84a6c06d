//! The account-key path end to end against a loopback STS: the request carries
//! `Bearer <id>:<key>`.

mod common;

use common::{account_id, account_key_sts, sts_options, ACCOUNT_KEY, OPAQUE_TOKEN};
use mr_auth_credentials::{sts_client_with_account_key, AccountKey};

#[tokio::test]
async fn account_key_is_sent_as_bearer_id_colon_key() {
    mr_auth_test_support::bounded(async move {
        let (server, mock) = account_key_sts().await;
        let client = sts_client_with_account_key(
            account_id(),
            "mixedreality.azure.com".parse().unwrap(),
            AccountKey::new(ACCOUNT_KEY).unwrap(),
            Some(sts_options(&server.url())),
        )
        .unwrap();
        let token = client.get_token().await.unwrap();
        mock.assert_async().await;
        assert_eq!(token.access_token.token.secret(), OPAQUE_TOKEN);
        assert_eq!(
            token.access_token.expires_on.unix_timestamp(),
            2_147_483_647
        );
        assert_eq!(token.ms_cv.as_deref(), Some("cT1Z1Q1eTki0YgIK2wMXNQ.0"));
    })
    .await;
}
