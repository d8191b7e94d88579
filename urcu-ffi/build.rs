//! libkrcu.so carries the soname of its major version, so programs linked
//! against it keep working across compatible releases; and the C file with
//! the initial-exec thread-local of the inline read side is compiled in.

fn main() {
    let major = env!("CARGO_PKG_VERSION_MAJOR");
    println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libkrcu.so.{major}");
    println!("cargo:rerun-if-changed=src/tls.c");
    println!("cargo:rerun-if-changed=exports.map");
    let map = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("exports.map");
    println!(
        "cargo:rustc-cdylib-link-arg=-Wl,--version-script={}",
        map.display()
    );
    cc::Build::new()
        .file("src/tls.c")
        .flag("-fPIC")
        .compile("krcu_tls");
}
