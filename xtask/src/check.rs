//! The repository's own source checks, which keep the layout as
//! `docs/ARCHITECTURE.md` describes it:
//!
//! * **length**: no source file of `urcu-core` or `urcu-slab` over
//!   [`MAX_LINES`] lines;
//! * **circles**: no import circle among the modules of either crate (the
//!   module graph below);
//! * **orderings**: no `Relaxed` or `SeqCst` in the library crates without a
//!   comment that names its pair or its reason, on its line or in the
//!   comment block just above its statement;
//! * **flavor names**: no code chooses a flavor by comparing its name.
//!
//! # The module graph
//!
//! Each source file is a module (`a/mod.rs` and `a.rs` are `a`). A file
//! depends on every module a path in its code names: `crate::…`, `super::…`,
//! `self::…`, a child module declared in the file, and the trees of its `use`
//! items (a `use` of a module itself only binds its name: what counts is
//! the paths through it). A path is attributed to the longest module prefix
//! it has, and
//! through re-exports (`pub use child::Name` in a `mod.rs`) to the module
//! that defines the name, so that a folder's `mod.rs` which only re-exports
//! its files is no stop on a path between them. A re-export is not a
//! dependency of the module that makes it (only names its code uses are):
//! a flavor module may offer, under its own path, a type built on it. Test modules (`#[cfg(test)]`
//! to the end of the file) are not part of the graph. Circles are the
//! strongly connected components of more than one file.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::{Path, PathBuf};

/// The longest a source file of the core or the slab layer may be.
pub const MAX_LINES: usize = 500;

/// The crates whose module graphs must have no circle, and whose files
/// must be short.
pub const LAYERED: [&str; 2] = ["urcu-core", "urcu-slab"];

/// The crates whose atomic orderings must be argued.
pub const ARGUED: [&str; 3] = ["urcu-core", "urcu-slab", "urcu-ffi"];

/// One finding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub check: &'static str,
    pub file: PathBuf,
    pub line: usize,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line > 0 {
            write!(
                f,
                "{}:{}: {}: {}",
                self.file.display(),
                self.line,
                self.check,
                self.message
            )
        } else {
            write!(
                f,
                "{}: {}: {}",
                self.file.display(),
                self.check,
                self.message
            )
        }
    }
}

/// Every check over the workspace at `root`.
pub fn all(root: &Path) -> Vec<Problem> {
    let mut out = Vec::new();
    for krate in LAYERED {
        let src = root.join(krate).join("src");
        out.extend(lengths(root, &src));
        out.extend(circles(root, &src));
    }
    for krate in ARGUED {
        for file in rust_files(&root.join(krate).join("src")) {
            let text = std::fs::read_to_string(&file).unwrap_or_default();
            let rel = file.strip_prefix(root).unwrap_or(&file).to_path_buf();
            out.extend(orderings(&rel, &text));
            out.extend(flavor_names(&rel, &text));
        }
    }
    out
}

/// Every `.rs` file under `dir`, sorted.
pub fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "rs") {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

fn lengths(root: &Path, src: &Path) -> Vec<Problem> {
    rust_files(src)
        .into_iter()
        .filter_map(|f| {
            let n = std::fs::read_to_string(&f).ok()?.lines().count();
            (n > MAX_LINES).then(|| Problem {
                check: "length",
                file: f.strip_prefix(root).unwrap_or(&f).to_path_buf(),
                line: 0,
                message: format!("{n} lines (at most {MAX_LINES}): split it by mechanism"),
            })
        })
        .collect()
}

// ---- source text ---------------------------------------------------------

/// Each line of `text` split into its code (string and char literals
/// blanked, comments removed) and its comment text.
pub fn split_lines(text: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut in_block = 0usize;
    let mut in_str: Option<usize> = None; // Some(hashes) inside a (raw) string
    for line in text.lines() {
        let (mut code, mut comment) = (String::new(), String::new());
        let b: Vec<char> = line.chars().collect();
        let mut i = 0;
        while i < b.len() {
            let c = b[i];
            let next = b.get(i + 1).copied();
            if in_block > 0 {
                if c == '*' && next == Some('/') {
                    in_block -= 1;
                    i += 2;
                } else {
                    if c == '/' && next == Some('*') {
                        in_block += 1;
                        i += 1;
                    }
                    comment.push(c);
                    i += 1;
                }
                continue;
            }
            if let Some(hashes) = in_str {
                if c == '\\' && hashes == 0 {
                    i += 2;
                    continue;
                }
                if c == '"'
                    && b[i + 1..]
                        .iter()
                        .take(hashes)
                        .filter(|&&h| h == '#')
                        .count()
                        == hashes
                {
                    in_str = None;
                    code.push('"');
                    i += 1 + hashes;
                    continue;
                }
                i += 1;
                continue;
            }
            if c == '/' && next == Some('/') {
                comment.extend(&b[i + 2..]);
                break;
            }
            if c == '/' && next == Some('*') {
                in_block = 1;
                i += 2;
                continue;
            }
            if c == '"' {
                in_str = Some(0);
                code.push('"');
                i += 1;
                continue;
            }
            if c == 'r' && (next == Some('"') || next == Some('#')) {
                let hashes = b[i + 1..].iter().take_while(|&&h| h == '#').count();
                if b.get(i + 1 + hashes) == Some(&'"') {
                    in_str = Some(hashes);
                    code.push('"');
                    i += 2 + hashes;
                    continue;
                }
            }
            if c == '\'' {
                // A char literal ('x', '\n', '"'), or a lifetime.
                if next == Some('\\') {
                    if let Some(end) = b[i + 2..].iter().position(|&x| x == '\'') {
                        code.push_str("' '");
                        i += 3 + end;
                        continue;
                    }
                } else if b.get(i + 2) == Some(&'\'') {
                    code.push_str("' '");
                    i += 3;
                    continue;
                }
            }
            code.push(c);
            i += 1;
        }
        out.push((code, comment));
    }
    out
}

fn has_word(s: &str, w: &str) -> bool {
    s.match_indices(w).any(|(i, _)| {
        let before = s[..i].chars().next_back();
        let after = s[i + w.len()..].chars().next();
        let ident = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '_');
        !ident(before) && !ident(after)
    })
}

/// Where the test modules of a file start (`#[cfg(test)]`, `#[cfg(all(test,
/// ...))]` or `#[cfg(loom)]` before a `mod`), or the end.
fn library_end(lines: &[(String, String)]) -> usize {
    for (i, (code, _)) in lines.iter().enumerate() {
        let t = code.trim();
        let test_cfg = t.starts_with("#[cfg(test")
            || t.starts_with("#[cfg(all(test")
            || t.starts_with("#[cfg(all(loom, test")
            || t.starts_with("#[cfg(all(test, loom");
        if test_cfg
            && lines[i + 1..]
                .iter()
                .take(3)
                .any(|(c, _)| c.trim_start().starts_with("mod ") || c.contains(" mod "))
        {
            return i;
        }
    }
    lines.len()
}

// ---- orderings -------------------------------------------------------------

const ORDERING_WORDS: [&str; 2] = ["Relaxed", "SeqCst"];
/// Words of a comment that argues an ordering: it names an ordering (its
/// own or its pair's), a pair, a fence, or the reason a weak one suffices.
const ARGUMENT_WORDS: [&str; 9] = [
    "Relaxed",
    "SeqCst",
    "Acquire",
    "Release",
    "AcqRel",
    "pair",
    "fence",
    "statistic",
    "handshake",
];

/// How far above its statement an ordering's comment may be.
const LOOKBACK: usize = 12;

pub fn orderings(file: &Path, text: &str) -> Vec<Problem> {
    let lines = split_lines(text);
    let mut out = Vec::new();
    let mut in_use = false;
    for (i, (code, comment)) in lines.iter().enumerate() {
        let t = code.trim_start();
        // `use` items (over as many lines as they take) name orderings
        // without using them.
        if t.starts_with("use ") || t.starts_with("pub use ") || t.starts_with("pub(crate) use ") {
            in_use = !t.contains(';');
            continue;
        }
        if in_use {
            in_use = !t.contains(';');
            continue;
        }
        let Some(word) = ORDERING_WORDS.iter().find(|w| has_word(code, w)) else {
            continue;
        };
        let argued = |c: &str| ARGUMENT_WORDS.iter().any(|w| c.contains(w));
        if argued(comment) {
            continue;
        }
        // The comment block above the statement: lines back to a blank
        // line, taking comment lines and the statement's earlier lines.
        let mut ok = false;
        for (code, comment) in lines[..i].iter().rev().take(LOOKBACK) {
            if code.trim().is_empty() && comment.is_empty() {
                break;
            }
            if argued(comment) {
                ok = true;
                break;
            }
        }
        if !ok {
            out.push(Problem {
                check: "orderings",
                file: file.to_path_buf(),
                line: i + 1,
                message: format!(
                    "`{word}` without a comment naming its pair or its reason (on its line or just above its statement)"
                ),
            });
        }
    }
    out
}

// ---- flavor names ----------------------------------------------------------

pub fn flavor_names(file: &Path, text: &str) -> Vec<Problem> {
    let mut out = Vec::new();
    for (i, (code, _)) in split_lines(text).iter().enumerate() {
        let c: String = code.split_whitespace().collect::<Vec<_>>().join(" ");
        let by_name = c.contains("::NAME ==")
            || c.contains("::NAME !=")
            || c.contains("== F::NAME")
            || c.contains("match F::NAME")
            || c.contains("NAME.eq(");
        if by_name {
            out.push(Problem {
                check: "flavor names",
                file: file.to_path_buf(),
                line: i + 1,
                message: "a flavor chosen by comparing its name: make the behaviour an item of the sealed Flavor trait".into(),
            });
        }
    }
    out
}

// ---- the module graph ------------------------------------------------------

/// A crate's modules (by path, `crate::a::b`) and the modules each one
/// depends on.
#[derive(Debug, Default)]
pub struct ModuleGraph {
    pub files: BTreeMap<String, PathBuf>,
    pub edges: BTreeMap<String, BTreeSet<String>>,
}

fn module_path(src: &Path, file: &Path) -> String {
    let rel = file.strip_prefix(src).unwrap_or(file);
    let mut parts: Vec<String> = rel
        .iter()
        .map(|s| s.to_string_lossy().into_owned())
        .collect();
    let last = parts.pop().unwrap_or_default();
    let stem = last.trim_end_matches(".rs");
    if stem != "mod" && stem != "lib" {
        parts.push(stem.to_owned());
    }
    let mut p = String::from("crate");
    for s in parts {
        p.push_str("::");
        p.push_str(&s);
    }
    p
}

/// Expands a `use` tree (`a::{b, c::{d, e as f}, self}`) into paths and the
/// names they bind.
fn expand_use(tree: &str) -> Vec<(String, String)> {
    fn go(prefix: &str, t: &str, out: &mut Vec<(String, String)>) {
        let t = t.trim();
        if t.is_empty() {
            return;
        }
        if let Some(open) = t.find('{') {
            let head = t[..open].trim().trim_end_matches("::");
            let inner = &t[open + 1..t.rfind('}').unwrap_or(t.len())];
            let base = join(prefix, head);
            let mut depth = 0;
            let mut start = 0;
            for (i, c) in inner.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        go(&base, &inner[start..i], out);
                        start = i + 1;
                    }
                    _ => {}
                }
            }
            go(&base, &inner[start..], out);
            return;
        }
        let (path, alias) = match t.split_once(" as ") {
            Some((p, a)) => (p.trim(), Some(a.trim())),
            None => (t, None),
        };
        if path == "self" {
            let name = prefix.rsplit("::").next().unwrap_or(prefix);
            out.push((prefix.to_owned(), alias.unwrap_or(name).to_owned()));
            return;
        }
        let full = join(prefix, path);
        let name = alias.unwrap_or_else(|| path.rsplit("::").next().unwrap_or(path));
        out.push((full, name.to_owned()));
    }
    fn join(a: &str, b: &str) -> String {
        match (a.is_empty(), b.is_empty()) {
            (true, _) => b.to_owned(),
            (_, true) => a.to_owned(),
            _ => format!("{a}::{b}"),
        }
    }
    let mut out = Vec::new();
    go("", tree, &mut out);
    out
}

struct Parsed {
    /// `use` items: (visibility is pub-ish, absolute-or-relative path, bound name).
    uses: Vec<(bool, String, String)>,
    /// Paths in code (not in `use` items).
    paths: Vec<String>,
    /// Child modules declared with `mod name;`.
    children: Vec<String>,
    /// Every identifier in code (not in `use` items).
    words: BTreeSet<String>,
}

fn parse(text: &str) -> Parsed {
    let lines = split_lines(text);
    let end = library_end(&lines);
    let code: Vec<&str> = lines[..end].iter().map(|(c, _)| c.as_str()).collect();
    let joined = code.join("\n");
    let mut uses = Vec::new();
    let mut paths = Vec::new();
    let mut children = Vec::new();
    let mut words = BTreeSet::new();
    // Inline modules (`mod name { ... }`): a `super::` inside one names the
    // file's own module, so it is rewritten to `self::` there.
    let joined = inline_supers(&joined);
    // `use` items, possibly over several lines.
    let mut rest = joined.as_str();
    let mut non_use = String::new();
    while !rest.is_empty() {
        let (line, tail) = rest.split_once('\n').unwrap_or((rest, ""));
        let t = line.trim_start();
        let vis_use = ["pub use ", "pub(crate) use ", "pub(super) use ", "use "]
            .iter()
            .find(|p| t.starts_with(*p));
        if let Some(p) = vis_use {
            let start = rest.find(p).unwrap_or(0) + p.len();
            let stop = rest[start..].find(';').map_or(rest.len(), |s| start + s);
            let tree: String = rest[start..stop]
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ");
            for (path, name) in expand_use(&tree) {
                uses.push((p.starts_with("pub"), path, name));
            }
            rest = rest.get(stop + 1..).unwrap_or("");
            continue;
        }
        let words: Vec<&str> = t.split_whitespace().collect();
        let mod_at = words.iter().position(|w| *w == "mod");
        if let Some(m) = mod_at {
            if let Some(name) = words.get(m + 1) {
                if let Some(n) = name.strip_suffix(';') {
                    children.push(n.to_owned());
                }
            }
        }
        non_use.push_str(line);
        non_use.push('\n');
        rest = tail;
    }
    // Paths: maximal runs of `ident(::ident)+`.
    let b = non_use.as_bytes();
    let mut i = 0;
    let is_ident = |c: u8| c.is_ascii_alphanumeric() || c == b'_';
    while i < b.len() {
        if is_ident(b[i]) && (i == 0 || !(is_ident(b[i - 1]) || b[i - 1] == b':')) {
            let start = i;
            let mut j = i;
            loop {
                while j < b.len() && is_ident(b[j]) {
                    j += 1;
                }
                if j + 2 < b.len() && b[j] == b':' && b[j + 1] == b':' && is_ident(b[j + 2]) {
                    j += 2;
                } else {
                    break;
                }
            }
            let p = &non_use[start..j];
            if p.contains("::") {
                paths.push(p.to_owned());
            }
            words.extend(p.split("::").map(str::to_owned));
            i = j.max(i + 1);
        } else {
            i += 1;
        }
    }
    Parsed {
        uses,
        paths,
        children,
        words,
    }
}

/// Rewrites, inside inline modules, each path's leading `super::`s that
/// stay within the file to `self::`.
fn inline_supers(code: &str) -> String {
    let mut out = String::with_capacity(code.len());
    // Brace depth at which each open inline module started.
    let mut inline: Vec<usize> = Vec::new();
    let mut depth = 0usize;
    for line in code.split_inclusive('\n') {
        let t = line.trim_start();
        let words: Vec<&str> = t.split_whitespace().collect();
        let opens_inline = words
            .iter()
            .position(|w| *w == "mod")
            .and_then(|i| words.get(i + 2))
            .is_some_and(|w| w.starts_with('{'));
        let mut l = line.to_owned();
        let k = inline.len();
        if k > 0 {
            for _ in 0..k {
                // Innermost first: `super::super::x` in two inline modules
                // is the file's own `x`.
                l = l.replace("super::super::", "super::");
            }
            l = l.replace("super::", "self::");
        }
        if opens_inline {
            inline.push(depth);
        }
        for c in line.chars() {
            match c {
                '{' => depth += 1,
                '}' => {
                    depth = depth.saturating_sub(1);
                    if inline.last() == Some(&depth) {
                        inline.pop();
                    }
                }
                _ => {}
            }
        }
        out.push_str(&l);
    }
    out
}

impl ModuleGraph {
    /// The module graph of the crate whose sources are in `src`.
    pub fn of(src: &Path) -> ModuleGraph {
        let mut g = ModuleGraph::default();
        let mut parsed = BTreeMap::new();
        for f in rust_files(src) {
            let m = module_path(src, &f);
            let text = std::fs::read_to_string(&f).unwrap_or_default();
            parsed.insert(m.clone(), parse(&text));
            g.files.insert(m, f);
        }
        // Re-exports: module -> name -> the path it stands for.
        let mut reexports: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
        for (m, p) in &parsed {
            for (public, path, name) in &p.uses {
                if *public {
                    let abs = absolute(m, path, &p.children, &g.files);
                    reexports
                        .entry(m.clone())
                        .or_default()
                        .insert(name.clone(), abs);
                }
            }
        }
        for (m, p) in &parsed {
            let mut deps = BTreeSet::new();
            // Names bound by `use` items that are modules: their paths in
            // code resolve through them.
            let mut bound: BTreeMap<&str, String> = BTreeMap::new();
            for (public, path, name) in &p.uses {
                let abs = absolute(m, path, &p.children, &g.files);
                if *public && !p.words.contains(name.as_str()) {
                    // A re-export only makes a name available here; the
                    // module's code does not depend on it (the users of
                    // the name are attributed to where it is defined).
                    continue;
                }
                if g.files.contains_key(&abs) {
                    // A module imported by name: the paths through it are
                    // what the file depends on, not the module's own file.
                    bound.insert(name, abs);
                } else if let Some(target) = g.resolve(&abs, &reexports) {
                    deps.insert(target);
                }
            }
            for path in &p.paths {
                let first = path.split("::").next().unwrap_or("");
                let abs = if let Some(base) = bound.get(first) {
                    format!("{base}{}", &path[first.len()..])
                } else {
                    absolute(m, path, &p.children, &g.files)
                };
                if let Some(target) = g.resolve(&abs, &reexports) {
                    deps.insert(target);
                }
            }
            deps.remove(m);
            // A module's own children and its ancestors by declaration are
            // not imports: only what its code names.
            g.edges.insert(m.clone(), deps);
        }
        g
    }

    /// The module `path` (absolute, `crate::…`) lands in: its longest module
    /// prefix, followed through re-exports of the next name.
    fn resolve(
        &self,
        path: &str,
        reexports: &BTreeMap<String, BTreeMap<String, String>>,
    ) -> Option<String> {
        let mut path = path.to_owned();
        for _ in 0..8 {
            if !path.starts_with("crate") {
                return None;
            }
            let segs: Vec<&str> = path.split("::").collect();
            let k = (1..=segs.len())
                .rev()
                .find(|&k| self.files.contains_key(&segs[..k].join("::")))?;
            let module = segs[..k].join("::");
            let Some(next) = segs.get(k) else {
                return Some(module);
            };
            match reexports.get(&module).and_then(|r| r.get(*next)) {
                Some(target) if *target != path => {
                    let rest = segs[k + 1..].join("::");
                    path = if rest.is_empty() {
                        target.clone()
                    } else {
                        format!("{target}::{rest}")
                    };
                }
                _ => return Some(module),
            }
        }
        None
    }

    /// The circles: strongly connected components of more than one module.
    pub fn circles(&self) -> Vec<Vec<String>> {
        // Tarjan's algorithm.
        struct T<'a> {
            g: &'a ModuleGraph,
            index: BTreeMap<&'a str, usize>,
            low: BTreeMap<&'a str, usize>,
            stack: Vec<&'a str>,
            on: BTreeSet<&'a str>,
            next: usize,
            out: Vec<Vec<String>>,
        }
        fn visit<'a>(t: &mut T<'a>, v: &'a str) {
            t.index.insert(v, t.next);
            t.low.insert(v, t.next);
            t.next += 1;
            t.stack.push(v);
            t.on.insert(v);
            if let Some(ws) = t.g.edges.get(v) {
                for w in ws {
                    let w = w.as_str();
                    if !t.index.contains_key(w) {
                        visit(t, w);
                        let lw = t.low[w];
                        let lv = t.low.get_mut(v).expect("visited");
                        *lv = (*lv).min(lw);
                    } else if t.on.contains(w) {
                        let iw = t.index[w];
                        let lv = t.low.get_mut(v).expect("visited");
                        *lv = (*lv).min(iw);
                    }
                }
            }
            if t.low[v] == t.index[v] {
                let mut comp = Vec::new();
                while let Some(w) = t.stack.pop() {
                    t.on.remove(w);
                    comp.push(w.to_owned());
                    if w == v {
                        break;
                    }
                }
                if comp.len() > 1 {
                    comp.sort();
                    t.out.push(comp);
                }
            }
        }
        let mut t = T {
            g: self,
            index: BTreeMap::new(),
            low: BTreeMap::new(),
            stack: Vec::new(),
            on: BTreeSet::new(),
            next: 0,
            out: Vec::new(),
        };
        for v in self.files.keys() {
            if !t.index.contains_key(v.as_str()) {
                visit(&mut t, v);
            }
        }
        t.out
    }

    /// One path of imports from `from` back to itself inside `circle`.
    pub fn example_cycle(&self, circle: &[String]) -> Vec<String> {
        let inside: BTreeSet<&str> = circle.iter().map(String::as_str).collect();
        let start = circle[0].as_str();
        // Breadth-first from start's successors back to start.
        let mut prev: BTreeMap<&str, &str> = BTreeMap::new();
        let mut queue = std::collections::VecDeque::from([start]);
        while let Some(v) = queue.pop_front() {
            for w in self.edges.get(v).into_iter().flatten() {
                let w = w.as_str();
                if !inside.contains(w) {
                    continue;
                }
                if w == start {
                    let mut path = vec![start.to_owned()];
                    let mut x = v;
                    while x != start {
                        path.push(x.to_owned());
                        x = prev[x];
                    }
                    path.push(start.to_owned());
                    path.reverse();
                    return path;
                }
                if let std::collections::btree_map::Entry::Vacant(e) = prev.entry(w) {
                    e.insert(v);
                    queue.push_back(w);
                }
            }
        }
        circle.to_vec()
    }
}

/// `path` as written in module `m` (declaring `children`), made absolute.
fn absolute(m: &str, path: &str, children: &[String], files: &BTreeMap<String, PathBuf>) -> String {
    let mut segs: Vec<&str> = path.split("::").collect();
    let mut base: Vec<&str> = m.split("::").collect();
    match segs.first().copied() {
        Some("crate") => return path.to_owned(),
        Some("self") => {
            segs.remove(0);
        }
        Some("super") => {
            while segs.first() == Some(&"super") {
                segs.remove(0);
                base.pop();
            }
        }
        Some(first) if children.iter().any(|c| c == first) => {}
        Some(first) => {
            // A sibling path that names a module of this crate relative to
            // the file (2018 paths start at the crate only through `crate`,
            // so anything else is an external crate or a local name).
            let candidate = format!("{m}::{first}");
            if !files.contains_key(&candidate) {
                return path.to_owned();
            }
        }
        None => return path.to_owned(),
    }
    let mut out: Vec<&str> = base;
    out.extend(segs);
    out.join("::")
}

fn circles(root: &Path, src: &Path) -> Vec<Problem> {
    let g = ModuleGraph::of(src);
    g.circles()
        .into_iter()
        .map(|c| {
            let cycle = g.example_cycle(&c);
            Problem {
                check: "circles",
                file: src.strip_prefix(root).unwrap_or(src).to_path_buf(),
                line: 0,
                message: format!(
                    "{} modules import each other in a circle ({}); e.g. {}",
                    c.len(),
                    c.join(", "),
                    cycle.join(" -> ")
                ),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn use_trees_expand() {
        let got = expand_use("crate::{a::B, c::{self, D as E}}");
        assert_eq!(
            got,
            vec![
                ("crate::a::B".to_owned(), "B".to_owned()),
                ("crate::c".to_owned(), "c".to_owned()),
                ("crate::c::D".to_owned(), "E".to_owned()),
            ]
        );
    }

    #[test]
    fn comments_and_strings_are_not_code() {
        let l = split_lines("let s = \"Relaxed\"; // SeqCst: why\nlet c = '\"'; x");
        assert_eq!(l[0].0, "let s = \"\"; ");
        assert_eq!(l[0].1, " SeqCst: why");
        assert!(l[1].0.ends_with("x"));
    }

    #[test]
    fn an_unargued_ordering_is_found() {
        let text = "fn f() {\n    x.load(Relaxed);\n}\n\nfn g() {\n    // Relaxed: a statistic.\n    x.load(Relaxed);\n}\n";
        let p = orderings(Path::new("f.rs"), text);
        assert_eq!(p.len(), 1);
        assert_eq!(p[0].line, 2);
    }

    #[test]
    fn a_name_comparison_is_found() {
        let p = flavor_names(Path::new("f.rs"), "let q = F::NAME == \"qsbr\";\n");
        assert_eq!(p.len(), 1);
    }

    fn graph(files: &[(&str, &str)]) -> ModuleGraph {
        let dir = std::env::temp_dir().join(format!(
            "xtask-graph-{}-{}",
            std::process::id(),
            files.len()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        for (p, text) in files {
            let f = dir.join(p);
            std::fs::create_dir_all(f.parent().unwrap()).unwrap();
            std::fs::write(f, text).unwrap();
        }
        let g = ModuleGraph::of(&dir);
        let _ = std::fs::remove_dir_all(&dir);
        g
    }

    #[test]
    fn a_circle_is_found_and_a_reexport_is_not_one() {
        let g = graph(&[
            ("lib.rs", "mod a;\nmod b;\n"),
            ("a.rs", "use crate::b::X;\npub struct Y;\n"),
            ("b.rs", "pub struct X;\nfn f() { let _ = crate::a::Y; }\n"),
        ]);
        assert_eq!(
            g.circles(),
            vec![vec!["crate::a".to_owned(), "crate::b".to_owned()]]
        );
        let g = graph(&[
            ("lib.rs", "mod m;\nmod c;\n"),
            ("m/mod.rs", "mod x;\nmod y;\npub use x::X;\npub use y::Y;\n"),
            ("m/x.rs", "pub struct X;\n"),
            ("m/y.rs", "use super::X;\npub struct Y(X);\n"),
            ("c.rs", "use crate::m::{X, Y};\n"),
        ]);
        assert!(g.circles().is_empty(), "{:?}", g.edges);
        assert!(g.edges["crate::m::y"].contains("crate::m::x"));
        // A module re-exporting a type built on it is no circle; code that
        // calls into that type is.
        let g = graph(&[
            (
                "lib.rs",
                "mod f;
mod h;
",
            ),
            (
                "f.rs",
                "pub use crate::h::Handle;
pub fn lock() {}
",
            ),
            (
                "h.rs",
                "pub struct Handle;
fn g() { crate::f::lock(); }
",
            ),
        ]);
        assert!(g.circles().is_empty(), "{:?}", g.edges);
        let g = graph(&[
            (
                "lib.rs",
                "mod f;
mod h;
",
            ),
            (
                "f.rs",
                "pub use crate::h::Handle;
pub fn lock() { crate::h::check(); }
",
            ),
            (
                "h.rs",
                "pub struct Handle;
pub fn check() {}
fn g() { crate::f::lock(); }
",
            ),
        ]);
        assert_eq!(g.circles().len(), 1);
        // `super::` inside an inline module names the file's own module.
        let g = graph(&[
            ("lib.rs", "mod a;\nmod b;\n"),
            (
                "a.rs",
                "pub struct A;\nmod sealed {\n    impl T for super::A {}\n}\n",
            ),
            ("b.rs", "use crate::a::A;\n"),
        ]);
        assert!(g.circles().is_empty(), "{:?}", g.edges);
        assert!(!g.edges["crate::a"].contains("crate"));
    }
}
