//! The one TLS configuration every outbound HTTPS connection uses (Genesys, New Relic, the AWS
//! SDK), and the certificates it trusts (`WRAPUP_TLS_ROOTS`):
//!
//! - `builtin` (the default): Mozilla's root certificates, compiled into the binary as trust
//!   anchors (`webpki-roots`). Nothing is opened, scanned or parsed at start-up.
//! - `system`: the operating system's CA bundle, one PEM file read and parsed once (for a
//!   TLS-inspecting proxy whose CA is installed there). Never a hashed certificate directory.
//!
//! Built once per process for each choice and shared by every client built after it.

use crate::config::{ConfigError, TlsRoots};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;
use rustls::{ClientConfig, RootCertStore};
use std::path::Path;
use std::sync::{Arc, Mutex};

/// The configurations built so far in this process, one per choice of roots (in Lambda: one).
static BUILT: Mutex<Vec<(TlsRoots, ClientConfig)>> = Mutex::new(Vec::new());

/// The process's TLS configuration for `roots`: built (and a bundle read) the first time only.
/// A clone shares the roots and the verifier; reqwest takes it by value.
pub(super) fn tls_config(roots: &TlsRoots) -> Result<ClientConfig, ConfigError> {
    let mut built = BUILT.lock().unwrap_or_else(|p| p.into_inner());
    if let Some((_, config)) = built.iter().find(|(r, _)| r == roots) {
        return Ok(config.clone());
    }
    let config = build(roots)?;
    built.push((roots.clone(), config.clone()));
    Ok(config)
}

fn build(roots: &TlsRoots) -> Result<ClientConfig, ConfigError> {
    let store = match roots {
        TlsRoots::Builtin => RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
        },
        TlsRoots::System(bundle) => read_bundle(bundle)?,
    };
    let problem = |e: rustls::Error| ConfigError {
        variable: "WRAPUP_TLS_ROOTS",
        problem: format!("could not build the TLS configuration: {e}"),
    };
    let mut config = ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::aws_lc_rs::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(problem)?
    .with_root_certificates(store)
    .with_no_client_auth();
    // What reqwest offers on its own with HTTP/2 on: a preconfigured TLS configuration is taken
    // as it is.
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(config)
}

/// Every certificate in one PEM bundle. A certificate that does not parse is skipped (bundles
/// carry the odd expired or unusual one); a file with none is a start-up error.
fn read_bundle(bundle: &Path) -> Result<RootCertStore, ConfigError> {
    let problem = |what: String| ConfigError {
        variable: "WRAPUP_TLS_ROOTS",
        problem: format!("is system, but the CA bundle {} {what}", bundle.display()),
    };
    let certs = CertificateDer::pem_file_iter(bundle)
        .map_err(|e| problem(format!("cannot be read ({e})")))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| problem(format!("is not PEM ({e})")))?;
    let mut store = RootCertStore::empty();
    let (added, _skipped) = store.add_parsable_certificates(certs);
    if added == 0 {
        return Err(problem("holds no certificate".into()));
    }
    Ok(store)
}

/// The TLS failure in `e`'s chain, if the connection failed there (a refused certificate, a
/// handshake alert), in rustls's words; with the setting that chooses the roots when the
/// certificate was refused.
pub(crate) fn tls_failure(e: &(dyn std::error::Error + 'static)) -> Option<String> {
    let mut source = Some(e);
    while let Some(s) = source {
        if let Some(tls) = s.downcast_ref::<rustls::Error>() {
            return Some(match tls {
                rustls::Error::InvalidCertificate(_) => {
                    format!("{tls} (the trusted roots are WRAPUP_TLS_ROOTS's)")
                }
                _ => tls.to_string(),
            });
        }
        // hyper-rustls hands rustls's error over inside an io::Error, whose `source` skips it.
        source = match s
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
        {
            Some(inner) => Some(inner as &(dyn std::error::Error + 'static)),
            None => s.source(),
        };
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_builtin_roots_are_mozillas_and_built_once() {
        let config = tls_config(&TlsRoots::Builtin).unwrap();
        assert_eq!(
            config.alpn_protocols,
            [b"h2".to_vec(), b"http/1.1".to_vec()]
        );
        assert!(webpki_roots::TLS_SERVER_ROOTS.len() > 100);
        tls_config(&TlsRoots::Builtin).unwrap();
        let built = BUILT.lock().unwrap();
        assert_eq!(
            built
                .iter()
                .filter(|(r, _)| *r == TlsRoots::Builtin)
                .count(),
            1
        );
    }

    #[test]
    fn a_bundle_without_certificates_names_the_setting_and_the_file() {
        let dir = std::env::temp_dir().join(format!("roots-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let empty = dir.join("empty.pem");
        std::fs::write(&empty, "no certificate here\n").unwrap();
        let e = tls_config(&TlsRoots::System(empty.clone())).unwrap_err();
        assert_eq!(e.variable, "WRAPUP_TLS_ROOTS");
        assert!(e.to_string().contains("holds no certificate"), "{e}");
        assert!(e.to_string().contains(&empty.display().to_string()), "{e}");
        let missing = dir.join("missing.pem");
        let e = tls_config(&TlsRoots::System(missing)).unwrap_err();
        assert!(e.to_string().contains("cannot be read"), "{e}");
        std::fs::remove_dir_all(dir).unwrap();
    }
}
