//! What a child's state shows (`GET`, the alerts) and what `decide` answers agree over HTTP:
//! a consent given at 14 and an age record of 11 (issue 12's example) end with a parent asked
//! and able to approve; the last parent unlinked tells the service the request waits for
//! nobody, and a parent linked later can answer it; a request expiring is off in `decide` at
//! once, without waiting for the sweeper.

use std::sync::{Arc, Mutex};

use jiff::SignedDuration;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::parental::{link, receiver};
use crate::support::{Backend, CLIPSTREAM, Server, on_both, reason};

/// The child's `recommend-videos` setting as `GET` shows it.
async fn shown(server: &Server, child: &str) -> (Value, Value) {
    let (status, body) = server.get(&format!("/v1/children/{child}")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let setting = body["settings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == "recommend-videos")
        .unwrap()
        .clone();
    (setting, body)
}

#[tokio::test]
async fn a_child_who_consented_at_14_and_is_re_recorded_as_11_waits_for_a_parent_who_can_approve() {
    on_both("age correction", |backend: Backend| async move {
        let server = Server::start(&backend, CLIPSTREAM).await;
        server.child("kid", 14, "GB").await;
        link(&server, "kid", "mum").await;
        let mum = server.key("parent:mum").await;
        let intervention = server.request_on("kid", "recommend-videos").await;
        let (status, acknowledged) = server.acknowledge(&intervention).await;
        assert_eq!(
            (status, &acknowledged["result"]),
            (StatusCode::OK, &json!("on")),
            "{acknowledged}"
        );
        assert_eq!(
            reason(&server.decide("kid", "recommend-videos").await),
            "setting_on"
        );
        let (setting, _) = shown(&server, "kid").await;
        assert_eq!(setting["consent"]["given_by"], "user");
        assert_eq!(setting["consent"]["live"], true);
        let mut alerts = server.alerts("mum", &mum, None).await;

        // A verified age replaces the declared one: 11, below Britain's consent age of 13.
        let (status, body) = server
            .put(
                "/v1/children/kid",
                json!({"age": {"method": "verified", "age": 11}}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        for state in [body, shown(&server, "kid").await.1] {
            let setting = state["settings"]
                .as_array()
                .unwrap()
                .iter()
                .find(|s| s["id"] == "recommend-videos")
                .unwrap();
            assert_eq!(setting["effective"], "pending_parent", "{state}");
            assert_eq!(setting["preferred"], "on");
            assert_eq!(
                setting["consent"],
                Value::Null,
                "the child's own consent ended"
            );
            let requests = state["pending_requests"].as_array().unwrap();
            assert_eq!(requests.len(), 1, "{state}");
            assert_eq!(requests[0]["cause"], "consent_age");
            assert_eq!(requests[0]["no_parent_linked"], false);
        }
        assert_eq!(
            reason(&server.decide("kid", "recommend-videos").await),
            "awaiting_parent"
        );

        // The parent hears of it, with the texts an 11-year-old is shown.
        let changed = alerts.next().await;
        assert_eq!(changed.event, "setting_changed", "{:?}", changed.data);
        assert_eq!(changed.data["event"]["to"], "pending_parent");
        let requested = alerts.next().await;
        assert_eq!(requested.event, "consent_requested");
        assert_eq!(requested.data["parents"], json!(["mum"]));
        assert_eq!(requested.data["no_parent_linked"], false);
        let request = &requested.data["event"]["request"];
        assert_eq!(request["cause"], "consent_age");
        assert!(
            request["explain"]
                .as_str()
                .unwrap()
                .starts_with("Switching this on lets us use your watch history"),
            "the 10-12 band's words: {request}"
        );
        let request_id = request["id"].as_str().unwrap();
        let (_, row) = server
            .get(&format!("/v1/consent-requests/{request_id}"))
            .await;
        assert_eq!(row["status"], "pending", "{row}");

        let (status, body) = server
            .call(
                Method::POST,
                &format!("/v1/consent-requests/{request_id}/approve"),
                Some(&mum),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let (setting, _) = shown(&server, "kid").await;
        assert_eq!(setting["effective"], "on");
        assert_eq!(setting["consent"]["given_by"], "parent");
        assert_eq!(setting["consent"]["parent"], "mum");
        assert_eq!(setting["consent"]["live"], true);
        assert_eq!(
            reason(&server.decide("kid", "recommend-videos").await),
            "setting_on"
        );

        let (_, export) = server.get("/v1/children/kid/export").await;
        let kinds: Vec<&str> = export["ledger"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["kind"].as_str().unwrap())
            .collect();
        for kind in ["consent_withdrawn", "consent_requested", "consent_given"] {
            assert!(kinds.contains(&kind), "{kind} missing from {kinds:?}");
        }
        let (_, verdict) = server.get("/v1/ledger/verify").await;
        assert_eq!(verdict["ok"], true);
    })
    .await;
}

#[tokio::test]
async fn unlinking_the_last_parent_tells_the_service_and_a_parent_linked_later_can_answer() {
    on_both("last parent unlinked", |backend: Backend| async move {
        let server = Server::start(&backend, CLIPSTREAM).await;
        let secret = Arc::new(Mutex::new(String::new()));
        let seen = Arc::new(Mutex::new(Vec::new()));
        let url = receiver(secret.clone(), seen.clone()).await;
        let (_, hook) = server.post("/v1/webhooks", json!({"url": url})).await;
        *secret.lock().unwrap() = hook["secret"].as_str().unwrap().to_owned();

        server.child("kid", 10, "GB").await;
        link(&server, "kid", "mum").await;
        let intervention = server.request_on("kid", "recommend-videos").await;
        let (_, acknowledged) = server.acknowledge(&intervention).await;
        assert_eq!(acknowledged["no_parent_linked"], false);
        let request_id = acknowledged["request"]["id"].as_str().unwrap().to_owned();

        let (status, body) = server
            .call(
                Method::DELETE,
                "/v1/children/kid/parents/mum",
                Some(&server.admin),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        // The service is told, the way it is told of a request made with no parent linked.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        let told = loop {
            let told = seen.lock().unwrap().iter().find_map(|(_, body)| {
                (body["type"] == "consent_requested"
                    && body["no_parent_linked"] == true
                    && body["event"]["request"]["id"] == request_id.as_str())
                .then(|| body.clone())
            });
            if let Some(told) = told {
                break told;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "the service never heard: {:?}",
                seen.lock().unwrap()
            );
            tokio::task::yield_now().await;
        };
        assert_eq!(told["parents"], json!([]));
        let (setting, state) = shown(&server, "kid").await;
        assert_eq!(setting["effective"], "pending_parent");
        assert_eq!(state["supervised"], false);
        assert_eq!(state["pending_requests"][0]["no_parent_linked"], true);
        let (_, row) = server
            .get(&format!("/v1/consent-requests/{request_id}"))
            .await;
        assert_eq!(
            (&row["status"], &row["request"]["no_parent_linked"]),
            (&json!("pending"), &json!(true)),
            "{row}"
        );
        assert_eq!(
            reason(&server.decide("kid", "recommend-videos").await),
            "awaiting_parent"
        );
        let mum = server.key("parent:mum").await;
        let (status, _) = server
            .call(
                Method::POST,
                &format!("/v1/consent-requests/{request_id}/approve"),
                Some(&mum),
                None,
            )
            .await;
        // To a parent no longer linked, the request is as if it did not exist (no oracle).
        assert_eq!(
            status,
            StatusCode::NOT_FOUND,
            "an unlinked parent cannot answer"
        );

        // The service invites another parent, who is asked and answers.
        let dad = server.key("parent:dad").await;
        let mut dads_alerts = server.alerts("dad", &dad, None).await;
        link(&server, "kid", "dad").await;
        assert_eq!(dads_alerts.next().await.event, "parent_linked");
        let asked = dads_alerts.next().await;
        assert_eq!(asked.event, "consent_requested");
        assert_eq!(asked.data["no_parent_linked"], false);
        assert_eq!(asked.data["event"]["request"]["id"], request_id.as_str());
        let (status, body) = server
            .call(
                Method::POST,
                &format!("/v1/consent-requests/{request_id}/approve"),
                Some(&dad),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(
            reason(&server.decide("kid", "recommend-videos").await),
            "setting_on"
        );
    })
    .await;
}

#[tokio::test]
async fn a_request_that_expires_is_off_in_decide_at_once_as_get_shows_it() {
    on_both("expiry agrees", |backend: Backend| async move {
        let server = Server::start(&backend, CLIPSTREAM).await;
        server.child("kid", 10, "GB").await;
        let intervention = server.request_on("kid", "recommend-videos").await;
        server.acknowledge(&intervention).await;
        // Decided once, so the hot path holds the child.
        assert_eq!(
            reason(&server.decide("kid", "recommend-videos").await),
            "awaiting_parent"
        );
        server.clock.advance(SignedDuration::from_hours(24 * 7));
        // No sweep has run: what `GET` shows and what `decide` answers are the same anyway.
        let (setting, state) = shown(&server, "kid").await;
        assert_eq!(setting["effective"], "off", "{state}");
        assert_eq!(
            reason(&server.decide("kid", "recommend-videos").await),
            "setting_off"
        );
        // The sweep then writes it down, and nothing changes.
        server.state.sweep().await.unwrap();
        assert_eq!(
            reason(&server.decide("kid", "recommend-videos").await),
            "setting_off"
        );
        let (setting, _) = shown(&server, "kid").await;
        assert_eq!(setting["effective"], "off");
    })
    .await;
}
