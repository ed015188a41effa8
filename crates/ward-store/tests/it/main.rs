//! ward-store's one integration-test binary: the same story runs against SQLite always and
//! PostgreSQL when `WARD_TEST_DATABASE_URL` is set (each PostgreSQL test in its own schema).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail loudly"
)]

mod commit;
mod outage;
mod pages;
mod story;
mod tamper;

use std::future::Future;

use jiff::Timestamp;
use ward_core::compiled::CompiledPolicy;
use ward_core::ids::ChildId;
use ward_core::policy::Policy;
use ward_core::settings::{Child, Event};
use ward_store::test_support::{fresh_schema, postgres_url};
use ward_store::{AnyStore, ChildWrite, LedgerEvent, Store, StoredChild};

/// Runs `story` on a fresh SQLite file, then on a fresh PostgreSQL schema when configured.
/// The closure gets the store and its URL (for tests that reach into the database).
pub(crate) async fn on_both<F, Fut>(name: &str, story: F)
where
    F: Fn(AnyStore, String) -> Fut,
    Fut: Future<Output = ()>,
{
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("ward.db");
    let url = path.display().to_string();
    let store = AnyStore::open(&url).await.expect("open sqlite");
    story(store, url).await;
    if let Some(base) = postgres_url(name) {
        let url = fresh_schema(&base).await.expect("fresh schema");
        let store = AnyStore::open(&url).await.expect("open postgres");
        story(store, url).await;
    }
}

pub(crate) fn policy() -> CompiledPolicy {
    let source = include_str!("../../../../examples/clipstream.toml");
    CompiledPolicy::new(Policy::parse(source).expect("example parses")).expect("compiles")
}

pub(crate) fn at(text: &str) -> Timestamp {
    text.parse().expect("timestamp")
}

pub(crate) fn child_id(text: &str) -> ChildId {
    ChildId::parse(text).expect("child id")
}

/// Writes `child` as it now is, with the events that got it there, as the server does after a
/// core operation.
pub(crate) async fn save(
    store: &AnyStore,
    policy: &CompiledPolicy,
    child: &Child,
    events: &[Event],
) {
    let write = ChildWrite {
        document: Some(child.to_document(policy)),
        events: events.iter().map(LedgerEvent::from).collect(),
        ..ChildWrite::default()
    };
    store
        .write_child(&child.id, 1, move |_| Ok::<_, String>((write, ())))
        .await
        .unwrap();
}

/// The write that creates `id` (or leaves it), as the server does on first sight.
pub(crate) fn create(
    policy: &CompiledPolicy,
    id: &ChildId,
    now: Timestamp,
) -> impl FnOnce(Option<StoredChild>) -> Result<(ChildWrite, ()), String> + Send {
    let (child, events) = Child::new(id.clone(), policy, now);
    let document = child.to_document(policy);
    move |stored| {
        if stored.is_some() {
            return Ok((ChildWrite::default(), ()));
        }
        Ok((
            ChildWrite {
                document: Some(document),
                events: events.iter().map(LedgerEvent::from).collect(),
                ..ChildWrite::default()
            },
            (),
        ))
    }
}
