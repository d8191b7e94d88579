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

/// The cargo target directory this test was built in (the Makefiles use
/// the same, through CARGO_TARGET_DIR).
fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    exe.ancestors().nth(3).unwrap().to_path_buf()
}

/// `make -C <dir> args...` in this test's target directory.
fn make(dir: &str, args: &[&str]) -> Command {
    let mut cmd = Command::new("make");
    cmd.arg("-C")
        .arg(root().join(dir))
        .arg(format!("PROFILE={}", profile()))
        .args(args)
        .env("CARGO_TARGET_DIR", target_dir());
    cmd
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
    // Build tree.
    ok("make -C examples/c", &mut make("examples/c", &[]));
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
}

/// `make install` and `make uninstall` behave as an autotools library's:
/// DESTDIR stages without changing the paths the .pc files name; the
/// installed libraries are stripped, the shared one's debug info beside
/// it in .debug/ (found through its debuglink); the examples build and run
/// against the install alone, and `pkg-config --static` links a fully
/// static program; uninstall leaves nothing; CARGO_TARGET_DIR is where the
/// library is taken from.
#[test]
fn install_and_uninstall_like_an_autotools_library() {
    let base = std::env::temp_dir().join(format!("krcu-install-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&base);
    let prefix = base.join("opt/krcu");
    let stage = base.join("stage");
    let prefix_arg = format!("PREFIX={}", prefix.display());
    let stage_arg = format!("DESTDIR={}", stage.display());

    // Staged: every file under DESTDIR, the .pc files naming PREFIX.
    ok(
        "make install DESTDIR",
        &mut make("urcu-ffi", &["install", &prefix_arg, &stage_arg]),
    );
    let staged = |p: &Path| stage.join(p.strip_prefix("/").unwrap());
    let staged_pc = std::fs::read_to_string(staged(&prefix.join("lib/pkgconfig/krcu.pc"))).unwrap();
    assert!(
        staged_pc.contains(&format!("libdir={}/lib", prefix.display()))
            && !staged_pc.contains(&stage.display().to_string()),
        "{staged_pc}"
    );
    let files = installed_files(&stage);
    ok(
        "make uninstall DESTDIR",
        &mut make("urcu-ffi", &["uninstall", &prefix_arg, &stage_arg]),
    );
    let left = installed_files(&stage);
    assert!(
        left.is_empty(),
        "uninstall left {left:?} of {} files",
        files.len()
    );

    // Installed for real.
    ok(
        "make install",
        &mut make("urcu-ffi", &["install", &prefix_arg]),
    );
    let lib = prefix.join("lib");
    let so = std::fs::read_link(lib.join("libkrcu.so.0")).unwrap();
    let so = lib.join(so);
    let sections = ok("readelf -S", Command::new("readelf").arg("-S").arg(&so));
    assert!(
        !sections.contains(".debug_info") && sections.contains(".gnu_debuglink"),
        "the installed libkrcu.so is not stripped with a debug link:\n{sections}"
    );
    let debug = lib.join(".debug").join(format!(
        "{}.debug",
        so.file_name().unwrap().to_string_lossy()
    ));
    let debug_sections = ok("readelf -S", Command::new("readelf").arg("-S").arg(&debug));
    assert!(debug_sections.contains(".debug_info"), "{debug_sections}");
    let archive = ok(
        "readelf -S",
        Command::new("readelf").arg("-S").arg(lib.join("libkrcu.a")),
    );
    assert!(
        !archive.contains(".debug_info"),
        "libkrcu.a is not stripped of debug info"
    );

    // A man page, or a .so link to one, for every function libkrcu
    // exports under krcu.h's names, and the overview.
    let man = prefix.join("share/man");
    assert!(man.join("man7/krcu.7").is_file());
    let exports = ok(
        "nm -D",
        Command::new("nm").args(["-D", "--defined-only"]).arg(&so),
    );
    let missing: Vec<&str> = exports
        .lines()
        .filter_map(|l| l.split_whitespace().nth(2))
        .filter(|n| n.starts_with("krcu_") && !n.starts_with("krcu__"))
        .filter(|n| !man.join(format!("man3/{n}.3")).is_file())
        .collect();
    assert!(missing.is_empty(), "no man page for {missing:?}");
    for entry in std::fs::read_dir(man.join("man3")).unwrap() {
        let page = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        if let Some(target) = page.strip_prefix(".so ") {
            assert!(man.join(target.trim()).is_file(), "a .so link to {target}");
        }
    }

    // An install prefix, and the example built against it alone.
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

    // pkg-config --static: fully static programs, for both modules.
    for (module, example, says) in [
        ("krcu", "table", "cache destroyed: yes"),
        ("krcu-urcu", "urcu_config", "bad snapshots 0"),
    ] {
        let static_exe = prefix.join(format!("{example}-static"));
        let flags = String::from_utf8(
            Command::new("pkg-config")
                .args(["--static", "--cflags", "--libs", module])
                .env("PKG_CONFIG_PATH", &pc)
                .output()
                .unwrap()
                .stdout,
        )
        .unwrap();
        ok(
            &format!("cc -static {example}.c $(pkg-config --static --libs {module})"),
            Command::new("cc")
                .args(["-static", "-std=c11", "-pthread"])
                .arg(root().join(format!("examples/c/{example}.c")))
                .arg("-o")
                .arg(&static_exe)
                .args(flags.split_whitespace()),
        );
        let dynamic = ok(
            "readelf -d",
            Command::new("readelf").arg("-d").arg(&static_exe),
        );
        assert!(
            !dynamic.contains("NEEDED"),
            "not a static executable:\n{dynamic}"
        );
        let out = ok(
            &format!("the static {example}"),
            &mut Command::new(&static_exe),
        );
        assert!(out.contains(says), "{out}");
        std::fs::remove_file(&static_exe).unwrap();
    }
    for example in ["table", "urcu_config"] {
        std::fs::remove_file(prefix.join(example)).unwrap();
    }

    ok(
        "make uninstall",
        &mut make("urcu-ffi", &["uninstall", &prefix_arg]),
    );
    let left = installed_files(&prefix);
    assert!(left.is_empty(), "uninstall left {left:?}");

    // CARGO_TARGET_DIR is where the library is taken from and built.
    let elsewhere = base.join("elsewhere-target");
    let plan = ok(
        "make -n install with CARGO_TARGET_DIR",
        make("urcu-ffi", &["-n", "install", &prefix_arg]).env("CARGO_TARGET_DIR", &elsewhere),
    );
    let from = format!("{}/{}/libkrcu.so", elsewhere.display(), profile());
    assert!(
        plan.contains(&from) && !plan.contains(&format!("{}/target/", root().display())),
        "make install ignores CARGO_TARGET_DIR:\n{plan}"
    );
    let _ = std::fs::remove_dir_all(&base);
}

/// Files and symlinks under `dir`, recursively.
fn installed_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for e in entries {
        let e = e.unwrap();
        let t = e.file_type().unwrap();
        if t.is_dir() {
            out.extend(installed_files(&e.path()));
        } else {
            out.push(e.path());
        }
    }
    out
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
        &mut make("examples/c", &["liburcu"]),
    );
    run_urcu_config(&["urcu_config.liburcu", "urcu_config_qsbr.liburcu"]);
}

/// The man pages render without a warning from groff (skipped, with a
/// notice, where groff is not installed).
#[test]
fn man_pages_render_without_warnings() {
    if Command::new("groff").arg("--version").output().is_err() {
        eprintln!("notice: groff is not installed; skipping the man page check");
        return;
    }
    for section in ["man3", "man7"] {
        for entry in std::fs::read_dir(root().join("man").join(section)).unwrap() {
            let page = entry.unwrap().path();
            let out = Command::new("groff")
                .args(["-man", "-Tutf8", "-ww", "-z"])
                .arg(&page)
                .output()
                .unwrap();
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert!(
                out.status.success() && stderr.trim().is_empty(),
                "{}: {stderr}",
                page.display()
            );
        }
    }
}
