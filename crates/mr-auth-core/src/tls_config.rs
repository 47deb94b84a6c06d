//! The default transport's TLS: which roots are trusted, and which crypto provider runs it.
//!
//! Off Windows the client builds its own rustls configuration with the `ring` provider and
//! hands it to reqwest, instead of letting reqwest pick aws-lc-rs: aws-lc seeds its random
//! generator with CPU jitter entropy the first time it needs a random number, which costs
//! 10-100 ms once per process (aws/aws-lc-rs#1140) - most of a command-line tool's run - while
//! ring reads the OS generator. Passing the provider explicitly (rather than installing a
//! process default) keeps the choice local to this client, so an application that uses
//! aws-lc-rs elsewhere is unaffected. On Windows the OS stack (schannel) is used.

use crate::{read_regular_file, Error, LocalFileErrorKind, MixedRealityStsClientOptions};
use std::path::Path;

/// The largest file [`read_root_certificates_file`] reads: a system's whole CA bundle is a few
/// hundred kilobytes.
pub const MAX_ROOT_CERTIFICATES_FILE_BYTES: u64 = 4 * 1024 * 1024;

/// Reads a PEM file of root certificates for
/// [`extra_root_certificates_pem`](MixedRealityStsClientOptions::extra_root_certificates_pem)
/// (the emulator's CA, a private STS's), safely for a path a user typed: it must be a regular
/// file (checked on the opened handle, so a named pipe or `/dev/zero` is refused at once instead
/// of blocking or growing without end) of at most [`MAX_ROOT_CERTIFICATES_FILE_BYTES`], in
/// UTF-8. Whether it holds certificates is checked when the client is built.
///
/// ```
/// use mr_auth_core::{read_root_certificates_file, ErrorKind, MixedRealityStsClientOptions};
///
/// # #[cfg(unix)] {
/// let err = read_root_certificates_file("/dev/zero".as_ref()).unwrap_err();
/// assert_eq!(err.kind(), ErrorKind::InvalidInput);
/// assert!(err.to_string().contains("/dev/zero is a character device"), "{err}");
/// # }
/// # let path = std::env::temp_dir().join(format!("ca-doc-{}.pem", std::process::id()));
/// # std::fs::write(&path, "-----BEGIN CERTIFICATE-----\n").unwrap();
/// let mut options = MixedRealityStsClientOptions::default();
/// options.extra_root_certificates_pem.push(read_root_certificates_file(&path)?);
/// # std::fs::remove_file(path).unwrap();
/// # Ok::<(), mr_auth_core::Error>(())
/// ```
///
/// # Errors
///
/// [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput), naming the file and what is
/// wrong with it: missing, not a regular file, too large, not UTF-8, or unreadable.
pub fn read_root_certificates_file(path: &Path) -> Result<String, Error> {
    let bytes = read_regular_file(path, MAX_ROOT_CERTIFICATES_FILE_BYTES).map_err(|e| {
        let hint = match e.kind() {
            LocalFileErrorKind::TooLarge => "; a CA file holds a few certificates",
            LocalFileErrorKind::WrongType => "; give a PEM file",
            _ => "",
        };
        Error::invalid_input(format!("cannot use the CA file: {e}{hint}")).with_source(e)
    })?;
    String::from_utf8(bytes).map_err(|e| {
        Error::invalid_input(format!(
            "cannot use the CA file: {} is not a PEM file (not UTF-8 text)",
            path.display()
        ))
        .with_source(e)
    })
}

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
