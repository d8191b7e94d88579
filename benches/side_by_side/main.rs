//! The side-by-side benchmark: krcu memb and qsbr against liburcu (memb,
//! qsbr), crossbeam-epoch and a plain atomic load, on the same workloads;
//! and liburcu's own test programs built against krcu-urcu and against
//! liburcu (the compat workload).
//!
//! `cargo bench --bench side_by_side [-- --runs N --json PATH --svg PATH
//! --defer-count N --only WORKLOAD]`; `LIBURCU_PREFIX=DIR` builds the
//! liburcu drivers against the liburcu installed under `DIR` (default: the
//! system's).
//!
//! Every (workload, implementation, reader threads) cell runs `--runs` times,
//! each in a fresh child process (this binary re-executed with `--child`, or
//! the liburcu C driver), so peak RSS is the implementation's own. The table
//! gives the median, min and max of the runs.

//!
//! The program, one file per piece: [`model`] (the workloads and
//! implementations, typed), [`child`] and `workloads/` (one file per
//! workload: what a child process measures), [`drivers`] (the C drivers'
//! build), [`run`] (running a child), [`report`] (the table, JSON and
//! SVG), [`goals`] (the goals, data in `goals.txt`).

mod child;
mod drivers;
mod goals;
mod model;
mod report;
mod run;
mod workloads;

use model::{Impl, Workload};
use report::Row;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;

struct Options {
    runs: usize,
    json: Option<PathBuf>,
    svg: PathBuf,
    defer_count: u64,
    only: Option<Workload>,
}

fn parse_options(args: &[String]) -> Options {
    let mut o = Options {
        runs: 5,
        json: None,
        svg: drivers::target_dir().join("side_by_side.svg"),
        defer_count: 10_000_000,
        only: None,
    };
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut val = || {
            it.next()
                .cloned()
                .unwrap_or_else(|| panic!("{a} needs a value"))
        };
        match a.as_str() {
            "--runs" => o.runs = val().parse().expect("--runs N"),
            "--json" => o.json = Some(PathBuf::from(val())),
            "--svg" => o.svg = PathBuf::from(val()),
            "--defer-count" => o.defer_count = val().parse().expect("--defer-count N"),
            "--only" => {
                let w = val();
                o.only = Some(Workload::from_name(&w).unwrap_or_else(|| {
                    panic!(
                        "--only {w}: no such workload; the workloads: {}",
                        Workload::ALL.map(Workload::name).join(", ")
                    )
                }))
            }
            "--bench" => {}
            other => panic!(
                "unknown option {other}; options: --runs N --json PATH --svg PATH --defer-count N --only WORKLOAD"
            ),
        }
    }
    o
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--child") {
        return child::child(&args[1..]);
    }
    let opts = parse_options(&args);
    let mut drivers = BTreeMap::new();
    match drivers::build_liburcu() {
        Ok(bins) => {
            let version = drivers::liburcu_version().unwrap_or_else(|| "of unknown version".into());
            match drivers::liburcu_prefix() {
                Some(p) => println!("liburcu {version} from LIBURCU_PREFIX={}", p.display()),
                None => println!("liburcu {version} (the system's; LIBURCU_PREFIX=DIR picks another install)"),
            }
            drivers.extend(bins)
        }
        Err(why) => println!(
            "liburcu not found ({why}): install it with `apt-get install liburcu-dev` to add the liburcu columns"
        ),
    }
    match drivers::build_krcu_c() {
        Ok(bins) => drivers.extend(bins),
        Err(why) => {
            println!("the C driver could not be built against libkrcu ({why}): no krcu-c columns")
        }
    }
    let compat = opts.only.is_none_or(|o| o == Workload::Compat) && {
        match drivers::build_compat() {
            Ok(skipped) => {
                for s in skipped {
                    println!("compat workload: not running {s}");
                }
                true
            }
            Err(why) => {
                println!("compat workload skipped: {why}");
                false
            }
        }
    };
    let exe = std::env::current_exe().unwrap();
    let mut rows: Vec<Row> = Vec::new();
    let cells: Vec<(Workload, Impl, usize)> = Workload::ALL
        .into_iter()
        .filter(|w| opts.only.is_none_or(|o| o == *w))
        .flat_map(|w| {
            Impl::ALL
                .into_iter()
                .flat_map(move |i| w.reader_counts().iter().map(move |&t| (w, i, t)))
        })
        .filter(|(w, i, _)| i.runs(*w))
        .filter(|(_, i, _)| !i.is_c_driver() || drivers.contains_key(i))
        .filter(|(w, _, _)| *w != Workload::Compat || compat)
        .collect();
    // Round-robin within a workload: run k of every cell, then run k + 1,
    // so that a drift in the machine's speed (other tenants, frequency)
    // shifts all of a workload's cells alike instead of the few that ran
    // during it, and the ratios of medians stay fair.
    let schedule: Vec<(Workload, Impl, usize)> = cells
        .chunk_by(|a, b| a.0 == b.0)
        .flat_map(|chunk| std::iter::repeat_n(chunk, opts.runs).flatten().copied())
        .collect();
    let total = schedule.len();
    let mut done = 0;
    for (workload, imp, threads) in schedule {
        done += 1;
        eprint!(
            "\r[{done}/{total}] {:<6} {:<15} {threads} reader(s)   ",
            workload.name(),
            imp.name()
        );
        let cmd = match drivers.get(&imp) {
            Some(bin) => {
                let mut c = Command::new(bin);
                c.args([
                    workload.name(),
                    &threads.to_string(),
                    &opts.defer_count.to_string(),
                ]);
                c
            }
            _ => {
                let mut c = Command::new(&exe);
                c.args([
                    "--child",
                    imp.name(),
                    workload.name(),
                    &threads.to_string(),
                    &opts.defer_count.to_string(),
                ]);
                c
            }
        };
        let (metrics, rss) = run::run_child(cmd);
        let mut record = |metric: &str, value: f64, unit: &str| match rows.iter_mut().find(|r| {
            r.workload == workload && r.imp == imp && r.threads == threads && r.metric == metric
        }) {
            Some(r) => r.values.push(value),
            None => rows.push(Row {
                workload,
                imp,
                threads,
                metric: metric.to_owned(),
                unit: unit.to_owned(),
                values: vec![value],
            }),
        };
        for (m, v, u) in &metrics {
            record(m, *v, u);
        }
        if workload.reports_rss() {
            record("peak_rss_mib", rss, "MiB");
        }
    }
    eprintln!();
    report::print_table(&rows, opts.runs);
    goals::print_goals(&rows);
    if let Some(path) = &opts.json {
        report::write_json(&rows, path);
        println!("JSON: {}", path.display());
    }
    report::write_svg(&rows, &opts.svg);
    println!("SVG: {}", opts.svg.display());
}
