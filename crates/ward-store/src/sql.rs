//! The SQL both backends run, written once. The schema and statements are the same text for
//! SQLite and PostgreSQL (sqlx binds `$1`-style parameters on both); what differs — how a
//! transaction begins, how a child or the ledger is locked, how other nodes are told — each
//! backend passes in. The macro stamps the statements out for each backend's concrete sqlx
//! types, which keeps the code free of sqlx's generic trait bounds.

/// Rows read back from `SELECT id, seq, at_us, child_id, kind, payload, payload_hash,
/// prev_hash, entry_hash, erased FROM ledger` for chained entries. A hash missing from a
/// chained row (only a hand could do that) reads as empty, which verification names.
pub(crate) type EntryRow = (
    i64,
    i64,
    i64,
    Option<String>,
    String,
    String,
    String,
    Option<String>,
    Option<String>,
    bool,
);

pub(crate) fn entry_from_row(row: EntryRow) -> crate::LedgerEntry {
    let (id, seq, at_us, child_id, kind, payload, payload_hash, prev_hash, entry_hash, erased) =
        row;
    crate::LedgerEntry {
        id,
        seq,
        at_us,
        child_id,
        kind,
        payload,
        payload_hash,
        prev_hash: prev_hash.unwrap_or_default(),
        entry_hash: entry_hash.unwrap_or_default(),
        erased,
    }
}

/// Child ids read back from a one-column query; one that no longer parses is `Corrupt`.
pub(crate) fn child_ids(
    what: &'static str,
    rows: Vec<(String,)>,
) -> Result<Vec<ward_core::ids::ChildId>, crate::StoreError> {
    rows.into_iter()
        .map(|(id,)| {
            ward_core::ids::ChildId::parse(&id).map_err(|error| crate::StoreError::Corrupt {
                what,
                reason: error.to_string(),
                id,
            })
        })
        .collect()
}

pub(crate) const ENTRY_COLUMNS: &str =
    "id, seq, at_us, child_id, kind, payload, payload_hash, prev_hash, entry_hash, erased";

/// How many ledger entries verification reads per round trip.
pub(crate) const VERIFY_PAGE: i64 = 5_000;

pub(crate) type KeyRow = (String, String, String, String, i64, Option<i64>);

pub(crate) fn key_from_row(row: KeyRow) -> crate::KeyRecord {
    let (id, secret_hash, scope, label, created_at_us, revoked_at_us) = row;
    crate::KeyRecord {
        id,
        secret_hash,
        scope,
        label,
        created_at: crate::tx::from_micros(created_at_us),
        revoked_at: revoked_at_us.map(crate::tx::from_micros),
    }
}

pub(crate) type PolicyRow = (i64, String, String, i64);

pub(crate) fn policy_from_row(row: PolicyRow) -> crate::PolicyRecord {
    let (generation, hash, source, loaded_at_us) = row;
    crate::PolicyRecord {
        generation,
        hash,
        source,
        loaded_at: crate::tx::from_micros(loaded_at_us),
    }
}

pub(crate) type RequestDbRow = (String, String, String, Option<String>);

pub(crate) fn request_from_row(
    id_for_errors: &str,
    row: RequestDbRow,
) -> Result<crate::RequestRow, crate::StoreError> {
    let (child, status, doc, answered_by) = row;
    let corrupt = |reason: String| crate::StoreError::Corrupt {
        what: "consent request",
        id: id_for_errors.to_owned(),
        reason,
    };
    Ok(crate::RequestRow {
        child: ward_core::ids::ChildId::parse(&child).map_err(|e| corrupt(e.to_string()))?,
        status: crate::RequestStatus::parse(&status)
            .ok_or_else(|| corrupt(format!("unknown status `{status}`")))?,
        answered_by,
        request: serde_json::from_str(&doc).map_err(|e| corrupt(e.to_string()))?,
    })
}

pub(crate) fn report_from_row(
    row: (String, String),
) -> Result<crate::ReportRow, crate::StoreError> {
    let (child, doc) = row;
    let corrupt = |reason: String| crate::StoreError::Corrupt {
        what: "report",
        id: child.clone(),
        reason,
    };
    Ok(crate::ReportRow {
        child: ward_core::ids::ChildId::parse(&child).map_err(|e| corrupt(e.to_string()))?,
        report: serde_json::from_str(&doc).map_err(|e| corrupt(e.to_string()))?,
    })
}

// Pages: links and sessions

/// Rows read back from `SELECT token_hash, kind, subject, created_at_us, expires_at_us,
/// used_at_us FROM page_links`.
pub(crate) type LinkRow = (String, String, String, i64, i64, Option<i64>);

pub(crate) fn link_from_row(row: LinkRow) -> Result<crate::PageLinkRecord, crate::StoreError> {
    let (token_hash, kind, subject, created_at_us, expires_at_us, used_at_us) = row;
    Ok(crate::PageLinkRecord {
        kind: page_kind(&kind, &token_hash)?,
        token_hash,
        subject,
        created_at: crate::tx::from_micros(created_at_us),
        expires_at: crate::tx::from_micros(expires_at_us),
        used_at: used_at_us.map(crate::tx::from_micros),
    })
}

/// Rows read back from `SELECT token_hash, kind, subject, created_at_us, expires_at_us FROM
/// page_sessions`.
pub(crate) type SessionRow = (String, String, String, i64, i64);

pub(crate) fn session_from_row(
    row: SessionRow,
) -> Result<crate::PageSessionRecord, crate::StoreError> {
    let (token_hash, kind, subject, created_at_us, expires_at_us) = row;
    Ok(crate::PageSessionRecord {
        kind: page_kind(&kind, &token_hash)?,
        token_hash,
        subject,
        created_at: crate::tx::from_micros(created_at_us),
        expires_at: crate::tx::from_micros(expires_at_us),
    })
}

fn page_kind(text: &str, id: &str) -> Result<crate::PageKind, crate::StoreError> {
    crate::PageKind::parse(text).ok_or_else(|| crate::StoreError::Corrupt {
        what: "page link or session",
        // Only a prefix of the hash: enough to find the row, too little to matter.
        id: id.chars().take(8).collect(),
        reason: format!("unknown kind `{text}`"),
    })
}

/// How many children the one-time parent-index backfill reads per round trip.
pub(crate) const BACKFILL_PAGE: i64 = 1_000;

/// Implements [`crate::tx::Tx`] for `$tx` (a newtype over `$inner`, which derefs to the
/// backend's connection inside a transaction and has `async fn commit(self)`) and
/// [`crate::Store`] for `$store`, which must have `async fn begin(&self) -> Result<$tx, _>`,
/// `async fn reader(&self)` and `async fn writer(&self)` (connections), `async fn
/// run_migrations(&self)`, `async fn changes(&self) -> Result<Option<Receiver<Change>>, _>`,
/// `async fn chain_pending(&self) -> Result<u64, StoreError>`, `async fn sequence(&self)`
/// and `fn committed(&self)` (a write committed entries), and implement
/// [`crate::group::GroupStore`] (child writes go through groups).
macro_rules! sql_backend {
    (
        store: $store:ty,
        tx: $tx:ident,
        inner: $inner:ty,
        db: $db:ty,
        chains_inline: $chains_inline:expr,
        lock_child: $lock_child:expr,
        lock_parent: $lock_parent:expr,
        lock_policies: $lock_policies:expr,
        entry_ids: $entry_ids:expr,
        notify: $notify:expr $(,)?
    ) => {
        /// One transaction on this backend.
        pub(crate) struct $tx($inner);

        impl crate::tx::Tx for $tx {
            const CHAINS_INLINE: bool = $chains_inline;

            async fn lock_child(&mut self, id: &str) -> Result<(), sqlx::Error> {
                let statement: Option<&'static str> = $lock_child;
                if let Some(statement) = statement {
                    sqlx::query(statement).bind(id).execute(&mut *self.0).await?;
                }
                Ok(())
            }

            async fn lock_parent(&mut self, id: &str) -> Result<(), sqlx::Error> {
                let statement: Option<&'static str> = $lock_parent;
                if let Some(statement) = statement {
                    sqlx::query(statement).bind(id).execute(&mut *self.0).await?;
                }
                Ok(())
            }

            async fn lock_policies(&mut self) -> Result<(), sqlx::Error> {
                let statement: Option<&'static str> = $lock_policies;
                if let Some(statement) = statement {
                    sqlx::query(statement).execute(&mut *self.0).await?;
                }
                Ok(())
            }

            async fn entry_ids(&mut self, n: usize) -> Result<Vec<i64>, sqlx::Error> {
                let statement: Option<&'static str> = $entry_ids;
                let Some(statement) = statement else {
                    return Err(sqlx::Error::Protocol(
                        "this backend numbers entries as it chains them".into(),
                    ));
                };
                let ids: Vec<(i64,)> = sqlx::query_as(statement)
                    .bind(n as i64)
                    .fetch_all(&mut *self.0)
                    .await?;
                Ok(ids.into_iter().map(|(id,)| id).collect())
            }

            async fn put_child(
                &mut self,
                id: &str,
                row: &crate::tx::ChildRow,
                now_us: i64,
            ) -> Result<(), sqlx::Error> {
                sqlx::query(
                    "INSERT INTO children (id, generation, version, doc, updated_at_us) \
                     VALUES ($1, $2, $3, $4, $5) \
                     ON CONFLICT (id) DO UPDATE SET generation = excluded.generation, \
                     version = excluded.version, doc = excluded.doc, \
                     updated_at_us = excluded.updated_at_us",
                )
                .bind(id)
                .bind(row.generation)
                .bind(row.version)
                .bind(&row.doc)
                .bind(now_us)
                .execute(&mut *self.0)
                .await?;
                Ok(())
            }

            async fn delete_child(&mut self, id: &str) -> Result<bool, sqlx::Error> {
                let deleted = sqlx::query("DELETE FROM children WHERE id = $1")
                    .bind(id)
                    .execute(&mut *self.0)
                    .await?
                    .rows_affected();
                for statement in [
                    "DELETE FROM interventions WHERE child_id = $1",
                    "DELETE FROM consent_requests WHERE child_id = $1",
                    "DELETE FROM alerts WHERE child_id = $1",
                    "DELETE FROM outbox WHERE child_id = $1",
                    "DELETE FROM deliveries WHERE child_id = $1",
                    "DELETE FROM drift WHERE child_id = $1",
                    "DELETE FROM reports WHERE child_id = $1",
                ] {
                    sqlx::query(statement).bind(id).execute(&mut *self.0).await?;
                }
                Ok(deleted > 0)
            }

            async fn put_intervention(
                &mut self,
                intervention: &ward_core::settings::Intervention,
                doc: &str,
            ) -> Result<(), sqlx::Error> {
                sqlx::query(
                    "INSERT INTO interventions (id, child_id, doc, expires_at_us) \
                     VALUES ($1, $2, $3, $4) \
                     ON CONFLICT (id) DO UPDATE SET doc = excluded.doc, \
                     expires_at_us = excluded.expires_at_us",
                )
                .bind(&intervention.id)
                .bind(intervention.child.as_str())
                .bind(doc)
                .bind(crate::tx::micros(intervention.expires_at))
                .execute(&mut *self.0)
                .await?;
                Ok(())
            }

            async fn put_request(
                &mut self,
                row: &crate::RequestRow,
                doc: &str,
            ) -> Result<(), sqlx::Error> {
                sqlx::query(
                    "INSERT INTO consent_requests \
                     (id, child_id, status, doc, requested_at_us, expires_at_us, answered_by) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7) \
                     ON CONFLICT (id) DO UPDATE SET status = excluded.status, \
                     doc = excluded.doc, answered_by = excluded.answered_by",
                )
                .bind(&row.request.id)
                .bind(row.child.as_str())
                .bind(row.status.as_str())
                .bind(doc)
                .bind(crate::tx::micros(row.request.requested_at))
                .bind(crate::tx::micros(row.request.expires_at))
                .bind(row.answered_by.as_deref())
                .execute(&mut *self.0)
                .await?;
                Ok(())
            }

            async fn put_report(
                &mut self,
                row: &crate::ReportRow,
                doc: &str,
            ) -> Result<(), sqlx::Error> {
                let report = &row.report;
                sqlx::query(
                    "INSERT INTO reports \
                     (id, child_id, status, reason, doc, created_at_us, due_at_us, \
                     acknowledged_at_us, resolved_at_us, overdue_alerted) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
                     ON CONFLICT (id) DO UPDATE SET status = excluded.status, \
                     doc = excluded.doc, acknowledged_at_us = excluded.acknowledged_at_us, \
                     resolved_at_us = excluded.resolved_at_us, \
                     overdue_alerted = excluded.overdue_alerted",
                )
                .bind(&report.id)
                .bind(row.child.as_str())
                .bind(report.status.as_str())
                .bind(report.reason.as_str())
                .bind(doc)
                .bind(crate::tx::micros(report.at))
                .bind(crate::tx::micros(report.due))
                .bind(report.acknowledged_at.map(crate::tx::micros))
                .bind(report.resolved_at.map(crate::tx::micros))
                .bind(report.overdue_alerted)
                .execute(&mut *self.0)
                .await?;
                Ok(())
            }

            async fn ledger_head(&mut self) -> Result<Option<(i64, String)>, sqlx::Error> {
                let head: Option<(i64, Option<String>)> = sqlx::query_as(
                    "SELECT seq, entry_hash FROM ledger WHERE seq IS NOT NULL \
                     ORDER BY seq DESC LIMIT 1",
                )
                .fetch_optional(&mut *self.0)
                .await?;
                Ok(head.map(|(seq, hash)| (seq, hash.unwrap_or_default())))
            }

            async fn insert_entry(
                &mut self,
                entry: &crate::LedgerEntry,
                chained: bool,
            ) -> Result<(), sqlx::Error> {
                sqlx::query(
                    "INSERT INTO ledger (id, seq, at_us, child_id, kind, payload, payload_hash, \
                     prev_hash, entry_hash, erased) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
                )
                .bind(entry.id)
                .bind(chained.then_some(entry.seq))
                .bind(entry.at_us)
                .bind(entry.child_id.as_deref())
                .bind(&entry.kind)
                .bind(&entry.payload)
                .bind(&entry.payload_hash)
                .bind(chained.then_some(&entry.prev_hash))
                .bind(chained.then_some(&entry.entry_hash))
                .bind(entry.erased)
                .execute(&mut *self.0)
                .await?;
                Ok(())
            }

            async fn live_entries_of(
                &mut self,
                child: &str,
            ) -> Result<Vec<(i64, String)>, sqlx::Error> {
                sqlx::query_as(
                    "SELECT id, kind FROM ledger WHERE child_id = $1 AND erased = FALSE \
                     ORDER BY id",
                )
                .bind(child)
                .fetch_all(&mut *self.0)
                .await
            }

            async fn blank_entry(&mut self, id: i64, payload: &str) -> Result<(), sqlx::Error> {
                sqlx::query(
                    "UPDATE ledger SET payload = $2, child_id = NULL, erased = TRUE \
                     WHERE id = $1",
                )
                .bind(id)
                .bind(payload)
                .execute(&mut *self.0)
                .await?;
                Ok(())
            }

            async fn latest_policy(&mut self) -> Result<Option<crate::PolicyRecord>, sqlx::Error> {
                let row: Option<crate::sql::PolicyRow> = sqlx::query_as(
                    "SELECT generation, hash, source, loaded_at_us FROM policies \
                     ORDER BY generation DESC LIMIT 1",
                )
                .fetch_optional(&mut *self.0)
                .await?;
                Ok(row.map(crate::sql::policy_from_row))
            }

            async fn insert_policy(&mut self, record: &crate::PolicyRecord) -> Result<(), sqlx::Error> {
                sqlx::query(
                    "INSERT INTO policies (generation, hash, source, loaded_at_us) \
                     VALUES ($1, $2, $3, $4)",
                )
                .bind(record.generation)
                .bind(&record.hash)
                .bind(&record.source)
                .bind(crate::tx::micros(record.loaded_at))
                .execute(&mut *self.0)
                .await?;
                Ok(())
            }

            async fn insert_key(&mut self, key: &crate::KeyRecord) -> Result<(), sqlx::Error> {
                sqlx::query(
                    "INSERT INTO api_keys (id, secret_hash, scope, label, created_at_us, \
                     revoked_at_us) VALUES ($1, $2, $3, $4, $5, $6)",
                )
                .bind(&key.id)
                .bind(&key.secret_hash)
                .bind(&key.scope)
                .bind(&key.label)
                .bind(crate::tx::micros(key.created_at))
                .bind(key.revoked_at.map(crate::tx::micros))
                .execute(&mut *self.0)
                .await?;
                Ok(())
            }

            async fn revoke_key(&mut self, id: &str, now_us: i64) -> Result<bool, sqlx::Error> {
                let revoked = sqlx::query(
                    "UPDATE api_keys SET revoked_at_us = $2 \
                     WHERE id = $1 AND revoked_at_us IS NULL",
                )
                .bind(id)
                .bind(now_us)
                .execute(&mut *self.0)
                .await?
                .rows_affected();
                Ok(revoked > 0)
            }

            async fn live_webhooks(&mut self) -> Result<Vec<String>, sqlx::Error> {
                let ids: Vec<(String,)> = sqlx::query_as(
                    "SELECT id FROM webhooks WHERE disabled_at_us IS NULL ORDER BY id",
                )
                .fetch_all(&mut *self.0)
                .await?;
                Ok(ids.into_iter().map(|(id,)| id).collect())
            }

            async fn insert_alert(
                &mut self,
                parent: &str,
                seq: i64,
                child: &str,
                kind: &str,
                body: &str,
                now_us: i64,
            ) -> Result<(), sqlx::Error> {
                sqlx::query(
                    "INSERT INTO alerts (parent_id, seq, child_id, kind, body, created_at_us) \
                     VALUES ($1, $2, $3, $4, $5, $6)",
                )
                .bind(parent)
                .bind(seq)
                .bind(child)
                .bind(kind)
                .bind(body)
                .bind(now_us)
                .execute(&mut *self.0)
                .await?;
                Ok(())
            }

            async fn insert_outbox(
                &mut self,
                webhook: &str,
                seq: i64,
                child: &str,
                body: &str,
                now_us: i64,
            ) -> Result<(), sqlx::Error> {
                sqlx::query(
                    "INSERT INTO outbox (webhook_id, seq, child_id, body, attempts, \
                     next_attempt_at_us, delivered_at_us, created_at_us) \
                     VALUES ($1, $2, $3, $4, 0, $5, NULL, $5)",
                )
                .bind(webhook)
                .bind(seq)
                .bind(child)
                .bind(body)
                .bind(now_us)
                .execute(&mut *self.0)
                .await?;
                Ok(())
            }

            async fn bump_counter(&mut self, name: &str) -> Result<(), sqlx::Error> {
                sqlx::query("UPDATE counters SET value = value + 1 WHERE name = $1")
                    .bind(name)
                    .execute(&mut *self.0)
                    .await?;
                Ok(())
            }

            async fn notify(&mut self, payload: &str) -> Result<(), sqlx::Error> {
                let statement: Option<&'static str> = $notify;
                if let Some(statement) = statement {
                    sqlx::query(statement).bind(payload).execute(&mut *self.0).await?;
                }
                Ok(())
            }

            async fn commit(self) -> Result<(), sqlx::Error> {
                self.0.commit().await
            }

            // Pages: links and sessions

            async fn set_parent_links(
                &mut self,
                child: &str,
                parents: &[ward_core::ids::ParentId],
            ) -> Result<(), sqlx::Error> {
                sqlx::query("DELETE FROM parent_links WHERE child_id = $1")
                    .bind(child)
                    .execute(&mut *self.0)
                    .await?;
                for parent in parents {
                    sqlx::query(
                        "INSERT INTO parent_links (parent_id, child_id) VALUES ($1, $2) \
                         ON CONFLICT (parent_id, child_id) DO NOTHING",
                    )
                    .bind(parent.as_str())
                    .bind(child)
                    .execute(&mut *self.0)
                    .await?;
                }
                Ok(())
            }

            async fn forget_child_pages(&mut self, child: &str) -> Result<(), sqlx::Error> {
                for statement in [
                    "DELETE FROM parent_links WHERE child_id = $1",
                    "DELETE FROM page_links WHERE kind = 'child' AND subject = $1",
                    "DELETE FROM page_sessions WHERE kind = 'child' AND subject = $1",
                ] {
                    sqlx::query(statement).bind(child).execute(&mut *self.0).await?;
                }
                Ok(())
            }
        }

        impl crate::Store for $store {
            async fn migrate(&self) -> Result<(), crate::StoreError> {
                self.run_migrations().await?;
                self.backfill_parent_links().await
            }

            async fn child(
                &self,
                id: &ward_core::ids::ChildId,
            ) -> Result<Option<crate::StoredChild>, crate::StoreError> {
                let row: Option<(String, i64, i64)> = sqlx::query_as(
                    "SELECT doc, generation, version FROM children WHERE id = $1",
                )
                .bind(id.as_str())
                .fetch_optional(&mut *self.reader().await?)
                .await?;
                row.map(|(doc, generation, version)| {
                    crate::tx::decode_child(
                        id.as_str(),
                        crate::tx::ChildRow {
                            doc,
                            generation,
                            version,
                        },
                    )
                })
                .transpose()
            }

            async fn children_not_at(
                &self,
                generation: i64,
                limit: i64,
            ) -> Result<Vec<ward_core::ids::ChildId>, crate::StoreError> {
                let ids: Vec<(String,)> = sqlx::query_as(
                    "SELECT id FROM children WHERE generation <> $1 ORDER BY id LIMIT $2",
                )
                .bind(generation)
                .bind(limit)
                .fetch_all(&mut *self.reader().await?)
                .await?;
                crate::sql::child_ids("child", ids)
            }

            async fn write_child<T, E, F>(
                &self,
                id: &ward_core::ids::ChildId,
                generation: i64,
                decide: F,
            ) -> Result<T, crate::WriteError<E>>
            where
                T: Send,
                E: Send,
                F: FnOnce(Option<crate::StoredChild>) -> Result<(crate::ChildWrite, T), E> + Send,
            {
                crate::group::write_child(self, id, generation, decide).await
            }

            async fn erase_child(
                &self,
                id: &ward_core::ids::ChildId,
                now: jiff::Timestamp,
            ) -> Result<Option<crate::Erasure>, crate::StoreError> {
                let erased = crate::tx::erase_child(self.begin().await?, id, now).await?;
                self.committed();
                Ok(erased)
            }

            async fn intervention(
                &self,
                id: &str,
            ) -> Result<Option<ward_core::settings::Intervention>, crate::StoreError> {
                let row: Option<(String,)> =
                    sqlx::query_as("SELECT doc FROM interventions WHERE id = $1")
                        .bind(id)
                        .fetch_optional(&mut *self.reader().await?)
                        .await?;
                row.map(|(doc,)| {
                    serde_json::from_str(&doc).map_err(|error| crate::StoreError::Corrupt {
                        what: "intervention",
                        id: id.to_owned(),
                        reason: error.to_string(),
                    })
                })
                .transpose()
            }

            async fn request(&self, id: &str) -> Result<Option<crate::RequestRow>, crate::StoreError> {
                let row: Option<crate::sql::RequestDbRow> = sqlx::query_as(
                    "SELECT child_id, status, doc, answered_by FROM consent_requests WHERE id = $1",
                )
                .bind(id)
                .fetch_optional(&mut *self.reader().await?)
                .await?;
                row.map(|row| crate::sql::request_from_row(id, row)).transpose()
            }

            async fn requests_of(
                &self,
                child: &ward_core::ids::ChildId,
            ) -> Result<Vec<crate::RequestRow>, crate::StoreError> {
                let rows: Vec<crate::sql::RequestDbRow> = sqlx::query_as(
                    "SELECT child_id, status, doc, answered_by FROM consent_requests \
                     WHERE child_id = $1 ORDER BY requested_at_us DESC, id",
                )
                .bind(child.as_str())
                .fetch_all(&mut *self.reader().await?)
                .await?;
                rows.into_iter()
                    .map(|row| crate::sql::request_from_row(child.as_str(), row))
                    .collect()
            }

            async fn report(&self, id: &str) -> Result<Option<crate::ReportRow>, crate::StoreError> {
                let row: Option<(String, String)> =
                    sqlx::query_as("SELECT child_id, doc FROM reports WHERE id = $1")
                        .bind(id)
                        .fetch_optional(&mut *self.reader().await?)
                        .await?;
                row.map(crate::sql::report_from_row).transpose()
            }

            async fn reports(
                &self,
                status: Option<ward_core::feedback::ReportStatus>,
                limit: i64,
            ) -> Result<Vec<crate::ReportRow>, crate::StoreError> {
                let rows: Vec<(String, String)> = match status {
                    Some(status) => sqlx::query_as(
                        "SELECT child_id, doc FROM reports WHERE status = $1 \
                         ORDER BY created_at_us DESC, id LIMIT $2",
                    )
                    .bind(status.as_str())
                    .bind(limit)
                    .fetch_all(&mut *self.reader().await?)
                    .await?,
                    None => sqlx::query_as(
                        "SELECT child_id, doc FROM reports \
                         ORDER BY created_at_us DESC, id LIMIT $1",
                    )
                    .bind(limit)
                    .fetch_all(&mut *self.reader().await?)
                    .await?,
                };
                rows.into_iter().map(crate::sql::report_from_row).collect()
            }

            async fn overdue_reports(
                &self,
                now: jiff::Timestamp,
                limit: i64,
            ) -> Result<Vec<crate::ReportRow>, crate::StoreError> {
                let rows: Vec<(String, String)> = sqlx::query_as(
                    "SELECT child_id, doc FROM reports \
                     WHERE status = 'open' AND overdue_alerted = $1 AND due_at_us <= $2 \
                     ORDER BY due_at_us, id LIMIT $3",
                )
                .bind(false)
                .bind(crate::tx::micros(now))
                .bind(limit)
                .fetch_all(&mut *self.reader().await?)
                .await?;
                rows.into_iter().map(crate::sql::report_from_row).collect()
            }

            async fn expired_requests(
                &self,
                now: jiff::Timestamp,
                limit: i64,
            ) -> Result<Vec<crate::RequestRow>, crate::StoreError> {
                let rows: Vec<crate::sql::RequestDbRow> = sqlx::query_as(
                    "SELECT child_id, status, doc, answered_by FROM consent_requests \
                     WHERE status = 'pending' AND expires_at_us <= $1 \
                     ORDER BY expires_at_us, id LIMIT $2",
                )
                .bind(crate::tx::micros(now))
                .bind(limit)
                .fetch_all(&mut *self.reader().await?)
                .await?;
                rows.into_iter()
                    .map(|row| crate::sql::request_from_row("expired", row))
                    .collect()
            }

            async fn prune_interventions(
                &self,
                now: jiff::Timestamp,
            ) -> Result<u64, crate::StoreError> {
                Ok(sqlx::query("DELETE FROM interventions WHERE expires_at_us < $1")
                    .bind(crate::tx::micros(now))
                    .execute(&mut *self.writer().await?)
                    .await?
                    .rows_affected())
            }

            async fn append(&self, events: Vec<crate::LedgerEvent>) -> Result<(), crate::StoreError> {
                use crate::tx::Tx as _;
                let mut tx = self.begin().await?;
                crate::tx::append(&mut tx, &events).await?;
                tx.commit().await?;
                self.committed();
                Ok(())
            }

            async fn ledger_of(
                &self,
                child: &ward_core::ids::ChildId,
            ) -> Result<Vec<crate::LedgerEntry>, crate::StoreError> {
                // Everything committed so far is chained first, so the export shows it.
                self.chain_pending().await?;
                let rows: Vec<crate::sql::EntryRow> = sqlx::query_as(&format!(
                    "SELECT {} FROM ledger WHERE child_id = $1 AND seq IS NOT NULL ORDER BY seq",
                    crate::sql::ENTRY_COLUMNS
                ))
                .bind(child.as_str())
                .fetch_all(&mut *self.reader().await?)
                .await?;
                Ok(rows.into_iter().map(crate::sql::entry_from_row).collect())
            }

            async fn ledger_entries(
                &self,
                after_seq: i64,
                limit: i64,
            ) -> Result<Vec<crate::LedgerEntry>, crate::StoreError> {
                let rows: Vec<crate::sql::EntryRow> = sqlx::query_as(&format!(
                    "SELECT {} FROM ledger WHERE seq > $1 ORDER BY seq LIMIT $2",
                    crate::sql::ENTRY_COLUMNS
                ))
                .bind(after_seq)
                .bind(limit.max(0))
                .fetch_all(&mut *self.reader().await?)
                .await?;
                Ok(rows.into_iter().map(crate::sql::entry_from_row).collect())
            }

            async fn verify_ledger(&self) -> Result<crate::Verification, crate::StoreError> {
                self.verify_with(crate::ledger::Verifier::default()).await
            }

            async fn verify_ledger_against(
                &self,
                checkpoint: &crate::checkpoint::Checkpoint,
            ) -> Result<crate::Verification, crate::StoreError> {
                self.verify_with(crate::ledger::Verifier::against(
                    checkpoint.size,
                    &checkpoint.head,
                ))
                .await
            }

            async fn chain_ledger(&self) -> Result<u64, crate::StoreError> {
                self.chain_pending().await
            }

            async fn run_sequencer(&self) {
                self.sequence().await
            }

            async fn checkpoint(
                &self,
                now: jiff::Timestamp,
            ) -> Result<crate::checkpoint::Checkpoint, crate::StoreError> {
                self.chain_pending().await?;
                let key = self.checkpoint_key().await?;
                let head: Option<(i64, Option<String>)> = sqlx::query_as(
                    "SELECT seq, entry_hash FROM ledger WHERE seq IS NOT NULL \
                     ORDER BY seq DESC LIMIT 1",
                )
                .fetch_optional(&mut *self.reader().await?)
                .await?;
                let (size, hash) = head
                    .map(|(seq, hash)| (seq, hash.unwrap_or_default()))
                    .unwrap_or((0, crate::ledger::GENESIS.to_owned()));
                Ok(crate::checkpoint::Checkpoint::sign(&key, size, &hash, now))
            }

            async fn checkpoint_public_key(&self) -> Result<Option<String>, crate::StoreError> {
                let row: Option<(String,)> = sqlx::query_as(
                    "SELECT public_key FROM ledger_keys WHERE name = 'checkpoint'",
                )
                .fetch_optional(&mut *self.reader().await?)
                .await?;
                Ok(row.map(|(key,)| key))
            }


            async fn create_key(&self, key: crate::KeyRecord) -> Result<(), crate::StoreError> {
                crate::tx::create_key(self.begin().await?, &key).await
            }

            async fn keys(&self) -> Result<Vec<crate::KeyRecord>, crate::StoreError> {
                let rows: Vec<crate::sql::KeyRow> = sqlx::query_as(
                    "SELECT id, secret_hash, scope, label, created_at_us, revoked_at_us \
                     FROM api_keys ORDER BY created_at_us, id",
                )
                .fetch_all(&mut *self.reader().await?)
                .await?;
                Ok(rows.into_iter().map(crate::sql::key_from_row).collect())
            }

            async fn revoke_key(
                &self,
                id: &str,
                now: jiff::Timestamp,
            ) -> Result<bool, crate::StoreError> {
                crate::tx::revoke_key(self.begin().await?, id, now).await
            }

            async fn keys_version(&self) -> Result<i64, crate::StoreError> {
                let (value,): (i64,) =
                    sqlx::query_as("SELECT value FROM counters WHERE name = 'keys'")
                        .fetch_one(&mut *self.reader().await?)
                        .await?;
                Ok(value)
            }

            async fn current_policy(&self) -> Result<Option<crate::PolicyRecord>, crate::StoreError> {
                let row: Option<crate::sql::PolicyRow> = sqlx::query_as(
                    "SELECT generation, hash, source, loaded_at_us FROM policies \
                     ORDER BY generation DESC LIMIT 1",
                )
                .fetch_optional(&mut *self.reader().await?)
                .await?;
                Ok(row.map(crate::sql::policy_from_row))
            }

            async fn policy(
                &self,
                generation: i64,
            ) -> Result<Option<crate::PolicyRecord>, crate::StoreError> {
                let row: Option<crate::sql::PolicyRow> = sqlx::query_as(
                    "SELECT generation, hash, source, loaded_at_us FROM policies \
                     WHERE generation = $1",
                )
                .bind(generation)
                .fetch_optional(&mut *self.reader().await?)
                .await?;
                Ok(row.map(crate::sql::policy_from_row))
            }

            async fn put_policy(
                &self,
                source: &str,
                now: jiff::Timestamp,
                event: impl FnOnce(i64) -> crate::LedgerEvent + Send,
            ) -> Result<(crate::PolicyRecord, bool), crate::StoreError> {
                crate::tx::put_policy(self.begin().await?, source, now, event).await
            }

            async fn subscribe(
                &self,
            ) -> Result<Option<tokio::sync::mpsc::Receiver<crate::Change>>, crate::StoreError>
            {
                self.changes().await
            }

            async fn alerts_since(
                &self,
                parent: &str,
                after: i64,
                limit: i64,
            ) -> Result<Vec<crate::AlertRecord>, crate::StoreError> {
                let rows: Vec<(i64, String, String)> = sqlx::query_as(
                    "SELECT seq, kind, body FROM alerts WHERE parent_id = $1 AND seq > $2 \
                     ORDER BY seq LIMIT $3",
                )
                .bind(parent)
                .bind(after)
                .bind(limit)
                .fetch_all(&mut *self.reader().await?)
                .await?;
                Ok(rows
                    .into_iter()
                    .map(|(seq, kind, body)| crate::AlertRecord { seq, kind, body })
                    .collect())
            }

            async fn create_webhook(
                &self,
                webhook: crate::WebhookRecord,
            ) -> Result<(), crate::StoreError> {
                sqlx::query(
                    "INSERT INTO webhooks (id, url, secret, created_at_us, disabled_at_us) \
                     VALUES ($1, $2, $3, $4, NULL)",
                )
                .bind(&webhook.id)
                .bind(&webhook.url)
                .bind(&webhook.secret)
                .bind(crate::tx::micros(webhook.created_at))
                .execute(&mut *self.writer().await?)
                .await?;
                Ok(())
            }

            async fn webhooks(&self) -> Result<Vec<crate::WebhookRecord>, crate::StoreError> {
                let rows: Vec<(String, String, String, i64, Option<i64>)> = sqlx::query_as(
                    "SELECT id, url, secret, created_at_us, disabled_at_us FROM webhooks \
                     ORDER BY created_at_us, id",
                )
                .fetch_all(&mut *self.reader().await?)
                .await?;
                Ok(rows
                    .into_iter()
                    .map(|(id, url, secret, created, disabled)| crate::WebhookRecord {
                        id,
                        url,
                        secret,
                        created_at: crate::tx::from_micros(created),
                        disabled_at: disabled.map(crate::tx::from_micros),
                    })
                    .collect())
            }

            async fn disable_webhook(
                &self,
                id: &str,
                now: jiff::Timestamp,
            ) -> Result<bool, crate::StoreError> {
                let disabled = sqlx::query(
                    "UPDATE webhooks SET disabled_at_us = $2 \
                     WHERE id = $1 AND disabled_at_us IS NULL",
                )
                .bind(id)
                .bind(crate::tx::micros(now))
                .execute(&mut *self.writer().await?)
                .await?
                .rows_affected();
                Ok(disabled > 0)
            }

            async fn due_deliveries(
                &self,
                now: jiff::Timestamp,
                limit: i64,
            ) -> Result<Vec<crate::OutboxItem>, crate::StoreError> {
                let rows: Vec<(String, i64, String, i64, i64, String, String)> = sqlx::query_as(
                    "SELECT o.webhook_id, o.seq, o.body, o.attempts, o.next_attempt_at_us, \
                     w.url, w.secret FROM outbox o JOIN webhooks w ON w.id = o.webhook_id \
                     WHERE o.delivered_at_us IS NULL AND w.disabled_at_us IS NULL \
                     AND o.next_attempt_at_us <= $1 \
                     ORDER BY o.next_attempt_at_us, o.seq LIMIT $2",
                )
                .bind(crate::tx::micros(now))
                .bind(limit)
                .fetch_all(&mut *self.reader().await?)
                .await?;
                Ok(rows
                    .into_iter()
                    .map(
                        |(webhook_id, seq, body, attempts, next_attempt_at_us, url, secret)| {
                            crate::OutboxItem {
                                webhook_id,
                                seq,
                                body,
                                attempts,
                                next_attempt_at_us,
                                url,
                                secret,
                            }
                        },
                    )
                    .collect())
            }

            async fn claim_delivery(
                &self,
                item: &crate::OutboxItem,
                lease_until: jiff::Timestamp,
            ) -> Result<bool, crate::StoreError> {
                let claimed = sqlx::query(
                    "UPDATE outbox SET next_attempt_at_us = $4 \
                     WHERE webhook_id = $1 AND seq = $2 AND next_attempt_at_us = $3 \
                     AND delivered_at_us IS NULL",
                )
                .bind(&item.webhook_id)
                .bind(item.seq)
                .bind(item.next_attempt_at_us)
                .bind(crate::tx::micros(lease_until))
                .execute(&mut *self.writer().await?)
                .await?
                .rows_affected();
                Ok(claimed > 0)
            }

            async fn record_delivery(
                &self,
                item: &crate::OutboxItem,
                attempt: crate::DeliveryRecord,
                next_attempt: jiff::Timestamp,
            ) -> Result<(), crate::StoreError> {
                use crate::tx::Tx as _;
                let mut tx = self.begin().await?;
                let at = crate::tx::micros(attempt.at);
                sqlx::query(
                    "UPDATE outbox SET attempts = $3, next_attempt_at_us = $4, \
                     delivered_at_us = $5 WHERE webhook_id = $1 AND seq = $2",
                )
                .bind(&item.webhook_id)
                .bind(item.seq)
                .bind(attempt.attempt)
                .bind(crate::tx::micros(next_attempt))
                .bind(attempt.delivered.then_some(at))
                .execute(&mut *tx.0)
                .await?;
                sqlx::query(
                    "INSERT INTO deliveries (webhook_id, seq, attempt, child_id, at_us, status, \
                     error, delivered) SELECT $1, $2, $3, child_id, $4, $5, $6, $7 FROM outbox \
                     WHERE webhook_id = $1 AND seq = $2 \
                     ON CONFLICT (webhook_id, seq, attempt) DO NOTHING",
                )
                .bind(&item.webhook_id)
                .bind(item.seq)
                .bind(attempt.attempt)
                .bind(at)
                .bind(attempt.status)
                .bind(attempt.error.as_deref())
                .bind(attempt.delivered)
                .execute(&mut *tx.0)
                .await?;
                tx.commit().await?;
                Ok(())
            }

            async fn deliveries(
                &self,
                limit: i64,
            ) -> Result<Vec<crate::DeliveryRecord>, crate::StoreError> {
                let rows: Vec<(String, i64, i64, i64, Option<i64>, Option<String>, bool)> =
                    sqlx::query_as(
                        "SELECT webhook_id, seq, attempt, at_us, status, error, delivered \
                         FROM deliveries ORDER BY at_us DESC, seq DESC LIMIT $1",
                    )
                    .bind(limit)
                    .fetch_all(&mut *self.reader().await?)
                    .await?;
                Ok(rows
                    .into_iter()
                    .map(|(webhook_id, seq, attempt, at, status, error, delivered)| {
                        crate::DeliveryRecord {
                            webhook_id,
                            seq,
                            attempt,
                            at: crate::tx::from_micros(at),
                            status,
                            error,
                            delivered,
                        }
                    })
                    .collect())
            }

            async fn drift(&self, child: &str) -> Result<Option<String>, crate::StoreError> {
                let row: Option<(String,)> =
                    sqlx::query_as("SELECT doc FROM drift WHERE child_id = $1")
                        .bind(child)
                        .fetch_optional(&mut *self.reader().await?)
                        .await?;
                Ok(row.map(|(doc,)| doc))
            }

            async fn put_drifts(
                &self,
                drifts: Vec<(String, String)>,
            ) -> Result<(), crate::StoreError> {
                use crate::tx::Tx as _;
                if drifts.is_empty() {
                    return Ok(());
                }
                let mut tx = self.begin().await?;
                let now = crate::tx::now_us();
                for (child, doc) in &drifts {
                    sqlx::query(
                        "INSERT INTO drift (child_id, doc, updated_at_us) VALUES ($1, $2, $3) \
                         ON CONFLICT (child_id) DO UPDATE SET doc = excluded.doc, \
                         updated_at_us = excluded.updated_at_us, version = drift.version + 1",
                    )
                    .bind(child)
                    .bind(doc)
                    .bind(now)
                    .execute(&mut *tx.0)
                    .await?;
                }
                tx.commit().await?;
                Ok(())
            }

            async fn drift_at(
                &self,
                child: &str,
            ) -> Result<Option<(i64, String)>, crate::StoreError> {
                Ok(
                    sqlx::query_as("SELECT version, doc FROM drift WHERE child_id = $1")
                        .bind(child)
                        .fetch_optional(&mut *self.reader().await?)
                        .await?,
                )
            }

            async fn put_drift_at(
                &self,
                child: &str,
                doc: &str,
                read_at: i64,
            ) -> Result<bool, crate::StoreError> {
                let now = crate::tx::now_us();
                // Version 0 is "none stored": the row must not exist yet.
                let query = if read_at == 0 {
                    sqlx::query(
                        "INSERT INTO drift (child_id, doc, updated_at_us, version) \
                         VALUES ($1, $2, $3, 1) ON CONFLICT (child_id) DO NOTHING",
                    )
                    .bind(child)
                    .bind(doc)
                    .bind(now)
                } else {
                    sqlx::query(
                        "UPDATE drift SET doc = $2, updated_at_us = $3, version = version + 1 \
                         WHERE child_id = $1 AND version = $4",
                    )
                    .bind(child)
                    .bind(doc)
                    .bind(now)
                    .bind(read_at)
                };
                let done = query.execute(&mut *self.writer().await?).await?;
                Ok(done.rows_affected() == 1)
            }

            // Pages: links and sessions

            async fn children_of(
                &self,
                parent: &ward_core::ids::ParentId,
            ) -> Result<Vec<ward_core::ids::ChildId>, crate::StoreError> {
                let ids: Vec<(String,)> = sqlx::query_as(
                    "SELECT child_id FROM parent_links WHERE parent_id = $1 ORDER BY child_id",
                )
                .bind(parent.as_str())
                .fetch_all(&mut *self.reader().await?)
                .await?;
                crate::sql::child_ids("parent link", ids)
            }

            async fn create_page_link(
                &self,
                link: crate::PageLinkRecord,
            ) -> Result<(), crate::StoreError> {
                sqlx::query(
                    "INSERT INTO page_links (token_hash, kind, subject, created_at_us, \
                     expires_at_us, used_at_us) VALUES ($1, $2, $3, $4, $5, $6)",
                )
                .bind(&link.token_hash)
                .bind(link.kind.as_str())
                .bind(&link.subject)
                .bind(crate::tx::micros(link.created_at))
                .bind(crate::tx::micros(link.expires_at))
                .bind(link.used_at.map(crate::tx::micros))
                .execute(&mut *self.writer().await?)
                .await?;
                Ok(())
            }

            async fn page_link(
                &self,
                token_hash: &str,
            ) -> Result<Option<crate::PageLinkRecord>, crate::StoreError> {
                let row: Option<crate::sql::LinkRow> = sqlx::query_as(
                    "SELECT token_hash, kind, subject, created_at_us, expires_at_us, used_at_us \
                     FROM page_links WHERE token_hash = $1",
                )
                .bind(token_hash)
                .fetch_optional(&mut *self.reader().await?)
                .await?;
                row.map(crate::sql::link_from_row).transpose()
            }

            async fn redeem_page_link(
                &self,
                token_hash: &str,
                session: crate::NewPageSession,
                now: jiff::Timestamp,
            ) -> Result<crate::Redemption, crate::StoreError> {
                let mut tx = self.begin().await?;
                let now_us = crate::tx::micros(now);
                // The conditional update is the claim: of two racing redemptions one updates
                // the row and the other, waiting on its lock, finds it used.
                let claimed = sqlx::query(
                    "UPDATE page_links SET used_at_us = $2 \
                     WHERE token_hash = $1 AND used_at_us IS NULL AND expires_at_us > $2",
                )
                .bind(token_hash)
                .bind(now_us)
                .execute(&mut *tx.0)
                .await?
                .rows_affected()
                    == 1;
                let row: Option<crate::sql::LinkRow> = sqlx::query_as(
                    "SELECT token_hash, kind, subject, created_at_us, expires_at_us, used_at_us \
                     FROM page_links WHERE token_hash = $1",
                )
                .bind(token_hash)
                .fetch_optional(&mut *tx.0)
                .await?;
                // Returning early drops `tx`, which rolls back (nothing was changed anyway).
                let Some(link) = row.map(crate::sql::link_from_row).transpose()? else {
                    return Ok(crate::Redemption::Unknown);
                };
                if !claimed {
                    return Ok(if link.used_at.is_some() {
                        crate::Redemption::Used
                    } else {
                        crate::Redemption::Expired
                    });
                }
                let record = crate::PageSessionRecord {
                    token_hash: session.token_hash,
                    kind: link.kind,
                    subject: link.subject,
                    created_at: now,
                    expires_at: session.expires_at,
                };
                sqlx::query(
                    "INSERT INTO page_sessions (token_hash, kind, subject, created_at_us, \
                     expires_at_us) VALUES ($1, $2, $3, $4, $5)",
                )
                .bind(&record.token_hash)
                .bind(record.kind.as_str())
                .bind(&record.subject)
                .bind(now_us)
                .bind(crate::tx::micros(record.expires_at))
                .execute(&mut *tx.0)
                .await?;
                tx.0.commit().await?;
                Ok(crate::Redemption::Redeemed(record))
            }

            async fn page_session(
                &self,
                token_hash: &str,
                now: jiff::Timestamp,
            ) -> Result<Option<crate::PageSessionRecord>, crate::StoreError> {
                let row: Option<crate::sql::SessionRow> = sqlx::query_as(
                    "SELECT token_hash, kind, subject, created_at_us, expires_at_us \
                     FROM page_sessions WHERE token_hash = $1 AND expires_at_us > $2",
                )
                .bind(token_hash)
                .bind(crate::tx::micros(now))
                .fetch_optional(&mut *self.reader().await?)
                .await?;
                row.map(crate::sql::session_from_row).transpose()
            }

            async fn end_page_session(&self, token_hash: &str) -> Result<bool, crate::StoreError> {
                Ok(sqlx::query("DELETE FROM page_sessions WHERE token_hash = $1")
                    .bind(token_hash)
                    .execute(&mut *self.writer().await?)
                    .await?
                    .rows_affected()
                    > 0)
            }

            async fn prune_pages(&self, now: jiff::Timestamp) -> Result<u64, crate::StoreError> {
                let sessions = sqlx::query("DELETE FROM page_sessions WHERE expires_at_us <= $1")
                    .bind(crate::tx::micros(now))
                    .execute(&mut *self.writer().await?)
                    .await?
                    .rows_affected();
                let kept_until = now.saturating_sub(crate::PAGE_LINK_KEPT).unwrap_or(now);
                let links = sqlx::query("DELETE FROM page_links WHERE expires_at_us <= $1")
                    .bind(crate::tx::micros(kept_until))
                    .execute(&mut *self.writer().await?)
                    .await?
                    .rows_affected();
                Ok(sessions + links)
            }

            // Pages: recent alerts

            async fn latest_alerts(
                &self,
                parent: &str,
                limit: i64,
            ) -> Result<Vec<crate::AlertRecord>, crate::StoreError> {
                let rows: Vec<(i64, String, String)> = sqlx::query_as(
                    "SELECT seq, kind, body FROM alerts WHERE parent_id = $1 \
                     ORDER BY seq DESC LIMIT $2",
                )
                .bind(parent)
                .bind(limit)
                .fetch_all(&mut *self.reader().await?)
                .await?;
                Ok(rows
                    .into_iter()
                    .map(|(seq, kind, body)| crate::AlertRecord { seq, kind, body })
                    .collect())
            }
        }

        impl $store {
            /// Chains what is pending, then walks the chain in order through `verifier`.
            async fn verify_with(
                &self,
                mut verifier: crate::ledger::Verifier,
            ) -> Result<crate::Verification, crate::StoreError> {
                self.chain_pending().await?;
                let statement = format!(
                    "SELECT {} FROM ledger WHERE seq > $1 ORDER BY seq LIMIT $2",
                    crate::sql::ENTRY_COLUMNS
                );
                let mut after = i64::MIN;
                loop {
                    let rows: Vec<crate::sql::EntryRow> = sqlx::query_as(&statement)
                        .bind(after)
                        .bind(crate::sql::VERIFY_PAGE)
                        .fetch_all(&mut *self.reader().await?)
                        .await?;
                    let Some(last) = rows.last().map(|row| row.0) else {
                        break;
                    };
                    let full_page = rows.len() as i64 == crate::sql::VERIFY_PAGE;
                    for row in rows {
                        if !verifier.push(&crate::sql::entry_from_row(row)) {
                            return Ok(verifier.finish());
                        }
                    }
                    if !full_page {
                        break;
                    }
                    after = last;
                }
                Ok(verifier.finish())
            }

            /// The key checkpoints are signed with, made and stored on first use (of two
            /// nodes making one at once, the first stored is kept).
            async fn checkpoint_key(
                &self,
            ) -> Result<crate::checkpoint::CheckpointKey, crate::StoreError> {
                let stored = |row: Option<(String,)>| {
                    row.map(|(secret,)| {
                        crate::checkpoint::CheckpointKey::from_secret_hex(&secret).ok_or_else(
                            || crate::StoreError::Corrupt {
                                what: "checkpoint key",
                                id: "checkpoint".into(),
                                reason: "not a 32-byte secret in hex".into(),
                            },
                        )
                    })
                    .transpose()
                };
                let select = "SELECT secret_key FROM ledger_keys WHERE name = 'checkpoint'";
                if let Some(key) =
                    stored(sqlx::query_as(select).fetch_optional(&mut *self.reader().await?).await?)?
                {
                    return Ok(key);
                }
                let key = crate::checkpoint::CheckpointKey::generate().map_err(|error| {
                    crate::StoreError::Corrupt {
                        what: "checkpoint key",
                        id: "checkpoint".into(),
                        reason: format!("no randomness to make one: {error}"),
                    }
                })?;
                sqlx::query(
                    "INSERT INTO ledger_keys (name, public_key, secret_key, created_at_us) \
                     VALUES ('checkpoint', $1, $2, $3) ON CONFLICT (name) DO NOTHING",
                )
                .bind(key.public_hex())
                .bind(key.secret_hex())
                .bind(crate::tx::now_us())
                .execute(&mut *self.writer().await?)
                .await?;
                stored(sqlx::query_as(select).fetch_optional(&mut *self.writer().await?).await?)?
                    .ok_or_else(|| crate::StoreError::Corrupt {
                        what: "checkpoint key",
                        id: "checkpoint".into(),
                        reason: "stored, then not found".into(),
                    })
            }

            /// Indexes the parents of children stored before the `parent_links` index existed.
            /// Runs once per database: the first node to claim the marker does it, in one
            /// transaction; the others wait on the marker's row and then find it done.
            async fn backfill_parent_links(&self) -> Result<(), crate::StoreError> {
                use crate::tx::Tx as _;
                // Done already (every start but the first): no write transaction, so a CLI
                // command opening the store beside a live server never waits for it.
                let (done,): (i64,) = sqlx::query_as(
                    "SELECT value FROM counters WHERE name = 'parent_links_backfilled'",
                )
                .fetch_one(&mut *self.writer().await?)
                .await?;
                if done != 0 {
                    return Ok(());
                }
                let mut tx = self.begin().await?;
                let claimed = sqlx::query(
                    "UPDATE counters SET value = 1 \
                     WHERE name = 'parent_links_backfilled' AND value = 0",
                )
                .execute(&mut *tx.0)
                .await?
                .rows_affected()
                    == 1;
                if !claimed {
                    return Ok(());
                }
                let mut after = String::new();
                loop {
                    let rows: Vec<(String, String)> = sqlx::query_as(
                        "SELECT id, doc FROM children WHERE id > $1 ORDER BY id LIMIT $2",
                    )
                    .bind(&after)
                    .bind(crate::sql::BACKFILL_PAGE)
                    .fetch_all(&mut *tx.0)
                    .await?;
                    let full_page = rows.len() as i64 == crate::sql::BACKFILL_PAGE;
                    for (id, doc) in &rows {
                        let parents = crate::tx::parents_of(id, doc)?;
                        if !parents.is_empty() {
                            tx.set_parent_links(id, &parents).await?;
                        }
                    }
                    match rows.into_iter().last() {
                        Some((id, _)) if full_page => after = id,
                        _ => break,
                    }
                }
                tx.commit().await?;
                Ok(())
            }
        }
    };
}

pub(crate) use sql_backend;
