//! The schema migrations, embedded in the binary and run through sqlx's migrator (which
//! records them in `_sqlx_migrations`, checks their checksums and, on PostgreSQL, takes a
//! lock so nodes starting together migrate once). One SQL text serves both backends.
//!
//! To change the schema, add a file to `migrations/` and a line to [`MIGRATIONS`]; never edit
//! one that has shipped (its checksum is checked on every start). A migration may add
//! statements for PostgreSQL alone (`*.postgres.sql`, run after the shared text in the same
//! migration): what SQLite has no word for, such as a sequence.

use std::borrow::Cow;

use sqlx::migrate::{Migration, MigrationSource, MigrationType, Migrator};

/// Every migration: version, description, the SQL both backends run, and what PostgreSQL
/// runs after it.
const MIGRATIONS: &[(i64, &str, &str, &str)] = &[
    (
        1,
        "initial",
        include_str!("../migrations/0001_initial.sql"),
        "",
    ),
    (2, "pages", include_str!("../migrations/0002_pages.sql"), ""),
    (
        3,
        "parental",
        include_str!("../migrations/0003_parental.sql"),
        "",
    ),
    (
        4,
        "ledger sequencer",
        include_str!("../migrations/0004_ledger_sequencer.sql"),
        include_str!("../migrations/0004_ledger_sequencer.postgres.sql"),
    ),
    (
        5,
        "reports",
        include_str!("../migrations/0005_reports.sql"),
        "",
    ),
    (
        6,
        "drift version",
        include_str!("../migrations/0006_drift_version.sql"),
        "",
    ),
];

/// Which database the migrations are for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Backend {
    Sqlite,
    Postgres,
}

#[derive(Debug)]
struct Embedded(Backend);

impl MigrationSource<'static> for Embedded {
    fn resolve(
        self,
    ) -> futures_core_box::BoxFuture<'static, Result<Vec<Migration>, sqlx::error::BoxDynError>>
    {
        let backend = self.0;
        Box::pin(async move {
            Ok(MIGRATIONS
                .iter()
                .map(|(version, description, sql, postgres)| {
                    let sql = if backend == Backend::Postgres && !postgres.is_empty() {
                        Cow::Owned(format!("{sql}\n{postgres}"))
                    } else {
                        Cow::Borrowed(*sql)
                    };
                    Migration::new(
                        *version,
                        Cow::Borrowed(*description),
                        MigrationType::Simple,
                        sql,
                        false,
                    )
                })
                .collect())
        })
    }
}

/// Local name for the boxed future type sqlx's `MigrationSource` returns.
mod futures_core_box {
    pub(super) type BoxFuture<'a, T> =
        std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send + 'a>>;
}

/// The migrator over the embedded migrations, as `backend` runs them.
pub(crate) async fn migrator(backend: Backend) -> Result<Migrator, sqlx::migrate::MigrateError> {
    Migrator::new(Embedded(backend)).await
}
