//! Every setting's default, bounds and error message, read from a map instead of the environment.

use super::*;
use std::collections::HashMap;

fn from(pairs: &[(&str, &str)]) -> Result<Settings, ConfigError> {
    let map: HashMap<String, String> = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    Settings::from_lookup(|k| map.get(k).cloned())
}

#[test]
fn only_the_genesys_secret_is_required() {
    let s = from(&[(
        "GENESYS_SECRET_ID",
        "arn:aws:secretsmanager:eu-west-1:1:secret:g",
    )])
    .unwrap();
    assert_eq!(s.secret_cache_ttl, Duration::from_secs(300));
    assert_eq!(s.genesys.code_cache_ttl, Duration::from_secs(600));
    assert!(s.handler.webhook.secret_id.is_none());
    assert!(s.genesys.api_base_url.is_none());
}

#[test]
fn the_idempotency_ttl_is_a_duration_with_a_unit_and_defaults_to_a_day() {
    let with = |ttl: Option<&str>| {
        let mut env = vec![("GENESYS_SECRET_ID", "s")];
        if let Some(ttl) = ttl {
            env.push(("WRAPUP_IDEMPOTENCY_TTL", ttl));
        }
        Settings::from_lookup(|name| {
            env.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| (*v).to_owned())
        })
    };
    let ttl = |t| with(Some(t)).unwrap().idempotency_ttl.as_secs();
    assert_eq!(with(None).unwrap().idempotency_ttl.as_secs(), 86_400);
    assert_eq!(ttl("24h"), 86_400);
    assert_eq!(ttl("90m"), 5_400);
    assert_eq!(ttl("7d"), 604_800);
    assert_eq!(ttl(" 3600 "), 3_600);
    // Empty is unset, as for every variable.
    assert_eq!(with(Some("")).unwrap().idempotency_ttl.as_secs(), 86_400);
    for bad in [
        "1m",
        "31d",
        "ten minutes",
        "24 hours",
        "-1h",
        "99999999999999999999d",
    ] {
        let err = with(Some(bad)).unwrap_err();
        assert_eq!(err.variable, "WRAPUP_IDEMPOTENCY_TTL", "{bad:?}");
        assert!(err.to_string().contains("from 15m to 30d such as"), "{err}");
    }
}

#[test]
fn the_lock_table_is_a_table_name_or_arn() {
    let with = |table: &str| from(&[("GENESYS_SECRET_ID", "g"), ("WRAPUP_LOCK_TABLE", table)]);
    assert_eq!(
        with("wrapup-leases").unwrap().lock_table.as_deref(),
        Some("wrapup-leases")
    );
    let arn = "arn:aws:dynamodb:eu-west-1:123456789012:table/wrapup-leases";
    assert_eq!(with(arn).unwrap().lock_table.as_deref(), Some(arn));
    assert!(from(&[("GENESYS_SECRET_ID", "g")])
        .unwrap()
        .lock_table
        .is_none());
    for bad in [
        "ab",
        "has space",
        "arn:aws:sqs:eu-west-1:1:queue",
        "arn:aws:dynamodb:eu-west-1:1:table/x y",
    ] {
        let err = with(bad).unwrap_err();
        assert_eq!(err.variable, "WRAPUP_LOCK_TABLE", "{bad}");
    }
}

#[test]
fn tls_roots_are_builtin_unless_the_os_bundle_is_asked_for() {
    let with = |pairs: &[(&str, &str)]| {
        let mut env = vec![("GENESYS_SECRET_ID", "s")];
        env.extend_from_slice(pairs);
        from(&env)
    };
    assert_eq!(with(&[]).unwrap().tls_roots, TlsRoots::Builtin);
    assert_eq!(
        with(&[("WRAPUP_TLS_ROOTS", "BuiltIn")]).unwrap().tls_roots,
        TlsRoots::Builtin
    );
    let bundle = std::env::temp_dir().join(format!("bundle-{}.pem", Uuid::new_v4()));
    std::fs::write(&bundle, "").unwrap();
    let path = bundle.to_string_lossy().into_owned();
    assert_eq!(
        with(&[("WRAPUP_TLS_ROOTS", "system"), ("SSL_CERT_FILE", &path)])
            .unwrap()
            .tls_roots,
        TlsRoots::System(bundle.clone())
    );
    std::fs::remove_file(&bundle).unwrap();
    let err = with(&[("WRAPUP_TLS_ROOTS", "system"), ("SSL_CERT_FILE", &path)]).unwrap_err();
    assert_eq!(err.variable, "SSL_CERT_FILE");
    assert!(err.to_string().contains("not a file"), "{err}");
    // Without SSL_CERT_FILE: the distribution's bundle, when there is one.
    match with(&[("WRAPUP_TLS_ROOTS", "system")]) {
        Ok(s) => assert!(
            matches!(&s.tls_roots, TlsRoots::System(p) if CA_BUNDLES.iter().any(|b| p.as_os_str() == *b))
        ),
        Err(e) => assert!(e.to_string().contains("set SSL_CERT_FILE"), "{e}"),
    }
    let err = with(&[("WRAPUP_TLS_ROOTS", "os")]).unwrap_err();
    assert_eq!(err.variable, "WRAPUP_TLS_ROOTS");
    assert!(err.to_string().contains("builtin") && err.to_string().contains("system"));
    // SSL_CERT_FILE alone changes nothing: the builtin roots stay the default.
    assert_eq!(
        with(&[("SSL_CERT_FILE", "/nowhere.pem")])
            .unwrap()
            .tls_roots,
        TlsRoots::Builtin
    );
}

#[test]
fn the_init_prefetch_is_three_seconds_at_most_eight_and_zero_turns_it_off() {
    let with = |value: &str| {
        from(&[
            ("GENESYS_SECRET_ID", "s"),
            ("WRAPUP_INIT_PREFETCH_SECONDS", value),
        ])
    };
    assert_eq!(
        from(&[("GENESYS_SECRET_ID", "s")]).unwrap().init_prefetch,
        Duration::from_secs(3)
    );
    assert_eq!(with("0").unwrap().init_prefetch, Duration::ZERO);
    assert_eq!(with("8").unwrap().init_prefetch, Duration::from_secs(8));
    for bad in ["9", "-1", "soon"] {
        assert_eq!(
            with(bad).unwrap_err().variable,
            "WRAPUP_INIT_PREFETCH_SECONDS"
        );
    }
}

#[test]
fn missing_secret_names_the_variable() {
    let err = from(&[]).unwrap_err();
    assert_eq!(err.variable, "GENESYS_SECRET_ID");
    assert!(err.to_string().contains("GENESYS_SECRET_ID"));
    let err = from(&[("GENESYS_SECRET_ID", "  ")]).unwrap_err();
    assert_eq!(err.variable, "GENESYS_SECRET_ID");
}

#[test]
fn malformed_optional_settings_fail_naming_themselves() {
    let err = from(&[
        ("GENESYS_SECRET_ID", "s"),
        ("SECRET_CACHE_TTL_SECONDS", "five"),
    ])
    .unwrap_err();
    assert_eq!(err.variable, "SECRET_CACHE_TTL_SECONDS");
    let err = from(&[
        ("GENESYS_SECRET_ID", "s"),
        ("GENESYS_API_BASE_URL", "http://api.example.com"),
    ])
    .unwrap_err();
    assert_eq!(err.variable, "GENESYS_API_BASE_URL");
    let err = from(&[
        ("GENESYS_SECRET_ID", "s"),
        ("GENESYS_ENVIRONMENT", "evil.com?x=1"),
    ])
    .unwrap_err();
    assert_eq!(err.variable, "GENESYS_ENVIRONMENT");
    let err = from(&[
        ("GENESYS_SECRET_ID", "s"),
        ("GENESYS_CALL_TIMEOUT_SECONDS", "600"),
    ])
    .unwrap_err();
    assert_eq!(err.variable, "GENESYS_CALL_TIMEOUT_SECONDS");
}

#[test]
fn the_rate_limit_is_the_genesys_budget_shared_by_the_event_source_concurrency() {
    assert_eq!(
        from(&[("GENESYS_SECRET_ID", "s")])
            .unwrap()
            .genesys
            .rate_limit_per_minute,
        300
    );
    let s = from(&[("GENESYS_SECRET_ID", "s"), ("SQS_MAX_CONCURRENCY", "5")]).unwrap();
    assert_eq!(s.genesys.rate_limit_per_minute, 60);
    let s = from(&[
        ("GENESYS_SECRET_ID", "s"),
        ("GENESYS_RATE_LIMIT_PER_MINUTE", "1000"),
    ])
    .unwrap();
    assert_eq!(s.genesys.rate_limit_per_minute, 1000);
}

#[test]
fn enqueue_mode_needs_the_buffer_queue() {
    let err = from(&[("GENESYS_SECRET_ID", "s"), ("WEBHOOK_MODE", "enqueue")]).unwrap_err();
    assert_eq!(err.variable, "BUFFER_QUEUE_URL");
    let s = from(&[
        ("GENESYS_SECRET_ID", "s"),
        ("WEBHOOK_MODE", "enqueue"),
        (
            "BUFFER_QUEUE_URL",
            "https://sqs.eu-west-1.amazonaws.com/1/buffer",
        ),
    ])
    .unwrap();
    assert!(s.handler.webhook.enqueue_to.is_some());
    let err = from(&[("GENESYS_SECRET_ID", "s"), ("WEBHOOK_MODE", "fire")]).unwrap_err();
    assert_eq!(err.variable, "WEBHOOK_MODE");
}

#[test]
fn new_relic_is_off_without_an_account_and_needs_a_key_with_one() {
    assert!(from(&[("GENESYS_SECRET_ID", "s")])
        .unwrap()
        .new_relic
        .is_none());
    let err = from(&[("GENESYS_SECRET_ID", "s"), ("NEW_RELIC_ACCOUNT_ID", "123")]).unwrap_err();
    assert_eq!(err.variable, "NEW_RELIC_LICENSE_KEY_SECRET_ID");
    let s = from(&[
        ("GENESYS_SECRET_ID", "s"),
        ("NEW_RELIC_ACCOUNT_ID", "123"),
        ("NEW_RELIC_LICENSE_KEY", "eu01xxsecret"),
        ("NEW_RELIC_REGION", "eu"),
    ])
    .unwrap();
    let nr = s.new_relic.unwrap();
    assert!(nr.eu && matches!(nr.license_key, LicenseKey::Inline(_)));
    assert!(!format!("{nr:?}").contains("eu01xxsecret"));
}

#[test]
fn org_secrets_and_rules_settings() {
    let s = from(&[
        ("GENESYS_SECRET_ID", "s"),
        (
            "GENESYS_ORG_SECRETS",
            r#"{"0b1f7f4e-1c1d-4a8e-9f55-2f6b7f3d2c10": "arn:org-a"}"#,
        ),
        ("WRAPUP_RULES_PARAMETER", "/wrapup/rules"),
    ])
    .unwrap();
    assert_eq!(s.org_secrets.len(), 1);
    assert_eq!(s.rules, RulesSetting::Parameter("/wrapup/rules".into()));
    let err = from(&[
        ("GENESYS_SECRET_ID", "s"),
        ("GENESYS_ORG_SECRETS", r#"{"acme": "x"}"#),
    ])
    .unwrap_err();
    assert_eq!(err.variable, "GENESYS_ORG_SECRETS");
    let err = from(&[
        ("GENESYS_SECRET_ID", "s"),
        ("WRAPUP_RULES", "[]"),
        ("WRAPUP_RULES_FILE", "r.json"),
    ])
    .unwrap_err();
    assert_eq!(err.variable, "WRAPUP_RULES");
}

#[test]
fn dry_run_is_off_unless_true() {
    assert!(!from(&[("GENESYS_SECRET_ID", "s")]).unwrap().handler.dry_run);
    assert!(
        from(&[("GENESYS_SECRET_ID", "s"), ("WRAPUP_DRY_RUN", "TRUE")])
            .unwrap()
            .handler
            .dry_run
    );
    assert!(
        !from(&[("GENESYS_SECRET_ID", "s"), ("WRAPUP_DRY_RUN", "false")])
            .unwrap()
            .handler
            .dry_run
    );
    let err = from(&[("GENESYS_SECRET_ID", "s"), ("WRAPUP_DRY_RUN", "yes please")]).unwrap_err();
    assert_eq!(err.variable, "WRAPUP_DRY_RUN");
}

#[test]
fn http_is_only_for_loopback() {
    assert!(parse_base_url("http://127.0.0.1:8080").is_ok());
    assert!(parse_base_url("http://localhost:1").is_ok());
    assert!(parse_base_url("http://[::1]:1").is_ok());
    assert!(parse_base_url("https://api.mypurecloud.ie").is_ok());
    assert!(parse_base_url("http://api.mypurecloud.ie").is_err());
    assert!(parse_base_url("ftp://127.0.0.1").is_err());
}

#[test]
fn environments_are_host_suffixes() {
    assert_eq!(
        validate_environment("MyPureCloud.IE").unwrap(),
        "mypurecloud.ie"
    );
    assert!(validate_environment("mypurecloud").is_err());
    assert!(validate_environment("a..b").is_err());
    assert!(validate_environment("evil.com?x=1").is_err());
    // What people paste: the API host, a URL, the login host.
    for pasted in [
        "api.mypurecloud.ie",
        "https://api.mypurecloud.ie/",
        "https://login.mypurecloud.ie/oauth/token",
        " MYPURECLOUD.IE. ",
    ] {
        assert_eq!(
            validate_environment(pasted).unwrap(),
            "mypurecloud.ie",
            "{pasted}"
        );
    }
    assert_eq!(
        validate_environment("usw2.pure.cloud").unwrap(),
        "usw2.pure.cloud"
    );
}
