//! The certificates every HTTPS connection trusts (`WRAPUP_TLS_ROOTS`), through the real binary:
//! Secrets Manager (the AWS SDK) and Genesys (the function's own client) behind a TLS server whose
//! certificate a test CA signed, as behind a TLS-inspecting proxy. The default, Mozilla's roots
//! compiled in, refuses that CA on both paths; `system` with the CA in `SSL_CERT_FILE` trusts it on
//! both: one TLS configuration for every connection.

use crate::common::setup;
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose,
};
use rustls::pki_types::{CertificateDer, PrivatePkcs8KeyDer};
use serde_json::Value;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

const BIN: &str = env!("CARGO_BIN_EXE_genesys-wrapup");

/// A test CA, and a server certificate for `localhost` it signed: the CA's PEM and the server's
/// TLS configuration.
fn test_ca() -> (String, Arc<rustls::ServerConfig>) {
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.distinguished_name
        .push(DnType::CommonName, "genesys-wrapup test CA");
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let ca = CertifiedIssuer::self_signed(ca, KeyPair::generate().unwrap()).unwrap();
    let mut leaf = CertificateParams::new(vec!["localhost".to_owned()]).unwrap();
    leaf.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let key = KeyPair::generate().unwrap();
    let cert = leaf.signed_by(&key, &ca).unwrap();
    let server = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::aws_lc_rs::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(
        vec![cert.der().clone(), CertificateDer::from(ca.der().to_vec())],
        PrivatePkcs8KeyDer::from(key.serialize_der()).into(),
    )
    .unwrap();
    (ca.pem(), Arc::new(server))
}

/// TLS on loopback in front of a plain HTTP server: what a TLS-inspecting proxy looks like to
/// the function. Counts the handshakes that completed and those the client refused.
struct TlsFront {
    port: u16,
    completed: Arc<AtomicUsize>,
    refused: Arc<AtomicUsize>,
}

async fn tls_front(upstream: SocketAddr, config: Arc<rustls::ServerConfig>) -> TlsFront {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let (completed, refused) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let acceptor = tokio_rustls::TlsAcceptor::from(config);
    let counts = (completed.clone(), refused.clone());
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let (acceptor, (completed, refused)) = (acceptor.clone(), counts.clone());
            tokio::spawn(async move {
                match acceptor.accept(tcp).await {
                    Ok(mut tls) => {
                        completed.fetch_add(1, Ordering::SeqCst);
                        if let Ok(mut plain) = tokio::net::TcpStream::connect(upstream).await {
                            let _ = tokio::io::copy_bidirectional(&mut tls, &mut plain).await;
                        }
                    }
                    Err(_) => {
                        refused.fetch_add(1, Ordering::SeqCst);
                    }
                }
            });
        }
    });
    TlsFront {
        port,
        completed,
        refused,
    }
}

impl TlsFront {
    fn url(&self) -> String {
        format!("https://localhost:{}", self.port)
    }

    fn counts(&self) -> (usize, usize) {
        (
            self.completed.load(Ordering::SeqCst),
            self.refused.load(Ordering::SeqCst),
        )
    }
}

/// `doctor --json` with this environment: each check's state and detail by name.
async fn doctor(env: &[(String, String)]) -> Vec<(String, String, String)> {
    let out = tokio::process::Command::new(BIN)
        .args(["doctor", "--json"])
        .env_clear()
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .output()
        .await
        .unwrap();
    let report: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["name"].as_str().unwrap().to_owned(),
                c["state"].as_str().unwrap().to_owned(),
                c["detail"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn state<'a>(checks: &'a [(String, String, String)], name: &str) -> (&'a str, &'a str) {
    checks
        .iter()
        .find(|(n, _, _)| n == name)
        .map(|(_, state, detail)| (state.as_str(), detail.as_str()))
        .unwrap_or_else(|| panic!("no check {name}: {checks:?}"))
}

fn upstream(url: &str) -> SocketAddr {
    let url = reqwest::Url::parse(url).unwrap();
    format!("{}:{}", url.host_str().unwrap(), url.port().unwrap())
        .parse()
        .unwrap()
}

#[tokio::test]
async fn the_builtin_roots_refuse_a_private_ca_and_system_roots_trust_it_on_every_path() {
    let s = setup().await;
    let (ca_pem, server) = test_ca();
    let secrets = tls_front(s.secrets.addr, server.clone()).await;
    let genesys = tls_front(upstream(s.sandbox.emulator.base_url().as_str()), server).await;
    let dir = std::env::temp_dir().join(format!("tls-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let bundle = dir.join("ca.pem");
    std::fs::write(&bundle, &ca_pem).unwrap();
    let bundle = bundle.to_string_lossy().into_owned();
    let (secrets_url, genesys_url) = (secrets.url(), genesys.url());
    let behind_tls = |extra: &[(&str, &str)]| {
        let mut env = vec![
            ("AWS_ENDPOINT_URL_SECRETS_MANAGER", secrets_url.as_str()),
            ("GENESYS_API_BASE_URL", genesys_url.as_str()),
            ("GENESYS_LOGIN_BASE_URL", genesys_url.as_str()),
        ];
        env.extend_from_slice(extra);
        s.env(&env)
    };

    // The default: the AWS SDK refuses the CA (no retry of a refused certificate), so no secret.
    let checks = doctor(&behind_tls(&[])).await;
    let (secret, detail) = state(&checks, "genesys_secret");
    assert_eq!(secret, "failed", "{checks:?}");
    assert!(
        detail.to_lowercase().contains("certificate"),
        "the detail says why: {detail}"
    );
    let (completed, refused) = secrets.counts();
    assert_eq!(completed, 0, "no handshake completed");
    assert!((1..=2).contains(&refused), "{refused} refused handshakes");

    // The default, with Secrets Manager in plain HTTP on loopback: Genesys's client refuses it too.
    let plain_secrets = format!("http://{}", s.secrets.addr);
    let checks = doctor(&behind_tls(&[(
        "AWS_ENDPOINT_URL_SECRETS_MANAGER",
        &plain_secrets,
    )]))
    .await;
    assert_eq!(state(&checks, "genesys_secret").0, "passed", "{checks:?}");
    let (token, detail) = state(&checks, "genesys_token");
    assert_eq!(token, "failed", "{checks:?}");
    assert!(detail.to_lowercase().contains("certificate"), "{detail}");
    assert_eq!(genesys.counts().0, 0);
    assert!(genesys.counts().1 >= 1);

    // system, with the CA as the OS bundle: both paths trust it, and every check that reads
    // through them passes.
    let checks = doctor(&behind_tls(&[
        ("WRAPUP_TLS_ROOTS", "system"),
        ("SSL_CERT_FILE", &bundle),
    ]))
    .await;
    for name in [
        "settings",
        "genesys_secret",
        "genesys_token",
        "genesys_org",
        "wrapup_codes",
        "webhook_secret",
    ] {
        assert_eq!(state(&checks, name).0, "passed", "{name}: {checks:?}");
    }
    assert!(secrets.counts().0 >= 1 && genesys.counts().0 >= 1);
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test]
async fn a_bundle_that_cannot_be_used_stops_start_up_with_one_line_naming_the_setting() {
    let s = setup().await;
    let dir = std::env::temp_dir().join(format!("tls-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let empty = dir.join("empty.pem");
    std::fs::write(&empty, "").unwrap();
    let empty = empty.to_string_lossy().into_owned();
    let missing = dir.join("missing.pem").to_string_lossy().into_owned();
    for (roots, file, names) in [
        ("system", empty.as_str(), "WRAPUP_TLS_ROOTS"),
        ("system", missing.as_str(), "SSL_CERT_FILE"),
        ("mozilla", empty.as_str(), "WRAPUP_TLS_ROOTS"),
    ] {
        let out = tokio::process::Command::new(BIN)
            .args(["invoke", "events/eventbridge-custom.json"])
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .env_clear()
            .envs(
                s.env(&[("WRAPUP_TLS_ROOTS", roots), ("SSL_CERT_FILE", file)])
                    .into_iter(),
            )
            .output()
            .await
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        let problem: Vec<&str> = stderr
            .lines()
            .filter(|l| l.contains("configuration error"))
            .collect();
        assert_eq!(out.status.code(), Some(2), "{roots} {file}: {stderr}");
        assert_eq!(problem.len(), 1, "{stderr}");
        assert!(problem[0].contains(names), "{names}: {}", problem[0]);
        assert!(out.stdout.is_empty());
    }
    std::fs::remove_dir_all(dir).unwrap();
}
