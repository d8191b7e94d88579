//! The C face from C: the programs under `tests/c/` are compiled with
//! `cc -std=c11 -Wall -Wextra -Werror -pthread` against `include/krcu.h`,
//! linked to `libkrcu.so` (and once to `libkrcu.a`), and run; the API test
//! and the torture once more under AddressSanitizer; misuse cases must abort
//! with their message; the header must also compile as C++.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// target/<profile>, where this test and libkrcu were built.
fn profile_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    exe.ancestors().nth(2).unwrap().to_path_buf()
}

/// A directory holding `libkrcu.so.0` (the soname) for the built library.
/// urcu-ffi is built (or found up to date) first, so that `cargo test
/// --test c_api` alone never runs the C programs against a stale library.
fn lib_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let prof = profile_dir();
        let release = prof.file_name().is_some_and(|n| n == "release");
        let mut cargo = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
        cargo
            .args(["build", "--quiet", "-p", "urcu-ffi"])
            .current_dir(root());
        if release {
            cargo.arg("--release");
        }
        assert!(
            cargo.status().unwrap().success(),
            "building urcu-ffi failed"
        );
        let dir = prof.join("krcu-c-tests");
        std::fs::create_dir_all(&dir).unwrap();
        let link = dir.join("libkrcu.so.0");
        let _ = std::fs::remove_file(&link);
        std::os::unix::fs::symlink(prof.join("libkrcu.so"), &link).unwrap();
        dir
    })
}

/// Compiles `tests/c/<name>.c` with `extra` flags into the test directory.
fn compile(name: &str, out: &str, extra: &[&str], link_static: bool) -> Result<PathBuf, String> {
    let exe = lib_dir().join(out);
    let mut cc = Command::new("cc");
    cc.args(["-std=c11", "-Wall", "-Wextra", "-Werror", "-pthread", "-g"])
        .arg("-I")
        .arg(root().join("include"))
        .arg(root().join(format!("tests/c/{name}.c")))
        .args(extra)
        .arg("-o")
        .arg(&exe);
    if link_static {
        // A Rust staticlib needs the C runtime's libraries after it.
        cc.arg(profile_dir().join("libkrcu.a")).args([
            "-lgcc_s",
            "-lutil",
            "-lrt",
            "-lpthread",
            "-lm",
            "-ldl",
            "-lc",
        ]);
    } else {
        cc.arg("-L").arg(profile_dir()).arg("-lkrcu");
    }
    let compat = extra.iter().any(|f| f.ends_with("include/urcu-compat"));
    if compat {
        // The compiler lists every header it opens on stderr.
        cc.arg("-H");
    }
    let out = cc.output().map_err(|e| format!("cannot run cc: {e}"))?;
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).into_owned());
    }
    if compat {
        // liburcu's names come from krcu's compat headers, never from an
        // installed liburcu's (only its data structures' may be used).
        let stderr = String::from_utf8_lossy(&out.stderr);
        let liburcu: Vec<&str> = stderr
            .lines()
            .filter(|l| l.starts_with('.'))
            .map(|l| l.trim_start_matches('.').trim())
            .filter(|h| h.starts_with("/usr/") && h.contains("/urcu"))
            .filter(|h| !h.ends_with("/urcu/rculfhash.h"))
            .collect();
        if !liburcu.is_empty() {
            return Err(format!("{name}.c used liburcu's own headers: {liburcu:?}"));
        }
    }
    Ok(exe)
}

fn run(exe: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(exe);
    cmd.args(args).env("LD_LIBRARY_PATH", lib_dir());
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

fn assert_success(what: &str, out: &Output) {
    assert!(
        out.status.success(),
        "{what} failed ({}):\nstdout:\n{}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn every_contract_function_from_c() {
    // Once with the inline read side (the default), once with the exported
    // functions; and once as a position-dependent executable, whose accesses
    // to libkrcu's data symbols are always copy relocations.
    for (flags, out_name) in [
        (&[][..], "api"),
        (&["-DKRCU_NO_INLINE"][..], "api-noinline"),
        (&["-no-pie"][..], "api-nopie"),
    ] {
        let exe = compile("api", out_name, flags, false).unwrap();
        let out = run(&exe, &[], &[]);
        assert_success(out_name, &out);
        assert!(String::from_utf8_lossy(&out.stdout).contains("api: ok"));
    }
}

#[test]
fn c_torture_sees_no_freed_object() {
    for (flags, out_name) in [
        (&[][..], "torture"),
        (&["-DKRCU_NO_INLINE"][..], "torture-noinline"),
    ] {
        let exe = compile("torture", out_name, flags, false).unwrap();
        let out = run(&exe, &["1"], &[]);
        assert_success(out_name, &out);
        eprint!("{out_name}: {}", String::from_utf8_lossy(&out.stdout));
    }
}

#[test]
fn c_signal_storm_with_inline_read_sections_and_call_rcu_nolock() {
    let exe = compile("signals", "signals", &[], false).unwrap();
    let out = run(&exe, &["2"], &[]);
    assert_success("tests/c/signals.c", &out);
    eprint!("{}", String::from_utf8_lossy(&out.stdout));
}

#[test]
fn reports_reach_a_c_log_handler_or_stderr() {
    let exe = compile("reports", "reports", &[], false).unwrap();
    let out = run(&exe, &[], &[]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}{stderr}");
    assert!(stdout.contains("reports ok"), "{stdout}{stderr}");
    // With no handler (and no tracing subscriber), a stall is one line on
    // standard error.
    let out = run(&exe, &["stderr"], &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("krcu: grace period stalled")
            && stderr.contains("read-side critical section"),
        "a stall with no handler and no subscriber is one line on stderr:\n{stderr}"
    );
}

/// Inline C read sections and `_nolock` calls in a timer handler on
/// threads that exit while the timer fires (bug: a handler after the
/// thread began unregistering registered it again from the handler).
#[test]
fn c_signals_during_thread_exit() {
    let exe = compile("exit_signals", "exit_signals", &["-lrt"], false).unwrap();
    let out = run(&exe, &[], &[]);
    assert_success("exit_signals", &out);
}

/// `dlclose` of libkrcu.so while its helper threads run left them running
/// unmapped code; the library is now linked with `-z nodelete`.
#[test]
fn dlclose_while_helpers_run_keeps_the_library_mapped() {
    // Not linked against libkrcu: --as-needed drops it (the program only
    // uses it through dlopen).
    let exe = compile("dlclose", "dlclose", &["-Wl,--as-needed", "-ldl"], false).unwrap();
    let lib = profile_dir().join("libkrcu.so");
    let out = run(&exe, &[lib.to_str().unwrap()], &[]);
    assert_success("dlclose", &out);
    // glibc also keeps a library loaded while threads hold thread-local
    // destructors from it, which hides a missing flag from the run above:
    // check the flag itself.
    let dynamic = Command::new("readelf")
        .args(["-d", lib.to_str().unwrap()])
        .output()
        .expect("readelf (binutils) is installed with cc");
    let dynamic = String::from_utf8_lossy(&dynamic.stdout);
    assert!(
        dynamic
            .lines()
            .any(|l| l.contains("FLAGS_1") && l.contains("NODELETE")),
        "libkrcu.so is not marked nodelete:\n{dynamic}"
    );
}

#[test]
fn misuse_from_c_aborts_with_the_rule() {
    let exe = compile("bad_input", "bad_input", &[], false).unwrap();
    let cases = [
        ("kfree-foreign", "was not allocated by krcu"),
        ("kfree-rcu-foreign", "was not allocated by krcu"),
        ("cache-free-wrong-cache", "belongs to another cache"),
        ("sync-in-read-section", "would deadlock"),
        ("unlock-without-lock", "without a matching krcu_read_lock()"),
        (
            "unlock-after-unregister",
            "without a matching krcu_read_lock()",
        ),
        ("nesting-too-deep", "nested more than 65534 deep"),
        ("call-rcu-null-head", "head is NULL"),
        ("call-rcu-null-func", "func is NULL"),
        (
            "barrier-in-callback",
            "inside an RCU callback (krcu_call_rcu, or a cache's rcu_dtor) would deadlock",
        ),
        (
            "headless-in-read-section",
            "inside a read-side critical section",
        ),
        (
            "kvfree-barrier-in-read-section",
            "inside a read-side critical section",
        ),
        ("qsbr-read-while-offline", "offline thread"),
        ("cache-alloc-null", "cache is NULL"),
        ("double-kfree", "double free"),
        ("kfree-after-kfree-rcu", "waiting to be freed"),
        ("double-kfree-nolock", "double free"),
    ];
    for (case, message) in cases {
        let stderr = assert_aborts_with(&exe, case, message);
        // A C programmer gets krcu's message, not Rust's panic banner.
        assert!(
            !stderr.contains("panicked at") && !stderr.contains("RUST_BACKTRACE"),
            "{case}: a Rust panic banner reached the C program:\n{stderr}"
        );
        // ...in C terms: no Rust API named (urcu-ffi/src/terms.rs).
        let rust = rust_terms_in(&stderr);
        assert!(
            rust.is_empty(),
            "{case}: Rust terms {rust:?} reached the C program:\n{stderr}"
        );
        if case == "nesting-too-deep" {
            assert!(
                stderr.contains("65534 nested sections taken"),
                "the deepest nesting allowed aborted:\n{stderr}"
            );
        }
    }
}

/// A program written against liburcu's names (the compat headers) gets
/// krcu's misuse reports in liburcu's terms: `synchronize_rcu()`,
/// `rcu_read_unlock()`, ..., never a `krcu_` function it did not call, nor
/// a Rust term (urcu-ffi/src/terms.rs's liburcu table).
#[test]
fn misuse_under_liburcu_names_is_reported_in_liburcu_terms() {
    let compat = format!("-I{}", root().join("include/urcu-compat").display());
    let exe = compile(
        "liburcu_misuse",
        "liburcu_misuse",
        &["-std=gnu11", &compat],
        false,
    )
    .unwrap();
    let cases = [
        (
            "sync-in-read-section",
            "synchronize_rcu() called inside a memb read-side critical section would deadlock; \
             call rcu_read_unlock() before calling synchronize_rcu()",
        ),
        (
            "barrier-in-read-section",
            "rcu_barrier() called inside a memb read-side critical section would deadlock",
        ),
        (
            "unlock-without-lock",
            "rcu_read_unlock() without a matching rcu_read_lock()",
        ),
        (
            "fork-in-read-section",
            "end the read section (rcu_read_unlock) before fork",
        ),
        (
            "barrier-in-callback",
            "rcu_barrier() called inside an RCU callback (call_rcu, defer_rcu, or a krcu cache's \
             rcu_dtor) would deadlock",
        ),
        (
            "call-rcu-null-func",
            "call_rcu (urcu_memb_call_rcu): func is NULL",
        ),
    ];
    for (case, message) in cases {
        let stderr = assert_aborts_with(&exe, case, message);
        assert_in_liburcu_terms(case, &stderr);
    }
    // A stall report, from krcu's grace-period helper.
    let exe = compile(
        "liburcu_misuse",
        "liburcu_misuse_qsbr",
        &["-std=gnu11", &compat, "-DURCU_CONFIG_QSBR"],
        false,
    )
    .unwrap();
    let out = run(&exe, &["stall"], &[("KRCU_STALL_TIMEOUT_MS", "100")]);
    assert_success("liburcu_misuse_qsbr stall", &out);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(
            "has not left its qsbr read-side critical section (announce rcu_quiescent_state(), \
             or go offline with rcu_thread_offline() around blocking calls)"
        ),
        "stall: {stderr}"
    );
    assert_in_liburcu_terms("stall", &stderr);
}

/// No Rust term and no krcu.h function in a report meant for a program
/// that speaks liburcu's names.
fn assert_in_liburcu_terms(case: &str, stderr: &str) {
    let bytes = stderr.as_bytes();
    let ident = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    let krcu_names: Vec<&str> = stderr
        .match_indices("krcu_")
        .filter(|(i, _)| *i == 0 || !ident(bytes[i - 1]))
        .map(|(i, _)| {
            let end = (i..bytes.len())
                .find(|&j| !ident(bytes[j]))
                .unwrap_or(bytes.len());
            &stderr[i..end]
        })
        .collect();
    assert!(
        krcu_names.is_empty(),
        "{case}: krcu.h names {krcu_names:?} reached a liburcu program:\n{stderr}"
    );
    let rust: Vec<String> = rust_terms_in(stderr)
        .into_iter()
        .filter(|t| t.ends_with('(') && !t.starts_with("krcu_"))
        .filter(|t| !is_liburcu_name(t.trim_end_matches('(')))
        .chain(
            ["::", "guard", "KmemCache", "RcuHead", "RcuPtr"]
                .iter()
                .filter(|t| stderr.contains(*t))
                .map(|t| t.to_string()),
        )
        .collect();
    assert!(
        rust.is_empty(),
        "{case}: Rust terms {rust:?} reached a liburcu program:\n{stderr}"
    );
}

/// liburcu's API names a report may use, and the C words around them.
fn is_liburcu_name(name: &str) -> bool {
    name.starts_with("rcu_")
        || name.starts_with("urcu_")
        || [
            "synchronize_rcu",
            "call_rcu",
            "defer_rcu",
            "start_poll_synchronize_rcu",
            "fork",
        ]
        .contains(&name)
}

/// Runs `exe case`, which must abort with `message` on stderr; returns
/// stderr.
fn assert_aborts_with(exe: &Path, case: &str, message: &str) -> String {
    use std::os::unix::process::ExitStatusExt;
    let out = run(exe, &[case], &[]);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(
        out.status.signal(),
        Some(libc::SIGABRT),
        "{case}: {}\n{stderr}",
        out.status
    );
    assert!(
        stderr.contains(message),
        "{case}: expected {message:?} in:\n{stderr}"
    );
    stderr
}

/// The Rust API terms in a message meant for C: paths (`::`), guards,
/// Rust type and macro names, and any function called by name (`name(`)
/// that is not a `krcu_` one.
fn rust_terms_in(text: &str) -> Vec<String> {
    let mut found: Vec<String> = ["::", "guard", "KmemCache", "RcuHead", "RcuPtr", "!,", "! "]
        .iter()
        .filter(|t| text.contains(*t))
        .map(|t| t.to_string())
        .collect();
    let bytes = text.as_bytes();
    let ident = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    for (i, _) in text.match_indices('(') {
        let start = (0..i).rev().take_while(|&j| ident(bytes[j])).last();
        if let Some(start) = start {
            let name = &text[start..i];
            if !name.starts_with("krcu_") {
                found.push(format!("{name}("));
            }
        }
    }
    found
}

/// Whether this compiler can build and run an AddressSanitizer program.
fn asan_available() -> bool {
    let dir = lib_dir();
    let src = dir.join("asan_probe.c");
    std::fs::write(&src, "int main(void) { return 0; }\n").unwrap();
    let exe = dir.join("asan_probe");
    Command::new("cc")
        .args(["-fsanitize=address"])
        .arg(&src)
        .arg("-o")
        .arg(&exe)
        .status()
        .is_ok_and(|s| s.success())
        && Command::new(&exe).status().is_ok_and(|s| s.success())
}

#[test]
fn c_tests_under_address_sanitizer() {
    if !asan_available() {
        eprintln!("notice: AddressSanitizer runtime missing; skipping the ASan run of the C tests");
        return;
    }
    let flags = ["-fsanitize=address", "-fno-omit-frame-pointer"];
    // krcu's registries are deliberately never freed (records outlive their
    // threads); LeakSanitizer would report them at exit.
    let env = [("ASAN_OPTIONS", "detect_leaks=0:abort_on_error=1")];
    let api = compile("api", "api-asan", &flags, false).unwrap();
    assert_success("tests/c/api.c under ASan", &run(&api, &[], &env));
    let torture = compile("torture", "torture-asan", &flags, false).unwrap();
    assert_success(
        "tests/c/torture.c under ASan",
        &run(&torture, &["0.5"], &env),
    );
}

#[test]
fn static_link_against_libkrcu_a() {
    let _ = lib_dir();
    let exe = compile("api", "api-static", &[], true).unwrap();
    let out = Command::new(&exe)
        .env_remove("LD_LIBRARY_PATH")
        .output()
        .unwrap();
    assert_success("tests/c/api.c linked to libkrcu.a", &out);
    let ldd = Command::new("ldd").arg(&exe).output().unwrap();
    assert!(
        !String::from_utf8_lossy(&ldd.stdout).contains("libkrcu"),
        "the static build still needs libkrcu.so"
    );
}

/// The header compiles as C++, and its kfree_rcu macros work there (they
/// did not: they used C11's _Generic).
#[test]
fn header_compiles_as_cpp() {
    let Ok(out) = Command::new("g++").arg("--version").output() else {
        panic!("g++ is needed to check the header compiles as C++ (apt-get install g++)");
    };
    assert!(out.status.success());
    let dir = lib_dir();
    let src = dir.join("header_check.cc");
    std::fs::write(
        &src,
        concat!(
            "#include \"krcu.h\"\n",
            "struct obj { struct krcu_ptr rcu; struct krcu_head head; long v; };\n",
            "struct big { char pad[5000]; struct krcu_ptr rcu; };\n",
            "int main() {\n",
            "    krcu_gp_cookie c = krcu_get_state_synchronize_rcu();\n",
            "    obj *o = static_cast<obj *>(krcu_kmalloc(sizeof(obj)));\n",
            "    krcu_kfree_rcu(o, rcu);\n",
            "    o = static_cast<obj *>(krcu_kmalloc(sizeof(obj)));\n",
            "    krcu_kfree_rcu(o, head);\n",
            "    o = static_cast<obj *>(krcu_kmalloc(sizeof(obj)));\n",
            "    krcu_kfree_rcu_nolock(o, rcu);\n",
            "#ifdef KRCU_CHECK_OFFSET\n",
            "    big *b = static_cast<big *>(krcu_kmalloc(sizeof(big)));\n",
            "    krcu_kfree_rcu(b, rcu);\n",
            "#endif\n",
            "    return krcu_poll_state_synchronize_rcu(c) ? 0 : 0;\n",
            "}\n",
        ),
    )
    .unwrap();
    let out = Command::new("g++")
        .args([
            "-std=c++17",
            "-fsyntax-only",
            "-Wall",
            "-Wextra",
            "-Werror",
            "-I",
        ])
        .arg(root().join("include"))
        .arg(&src)
        .output()
        .unwrap();
    assert_success("include/krcu.h as C++", &out);
    // The offset check holds in C++ too: a link past 4096 bytes is refused.
    let out = Command::new("g++")
        .args(["-std=c++17", "-fsyntax-only", "-DKRCU_CHECK_OFFSET", "-I"])
        .arg(root().join("include"))
        .arg(&src)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && stderr.contains("first 4096 bytes"),
        "a link past 4096 bytes compiled in C++:\n{stderr}"
    );
}

#[test]
fn kfree_rcu_macro_rejects_a_link_past_4096_bytes() {
    let dir = lib_dir();
    let src = dir.join("offset_check.c");
    let body = |pad: usize| {
        format!(
            "#include \"krcu.h\"\nstruct big {{ char pad[{pad}]; struct krcu_ptr rcu; }};\nvoid f(struct big *b) {{ krcu_kfree_rcu(b, rcu); }}\n"
        )
    };
    let cc = |code: String| {
        std::fs::write(&src, code).unwrap();
        Command::new("cc")
            .args(["-std=c11", "-Wall", "-Wextra", "-Werror", "-c", "-I"])
            .arg(root().join("include"))
            .arg(&src)
            .arg("-o")
            .arg(dir.join("offset_check.o"))
            .output()
            .unwrap()
    };
    assert_success("a link at offset 4088", &cc(body(4088)));
    let out = cc(body(4096));
    assert!(!out.status.success(), "a link at offset 4096 compiled");
    assert!(String::from_utf8_lossy(&out.stderr).contains("first 4096 bytes"));
}

/// liburcu's API through the compat headers (`include/urcu-compat`):
/// `defer_rcu`, the `call_rcu_data` API and the fork calls, and a torture
/// of the RCU list macros freeing through `call_rcu` and krcu's
/// `kfree_rcu`; for memb and qsbr. The misuses it provokes (a freed, a
/// foreign and a still-installed `call_rcu_data`, CPUs out of range, an
/// unpaired after-fork call) must be reported, in liburcu's terms, and
/// change nothing.
#[test]
fn liburcu_api_from_c_on_both_flavors() {
    let compat = root().join("include/urcu-compat");
    let compat = format!("-I{}", compat.display());
    for (flags, out_name) in [
        (vec!["-std=gnu11", compat.as_str()], "liburcu_api"),
        (
            vec!["-std=gnu11", compat.as_str(), "-DURCU_CONFIG_QSBR"],
            "liburcu_api_qsbr",
        ),
    ] {
        let exe = compile("liburcu_api", out_name, &flags, false).unwrap();
        // defer_rcu when its nodes' cache cannot be made.
        let out = run(&exe, &["no-cache"], &[]);
        assert_success(out_name, &out);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            stdout.contains("defer_rcu without its cache"),
            "{out_name}: {stdout}"
        );
        let out = run(&exe, &[], &[]);
        assert_success(out_name, &out);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(stdout.contains("liburcu_api: ok"), "{out_name}: {stdout}");
        eprint!("{out_name}: {stdout}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        for report in [
            "call_rcu_data_free(0x",
            "the pointer was freed by call_rcu_data_free(); nothing was freed",
            "the pointer is not a struct call_rcu_data from create_call_rcu_data(); nothing was freed",
            "set_thread_call_rcu_data(0x",
            "the thread keeps its call_rcu_data",
            "set_cpu_call_rcu_data(-1, ...): CPU out of range",
            "it is still set for CPU 0; call set_cpu_call_rcu_data(0, NULL) first",
            "call_rcu_after_fork_parent() called without call_rcu_before_fork()",
        ] {
            assert!(
                stderr.contains(report),
                "{out_name}: expected {report:?} in:\n{stderr}"
            );
        }
        // Seven reports, each once: nothing else went wrong.
        assert_eq!(
            stderr.lines().filter(|l| l.starts_with("krcu: ")).count(),
            7,
            "{out_name}: unexpected reports:\n{stderr}"
        );
    }
}

/// liburcu-cds's lock-free hash table (the system's liburcu-cds, built
/// against liburcu) on krcu through the flavor structures, for memb and
/// qsbr, with forks under resize load made with and without liburcu's
/// fork calls (`tests/c/rculfhash_fork.c`): each child must grow, check
/// and destroy a table of its own, which needs the resize worker that
/// krcu's fork handlers restart. Skipped, with a notice, where
/// liburcu-cds is not installed (CI installs it: tests/liburcu-suite.sh).
#[test]
fn rculfhash_runs_on_krcu_grace_periods_across_forks() {
    let cds = Command::new("pkg-config")
        .args(["--libs", "liburcu-cds"])
        .output();
    let Some(libs) = cds
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
    else {
        eprintln!("notice: liburcu-cds is not installed (apt-get install liburcu-dev); skipping the rculfhash test");
        return;
    };
    let compat = format!("-I{}", root().join("include/urcu-compat").display());
    let mut base = vec!["-std=gnu11", compat.as_str()];
    base.extend(libs.split_whitespace());
    for (extra, out_name) in [
        (None, "rculfhash_fork"),
        (Some("-DURCU_CONFIG_QSBR"), "rculfhash_fork_qsbr"),
    ] {
        let mut flags = base.clone();
        flags.extend(extra);
        let exe = compile("rculfhash_fork", out_name, &flags, false).unwrap();
        let out = run(&exe, &[], &[]);
        assert_success(out_name, &out);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            stdout.contains("rculfhash_fork: ok"),
            "{out_name}: {stdout}"
        );
        eprint!("{out_name}: {stdout}");
    }
}
