//! The schema migrations, embedded in the binary and run through sqlx's migrator (which
//! records them in `_sqlx_migrations`, checks their checksums and, on PostgreSQL, takes a
//! lock so nodes starting together migrate once). One SQL text serves both backends.
//!
//! To change the schema, add a file to `migrations/` and a line to [`MIGRATIONS`]; never edit
//! one that has shipped (its checksum is checked on every start).

use std::borrow::Cow;

use sqlx::migrate::{Migration, MigrationSource, MigrationType, Migrator};

/// Every migration: version, description, SQL.
const MIGRATIONS: &[(i64, &str, &str)] = &[
    (1, "initial", include_str!("../migrations/0001_initial.sql")),
    (2, "pages", include_str!("../migrations/0002_pages.sql")),
    (
        3,
        "parental",
        include_str!("../migrations/0003_parental.sql"),
    ),
    (
        6,
        "drift version",
        include_str!("../migrations/0006_drift_version.sql"),
    ),
];

#[derive(Debug)]
struct Embedded;

impl MigrationSource<'static> for Embedded {
    fn resolve(
        self,
    ) -> futures_core_box::BoxFuture<'static, Result<Vec<Migration>, sqlx::error::BoxDynError>>
    {
        Box::pin(async {
            Ok(MIGRATIONS
                .iter()
                .map(|(version, description, sql)| {
                    Migration::new(
                        *version,
                        Cow::Borrowed(*description),
                        MigrationType::Simple,
                        Cow::Borrowed(*sql),
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

/// The migrator over the embedded migrations.
pub(crate) async fn migrator() -> Result<Migrator, sqlx::migrate::MigrateError> {
    Migrator::new(Embedded).await
}
