//! Running one child process and reading what it prints.

use std::io::Read;
use std::process::{Command, Stdio};

/// Runs one child; returns its metrics and its peak RSS in MiB.
// The child is reaped by wait4, which also returns its rusage.
#[allow(clippy::zombie_processes)]
pub fn run_child(mut cmd: Command) -> (Vec<(String, f64, String)>, f64) {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn child");
    let mut text = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut text)
        .unwrap();
    let mut status = 0;
    // SAFETY: rusage is plain data that wait4 fills in.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: the pid is our unreaped child; the out-pointers are valid.
    let pid = unsafe { libc::wait4(child.id() as libc::pid_t, &mut status, 0, &mut usage) };
    assert!(pid > 0, "wait4 failed");
    assert!(
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        "benchmark child {cmd:?} failed (status {status})"
    );
    let metrics = text
        .lines()
        .filter_map(|l| {
            let mut f = l.split_whitespace();
            Some((
                f.next()?.to_owned(),
                f.next()?.parse().ok()?,
                f.next()?.to_owned(),
            ))
        })
        .collect();
    (metrics, usage.ru_maxrss as f64 / 1024.0)
}
