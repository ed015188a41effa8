//! The storage story: what every backend must do, told once and run on each.

use std::sync::Arc;

use ward_core::child::{AgeEvidence, AgeRecord};
use ward_core::policy::{AgeMethod, Toggle};
use ward_core::settings::{Child, SwitchOn};
use ward_store::{
    AnyStore, Change, ChildWrite, KeyRecord, LedgerEvent, RequestRow, RequestStatus, Store,
    WriteError,
};

use crate::{at, child_id, create, on_both, policy, save};

#[tokio::test]
async fn migrations_run_once_and_again_without_harm() {
    on_both("migrations", |store, _| async move {
        store.migrate().await.unwrap();
        store.migrate().await.unwrap();
        assert_eq!(store.keys_version().await.unwrap(), 0);
    })
    .await;
}

#[tokio::test]
async fn a_child_written_with_its_events_reads_back_and_the_ledger_verifies() {
    on_both("child write", |store, _| async move {
        let policy = policy();
        let id = child_id("kid-1");
        let now = at("2026-01-10T10:00:00Z");
        assert!(store.child(&id).await.unwrap().is_none());
        store
            .write_child(&id, 1, create(&policy, &id, now))
            .await
            .unwrap();
        let stored = store.child(&id).await.unwrap().expect("stored");
        assert_eq!(stored.version, 1);
        assert_eq!(stored.generation, 1);
        assert_eq!(stored.document.id, id);
        let entries = store.ledger_of(&id).await.unwrap();
        assert_eq!(
            entries.iter().map(|e| e.kind.as_str()).collect::<Vec<_>>(),
            ["child_created"]
        );
        // Creating again sees the stored child and writes nothing.
        store
            .write_child(&id, 1, create(&policy, &id, now))
            .await
            .unwrap();
        assert_eq!(store.child(&id).await.unwrap().unwrap().version, 1);
        let verdict = store.verify_ledger().await.unwrap();
        assert!(verdict.ok(), "{verdict:?}");
        assert_eq!(verdict.entries, 1);
    })
    .await;
}

#[tokio::test]
async fn a_refused_write_changes_nothing() {
    on_both("refused write", |store, _| async move {
        let policy = policy();
        let id = child_id("kid-2");
        let now = at("2026-01-10T10:00:00Z");
        store
            .write_child(&id, 1, create(&policy, &id, now))
            .await
            .unwrap();
        let result: Result<(), WriteError<&str>> = store.write_child(&id, 1, |_| Err("no")).await;
        assert!(matches!(result, Err(WriteError::Rejected("no"))));
        assert_eq!(store.child(&id).await.unwrap().unwrap().version, 1);
        assert_eq!(store.verify_ledger().await.unwrap().entries, 1);
    })
    .await;
}

#[tokio::test]
async fn interventions_and_consent_requests_are_kept_by_id_and_expire() {
    on_both("interventions", |store, _| async move {
        let policy = policy();
        let id = child_id("kid-3");
        let now = at("2026-01-10T10:00:00Z");
        let (mut child, _) = Child::new(id.clone(), &policy, now);
        let ten = AgeRecord {
            method: AgeMethod::ParentDeclared,
            evidence: AgeEvidence::Age(10),
            at: now,
        };
        child.set_age_record(&policy, ten, now);
        let (outcome, events) = child
            .request_on(&policy, "recommend-videos", now)
            .expect("request_on");
        let SwitchOn::Intervention(intervention) = outcome else {
            panic!("a child gets an intervention");
        };
        let document = child.to_document(&policy);
        let shown = (*intervention).clone();
        store
            .write_child(&id, 1, move |_| {
                Ok::<_, String>((
                    ChildWrite {
                        document: Some(document),
                        events: events.iter().map(LedgerEvent::from).collect(),
                        interventions: vec![shown],
                        ..ChildWrite::default()
                    },
                    (),
                ))
            })
            .await
            .unwrap();
        assert_eq!(
            store.intervention(&intervention.id).await.unwrap().as_ref(),
            Some(&*intervention)
        );
        assert!(store.intervention("nope").await.unwrap().is_none());
        assert_eq!(store.prune_interventions(now).await.unwrap(), 0);
        assert_eq!(
            store
                .prune_interventions(at("2026-01-11T10:00:00Z"))
                .await
                .unwrap(),
            1
        );
        assert!(
            store
                .intervention(&intervention.id)
                .await
                .unwrap()
                .is_none()
        );

        // A request, pending then expired.
        let (_, _) = child.acknowledge(&policy, &intervention, now).expect("ack");
        let request = child.requests.first().cloned().expect("a parent is needed");
        let row = RequestRow {
            child: id.clone(),
            status: RequestStatus::Pending,
            answered_by: None,
            request: request.clone(),
        };
        let written = row.clone();
        store
            .write_child(&id, 1, move |_| {
                Ok::<_, String>((
                    ChildWrite {
                        requests: vec![written],
                        ..ChildWrite::default()
                    },
                    (),
                ))
            })
            .await
            .unwrap();
        assert_eq!(store.request(&request.id).await.unwrap(), Some(row.clone()));
        assert_eq!(store.requests_of(&id).await.unwrap(), vec![row.clone()]);
        assert!(store.expired_requests(now, 10).await.unwrap().is_empty());
        let later = request.expires_at;
        assert_eq!(store.expired_requests(later, 10).await.unwrap(), vec![row]);
    })
    .await;
}

#[tokio::test]
async fn keys_are_created_listed_and_revoked_once() {
    on_both("keys", |store, _| async move {
        let now = at("2026-01-10T10:00:00Z");
        let key = KeyRecord {
            id: "k1".into(),
            secret_hash: "ab".repeat(32),
            scope: "admin".into(),
            label: "ops".into(),
            created_at: now,
            revoked_at: None,
        };
        store.create_key(key.clone()).await.unwrap();
        assert_eq!(store.keys().await.unwrap(), vec![key.clone()]);
        assert_eq!(store.keys_version().await.unwrap(), 1);
        assert!(store.revoke_key("k1", now).await.unwrap());
        assert!(!store.revoke_key("k1", now).await.unwrap());
        assert!(!store.revoke_key("k2", now).await.unwrap());
        assert_eq!(store.keys().await.unwrap()[0].revoked_at, Some(now));
        assert_eq!(store.keys_version().await.unwrap(), 2);
        // Key events are in the ledger, without any secret.
        let verdict = store.verify_ledger().await.unwrap();
        assert!(verdict.ok());
        assert_eq!(verdict.entries, 2);
    })
    .await;
}

#[tokio::test]
async fn each_distinct_policy_is_a_new_generation() {
    on_both("policies", |store, _| async move {
        let now = at("2026-01-10T10:00:00Z");
        let event = |generation| {
            LedgerEvent::service(
                now,
                "policy_loaded",
                &serde_json::json!({"generation": generation}),
            )
        };
        assert!(store.current_policy().await.unwrap().is_none());
        let (first, new) = store.put_policy("a = 1", now, event).await.unwrap();
        assert!(new);
        assert_eq!(first.generation, 1);
        let (same, new) = store.put_policy("a = 1", now, event).await.unwrap();
        assert!(!new);
        assert_eq!(same, first);
        let (second, new) = store.put_policy("a = 2", now, event).await.unwrap();
        assert!(new);
        assert_eq!(second.generation, 2);
        assert_eq!(store.current_policy().await.unwrap(), Some(second));
        assert_eq!(store.policy(1).await.unwrap(), Some(first));
        assert_eq!(store.verify_ledger().await.unwrap().entries, 2);
    })
    .await;
}

#[tokio::test]
async fn erasing_a_child_blanks_their_entries_and_the_ledger_still_verifies() {
    on_both("erasure", |store, _| async move {
        let policy = policy();
        let now = at("2026-01-10T10:00:00Z");
        let (kept, erased) = (child_id("kid-kept"), child_id("kid-erased"));
        store
            .write_child(&kept, 1, create(&policy, &kept, now))
            .await
            .unwrap();
        store
            .write_child(&erased, 1, create(&policy, &erased, now))
            .await
            .unwrap();
        // A second change for the erased child.
        let mut child = Child::from_document(
            store.child(&erased).await.unwrap().unwrap().document,
            &policy,
            now,
        );
        let events = child.set_geolocation(Toggle::On, now);
        save(&store, &policy, &child, &events).await;

        let erasure = store
            .erase_child(&erased, now)
            .await
            .unwrap()
            .expect("erased");
        assert_eq!(erasure.entries_blanked, 2);
        assert!(store.child(&erased).await.unwrap().is_none());
        assert!(store.ledger_of(&erased).await.unwrap().is_empty());
        assert_eq!(store.ledger_of(&kept).await.unwrap().len(), 1);
        let verdict = store.verify_ledger().await.unwrap();
        assert!(verdict.ok(), "{verdict:?}");
        assert_eq!(verdict.entries, 4, "three events and the erasure");
        assert!(store.erase_child(&erased, now).await.unwrap().is_none());
    })
    .await;
}

#[tokio::test]
async fn concurrent_writes_to_one_child_serialise_and_keep_the_chain_whole() {
    on_both("concurrency", |store, _| async move {
        let policy = Arc::new(policy());
        let id = child_id("kid-busy");
        let now = at("2026-01-10T10:00:00Z");
        store
            .write_child(&id, 1, create(&policy, &id, now))
            .await
            .unwrap();
        let store = Arc::new(store);
        let mut tasks = Vec::new();
        for n in 0..16 {
            let (store, policy, id) = (store.clone(), policy.clone(), id.clone());
            tasks.push(tokio::spawn(async move {
                store
                    .write_child(&id, 1, move |stored| {
                        let stored = stored.expect("exists");
                        let mut child = Child::from_document(stored.document, &policy, now);
                        let value = if n % 2 == 0 { Toggle::On } else { Toggle::Off };
                        let mut events = child.set_geolocation(value, now);
                        events.extend(child.end_session(now));
                        Ok::<_, String>((
                            ChildWrite {
                                document: Some(child.to_document(&policy)),
                                events: events.iter().map(LedgerEvent::from).collect(),
                                ..ChildWrite::default()
                            },
                            (),
                        ))
                    })
                    .await
                    .unwrap();
            }));
        }
        for task in tasks {
            task.await.unwrap();
        }
        assert_eq!(store.child(&id).await.unwrap().unwrap().version, 17);
        let verdict = store.verify_ledger().await.unwrap();
        assert!(verdict.ok(), "{verdict:?}");
    })
    .await;
}

#[tokio::test]
async fn postgres_nodes_hear_of_each_others_changes_and_sqlite_has_no_feed() {
    on_both("change feed", |store, url| async move {
        let policy = policy();
        let now = at("2026-01-10T10:00:00Z");
        let feed = store.subscribe().await.unwrap();
        let AnyStore::Postgres(_) = &store else {
            assert!(feed.is_none());
            return;
        };
        let mut feed = feed.expect("postgres has a feed");
        // Another node: its own connection pool on the same database.
        let other = AnyStore::open(&url).await.unwrap();
        let id = child_id("kid-seen");
        other
            .write_child(&id, 1, create(&policy, &id, now))
            .await
            .unwrap();
        // Other tests' schemas share the database and so its notification channel: skip
        // their changes.
        next_matching(&mut feed, &Change::Child("kid-seen".into())).await;
        other
            .create_key(KeyRecord {
                id: "k9".into(),
                secret_hash: "cd".repeat(32),
                scope: "decide".into(),
                label: String::new(),
                created_at: now,
                revoked_at: None,
            })
            .await
            .unwrap();
        next_matching(&mut feed, &Change::Keys).await;
    })
    .await;
}

/// Waits (up to a deadline) for `expected` on the feed, passing over other changes.
async fn next_matching(feed: &mut tokio::sync::mpsc::Receiver<Change>, expected: &Change) {
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let change = tokio::time::timeout_at(deadline, feed.recv())
            .await
            .unwrap_or_else(|_| panic!("no {expected:?} on the feed in time"));
        match change {
            Some(change) if &change == expected => return,
            Some(Change::Child(_) | Change::Keys | Change::Policy(_)) => {}
            other => panic!("waiting for {expected:?}, got {other:?}"),
        }
    }
}
