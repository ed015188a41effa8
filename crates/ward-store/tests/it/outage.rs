//! PostgreSQL failing under the store: a pool with no connection to give answers within its
//! timeout, and the errors of a server going away count as "unavailable" (a 503 and a retry),
//! never as an internal error. The whole outage, with a server killed and restarted under two
//! real nodes, is `crates/ward/tests/it/outage.rs`.

use std::time::{Duration, Instant};

use sqlx::Connection;
use ward_store::test_support::{fresh_schema, postgres_url};
use ward_store::{AnyStore, PoolSettings, Store, StoreError};

use crate::{at, child_id, create, policy};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_waits_for_a_connection_no_longer_than_the_pool_timeout() {
    let Some(base) = postgres_url("pool timeout") else {
        return;
    };
    let url = fresh_schema(&base).await.unwrap();
    let settings = PoolSettings {
        max_connections: 1,
        acquire_timeout: Duration::from_millis(300),
    };
    let store = AnyStore::open_with(&url, settings).await.unwrap();
    // Another session holds the child's lock, so a write to the child waits for it while
    // holding the store's only connection.
    let mut holder = sqlx::PgConnection::connect(&url).await.unwrap();
    let lock = "SELECT pg_advisory_lock(1, hashtext('kid-pool-timeout'))";
    sqlx::query(lock).execute(&mut holder).await.unwrap();
    let id = child_id("kid-pool-timeout");
    let stuck = tokio::spawn({
        let store = store.clone();
        let id = id.clone();
        async move {
            let policy = policy();
            let now = at("2026-01-10T10:00:00Z");
            store.write_child(&id, 1, create(&policy, &id, now)).await
        }
    });
    let waiting = "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted \
                   AND classid = 1 AND objid = hashtext('kid-pool-timeout')::oid";
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (n_waiting,): (i64,) = sqlx::query_as(waiting)
            .fetch_one(&mut holder)
            .await
            .unwrap();
        if n_waiting > 0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the write never waited for the lock"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }

    let started = Instant::now();
    let error = store.child(&child_id("kid-other")).await.unwrap_err();
    let waited = started.elapsed();
    assert!(error.is_unavailable(), "{error}");
    assert!(
        waited >= Duration::from_millis(250) && waited < Duration::from_secs(3),
        "waited {waited:?} for a connection, with a timeout of 300 ms"
    );

    sqlx::query("SELECT pg_advisory_unlock_all()")
        .execute(&mut holder)
        .await
        .unwrap();
    stuck.await.unwrap().unwrap();
    assert!(store.child(&id).await.unwrap().is_some());
}

#[tokio::test]
async fn a_connection_the_server_ends_is_unavailable_not_an_internal_error() {
    let Some(base) = postgres_url("server going away") else {
        return;
    };
    let mut connection = sqlx::PgConnection::connect(&base).await.unwrap();
    // What a backend says when the server shuts down under it (57P01); a crash of another
    // backend (57P02) and a server still starting (57P03) are the same class of answer.
    let error = sqlx::query("SELECT pg_terminate_backend(pg_backend_pid())")
        .execute(&mut connection)
        .await
        .unwrap_err();
    let error = StoreError::from(error);
    assert!(error.is_unavailable(), "{error}");
}
