//! Shared fakes of the integration tests: JWTs with a chosen expiry, STS client options for a
//! loopback mock, a TLS terminator in front of a loopback mock, and a log capture.
#![allow(dead_code, unreachable_pub)] // each test binary uses a different subset

use base64::Engine as _;
use mr_auth_core::{AccountId, MixedRealityStsClientOptions, StsEndpoint, StsRetryOptions};
use std::{
    io::Write,
    net::SocketAddr,
    sync::{Arc, Mutex},
    time::Duration,
};
use time::OffsetDateTime;

pub const ACCOUNT_ID: &str = "87e9abb1-79b9-4502-bbae-cfae8c610f23";
pub const ACCOUNT_KEY: &str = "my-very-secret-account-key";
pub const TOKEN_PATH: &str = "/Accounts/87e9abb1-79b9-4502-bbae-cfae8c610f23/token";

pub fn account_id() -> AccountId {
    ACCOUNT_ID.parse().unwrap()
}

/// An unsigned JWT whose payload holds `exp` (and a `jti` to tell tokens apart).
pub fn jwt(expires_on: OffsetDateTime, jti: &str) -> String {
    let payload = serde_json::json!({ "exp": expires_on.unix_timestamp(), "jti": jti });
    let payload = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(payload.to_string());
    format!("eyJhbGciOiJub25lIn0.{payload}.c2ln")
}

pub fn sts_body(expires_on: OffsetDateTime, jti: &str) -> String {
    serde_json::json!({ "AccessToken": jwt(expires_on, jti) }).to_string()
}

/// STS client options for a loopback mock at `url`: no retries, short timeouts.
pub fn sts_options(url: &str) -> MixedRealityStsClientOptions {
    MixedRealityStsClientOptions {
        custom_endpoint: Some(StsEndpoint::new(url).unwrap()),
        retry: StsRetryOptions::none(),
        connect_timeout: Duration::from_secs(5),
        try_timeout: Duration::from_secs(10),
        timeout: Duration::from_secs(20),
        ..MixedRealityStsClientOptions::default()
    }
}

/// Waits (bounded, ~10 s) until `done` holds.
pub async fn eventually(what: &str, mut done: impl AsyncFnMut() -> bool) {
    for _ in 0..1000 {
        if done().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("timed out waiting until {what}");
}

/// Everything `tracing` writes while the guard lives (on this thread).
#[derive(Clone, Default)]
pub struct LogCapture(Arc<Mutex<Vec<u8>>>);

impl LogCapture {
    pub fn install(&self) -> tracing::subscriber::DefaultGuard {
        let writer = self.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .finish();
        tracing::subscriber::set_default(subscriber)
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

impl Write for LogCapture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A TLS terminator on 127.0.0.1 forwarding every connection to `target` (a plain-HTTP loopback
/// mock), with a certificate for `127.0.0.1` and `localhost` signed by a CA made for the test.
pub struct TlsFront {
    pub url: String,
    pub ca_pem: String,
}

pub async fn tls_front(target: SocketAddr) -> TlsFront {
    use rcgen::{
        BasicConstraints, CertificateParams, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
        KeyUsagePurpose,
    };
    use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};

    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    ca_params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let ca_cert = ca_params.self_signed(&ca_key).unwrap();
    let issuer = Issuer::new(ca_params, ca_key);

    let server_key = KeyPair::generate().unwrap();
    let mut server_params =
        CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()]).unwrap();
    server_params.is_ca = IsCa::ExplicitNoCa;
    server_params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let server_cert = server_params.signed_by(&server_key, &issuer).unwrap();

    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::aws_lc_rs::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(
        vec![server_cert.der().clone()],
        PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(server_key.serialize_der())),
    )
    .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((incoming, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(incoming).await else {
                    return;
                };
                let Ok(mut upstream) = tokio::net::TcpStream::connect(target).await else {
                    return;
                };
                let _ = tokio::io::copy_bidirectional(&mut tls, &mut upstream).await;
            });
        }
    });
    TlsFront {
        url: format!("https://127.0.0.1:{port}"),
        ca_pem: ca_cert.pem(),
    }
}

/// A JWT as the STS issues it (exp 2147483647), whose signature segment is as opaque as a real
/// token's: a log or message containing any part of it leaked the token.
pub const OPAQUE_TOKEN: &str =
    "eyJhbGciOiJub25lIn0.eyJleHAiOjIxNDc0ODM2NDd9.c2VjcmV0LXNpZ25hdHVyZS14eXo";

/// A loopback STS that answers exactly one exchange of [`ACCOUNT_KEY`] for [`OPAQUE_TOKEN`],
/// checking the spec's request shape and `Authorization: Bearer <id>:<key>`.
pub async fn account_key_sts() -> (mockito::ServerGuard, mockito::Mock) {
    let mut server = mockito::Server::new_async().await;
    let mock = server
        .mock("GET", TOKEN_PATH)
        .match_query(mockito::Matcher::UrlEncoded(
            "api-version".into(),
            "2019-02-28-preview".into(),
        ))
        .match_header(
            "authorization",
            format!("Bearer {ACCOUNT_ID}:{ACCOUNT_KEY}").as_str(),
        )
        .with_header("ms-cv", "cT1Z1Q1eTki0YgIK2wMXNQ.0")
        .with_body(format!(r#"{{"AccessToken":"{OPAQUE_TOKEN}"}}"#))
        .expect(1)
        .create_async()
        .await;
    (server, mock)
}
