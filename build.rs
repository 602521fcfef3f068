//! Build script: link options for the `termphone` binary.
//!
//! On glibc 2.36 and later the binary's relative relocations are packed
//! (`-z pack-relative-relocs`, DT_RELR): the table the loader reads at every
//! start shrinks from about 180 KB to a few KB, and with it the memory the
//! phone holds at rest (README, Benchmarks). An older glibc cannot load such
//! a binary, so the option is used only when the C library of the machine
//! building it (which is the one running it) is new enough; cross builds
//! keep the classic table.

use std::process::Command;

/// The first glibc whose loader understands DT_RELR.
const RELR_GLIBC: (u32, u32) = (2, 36);

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    // The `dist` build (scripts/dist.sh) links through scripts/cc-ordered.sh,
    // which reads the layout list: there a new list relinks the binary. Other
    // builds do not depend on these files.
    println!("cargo:rerun-if-env-changed=TERMPHONE_CODE_LAYOUT");
    if std::env::var_os("TERMPHONE_CODE_LAYOUT").is_some() {
        println!("cargo:rerun-if-changed=scripts/cc-ordered.sh");
        println!("cargo:rerun-if-changed=scripts/layout/functions.sh");
        println!("cargo:rerun-if-changed=scripts/layout/order.txt");
    }
    let var = |name: &str| std::env::var(name).unwrap_or_default();
    let native = var("HOST") == var("TARGET");
    let gnu_linux = var("CARGO_CFG_TARGET_OS") == "linux" && var("CARGO_CFG_TARGET_ENV") == "gnu";
    if native && gnu_linux && glibc_version().is_some_and(|v| v >= RELR_GLIBC) {
        println!("cargo:rustc-link-arg-bins=-Wl,-z,pack-relative-relocs");
    }
}

/// The glibc version of this machine, from `getconf GNU_LIBC_VERSION`
/// ("glibc 2.36").
fn glibc_version() -> Option<(u32, u32)> {
    let out = Command::new("getconf")
        .arg("GNU_LIBC_VERSION")
        .output()
        .ok()?;
    let text = String::from_utf8(out.stdout).ok()?;
    let version = text.trim().strip_prefix("glibc ")?;
    let mut parts = version.split('.');
    let major = parts.next()?.parse().ok()?;
    let minor = parts
        .next()?
        .chars()
        .take_while(char::is_ascii_digit)
        .collect::<String>()
        .parse()
        .ok()?;
    Some((major, minor))
}
