//! What the commands print: stdout for the result (one JSON document, or lines for a person),
//! stderr for everything else. A closed pipe (`... | head`) ends the output quietly instead of
//! panicking, as `println!` would.

use std::io::Write;

/// What a usage error exits with (and a missing or unreadable input).
pub(super) const USAGE: u8 = 2;

/// Writes `text` and a newline to stdout; false when stdout is gone (a closed pipe).
pub(super) fn line(text: &str) -> bool {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{text}").and_then(|_| out.flush()).is_ok()
}

/// Writes `text` as it is to stdout (it carries its own newlines).
pub(super) fn text(text: &str) -> bool {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())
        .and_then(|_| out.flush())
        .is_ok()
}

/// Exactly one JSON document on stdout.
pub(super) fn json(value: &impl serde::Serialize) -> bool {
    match serde_json::to_string(value) {
        Ok(text) => line(&text),
        Err(e) => {
            problem(&format!("could not print the result: {e}"));
            false
        }
    }
}

/// One line on stderr, for a person.
pub(super) fn problem(text: &str) {
    let _ = writeln!(std::io::stderr().lock(), "{text}");
}
