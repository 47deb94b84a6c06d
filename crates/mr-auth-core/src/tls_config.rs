//! The default transport's TLS: which roots are trusted, and which crypto provider runs it.
//!
//! Off Windows the client builds its own rustls configuration with the `ring` provider and
//! hands it to reqwest, instead of letting reqwest pick aws-lc-rs: aws-lc seeds its random
//! generator with CPU jitter entropy the first time it needs a random number, which costs
//! 10-100 ms once per process (aws/aws-lc-rs#1140) - most of a command-line tool's run - while
//! ring reads the OS generator. Passing the provider explicitly (rather than installing a
//! process default) keeps the choice local to this client, so an application that uses
//! aws-lc-rs elsewhere is unaffected. On Windows the OS stack (schannel) is used.

use crate::{Error, MixedRealityStsClientOptions};

#[cfg(not(windows))]
pub(crate) fn configure(
    builder: reqwest::ClientBuilder,
    options: &MixedRealityStsClientOptions,
) -> Result<reqwest::ClientBuilder, Error> {
    use rustls::pki_types::{pem::PemObject as _, CertificateDer};
    use std::sync::Arc;

    let mut extra: Vec<CertificateDer<'static>> = Vec::new();
    for pem in &options.extra_root_certificates_pem {
        let before = extra.len();
        for certificate in CertificateDer::pem_slice_iter(pem.as_bytes()) {
            extra.push(certificate.map_err(|error| {
                Error::invalid_input("an extra root certificate is not valid PEM")
                    .with_source(error)
            })?);
        }
        if extra.len() == before {
            return Err(no_certificate());
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder_tls = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|error| tls_setup_error(error.to_string()))?;
    let mut config = if options.trust_system_roots {
        let verifier = system_verifier(extra, provider)?;
        builder_tls
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(verifier))
            .with_no_client_auth()
    } else {
        let mut roots = rustls::RootCertStore::empty();
        for certificate in extra {
            roots.add(certificate).map_err(|error| {
                Error::invalid_input("an extra root certificate is not a usable CA certificate")
                    .with_source(error)
            })?;
        }
        if roots.is_empty() {
            return Err(only_roots_without_roots());
        }
        builder_tls
            .with_root_certificates(roots)
            .with_no_client_auth()
    };
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(builder.tls_backend_preconfigured(config))
}

#[cfg(all(not(windows), not(target_os = "android")))]
fn system_verifier(
    extra: Vec<rustls::pki_types::CertificateDer<'static>>,
    provider: std::sync::Arc<rustls::crypto::CryptoProvider>,
) -> Result<rustls_platform_verifier::Verifier, Error> {
    rustls_platform_verifier::Verifier::new_with_extra_roots(extra, provider)
        .map_err(|error| tls_setup_error(error.to_string()))
}

#[cfg(target_os = "android")]
fn system_verifier(
    extra: Vec<rustls::pki_types::CertificateDer<'static>>,
    provider: std::sync::Arc<rustls::crypto::CryptoProvider>,
) -> Result<rustls_platform_verifier::Verifier, Error> {
    if !extra.is_empty() {
        return Err(Error::invalid_input(
            "extra root certificates besides the system's are not supported on Android; set trust_system_roots to false to trust only them",
        ));
    }
    rustls_platform_verifier::Verifier::new(provider)
        .map_err(|error| tls_setup_error(error.to_string()))
}

#[cfg(windows)]
pub(crate) fn configure(
    mut builder: reqwest::ClientBuilder,
    options: &MixedRealityStsClientOptions,
) -> Result<reqwest::ClientBuilder, Error> {
    let mut extra = Vec::new();
    for pem in &options.extra_root_certificates_pem {
        let certificates =
            reqwest::Certificate::from_pem_bundle(pem.as_bytes()).map_err(|error| {
                Error::invalid_input("an extra root certificate is not valid PEM")
                    .with_source(error)
            })?;
        if certificates.is_empty() {
            return Err(no_certificate());
        }
        extra.extend(certificates);
    }
    if options.trust_system_roots {
        for certificate in extra {
            builder = builder.add_root_certificate(certificate);
        }
        Ok(builder)
    } else if extra.is_empty() {
        Err(only_roots_without_roots())
    } else {
        Ok(builder.tls_certs_only(extra))
    }
}

fn no_certificate() -> Error {
    Error::invalid_input(
        "an extra root certificate is not valid PEM (no BEGIN CERTIFICATE block found)",
    )
}

fn only_roots_without_roots() -> Error {
    Error::invalid_input(
        "trust_system_roots is false but no extra root certificate is given; add the STS's CA to extra_root_certificates_pem",
    )
}

#[cfg(not(windows))]
fn tls_setup_error(detail: String) -> Error {
    Error::new(
        crate::ErrorKind::Tls,
        format!("could not set up TLS for the STS client: {detail}"),
    )
}
