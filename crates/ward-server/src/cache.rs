//! The hot-path cache: each child's [`ChildState`] (what `decide` reads), in memory, so a
//! decision costs a hash lookup rather than a database round trip.
//!
//! **Bounded**: entries are weighed in bytes ([`HotChild::weight`]: the state, its setting
//! slots, the id, any blocked names, and a fixed allowance for the map and the allocator),
//! and the cache holds at most its budget (`ward serve --cache-memory`). What to evict is
//! `quick_cache`'s policy (S3-FIFO-like CLOCK: one-hit children leave first, hot ones stay);
//! an evicted child is read from the store again when next asked for. **No stampede**: when
//! many requests miss on one child at once, one reads the store and the others wait for its
//! answer ([`ChildCache::lookup`] hands out a [`Fill`] to exactly one of them).
//!
//! Correctness rests on two rules. **Versions only go up**: an entry carries the stored
//! version it was read at, and an older one never replaces a newer one. **No fill across an
//! invalidation**: a reader notes its shard's epoch before reading the database and inserts
//! only if the epoch is unchanged afterwards; every invalidation (a local write, another
//! node's notice, a policy change) bumps the epoch first. Without the second rule a read that
//! started before another node's commit could land after that node's notice and stay stale.
//! Both checks and the insert happen under the shard's lock, which invalidation takes too, so
//! neither rule depends on the eviction crate's own locking.
//!
//! Never-seen children are cached too (as [`Cached::Absent`]), so a stream of decisions for
//! children the service has not registered does not hit the database each time.
//!
//! **A memo per thread** in front of it ([`ChildCache::with_entry`], for `decide/batch`): a
//! hit read from the shared cache costs its shard lock, a reference count and a hit mark,
//! atomics the two cores pass back and forth (about a quarter of a batch's time), so each
//! worker thread keeps what it last read, at most [`MEMO_ENTRIES`] children. A memo entry is
//! used only while its shard's change count is the one noted before it was read; every
//! change to the cache (a put, a fill, an invalidation, a clear) bumps that count *after*
//! changing the entries, under the shard's lock, so once a change has returned no memo serves
//! what it replaced. An eviction changes nothing a child's store says, so it bumps nothing: a
//! memo may keep an evicted child a little longer than the cache does, outside its budget (at
//! most [`MEMO_ENTRIES`] a worker).

use std::cell::RefCell;
use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use jiff::tz::TimeZone;
use prometheus_client::metrics::counter::Counter;
use quick_cache::sync::{Cache, PlaceholderGuard};
use quick_cache::{DefaultHashBuilder, Lifecycle, Weighter};
use ward_core::compiled::CompiledPolicy;
use ward_core::controls::Controls;
use ward_core::feedback::FeedbackGuard;
use ward_core::settings::{Child, ChildState};

/// How many epoch shards (and fill locks): enough that one busy child rarely stalls
/// another's fills.
const SHARDS: usize = 256;

/// The most children a worker thread's memo holds; a full memo starts again empty.
pub const MEMO_ENTRIES: usize = 4096;

/// What a thread's memo keeps of one hit.
struct Memo {
    /// Which cache it came from ([`ChildCache::serial`]).
    cache: u64,
    shard: usize,
    /// The shard's change count noted before the hit was read.
    changes: u64,
    entry: Cached,
}

thread_local! {
    /// This thread's memo. Its ids come from callers: foldhash's per-process seed keeps
    /// crafted collisions from being planned, and the bound keeps what one could cost small.
    static MEMO: RefCell<HashMap<Box<str>, Memo, foldhash::fast::RandomState>> =
        RefCell::new(HashMap::default());
}

/// Numbers each cache, so a memo never serves one cache's entry for another.
static SERIALS: AtomicU64 = AtomicU64::new(0);

/// What the hot paths read of a child: `decide` the state; the feed guard also the child's
/// time zone and their parents' controls.
#[derive(Debug, Clone)]
pub struct HotChild {
    /// What `decide` reads.
    pub state: ChildState,
    /// The child's own time zone, resolved.
    pub time_zone: Option<TimeZone>,
    /// Their parents' controls.
    pub controls: Controls,
    /// Their own feedback, compiled for the feed guard (hidden items, held-back names with
    /// the policy's decay).
    pub feedback: FeedbackGuard,
    /// Unix seconds from which time alone may change this state (the next birthday, the
    /// earliest waiting request's expiry): from then on the hot path reads the child afresh,
    /// so `decide` never answers from a state the child's `GET` no longer shows.
    pub fresh_until: i64,
    /// The local day the blocked-content alert was last raised on: the feed path writes the
    /// child only when a removal could raise it again.
    pub blocked_alerted_on: Option<jiff::civil::Date>,
}

impl HotChild {
    /// The hot part of `child` (observed at the time it was read or written) under `policy`.
    pub fn of(child: &Child, policy: &CompiledPolicy) -> Self {
        let fresh_until = child
            .requests
            .iter()
            .map(|request| request.expires_at.as_second())
            .fold(child.state.age.valid_until, i64::min);
        Self {
            state: child.state.clone(),
            time_zone: child
                .time_zone
                .as_deref()
                .and_then(|zone| TimeZone::get(zone).ok()),
            controls: child.controls.clone(),
            feedback: FeedbackGuard::new(&child.feedback, ward_core::feedback::decay(policy)),
            fresh_until,
            blocked_alerted_on: child.blocked_alerted_on,
        }
    }

    /// About how many bytes this child takes in memory, beside the entry itself: its setting
    /// slots and any blocked names (the time zone is shared by every child in it).
    fn heap_bytes(&self) -> u64 {
        let slots = std::mem::size_of_val(&*self.state.settings);
        let names = [
            self.controls.blocked_tags(),
            self.controls.blocked_topics(),
            self.controls.blocked_sources(),
        ]
        .iter()
        .flat_map(|list| list.names())
        .map(|name| std::mem::size_of_val(name) + name.key().len() + name.as_str().len())
        .sum::<usize>();
        (slots + names) as u64
    }

    /// True while time alone cannot have changed this state.
    pub fn is_fresh_at(&self, now: jiff::Timestamp) -> bool {
        now.as_second() < self.fresh_until
    }
}

/// A cached child.
#[derive(Debug, Clone)]
pub enum Cached {
    /// Stored, at this version.
    Known {
        /// The stored version it was read at.
        version: i64,
        /// What the hot paths read.
        state: Arc<HotChild>,
    },
    /// Not stored: decided as a new `unknown` child on the policy's defaults.
    Absent,
}

impl Cached {
    /// What the hot paths may read from this entry at `now`: the stored child's state while
    /// time cannot have changed it, `defaults` (the policy's) for a child never stored;
    /// `None` once a birthday or a request's expiry has come since it was read.
    pub fn fresh<'a>(
        &'a self,
        defaults: &'a Arc<HotChild>,
        now: jiff::Timestamp,
    ) -> Option<&'a Arc<HotChild>> {
        match self {
            Self::Known { state, .. } => state.is_fresh_at(now).then_some(state),
            Self::Absent => Some(defaults),
        }
    }

    fn version(&self) -> i64 {
        match self {
            Self::Known { version, .. } => *version,
            Self::Absent => 0,
        }
    }
}

/// What one entry is reckoned to cost beyond what it holds: quick_cache's slot and index,
/// and the allocator's rounding of the id's, the state's and the slots' blocks.
const ENTRY_OVERHEAD: u64 = 96;

/// The smallest budget a cache may be given: one child's worth is no cache at all.
pub const MIN_BUDGET: u64 = 1 << 20;

/// Weighs an entry in bytes (see the module docs).
#[derive(Debug, Clone, Copy)]
struct Bytes;

impl Weighter<Box<str>, Cached> for Bytes {
    fn weight(&self, id: &Box<str>, entry: &Cached) -> u64 {
        let inline = (std::mem::size_of::<Box<str>>() + id.len() + std::mem::size_of::<Cached>())
            as u64
            + ENTRY_OVERHEAD;
        match entry {
            // The `Arc`'s block: its two counts and the child.
            Cached::Known { state, .. } => {
                inline + 16 + std::mem::size_of::<HotChild>() as u64 + state.heap_bytes()
            }
            Cached::Absent => inline,
        }
    }
}

/// Counts evictions (quick_cache calls it for every entry it drops to stay in budget).
#[derive(Debug, Clone)]
struct CountEvictions(Counter);

impl Lifecycle<Box<str>, Cached> for CountEvictions {
    type RequestState = ();

    fn on_evict(&self, _state: &mut (), _id: Box<str>, _entry: Cached) {
        self.0.inc();
    }
}

type Entries = Cache<Box<str>, Cached, Bytes, DefaultHashBuilder, CountEvictions>;

/// Children's hot-path state, by id, within a memory budget.
pub struct ChildCache {
    entries: Entries,
    epochs: Box<[AtomicU64]>,
    /// Per shard: bumped after every change to its entries, for the memos (module docs).
    changes: Box<[AtomicU64]>,
    serial: u64,
    /// Per shard: a fill's checks and insert, and an invalidation's bump and removal, never
    /// interleave.
    locks: Box<[Mutex<()>]>,
    hasher: RandomState,
    budget: u64,
    /// False while the change feed is down: nothing is served from, or put in, the cache.
    enabled: AtomicBool,
}

impl std::fmt::Debug for ChildCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChildCache")
            .field("len", &self.entries.len())
            .field("bytes", &self.entries.weight())
            .field("budget", &self.budget)
            .finish_non_exhaustive()
    }
}

/// A shard's epoch, noted before reading the database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Epoch(u64);

/// The right, and the duty, to read one child from the store for everyone waiting on it:
/// give what was read to [`ChildCache::fill`]; dropping it instead lets the next waiter read.
pub struct Fill<'a> {
    guard: PlaceholderGuard<'a, Box<str>, Cached, Bytes, DefaultHashBuilder, CountEvictions>,
    epoch: Epoch,
}

impl Fill<'_> {
    /// The epoch noted when the fill began (before the store was read).
    pub fn epoch(&self) -> Epoch {
        self.epoch
    }
}

/// What [`ChildCache::lookup`] found.
pub enum Lookup<'a> {
    /// Cached.
    Hit(Cached),
    /// Not cached: this caller reads the store and fills it.
    Miss(Fill<'a>),
    /// The cache is off (the change feed is down): read the store, keep nothing.
    Off,
}

impl ChildCache {
    /// An empty cache holding at most `budget` bytes (at least [`MIN_BUDGET`]), counting
    /// what it evicts in `evictions`.
    pub fn new(budget: u64, evictions: Counter) -> Self {
        let budget = budget.max(MIN_BUDGET);
        // A guess at the entries' count, for the index's first size: ten settings' worth.
        let estimated = (budget / 400).clamp(1_024, 1 << 24) as usize;
        Self {
            entries: Cache::with(
                estimated,
                budget,
                Bytes,
                DefaultHashBuilder::default(),
                CountEvictions(evictions),
            ),
            epochs: (0..SHARDS).map(|_| AtomicU64::new(0)).collect(),
            changes: (0..SHARDS).map(|_| AtomicU64::new(0)).collect(),
            serial: SERIALS.fetch_add(1, Ordering::Relaxed),
            locks: (0..SHARDS).map(|_| Mutex::new(())).collect(),
            hasher: RandomState::new(),
            budget,
            enabled: AtomicBool::new(true),
        }
    }

    fn shard(&self, id: &str) -> usize {
        (self.hasher.hash_one(id) as usize) % SHARDS
    }

    /// Runs `f` holding `shard`'s lock (a poisoned lock is still a lock: what it guards is
    /// `()`).
    fn locked<T>(&self, shard: usize, f: impl FnOnce() -> T) -> T {
        let _held = self.locks[shard]
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        f()
    }

    /// The epoch to note before reading `id` from the database.
    pub fn epoch(&self, id: &str) -> Epoch {
        Epoch(self.epochs[self.shard(id)].load(Ordering::Acquire))
    }

    /// The cached entry, if any (and if the cache is in use).
    pub fn get(&self, id: &str) -> Option<Cached> {
        if !self.enabled.load(Ordering::Acquire) {
            return None;
        }
        self.entries.get(id)
    }

    /// Runs `read` on the cached entry for `id`, if any (and if the cache is in use), from
    /// this thread's memo when nothing has changed `id`'s shard since the memo read it: no
    /// lock, no reference count. `read` must not use the cache itself (it would read without
    /// the memo).
    pub fn with_entry<R>(&self, id: &str, read: impl FnOnce(&Cached) -> R) -> Option<R> {
        if !self.enabled.load(Ordering::Acquire) {
            return None;
        }
        MEMO.with(|memo| {
            let Ok(mut memo) = memo.try_borrow_mut() else {
                return self.entries.get(id).map(|entry| read(&entry));
            };
            if let Some(seen) = memo.get(id)
                && seen.cache == self.serial
                && self.changes[seen.shard].load(Ordering::Acquire) == seen.changes
            {
                return Some(read(&seen.entry));
            }
            let shard = self.shard(id);
            // Noted before the read: a change after it makes the memo entry unusable.
            let changes = self.changes[shard].load(Ordering::Acquire);
            let entry = self.entries.get(id)?;
            let answer = read(&entry);
            if memo.len() >= MEMO_ENTRIES {
                memo.clear();
            }
            let seen = Memo {
                cache: self.serial,
                shard,
                changes,
                entry,
            };
            match memo.get_mut(id) {
                Some(slot) => *slot = seen,
                None => {
                    memo.insert(id.into(), seen);
                }
            }
            Some(answer)
        })
    }

    /// Marks `shard` changed, for the memos: called after its entries change.
    fn changed(&self, shard: usize) {
        self.changes[shard].fetch_add(1, Ordering::AcqRel);
    }

    /// The cached entry, or the [`Fill`] for the one caller that reads the store while
    /// others asking for the same child wait for it.
    pub async fn lookup(&self, id: &str) -> Lookup<'_> {
        if !self.enabled.load(Ordering::Acquire) {
            return Lookup::Off;
        }
        // Noted before the placeholder exists: an invalidation after this point voids the
        // fill, whoever reads.
        let epoch = self.epoch(id);
        let key: Box<str> = id.into();
        match self.entries.get_value_or_guard_async(&key).await {
            Ok(entry) => Lookup::Hit(entry),
            Err(guard) => Lookup::Miss(Fill { guard, epoch }),
        }
    }

    /// Fills what a [`Fill`] read, under the same rules as [`ChildCache::put`]; when they
    /// refuse it, the waiters read for themselves.
    pub fn fill(&self, fill: Fill<'_>, id: &str, entry: Cached) {
        let shard = self.shard(id);
        self.locked(shard, || {
            if self.admits(shard, id, fill.epoch, &entry) {
                // Refused only when the placeholder went (an invalidation, a newer insert).
                let _ = fill.guard.insert(entry);
                self.changed(shard);
            }
        });
    }

    /// True when `entry`, read at `epoch`, may go in: the cache is on, nothing invalidated
    /// `id` since, and nothing newer is there. Called under the shard's lock.
    fn admits(&self, shard: usize, id: &str, epoch: Epoch, entry: &Cached) -> bool {
        self.enabled.load(Ordering::Acquire)
            && self.epochs[shard].load(Ordering::Acquire) == epoch.0
            && self
                .entries
                .peek(id)
                .is_none_or(|current| current.version() <= entry.version())
    }

    /// Puts what was read at `epoch`, unless `id` was invalidated since or a newer version
    /// is already there. The same version may replace itself: a child read afresh because
    /// time moved on (see [`HotChild::fresh_until`]) is the same document, observed later.
    pub fn put(&self, id: &str, epoch: Epoch, entry: Cached) {
        let shard = self.shard(id);
        self.locked(shard, || {
            if self.admits(shard, id, epoch, &entry) {
                self.entries.insert(id.into(), entry);
                self.changed(shard);
            }
        });
    }

    /// Forgets `id`: its epoch moves on first, so fills already under way are discarded.
    pub fn invalidate(&self, id: &str) {
        let shard = self.shard(id);
        self.locked(shard, || {
            self.epochs[shard].fetch_add(1, Ordering::AcqRel);
            self.entries.remove(id);
            self.changed(shard);
        });
    }

    /// Forgets everything (a new policy, a lost change feed).
    pub fn clear(&self) {
        for (shard, epoch) in self.epochs.iter().enumerate() {
            self.locked(shard, || epoch.fetch_add(1, Ordering::AcqRel));
        }
        self.entries.clear();
        for shard in 0..SHARDS {
            self.locked(shard, || self.changed(shard));
        }
    }

    /// Stops using the cache until [`ChildCache::resume`] (the change feed is down, so
    /// other nodes' changes would go unseen).
    pub fn suspend(&self) {
        self.enabled.store(false, Ordering::Release);
        self.clear();
    }

    /// Uses the cache again, starting empty.
    pub fn resume(&self) {
        self.clear();
        self.enabled.store(true, Ordering::Release);
    }

    /// How many children are cached.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when nothing is cached.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// What the cached children weigh, in bytes (at most [`ChildCache::budget`]).
    pub fn bytes(&self) -> u64 {
        self.entries.weight()
    }

    /// The budget, in bytes.
    pub fn budget(&self) -> u64 {
        self.budget
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn known(version: i64) -> Cached {
        Cached::Known {
            version,
            state: Arc::new(HotChild {
                time_zone: None,
                controls: Controls::default(),
                feedback: FeedbackGuard::default(),
                fresh_until: i64::MAX,
                blocked_alerted_on: None,
                state: ChildState {
                    age: ward_core::child::AgeSnapshot {
                        status: ward_core::child::AgeStatus::Unknown,
                        valid_until: i64::MAX,
                    },
                    age_record: None,
                    jurisdiction: ward_core::jurisdiction::Jurisdiction::parse("GB")
                        .unwrap_or_else(|_| unreachable!()),
                    settings: Box::new([]),
                    supervised: false,
                    geolocation: ward_core::policy::Toggle::Off,
                    profile: ward_core::policy::ProfileVisibility::Private,
                },
            }),
        }
    }

    fn cache() -> ChildCache {
        ChildCache::new(MIN_BUDGET, Counter::default())
    }

    fn version_of(cache: &ChildCache, id: &str) -> Option<i64> {
        cache.get(id).map(|entry| entry.version())
    }

    fn memo_version(cache: &ChildCache, id: &str) -> Option<i64> {
        cache.with_entry(id, Cached::version)
    }

    #[test]
    fn a_memo_serves_a_hit_again_until_its_shard_changes() {
        let cache = cache();
        cache.put("kid", cache.epoch("kid"), known(1));
        assert_eq!(memo_version(&cache, "kid"), Some(1));
        // Gone from the cache behind its back (as an eviction goes): the memo still answers,
        // so the answer above came through it.
        cache.entries.remove("kid");
        assert_eq!(memo_version(&cache, "kid"), Some(1));
        cache.put("kid", cache.epoch("kid"), known(2));
        assert_eq!(memo_version(&cache, "kid"), Some(2), "a put");
        cache.invalidate("kid");
        assert_eq!(memo_version(&cache, "kid"), None, "an invalidation");
        cache.put("kid", cache.epoch("kid"), known(3));
        assert_eq!(memo_version(&cache, "kid"), Some(3));
        cache.clear();
        assert_eq!(memo_version(&cache, "kid"), None, "a clear");
        cache.put("kid", cache.epoch("kid"), known(4));
        assert_eq!(memo_version(&cache, "kid"), Some(4));
        cache.suspend();
        assert_eq!(memo_version(&cache, "kid"), None, "a suspended cache");
    }

    #[tokio::test]
    async fn a_memo_never_serves_what_a_fill_replaced() {
        let cache = cache();
        cache.put("kid", cache.epoch("kid"), known(1));
        assert_eq!(memo_version(&cache, "kid"), Some(1));
        cache.entries.remove("kid");
        let Lookup::Miss(fill) = cache.lookup("kid").await else {
            panic!("a miss");
        };
        cache.fill(fill, "kid", known(2));
        assert_eq!(memo_version(&cache, "kid"), Some(2));
    }

    #[test]
    fn a_memo_keeps_each_caches_entries_apart_and_stays_bounded() {
        let (one, other) = (cache(), cache());
        one.put("kid", one.epoch("kid"), known(1));
        other.put("kid", other.epoch("kid"), known(2));
        assert_eq!(memo_version(&one, "kid"), Some(1));
        assert_eq!(memo_version(&other, "kid"), Some(2));
        assert_eq!(memo_version(&one, "kid"), Some(1));
        let big = ChildCache::new(64 << 20, Counter::default());
        for n in 0..=MEMO_ENTRIES {
            let id = format!("kid-{n}");
            big.put(&id, big.epoch(&id), known(1));
            assert_eq!(memo_version(&big, &id), Some(1));
        }
        assert!(MEMO.with(|memo| memo.borrow().len()) <= MEMO_ENTRIES);
    }

    #[test]
    fn a_fill_that_raced_an_invalidation_is_dropped() {
        let cache = cache();
        let before = cache.epoch("kid");
        cache.invalidate("kid");
        cache.put("kid", before, known(1));
        assert_eq!(version_of(&cache, "kid"), None);
        cache.put("kid", cache.epoch("kid"), known(2));
        assert_eq!(version_of(&cache, "kid"), Some(2));
    }

    #[test]
    fn an_older_version_never_replaces_a_newer_one() {
        let cache = cache();
        let epoch = cache.epoch("kid");
        cache.put("kid", epoch, known(3));
        cache.put("kid", epoch, known(2));
        assert_eq!(version_of(&cache, "kid"), Some(3));
        cache.put("kid", epoch, known(4));
        assert_eq!(version_of(&cache, "kid"), Some(4));
    }

    #[tokio::test]
    async fn a_fill_that_raced_an_invalidation_is_dropped_and_its_waiters_read_again() {
        let cache = cache();
        let Lookup::Miss(fill) = cache.lookup("kid").await else {
            unreachable!("an empty cache misses")
        };
        // Another node's notice arrives while the store is being read.
        cache.invalidate("kid");
        cache.fill(fill, "kid", known(1));
        assert_eq!(version_of(&cache, "kid"), None);
        // The next reader gets the fill, and what it reads after the notice stays.
        let Lookup::Miss(fill) = cache.lookup("kid").await else {
            unreachable!("nothing was kept")
        };
        cache.fill(fill, "kid", known(2));
        assert_eq!(version_of(&cache, "kid"), Some(2));
    }

    #[tokio::test]
    async fn a_fill_never_replaces_what_a_write_put_meanwhile() {
        let cache = cache();
        let Lookup::Miss(fill) = cache.lookup("kid").await else {
            unreachable!("an empty cache misses")
        };
        // A local write commits version 3 while the read (of version 2) is under way.
        cache.put("kid", cache.epoch("kid"), known(3));
        cache.fill(fill, "kid", known(2));
        assert_eq!(version_of(&cache, "kid"), Some(3));
    }

    #[tokio::test]
    async fn many_misses_on_one_child_read_the_store_once() {
        let cache = cache();
        let Lookup::Miss(fill) = cache.lookup("kid").await else {
            unreachable!("an empty cache misses")
        };
        // A second request for the same child waits for the first one's read.
        let waiter = cache.lookup("kid");
        let filler = async {
            tokio::task::yield_now().await;
            cache.fill(fill, "kid", known(7));
        };
        let (found, ()) = tokio::join!(waiter, filler);
        match found {
            Lookup::Hit(entry) => assert_eq!(entry.version(), 7),
            Lookup::Miss(_) | Lookup::Off => unreachable!("the waiter read for itself"),
        }
    }

    #[test]
    fn the_cache_stays_within_its_budget_and_counts_what_it_evicts() {
        let evictions = Counter::default();
        let cache = ChildCache::new(MIN_BUDGET, evictions.clone());
        let n_children = 50_000;
        for idx in 0..n_children {
            let id = format!("kid-{idx}");
            cache.put(&id, cache.epoch(&id), known(1));
        }
        assert!(cache.bytes() <= cache.budget(), "{cache:?}");
        assert!(cache.len() < n_children, "{cache:?}");
        // Most of the budget is used, and every child that did not fit was counted.
        assert!(cache.bytes() > cache.budget() / 2, "{cache:?}");
        assert_eq!(
            evictions.get() as usize + cache.len(),
            n_children,
            "{cache:?}"
        );
    }

    #[test]
    fn a_cached_child_is_a_few_hundred_bytes() {
        // What one cache entry holds inline (the settings' slots and any blocks are on the
        // heap beside it: 12 bytes a setting). Printed for docs/benchmarks.md.
        let inline = std::mem::size_of::<HotChild>() + std::mem::size_of::<Cached>();
        eprintln!(
            "weighed as {} bytes with no settings",
            Bytes.weight(&Box::from("kid-123456"), &known(1))
        );
        eprintln!(
            "HotChild {} bytes, Cached {} bytes",
            std::mem::size_of::<HotChild>(),
            std::mem::size_of::<Cached>()
        );
        assert!(inline <= 512, "{inline}");
    }

    #[test]
    fn a_suspended_cache_serves_and_keeps_nothing() {
        let cache = cache();
        cache.put("kid", cache.epoch("kid"), known(1));
        cache.suspend();
        assert!(cache.get("kid").is_none());
        cache.put("kid", cache.epoch("kid"), known(2));
        cache.resume();
        assert!(cache.is_empty());
    }
}
