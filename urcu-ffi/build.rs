//! libkrcu.so carries the soname of its major version, so programs linked
//! against it keep working across compatible releases; it is marked
//! `nodelete`, so a `dlclose` never unmaps code its helper threads run;
//! and the C part of
//! the read side (read_side.c: the initial-exec thread-local and the
//! exported krcu_read_lock/unlock) and liburcu's flavor structures
//! (liburcu/flavor.c) are compiled in.

fn main() {
    let major = env!("CARGO_PKG_VERSION_MAJOR");
    println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libkrcu.so.{major}");
    // dlclose never unmaps the library: its helper threads run its code
    // until the process ends.
    println!("cargo:rustc-cdylib-link-arg=-Wl,-z,nodelete");
    println!("cargo:rerun-if-changed=src/read_side.c");
    println!("cargo:rerun-if-changed=src/liburcu/flavor.c");
    println!("cargo:rerun-if-changed=../include/urcu-compat");
    println!("cargo:rerun-if-changed=include/krcu_read_side.h");
    println!("cargo:rerun-if-changed=include/krcu_api.h");
    println!("cargo:rerun-if-changed=exports.map");
    let map = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("exports.map");
    println!(
        "cargo:rustc-cdylib-link-arg=-Wl,--version-script={}",
        map.display()
    );
    cc::Build::new()
        .file("src/read_side.c")
        .flag("-fPIC")
        .flag("-std=gnu11")
        // Two calls per read section from C: no frame to set up.
        .flag("-fomit-frame-pointer")
        .compile("krcu_read_side");
    // liburcu's flavor structures, defined against the compat headers.
    // Nothing in Rust refers to them, so the whole archive is linked in.
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    cc::Build::new()
        .file("src/liburcu/flavor.c")
        .include(root.join("include/urcu-compat"))
        .include(root.join("include"))
        .flag("-fPIC")
        .flag("-std=gnu11")
        .link_lib_modifier("+whole-archive")
        .compile("krcu_liburcu_flavor");
}
