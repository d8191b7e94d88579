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

/// `pkg-config --cflags --libs module` against the pkg-config files in `pc`.
fn pkg_flags(pc: &Path, module: &str) -> String {
    ok(
        &format!("pkg-config --cflags --libs {module}"),
        Command::new("pkg-config")
            .args(["--cflags", "--libs", module])
            .env("PKG_CONFIG_PATH", pc),
    )
}

/// Builds examples/c/`example`.c against the install `prefix` through
/// `module`, with an rpath to the installed library; returns the program.
fn build_installed(prefix: &Path, module: &str, example: &str) -> PathBuf {
    let flags = pkg_flags(&prefix.join("lib/pkgconfig"), module);
    let exe = prefix.join(example);
    let mut cc = Command::new("cc");
    // -H: the compiler lists every header it opens on stderr.
    cc.args(["-std=c11", "-Wall", "-Wextra", "-Werror", "-pthread", "-H"])
        .arg(root().join("examples/c").join(format!("{example}.c")))
        .arg("-o")
        .arg(&exe)
        .args(flags.split_whitespace())
        .arg(format!("-Wl,-rpath,{}", prefix.join("lib").display()));
    let out = cc.output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "cc {example}.c against the installed {module}:\n{stderr}"
    );
    // Every krcu or liburcu header comes from the install: none from the
    // build tree, none from an installed liburcu of the same names.
    let strays: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with('.'))
        .map(|l| l.trim_start_matches('.').trim())
        .filter(|h| h.contains("urcu") || h.contains("krcu"))
        .filter(|h| !Path::new(h).starts_with(prefix))
        .collect();
    assert!(
        strays.is_empty(),
        "{example}.c against the installed {module} used headers from outside the install: {strays:?}"
    );
    exe
}

/// Runs builds of examples/c/urcu_config.c: every snapshot whole, every
/// old one freed.
fn run_urcu_config(progs: &[&str]) {
    for prog in progs {
        let out = ok(
            &format!("examples/c/{prog}"),
            &mut Command::new(root().join("examples/c").join(prog)),
        );
        assert!(
            out.contains("freed 20000 of 20000, bad snapshots 0"),
            "{prog}: {out}"
        );
    }
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
    // Written against liburcu's API, built with `pkg-config krcu-urcu`.
    run_urcu_config(&["urcu_config", "urcu_config_qsbr"]);

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
    let exe = build_installed(&prefix, "krcu", "table");
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

    // The liburcu program against the installed krcu-urcu module alone,
    // whose flags put the compat headers first.
    let flags = pkg_flags(&pc, "krcu-urcu");
    assert!(
        flags.starts_with(&format!(
            "-I{}",
            prefix.join("include/urcu-compat").display()
        )),
        "the compat headers come first: {flags}"
    );
    let exe = build_installed(&prefix, "krcu-urcu", "urcu_config");
    let out = ok(
        "the installed-krcu urcu_config",
        Command::new(&exe).env_remove("LD_LIBRARY_PATH"),
    );
    assert!(out.contains("bad snapshots 0"), "{out}");
    let _ = std::fs::remove_dir_all(&prefix);
}

/// The same liburcu program builds, unchanged, against liburcu itself
/// (when its pkg-config modules are installed), and behaves the same.
#[test]
fn the_liburcu_example_builds_against_liburcu_too() {
    let have = Command::new("pkg-config")
        .args(["--exists", "liburcu", "liburcu-qsbr"])
        .status()
        .is_ok_and(|s| s.success());
    if !have {
        eprintln!("notice: liburcu's pkg-config modules are missing; skipping the liburcu build");
        return;
    }
    ok(
        "make -C examples/c liburcu",
        Command::new("make")
            .arg("-C")
            .arg(root().join("examples/c"))
            .arg("liburcu"),
    );
    run_urcu_config(&["urcu_config.liburcu", "urcu_config_qsbr.liburcu"]);
}
