//! Entry point: the Lambda runtime when started with no arguments, else the CLI.

use std::process::ExitCode;

/// mimalloc: every event allocates and frees a few hundred small buffers (HTTP heads, JSON
/// trees); glibc's malloc spent about 7% of a warm event on them.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// One thread: Lambda runs one invocation at a time per process and often gives it a fraction of
/// a vCPU, so a work-stealing pool only adds cross-thread wake-ups. Batches still run their
/// messages concurrently: the work is I/O.
#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    genesys_wrapup::init_logging();
    // On the heap: the command's future holds every command's state (the Lambda loop, doctor,
    // redrive), over 100 KB, and a stack frame that size is touched page by page (a page fault
    // each) before the first line runs, at every cold start. docs/performance.md, "Start-up".
    Box::pin(genesys_wrapup::run(std::env::args().skip(1).collect())).await
}
