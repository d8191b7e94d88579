//! What the benchmark measures: its workloads and implementations, which
//! implementation runs which workload, with how many readers, and where.

/// A workload: one kind of measurement, one file under `workloads/`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Workload {
    Read,
    Sync,
    Defer,
    Update,
    Kfree,
    Alloc,
    Nolock,
    Scan,
    /// liburcu's own test programs, built against krcu-urcu and liburcu.
    Compat,
}

impl Workload {
    /// In the order of the table.
    pub const ALL: [Workload; 9] = [
        Workload::Read,
        Workload::Sync,
        Workload::Defer,
        Workload::Update,
        Workload::Kfree,
        Workload::Alloc,
        Workload::Nolock,
        Workload::Scan,
        Workload::Compat,
    ];

    /// Its name on the command line, in the table and in the JSON.
    pub fn name(self) -> &'static str {
        match self {
            Workload::Read => "read",
            Workload::Sync => "sync",
            Workload::Defer => "defer",
            Workload::Update => "update",
            Workload::Kfree => "kfree",
            Workload::Alloc => "alloc",
            Workload::Nolock => "nolock",
            Workload::Scan => "scan",
            Workload::Compat => "compat",
        }
    }

    pub fn from_name(name: &str) -> Option<Workload> {
        Workload::ALL.into_iter().find(|w| w.name() == name)
    }

    /// Reader threads per cell: kfree runs with one memb reader, compat's
    /// programs with one reader and one writer, alloc and nolock with
    /// none, scan with 1, 100 and 1000 idle registered threads, the rest
    /// with one and two.
    pub fn reader_counts(self) -> &'static [usize] {
        match self {
            Workload::Kfree | Workload::Compat => &[1],
            Workload::Alloc | Workload::Nolock => &[0],
            // Idle registered threads, not readers.
            Workload::Scan => &[1, 100, 1000],
            _ => &[1, 2],
        }
    }

    /// Whether its cells report the child's peak RSS.
    pub fn reports_rss(self) -> bool {
        matches!(self, Workload::Defer | Workload::Update | Workload::Kfree)
    }
}

/// An implementation: a krcu flavor or API, or what it is measured against.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Impl {
    KrcuMemb,
    KrcuQsbr,
    /// qsbr through a `qsbr::Reader`: the zero-cost safe read side.
    KrcuQsbrReader,
    KrcuKmalloc,
    KrcuCache,
    KrcuHeadless,
    KrcuNolock,
    /// libkrcu from C, with krcu.h's inline read side.
    KrcuC,
    /// libkrcu from C, with the exported read side.
    KrcuCCall,
    LiburcuMemb,
    /// liburcu memb with its exported (not inline) read side.
    LiburcuMembCall,
    LiburcuQsbr,
    CrossbeamEpoch,
    GlibcMalloc,
    /// A plain atomic load: what a read costs with no RCU at all.
    Plain,
    /// liburcu's test programs built with `pkg-config krcu-urcu`.
    KrcuUrcu,
    /// The same programs built against liburcu.
    Liburcu,
}

impl Impl {
    /// In the order of the table.
    pub const ALL: [Impl; 17] = [
        Impl::KrcuMemb,
        Impl::KrcuQsbr,
        Impl::KrcuQsbrReader,
        Impl::KrcuKmalloc,
        Impl::KrcuCache,
        Impl::KrcuHeadless,
        Impl::KrcuNolock,
        Impl::KrcuC,
        Impl::KrcuCCall,
        Impl::LiburcuMemb,
        Impl::LiburcuMembCall,
        Impl::LiburcuQsbr,
        Impl::CrossbeamEpoch,
        Impl::GlibcMalloc,
        Impl::Plain,
        Impl::KrcuUrcu,
        Impl::Liburcu,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Impl::KrcuMemb => "krcu-memb",
            Impl::KrcuQsbr => "krcu-qsbr",
            Impl::KrcuQsbrReader => "krcu-qsbr-reader",
            Impl::KrcuKmalloc => "krcu-kmalloc",
            Impl::KrcuCache => "krcu-cache",
            Impl::KrcuHeadless => "krcu-headless",
            Impl::KrcuNolock => "krcu-nolock",
            Impl::KrcuC => "krcu-c",
            Impl::KrcuCCall => "krcu-c-call",
            Impl::LiburcuMemb => "liburcu-memb",
            Impl::LiburcuMembCall => "liburcu-memb-call",
            Impl::LiburcuQsbr => "liburcu-qsbr",
            Impl::CrossbeamEpoch => "crossbeam-epoch",
            Impl::GlibcMalloc => "glibc-malloc",
            Impl::Plain => "plain",
            Impl::KrcuUrcu => "krcu-urcu",
            Impl::Liburcu => "liburcu",
        }
    }

    pub fn from_name(name: &str) -> Option<Impl> {
        Impl::ALL.into_iter().find(|i| i.name() == name)
    }

    /// Whether it runs as the C driver (`benches/c/driver.c`) rather than
    /// as this binary.
    pub fn is_c_driver(self) -> bool {
        matches!(
            self,
            Impl::LiburcuMemb
                | Impl::LiburcuMembCall
                | Impl::LiburcuQsbr
                | Impl::KrcuC
                | Impl::KrcuCCall
        )
    }

    /// Whether it runs `workload`.
    pub fn runs(self, workload: Workload) -> bool {
        use Impl::*;
        if self == KrcuQsbrReader {
            return workload == Workload::Read;
        }
        if matches!(self, KrcuUrcu | Liburcu) || workload == Workload::Compat {
            return matches!(self, KrcuUrcu | Liburcu) && workload == Workload::Compat;
        }
        match workload {
            Workload::Kfree => matches!(
                self,
                KrcuKmalloc | KrcuCache | KrcuHeadless | KrcuC | LiburcuMemb | CrossbeamEpoch
            ),
            Workload::Alloc => matches!(self, KrcuKmalloc | KrcuCache | GlibcMalloc),
            Workload::Nolock => matches!(self, KrcuKmalloc | KrcuNolock),
            Workload::Read => !matches!(
                self,
                KrcuKmalloc | KrcuCache | KrcuHeadless | KrcuNolock | GlibcMalloc
            ),
            Workload::Defer => matches!(
                self,
                KrcuMemb | KrcuQsbr | KrcuC | LiburcuMemb | LiburcuQsbr | CrossbeamEpoch
            ),
            Workload::Sync | Workload::Scan => {
                matches!(self, KrcuMemb | KrcuQsbr | LiburcuMemb | LiburcuQsbr)
            }
            Workload::Update => matches!(
                self,
                KrcuMemb | KrcuQsbr | LiburcuMemb | LiburcuQsbr | CrossbeamEpoch
            ),
            Workload::Compat => false,
        }
    }
}
