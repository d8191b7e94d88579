//! krcu's developer commands.
//!
//! ```text
//! cargo xtask header   # regenerate include/krcu.h from urcu-ffi's sources
//! cargo xtask check    # the repository's source checks (also run by its tests)
//! cargo xtask graph C  # crate C's module graph, one import arrow per line
//! ```

use std::path::{Path, PathBuf};
use std::process::ExitCode;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives in the workspace")
        .to_path_buf()
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("header") => {
            let root = root();
            let text =
                match xtask::header::generate(&root.join("urcu-ffi"), env!("CARGO_PKG_VERSION")) {
                    Ok(t) => t,
                    Err(e) => {
                        eprintln!("xtask header: {e}");
                        return ExitCode::FAILURE;
                    }
                };
            let out = root.join("include/krcu.h");
            if std::fs::read_to_string(&out).ok().as_deref() == Some(text.as_str()) {
                println!("include/krcu.h is up to date");
            } else {
                std::fs::write(&out, text).expect("write include/krcu.h");
                println!("include/krcu.h regenerated");
            }
            ExitCode::SUCCESS
        }
        Some("check") => {
            let problems = xtask::check::all(&root());
            for p in &problems {
                eprintln!("{p}");
            }
            if problems.is_empty() {
                println!("xtask check: clean");
                ExitCode::SUCCESS
            } else {
                eprintln!("xtask check: {} problem(s)", problems.len());
                ExitCode::FAILURE
            }
        }
        Some("graph") => {
            // The module graph of one crate, as the circle check sees it.
            let krate = args.get(1).map_or("urcu-slab", String::as_str);
            let g = xtask::check::ModuleGraph::of(&root().join(krate).join("src"));
            for (m, deps) in &g.edges {
                for d in deps {
                    println!("{m} -> {d}");
                }
            }
            ExitCode::SUCCESS
        }
        _ => {
            eprintln!("usage: cargo xtask header | check | graph [CRATE]");
            ExitCode::FAILURE
        }
    }
}
