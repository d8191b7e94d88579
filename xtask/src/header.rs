//! Generates `include/krcu.h` with cbindgen: `cargo xtask header` writes
//! it, and `tests/header.rs` checks that the checked-in file is what the
//! sources generate. Users' builds never run cbindgen: the header is
//! checked in.

use std::path::Path;

/// The header's text for the crate at `ffi` (urcu-ffi) and `version`: the
/// cbindgen output with the version macros, `KRCU_API` and the
/// hand-written trailer.
pub fn generate(ffi: &Path, version: &str) -> Result<String, String> {
    let mut config =
        cbindgen::Config::from_file(ffi.join("cbindgen.toml")).map_err(|e| e.to_string())?;
    let mut parts = version.split('.');
    let mut next = || parts.next().unwrap_or("0").to_owned();
    let (major, minor, patch) = (next(), next(), next());
    let read = |name: &str| {
        std::fs::read_to_string(ffi.join("include").join(name)).map_err(|e| e.to_string())
    };
    config.after_includes = Some(format!(
        "\n#define KRCU_VERSION_MAJOR {major}\n#define KRCU_VERSION_MINOR {minor}\n#define KRCU_VERSION_PATCH {patch}\n#define KRCU_VERSION_STRING \"{version}\"\n\n{}",
        read("krcu_api.h")?
    ));
    config.trailer = Some(format!(
        "{}\n{}",
        read("krcu_trailer.h")?,
        read("krcu_read_side.h")?
    ));
    let mut buf = Vec::new();
    cbindgen::Builder::new()
        .with_config(config)
        .with_crate(ffi)
        .generate()
        .map_err(|e| e.to_string())?
        .write(&mut buf);
    String::from_utf8(buf).map_err(|e| e.to_string())
}
