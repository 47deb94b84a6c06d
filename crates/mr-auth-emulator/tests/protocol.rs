//! The STS protocol over TLS: tokens, their signature against the served JWKS, and the
//! error responses of the spec.

mod support;

use std::time::Duration;

use aws_lc_rs::signature::{UnparsedPublicKey, ECDSA_P256_SHA256_FIXED};
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use std::sync::Arc;

use mr_auth_core::ManualClock;
use mr_auth_emulator::{
    AadMode, Clock, CredentialKind, Emulator, ErrorKind, Outcome, RunningEmulator, SystemClock,
};
use support::*;

async fn start() -> RunningEmulator {
    Emulator::builder()
        .account_with_keys(account(), PRIMARY, SECONDARY)
        .start()
        .await
        .unwrap()
}

fn verify_with_jwks(token: &str, jwks: &serde_json::Value) {
    let parts: Vec<&str> = token.split('.').collect();
    assert_eq!(parts.len(), 3);
    let header = decode_segment(parts[0]);
    let jwk = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kid"] == header["kid"])
        .expect("the token's kid is in the jwks");
    assert_eq!(jwk["kty"], "EC");
    assert_eq!(jwk["crv"], "P-256");
    let mut point = vec![4u8];
    point.extend(URL_SAFE_NO_PAD.decode(jwk["x"].as_str().unwrap()).unwrap());
    point.extend(URL_SAFE_NO_PAD.decode(jwk["y"].as_str().unwrap()).unwrap());
    let signature = URL_SAFE_NO_PAD.decode(parts[2]).unwrap();
    let signed = format!("{}.{}", parts[0], parts[1]);
    UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, &point)
        .verify(signed.as_bytes(), &signature)
        .expect("signature verifies against the served jwks");
}

#[tokio::test]
async fn issues_a_signed_token_over_tls() {
    mr_auth_test_support::bounded(async move {
        let emulator = start().await;
        assert_eq!(emulator.endpoint().scheme(), "https");
        assert!(emulator.local_addr().ip().is_loopback());
        assert_eq!(
            emulator.token_url(account()).as_str(),
            token_url(&emulator, ACCOUNT)
        );
        let client = client(&emulator);

        let response = send_token_request(&client, &emulator).await;
        assert_eq!(response.status(), 200);
        let ms_cv = assert_ms_cv(&response);
        assert_ne!(&ms_cv[..22], CV, "MS-CV is the service's own, not an echo");
        let headers = response.headers().clone();
        assert_eq!(headers["content-type"], "application/json; charset=utf-8");
        assert_eq!(headers["cache-control"], "no-store, no-cache");
        let token = access_token(&response.bytes().await.unwrap());

        let parts: Vec<&str> = token.split('.').collect();
        let header = decode_segment(parts[0]);
        assert_eq!(header["alg"], "ES256");
        assert_eq!(header["typ"], "JWT");
        assert_eq!(header["kid"], emulator.signing_key_id());
        let claims = decode_segment(parts[1]);
        assert_eq!(claims["aid"], ACCOUNT);
        assert_eq!(claims["apr"], "eastus");
        assert_eq!(claims["aao"], "AccountKey");
        assert_eq!(claims["iss"], emulator.issuer());
        assert_eq!(claims["iss"], emulator.endpoint().as_str());
        assert_eq!(claims["aud"], emulator.audience());
        assert!(claims["rid"].as_str().unwrap().ends_with(ACCOUNT));
        assert!(uuid::Uuid::parse_str(claims["jti"].as_str().unwrap()).is_ok());
        assert!(uuid::Uuid::parse_str(claims["tid"].as_str().unwrap()).is_ok());
        let iat = claims["iat"].as_u64().unwrap();
        let exp = claims["exp"].as_u64().unwrap();
        assert_eq!(claims["nbf"].as_u64().unwrap(), iat);
        assert_eq!(exp - iat, 86_400);
        let now = u64::try_from(SystemClock.now().unix_timestamp()).unwrap();
        assert!(iat.abs_diff(now) < 60);

        // The served JWKS validates the token; so does the discovery document's jwks_uri.
        let jwks: serde_json::Value = client
            .get(emulator.jwks_url().clone())
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .map(|b| serde_json::from_slice(&b).unwrap())
            .unwrap();
        verify_with_jwks(&token, &jwks);
        assert_eq!(
            jwks.to_string(),
            serde_json::from_str::<serde_json::Value>(emulator.jwks_json())
                .unwrap()
                .to_string()
        );
        let discovery: serde_json::Value = client
            .get(format!(
                "{}.well-known/openid-configuration",
                emulator.endpoint()
            ))
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .map(|b| serde_json::from_slice(&b).unwrap())
            .unwrap();
        assert_eq!(discovery["jwks_uri"], emulator.jwks_url().as_str());
        assert_eq!(discovery["issuer"], emulator.issuer());

        // A second token is a different token.
        let second = token_request(&client, &emulator, SECONDARY)
            .send()
            .await
            .unwrap();
        assert_eq!(second.status(), 200);
        let second = access_token(&second.bytes().await.unwrap());
        assert_ne!(second, token);
        verify_with_jwks(&second, &jwks);

        let stats = emulator.stats();
        assert_eq!(stats.token_requests, 2);
        assert_eq!(stats.tokens_issued, 2);
        assert_eq!(stats.count(200), 2);
        assert_eq!(stats.other_requests, 2);
        assert_eq!(stats.recent.len(), 2);
        assert_eq!(stats.recent[0].account_id, Some(account()));
        assert_eq!(stats.recent[0].correlation_vector.as_deref(), Some(CV));
        assert_eq!(stats.recent[0].credential, CredentialKind::AccountKey);
        assert_eq!(stats.recent[0].outcome, Outcome::Status(200));
        assert_eq!(stats.recent[0].ms_cv.as_deref(), Some(ms_cv.as_str()));
        // Nothing secret in what tests (or logs) can print.
        let printed = format!("{stats:?} {emulator:?}");
        assert!(!printed.contains(PRIMARY) && !printed.contains(SECONDARY));
        assert!(!printed.contains(&token));
        emulator.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn answers_the_spec_errors() {
    mr_auth_test_support::bounded(async move {
        let emulator = start().await;
        let client = client(&emulator);
        let www_authenticate = |r: &reqwest::Response| {
            r.headers()
                .get("www-authenticate")
                .map(|v| v.to_str().unwrap().to_owned())
        };

        // 400: missing X-MRC-CV, wrong api-version, account id not a GUID.
        let no_cv = client
            .get(token_url(&emulator, ACCOUNT))
            .header("Authorization", format!("Bearer {ACCOUNT}:{PRIMARY}"))
            .send()
            .await
            .unwrap();
        assert_eq!(no_cv.status(), 400);
        assert_ms_cv(&no_cv);
        assert!(www_authenticate(&no_cv)
            .unwrap()
            .starts_with("Invalid request: "));
        let wrong_version = client
            .get(token_url(&emulator, ACCOUNT).replace("2019-02-28-preview", "2022-01-01"))
            .header("Authorization", format!("Bearer {ACCOUNT}:{PRIMARY}"))
            .header("X-MRC-CV", CV)
            .send()
            .await
            .unwrap();
        assert_eq!(wrong_version.status(), 400);
        assert!(www_authenticate(&wrong_version)
            .unwrap()
            .contains("api-version"));

        // 401: wrong key, key for another account, AAD token while AAD is off.
        let wrong_key = token_request(&client, &emulator, "not-the-key")
            .send()
            .await
            .unwrap();
        assert_eq!(wrong_key.status(), 401);
        assert_ms_cv(&wrong_key);
        let message = www_authenticate(&wrong_key).unwrap();
        assert!(message.starts_with("Invalid token: "), "{message}");
        assert!(!message.contains("not-the-key"));
        let aad = client
            .get(token_url(&emulator, ACCOUNT))
            .header("Authorization", "Bearer e30.e30.sig")
            .header("X-MRC-CV", CV)
            .send()
            .await
            .unwrap();
        assert_eq!(aad.status(), 401);

        // 404: unknown account, unknown path.
        let unknown = client
            .get(token_url(&emulator, OTHER_ACCOUNT))
            .header("Authorization", format!("Bearer {OTHER_ACCOUNT}:{PRIMARY}"))
            .header("X-MRC-CV", CV)
            .send()
            .await
            .unwrap();
        assert_eq!(unknown.status(), 404);
        assert_ms_cv(&unknown);
        assert!(www_authenticate(&unknown).is_none());
        let elsewhere = client
            .get(format!("{}nothing/here", emulator.endpoint()))
            .send()
            .await
            .unwrap();
        assert_eq!(elsewhere.status(), 404);

        // 405 for another method on the token route.
        let post = client
            .post(token_url(&emulator, ACCOUNT))
            .send()
            .await
            .unwrap();
        assert_eq!(post.status(), 405);

        let stats = emulator.stats();
        assert_eq!(stats.count(400), 2);
        assert_eq!(stats.count(401), 2);
        assert_eq!(stats.count(404), 1);
        assert_eq!(stats.tokens_issued, 0);
        assert_eq!(stats.recent[0].correlation_vector, None);
        assert_eq!(stats.recent[3].credential, CredentialKind::AadToken);
        emulator.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn aad_mode_accepts_tokens_from_the_configured_issuer() {
    mr_auth_test_support::bounded(async move {
        let emulator = Emulator::builder()
            .account(account(), PRIMARY)
            .aad(AadMode::ClaimsChecked {
                issuer: "https://sts.windows.net/tenant/".to_owned(),
                audience: "https://sts.mixedreality.azure.com".to_owned(),
            })
            .path_prefix("/sts")
            .token_lifetime(Duration::from_secs(3600))
            .start()
            .await
            .unwrap();
        assert!(emulator.endpoint().path().starts_with("/sts"));
        assert_eq!(
            emulator.token_url(account()).path(),
            format!("/sts/Accounts/{ACCOUNT}/token")
        );
        let client = client(&emulator);
        let now = u64::try_from(SystemClock.now().unix_timestamp()).unwrap();
        let aad_token = |iss: &str| {
            let claims = serde_json::json!({
                "iss": iss,
                "aud": "https://sts.mixedreality.azure.com",
                "exp": now + 600,
            });
            format!(
                "{}.{}.unsigned",
                URL_SAFE_NO_PAD.encode(r#"{"alg":"RS256"}"#),
                URL_SAFE_NO_PAD.encode(claims.to_string())
            )
        };
        let send = |token: String| {
            client
                .get(token_url(&emulator, ACCOUNT))
                .header("Authorization", format!("Bearer {token}"))
                .header("X-MRC-CV", CV)
                .send()
        };
        let ok = send(aad_token("https://sts.windows.net/tenant/"))
            .await
            .unwrap();
        assert_eq!(ok.status(), 200);
        let token = access_token(&ok.bytes().await.unwrap());
        let claims = decode_segment(token.split('.').nth(1).unwrap());
        assert_eq!(claims["aao"], "AAD");
        assert_eq!(
            claims["exp"].as_u64().unwrap() - claims["iat"].as_u64().unwrap(),
            3600
        );
        let wrong = send(aad_token("https://evil.example/")).await.unwrap();
        assert_eq!(wrong.status(), 401);
        // Account keys still work in AAD mode.
        let key = send_token_request(&client, &emulator).await;
        assert_eq!(key.status(), 200);
        emulator.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn plain_http_on_loopback() {
    mr_auth_test_support::bounded(async move {
        let emulator = Emulator::builder()
            .account(account(), PRIMARY)
            .tls(false)
            .address("[::1]:0".parse().unwrap())
            .start()
            .await;
        // IPv6 loopback may be missing in some sandboxes; fall back to IPv4 then.
        let emulator = match emulator {
            Ok(emulator) => emulator,
            Err(e) => {
                assert_eq!(e.kind(), ErrorKind::Bind);
                Emulator::builder()
                    .account(account(), PRIMARY)
                    .tls(false)
                    .start()
                    .await
                    .unwrap()
            }
        };
        assert_eq!(emulator.endpoint().scheme(), "http");
        assert!(emulator.ca_pem().is_none());
        let client = client(&emulator);
        let response = send_token_request(&client, &emulator).await;
        assert_eq!(response.status(), 200);
        emulator.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn token_times_come_from_the_injected_clock() {
    mr_auth_test_support::bounded(async move {
        let emulator = Emulator::builder()
            .account(account(), PRIMARY)
            .clock(Arc::new(ManualClock::at_fixed_start()))
            .issuer("https://sts.eastus.mixedreality.azure.com/")
            .audience("https://downstream.test/")
            .start()
            .await
            .unwrap();
        let client = client(&emulator);
        let response = send_token_request(&client, &emulator).await;
        let token = access_token(&response.bytes().await.unwrap());
        let claims = decode_segment(token.split('.').nth(1).unwrap());
        // 2025-01-01T00:00:00Z, and a day later.
        assert_eq!(claims["iat"], 1_735_689_600u64);
        assert_eq!(claims["exp"], 1_735_776_000u64);
        assert_eq!(claims["iss"], "https://sts.eastus.mixedreality.azure.com/");
        assert_eq!(claims["aud"], "https://downstream.test/");
        emulator.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn start_reports_config_and_bind_errors() {
    mr_auth_test_support::bounded(async move {
        let err = Emulator::builder().start().await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidConfig);
        let err = Emulator::builder()
            .account(account(), PRIMARY)
            .address("192.0.2.1:0".parse().unwrap())
            .start()
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidConfig);

        let first = Emulator::builder()
            .account(account(), PRIMARY)
            .start()
            .await
            .unwrap();
        let err = Emulator::builder()
            .account(account(), PRIMARY)
            .address(first.local_addr())
            .start()
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Bind);
        assert!(err.to_string().contains(&first.local_addr().to_string()));
        first.shutdown().await;
    })
    .await;
}

#[test]
fn handles_and_futures_can_cross_threads() {
    fn send_sync<T: Send + Sync>(_: &T) {}
    fn send<T: Send>(_: &T) {}
    let start = Emulator::builder().account(account(), PRIMARY).start();
    send(&start);
    drop(start);
    let builder = Emulator::builder();
    send_sync(&builder);
    fn running_is_send_sync(emulator: &RunningEmulator) {
        send_sync(emulator);
        send(&emulator.stats());
    }
    let _ = running_is_send_sync;
}
