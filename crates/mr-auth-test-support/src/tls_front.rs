//! A TLS terminator on loopback in front of a plain-HTTP loopback server, with a certificate
//! from a CA made for the test (the emulator's [`LocalCa`], the one CA type of the workspace).
//!
//! Use it where the code under test insists on `https` (azure_core's bearer policy refuses to
//! send a token over plain HTTP) but the fake only speaks HTTP (mockito).

use std::{fmt, net::SocketAddr};

use mr_auth_emulator::LocalCa;
use tokio::{net::TcpListener, task::JoinHandle};
use tokio_rustls::TlsAcceptor;

/// A running TLS front. Dropping it stops accepting connections.
pub struct TlsFront {
    url: String,
    ca_pem: String,
    accept_loop: JoinHandle<()>,
}

impl TlsFront {
    /// Listens on `127.0.0.1:0` and forwards every TLS connection, decrypted, to `target`.
    ///
    /// # Panics
    ///
    /// When the CA cannot be generated or no loopback port can be bound: a test setup failure.
    pub async fn start(target: SocketAddr) -> Self {
        let ca = LocalCa::generate(&[]).expect("the local CA generates");
        let acceptor = TlsAcceptor::from(ca.server_config());
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a loopback port is free");
        let port = listener
            .local_addr()
            .expect("a bound listener has an address")
            .port();
        let accept_loop = tokio::spawn(async move {
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
        Self {
            url: format!("https://127.0.0.1:{port}"),
            ca_pem: ca.ca_pem().to_owned(),
            accept_loop,
        }
    }

    /// `https://127.0.0.1:<port>`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The CA certificate (PEM) to trust, e.g. in
    /// `MixedRealityStsClientOptions::extra_root_certificates_pem`.
    pub fn ca_pem(&self) -> &str {
        &self.ca_pem
    }
}

impl Drop for TlsFront {
    fn drop(&mut self) {
        self.accept_loop.abort();
    }
}

impl fmt::Debug for TlsFront {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsFront")
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

    #[tokio::test]
    async fn forwards_decrypted_bytes_to_the_target() {
        crate::bounded(async {
            let upstream = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let target = upstream.local_addr().unwrap();
            let front = TlsFront::start(target).await;
            assert!(front.url().starts_with("https://127.0.0.1:"));
            assert!(front.ca_pem().starts_with("-----BEGIN CERTIFICATE-----"));

            let mut roots = rustls::RootCertStore::empty();
            let ca = <rustls::pki_types::CertificateDer as rustls::pki_types::pem::PemObject>::from_pem_slice(front.ca_pem().as_bytes())
                .unwrap();
            roots.add(ca).unwrap();
            let config = rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(
                rustls::crypto::aws_lc_rs::default_provider(),
            ))
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth();
            let connector = tokio_rustls::TlsConnector::from(std::sync::Arc::new(config));
            let port: u16 = front.url().rsplit(':').next().unwrap().parse().unwrap();
            let tcp = tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .unwrap();
            let name = rustls::pki_types::ServerName::try_from("127.0.0.1").unwrap();
            let mut tls = connector.connect(name, tcp).await.unwrap();
            tls.write_all(b"ping").await.unwrap();
            tls.flush().await.unwrap();

            let (mut plain, _) = upstream.accept().await.unwrap();
            let mut received = [0; 4];
            plain.read_exact(&mut received).await.unwrap();
            assert_eq!(&received, b"ping");
        })
        .await;
    }
}
