//! Tampering with the ledger directly in the database: `verify` names the first bad entry.

use sqlx::Connection;
use ward_store::ledger::Problem;
use ward_store::{AnyStore, Store};

use crate::{at, child_id, create, on_both, policy};

/// Runs `statement` on the store's database behind its back.
pub(crate) async fn tamper(store: &AnyStore, url: &str, statement: &str) {
    match store {
        AnyStore::Sqlite(_) => {
            let mut connection = sqlx::SqliteConnection::connect(&format!("sqlite://{url}"))
                .await
                .unwrap();
            sqlx::query(statement)
                .execute(&mut connection)
                .await
                .unwrap();
        }
        AnyStore::Postgres(_) => {
            let mut connection = sqlx::PgConnection::connect(url).await.unwrap();
            sqlx::query(statement)
                .execute(&mut connection)
                .await
                .unwrap();
        }
    }
}

/// Five children's creations: entries 1 to 5.
async fn five_entries(store: &AnyStore) {
    let policy = policy();
    let now = at("2026-01-10T10:00:00Z");
    for n in 1..=5 {
        let id = child_id(&format!("kid-{n}"));
        store
            .write_child(&id, 1, create(&policy, &id, now))
            .await
            .unwrap();
    }
    assert!(store.verify_ledger().await.unwrap().ok());
}

async fn first_bad(store: &AnyStore) -> Option<(i64, Problem)> {
    store
        .verify_ledger()
        .await
        .unwrap()
        .first_bad
        .map(|bad| (bad.seq, bad.problem))
}

#[tokio::test]
async fn an_edited_payload_is_named() {
    on_both("tamper edit", |store, url| async move {
        five_entries(&store).await;
        tamper(
            &store,
            &url,
            "UPDATE ledger SET payload = replace(payload, 'kid-3', 'kid-9') WHERE seq = 3",
        )
        .await;
        assert_eq!(first_bad(&store).await, Some((3, Problem::PayloadEdited)));
    })
    .await;
}

#[tokio::test]
async fn a_deleted_entry_is_named() {
    on_both("tamper delete", |store, url| async move {
        five_entries(&store).await;
        tamper(&store, &url, "DELETE FROM ledger WHERE seq = 2").await;
        assert_eq!(
            first_bad(&store).await,
            Some((3, Problem::Gap { expected: 2 }))
        );
    })
    .await;
}

#[tokio::test]
async fn swapped_entries_are_named() {
    on_both("tamper swap", |store, url| async move {
        five_entries(&store).await;
        // Swap the contents of entries 2 and 4, each keeping its sequence number.
        tamper(&store, &url, "UPDATE ledger SET seq = -2 WHERE seq = 2").await;
        tamper(&store, &url, "UPDATE ledger SET seq = 2 WHERE seq = 4").await;
        tamper(&store, &url, "UPDATE ledger SET seq = 4 WHERE seq = -2").await;
        assert_eq!(first_bad(&store).await, Some((2, Problem::BrokenLink)));
    })
    .await;
}

#[tokio::test]
async fn an_entry_blanked_by_hand_is_named() {
    on_both("tamper blank", |store, url| async move {
        five_entries(&store).await;
        tamper(
            &store,
            &url,
            "UPDATE ledger SET payload = '{}', child_id = NULL, erased = TRUE WHERE seq = 4",
        )
        .await;
        assert_eq!(
            first_bad(&store).await,
            Some((4, Problem::ErasedWithoutErasure))
        );
    })
    .await;
}

#[tokio::test]
async fn the_whole_ledger_reads_back_page_by_page_in_order() {
    on_both("ledger entries paged", |store, _url| async move {
        five_entries(&store).await;
        let mut read = Vec::new();
        let mut after = 0;
        loop {
            let page = store.ledger_entries(after, 2).await.unwrap();
            assert!(page.len() <= 2, "a page holds at most `limit` entries");
            let Some(last) = page.last() else { break };
            after = last.seq;
            read.extend(page);
        }
        assert_eq!(
            read.iter().map(|e| e.seq).collect::<Vec<_>>(),
            [1, 2, 3, 4, 5]
        );
        assert!(read.iter().all(|e| e.kind == "child_created"));
        assert!(store.ledger_entries(5, 10).await.unwrap().is_empty());
        assert!(store.ledger_entries(0, 0).await.unwrap().is_empty());
    })
    .await;
}
