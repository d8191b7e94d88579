//! The repository's source checks (`cargo xtask check`) pass: no long file
//! and no import circle in the core and the slab layer, every Relaxed and
//! SeqCst argued, no flavor chosen by its name.

use std::path::Path;

#[test]
fn the_sources_pass_their_checks() {
    let root = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."));
    let problems = xtask::check::all(root);
    assert!(
        problems.is_empty(),
        "cargo xtask check found {} problem(s):\n{}",
        problems.len(),
        problems
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("\n")
    );
}
