//! The `termphone` binary: CLI (CONTROL.md "Running").
fn main() {}
