//! Links the function's binary at a fixed address (`-no-pie`) on Linux.
//!
//! A position-independent executable is relocated by the dynamic loader at every start: for this
//! binary about 33,000 pointers in `.data.rel.ro` and `.data`, which writes (and so copies) every
//! one of their ~150 pages before `main` runs. Linked at a fixed address, those pointers are final
//! in the file, and a page is read from the page cache only if the function touches it. That is
//! the largest single part of a cold start's INIT the function can remove: docs/performance.md
//! ("Start-up") has the numbers and docs/security.md what it costs (the binary's own image is
//! not randomised; its heap, stack and libraries still are).
//!
//! Only the binaries are linked this way, and only on Linux with glibc: the libraries, proc
//! macros and test harnesses keep the platform's defaults. It works with every linker this project
//! is built with: `cc` with `lld` or `bfd` locally, and `zig cc`, which cargo-lambda uses for
//! the arm64 package.

fn main() {
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let env = std::env::var("CARGO_CFG_TARGET_ENV").unwrap_or_default();
    if os == "linux" && env == "gnu" {
        println!("cargo:rustc-link-arg-bins=-no-pie");
    }
    println!("cargo:rerun-if-changed=build.rs");
}
