//! libkrcu.so carries the soname of its major version, so programs linked
//! against it keep working across compatible releases.

fn main() {
    let major = env!("CARGO_PKG_VERSION_MAJOR");
    println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libkrcu.so.{major}");
}
