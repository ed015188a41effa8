//! `ward ledger checkpoint` and `ward ledger verify --checkpoint FILE` on a real SQLite file:
//! a checkpoint kept elsewhere catches a ledger cut short or rewritten and re-chained, which
//! the chain alone cannot see; a checkpoint altered, unreadable or from another ledger is
//! refused.

use std::path::Path;

use sqlx::Connection;
use ward_store::ledger;

use crate::{stdout, ward};

/// A database with `n` ledger entries (one per key created).
fn ledger_of(dir: &Path, name: &str, n: usize) -> String {
    let database = dir.join(name).display().to_string();
    for label in 0..n {
        let made = ward(&[
            "keys",
            "create",
            "--scope",
            "decide",
            "--label",
            &format!("k{label}"),
            "--database",
            &database,
        ]);
        assert_eq!(made.status.code(), Some(0), "{made:?}");
    }
    database
}

fn checkpoint(database: &str, file: &Path) -> serde_json::Value {
    let made = ward(&["ledger", "checkpoint", "--database", database]);
    assert_eq!(made.status.code(), Some(0), "{made:?}");
    std::fs::write(file, &made.stdout).unwrap();
    serde_json::from_slice(&made.stdout).unwrap()
}

fn verify(database: &str, file: &Path) -> (Option<i32>, String, String) {
    let output = ward(&[
        "ledger",
        "verify",
        "--checkpoint",
        file.to_str().unwrap(),
        "--database",
        database,
    ]);
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    (output.status.code(), stdout(&output), stderr)
}

fn sql(database: &str, statements: &[String]) {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(async {
            let mut connection = sqlx::SqliteConnection::connect(&format!("sqlite://{database}"))
                .await
                .unwrap();
            for statement in statements {
                sqlx::query(statement)
                    .execute(&mut connection)
                    .await
                    .unwrap();
            }
        });
}

#[test]
fn a_kept_checkpoint_holds_while_the_ledger_grows() {
    let dir = tempfile::tempdir().unwrap();
    let database = ledger_of(dir.path(), "grows.db", 3);
    let file = dir.path().join("checkpoint.json");
    let kept = checkpoint(&database, &file);
    assert_eq!(kept["size"], 3);
    assert_eq!(kept["format"], "ward-ledger-checkpoint/v1");
    ledger_of(dir.path(), "grows.db", 1);
    let (code, out, _) = verify(&database, &file);
    assert_eq!(code, Some(0), "{out}");
    assert!(
        out.contains("4 entries") && out.contains("consistent with the checkpoint of 3 entries"),
        "{out}"
    );
}

#[test]
fn a_ledger_cut_short_is_caught_by_the_checkpoint_and_the_first_missing_entry_named() {
    let dir = tempfile::tempdir().unwrap();
    let database = ledger_of(dir.path(), "cut.db", 4);
    let file = dir.path().join("checkpoint.json");
    checkpoint(&database, &file);
    sql(&database, &["DELETE FROM ledger WHERE seq > 2".to_owned()]);
    let plain = ward(&["ledger", "verify", "--database", &database]);
    assert_eq!(plain.status.code(), Some(0), "the chain alone is whole");
    let (code, out, _) = verify(&database, &file);
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains("entry 3: missing: the checkpoint covers 4 entries"),
        "{out}"
    );
}

#[test]
fn a_ledger_rewritten_and_re_chained_is_caught_by_the_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let database = ledger_of(dir.path(), "rewritten.db", 3);
    let file = dir.path().join("checkpoint.json");
    checkpoint(&database, &file);
    // Entry 2's label changed, and every hash from it on recomputed from the payloads.
    let payloads: Vec<String> = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(async {
            let mut connection = sqlx::SqliteConnection::connect(&format!("sqlite://{database}"))
                .await
                .unwrap();
            let rows: Vec<(String,)> = sqlx::query_as("SELECT payload FROM ledger ORDER BY seq")
                .fetch_all(&mut connection)
                .await
                .unwrap();
            rows.into_iter().map(|(payload,)| payload).collect()
        });
    let payloads: Vec<String> = payloads
        .into_iter()
        .enumerate()
        .map(|(idx, payload)| {
            if idx == 1 {
                payload.replace("\"k1\"", "\"k9\"")
            } else {
                payload
            }
        })
        .collect();
    assert!(payloads[1].contains("k9"), "{payloads:?}");
    let hashes: Vec<String> = payloads.iter().map(|p| ledger::payload_hash(p)).collect();
    let links = ledger::link(None, hashes.iter().map(String::as_str));
    let statements: Vec<String> = links
        .iter()
        .zip(&hashes)
        .zip(&payloads)
        .map(|((link, hash), payload)| {
            format!(
                "UPDATE ledger SET payload = '{}', payload_hash = '{hash}', prev_hash = '{}', \
                 entry_hash = '{}' WHERE seq = {}",
                payload.replace('\'', "''"),
                link.prev_hash,
                link.entry_hash,
                link.seq
            )
        })
        .collect();
    sql(&database, &statements);
    let plain = ward(&["ledger", "verify", "--database", &database]);
    assert_eq!(plain.status.code(), Some(0), "the chain alone is whole");
    let (code, out, _) = verify(&database, &file);
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains("entry 3: its hash is not the checkpoint's: the ledger was rewritten"),
        "{out}"
    );
}

#[test]
fn an_altered_unreadable_or_foreign_checkpoint_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let database = ledger_of(dir.path(), "ours.db", 2);
    let file = dir.path().join("checkpoint.json");
    let mut kept = checkpoint(&database, &file);
    kept["size"] = 1.into();
    std::fs::write(&file, kept.to_string()).unwrap();
    let (code, _, err) = verify(&database, &file);
    assert_eq!(code, Some(2));
    assert!(err.contains("the signature does not verify"), "{err}");

    std::fs::write(
        &file,
        "{\n  \"format\": \"ward-ledger-checkpoint/v1\",\n  \"size\": \"x\"\n}",
    )
    .unwrap();
    let (code, _, err) = verify(&database, &file);
    assert_eq!(code, Some(2));
    assert!(err.contains("line 3, column"), "{err}");

    let theirs = ledger_of(dir.path(), "theirs.db", 2);
    checkpoint(&theirs, &file);
    let (code, out, _) = verify(&database, &file);
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("checkpoint not from this ledger"), "{out}");
}
