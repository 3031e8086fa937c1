//! TLS to the server as the URL's `sslmode` asks, the way libpq does it, with rustls (the
//! `ring` provider):
//!
//! - `disable`: no TLS, no connector.
//! - `prefer` and `require`: TLS (for `prefer`, if the server offers it), with the server's
//!   certificate unchecked: libpq encrypts without verifying in these modes, and so does wfc.
//!   `require` with `sslrootcert` checks the certificate as `verify-ca` does, as libpq does
//!   when it finds a root certificate file.
//! - `verify-ca`: the certificate must be signed by a trusted authority; its names are not
//!   looked at.
//! - `verify-full`: as `verify-ca`, and the certificate must name the host connected to.
//!
//! The trusted authorities are the certificates in the PEM file `sslrootcert=PATH` names;
//! `sslrootcert=system`, or no `sslrootcert` and no `~/.postgresql/root.crt`, is the system's
//! roots.

use super::address::{Address, TlsMode};
use crate::runtime::BackendError;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore};
use std::path::PathBuf;
use std::sync::Arc;
use tokio_postgres_rustls::MakeRustlsConnect;

/// The connector for `address`'s `sslmode`, or `None` when it uses no TLS.
pub fn connector(address: &Address) -> Result<Option<MakeRustlsConnect>, BackendError> {
    // The process's provider: *ring*, the one rustls is built with here.
    let builder = ClientConfig::builder();
    let provider = Arc::clone(builder.crypto_provider());
    let checked = match (address.tls, &address.root_cert) {
        (TlsMode::Disable, _) => return Ok(None),
        (TlsMode::Prefer, _) | (TlsMode::Require, None) => None,
        (TlsMode::Require | TlsMode::VerifyCa, Some(_)) | (TlsMode::VerifyCa, None) => Some(false),
        (TlsMode::VerifyFull, _) => Some(true),
    };
    let verifier: Arc<dyn ServerCertVerifier> = match checked {
        None => Arc::new(Lenient {
            provider,
            chain: None,
        }),
        Some(names_too) => {
            let roots = roots(address)?;
            let webpki =
                WebPkiServerVerifier::builder_with_provider(Arc::new(roots), Arc::clone(&provider))
                    .build()
                    .map_err(|error| {
                        BackendError::storage(
                            format!(
                                "cannot check the certificates of `{}`: {error}",
                                address.shown
                            ),
                            "name a file of CA certificates with `sslrootcert=PATH`",
                        )
                    })?;
            if names_too {
                webpki
            } else {
                Arc::new(Lenient {
                    provider,
                    chain: Some(webpki),
                })
            }
        }
    };
    let config = builder
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    Ok(Some(MakeRustlsConnect::new(config)))
}

/// The trusted authorities for `address`: its `sslrootcert` file, else
/// `~/.postgresql/root.crt` if there is one, else (or for `sslrootcert=system`) the system's.
fn roots(address: &Address) -> Result<RootCertStore, BackendError> {
    let file = match address.root_cert.as_deref() {
        Some("system") => None,
        Some(path) => Some(PathBuf::from(path)),
        None => std::env::var_os("HOME")
            .map(|home| PathBuf::from(home).join(".postgresql/root.crt"))
            .filter(|path| path.exists()),
    };
    let mut roots = RootCertStore::empty();
    let Some(file) = file else {
        let found = rustls_native_certs::load_native_certs();
        roots.add_parsable_certificates(found.certs);
        if roots.is_empty() {
            return Err(BackendError::storage(
                format!(
                    "`{}` asks to check the server's certificate, but the system's certificate \
                     roots could not be read: {:?}",
                    address.shown, found.errors
                ),
                "install the system's CA certificates (the `ca-certificates` package), or name \
                 a file of CA certificates with `sslrootcert=PATH`",
            ));
        }
        return Ok(roots);
    };
    let unreadable = |why: String| {
        BackendError::storage(
            format!(
                "cannot read the CA certificates `{}` for `{}`: {why}",
                file.display(),
                address.shown
            ),
            "`sslrootcert=PATH` names a PEM file of the certificates that sign the server's",
        )
    };
    let certificates = CertificateDer::pem_file_iter(&file)
        .and_then(|certificates| certificates.collect::<Result<Vec<_>, _>>())
        .map_err(|error| unreadable(error.to_string()))?;
    let (added, _) = roots.add_parsable_certificates(certificates);
    if added == 0 {
        return Err(unreadable("it holds no certificate".to_string()));
    }
    Ok(roots)
}

/// The verifier of the modes that check less than `verify-full`: with `chain`, `verify-ca`
/// (the chain is checked, and a name the certificate does not hold is let pass); without,
/// `prefer` and `require` (any certificate is accepted: the connection is encrypted, not
/// authenticated). Either way the handshake's signatures are checked against the certificate.
#[derive(Debug)]
struct Lenient {
    provider: Arc<CryptoProvider>,
    chain: Option<Arc<WebPkiServerVerifier>>,
}

impl ServerCertVerifier for Lenient {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let Some(chain) = &self.chain else {
            return Ok(ServerCertVerified::assertion());
        };
        // The chain is checked before the name: a name error means the chain was good.
        match chain.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now) {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}
