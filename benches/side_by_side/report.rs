//! The reporters: the table, the JSON and the SVG of a run's rows.

use crate::model::{Impl, Workload};
use krcu::rcu::memb;
use std::collections::BTreeMap;
use std::path::Path;

/// The values of one (workload, implementation, readers, metric) cell, one
/// per run.
#[derive(Clone)]
pub struct Row {
    pub workload: Workload,
    pub imp: Impl,
    pub threads: usize,
    pub metric: String,
    pub unit: String,
    pub values: Vec<f64>,
}

impl Row {
    pub fn sorted(&self) -> Vec<f64> {
        let mut v = self.values.clone();
        v.sort_by(f64::total_cmp);
        v
    }
    pub fn median(&self) -> f64 {
        let v = self.sorted();
        v[v.len() / 2]
    }
}

pub fn print_table(rows: &[Row], runs: usize) {
    println!(
        "\nkrcu side-by-side: median of {runs} runs (min..max); membarrier in force: {}",
        memb::uses_membarrier()
    );
    let mw = rows
        .iter()
        .map(|r| r.metric.len())
        .max()
        .unwrap_or(0)
        .max(15);
    println!(
        "{:<7} {:<mw$} {:>7} {:<16} {:>14} {:>25} {:<4}",
        "work", "metric", "readers", "impl", "median", "min..max", "unit"
    );
    let mut sorted: Vec<&Row> = rows.iter().collect();
    sorted.sort_by_key(|r| (r.workload, r.metric.clone(), r.threads, r.imp));
    let mut last = None;
    for r in sorted {
        let key = (r.workload, r.metric.clone(), r.threads);
        if last.as_ref().is_some_and(|l| *l != key) {
            println!();
        }
        last = Some(key);
        let v = r.sorted();
        println!(
            "{:<7} {:<mw$} {:>7} {:<16} {:>14} {:>25} {:<4}",
            r.workload.name(),
            r.metric,
            r.threads,
            r.imp.name(),
            fmt(r.median()),
            format!("{}..{}", fmt(v[0]), fmt(v[v.len() - 1])),
            r.unit
        );
    }
}

fn fmt(v: f64) -> String {
    if v >= 1e5 {
        format!("{:.3e}", v)
    } else if v >= 100.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.3}")
    }
}

pub fn median_of(
    rows: &[Row],
    workload: Workload,
    imp: Impl,
    threads: usize,
    metric: &str,
) -> Option<f64> {
    rows.iter()
        .find(|r| {
            r.workload == workload && r.imp == imp && r.threads == threads && r.metric == metric
        })
        .map(Row::median)
}

pub fn write_json(rows: &[Row], path: &Path) {
    let mut s = String::from("[\n");
    for (i, r) in rows.iter().enumerate() {
        let v = r.sorted();
        s += &format!(
            "  {{\"workload\": \"{}\", \"impl\": \"{}\", \"threads\": {}, \"metric\": \"{}\", \"value\": {}, \"unit\": \"{}\", \"min\": {}, \"max\": {}, \"runs\": {}}}{}\n",
            r.workload.name(), r.imp.name(), r.threads, r.metric, r.median(), r.unit, v[0], v[v.len() - 1], v.len(),
            if i + 1 < rows.len() { "," } else { "" }
        );
    }
    s += "]\n";
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).expect("create JSON directory");
    }
    std::fs::write(path, s).expect("write JSON");
}

/// One panel per (workload, metric, readers), one bar per implementation,
/// each panel scaled to its own maximum.
pub fn write_svg(rows: &[Row], path: &Path) {
    let mut groups: BTreeMap<(Workload, String, usize), Vec<&Row>> = BTreeMap::new();
    for r in rows {
        groups
            .entry((r.workload, r.metric.clone(), r.threads))
            .or_default()
            .push(r);
    }
    let (pw, ph, bar_h) = (460.0, 150.0, 18.0);
    let cols = 2;
    let n = groups.len();
    let (width, height) = (pw * cols as f64 + 20.0, ph * n.div_ceil(cols) as f64 + 40.0);
    let mut s = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" font-family=\"sans-serif\" font-size=\"11\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n<text x=\"10\" y=\"22\" font-size=\"15\">krcu side-by-side (medians; bars scaled per panel)</text>\n"
    );
    let colour = |imp: Impl| match imp {
        Impl::KrcuMemb => "#1f77b4",
        Impl::KrcuQsbr => "#6baed6",
        Impl::LiburcuMemb => "#d62728",
        Impl::LiburcuQsbr => "#ff9896",
        Impl::CrossbeamEpoch => "#2ca02c",
        _ => "#7f7f7f",
    };
    for (k, ((w, metric, t), mut rs)) in groups.into_iter().enumerate() {
        rs.sort_by_key(|r| r.imp);
        let (x0, y0) = (10.0 + (k % cols) as f64 * pw, 40.0 + (k / cols) as f64 * ph);
        let max = rs.iter().map(|r| r.median()).fold(0.0, f64::max).max(1e-12);
        s +=
            &format!(
            "<text x=\"{x0}\" y=\"{}\" font-weight=\"bold\">{} / {} / {} reader(s) ({})</text>\n",
            y0 + 12.0, w.name(), metric, t, rs[0].unit
        );
        for (j, r) in rs.iter().enumerate() {
            let y = y0 + 20.0 + j as f64 * (bar_h + 4.0);
            let len = (pw - 200.0) * r.median() / max;
            s += &format!(
                "<text x=\"{x0}\" y=\"{}\">{}</text><rect x=\"{}\" y=\"{y}\" width=\"{len:.1}\" height=\"{bar_h}\" fill=\"{}\"/><text x=\"{}\" y=\"{}\">{}</text>\n",
                y + 13.0, r.imp.name(), x0 + 100.0, colour(r.imp), x0 + 104.0 + len, y + 13.0, fmt(r.median())
            );
        }
    }
    s += "</svg>\n";
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).expect("create SVG directory");
    }
    std::fs::write(path, s).expect("write SVG");
}
