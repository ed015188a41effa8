//! The hot-path cache: each child's [`ChildState`] (what `decide` reads), in memory, so a
//! decision costs a hash lookup rather than a database round trip.
//!
//! Correctness rests on two rules. **Versions only go up**: an entry carries the stored
//! version it was read at, and an older one never replaces a newer one. **No fill across an
//! invalidation**: a reader notes its shard's epoch before reading the database and inserts
//! only if the epoch is unchanged afterwards; every invalidation (a local write, another
//! node's notice, a policy change) bumps the epoch first. Without the second rule a read that
//! started before another node's commit could land after that node's notice and stay stale.
//!
//! Never-seen children are cached too (as [`Cached::Absent`]), so a stream of decisions for
//! children the service has not registered does not hit the database each time. Not bounded:
//! an entry is a few hundred bytes (see `docs/benchmarks.md`); a million children fit in a
//! few hundred MB.

use std::hash::{BuildHasher, RandomState};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use dashmap::DashMap;
use jiff::tz::TimeZone;
use ward_core::controls::Controls;
use ward_core::settings::{Child, ChildState};

/// How many epoch shards: enough that one busy child rarely stalls another's fills.
const SHARDS: usize = 256;

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
    /// Unix seconds from which time alone may change this state (the next birthday, the
    /// earliest waiting request's expiry): from then on the hot path reads the child afresh,
    /// so `decide` never answers from a state the child's `GET` no longer shows.
    pub fresh_until: i64,
    /// The local day the blocked-content alert was last raised on: the feed path writes the
    /// child only when a removal could raise it again.
    pub blocked_alerted_on: Option<jiff::civil::Date>,
}

impl HotChild {
    /// The hot part of `child` (observed at the time it was read or written).
    pub fn of(child: &Child) -> Self {
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
            fresh_until,
            blocked_alerted_on: child.blocked_alerted_on,
        }
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
    fn version(&self) -> i64 {
        match self {
            Self::Known { version, .. } => *version,
            Self::Absent => 0,
        }
    }
}

/// Children's hot-path state, by id.
#[derive(Debug)]
pub struct ChildCache {
    entries: DashMap<Box<str>, Cached>,
    epochs: Box<[AtomicU64]>,
    hasher: RandomState,
    /// False while the change feed is down: nothing is served from, or put in, the cache.
    enabled: AtomicBool,
}

impl Default for ChildCache {
    fn default() -> Self {
        Self {
            entries: DashMap::new(),
            epochs: (0..SHARDS).map(|_| AtomicU64::new(0)).collect(),
            hasher: RandomState::new(),
            enabled: AtomicBool::new(true),
        }
    }
}

/// A shard's epoch, noted before reading the database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Epoch(u64);

impl ChildCache {
    fn epoch_cell(&self, id: &str) -> &AtomicU64 {
        let shard = (self.hasher.hash_one(id) as usize) % SHARDS;
        &self.epochs[shard]
    }

    /// The epoch to note before reading `id` from the database.
    pub fn epoch(&self, id: &str) -> Epoch {
        Epoch(self.epoch_cell(id).load(Ordering::Acquire))
    }

    /// The cached entry, if any (and if the cache is in use).
    pub fn get(&self, id: &str) -> Option<Cached> {
        if !self.enabled.load(Ordering::Acquire) {
            return None;
        }
        self.entries.get(id).map(|entry| entry.value().clone())
    }

    /// Puts what was read at `epoch`, unless `id` was invalidated since or a newer version
    /// is already there. The same version may replace itself: a child read afresh because
    /// time moved on (see [`HotChild::fresh_until`]) is the same document, observed later.
    pub fn put(&self, id: &str, epoch: Epoch, entry: Cached) {
        if !self.enabled.load(Ordering::Acquire) {
            return;
        }
        let cell = self.epoch_cell(id);
        match self.entries.entry(id.into()) {
            dashmap::Entry::Occupied(mut occupied) => {
                // Checked under the entry's lock, which invalidation also takes to remove.
                if cell.load(Ordering::Acquire) == epoch.0
                    && occupied.get().version() <= entry.version()
                {
                    occupied.insert(entry);
                }
            }
            dashmap::Entry::Vacant(vacant) => {
                if cell.load(Ordering::Acquire) == epoch.0 {
                    vacant.insert(entry);
                }
            }
        }
    }

    /// Forgets `id`: its epoch moves on first, so fills already under way are discarded.
    pub fn invalidate(&self, id: &str) {
        self.epoch_cell(id).fetch_add(1, Ordering::AcqRel);
        self.entries.remove(id);
    }

    /// Forgets everything (a new policy, a lost change feed).
    pub fn clear(&self) {
        for epoch in &self.epochs {
            epoch.fetch_add(1, Ordering::AcqRel);
        }
        self.entries.clear();
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

    fn version_of(cache: &ChildCache, id: &str) -> Option<i64> {
        cache.get(id).map(|entry| entry.version())
    }

    #[test]
    fn a_fill_that_raced_an_invalidation_is_dropped() {
        let cache = ChildCache::default();
        let before = cache.epoch("kid");
        cache.invalidate("kid");
        cache.put("kid", before, known(1));
        assert_eq!(version_of(&cache, "kid"), None);
        cache.put("kid", cache.epoch("kid"), known(2));
        assert_eq!(version_of(&cache, "kid"), Some(2));
    }

    #[test]
    fn an_older_version_never_replaces_a_newer_one() {
        let cache = ChildCache::default();
        let epoch = cache.epoch("kid");
        cache.put("kid", epoch, known(3));
        cache.put("kid", epoch, known(2));
        assert_eq!(version_of(&cache, "kid"), Some(3));
        cache.put("kid", epoch, known(4));
        assert_eq!(version_of(&cache, "kid"), Some(4));
    }

    #[test]
    fn a_cached_child_is_a_few_hundred_bytes() {
        // What one cache entry holds inline (the settings' slots and any blocks are on the
        // heap beside it: 12 bytes a setting). Printed for docs/benchmarks.md.
        let inline = std::mem::size_of::<HotChild>() + std::mem::size_of::<Cached>();
        eprintln!(
            "HotChild {} bytes, Cached {} bytes",
            std::mem::size_of::<HotChild>(),
            std::mem::size_of::<Cached>()
        );
        assert!(inline <= 512, "{inline}");
    }

    #[test]
    fn a_suspended_cache_serves_and_keeps_nothing() {
        let cache = ChildCache::default();
        cache.put("kid", cache.epoch("kid"), known(1));
        cache.suspend();
        assert!(cache.get("kid").is_none());
        cache.put("kid", cache.epoch("kid"), known(2));
        cache.resume();
        assert!(cache.is_empty());
    }
}
