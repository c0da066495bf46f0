//! Entry point: the Lambda runtime when started with no arguments, else the `invoke`/`sign` CLI.

use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    genesys_wrapup::telemetry::init_logging();
    genesys_wrapup::cli::main(std::env::args().skip(1).collect()).await
}
