//! compat: liburcu's own test programs (`drivers::COMPAT_PROGRAMS`), built
//! unmodified against krcu-urcu and against liburcu, each run for one
//! second with `readers` reader threads and one writer. Reports each
//! program's reads and writes per second from its SUMMARY line.

use crate::drivers::{compat_dir, COMPAT_PROGRAMS};
use crate::model::Impl;
use std::process::Command;

/// Seconds each program runs (its duration argument).
const SECONDS: u32 = 1;

pub fn run(imp: Impl, readers: usize) {
    for (name, ..) in COMPAT_PROGRAMS {
        let bin = compat_dir(imp).join(name);
        if !bin.exists() {
            continue; // not built against this liburcu (see the notice)
        }
        let out = Command::new(&bin)
            .args([readers.to_string(), "1".into(), SECONDS.to_string()])
            .output()
            .unwrap_or_else(|e| panic!("{}: {e}", bin.display()));
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{name} ({}) failed: {text}",
            imp.name()
        );
        let summary = text
            .lines()
            .find(|l| l.starts_with("SUMMARY"))
            .unwrap_or_else(|| panic!("{name}: no SUMMARY line in {text}"));
        let field = |key: &str| -> f64 {
            let mut words = summary.split_whitespace();
            words.find(|w| *w == key);
            words
                .next()
                .and_then(|v| v.parse().ok())
                .unwrap_or_else(|| panic!("{name}: no {key} in {summary}"))
        };
        let secs = field("testdur");
        println!("{name}.reads_per_sec {} reads/s", field("nr_reads") / secs);
        println!(
            "{name}.writes_per_sec {} writes/s",
            field("nr_writes") / secs
        );
    }
}
