//! An initialised process with nothing to do: krcu's helper threads do not
//! run at all (no polling).

use std::time::Duration;

/// (tid, name, times scheduled) of krcu's helper threads, from /proc.
fn helpers() -> Vec<(String, String, u64)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir("/proc/self/task").unwrap() {
        let dir = entry.unwrap().path();
        let name = std::fs::read_to_string(dir.join("comm")).unwrap_or_default();
        if !name.starts_with("krcu-") {
            continue;
        }
        // schedstat: cpu time (ns), wait time (ns), timeslices run.
        let stat = std::fs::read_to_string(dir.join("schedstat")).unwrap();
        let runs: u64 = stat.split_whitespace().nth(2).unwrap().parse().unwrap();
        let tid = dir.file_name().unwrap().to_string_lossy().into_owned();
        out.push((tid, name.trim().to_owned(), runs));
    }
    out.sort();
    out
}

#[test]
fn idle_helpers_use_no_cpu() {
    // Start both flavors' helpers and give them work, then nothing.
    urcu_core::memb::defer(|| {});
    urcu_core::memb::barrier();
    urcu_core::memb::start_poll();
    urcu_core::qsbr::defer(|| {});
    urcu_core::qsbr::barrier();
    let _ = urcu_core::memb::stats();
    std::thread::sleep(Duration::from_millis(200)); // let them finish and sleep
    let before = helpers();
    assert_eq!(before.len(), 4, "two helpers per flavor: {before:?}");
    std::thread::sleep(Duration::from_secs(1));
    let after = helpers();
    assert_eq!(before, after, "a helper ran while there was nothing to do");
}
