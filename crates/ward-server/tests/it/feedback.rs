//! A child's "not for me" and "report this" over HTTP: the next feed already differs (on
//! another node too), the decay lets a topic return, "show again" undoes it, a report raises
//! its alert and webhook with it, moderators acknowledge and resolve it, an overdue report
//! alerts once, and a parent sees that a report was made, not what.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use jiff::SignedDuration;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use ward_store::test_support::{fresh_schema, postgres_url};

use crate::parental::receiver;
use crate::support::{Backend, CLIPSTREAM, Server, on_both};

fn video(id: &str, topic: &str, source: &str) -> Value {
    json!({"id": id, "kind": "video", "topics": [topic], "source": source, "assessed": true})
}

/// The feed guard's reasons for each item of `items`, by id (empty: kept).
async fn filter(server: &Server, child: &str, items: &[Value]) -> Vec<(String, Vec<String>)> {
    let (status, body) = server
        .post("/v1/feed/filter", json!({"child": child, "items": items}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    items
        .iter()
        .map(|item| {
            let id = item["id"].as_str().unwrap().to_owned();
            let reasons = body["removed"]
                .as_array()
                .unwrap()
                .iter()
                .find(|removed| removed["id"] == id.as_str())
                .map(|removed| {
                    removed["reasons"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|r| r["code"].as_str().unwrap().to_owned())
                        .collect()
                })
                .unwrap_or_default();
            (id, reasons)
        })
        .collect()
}

fn codes(found: &[(String, Vec<String>)]) -> Vec<Vec<&str>> {
    found
        .iter()
        .map(|(_, reasons)| reasons.iter().map(String::as_str).collect())
        .collect()
}

#[tokio::test]
async fn not_for_me_removes_the_item_and_holds_its_topic_back_until_the_decay_and_show_again_undoes_it()
 {
    on_both("not for me", |backend: Backend| async move {
        let policy =
            format!("{CLIPSTREAM}\n").replace("[feed]\n", "[feed]\nfeedback_decay_days = 3\n");
        let server = Server::start(&backend, &policy).await;
        server.child("kid", 14, "GB").await;
        let feed = [
            video("v1", "pranks", "chan-9"),
            video("v2", "Pranks", "other"),
            video("v3", "football", "chan-9"),
            video("v4", "football", "other"),
        ];
        assert_eq!(codes(&filter(&server, "kid", &feed).await), [[""; 0]; 4]);
        let (status, answer) = server
            .post(
                "/v1/children/kid/feedback",
                json!({"item": feed[0], "kind": "not_interested"}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{answer}");
        assert_eq!(answer["held"], json!(["topic:pranks", "source:chan-9"]));
        assert_eq!(answer["report"], Value::Null);
        let found = filter(&server, "kid", &feed).await;
        assert_eq!(
            codes(&found),
            [
                vec!["hidden_by_child", "not_for_me_topic", "not_for_me_source"],
                vec!["not_for_me_topic"],
                vec!["not_for_me_source"],
                vec![],
            ]
        );
        // The reason is named in words too.
        let (_, body) = server
            .post(
                "/v1/feed/filter",
                json!({"child": "kid", "items": [feed[1]]}),
            )
            .await;
        let message = body["removed"][0]["reasons"][0]["message"]
            .as_str()
            .unwrap();
        assert!(
            message.contains("`Pranks`") && message.contains("not for me"),
            "{message}"
        );
        // The child's list.
        let (_, state) = server.get("/v1/children/kid/feedback").await;
        assert_eq!(state["hidden"][0]["item"]["id"], "v1");
        assert_eq!(state["held"].as_array().unwrap().len(), 2);
        // After the decay, the topic and source may return; the item stays hidden.
        server.clock.advance(SignedDuration::from_hours(3 * 24 + 1));
        assert_eq!(
            codes(&filter(&server, "kid", &feed).await),
            [vec!["hidden_by_child"], vec![], vec![], vec![]]
        );
        // "Show again" undoes it.
        server
            .clock
            .advance(SignedDuration::from_hours(-(3 * 24 + 1)));
        let (status, shown) = server
            .post(
                "/v1/children/kid/feedback/show-again",
                json!({"item": "v1"}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{shown}");
        assert_eq!(shown["released"], json!(["topic:pranks", "source:chan-9"]));
        assert_eq!(codes(&filter(&server, "kid", &feed).await), [[""; 0]; 4]);
        let (status, again) = server
            .post(
                "/v1/children/kid/feedback/show-again",
                json!({"item": "v1"}),
            )
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert_eq!(again["error"]["code"], "not_hidden");
        // Every step is in the ledger.
        let (_, export) = server.get("/v1/children/kid/export").await;
        let kinds: Vec<&str> = export["ledger"]
            .as_array()
            .unwrap()
            .iter()
            .map(|entry| entry["kind"].as_str().unwrap())
            .collect();
        assert!(
            kinds.contains(&"not_interested") && kinds.contains(&"shown_again"),
            "{kinds:?}"
        );
    })
    .await;
}

#[tokio::test]
async fn feedback_is_the_childs_a_parent_cannot_give_it_and_bad_bodies_are_refused() {
    on_both("feedback auth", |backend: Backend| async move {
        let server = Server::start(&backend, CLIPSTREAM).await;
        server.child("kid", 14, "GB").await;
        let mum = server.key("parent:mum").await;
        server.put("/v1/children/kid/parents/mum", json!({})).await;
        let body = json!({"item": video("v1", "pranks", "c"), "kind": "not_interested"});
        let (status, _) = server
            .call(
                Method::POST,
                "/v1/children/kid/feedback",
                Some(&mum),
                Some(body),
            )
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        for (bad, code) in [
            (
                json!({"item": video("v1", "a", "b"), "kind": "report"}),
                "invalid_body",
            ),
            (
                json!({"item": video("v1", "a", "b"), "kind": "not_interested", "reason": "other"}),
                "invalid_body",
            ),
            (
                json!({"item": video(&"x".repeat(257), "a", "b"), "kind": "not_interested"}),
                "invalid_body",
            ),
            (
                json!({"item": video("v1", "a", "b"), "kind": "meh"}),
                "invalid_body",
            ),
        ] {
            let (status, answer) = server.post("/v1/children/kid/feedback", bad).await;
            assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{answer}");
            assert_eq!(answer["error"]["code"], code);
        }
        let (status, answer) = server
            .post(
                "/v1/children/nobody/feedback",
                json!({"item": video("v1", "a", "b"), "kind": "not_interested"}),
            )
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{answer}");
        // A moderator key cannot touch a child's settings.
        let moderator = server.key("moderate").await;
        let (status, _) = server
            .call(Method::GET, "/v1/children/kid", Some(&moderator), None)
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        let (status, _) = server
            .call(Method::GET, "/v1/reports/rep_zz", Some(&moderator), None)
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        let (status, answer) = server
            .call(
                Method::GET,
                "/v1/reports/rep_0000000000000000",
                Some(&moderator),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert_eq!(answer["error"]["code"], "report_not_found");
    })
    .await;
}

/// Waits until `seen` holds a webhook of `kind`; returns it.
async fn webhook(seen: &Arc<Mutex<Vec<(String, Value)>>>, kind: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some((_, body)) = seen.lock().unwrap().iter().find(|(_, b)| b["type"] == kind) {
            return body.clone();
        }
        assert!(Instant::now() < deadline, "no `{kind}` webhook arrived");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn a_report_raises_its_alert_and_webhook_and_moderators_answer_it() {
    on_both("report", |backend: Backend| async move {
        let server = Server::start(&backend, CLIPSTREAM).await;
        let secret = Arc::new(Mutex::new(String::new()));
        let seen = Arc::new(Mutex::new(Vec::new()));
        let url = receiver(secret.clone(), seen.clone()).await;
        let (_, hook) = server.post("/v1/webhooks", json!({"url": url})).await;
        *secret.lock().unwrap() = hook["secret"].as_str().unwrap().to_owned();
        server.child("kid", 14, "GB").await;
        server.put("/v1/children/kid/parents/mum", json!({})).await;
        let mum = server.key("parent:mum").await;
        let mut stream = server.alerts("mum", &mum, None).await;

        let item = video("clip-77", "dares", "chan-x");
        let (status, answer) = server
            .post(
                "/v1/children/kid/feedback",
                json!({"item": item, "kind": "report", "reason": "self_harm_or_suicide"}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{answer}");
        let report_id = answer["report"]["id"].as_str().unwrap().to_owned();
        assert_eq!(answer["report"]["status"], "open");
        // The help text, at once, marked urgent for self-harm or suicide.
        assert_eq!(answer["help"]["urgent"], true);
        assert_eq!(answer["help"]["helpline"], "Childline");
        // The item is gone from the next feed.
        assert_eq!(
            codes(&filter(&server, "kid", std::slice::from_ref(&item)).await),
            [vec!["hidden_by_child"]]
        );
        // The service's signed webhook has the item and the reason.
        let received = webhook(&seen, "report_received").await;
        assert_eq!(received["event"]["report"]["item"]["id"], "clip-77");
        assert_eq!(
            received["event"]["report"]["reason"],
            "self_harm_or_suicide"
        );
        // The parent hears that a report was made, not what.
        let alert = stream.next().await;
        assert_eq!(alert.event, "report_received");
        let text = alert.data.to_string();
        assert!(
            !text.contains("clip-77") && !text.contains("self_harm") && !text.contains("dares"),
            "{text}"
        );
        assert_eq!(alert.data["event"]["report"]["id"], report_id.as_str());
        // And the parent's view of the child's feedback says the same.
        let (status, view) = server
            .call(Method::GET, "/v1/children/kid/feedback", Some(&mum), None)
            .await;
        assert_eq!(status, StatusCode::OK, "{view}");
        assert_eq!(view["hidden"], json!([]));
        assert_eq!(view["reports"][0]["status"], "open");
        assert!(
            view["reports"][0].get("item").is_none() && view["reports"][0].get("reason").is_none()
        );
        // The alert and the webhook are numbered by the report's own ledger entry: they were
        // written in its transaction (a later one would have appended its own entry).
        let (_, export) = server.get("/v1/children/kid/export").await;
        let made = export["ledger"]
            .as_array()
            .unwrap()
            .iter()
            .find(|entry| entry["kind"] == "report_made")
            .unwrap()["seq"]
            .as_i64()
            .unwrap();
        assert_eq!(alert.id, made.to_string());
        assert_eq!(received["id"], json!(format!("ward-{made}")));

        // Moderators: list, acknowledge, resolve; the child's list follows.
        let moderator = server.key("moderate").await;
        let (status, list) = server
            .call(
                Method::GET,
                "/v1/reports?status=open",
                Some(&moderator),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{list}");
        assert_eq!(list["reports"][0]["id"], report_id.as_str());
        let path = format!("/v1/reports/{report_id}/acknowledge");
        let (status, acknowledged) = server
            .call(Method::POST, &path, Some(&moderator), None)
            .await;
        assert_eq!(status, StatusCode::OK, "{acknowledged}");
        assert_eq!(acknowledged["status"], "acknowledged");
        let (_, state) = server.get("/v1/children/kid/feedback").await;
        assert_eq!(state["reports"][0]["status"], "acknowledged");
        let path = format!("/v1/reports/{report_id}/resolve");
        let (status, resolved) = server
            .call(
                Method::POST,
                &path,
                Some(&moderator),
                Some(json!({"outcome": "removed"})),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{resolved}");
        assert_eq!(resolved["outcome"], "removed");
        let (status, again) = server
            .call(
                Method::POST,
                &path,
                Some(&moderator),
                Some(json!({"outcome": "removed"})),
            )
            .await;
        assert_eq!(status, StatusCode::CONFLICT);
        assert_eq!(again["error"]["code"], "report_resolved");
        let (_, state) = server.get("/v1/children/kid/feedback").await;
        assert_eq!(state["reports"][0]["status"], "resolved");
        assert_eq!(state["reports"][0]["outcome"], "removed");
        // The evidence.
        let (_, summary) = server
            .call(Method::GET, "/v1/feedback/summary", Some(&moderator), None)
            .await;
        assert_eq!(summary["reports"], 1);
        assert_eq!(summary["resolved"], 1);
        assert_eq!(summary["by_reason"]["self_harm_or_suicide"], 1);
        assert_eq!(summary["time_to_resolve"]["n"], 1);
        let (_, export) = server.get("/v1/children/kid/export").await;
        let kinds: Vec<&str> = export["ledger"]
            .as_array()
            .unwrap()
            .iter()
            .map(|entry| entry["kind"].as_str().unwrap())
            .collect();
        assert_eq!(export["feedback"]["reports"][0]["status"], "resolved");
        assert_eq!(export["feedback"]["reports"][0]["item"]["id"], "clip-77");
        for kind in ["report_made", "report_acknowledged", "report_resolved"] {
            assert!(kinds.contains(&kind), "{kind} in {kinds:?}");
        }
    })
    .await;
}

#[tokio::test]
async fn an_overdue_report_alerts_once() {
    on_both("overdue report", |backend: Backend| async move {
        let server = Server::start(&backend, CLIPSTREAM).await;
        let secret = Arc::new(Mutex::new(String::new()));
        let seen = Arc::new(Mutex::new(Vec::new()));
        let url = receiver(secret.clone(), seen.clone()).await;
        let (_, hook) = server.post("/v1/webhooks", json!({"url": url})).await;
        *secret.lock().unwrap() = hook["secret"].as_str().unwrap().to_owned();
        server.child("kid", 14, "GB").await;
        let (_, answer) = server
            .post(
                "/v1/children/kid/feedback",
                json!({"item": video("p", "t", "s"), "kind": "report", "reason": "bullying"}),
            )
            .await;
        let report_id = answer["report"]["id"].as_str().unwrap().to_owned();
        // Not yet due (clipstream answers within 12 hours).
        server.state.sweep().await.unwrap();
        server.clock.advance(SignedDuration::from_hours(11));
        server.state.sweep().await.unwrap();
        server.clock.advance(SignedDuration::from_hours(2));
        server.state.sweep().await.unwrap();
        server.state.sweep().await.unwrap();
        let overdue = webhook(&seen, "report_overdue").await;
        assert_eq!(overdue["event"]["report"], report_id.as_str());
        // Once: one ledger entry (each alert is numbered by its own entry).
        let (_, export) = server.get("/v1/children/kid/export").await;
        let n_overdue = export["ledger"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|entry| entry["kind"] == "report_overdue")
            .count();
        assert_eq!(n_overdue, 1, "raised once");
        let (_, report) = server.get(&format!("/v1/reports/{report_id}")).await;
        assert_eq!(report["overdue"], true);
        let (_, summary) = server.get("/v1/feedback/summary").await;
        assert_eq!(summary["overdue_alerted"], 1);
    })
    .await;
}

#[tokio::test]
async fn not_for_me_through_one_node_changes_the_next_feed_on_another() {
    let Some(base) = postgres_url("feedback two nodes") else {
        eprintln!("skipped: WARD_TEST_DATABASE_URL is not set (two nodes need PostgreSQL)");
        return;
    };
    let backend = Backend::Postgres(fresh_schema(&base).await.unwrap());
    let node_a = Server::start(&backend, CLIPSTREAM).await;
    let node_b = node_a.another_node().await;
    node_a.child("kid", 14, "GB").await;
    let feed = [video("v1", "pranks", "chan-9"), video("v2", "pranks", "x")];
    // Node B caches the child as it filters.
    assert_eq!(codes(&filter(&node_b, "kid", &feed).await), [[""; 0]; 2]);
    let (status, _) = node_a
        .post(
            "/v1/children/kid/feedback",
            json!({"item": feed[0], "kind": "not_interested"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let started = Instant::now();
    loop {
        let found = filter(&node_b, "kid", &feed).await;
        if codes(&found)[1] == ["not_for_me_topic"] {
            assert_eq!(codes(&found)[0][0], "hidden_by_child");
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "node B still shows {found:?}"
        );
        tokio::task::yield_now().await;
    }
}

/// The child's `not_for_me` evidence, name by name (`kind:name`).
async fn evidence(server: &Server, child: &str) -> Vec<(String, Value)> {
    let (status, state) = server.get(&format!("/v1/children/{child}/feedback")).await;
    assert_eq!(status, StatusCode::OK, "{state}");
    state["not_for_me"]["names"]
        .as_array()
        .unwrap()
        .iter()
        .map(|record| {
            (
                format!(
                    "{}:{}",
                    record["kind"].as_str().unwrap(),
                    record["name"].as_str().unwrap()
                ),
                record.clone(),
            )
        })
        .collect()
}

fn counts(records: &[(String, Value)], name: &str) -> (u64, u64, u64, bool) {
    let (_, record) = records
        .iter()
        .find(|(key, _)| key == name)
        .unwrap_or_else(|| panic!("no record for {name} in {records:?}"));
    (
        record["held_back"].as_u64().unwrap(),
        record["shown_while_held"].as_u64().unwrap(),
        record["shown_after"].as_u64().unwrap(),
        record["held"].as_bool().unwrap(),
    )
}

#[tokio::test]
async fn the_evidence_counts_what_a_hold_kept_back_and_what_came_back_after_it() {
    on_both("not for me evidence", |backend: Backend| async move {
        let policy =
            format!("{CLIPSTREAM}\n").replace("[feed]\n", "[feed]\nfeedback_decay_days = 3\n");
        let server = Server::start(&backend, &policy).await;
        server.child("kid", 14, "GB").await;
        let feed = [
            video("v1", "pranks", "chan-9"),
            video("v2", "Pranks", "other"),
            video("v3", "football", "other"),
        ];
        // Before any "not for me": nothing is kept as evidence.
        filter(&server, "kid", &feed).await;
        assert_eq!(evidence(&server, "kid").await, []);
        let (status, _) = server
            .post(
                "/v1/children/kid/feedback",
                json!({"item": feed[0], "kind": "not_interested"}),
            )
            .await;
        assert_eq!(status, StatusCode::OK);
        // Recorded at the hide, before the recommender offers it again.
        assert_eq!(
            counts(&evidence(&server, "kid").await, "topic:pranks"),
            (0, 0, 0, true)
        );
        for _ in 0..2 {
            filter(&server, "kid", &feed).await;
        }
        let records = evidence(&server, "kid").await;
        // Each feed held back v1 and v2 for the topic, v1 for the source; none got through.
        assert_eq!(counts(&records, "topic:pranks"), (4, 0, 0, true));
        assert_eq!(counts(&records, "source:chan-9"), (2, 0, 0, true));
        assert!(records.iter().all(|(key, _)| !key.contains("football")));
        let (_, first) = records.iter().find(|(key, _)| key == "topic:pranks").unwrap();
        assert!(first["first_held_back"].is_string() && first["released_at"].is_null());

        // The child releases the topic from their list: v2 comes back, v1 stays hidden.
        let (status, released) = server
            .post(
                "/v1/children/kid/feedback/release",
                json!({"kind": "topic", "name": "PRANKS"}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{released}");
        assert_eq!(released["released"], json!(["topic:pranks"]));
        assert_eq!(
            codes(&filter(&server, "kid", &feed).await),
            [vec!["hidden_by_child", "not_for_me_source"], vec![], vec![]]
        );
        let records = evidence(&server, "kid").await;
        assert_eq!(counts(&records, "topic:pranks"), (4, 0, 1, false));
        assert_eq!(counts(&records, "source:chan-9"), (3, 0, 0, true));
        // After the decay the source may return, and that is counted as after the hold.
        server.clock.advance(SignedDuration::from_hours(3 * 24 + 1));
        let later = [video("v4", "cooking", "chan-9")];
        assert_eq!(codes(&filter(&server, "kid", &later).await), [[""; 0]; 1]);
        let records = evidence(&server, "kid").await;
        assert_eq!(counts(&records, "source:chan-9"), (3, 0, 1, false));

        // The export, the summary and `/metrics` carry it too.
        let (_, export) = server.get("/v1/children/kid/export").await;
        assert_eq!(export["feedback"]["not_for_me"]["held_back"], 7);
        assert_eq!(export["feedback"]["not_for_me"]["shown_while_held"], 0);
        assert_eq!(export["feedback"]["not_for_me"]["shown_after"], 2);
        let (_, summary) = server.get("/v1/feedback/summary").await;
        assert_eq!(
            summary["not_for_me"],
            json!({"held_back": 7, "shown_while_held": 0, "shown_after": 2, "scope": "this_node_since_start"})
        );
        let metrics = server
            .client
            .get(format!("{}/metrics", server.base))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        for line in [
            "feedback_not_for_me_items_total{outcome=\"held_back\"} 7",
            "feedback_not_for_me_items_total{outcome=\"shown_while_held\"} 0",
            "feedback_not_for_me_items_total{outcome=\"shown_after\"} 2",
        ] {
            assert!(metrics.contains(line), "{line} in {metrics}");
        }
        // A parent never sees it.
        server.put("/v1/children/kid/parents/mum", json!({})).await;
        let mum = server.key("parent:mum").await;
        let (_, view) = server
            .call(Method::GET, "/v1/children/kid/feedback", Some(&mum), None)
            .await;
        assert!(view.get("not_for_me").is_none(), "{view}");
        // Releasing what is not held is refused, and changes nothing.
        let (status, answer) = server
            .post(
                "/v1/children/kid/feedback/release",
                json!({"kind": "tag", "name": "pranks"}),
            )
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{answer}");
        assert_eq!(answer["error"]["code"], "not_held");
        for bad in [
            json!({"kind": "topic", "name": " "}),
            json!({"kind": "topic", "name": "x".repeat(129)}),
            json!({"kind": "colour", "name": "red"}),
        ] {
            let (status, answer) = server.post("/v1/children/kid/feedback/release", bad).await;
            assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{answer}");
        }

        // Kept with the drift state (written behind on one node, through when shared), so a
        // node started afterwards reads the same counts.
        server.state.drifts().flush(server.state.store()).await.unwrap();
        let node_b = server.another_node().await;
        node_b.clock.advance(SignedDuration::from_hours(3 * 24 + 1));
        let records = evidence(&node_b, "kid").await;
        assert_eq!(counts(&records, "topic:pranks"), (4, 0, 1, false));
        assert_eq!(counts(&records, "source:chan-9"), (3, 0, 1, false));
        let kinds: Vec<String> = export["ledger"]
            .as_array()
            .unwrap()
            .iter()
            .map(|entry| entry["kind"].as_str().unwrap().to_owned())
            .collect();
        assert!(kinds.contains(&"held_released".to_owned()), "{kinds:?}");
    })
    .await;
}

#[tokio::test]
async fn a_policy_that_lets_parents_see_the_reason_shows_it_and_never_the_item() {
    on_both("parents see reason", |backend: Backend| async move {
        let policy = CLIPSTREAM.replace(
            "report_sla_hours = 12\n",
            "report_sla_hours = 12\nparents_see_reason = true\n",
        );
        assert_ne!(policy, CLIPSTREAM);
        let server = Server::start(&backend, &policy).await;
        server.child("kid", 14, "GB").await;
        server.put("/v1/children/kid/parents/mum", json!({})).await;
        let mum = server.key("parent:mum").await;
        let mut stream = server.alerts("mum", &mum, None).await;
        let item = video("clip-9", "dares", "chan-x");
        let (status, _) = server
            .post(
                "/v1/children/kid/feedback",
                json!({"item": item, "kind": "report", "reason": "bullying"}),
            )
            .await;
        assert_eq!(status, StatusCode::OK);
        let alert = stream.next().await;
        assert_eq!(alert.event, "report_received");
        let text = alert.data.to_string();
        assert!(text.contains("bullying"), "{text}");
        assert!(
            !text.contains("clip-9") && !text.contains("dares"),
            "{text}"
        );
        let (_, view) = server
            .call(Method::GET, "/v1/children/kid/feedback", Some(&mum), None)
            .await;
        assert_eq!(view["reports"][0]["reason"], "bullying");
        assert!(view["reports"][0].get("item").is_none(), "{view}");
    })
    .await;
}
