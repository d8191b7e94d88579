//! The goals: data in `goals.txt`, checked against a run's medians.

use crate::model::{Impl, Workload};
use crate::report::{median_of, Row};

/// A tracked goal: krcu's median over another implementation's, or (with
/// `other` = None) krcu's median itself, against a bound.
pub struct Goal {
    pub workload: Workload,
    pub metric: String,
    pub krcu: Impl,
    pub other: Option<Impl>,
    pub at_most: bool,
    pub bound: f64,
    /// Checked only at this thread count (`WORKLOAD@N` in the file); else
    /// at every count the workload runs.
    pub at: Option<usize>,
}

/// The goals file, read at compile time.
const GOALS: &str = include_str!("goals.txt");

/// Parses `goals.txt`: one goal per line, `#` comments (see the file).
pub fn parse(text: &str) -> Result<Vec<Goal>, String> {
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        let bad = |why: &str| format!("goals.txt:{}: {why}: `{line}`", n + 1);
        let f: Vec<&str> = line.split_whitespace().collect();
        let (rel, rest) = match f.get(3) {
            Some(&"/") => (f.get(4).copied(), &f[5..]),
            _ => (None, &f[3.min(f.len())..]),
        };
        let [op, bound] = rest else {
            return Err(bad("expected `<=` or `>=` and a bound"));
        };
        let impl_of =
            |name: &str| Impl::from_name(name).ok_or_else(|| bad("unknown implementation"));
        let (workload, at) = match f[0].split_once('@') {
            Some((w, n)) => (
                w,
                Some(
                    n.parse()
                        .map_err(|_| bad("the count after @ is not a number"))?,
                ),
            ),
            None => (f[0], None),
        };
        let workload = Workload::from_name(workload).ok_or_else(|| bad("unknown workload"))?;
        if at.is_some_and(|n| !workload.reader_counts().contains(&n)) {
            return Err(bad("the workload does not run at that count"));
        }
        out.push(Goal {
            workload,
            at,
            metric: f.get(1).ok_or_else(|| bad("no metric"))?.to_string(),
            krcu: impl_of(f.get(2).ok_or_else(|| bad("no implementation"))?)?,
            other: rel.map(impl_of).transpose()?,
            at_most: match *op {
                "<=" => true,
                ">=" => false,
                _ => return Err(bad("expected `<=` or `>=`")),
            },
            bound: bound
                .parse()
                .map_err(|_| bad("the bound is not a number"))?,
        });
    }
    Ok(out)
}

fn goals() -> Vec<Goal> {
    parse(GOALS).unwrap_or_else(|e| panic!("{e}"))
}

/// The metrics a goal names: its own, or, for a pattern with one `*`
/// (`*.reads_per_sec`), every metric of the run that matches it (the goal
/// itself when none does, to be reported as not measured).
fn metrics_of(rows: &[Row], g: &Goal, t: usize) -> Vec<String> {
    let Some((head, tail)) = g.metric.split_once('*') else {
        return vec![g.metric.clone()];
    };
    let mut found: Vec<String> = rows
        .iter()
        .filter(|r| r.workload == g.workload && r.imp == g.krcu && r.threads == t)
        .map(|r| r.metric.clone())
        .filter(|m| m.len() >= head.len() + tail.len() && m.starts_with(head) && m.ends_with(tail))
        .collect();
    found.sort();
    found.dedup();
    if found.is_empty() {
        found.push(g.metric.clone());
    }
    found
}

/// The goals, as ratios of medians in this run.
pub fn print_goals(rows: &[Row]) {
    println!("\ngoals (ratios of medians in this run):");
    let mut counts: Vec<usize> = Workload::ALL
        .iter()
        .flat_map(|w| w.reader_counts().iter().copied())
        .collect();
    counts.sort_unstable();
    counts.dedup();
    for t in counts {
        for g in goals()
            .iter()
            .filter(|g| g.workload.reader_counts().contains(&t) && g.at.is_none_or(|n| n == t))
        {
            for metric in metrics_of(rows, g, t) {
                let krcu = median_of(rows, g.workload, g.krcu, t, &metric);
                let value = match g.other {
                    Some(o) => krcu
                        .zip(median_of(rows, g.workload, o, t, &metric))
                        .map(|(a, b)| a / b),
                    None => krcu,
                };
                let name = format!(
                    "{} {} {}{} {} {}",
                    g.workload.name(),
                    metric,
                    g.krcu.name(),
                    g.other
                        .map(|o| format!(" / {}", o.name()))
                        .unwrap_or_default(),
                    if g.at_most { "<=" } else { ">=" },
                    g.bound
                );
                match value {
                    Some(v) => {
                        let met = if g.at_most {
                            v <= g.bound
                        } else {
                            v >= g.bound
                        };
                        println!(
                            "  [{}] {t} reader(s): {name}: {v:.3}",
                            if met { "met" } else { "MISSED" }
                        );
                    }
                    None => println!("  [n/a] {t} reader(s): {name}: not measured"),
                }
            }
        }
    }
    let read1 = median_of(rows, Workload::Read, Impl::KrcuMemb, 1, "ns_per_read");
    let read2 = median_of(rows, Workload::Read, Impl::KrcuMemb, 2, "ns_per_read");
    if let (Some(a), Some(b)) = (read1, read2) {
        println!(
            "  [{}] read krcu-memb 2 readers / 1 reader (flat): {:.3}",
            if b / a <= 1.1 { "met" } else { "MISSED" },
            b / a
        );
    }
}
