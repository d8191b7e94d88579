//! The C examples build with pkg-config, against the build tree and against
//! an install prefix, and run.

use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn profile() -> String {
    let exe = std::env::current_exe().unwrap();
    let dir: PathBuf = exe.ancestors().nth(2).unwrap().to_path_buf();
    dir.file_name().unwrap().to_string_lossy().into_owned()
}

fn ok(what: &str, cmd: &mut Command) -> String {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("{what}: cannot run: {e}"));
    assert!(
        out.status.success(),
        "{what} failed ({}):\n{}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn examples_build_with_pkg_config_and_run() {
    let profile = profile();
    // Build tree.
    ok(
        "make -C examples/c",
        Command::new("make")
            .arg("-C")
            .arg(root().join("examples/c"))
            .arg(format!("PROFILE={profile}")),
    );
    let out = ok(
        "examples/c/table",
        &mut Command::new(root().join("examples/c/table")),
    );
    assert!(out.contains("cache destroyed: yes"), "{out}");
    let out = ok(
        "examples/c/sampler",
        &mut Command::new(root().join("examples/c/sampler")),
    );
    assert!(out.contains("pending after the barrier: 0"), "{out}");

    // An install prefix, and the example built against it alone.
    let prefix = std::env::temp_dir().join(format!("krcu-install-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&prefix);
    ok(
        "make -C urcu-ffi install",
        Command::new("make")
            .arg("-C")
            .arg(root().join("urcu-ffi"))
            .arg("install")
            .arg(format!("PROFILE={profile}"))
            .arg(format!("PREFIX={}", prefix.display())),
    );
    let pc = prefix.join("lib/pkgconfig");
    let flags = ok(
        "pkg-config --cflags --libs krcu",
        Command::new("pkg-config")
            .args(["--cflags", "--libs", "krcu"])
            .env("PKG_CONFIG_PATH", &pc),
    );
    let exe = prefix.join("table");
    let mut cc = Command::new("cc");
    cc.args(["-std=c11", "-Wall", "-Wextra", "-Werror", "-pthread"])
        .arg(root().join("examples/c/table.c"))
        .arg("-o")
        .arg(&exe)
        .args(flags.split_whitespace())
        .arg(format!("-Wl,-rpath,{}", prefix.join("lib").display()));
    ok("cc against the installed krcu", &mut cc);
    // cargo test puts target/<profile> on LD_LIBRARY_PATH; the installed
    // program must find the installed library through its rpath alone.
    let ldd = ok(
        "ldd",
        Command::new("ldd").arg(&exe).env_remove("LD_LIBRARY_PATH"),
    );
    assert!(
        ldd.contains(&prefix.join("lib/libkrcu.so.0").display().to_string()),
        "{ldd}"
    );
    let out = ok(
        "the installed-krcu table",
        Command::new(&exe).env_remove("LD_LIBRARY_PATH"),
    );
    assert!(out.contains("cache destroyed: yes"), "{out}");
    let _ = std::fs::remove_dir_all(&prefix);
}
