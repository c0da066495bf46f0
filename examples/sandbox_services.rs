//! The sandbox's services on loopback for a local Lambda emulator (`cargo lambda watch`): the
//! Genesys Cloud emulator with the demo org, and Secrets Manager holding the sandbox's secrets.
//! Prints the environment the function needs, then serves until interrupted.
//!
//! ```sh
//! cargo run --example sandbox_services > /tmp/sandbox.env &
//! set -a; . /tmp/sandbox.env; set +a
//! cargo lambda watch
//! ```
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a harness: a failed setup stops the run

use genesys_wrapup::sandbox::{demo, secrets_manager, Sandbox};

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let sandbox = Sandbox::start().await?;
    let secrets = secrets_manager(sandbox.secrets.clone()).await?;
    let genesys = sandbox.emulator.base_url().to_string();
    let genesys = genesys.trim_end_matches('/');
    for (name, value) in [
        ("GENESYS_SECRET_ID", demo::GENESYS_SECRET_ID.to_owned()),
        ("WEBHOOK_SECRET_ID", demo::WEBHOOK_SECRET_ID.to_owned()),
        ("GENESYS_API_BASE_URL", genesys.to_owned()),
        ("GENESYS_LOGIN_BASE_URL", genesys.to_owned()),
        (
            "AWS_ENDPOINT_URL_SECRETS_MANAGER",
            format!("http://{}", secrets.addr),
        ),
        ("AWS_REGION", "eu-west-1".to_owned()),
        ("AWS_ACCESS_KEY_ID", "sandbox".to_owned()),
        ("AWS_SECRET_ACCESS_KEY", "sandbox".to_owned()),
        (
            "WRAPUP_RULES_FILE",
            format!("{}/rules/sandbox.json", env!("CARGO_MANIFEST_DIR")),
        ),
    ] {
        println!("{name}={value}");
    }
    eprintln!("sandbox services running; Ctrl-C stops them");
    tokio::signal::ctrl_c().await
}
