//! Regenerates `include/krcu.h` from urcu-ffi's exports with cbindgen,
//! writing it only when its content changes (so an unchanged header keeps
//! its timestamp and nothing that includes it rebuilds).
//!
//! The header is checked in; `tests/header.rs` fails when the checked-in
//! file differs from what the sources generate.

#[path = "urcu-ffi/header.rs"]
mod header;

use std::path::Path;

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for watched in [
        "urcu-ffi/src",
        "urcu-ffi/cbindgen.toml",
        "urcu-ffi/header.rs",
        "urcu-ffi/include/krcu_api.h",
        "urcu-ffi/include/krcu_trailer.h",
        "urcu-ffi/include/krcu_read_side.h",
        "include/krcu.h",
    ] {
        println!("cargo:rerun-if-changed={watched}");
    }
    let text = match header::generate(&root.join("urcu-ffi"), env!("CARGO_PKG_VERSION")) {
        Ok(h) => h,
        Err(e) => {
            println!("cargo:warning=include/krcu.h not regenerated: {e}");
            return;
        }
    };
    let out = root.join("include/krcu.h");
    if std::fs::read_to_string(&out).ok().as_deref() != Some(text.as_str()) {
        std::fs::create_dir_all(out.parent().unwrap()).expect("create include/");
        std::fs::write(&out, text).expect("write include/krcu.h");
    }
}
