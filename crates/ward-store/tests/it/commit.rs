//! Group commit, the sequencer, checkpoints and migrating an old ledger: how writes share a
//! commit without losing any, how the ledger is chained without a lock every writer shares,
//! and what a checkpoint catches.

use std::sync::Arc;

use jiff::Timestamp;
use ward_store::ledger::{self, Problem};
use ward_store::test_support::{fresh_schema, migrate_to, postgres_url};
use ward_store::{AnyStore, ChildWrite, GroupHold, LedgerEvent, NewAlert, Store, WriteError};

use crate::tamper::tamper;
use crate::{at, child_id, create, on_both, policy};

/// Holds `store`'s queue of child writes until the guard is dropped.
async fn hold_groups(store: &AnyStore) -> GroupHold {
    match store {
        AnyStore::Sqlite(sqlite) => sqlite.hold_groups().await,
        AnyStore::Postgres(postgres) => postgres.hold_groups().await,
    }
}

/// Waits until `n` child writes are queued (behind [`hold_groups`]'s guard).
async fn until_queued(store: &AnyStore, n: u64) {
    let queued = || match store {
        AnyStore::Sqlite(sqlite) => sqlite.queued_writes(),
        AnyStore::Postgres(postgres) => postgres.queued_writes(),
    };
    while queued() < n {
        tokio::task::yield_now().await;
    }
}

/// Groups of child writes committed, and the writes they made durable.
fn group_counts(store: &AnyStore) -> (u64, u64) {
    match store {
        AnyStore::Sqlite(sqlite) => sqlite.group_counts(),
        AnyStore::Postgres(postgres) => postgres.group_counts(),
    }
}

/// A write of `id`'s creation that fails inside the database after its document and its
/// ledger entry were written: one alert to the same parent twice breaks the alerts' key.
fn failing_write(
    id: &ward_core::ids::ChildId,
    now: Timestamp,
) -> impl FnOnce(Option<ward_store::StoredChild>) -> Result<(ChildWrite, ()), String> + Send + 'static
{
    let policy = policy();
    let (child, events) = ward_core::settings::Child::new(id.clone(), &policy, now);
    let document = child.to_document(&policy);
    move |_| {
        Ok((
            ChildWrite {
                document: Some(document),
                events: events.iter().map(LedgerEvent::from).collect(),
                alerts: vec![NewAlert {
                    event: 0,
                    kind: "consent_requested".into(),
                    parents: vec!["mum".into(), "mum".into()],
                    body: serde_json::json!({}),
                    parent_body: None,
                }],
                ..ChildWrite::default()
            },
            (),
        ))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_queued_together_share_one_group_and_one_that_fails_takes_none_with_it() {
    on_both("one group", |store, _url| async move {
        let policy = Arc::new(policy());
        let now = at("2026-01-10T10:00:00Z");
        let commits_before = match &store {
            AnyStore::Sqlite(sqlite) => sqlite.commit_counts(),
            AnyStore::Postgres(_) => (0, 0),
        };

        // Hold the queue so that every write waits in it, then let them all go at once.
        let hold = hold_groups(&store).await;
        let mut tasks = Vec::new();
        for n in 0..8 {
            let (store, policy) = (store.clone(), policy.clone());
            tasks.push(tokio::spawn(async move {
                let id = child_id(&format!("kid-{n}"));
                match n {
                    3 => store
                        .write_child(&id, 1, |_| Err::<(ChildWrite, ()), _>("refused".to_owned()))
                        .await
                        .map_err(|error| format!("{error}")),
                    5 => store
                        .write_child(&id, 1, failing_write(&id, now))
                        .await
                        .map_err(|error| format!("{error}")),
                    _ => store
                        .write_child(&id, 1, create(&policy, &id, now))
                        .await
                        .map_err(|error| format!("{error}")),
                }
            }));
        }
        until_queued(&store, 8).await;
        drop(hold);
        let mut outcomes = Vec::new();
        for task in tasks {
            outcomes.push(task.await.unwrap());
        }

        for (n, outcome) in outcomes.iter().enumerate() {
            match n {
                3 => assert_eq!(outcome, &Err("refused".to_owned())),
                5 => assert!(
                    outcome
                        .as_ref()
                        .is_err_and(|error| error.contains("database")),
                    "{outcome:?}"
                ),
                _ => assert_eq!(outcome, &Ok(()), "write {n}"),
            }
        }
        let groups = group_counts(&store);
        assert_eq!(groups, (1, 6), "the six good writes went as one group");
        if let AnyStore::Sqlite(sqlite) = &store {
            let (commits, writes) = sqlite.commit_counts();
            assert_eq!(
                (commits - commits_before.0, writes - commits_before.1),
                (1, 6),
                "the six good writes shared one commit"
            );
        }
        for n in 0..8 {
            let stored = store.child(&child_id(&format!("kid-{n}"))).await.unwrap();
            assert_eq!(stored.is_some(), n != 3 && n != 5, "kid-{n}");
        }
        assert!(
            store
                .ledger_of(&child_id("kid-5"))
                .await
                .unwrap()
                .is_empty(),
            "the failed write's entry went with it"
        );
        let verdict = store.verify_ledger().await.unwrap();
        assert!(verdict.ok(), "{verdict:?}");
        assert_eq!(verdict.entries, 6);
    })
    .await;
}

/// A group of plain writes (documents and entries only, as most are) in which the database
/// refuses one: the rest are still written, each alone, and the refused one leaves nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plain_group_with_one_failing_write_writes_the_others_alone() {
    on_both("plain group", |store, url| async move {
        let policy = Arc::new(policy());
        let now = at("2026-01-10T10:00:00Z");
        // The database refuses one child's document, as a constraint would.
        match &store {
            AnyStore::Sqlite(_) => {
                let trigger = "CREATE TRIGGER refuse_one BEFORE INSERT ON children \
                     WHEN NEW.id = 'kid-refused' BEGIN SELECT RAISE(ABORT, 'refused'); END";
                tamper(&store, &url, trigger).await;
            }
            AnyStore::Postgres(_) => {
                let function = "CREATE FUNCTION refuse_one() RETURNS trigger AS $$ BEGIN \
                     IF NEW.id = 'kid-refused' THEN RAISE EXCEPTION 'refused'; END IF; \
                     RETURN NEW; END $$ LANGUAGE plpgsql";
                tamper(&store, &url, function).await;
                let trigger = "CREATE TRIGGER refuse_one BEFORE INSERT ON children \
                     FOR EACH ROW EXECUTE FUNCTION refuse_one()";
                tamper(&store, &url, trigger).await;
            }
        }
        let names = ["kid-a", "kid-b", "kid-refused", "kid-c"];
        let hold = hold_groups(&store).await;
        let mut tasks = Vec::new();
        for name in names {
            let (store, policy) = (store.clone(), policy.clone());
            tasks.push(tokio::spawn(async move {
                let id = child_id(name);
                store
                    .write_child(&id, 1, create(&policy, &id, now))
                    .await
                    .map_err(|error| error.to_string())
            }));
        }
        until_queued(&store, 4).await;
        drop(hold);
        for (name, task) in names.into_iter().zip(tasks) {
            let outcome = task.await.unwrap();
            if name == "kid-refused" {
                assert!(
                    outcome
                        .as_ref()
                        .is_err_and(|error| error.contains("refused")),
                    "{outcome:?}"
                );
            } else {
                assert_eq!(outcome, Ok(()), "{name}");
            }
            let stored = store.child(&child_id(name)).await.unwrap();
            assert_eq!(stored.is_some(), name != "kid-refused", "{name}");
        }
        let groups = group_counts(&store);
        assert_eq!(groups, (1, 3), "the three good writes went as one group");
        let verdict = store.verify_ledger().await.unwrap();
        assert!(verdict.ok(), "{verdict:?}");
        assert_eq!(verdict.entries, 3, "the refused write's entry went with it");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_write_of_a_child_queued_with_the_first_reads_what_the_first_wrote() {
    on_both("same child twice", |store, _url| async move {
        let policy = Arc::new(policy());
        let now = at("2026-01-10T10:00:00Z");
        let id = child_id("kid-twice");
        let hold = hold_groups(&store).await;
        // Each write counts the versions it saw: the second must see the first's.
        let mut tasks = Vec::new();
        for _ in 0..2 {
            let (store, policy, id) = (store.clone(), policy.clone(), id.clone());
            tasks.push(tokio::spawn(async move {
                let (child, events) = ward_core::settings::Child::new(id.clone(), &policy, now);
                let document = child.to_document(&policy);
                store
                    .write_child(&id, 1, move |stored| {
                        let seen = stored.as_ref().map_or(0, |stored| stored.version);
                        let write = ChildWrite {
                            document: Some(document),
                            events: if seen == 0 {
                                events.iter().map(LedgerEvent::from).collect()
                            } else {
                                Vec::new()
                            },
                            ..ChildWrite::default()
                        };
                        Ok::<_, String>((write, seen))
                    })
                    .await
                    .map_err(|error| error.to_string())
            }));
        }
        until_queued(&store, 2).await;
        drop(hold);
        let mut seen = Vec::new();
        for task in tasks {
            seen.push(task.await.unwrap().unwrap());
        }
        seen.sort_unstable();
        assert_eq!(
            seen,
            vec![0, 1],
            "one write saw none, the other the first's"
        );
        let stored = store.child(&id).await.unwrap().unwrap();
        assert_eq!(stored.version, 2);
        let verdict = store.verify_ledger().await.unwrap();
        assert!(verdict.ok(), "{verdict:?}");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_dropped_mid_way_leaves_nothing_and_blocks_no_one() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ward.db");
    let store = AnyStore::open(path.to_str().unwrap()).await.unwrap();
    let policy = policy();
    let now = at("2026-01-10T10:00:00Z");
    let dropped = child_id("kid-dropped");
    // Polled once: it takes the writer and opens its savepoint, then is dropped (a client
    // that hung up), before its statements finish.
    {
        let write = store.write_child(&dropped, 1, create(&policy, &dropped, now));
        tokio::pin!(write);
        let _ = futures_poll_once(write.as_mut()).await;
    }
    let kept = child_id("kid-kept");
    store
        .write_child(&kept, 1, create(&policy, &kept, now))
        .await
        .unwrap();
    assert!(store.child(&kept).await.unwrap().is_some());
    let verdict = store.verify_ledger().await.unwrap();
    assert!(verdict.ok(), "{verdict:?}");
}

/// Polls a future once, as a runtime would before its task is cancelled.
async fn futures_poll_once<F: std::future::Future + Unpin>(future: F) -> Option<F::Output> {
    let mut future = future;
    std::future::poll_fn(|context| {
        std::task::Poll::Ready(match std::pin::Pin::new(&mut future).poll(context) {
            std::task::Poll::Ready(output) => Some(output),
            std::task::Poll::Pending => None,
        })
    })
    .await
}

#[tokio::test]
async fn sqlite_chains_at_commit_and_postgres_commits_unchained_until_the_sequencer_runs() {
    on_both("unchained entries", |store, url| async move {
        let policy = policy();
        let now = at("2026-01-10T10:00:00Z");
        for n in 0..5 {
            let id = child_id(&format!("kid-{n}"));
            store
                .write_child(&id, 1, create(&policy, &id, now))
                .await
                .unwrap();
        }
        let unchained = count(
            &store,
            &url,
            "SELECT COUNT(*) FROM ledger WHERE seq IS NULL",
        )
        .await;
        match store {
            AnyStore::Sqlite(_) => assert_eq!(unchained, 0),
            AnyStore::Postgres(_) => assert_eq!(unchained, 5),
        }
        let chained = store.chain_ledger().await.unwrap();
        assert_eq!(chained, if unchained == 0 { 0 } else { 5 });
        assert_eq!(
            count(
                &store,
                &url,
                "SELECT COUNT(*) FROM ledger WHERE seq IS NULL"
            )
            .await,
            0
        );
        assert_eq!(store.chain_ledger().await.unwrap(), 0, "nothing twice");
        let verdict = store.verify_ledger().await.unwrap();
        assert!(verdict.ok(), "{verdict:?}");
        assert_eq!(verdict.entries, 5);
    })
    .await;
}

/// One number from the database behind the store's back.
async fn count(store: &AnyStore, url: &str, statement: &str) -> i64 {
    use sqlx::Connection;
    match store {
        AnyStore::Sqlite(_) => {
            let mut connection = sqlx::SqliteConnection::connect(&format!("sqlite://{url}"))
                .await
                .unwrap();
            sqlx::query_scalar(statement)
                .fetch_one(&mut connection)
                .await
                .unwrap()
        }
        AnyStore::Postgres(_) => {
            let mut connection = sqlx::PgConnection::connect(url).await.unwrap();
            sqlx::query_scalar(statement)
                .fetch_one(&mut connection)
                .await
                .unwrap()
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_node_sequences_what_every_node_commits_and_another_takes_over_when_it_dies() {
    let Some(base) = postgres_url("sequencer takeover") else {
        return;
    };
    let url = fresh_schema(&base).await.unwrap();
    let (AnyStore::Postgres(first), AnyStore::Postgres(second)) = (
        AnyStore::open(&url).await.unwrap(),
        AnyStore::open(&url).await.unwrap(),
    ) else {
        unreachable!("a postgres URL opens PostgreSQL")
    };
    let policy = policy();
    let now = at("2026-01-10T10:00:00Z");
    let mut first_seq = first.sequencing();
    let leader = tokio::spawn({
        let first = first.clone();
        async move { first.run_sequencer().await }
    });
    first_seq.wait_for(|state| state.leading).await.unwrap();
    let mut second_seq = second.sequencing();
    let follower = tokio::spawn({
        let second = second.clone();
        async move { second.run_sequencer().await }
    });
    // The second node writes; the first, leading, chains it with no call from anyone.
    for n in 0..10 {
        let id = child_id(&format!("kid-{n}"));
        second
            .write_child(&id, 1, create(&policy, &id, now))
            .await
            .unwrap();
    }
    first_seq
        .wait_for(|state| state.chained >= 10)
        .await
        .unwrap();
    assert!(!second_seq.borrow().leading, "one leader at a time");
    // The leader dies (its task, and with it its connection and lock, go).
    leader.abort();
    let _ = leader.await;
    second_seq.wait_for(|state| state.leading).await.unwrap();
    for n in 10..15 {
        let id = child_id(&format!("kid-{n}"));
        second
            .write_child(&id, 1, create(&policy, &id, now))
            .await
            .unwrap();
    }
    second_seq
        .wait_for(|state| state.chained >= 5)
        .await
        .unwrap();
    follower.abort();
    let store = AnyStore::Postgres(second);
    assert_eq!(
        store.chain_ledger().await.unwrap(),
        0,
        "all chained already"
    );
    let verdict = store.verify_ledger().await.unwrap();
    assert!(verdict.ok(), "{verdict:?}");
    assert_eq!(verdict.entries, 15);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_from_two_nodes_at_once_are_all_chained_once_in_one_chain() {
    let Some(base) = postgres_url("two writing nodes") else {
        return;
    };
    let url = fresh_schema(&base).await.unwrap();
    let nodes = [
        AnyStore::open(&url).await.unwrap(),
        AnyStore::open(&url).await.unwrap(),
    ];
    let policy = Arc::new(policy());
    let now = at("2026-01-10T10:00:00Z");
    let mut tasks = Vec::new();
    for n in 0..40 {
        let (store, policy) = (nodes[n % 2].clone(), policy.clone());
        tasks.push(tokio::spawn(async move {
            let id = child_id(&format!("kid-{n}"));
            store
                .write_child(&id, 1, create(&policy, &id, now))
                .await
                .unwrap();
            // Chaining while others write: every node may chain, never two at once.
            store.chain_ledger().await.unwrap();
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    let verdict = nodes[0].verify_ledger().await.unwrap();
    assert!(verdict.ok(), "{verdict:?}");
    assert_eq!(verdict.entries, 40);
}

#[tokio::test]
async fn a_checkpoint_catches_truncation_and_a_rewrite_that_was_re_chained() {
    on_both("checkpoints", |store, url| async move {
        let policy = policy();
        let now = at("2026-01-10T10:00:00Z");
        for n in 1..=5 {
            let id = child_id(&format!("kid-{n}"));
            store
                .write_child(&id, 1, create(&policy, &id, now))
                .await
                .unwrap();
        }
        let checkpoint = store.checkpoint(now).await.unwrap();
        assert_eq!(checkpoint.size, 5);
        checkpoint.check().unwrap();
        assert_eq!(
            store.checkpoint_public_key().await.unwrap().as_deref(),
            Some(checkpoint.key.as_str())
        );
        let again = store.checkpoint(now).await.unwrap();
        assert_eq!(again.key, checkpoint.key, "one key per database");
        let held = |store: AnyStore, checkpoint: ward_store::Checkpoint| async move {
            store
                .verify_ledger_against(&checkpoint)
                .await
                .unwrap()
                .first_bad
                .map(|bad| (bad.seq, bad.problem))
        };
        assert_eq!(held(store.clone(), checkpoint.clone()).await, None);
        // More entries after it: still consistent.
        let id = child_id("kid-6");
        store
            .write_child(&id, 1, create(&policy, &id, now))
            .await
            .unwrap();
        assert_eq!(held(store.clone(), checkpoint.clone()).await, None);

        // Entry 3 edited, and it and every entry after it re-hashed: a whole chain again.
        tamper(
            &store,
            &url,
            "UPDATE ledger SET payload = replace(payload, 'kid-3', 'kid-9') WHERE seq = 3",
        )
        .await;
        rechain(&store, &url).await;
        assert!(
            store.verify_ledger().await.unwrap().ok(),
            "the chain alone is whole"
        );
        assert_eq!(
            held(store.clone(), checkpoint.clone()).await,
            Some((5, Problem::CheckpointMismatch))
        );

        // Cut back to three entries: whole, and short of the checkpoint.
        tamper(&store, &url, "DELETE FROM ledger WHERE seq > 3").await;
        assert!(
            store.verify_ledger().await.unwrap().ok(),
            "the chain alone is whole"
        );
        assert_eq!(
            held(store.clone(), checkpoint.clone()).await,
            Some((4, Problem::Truncated { checkpoint_size: 5 }))
        );
    })
    .await;
}

/// Recomputes every entry's hashes from its payload as stored, as someone covering an edit
/// would.
async fn rechain(store: &AnyStore, url: &str) {
    use sqlx::Connection;
    let statement = "SELECT seq, payload FROM ledger WHERE seq IS NOT NULL ORDER BY seq";
    let rows: Vec<(i64, String)> = match store {
        AnyStore::Sqlite(_) => {
            let mut connection = sqlx::SqliteConnection::connect(&format!("sqlite://{url}"))
                .await
                .unwrap();
            sqlx::query_as(statement)
                .fetch_all(&mut connection)
                .await
                .unwrap()
        }
        AnyStore::Postgres(_) => {
            let mut connection = sqlx::PgConnection::connect(url).await.unwrap();
            sqlx::query_as(statement)
                .fetch_all(&mut connection)
                .await
                .unwrap()
        }
    };
    let hashes: Vec<String> = rows.iter().map(|(_, p)| ledger::payload_hash(p)).collect();
    let links = ledger::link(None, hashes.iter().map(String::as_str));
    for (link, hash) in links.iter().zip(&hashes) {
        tamper(
            store,
            url,
            &format!(
                "UPDATE ledger SET payload_hash = '{hash}', prev_hash = '{}', entry_hash = '{}' \
                 WHERE seq = {}",
                link.prev_hash, link.entry_hash, link.seq
            ),
        )
        .await;
    }
}

#[tokio::test]
async fn a_ledger_from_before_version_4_migrates_and_its_chain_goes_on() {
    // SQLite always; PostgreSQL when configured.
    let dir = tempfile::tempdir().unwrap();
    let mut urls = vec![dir.path().join("old.db").display().to_string()];
    if let Some(base) = postgres_url("ledger migration") {
        urls.push(fresh_schema(&base).await.unwrap());
    }
    for url in urls {
        migrate_to(&url, 3).await.unwrap();
        // The old shape: seq is the key; an erased entry and the erasure listing it by seq.
        let now = at("2026-01-10T10:00:00Z");
        let events = vec![
            LedgerEvent::service(now, "key_created", &serde_json::json!({"key": "k1"})),
            LedgerEvent::service(now, "child_created", &serde_json::json!({"n": 2})),
            LedgerEvent::service(now, "child_erased", &serde_json::json!({"entries": [2]})),
        ];
        let entries = ledger::chain(None, &events);
        for entry in &entries {
            let (payload, erased) = if entry.seq == 2 {
                (ledger::erased_payload("child_created"), true)
            } else {
                (entry.payload.clone(), false)
            };
            raw(
                &url,
                &format!(
                    "INSERT INTO ledger (seq, at_us, child_id, kind, payload, payload_hash, \
                     prev_hash, entry_hash, erased) VALUES ({}, {}, NULL, '{}', '{}', '{}', \
                     '{}', '{}', {})",
                    entry.seq,
                    entry.at_us,
                    entry.kind,
                    payload,
                    entry.payload_hash,
                    entry.prev_hash,
                    entry.entry_hash,
                    if erased { "TRUE" } else { "FALSE" }
                ),
            )
            .await;
        }
        let store = AnyStore::open(&url).await.unwrap();
        let verdict = store.verify_ledger().await.unwrap();
        assert!(verdict.ok(), "{url}: {verdict:?}");
        assert_eq!(verdict.entries, 3);
        let policy = policy();
        let id = child_id("kid-new");
        store
            .write_child(&id, 1, create(&policy, &id, now))
            .await
            .unwrap();
        let written = store.ledger_of(&id).await.unwrap();
        assert_eq!(
            written.iter().map(|e| (e.id, e.seq)).collect::<Vec<_>>(),
            [(4, 4)],
            "{url}: ids and positions go on after the old ones"
        );
        let verdict = store.verify_ledger().await.unwrap();
        assert!(verdict.ok(), "{url}: {verdict:?}");
        assert_eq!(verdict.entries, 4);
    }
}

#[tokio::test]
async fn an_erased_childs_entries_are_blanked_chained_or_not() {
    on_both("erasure before chaining", |store, _| async move {
        let policy = policy();
        let now = at("2026-01-10T10:00:00Z");
        let id = child_id("kid-gone");
        store
            .write_child(&id, 1, create(&policy, &id, now))
            .await
            .unwrap();
        // On PostgreSQL the entry is still unchained here.
        let erased = store.erase_child(&id, now).await.unwrap().unwrap();
        assert_eq!(erased.entries_blanked, 1);
        let verdict = store.verify_ledger().await.unwrap();
        assert!(verdict.ok(), "{verdict:?}");
        assert_eq!(verdict.entries, 2);
        let refused: Result<(), WriteError<String>> = store
            .write_child(&id, 1, |_| Err("refused".to_owned()))
            .await;
        assert!(refused.is_err());
    })
    .await;
}

/// Runs `statement` on the database at `url` (no store opened, so no migration runs).
async fn raw(url: &str, statement: &str) {
    use sqlx::Connection;
    if url.starts_with("postgres") {
        let mut connection = sqlx::PgConnection::connect(url).await.unwrap();
        sqlx::query(statement)
            .execute(&mut connection)
            .await
            .unwrap();
    } else {
        let mut connection = sqlx::SqliteConnection::connect(&format!("sqlite://{url}"))
            .await
            .unwrap();
        sqlx::query(statement)
            .execute(&mut connection)
            .await
            .unwrap();
    }
}
