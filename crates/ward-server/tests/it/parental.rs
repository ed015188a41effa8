//! Parental controls over HTTP: linking, controls, usage reaching the limit and bedtime (time
//! passed in), blocks in the feed guard, consent answered by the second of two parents, the
//! alert stream resumed with `Last-Event-ID`, and signed webhooks.

use std::sync::{Arc, Mutex};

use axum::http::HeaderMap;
use jiff::SignedDuration;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use ward_server::webhooks::{SIGNATURE_HEADER, TIMESTAMP_HEADER, verify};

use crate::support::{Backend, CLIPSTREAM, Server, at, on_both, reason};

pub(crate) async fn link(server: &Server, child: &str, parent: &str) {
    let (status, body) = server
        .call(
            Method::PUT,
            &format!("/v1/children/{child}/parents/{parent}"),
            Some(&server.admin),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
}

#[tokio::test]
async fn a_consent_request_reaches_both_parents_and_the_second_answers_it() {
    on_both("two parents", |backend: Backend| async move {
        let server = Server::start(&backend, CLIPSTREAM).await;
        server.child("kid", 10, "GB").await;
        link(&server, "kid", "mum").await;
        link(&server, "kid", "dad").await;
        let (mum, dad) = (
            server.key("parent:mum").await,
            server.key("parent:dad").await,
        );
        let mut mums_alerts = server.alerts("mum", &mum, None).await;
        let mut dads_alerts = server.alerts("dad", &dad, None).await;
        let intervention = server.request_on("kid", "recommend-videos").await;
        let (_, acknowledged) = server.acknowledge(&intervention).await;
        assert_eq!(acknowledged["no_parent_linked"], false);
        let request_id = acknowledged["request"]["id"].as_str().unwrap().to_owned();

        for stream in [&mut mums_alerts, &mut dads_alerts] {
            // The setting went to pending_parent, then the request was raised.
            let changed = stream.next().await;
            assert_eq!(changed.event, "setting_changed");
            let requested = stream.next().await;
            assert_eq!(requested.event, "consent_requested");
            assert_eq!(requested.data["child"], "kid");
            assert_eq!(requested.data["parents"], json!(["mum", "dad"]));
            assert_eq!(
                requested.data["event"]["request"]["explain"], intervention["explain"],
                "the parent sees exactly what the child saw"
            );
        }
        let (status, body) = server
            .call(
                Method::POST,
                &format!("/v1/consent-requests/{request_id}/approve"),
                Some(&dad),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["child"]["settings"][0]["consent"]["parent"], "dad");
        let (status, body) = server
            .call(
                Method::POST,
                &format!("/v1/consent-requests/{request_id}/deny"),
                Some(&mum),
                None,
            )
            .await;
        assert_eq!(
            status,
            StatusCode::CONFLICT,
            "the first answer stands: {body}"
        );
        assert_eq!(
            reason(&server.decide("kid", "recommend-videos").await),
            "setting_on"
        );
        let (_, request) = server
            .get(&format!("/v1/consent-requests/{request_id}"))
            .await;
        assert_eq!(request["status"], "approved");
        assert_eq!(request["answered_by"], "dad");
    })
    .await;
}

#[tokio::test]
async fn a_parent_sets_controls_for_their_own_child_only() {
    on_both("controls", |backend: Backend| async move {
        let server = Server::start(&backend, CLIPSTREAM).await;
        server.child("kid", 10, "GB").await;
        server.child("other", 10, "GB").await;
        link(&server, "kid", "mum").await;
        let mum = server.key("parent:mum").await;
        let controls = json!({"daily_minutes": 60, "bedtime": "20:30-07:00", "blocked_tags": ["gambling"], "blocked_topics": ["horror"], "blocked_sources": ["spammy-channel"]});
        let (status, body) = server
            .call(Method::PUT, "/v1/children/kid/controls", Some(&mum), Some(controls.clone()))
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["controls"], controls);
        let (status, body) = server
            .call(Method::PUT, "/v1/children/other/controls", Some(&mum), Some(controls.clone()))
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
        let (status, body) = server
            .call(Method::PUT, "/v1/children/kid/controls", Some(&mum), Some(json!({"bedtime": "25:00-07:00"})))
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        let (status, body) = server
            .call(Method::PUT, "/v1/children/kid/controls", Some(&mum), Some(json!({"daily_minutes": 5000})))
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    })
    .await;
}

#[tokio::test]
async fn usage_reaching_the_limit_and_bedtime_each_alert_once_a_local_day() {
    on_both("usage", |backend: Backend| async move {
        let server = Server::start(&backend, CLIPSTREAM).await;
        // 18:00 in London on 2 March 2026 (GMT).
        server.clock.set(at("2026-03-02T18:00:00Z"));
        server.child("kid", 10, "GB").await;
        link(&server, "kid", "mum").await;
        let mum = server.key("parent:mum").await;
        server
            .call(Method::PUT, "/v1/children/kid/controls", Some(&mum), Some(json!({"daily_minutes": 60, "bedtime": "20:30-07:00"})))
            .await;
        let mut alerts = server.alerts("mum", &mum, None).await;
        let usage = |minutes: u32| {
            let server = &server;
            async move {
                let (status, body) = server
                    .post("/v1/children/kid/usage", json!({"minutes_today": minutes}))
                    .await;
                assert_eq!(status, StatusCode::OK, "{body}");
                body
            }
        };
        let answer = usage(45).await;
        assert_eq!(answer, json!({"minutes_left": 15, "limit_reached": false, "bedtime": false, "alerts_raised": []}));
        let answer = usage(60).await;
        assert_eq!(answer["limit_reached"], true);
        assert_eq!(answer["alerts_raised"], json!(["limit_reached"]));
        let answer = usage(75).await;
        assert_eq!(answer["alerts_raised"], json!([]), "once a local day");
        let limit = alerts.next().await;
        assert_eq!(limit.event, "limit_reached");

        server.clock.set(at("2026-03-02T20:45:00Z"));
        let answer = usage(80).await;
        assert_eq!(answer["bedtime"], true);
        assert_eq!(answer["alerts_raised"], json!(["bedtime"]));
        assert_eq!(alerts.next().await.event, "bedtime");
        // After midnight it is the same night: no new bedtime alert.
        server.clock.advance(SignedDuration::from_hours(4));
        let answer = usage(0).await;
        assert_eq!(answer["bedtime"], true);
        assert_eq!(answer["alerts_raised"], json!([]));
        // The next evening is a new day and a new night.
        server.clock.set(at("2026-03-03T21:00:00Z"));
        let answer = usage(60).await;
        assert_eq!(answer["alerts_raised"], json!(["limit_reached", "bedtime"]));
    })
    .await;
}

#[tokio::test]
async fn a_parents_blocks_remove_items_from_the_feed_and_alert_once() {
    on_both("blocks", |backend: Backend| async move {
        let server = Server::start(&backend, CLIPSTREAM).await;
        server.child("kid", 11, "GB").await;
        link(&server, "kid", "mum").await;
        let mum = server.key("parent:mum").await;
        server
            .call(Method::PUT, "/v1/children/kid/controls", Some(&mum), Some(json!({"blocked_topics": ["horror"], "blocked_sources": ["spammy-channel"]})))
            .await;
        let mut alerts = server.alerts("mum", &mum, None).await;
        let items = json!([
            {"id": "ok", "kind": "video", "ratings": {"bbfc": "PG"}, "topics": ["football"], "assessed": true},
            {"id": "scary", "kind": "video", "ratings": {"bbfc": "PG"}, "topics": ["horror"], "assessed": true},
            {"id": "spam", "kind": "video", "ratings": {"bbfc": "U"}, "source": "spammy-channel", "assessed": true},
            {"id": "rated-15", "kind": "video", "ratings": {"bbfc": "15"}, "assessed": true},
        ]);
        let (status, body) = server
            .post("/v1/feed/filter", json!({"child": "kid", "items": items, "explain": true}))
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["kept"], json!(["ok"]));
        let removed: Vec<(&str, Vec<&str>)> = body["removed"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                let codes = r["reasons"].as_array().unwrap().iter().map(|x| x["code"].as_str().unwrap()).collect();
                (r["id"].as_str().unwrap(), codes)
            })
            .collect();
        assert_eq!(removed, vec![("scary", vec!["parent_blocked_topic"]), ("spam", vec!["parent_blocked_source"]), ("rated-15", vec!["age_rating"])]);
        assert!(body["why_shown"]["ok"].as_array().is_some_and(|why| !why.is_empty()), "{body}");
        assert_eq!(body["age"], 11);
        let blocked = alerts.next().await;
        assert_eq!(blocked.event, "blocked_content");
        assert_eq!(blocked.data["event"]["items"], 2);
        // The same again the same day: filtered, not alerted again, and the child not even
        // written (a write per feed would be a durable commit per feed).
        let version = |server: &Server| {
            let state = server.state.clone();
            async move {
                let id = ward_core::ids::ChildId::parse("kid").unwrap();
                ward_store::Store::child(state.store(), &id).await.unwrap().unwrap().version
            }
        };
        let before = version(&server).await;
        let (status, _) = server.post("/v1/feed/filter", json!({"child": "kid", "items": items})).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(version(&server).await, before, "a feed that raises no alert writes nothing");
        let (_, export) = server.get("/v1/children/kid/export").await;
        let kinds: Vec<&str> = export["ledger"].as_array().unwrap().iter().map(|e| e["kind"].as_str().unwrap()).collect();
        assert_eq!(kinds.iter().filter(|k| **k == "blocked_content").count(), 1, "{kinds:?}");
        assert!(export["drift"]["report"]["window_items"].as_u64().is_some(), "{}", export["drift"]);
        // The next local day, the first feed with blocked items alerts again (the hot path
        // skips the write only while its cached child says today's alert was raised).
        server.clock.advance(SignedDuration::from_hours(24));
        let (status, _) = server.post("/v1/feed/filter", json!({"child": "kid", "items": items})).await;
        assert_eq!(status, StatusCode::OK);
        let blocked = alerts.next().await;
        assert_eq!(blocked.event, "blocked_content");
        let (_, export) = server.get("/v1/children/kid/export").await;
        let kinds: Vec<&str> = export["ledger"].as_array().unwrap().iter().map(|e| e["kind"].as_str().unwrap()).collect();
        assert_eq!(kinds.iter().filter(|k| **k == "blocked_content").count(), 2, "{kinds:?}");
    })
    .await;
}

#[tokio::test]
async fn a_reconnecting_stream_gets_exactly_the_alerts_it_missed() {
    on_both("sse resume", |backend: Backend| async move {
        let server = Server::start(&backend, CLIPSTREAM).await;
        server.child("kid", 9, "GB").await;
        link(&server, "kid", "mum").await;
        let mum = server.key("parent:mum").await;
        let mut stream = server.alerts("mum", &mum, None).await;
        let (status, _) = server
            .post(
                "/v1/children/kid/settings/remember-subtitles",
                json!({"value": "off"}),
            )
            .await;
        assert_eq!(status, StatusCode::OK);
        let first = stream.next().await;
        assert_eq!(first.event, "setting_changed");
        drop(stream);

        // Two more alerts while disconnected.
        link(&server, "kid", "dad").await;
        let intervention = server.request_on("kid", "remember-subtitles").await;
        let (status, _) = server.acknowledge(&intervention).await;
        assert_eq!(status, StatusCode::OK);

        let mut resumed = server.alerts("mum", &mum, Some(&first.id)).await;
        let missed = [resumed.next().await, resumed.next().await];
        assert_eq!(
            missed.iter().map(|e| e.event.as_str()).collect::<Vec<_>>(),
            ["parent_linked", "setting_changed"]
        );
        assert!(missed[0].id.parse::<i64>().unwrap() > first.id.parse::<i64>().unwrap());
        // And then live ones, in order, nothing repeated.
        let (status, _) = server
            .post(
                "/v1/children/kid/settings/remember-subtitles",
                json!({"value": "off"}),
            )
            .await;
        assert_eq!(status, StatusCode::OK);
        let live = resumed.next().await;
        assert_eq!(live.event, "setting_changed");
        assert!(live.id.parse::<i64>().unwrap() > missed[1].id.parse::<i64>().unwrap());
        // A parent cannot read another parent's stream.
        let (status, _) = server
            .call(Method::GET, "/v1/parents/dad/alerts", Some(&mum), None)
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN);
    })
    .await;
}

/// A receiver that checks each delivery's signature and records the event ids it accepted.
pub(crate) async fn receiver(
    secret: Arc<Mutex<String>>,
    seen: Arc<Mutex<Vec<(String, Value)>>>,
) -> String {
    use axum::routing::post;
    let app = axum::Router::new().route(
        "/hook",
        post(move |headers: HeaderMap, body: String| {
            let (secret, seen) = (secret.clone(), seen.clone());
            async move {
                let header = |name: &str| {
                    headers
                        .get(name)
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or("")
                        .to_owned()
                };
                let now = jiff::Timestamp::now().as_second();
                let secret = secret.lock().unwrap().clone();
                if verify(
                    &secret,
                    &header(TIMESTAMP_HEADER),
                    &header(SIGNATURE_HEADER),
                    &body,
                    now,
                    300,
                )
                .is_err()
                {
                    return StatusCode::UNAUTHORIZED;
                }
                seen.lock().unwrap().push((
                    header("ward-event-id"),
                    serde_json::from_str(&body).unwrap(),
                ));
                StatusCode::NO_CONTENT
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    url
}

#[tokio::test]
async fn the_service_receives_every_alert_signed_through_its_webhook() {
    on_both("webhook", |backend: Backend| async move {
        let server = Server::start(&backend, CLIPSTREAM).await;
        let secret = Arc::new(Mutex::new(String::new()));
        let seen = Arc::new(Mutex::new(Vec::new()));
        let url = receiver(secret.clone(), seen.clone()).await;
        let (status, hook) = server.post("/v1/webhooks", json!({"url": url})).await;
        assert_eq!(status, StatusCode::CREATED, "{hook}");
        *secret.lock().unwrap() = hook["secret"].as_str().unwrap().to_owned();

        server.child("kid", 10, "GB").await;
        let intervention = server.request_on("kid", "recommend-videos").await;
        let (_, acknowledged) = server.acknowledge(&intervention).await;
        assert_eq!(acknowledged["result"], "pending_parent");
        // Two alerts: the setting went pending, and a request waits with no parent linked.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while seen.lock().unwrap().len() < 2 {
            assert!(
                std::time::Instant::now() < deadline,
                "webhooks did not arrive"
            );
            tokio::task::yield_now().await;
        }
        let seen = seen.lock().unwrap().clone();
        let requested = seen
            .iter()
            .find(|(_, body)| body["type"] == "consent_requested")
            .unwrap();
        assert_eq!(requested.1["no_parent_linked"], true);
        assert_eq!(requested.0, requested.1["id"].as_str().unwrap());
        let (_, log) = server.get("/v1/webhooks/deliveries").await;
        assert!(
            log["deliveries"]
                .as_array()
                .unwrap()
                .iter()
                .all(|d| d["delivered"] == true),
            "{log}"
        );
        let (_, listed) = server.get("/v1/webhooks").await;
        assert!(
            !listed.to_string().contains("whsec_"),
            "secrets are never listed"
        );
    })
    .await;
}

#[tokio::test]
async fn resetting_recommendations_clears_drift_and_tells_the_service() {
    on_both("profile reset", |backend: Backend| async move {
        let server = Server::start(&backend, CLIPSTREAM).await;
        let secret = Arc::new(Mutex::new(String::new()));
        let seen = Arc::new(Mutex::new(Vec::new()));
        let url = receiver(secret.clone(), seen.clone()).await;
        let (_, hook) = server.post("/v1/webhooks", json!({"url": url})).await;
        *secret.lock().unwrap() = hook["secret"].as_str().unwrap().to_owned();
        server.child("kid", 12, "GB").await;
        let (status, _) = server
            .call(Method::PUT, "/v1/children/kid/interests", Some(&server.admin), Some(json!({"interests": ["football"]})))
            .await;
        assert_eq!(status, StatusCode::OK);
        let items: Vec<Value> = (0..5)
            .map(|n| json!({"id": format!("v{n}"), "kind": "video", "ratings": {"bbfc": "U"}, "topics": ["football"], "assessed": true}))
            .collect();
        server.post("/v1/feed/filter", json!({"child": "kid", "items": items})).await;
        let (_, before) = server.get("/v1/children/kid/export").await;
        assert_eq!(before["drift"]["report"]["window_items"], 5, "{}", before["drift"]);

        let (status, body) = server
            .post("/v1/children/kid/profile-reset", json!({"setting": "recommend-videos"}))
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let (_, after) = server.get("/v1/children/kid/export").await;
        assert_eq!(after["drift"]["report"]["window_items"], 0, "{}", after["drift"]);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            let found = seen.lock().unwrap().iter().any(|(_, body)| {
                body["type"] == "profile_reset" && body["event"]["purpose"] == "recommend-videos"
            });
            if found {
                break;
            }
            assert!(std::time::Instant::now() < deadline, "the service never heard of the reset");
            tokio::task::yield_now().await;
        }
        let (status, body) = server
            .post("/v1/children/kid/profile-reset", json!({"setting": "no-such-setting"}))
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    })
    .await;
}
