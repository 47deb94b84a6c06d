//! The account-key path end to end against a loopback STS: the request carries
//! `Bearer <id>:<key>`.

use mockito::{Matcher, Server};
use mr_auth_core::{MixedRealityStsClientOptions, StsEndpoint};
use mr_auth_credentials::{sts_client_with_account_key, AccountKey};

const ACCOUNT: &str = "87e9abb1-79b9-4502-bbae-cfae8c610f23";
const KEY: &str = "my_account_key_4b1d";
// exp 2147483647; the signature segment is what a real token's would be: opaque.
const TOKEN: &str = "eyJhbGciOiJub25lIn0.eyJleHAiOjIxNDc0ODM2NDd9.c2VjcmV0LXNpZ25hdHVyZS14eXo";

async fn sts() -> (mockito::ServerGuard, mockito::Mock) {
    let mut server = Server::new_async().await;
    let mock = server
        .mock("GET", format!("/Accounts/{ACCOUNT}/token").as_str())
        .match_query(Matcher::UrlEncoded(
            "api-version".into(),
            "2019-02-28-preview".into(),
        ))
        .match_header("authorization", format!("Bearer {ACCOUNT}:{KEY}").as_str())
        .with_header("ms-cv", "cT1Z1Q1eTki0YgIK2wMXNQ.0")
        .with_body(format!(r#"{{"AccessToken":"{TOKEN}"}}"#))
        .expect(1)
        .create_async()
        .await;
    (server, mock)
}

fn options(url: &str) -> Option<MixedRealityStsClientOptions> {
    Some(MixedRealityStsClientOptions {
        custom_endpoint: Some(StsEndpoint::new(url).unwrap()),
        ..MixedRealityStsClientOptions::default()
    })
}

#[tokio::test]
async fn account_key_is_sent_as_bearer_id_colon_key() {
    let (server, mock) = sts().await;
    let client = sts_client_with_account_key(
        ACCOUNT.parse().unwrap(),
        "mixedreality.azure.com".parse().unwrap(),
        AccountKey::new(KEY).unwrap(),
        options(&server.url()),
    )
    .unwrap();
    let token = client.get_token().await.unwrap();
    mock.assert_async().await;
    assert_eq!(token.access_token.token.secret(), TOKEN);
    assert_eq!(
        token.access_token.expires_on.unix_timestamp(),
        2_147_483_647
    );
    assert_eq!(token.ms_cv.as_deref(), Some("cT1Z1Q1eTki0YgIK2wMXNQ.0"));
}
