//! A child's life over HTTP: creation, the switch-on intervention, a parent's consent,
//! one-step switch-off, `decide` and its batch, session end, expiry, export and erasure.

use jiff::SignedDuration;
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::support::{Backend, CLIPSTREAM, QUESTWORLD, Server, on_both, reason};

#[tokio::test]
async fn a_child_is_created_then_updated_and_reads_back() {
    on_both("create child", |backend: Backend| async move {
        let server = Server::start(&backend, CLIPSTREAM).await;
        let created = server.child("kid-1", 10, "GB").await;
        assert_eq!(created["band"], "10-12");
        assert_eq!(created["age"], 10);
        assert_eq!(created["needs_parent"], true);
        assert_eq!(created["profile"], "private");
        assert_eq!(created["geolocation"], "off");
        assert_eq!(created["supervised"], false);
        let settings = created["settings"].as_array().unwrap();
        assert_eq!(settings[0]["id"], "recommend-videos");
        assert_eq!(settings[0]["effective"], "off", "off by default");
        assert_eq!(
            settings[1]["effective"], "on",
            "on by default for a compelling reason"
        );

        let (status, updated) = server
            .put("/v1/children/kid-1", json!({"time_zone": "Europe/London"}))
            .await;
        assert_eq!(status, StatusCode::OK, "{updated}");
        assert_eq!(updated["time_zone"], "Europe/London");
        let (status, read) = server.get("/v1/children/kid-1").await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(read["time_zone"], "Europe/London");
        assert_eq!(read["age"], 10);
    })
    .await;
}

#[tokio::test]
async fn an_eleven_year_old_needs_a_parent_to_switch_recommendations_on() {
    on_both("parental consent", |backend: Backend| async move {
        let server = Server::start(&backend, CLIPSTREAM).await;
        server.child("kid-11", 11, "GB").await;
        let intervention = server.request_on("kid-11", "recommend-videos").await;
        assert_eq!(intervention["band"], "10-12");
        assert!(intervention["explain"].as_str().unwrap().contains("watch history"));
        assert!(!intervention["ask_adult"].as_str().unwrap().is_empty());
        assert_eq!(intervention["required"], json!(["acknowledge", "parental_consent"]));
        assert_eq!(
            reason(&server.decide("kid-11", "recommend-videos").await),
            "setting_off",
            "an intervention changes nothing"
        );

        let (status, acknowledged) = server.acknowledge(&intervention).await;
        assert_eq!(status, StatusCode::ACCEPTED, "{acknowledged}");
        assert_eq!(acknowledged["result"], "pending_parent");
        assert_eq!(acknowledged["no_parent_linked"], true);
        assert_eq!(
            reason(&server.decide("kid-11", "recommend-videos").await),
            "awaiting_parent"
        );

        // The service links a parent; the waiting request now reaches them.
        let (status, linked) = server
            .call(Method::PUT, "/v1/children/kid-11/parents/mum", Some(&server.admin), None)
            .await;
        assert_eq!(status, StatusCode::CREATED, "{linked}");
        assert_eq!(linked["supervised"], true);
        let request_id = acknowledged["request"]["id"].as_str().unwrap().to_owned();
        let mum = server.key("parent:mum").await;
        let (status, approved) = server
            .call(
                Method::POST,
                &format!("/v1/consent-requests/{request_id}/approve"),
                Some(&mum),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{approved}");
        let setting = &approved["child"]["settings"][0];
        assert_eq!(setting["effective"], "on");
        assert_eq!(setting["consent"]["given_by"], "parent");
        assert_eq!(setting["consent"]["parent"], "mum");
        assert_eq!(setting["consent"]["method"], "email_plus");

        let decision = server.decide("kid-11", "recommend-videos").await;
        assert_eq!(decision, json!({"allow": true, "reasons": ["setting_on"], "obligations": [{"kind": "filter_feed", "age": 11}]}));

        // The request is answered once: a second answer is refused.
        let (status, again) = server
            .call(
                Method::POST,
                &format!("/v1/consent-requests/{request_id}/deny"),
                Some(&mum),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::CONFLICT, "{again}");
        assert_eq!(again["error"]["code"], "consent_request_not_pending");
    })
    .await;
}

#[tokio::test]
async fn switching_off_is_one_step_and_withdraws_consent() {
    on_both("switch off", |backend: Backend| async move {
        let server = Server::start(&backend, CLIPSTREAM).await;
        server.child("kid-14", 14, "GB").await;
        let intervention = server.request_on("kid-14", "recommend-videos").await;
        assert_eq!(
            intervention["required"],
            json!(["acknowledge"]),
            "14 in GB consents"
        );
        let (status, acknowledged) = server.acknowledge(&intervention).await;
        assert_eq!(status, StatusCode::OK, "{acknowledged}");
        assert_eq!(
            acknowledged["child"]["settings"][0]["consent"]["given_by"],
            "user"
        );
        assert_eq!(
            reason(&server.decide("kid-14", "recommend-videos").await),
            "setting_on"
        );

        let (status, off) = server
            .post(
                "/v1/children/kid-14/settings/recommend-videos",
                json!({"value": "off"}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{off}");
        assert_eq!(off["settings"][0]["effective"], "off");
        assert_eq!(off["settings"][0]["consent"], json!(null));
        assert_eq!(
            reason(&server.decide("kid-14", "recommend-videos").await),
            "setting_off"
        );

        let (_, export) = server.get("/v1/children/kid-14/export").await;
        let kinds: Vec<&str> = export["ledger"]
            .as_array()
            .unwrap()
            .iter()
            .map(|entry| entry["kind"].as_str().unwrap())
            .collect();
        assert!(kinds.contains(&"consent_given"), "{kinds:?}");
        assert!(kinds.contains(&"consent_withdrawn"), "{kinds:?}");
    })
    .await;
}

#[tokio::test]
async fn a_german_fourteen_year_old_needs_a_parent_for_ads() {
    on_both("german ads", |backend: Backend| async move {
        let server = Server::start(&backend, QUESTWORLD).await;
        server.child("kid-de", 14, "DE").await;
        let intervention = server.request_on("kid-de", "personalised-ads").await;
        assert_eq!(
            intervention["required"],
            json!(["acknowledge", "parental_consent"])
        );
        server.child("kid-gb", 14, "GB").await;
        let intervention = server.request_on("kid-gb", "personalised-ads").await;
        assert_eq!(intervention["required"], json!(["acknowledge"]));
    })
    .await;
}

#[tokio::test]
async fn a_verified_adult_switches_on_in_one_step() {
    on_both("adult", |backend: Backend| async move {
        let server = Server::start(&backend, CLIPSTREAM).await;
        let (status, _) = server
            .put(
                "/v1/children/grown-up",
                json!({"age": {"method": "verified", "birth_date": "1990-05-01"}}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED);
        let (status, on) = server
            .post(
                "/v1/children/grown-up/settings/recommend-videos",
                json!({"value": "on"}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{on}");
        assert_eq!(on["band"], "adult");
        assert_eq!(on["settings"][0]["effective"], "on");
        let decision = server.decide("grown-up", "recommend-videos").await;
        assert_eq!(
            decision,
            json!({"allow": true, "reasons": ["setting_on"], "obligations": []})
        );
    })
    .await;
}

#[tokio::test]
async fn a_child_never_seen_is_decided_on_the_defaults() {
    on_both("never seen", |backend: Backend| async move {
        let server = Server::start(&backend, CLIPSTREAM).await;
        assert_eq!(
            reason(&server.decide("stranger", "recommend-videos").await),
            "setting_off"
        );
        assert_eq!(
            reason(&server.decide("stranger", "estimate-age").await),
            "required"
        );
        assert_eq!(
            reason(&server.decide("stranger", "remember-subtitles").await),
            "setting_on"
        );
        assert_eq!(
            reason(&server.decide("stranger", "no-such-purpose").await),
            "unknown_purpose"
        );
        // Decisions create nothing.
        let (status, _) = server.get("/v1/children/stranger").await;
        assert_eq!(status, StatusCode::NOT_FOUND);
    })
    .await;
}

#[tokio::test]
async fn a_batch_answers_in_order_with_each_childs_own_state() {
    on_both("batch", |backend: Backend| async move {
        let server = Server::start(&backend, CLIPSTREAM).await;
        server.child("kid-14", 14, "GB").await;
        let intervention = server.request_on("kid-14", "recommend-videos").await;
        server.acknowledge(&intervention).await;
        let (status, body) = server
            .post(
                "/v1/decide/batch",
                json!({"requests": [
                    {"child": "kid-14", "purpose": "recommend-videos", "data": ["watch-history"]},
                    {"child": "kid-14", "purpose": "recommend-videos", "data": ["age-signals"]},
                    {"child": "stranger", "purpose": "recommend-videos"},
                    {"child": "kid-14", "purpose": "estimate-age", "context": {"gpc": true}},
                ]}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(
            batch_reasons(&body),
            ["setting_on", "undeclared_data", "setting_off", "required"]
        );
    })
    .await;
}

/// Each decision's first reason, in order, from a batch's answer.
fn batch_reasons(body: &serde_json::Value) -> Vec<&str> {
    body["decisions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["reasons"][0].as_str().unwrap())
        .collect()
}

/// The batch path decides through its thread's memo of cached children: a change written
/// between two batches is what the second decides by, on a child the first put in the memo.
#[tokio::test]
async fn a_batch_after_a_change_decides_by_the_change() {
    on_both("batch after a change", |backend: Backend| async move {
        let server = Server::start(&backend, CLIPSTREAM).await;
        server.child("kid-14", 14, "GB").await;
        let intervention = server.request_on("kid-14", "recommend-videos").await;
        server.acknowledge(&intervention).await;
        let batch = json!({"requests": [
            {"child": "kid-14", "purpose": "recommend-videos"},
            {"child": "kid-14", "purpose": "recommend-videos"},
        ]});
        for _ in 0..2 {
            let (status, body) = server.post("/v1/decide/batch", batch.clone()).await;
            assert_eq!(status, StatusCode::OK, "{body}");
            assert_eq!(batch_reasons(&body), ["setting_on", "setting_on"]);
        }
        let (status, off) = server
            .post(
                "/v1/children/kid-14/settings/recommend-videos",
                json!({"value": "off"}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{off}");
        let (status, body) = server.post("/v1/decide/batch", batch).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(batch_reasons(&body), ["setting_off", "setting_off"]);
    })
    .await;
}

#[tokio::test]
async fn location_sharing_goes_back_off_at_session_end() {
    on_both("session end", |backend: Backend| async move {
        let server = Server::start(&backend, CLIPSTREAM).await;
        server.child("kid-9", 9, "GB").await;
        let (status, on) = server
            .put("/v1/children/kid-9/account", json!({"geolocation": "on"}))
            .await;
        assert_eq!(status, StatusCode::OK, "{on}");
        assert_eq!(on["geolocation"], "on");
        let (status, ended) = server
            .post("/v1/children/kid-9/sessions/end", json!({}))
            .await;
        assert_eq!(status, StatusCode::OK, "{ended}");
        assert_eq!(ended["geolocation"], "off");
    })
    .await;
}

#[tokio::test]
async fn an_unanswered_request_expires_and_the_setting_goes_back_off() {
    on_both("expiry", |backend: Backend| async move {
        let server = Server::start(&backend, CLIPSTREAM).await;
        server.child("kid-10", 10, "GB").await;
        let intervention = server.request_on("kid-10", "recommend-videos").await;
        let (_, acknowledged) = server.acknowledge(&intervention).await;
        let request_id = acknowledged["request"]["id"].as_str().unwrap().to_owned();
        server.clock.advance(SignedDuration::from_hours(24 * 6));
        assert_eq!(
            server.state.sweep().await.unwrap(),
            0,
            "not yet: the TTL is 7 days"
        );
        server.clock.advance(SignedDuration::from_hours(25));
        assert_eq!(server.state.sweep().await.unwrap(), 1);
        let (_, child) = server.get("/v1/children/kid-10").await;
        assert_eq!(child["settings"][0]["effective"], "off");
        assert_eq!(child["pending_requests"], json!([]));
        let (_, request) = server
            .get(&format!("/v1/consent-requests/{request_id}"))
            .await;
        assert_eq!(request["status"], "expired");
        assert_eq!(
            reason(&server.decide("kid-10", "recommend-videos").await),
            "setting_off"
        );
    })
    .await;
}

#[tokio::test]
async fn erasure_removes_the_child_and_the_ledger_still_verifies() {
    on_both("erasure", |backend: Backend| async move {
        let server = Server::start(&backend, CLIPSTREAM).await;
        server.child("kid-gone", 12, "GB").await;
        server.child("kid-stays", 12, "GB").await;
        server.request_on("kid-gone", "recommend-videos").await;
        let (status, erased) = server
            .call(
                Method::DELETE,
                "/v1/children/kid-gone",
                Some(&server.admin),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{erased}");
        assert_eq!(erased["ledger_entries_blanked"], 4);
        let (status, _) = server.get("/v1/children/kid-gone").await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let (status, _) = server.get("/v1/children/kid-gone/export").await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let (_, verdict) = server.get("/v1/ledger/verify").await;
        assert_eq!(verdict["ok"], true, "{verdict}");
        let (status, again) = server
            .call(
                Method::DELETE,
                "/v1/children/kid-gone",
                Some(&server.admin),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{again}");
        // The erased child is decided like any stranger.
        assert_eq!(
            reason(&server.decide("kid-gone", "recommend-videos").await),
            "setting_off"
        );
        let (status, _) = server.get("/v1/children/kid-stays").await;
        assert_eq!(status, StatusCode::OK);
    })
    .await;
}

#[tokio::test]
async fn metrics_count_requests_and_decisions_by_reason() {
    let server = Server::start(&Backend::Sqlite, CLIPSTREAM).await;
    server.decide("stranger", "recommend-videos").await;
    let text = server
        .client
        .get(format!("{}/metrics", server.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        text.contains("ward_decisions_total{reason=\"setting_off\"} 1"),
        "{text}"
    );
    assert!(
        text.contains(
            "ward_http_requests_total{route=\"/v1/decide\",method=\"POST\",status=\"200\"} 1"
        ),
        "{text}"
    );
    let (status, health) = server.get("/healthz").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(health["status"], "ok");
}
