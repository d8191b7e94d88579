//! The seam torture: every layer of krcu at once, where they meet.
//!
//! Running together for `KRCU_SEAMS_SECS` seconds (default 3):
//!
//! * memb readers and online qsbr readers check that the object they reach
//!   through a shared slot is alive (its magic is set, cleared only by the
//!   cache's `rcu_dtor` after a grace period of both flavors);
//! * updaters replace the object and retire the old one with `kfree_rcu`,
//!   and run grace periods of every kind (normal, expedited, polled,
//!   hurried callbacks) against the gathering helpers;
//! * the qsbr readers also call slab barriers and create and destroy
//!   caches while online;
//! * callbacks and `rcu_dtor`s allocate and free slab memory, read under
//!   both flavors, and queue more callbacks;
//! * short-lived threads run under a 10 kHz timer whose handler reads
//!   under memb and calls every `_nolock` function, while the threads exit;
//! * caches are created and destroyed while other threads call `trim()`
//!   and `stats()`;
//! * bogus cookies go to `cond_synchronize` and `poll_state`;
//! * the main thread forks now and then; each child does real work under
//!   a watchdog and exits 0.
//!
//! Pass: no hang (a watchdog fails the run), no crash, every object freed
//! exactly once (the destructor checks and counts), the statistics balance.

mod common;

use std::ffi::c_void;
use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use urcu_core::{memb, qsbr, GpCookie, RcuHead};
use urcu_slab::testing::{install_handler, ThreadTimer};
use urcu_slab::{
    kfree, kfree_nolock, kfree_rcu, kfree_rcu_nolock, kmalloc, kmalloc_nolock, kvfree_rcu_barrier,
    CacheArgs, KmemCache, RcuPtr,
};

const LIVE: u64 = 0x5eed_a11c_e0b1_ec75;

#[repr(C)]
struct Obj {
    rcu: RcuPtr,
    magic: AtomicU64,
    gen: u64,
}

static RETIRED: AtomicU64 = AtomicU64::new(0);
static DESTRUCTED: AtomicU64 = AtomicU64::new(0);
static FAILURES: AtomicU64 = AtomicU64::new(0);

fn fail(what: &str) {
    eprintln!("seams: {what}");
    FAILURES.fetch_add(1, Ordering::Relaxed);
}

/// The object cache's rcu_dtor: the object must be alive (freed exactly
/// once); it also reads under both flavors and allocates, as a callback.
unsafe extern "C" fn obj_dtor(p: *mut c_void) {
    // SAFETY: an Obj of the object cache, after its grace period.
    let obj = unsafe { &*(p as *const Obj) };
    if obj.magic.swap(0, Ordering::Relaxed) != LIVE {
        // A write(2): the dtor may run anywhere; never panic here.
        urcu_core::__private::die(&["seams: an object was freed twice or never made"]);
    }
    DESTRUCTED.fetch_add(1, Ordering::Relaxed);
    if obj.gen % 16 == 0 {
        let _m = memb::read_lock();
        let _q = qsbr::read_lock();
        let k = kmalloc(40).unwrap();
        // SAFETY: ours, freed once.
        unsafe { kfree(k.as_ptr()) };
    }
}

fn obj_cache() -> KmemCache {
    KmemCache::new(
        "seams-obj",
        std::mem::size_of::<Obj>(),
        CacheArgs {
            sheaf_capacity: 16,
            rcu_dtor: Some(obj_dtor),
            ..CacheArgs::default()
        },
    )
    .unwrap()
}

/// The shared slot readers read and updaters replace.
static SLOT: AtomicPtr<Obj> = AtomicPtr::new(std::ptr::null_mut());

fn make(cache: &KmemCache, gen: u64) -> *mut Obj {
    let p = cache.alloc().unwrap().as_ptr().cast::<Obj>();
    // SAFETY: a fresh object of the cache, ours.
    unsafe {
        p.write(Obj {
            rcu: RcuPtr::new(),
            magic: AtomicU64::new(LIVE),
            gen,
        })
    };
    p
}

/// Reads the slot inside a section of either flavor: the object must be
/// alive.
fn check_slot() {
    let p = SLOT.load(Ordering::Acquire);
    if !p.is_null() {
        // SAFETY: inside a read section; the object is retired only with
        // kfree_rcu, after a grace period of both flavors.
        if unsafe { (*p).magic.load(Ordering::Relaxed) } != LIVE {
            fail("a reader reached a freed object");
        }
    }
}

/// A tiny xorshift generator: no dependency, a seed per thread.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

static CALLBACKS: AtomicU64 = AtomicU64::new(0);

#[repr(C)]
struct Cb {
    head: RcuHead,
    depth: u32,
}

unsafe extern "C" fn seam_callback(head: *mut RcuHead) {
    // SAFETY: a boxed Cb, handed to us once.
    let cb = unsafe { Box::from_raw(head as *mut Cb) };
    CALLBACKS.fetch_add(1, Ordering::Relaxed);
    {
        let _m = memb::read_lock();
        check_slot();
    }
    {
        let _q = qsbr::read_lock();
        check_slot();
    }
    qsbr::quiescent_state();
    let k = kmalloc(100 + cb.depth as usize * 50).unwrap();
    // SAFETY: ours, freed once after a grace period.
    unsafe { urcu_slab::kvfree_rcu(k.as_ptr()) };
    if cb.depth < 2 {
        queue_callback(cb.depth + 1, cb.depth == 0);
    }
}

/// Queues a callback that queues more; `hurry` starts its grace period
/// without waiting for the gather.
fn queue_callback(depth: u32, hurry: bool) {
    let cb = Box::into_raw(Box::new(Cb {
        head: RcuHead::new(),
        depth,
    }));
    // SAFETY: a fresh head at the start of a boxed Cb.
    unsafe {
        if hurry {
            memb::call_rcu_hurry(cb as *mut RcuHead, seam_callback)
        } else {
            memb::call_rcu(cb as *mut RcuHead, seam_callback)
        }
    }
}

/// Heads for the handlers' call_rcu_nolock, allocated up front.
const HANDLER_HEADS: usize = 1 << 16;
static HEAD_POOL: AtomicPtr<RcuHead> = AtomicPtr::new(std::ptr::null_mut());
static NEXT_HEAD: AtomicUsize = AtomicUsize::new(0);
static HANDLED: AtomicU64 = AtomicU64::new(0);

unsafe extern "C" fn nothing(_: *mut RcuHead) {}

extern "C" fn on_timer(_: libc::c_int) {
    {
        let _g = memb::read_lock();
        check_slot();
    }
    if let Ok(p) = kmalloc_nolock(24) {
        // SAFETY: ours, freed once.
        unsafe { kfree_nolock(p.as_ptr()) };
    }
    if let Ok(p) = kmalloc_nolock(std::mem::size_of::<Obj>()) {
        let o = p.as_ptr().cast::<Obj>();
        // SAFETY: a fresh kmalloc object, big enough for an Obj, ours.
        unsafe {
            o.write(Obj {
                rcu: RcuPtr::new(),
                magic: AtomicU64::new(0),
                gen: 0,
            });
            kfree_rcu_nolock!(o, Obj, rcu);
        }
    }
    let i = NEXT_HEAD.fetch_add(1, Ordering::Relaxed);
    if i < HANDLER_HEADS {
        // SAFETY: each pooled head is handed out once and lives forever.
        unsafe { memb::call_rcu_nolock(HEAD_POOL.load(Ordering::Acquire).add(i), nothing) };
    }
    HANDLED.fetch_add(1, Ordering::Relaxed);
}

thread_local! {
    // Made before the thread registers: destroyed after krcu's exit hook,
    // so the timer fires through the thread's exit.
    static TIMER: std::cell::RefCell<Option<ThreadTimer>> = const { std::cell::RefCell::new(None) };
}

/// What a fork child does, under an alarm.
fn child_work(cache: &KmemCache) {
    let o = make(cache, 1);
    RETIRED.fetch_add(1, Ordering::Relaxed);
    // SAFETY: ours, retired once.
    unsafe { kfree_rcu!(o, Obj, rcu) };
    memb::synchronize();
    qsbr::synchronize();
    queue_callback(2, false);
    memb::barrier();
    kvfree_rcu_barrier();
    let c = KmemCache::new("seams-child", 64, CacheArgs::default()).unwrap();
    let p = c.alloc().unwrap();
    // SAFETY: ours, freed once.
    unsafe { c.free(p) };
    c.destroy().unwrap();
}

fn fork_once(cache: &KmemCache) {
    if let Err(status) = common::fork_and_check(|| child_work(cache)) {
        fail(&format!("a fork child failed: status {status}"));
    }
}

#[test]
fn seam_torture() {
    let secs: u64 = std::env::var("KRCU_SEAMS_SECS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3);
    let pool: Vec<RcuHead> = (0..HANDLER_HEADS).map(|_| RcuHead::new()).collect();
    HEAD_POOL.store(
        Box::leak(pool.into_boxed_slice()).as_mut_ptr(),
        Ordering::Release,
    );
    let sig = libc::SIGRTMIN() + 4;
    // SAFETY: the handler does only async-signal-safe krcu calls.
    unsafe { install_handler(sig, on_timer) };
    urcu_slab::prepare_thread();
    let cache = Arc::new(obj_cache());
    SLOT.store(make(&cache, 0), Ordering::Release);
    let deadline = Instant::now() + Duration::from_secs(secs);
    let run = {
        let cache = cache.clone();
        move || run_all(cache, deadline)
    };
    common::within_for("the seam torture", Duration::from_secs(secs + 120), run);
    assert_eq!(
        FAILURES.load(Ordering::Relaxed),
        0,
        "see the messages above"
    );
    // Retire the last object; every retired object is destructed once.
    let last = SLOT.swap(std::ptr::null_mut(), Ordering::AcqRel);
    RETIRED.fetch_add(1, Ordering::Relaxed);
    // SAFETY: unpublished, retired once.
    unsafe { kfree_rcu!(last, Obj, rcu) };
    memb::barrier();
    memb::barrier();
    memb::barrier();
    kvfree_rcu_barrier();
    assert_eq!(
        DESTRUCTED.load(Ordering::Relaxed),
        RETIRED.load(Ordering::Relaxed),
        "every retired object is freed exactly once"
    );
    let st = urcu_slab::stats();
    assert_eq!(st.kfree_rcu_double, 0, "{st:?}");
    assert_eq!(st.deferred_pending, 0, "{st:?}");
    let cache = Arc::into_inner(cache).unwrap();
    assert_eq!(cache.stats().live, 0, "{:?}", cache.stats());
    cache.destroy().unwrap();
    eprintln!(
        "seams: {secs} s, {} objects retired, {} callbacks, {} handler runs",
        RETIRED.load(Ordering::Relaxed),
        CALLBACKS.load(Ordering::Relaxed),
        HANDLED.load(Ordering::Relaxed)
    );
}

fn run_all(cache: Arc<KmemCache>, deadline: Instant) {
    let stop = Arc::new(AtomicBool::new(false));
    let mut threads = Vec::new();
    let spawn = |threads: &mut Vec<std::thread::JoinHandle<()>>,
                 name: &str,
                 f: Box<dyn FnOnce() + Send>| {
        threads.push(
            std::thread::Builder::new()
                .name(name.into())
                .spawn(f)
                .unwrap(),
        );
    };
    // memb readers.
    for _ in 0..2 {
        let stop = stop.clone();
        spawn(
            &mut threads,
            "memb-reader",
            Box::new(move || {
                while !stop.load(Ordering::Relaxed) {
                    let _g = memb::read_lock();
                    check_slot();
                }
            }),
        );
    }
    // qsbr readers that also call slab barriers and destroy caches online.
    {
        let stop = stop.clone();
        spawn(
            &mut threads,
            "qsbr-reader",
            Box::new(move || {
                let _reg = qsbr::register_thread();
                let mut n = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    {
                        let _g = qsbr::read_lock();
                        check_slot();
                    }
                    qsbr::quiescent_state();
                    n += 1;
                    if n % 20_000 == 0 {
                        kvfree_rcu_barrier();
                        let c = KmemCache::new("seams-qsbr", 32, CacheArgs::default()).unwrap();
                        let p = c.alloc().unwrap().as_ptr().cast::<Obj>();
                        // SAFETY: ours (32 bytes fit an RcuPtr), retired once.
                        unsafe {
                            p.cast::<RcuPtr>().write(RcuPtr::new());
                            urcu_slab::kfree_rcu_link(p.cast(), p.cast::<RcuPtr>());
                        }
                        c.destroy().unwrap();
                    }
                }
            }),
        );
    }
    // Updaters.
    for seed in 1..=2u64 {
        let (stop, cache) = (stop.clone(), cache.clone());
        spawn(
            &mut threads,
            "updater",
            Box::new(move || {
                let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15));
                let mut gen = seed << 40;
                while !stop.load(Ordering::Relaxed) {
                    gen += 1;
                    let old = SLOT.swap(make(&cache, gen), Ordering::AcqRel);
                    RETIRED.fetch_add(1, Ordering::Relaxed);
                    // SAFETY: unpublished above, retired once.
                    unsafe { kfree_rcu!(old, Obj, rcu) };
                    match rng.next() % 64 {
                        0 => queue_callback(0, false),
                        1 => memb::synchronize(),
                        2 => {
                            let c = memb::start_poll();
                            memb::cond_synchronize(c);
                        }
                        3 => queue_callback(0, true),
                        4 => memb::synchronize_expedited(),
                        5 => qsbr::synchronize_expedited(),
                        6 => {
                            let c = qsbr::start_poll_expedited();
                            qsbr::cond_synchronize(c);
                        }
                        _ => {}
                    }
                }
            }),
        );
    }
    // Caches made and destroyed against trim() and stats().
    {
        let stop = stop.clone();
        spawn(
            &mut threads,
            "cache-churn",
            Box::new(move || {
                while !stop.load(Ordering::Relaxed) {
                    let c = KmemCache::new(
                        "seams-churn",
                        80,
                        CacheArgs {
                            sheaf_capacity: 4,
                            ..CacheArgs::default()
                        },
                    )
                    .unwrap();
                    let objs: Vec<_> = (0..30).map(|_| c.alloc().unwrap()).collect();
                    for o in objs {
                        // SAFETY: ours, freed once.
                        unsafe { c.free(o) };
                    }
                    if let Err(e) = c.destroy() {
                        fail(&format!("destroy refused: {e}"));
                    }
                }
            }),
        );
    }
    {
        let (stop, cache) = (stop.clone(), cache.clone());
        spawn(
            &mut threads,
            "trim-stats",
            Box::new(move || {
                while !stop.load(Ordering::Relaxed) {
                    urcu_slab::trim();
                    let _ = cache.stats();
                    let _ = urcu_slab::stats();
                    std::thread::sleep(Duration::from_micros(200));
                }
            }),
        );
    }
    // Bogus cookies.
    {
        let stop = stop.clone();
        spawn(
            &mut threads,
            "cookies",
            Box::new(move || {
                let mut rng = Rng(0x1234_5678_9abc_def1);
                while !stop.load(Ordering::Relaxed) {
                    let c = GpCookie { seq: rng.next() };
                    let _ = memb::poll_state(c);
                    let _ = qsbr::poll_state(c);
                    memb::cond_synchronize(c);
                    qsbr::cond_synchronize(c);
                    std::thread::sleep(Duration::from_millis(1));
                }
            }),
        );
    }
    // Short-lived threads under a 10 kHz timer.
    {
        let stop = stop.clone();
        let sig = libc::SIGRTMIN() + 4;
        spawn(
            &mut threads,
            "spawner",
            Box::new(move || {
                while !stop.load(Ordering::Relaxed) {
                    let t = std::thread::spawn(move || {
                        // The timer's slot first, so that it is destroyed after krcu's
                        // exit hooks; then a registration that lasts until the thread
                        // exits, made before any handler that reads may run (a
                        // registration locks and allocates); then the timer.
                        TIMER.with(|_| ());
                        drop(memb::read_lock());
                        urcu_slab::prepare_thread();
                        TIMER.with(|t| {
                            *t.borrow_mut() =
                                Some(ThreadTimer::start(sig, Duration::from_micros(100)))
                        });
                        for _ in 0..200 {
                            let _g = memb::read_lock();
                            check_slot();
                        }
                    });
                    t.join().unwrap();
                }
            }),
        );
    }
    // This thread forks now and then.
    while Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(150));
        fork_once(&cache);
    }
    stop.store(true, Ordering::Relaxed);
    for t in threads {
        t.join().unwrap();
    }
}
