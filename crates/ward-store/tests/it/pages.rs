//! What the pages keep: the parent index that follows children's documents, one-time links
//! (used once, expiring), sessions, and erasure of all of it with the child.

use jiff::{SignedDuration, Timestamp};
use ward_core::compiled::CompiledPolicy;
use ward_core::ids::{ChildId, ParentId};
use ward_core::settings::Child;
use ward_store::{
    AnyStore, ChildWrite, LedgerEvent, NewAlert, NewPageSession, PageKind, PageLinkRecord,
    Redemption, Store,
};

use crate::tamper::tamper;
use crate::{at, child_id, create, on_both, policy, save};

fn parent(text: &str) -> ParentId {
    ParentId::parse(text).unwrap()
}

/// Links (`link = true`) or unlinks a parent, as the server would: through `write_child`.
async fn set_parent(
    store: &AnyStore,
    policy: &CompiledPolicy,
    id: &ChildId,
    who: &str,
    link: bool,
    now: Timestamp,
) {
    let stored = store.child(id).await.unwrap().unwrap();
    let mut child = Child::from_document(stored.document, policy, now);
    let (_, events) = if link {
        child.link_parent(policy, parent(who), now).unwrap()
    } else {
        child.unlink_parent(policy, &parent(who), now).unwrap()
    };
    save(store, policy, &child, &events).await;
}

async fn children_of(store: &AnyStore, who: &str) -> Vec<String> {
    store
        .children_of(&parent(who))
        .await
        .unwrap()
        .into_iter()
        .map(|id| id.to_string())
        .collect()
}

fn link(token_hash: &str, kind: PageKind, subject: &str, now: Timestamp) -> PageLinkRecord {
    PageLinkRecord {
        token_hash: token_hash.to_owned(),
        kind,
        subject: subject.to_owned(),
        created_at: now,
        expires_at: now + SignedDuration::from_mins(5),
        used_at: None,
    }
}

fn session(token_hash: &str, now: Timestamp) -> NewPageSession {
    NewPageSession {
        token_hash: token_hash.to_owned(),
        expires_at: now + SignedDuration::from_hours(1),
    }
}

#[tokio::test]
async fn the_parent_index_follows_the_documents_and_goes_with_an_erased_child() {
    on_both("parent index", |store, _| async move {
        let policy = policy();
        let now = at("2026-01-10T10:00:00Z");
        let (a, b) = (child_id("kid-a"), child_id("kid-b"));
        for id in [&a, &b] {
            store
                .write_child(id, 1, create(&policy, id, now))
                .await
                .unwrap();
        }
        assert!(children_of(&store, "mum").await.is_empty());
        set_parent(&store, &policy, &a, "mum", true, now).await;
        set_parent(&store, &policy, &a, "dad", true, now).await;
        set_parent(&store, &policy, &b, "mum", true, now).await;
        assert_eq!(children_of(&store, "mum").await, ["kid-a", "kid-b"]);
        assert_eq!(children_of(&store, "dad").await, ["kid-a"]);

        set_parent(&store, &policy, &a, "mum", false, now).await;
        assert_eq!(children_of(&store, "mum").await, ["kid-b"]);
        assert_eq!(children_of(&store, "dad").await, ["kid-a"]);

        store.erase_child(&b, now).await.unwrap().unwrap();
        assert!(children_of(&store, "mum").await.is_empty());
        assert_eq!(children_of(&store, "dad").await, ["kid-a"]);
    })
    .await;
}

#[tokio::test]
async fn children_stored_before_the_index_existed_are_indexed_once_on_start() {
    on_both("parent index backfill", |store, url| async move {
        let policy = policy();
        let now = at("2026-01-10T10:00:00Z");
        let id = child_id("kid-old");
        store
            .write_child(&id, 1, create(&policy, &id, now))
            .await
            .unwrap();
        set_parent(&store, &policy, &id, "gran", true, now).await;
        // As a database from before migration 2 would be: documents, no index, no marker set.
        tamper(&store, &url, "DELETE FROM parent_links").await;
        tamper(
            &store,
            &url,
            "UPDATE counters SET value = 0 WHERE name = 'parent_links_backfilled'",
        )
        .await;
        assert!(children_of(&store, "gran").await.is_empty());
        store.migrate().await.unwrap();
        assert_eq!(children_of(&store, "gran").await, ["kid-old"]);
        // Once only: a later start does not redo it.
        tamper(&store, &url, "DELETE FROM parent_links").await;
        store.migrate().await.unwrap();
        assert!(children_of(&store, "gran").await.is_empty());
    })
    .await;
}

#[tokio::test]
async fn a_link_opens_one_session_once_and_a_session_ends() {
    on_both("page links", |store, _| async move {
        let now = at("2026-01-10T10:00:00Z");
        store
            .create_page_link(link("hash-1", PageKind::Child, "kid-1", now))
            .await
            .unwrap();
        let stored = store.page_link("hash-1").await.unwrap().unwrap();
        assert_eq!(stored.used_at, None);
        assert_eq!(stored.kind, PageKind::Child);

        let redeemed = store
            .redeem_page_link("hash-1", session("session-1", now), now)
            .await
            .unwrap();
        let Redemption::Redeemed(record) = redeemed else {
            panic!("{redeemed:?}")
        };
        assert_eq!(
            (record.kind, record.subject.as_str()),
            (PageKind::Child, "kid-1")
        );
        assert_eq!(
            store
                .redeem_page_link("hash-1", session("session-2", now), now)
                .await
                .unwrap(),
            Redemption::Used,
            "a link is used once"
        );
        assert!(
            store
                .page_session("session-2", now)
                .await
                .unwrap()
                .is_none()
        );
        assert_eq!(
            store.page_link("hash-1").await.unwrap().unwrap().used_at,
            Some(now)
        );

        let live = store.page_session("session-1", now).await.unwrap().unwrap();
        assert_eq!(live.subject, "kid-1");
        let later = now + SignedDuration::from_hours(1);
        assert!(
            store
                .page_session("session-1", later)
                .await
                .unwrap()
                .is_none(),
            "a session ends at its expiry"
        );
        assert!(store.end_page_session("session-1").await.unwrap());
        assert!(!store.end_page_session("session-1").await.unwrap());
        assert!(
            store
                .page_session("session-1", now)
                .await
                .unwrap()
                .is_none()
        );
    })
    .await;
}

#[tokio::test]
async fn expired_and_unknown_links_open_nothing_and_are_pruned_a_day_later() {
    on_both("page link expiry", |store, _| async move {
        let now = at("2026-01-10T10:00:00Z");
        store
            .create_page_link(link("hash-p", PageKind::Parent, "mum", now))
            .await
            .unwrap();
        let expiry = now + SignedDuration::from_mins(5);
        assert_eq!(
            store
                .redeem_page_link("hash-p", session("s", expiry), expiry)
                .await
                .unwrap(),
            Redemption::Expired
        );
        assert_eq!(
            store
                .redeem_page_link("no-such-hash", session("s", now), now)
                .await
                .unwrap(),
            Redemption::Unknown
        );
        assert!(store.page_session("s", now).await.unwrap().is_none());

        assert_eq!(store.prune_pages(expiry).await.unwrap(), 0, "kept a day");
        let day_later = expiry + SignedDuration::from_hours(24);
        assert_eq!(store.prune_pages(day_later).await.unwrap(), 1);
        assert!(store.page_link("hash-p").await.unwrap().is_none());
    })
    .await;
}

#[tokio::test]
async fn erasing_a_child_ends_their_page_links_and_sessions() {
    on_both("page erasure", |store, _| async move {
        let policy = policy();
        let now = at("2026-01-10T10:00:00Z");
        let id = child_id("kid-gone");
        store
            .write_child(&id, 1, create(&policy, &id, now))
            .await
            .unwrap();
        for (hash, subject) in [("hash-gone", "kid-gone"), ("hash-other", "kid-other")] {
            store
                .create_page_link(link(hash, PageKind::Child, subject, now))
                .await
                .unwrap();
        }
        store
            .redeem_page_link("hash-gone", session("session-gone", now), now)
            .await
            .unwrap();
        store.erase_child(&id, now).await.unwrap().unwrap();
        assert!(store.page_link("hash-gone").await.unwrap().is_none());
        assert!(
            store
                .page_session("session-gone", now)
                .await
                .unwrap()
                .is_none()
        );
        assert!(store.page_link("hash-other").await.unwrap().is_some());
    })
    .await;
}

#[tokio::test]
async fn a_parents_latest_alerts_come_newest_first() {
    on_both("latest alerts", |store, _| async move {
        let policy = policy();
        let now = at("2026-01-10T10:00:00Z");
        let id = child_id("kid-a");
        store
            .write_child(&id, 1, create(&policy, &id, now))
            .await
            .unwrap();
        // Each link alerts every parent linked by then (the core's rule), as the server writes
        // them: with their cause.
        for who in ["mum", "dad", "gran"] {
            let stored = store.child(&id).await.unwrap().unwrap();
            let mut child = Child::from_document(stored.document, &policy, now);
            let (_, events) = child.link_parent(&policy, parent(who), now).unwrap();
            let alerts = ward_core::alerts::alerts(&child, &events)
                .into_iter()
                .map(|alert| NewAlert {
                    event: alert.event,
                    kind: alert.kind.as_str().to_owned(),
                    parents: alert.parents.iter().map(ToString::to_string).collect(),
                    body: serde_json::json!({"linked": who}),
                    parent_body: None,
                })
                .collect();
            let document = child.to_document(&policy);
            store
                .write_child(&id, 1, move |_| {
                    Ok::<_, String>((
                        ChildWrite {
                            document: Some(document),
                            events: events.iter().map(LedgerEvent::from).collect(),
                            alerts,
                            ..ChildWrite::default()
                        },
                        (),
                    ))
                })
                .await
                .unwrap();
        }
        let all = store.alerts_since("mum", 0, 100).await.unwrap();
        assert_eq!(all.len(), 3, "{all:?}");
        let mut newest_first = all.clone();
        newest_first.reverse();
        assert_eq!(store.latest_alerts("mum", 10).await.unwrap(), newest_first);
        let latest = store.latest_alerts("mum", 2).await.unwrap();
        assert_eq!(latest, newest_first[..2]);
        assert!(latest[0].body.contains(r#""linked":"gran""#), "{latest:?}");
        assert!(latest[0].seq > latest[1].seq);
        assert_eq!(store.latest_alerts("gran", 10).await.unwrap().len(), 1);
        assert!(store.latest_alerts("nobody", 10).await.unwrap().is_empty());
    })
    .await;
}
