use std::sync::Arc;

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose, PKCS_ECDSA_P256_SHA256,
};
use rustls::{
    crypto::aws_lc_rs,
    pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer},
    ServerConfig,
};

use crate::{Error, ErrorKind, Result};

/// A certificate authority generated at start, and the TLS configuration of a server
/// certificate it signed for `localhost`, `127.0.0.1` and `::1` (plus any extra names).
///
/// The emulator serves TLS with one; tests use one to put TLS in front of any loopback
/// server. Nothing is written to disk or to a trust store; the caller gets the CA certificate
/// as PEM and trusts it where it wants to.
///
/// ```
/// let ca = mr_auth_emulator::LocalCa::generate(&[]).unwrap();
/// assert!(ca.ca_pem().starts_with("-----BEGIN CERTIFICATE-----"));
/// let _acceptor_config = ca.server_config(); // for tokio_rustls::TlsAcceptor::from
/// ```
#[derive(Debug)]
pub struct LocalCa {
    pub(crate) ca_pem: String,
    pub(crate) server_config: Arc<ServerConfig>,
}

fn tls_error(message: &str) -> impl FnOnce(rcgen::Error) -> Error + '_ {
    move |e| Error::with_source(ErrorKind::TlsSetup, message, e)
}

impl LocalCa {
    /// Generates the CA and the server certificate, and builds a rustls server
    /// configuration that uses the aws-lc-rs provider explicitly and offers only HTTP/1.1.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::TlsSetup`] when an extra name is not a valid DNS name or IP address, or
    /// key generation fails.
    pub fn generate(extra_names: &[String]) -> Result<Self> {
        let ca_key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256)
            .map_err(tls_error("cannot generate the ca key"))?;
        let mut ca_params = CertificateParams::new(Vec::<String>::new())
            .map_err(tls_error("invalid ca parameters"))?;
        let mut ca_name = DistinguishedName::new();
        ca_name.push(DnType::CommonName, "mr-auth emulator local CA");
        ca_name.push(DnType::OrganizationName, "mr-auth emulator");
        ca_params.distinguished_name = ca_name;
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
        ca_params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let ca_cert = ca_params
            .self_signed(&ca_key)
            .map_err(tls_error("cannot self-sign the ca"))?;
        let issuer = Issuer::new(ca_params, ca_key);

        let mut names = vec![
            "localhost".to_owned(),
            "127.0.0.1".to_owned(),
            "::1".to_owned(),
        ];
        names.extend(extra_names.iter().cloned());
        let server_key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256)
            .map_err(tls_error("cannot generate the server key"))?;
        let mut server_params =
            CertificateParams::new(names).map_err(tls_error("invalid server certificate name"))?;
        let mut server_name = DistinguishedName::new();
        server_name.push(DnType::CommonName, "localhost");
        server_params.distinguished_name = server_name;
        server_params.is_ca = IsCa::ExplicitNoCa;
        server_params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        server_params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        server_params.use_authority_key_identifier_extension = true;
        let server_cert = server_params
            .signed_by(&server_key, &issuer)
            .map_err(tls_error("cannot sign the server certificate"))?;

        let key_der = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(server_key.serialize_der()));
        let mut config =
            ServerConfig::builder_with_provider(Arc::new(aws_lc_rs::default_provider()))
                .with_safe_default_protocol_versions()
                .map_err(|e| {
                    Error::with_source(ErrorKind::TlsSetup, "cannot select tls versions", e)
                })?
                .with_no_client_auth()
                .with_single_cert(vec![server_cert.der().clone()], key_der)
                .map_err(|e| {
                    Error::with_source(ErrorKind::TlsSetup, "cannot use the server certificate", e)
                })?;
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Self {
            ca_pem: ca_cert.pem(),
            server_config: Arc::new(config),
        })
    }

    /// The CA certificate, PEM-encoded: what a client adds to its trusted roots.
    pub fn ca_pem(&self) -> &str {
        &self.ca_pem
    }

    /// The rustls configuration of the server certificate the CA signed (HTTP/1.1 only).
    pub fn server_config(&self) -> Arc<ServerConfig> {
        Arc::clone(&self.server_config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generates_a_pem_ca_and_http1_config() {
        let ca = LocalCa::generate(&["emulator.test".to_owned()]).unwrap();
        assert!(ca.ca_pem.starts_with("-----BEGIN CERTIFICATE-----"));
        assert_eq!(ca.server_config.alpn_protocols, vec![b"http/1.1".to_vec()]);
    }

    #[test]
    fn rejects_bad_extra_name() {
        let err = LocalCa::generate(&["bad\u{e9}name.test".to_owned()]).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::TlsSetup);
    }
}
