//! Background work a database failure interrupts is taken up again without waiting for
//! anything else to happen. The outage itself (a PostgreSQL server killed and restarted under
//! two real nodes) is `crates/ward/tests/it/outage.rs`.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::json;
use sqlx::Connection;
use ward_store::test_support::{fresh_schema, postgres_url};

use crate::support::{Backend, CLIPSTREAM, Server};

#[tokio::test]
async fn a_migration_the_database_interrupted_is_taken_up_again() {
    let Some(base) = postgres_url("interrupted migration") else {
        return;
    };
    let url = fresh_schema(&base).await.unwrap();
    let server = Server::start(&Backend::Postgres(url.clone()), CLIPSTREAM).await;
    server.child("kid-1", 10, "GB").await;

    // The children go out of reach: every read of them fails, and counts a try.
    let mut admin = sqlx::PgConnection::connect(&url).await.unwrap();
    for statement in [
        "CREATE SEQUENCE tries",
        "CREATE FUNCTION out_of_reach() RETURNS boolean LANGUAGE plpgsql AS \
         $$ BEGIN PERFORM nextval('tries'); RAISE EXCEPTION 'children out of reach'; END $$",
        "ALTER TABLE children RENAME TO children_kept",
        "CREATE VIEW children AS SELECT * FROM children_kept WHERE out_of_reach()",
    ] {
        sqlx::query(statement).execute(&mut admin).await.unwrap();
    }
    let changed = CLIPSTREAM.replace(
        "Uses the videos you watch and like to choose the next videos we show you.",
        "Uses the videos you watch, like and share to choose the next videos we show you.",
    );
    std::fs::write(&server.policy_path, changed).unwrap();
    let (status, reloaded) = server.post("/v1/policy/reload", json!({})).await;
    assert_eq!(status, StatusCode::OK, "{reloaded}");
    assert_eq!(reloaded["generation"], 2);

    // Once the migration has failed, the children come back.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (tries,): (i64,) =
            sqlx::query_as("SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM tries")
                .fetch_one(&mut admin)
                .await
                .unwrap();
        if tries > 0 {
            break;
        }
        assert!(Instant::now() < deadline, "the migration never ran");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    for statement in [
        "DROP VIEW children",
        "ALTER TABLE children_kept RENAME TO children",
    ] {
        sqlx::query(statement).execute(&mut admin).await.unwrap();
    }

    // Nothing else happens, yet the child is moved to the new policy.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (behind,): (i64,) =
            sqlx::query_as("SELECT count(*) FROM children WHERE generation <> 2")
                .fetch_one(&mut admin)
                .await
                .unwrap();
        if behind == 0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "a child is still under the old policy 30 s after the database was back"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
