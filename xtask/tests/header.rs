//! The checked-in `include/krcu.h` is what urcu-ffi's sources generate, and
//! its version macros are the crate's version.

use std::path::Path;
use xtask::header;

fn root() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

#[test]
fn checked_in_header_is_not_stale() {
    let fresh = header::generate(&root().join("urcu-ffi"), env!("CARGO_PKG_VERSION")).unwrap();
    let checked_in = std::fs::read_to_string(root().join("include/krcu.h")).unwrap();
    assert!(
        fresh == checked_in,
        "include/krcu.h is stale: run `cargo xtask header` and commit it"
    );
}

#[test]
fn version_macros_match_cargo_toml() {
    let text = std::fs::read_to_string(root().join("include/krcu.h")).unwrap();
    let macro_value = |name: &str| -> String {
        let line = text
            .lines()
            .find(|l| l.starts_with(&format!("#define {name} ")))
            .unwrap_or_else(|| panic!("{name} missing"));
        line.split_whitespace()
            .nth(2)
            .unwrap()
            .trim_matches('"')
            .to_owned()
    };
    let cargo_toml = std::fs::read_to_string(root().join("Cargo.toml")).unwrap();
    let version = cargo_toml
        .lines()
        .skip_while(|l| l.trim() != "[workspace.package]")
        .find_map(|l| l.strip_prefix("version = "))
        .unwrap()
        .trim_matches('"');
    let mut parts = version.split('.');
    assert_eq!(macro_value("KRCU_VERSION_MAJOR"), parts.next().unwrap());
    assert_eq!(macro_value("KRCU_VERSION_MINOR"), parts.next().unwrap());
    assert_eq!(macro_value("KRCU_VERSION_PATCH"), parts.next().unwrap());
    assert_eq!(macro_value("KRCU_VERSION_STRING"), version);
}
