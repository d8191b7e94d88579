//! The C drivers: `benches/c/driver.c` built against liburcu (when it is
//! installed) and against libkrcu, and where the benchmark keeps its files.

use crate::model::Impl;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

/// `target/krcu-bench`, created if need be.
pub fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("current_exe");
    // target/release/deps/side_by_side-HASH -> target/krcu-bench
    let target = exe
        .ancestors()
        .nth(3)
        .unwrap_or(Path::new("."))
        .to_path_buf();
    let dir = target.join("krcu-bench");
    std::fs::create_dir_all(&dir).expect("create target/krcu-bench");
    dir
}

/// Compiles the C driver (`benches/c/driver.c`) into `bin` with `args`.
fn compile_driver(bin: &Path, args: &[String]) -> Result<(), String> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/c/driver.c");
    let outp = Command::new("cc")
        .args(["-O2", "-std=gnu11", "-o"])
        .arg(bin)
        .arg(&src)
        .args(args)
        .output()
        .map_err(|e| format!("cannot run cc: {e}"))?;
    if !outp.status.success() {
        return Err(String::from_utf8_lossy(&outp.stderr)
            .lines()
            .next()
            .unwrap_or("")
            .to_owned());
    }
    Ok(())
}

/// Where the liburcu drivers find liburcu: `LIBURCU_PREFIX=DIR` names an
/// install (`DIR/include`, `DIR/lib`, e.g. one built from liburcu's source
/// with `./configure --prefix=DIR`); unset, the system's.
pub fn liburcu_prefix() -> Option<PathBuf> {
    std::env::var_os("LIBURCU_PREFIX")
        .filter(|p| !p.is_empty())
        .map(PathBuf::from)
}

/// The version of the liburcu the drivers build against, as its
/// pkg-config module says (None when pkg-config does not know it).
pub fn liburcu_version() -> Option<String> {
    let mut cmd = Command::new("pkg-config");
    cmd.args(["--modversion", "liburcu"]);
    if let Some(p) = liburcu_prefix() {
        cmd.env("PKG_CONFIG_LIBDIR", p.join("lib/pkgconfig"));
    }
    let out = cmd.output().ok().filter(|o| o.status.success())?;
    Some(String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

/// Builds the liburcu drivers (memb and qsbr with liburcu's inline read
/// side, memb with its exported one); Err (with the reason) when liburcu is
/// absent.
pub fn build_liburcu() -> Result<BTreeMap<Impl, PathBuf>, String> {
    let prefix = liburcu_prefix();
    let mut bins = BTreeMap::new();
    for (imp, flavor, extra) in [
        (Impl::LiburcuMemb, "memb", None),
        (Impl::LiburcuQsbr, "qsbr", Some("-DFLAVOR_QSBR")),
        (Impl::LiburcuMembCall, "memb", Some("-DLIBURCU_CALL")),
    ] {
        let bin = target_dir().join(format!("driver_{}", imp.name()));
        let mut args: Vec<String> = extra.into_iter().map(String::from).collect();
        if let Some(p) = &prefix {
            let lib = p.join("lib");
            args.extend([
                format!("-I{}", p.join("include").display()),
                format!("-L{}", lib.display()),
                format!("-Wl,-rpath,{}", lib.display()),
            ]);
        }
        args.extend([
            format!("-lurcu-{flavor}"),
            "-lurcu-common".into(),
            "-lpthread".into(),
        ]);
        compile_driver(&bin, &args)?;
        bins.insert(imp, bin);
    }
    Ok(bins)
}

/// Builds the same driver against libkrcu's C API (release build of
/// urcu-ffi): with the inline read side (`krcu-c`) and with the exported
/// one (`krcu-c-call`).
pub fn build_krcu_c() -> Result<BTreeMap<Impl, PathBuf>, String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = Command::new(cargo)
        .args(["build", "--quiet", "--release", "-p", "urcu-ffi"])
        .current_dir(root)
        .status()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    if !status.success() {
        return Err("building urcu-ffi failed".into());
    }
    let lib = target_dir().parent().unwrap().join("release");
    let soname = lib.join("libkrcu.so.0");
    let _ = std::fs::remove_file(&soname);
    std::os::unix::fs::symlink(lib.join("libkrcu.so"), &soname).map_err(|e| e.to_string())?;
    let mut bins = BTreeMap::new();
    for (imp, extra) in [
        (Impl::KrcuC, None),
        (Impl::KrcuCCall, Some("-DKRCU_NO_INLINE")),
    ] {
        let bin = target_dir().join(format!("driver_{}", imp.name()));
        let mut args: Vec<String> = vec![
            "-DUSE_KRCU".into(),
            format!("-I{}", root.join("include").display()),
        ];
        args.extend(extra.map(String::from));
        args.extend([
            format!("-L{}", lib.display()),
            "-lkrcu".into(),
            format!("-Wl,-rpath,{}", lib.display()),
            "-lpthread".into(),
        ]);
        compile_driver(&bin, &args)?;
        bins.insert(imp, bin);
    }
    Ok(bins)
}

/// liburcu's test programs the compat workload runs: (name, source file in
/// liburcu's tests/benchmark, liburcu flavor library, extra flags), from
/// liburcu's tests/benchmark/Makefile.am. The timing programs (which print
/// cycles, not rates) and the yield ones (which inject delays) are left
/// out.
pub const COMPAT_PROGRAMS: [(&str, &str, &str, &str); 13] = [
    ("test_urcu", "test_urcu.c", "memb", ""),
    (
        "test_urcu_dynamic_link",
        "test_urcu.c",
        "memb",
        "-DDYNAMIC_LINK_TEST",
    ),
    ("test_urcu_mb", "test_urcu.c", "mb", "-DRCU_MB"),
    ("test_urcu_signal", "test_urcu.c", "signal", "-DRCU_SIGNAL"),
    ("test_urcu_bp", "test_urcu_bp.c", "bp", ""),
    ("test_urcu_qsbr", "test_urcu_qsbr.c", "qsbr", ""),
    (
        "test_urcu_qsbr_dynamic_link",
        "test_urcu_qsbr.c",
        "qsbr",
        "-DDYNAMIC_LINK_TEST",
    ),
    ("test_urcu_gc", "test_urcu_gc.c", "memb", ""),
    ("test_urcu_lgc", "test_urcu_gc.c", "memb", "-DTEST_LOCAL_GC"),
    ("test_urcu_qsbr_gc", "test_urcu_qsbr_gc.c", "qsbr", ""),
    (
        "test_urcu_qsbr_lgc",
        "test_urcu_qsbr_gc.c",
        "qsbr",
        "-DTEST_LOCAL_GC",
    ),
    ("test_urcu_assign", "test_urcu_assign.c", "memb", ""),
    ("test_urcu_defer", "test_urcu_defer.c", "memb", ""),
];

/// Where the compat workload's programs for `imp` are.
pub fn compat_dir(imp: Impl) -> PathBuf {
    target_dir().join("compat").join(imp.name())
}

/// Builds liburcu's test programs twice, unmodified: with krcu-urcu's
/// flags against libkrcu (release), and against liburcu. A program that
/// does not build against this liburcu (liburcu 0.15 has no signal
/// flavor) runs on neither side: returned, with the reason, for a notice.
/// Err (with the reason) when liburcu or its source package cannot be had,
/// or a program does not build against krcu-urcu.
pub fn build_compat() -> Result<Vec<String>, String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    if liburcu_version().is_none() {
        return Err("liburcu is not installed".into());
    }
    let out = Command::new("bash")
        .arg(root.join("tests/liburcu-source.sh"))
        .stderr(std::process::Stdio::null())
        .output()
        .map_err(|e| format!("cannot run tests/liburcu-source.sh: {e}"))?;
    if !out.status.success() {
        return Err(
            "liburcu's source package could not be fetched (apt-get source liburcu)".into(),
        );
    }
    let src = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    let lib = target_dir().parent().unwrap().join("release");
    let prefix = liburcu_prefix();
    let mut skipped = Vec::new();
    for imp in [Impl::Liburcu, Impl::KrcuUrcu] {
        let dir = compat_dir(imp);
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
        for (name, file, flavor, extra) in COMPAT_PROGRAMS {
            if skipped.iter().any(|(s, _)| *s == name) {
                continue;
            }
            let mut cmd = Command::new("cc");
            // What liburcu's configure defines on glibc/Linux (config.h).
            cmd.args(["-O2", "-pthread", "-D_GNU_SOURCE", "-DHAVE_RAND_R"])
                .args(["-DHAVE_SCHED_SETAFFINITY", "-DHAVE_GETTID"])
                .args(extra.split_whitespace());
            if imp == Impl::KrcuUrcu {
                cmd.arg(format!("-I{}", root.join("include/urcu-compat").display()))
                    .arg(format!("-I{}", root.join("include").display()));
            } else if let Some(p) = &prefix {
                cmd.arg(format!("-I{}", p.join("include").display()));
            }
            for d in ["tests/common", "tests/utils", "src"] {
                cmd.arg(format!("-I{}", src.join(d).display()));
            }
            cmd.arg(src.join("tests/benchmark").join(file))
                .arg(src.join("tests/common/debug-yield.c"))
                .arg("-o")
                .arg(dir.join(name));
            if imp == Impl::KrcuUrcu {
                cmd.arg(format!("-L{}", lib.display()))
                    .arg("-lkrcu")
                    .arg(format!("-Wl,-rpath,{}", lib.display()));
            } else {
                if let Some(p) = &prefix {
                    let l = p.join("lib");
                    cmd.arg(format!("-L{}", l.display()))
                        .arg(format!("-Wl,-rpath,{}", l.display()));
                }
                cmd.arg(format!("-lurcu-{flavor}")).arg("-lurcu-common");
            }
            let o = cmd.output().map_err(|e| format!("cannot run cc: {e}"))?;
            if !o.status.success() && imp == Impl::Liburcu {
                let why = String::from_utf8_lossy(&o.stderr);
                let why = why.lines().find(|l| l.contains("error")).unwrap_or("");
                skipped.push((
                    name,
                    format!("{name} (it does not build against this liburcu: {why})"),
                ));
                continue;
            }
            if !o.status.success() {
                return Err(format!(
                    "{name} did not build against {}: {}",
                    imp.name(),
                    String::from_utf8_lossy(&o.stderr)
                        .lines()
                        .next()
                        .unwrap_or("")
                ));
            }
        }
    }
    Ok(skipped.into_iter().map(|(_, why)| why).collect())
}
