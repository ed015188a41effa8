//! For ward's own test suites: a fresh, empty PostgreSQL schema per test, so tests run in
//! parallel on one database without seeing each other's rows. Not for production use.

use std::sync::atomic::{AtomicU64, Ordering};

use sqlx::Connection;

use crate::StoreError;

/// The variable that points the suites at a PostgreSQL server.
pub const DATABASE_URL_VAR: &str = "WARD_TEST_DATABASE_URL";

/// The PostgreSQL URL to test against, or `None` (with a line on stderr saying the
/// PostgreSQL half of `test` is skipped) when [`DATABASE_URL_VAR`] is unset.
pub fn postgres_url(test: &str) -> Option<String> {
    let url = std::env::var(DATABASE_URL_VAR)
        .ok()
        .filter(|url| !url.is_empty());
    if url.is_none() {
        eprintln!("{test}: PostgreSQL half skipped ({DATABASE_URL_VAR} is not set)");
    }
    url
}

/// Creates a new schema on `base_url`'s database and returns a URL whose connections use it.
pub async fn fresh_schema(base_url: &str) -> Result<String, StoreError> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = jiff::Timestamp::now().as_nanosecond();
    let schema = format!(
        "ward_test_{}_{}_{}",
        std::process::id(),
        nanos.rem_euclid(1_000_000_000_000),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    );
    let mut connection = sqlx::PgConnection::connect(base_url).await?;
    sqlx::query(&format!("CREATE SCHEMA {schema}"))
        .execute(&mut connection)
        .await?;
    connection.close().await?;
    let separator = if base_url.contains('?') { '&' } else { '?' };
    Ok(format!(
        "{base_url}{separator}options=-c%20search_path%3D{schema}"
    ))
}

/// Opens `url` (a SQLite path or a PostgreSQL URL) and migrates it only up to `version`, as
/// a database made by an older ward would be; [`crate::AnyStore::open`] then migrates the
/// rest. For tests of migrations.
pub async fn migrate_to(url: &str, version: i64) -> Result<(), StoreError> {
    use crate::migrations::{Backend, migrator};
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        let mut migrator = migrator(Backend::Postgres).await?;
        keep_up_to(&mut migrator, version);
        let mut connection = sqlx::PgConnection::connect(url).await?;
        migrator.run_direct(&mut connection).await?;
        connection.close().await?;
    } else {
        let mut migrator = migrator(Backend::Sqlite).await?;
        keep_up_to(&mut migrator, version);
        let options =
            <sqlx::sqlite::SqliteConnectOptions as std::str::FromStr>::from_str("sqlite://")?
                .filename(url.strip_prefix("sqlite://").unwrap_or(url))
                .create_if_missing(true);
        let mut connection = sqlx::SqliteConnection::connect_with(&options).await?;
        migrator.run_direct(&mut connection).await?;
        connection.close().await?;
    }
    Ok(())
}

fn keep_up_to(migrator: &mut sqlx::migrate::Migrator, version: i64) {
    let kept: Vec<_> = migrator
        .migrations
        .iter()
        .filter(|migration| migration.version <= version)
        .cloned()
        .collect();
    migrator.migrations = kept.into();
}
