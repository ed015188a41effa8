//! Ad-tech signals over HTTP: `GET /v1/children/{id}/signals` follows the child's state and
//! `Sec-GPC`, `POST /v1/openrtb/regs` fills and strips a bid request, `/.well-known/gpc.json`
//! declares GPC, the export names the signals, and a withdrawn consent changes the TC string
//! at once on another node.

use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use ward_store::test_support::{fresh_schema, postgres_url};

use crate::support::{Backend, QUESTWORLD, Server, on_both};

/// `GET /v1/children/{child}/signals` with `token`, and `Sec-GPC: 1` when `gpc`.
async fn signals(server: &Server, token: &str, child: &str, gpc: bool) -> (StatusCode, Value) {
    let mut request = server
        .client
        .get(format!("{}/v1/children/{child}/signals", server.base))
        .bearer_auth(token);
    if gpc {
        request = request.header("Sec-GPC", "1");
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn switch_ads_on(server: &Server, child: &str) {
    let intervention = server.request_on(child, "personalised-ads").await;
    let (status, body) = server.acknowledge(&intervention).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[tokio::test]
async fn a_childs_signals_follow_their_settings_and_sec_gpc() {
    on_both("signals over http", |backend| async move {
        let server = Server::start(&backend, QUESTWORLD).await;
        let decide = server.key("decide").await;
        server.child("kid-15", 15, "GB").await;

        let (status, off) = signals(&server, &decide, "kid-15", false).await;
        assert_eq!(status, StatusCode::OK, "{off}");
        assert_eq!(off["child"], "kid-15");
        assert_eq!(off["tcf"]["purpose_consents"], json!([]));
        assert_eq!(off["tcf"]["disclosed_vendors"], json!([755]));
        assert_eq!(off["google_ac"], "2~~dv.89");
        assert_eq!(off["openrtb"]["regs"]["coppa"], 0);
        assert_eq!(off["openrtb"]["regs"]["gdpr"], 1);
        assert_eq!(off["openrtb"]["regs"]["gpp_sid"], json!([2]));
        assert_eq!(off["openrtb"]["user"]["consent"], off["tcf"]["tc_string"]);
        assert!(
            off["openrtb"]["bcat"]
                .as_array()
                .unwrap()
                .contains(&json!("1002"))
        );
        assert_eq!(off["google_ad_manager"]["tfat"], 2);
        assert_eq!(off["google_ad_manager"]["max_ad_content_rating"], "PG");

        switch_ads_on(&server, "kid-15").await;
        let (_, on) = signals(&server, &decide, "kid-15", false).await;
        assert_eq!(on["tcf"]["purpose_consents"], json!([1, 2, 3, 4, 7]));
        assert_eq!(on["tcf"]["vendor_consents"], json!([755]));
        assert_eq!(on["google_ac"], "2~89~dv.");
        assert!(on["personalised_ads"].as_bool().unwrap());
        assert_ne!(on["tcf"]["tc_string"], off["tcf"]["tc_string"]);

        // `Sec-GPC: 1` is the GPC signal: advertising goes off again.
        let (_, gpc) = signals(&server, &decide, "kid-15", true).await;
        assert_eq!(gpc["gpc"], true);
        assert_eq!(gpc["tcf"]["purpose_consents"], json!([]));
        assert!(!gpc["personalised_ads"].as_bool().unwrap());
        assert_eq!(gpc["tcf"]["tc_string"], off["tcf"]["tc_string"]);

        // The export says which signals the current state produces.
        let (status, export) = server.get("/v1/children/kid-15/export").await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(
            export["signals"]["tcf"]["tc_string"],
            on["tcf"]["tc_string"]
        );
        assert!(export["signals"].get("child").is_none());
        server.shut_down().await;
    })
    .await;
}

#[tokio::test]
async fn signals_take_the_decide_scope_and_never_tell_whether_a_child_exists() {
    on_both("signals scope", |backend| async move {
        let server = Server::start(&backend, QUESTWORLD).await;
        let mum = server.key("parent:mum").await;
        server.child("kid-15", 15, "GB").await;
        let (status, body) = signals(&server, &mum, "kid-15", false).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
        let (status, _) = signals(&server, "ward_not-a-key", "kid-15", false).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        let (status, body) = signals(&server, &server.admin, "bad%20id", false).await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (StatusCode::BAD_REQUEST, Some("invalid_id")),
            "{body}"
        );
        // An id never seen answers as a new child of unknown age, as `decide` does.
        let decide = server.key("decide").await;
        let (status, never) = signals(&server, &decide, "nobody", false).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(never["google_ad_manager"]["tfat"], 1);
        assert_eq!(never["openrtb"]["regs"]["coppa"], 1);
        server.shut_down().await;
    })
    .await;
}

fn bid_request() -> Value {
    json!({
        "id": "auction-1",
        "imp": [{"id": "1", "banner": {"w": 300, "h": 250}, "ext": {"gpid": "/home"}}],
        "site": {"page": "https://games.example/level-3"},
        "device": {"ua": "Mozilla/5.0", "ip": "198.51.100.23", "ifa": "AEBE52E7-03EE-455A-B3C4-E57283966239",
                   "geo": {"lat": 53.48, "lon": -2.24, "country": "GBR"}},
        "user": {"id": "player-77", "eids": [{"source": "id5-sync.com", "uids": [{"id": "x"}]}]},
        "ext": {"anything": [1, 2, 3]}
    })
}

#[tokio::test]
async fn an_openrtb_request_comes_back_filled_for_the_child_with_their_identifiers_removed() {
    on_both("openrtb regs", |backend| async move {
        let server = Server::start(&backend, QUESTWORLD).await;
        let decide = server.key("decide").await;
        server.child("kid-15", 15, "GB").await;
        let (status, body) = server
            .call(
                Method::POST,
                "/v1/openrtb/regs",
                Some(&decide),
                Some(json!({"child": "kid-15", "request": bid_request()})),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let (_, signals) = signals(&server, &decide, "kid-15", false).await;
        let request = &body["request"];
        assert_eq!(request["regs"], signals["openrtb"]["regs"]);
        assert_eq!(request["user"]["consent"], signals["tcf"]["tc_string"]);
        assert_eq!(request["bcat"], signals["openrtb"]["bcat"]);
        assert_eq!(request["cattax"], 8);
        assert!(request["device"].get("ifa").is_none());
        assert!(request["user"].get("id").is_none() && request["user"].get("eids").is_none());
        assert_eq!(request["device"]["geo"], json!({"country": "GBR"}));
        assert_eq!(request["device"]["ip"], "198.51.100.0");
        assert_eq!(request["imp"], bid_request()["imp"]);
        assert_eq!(request["ext"], bid_request()["ext"]);
        assert_eq!(request["site"], bid_request()["site"]);
        let removed: Vec<&str> = body["removed"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        assert!(
            removed.contains(&"device.ifa") && removed.contains(&"device.geo.lat"),
            "{removed:?}"
        );

        // The body's `gpc` and `Sec-GPC: 1` both count.
        let (_, with_gpc) = server
            .call(
                Method::POST,
                "/v1/openrtb/regs",
                Some(&decide),
                Some(json!({"child": "kid-15", "gpc": true, "request": {"id": "a"}})),
            )
            .await;
        let usnat_free = with_gpc["request"]["regs"]["gpp"].as_str().unwrap();
        assert!(!usnat_free.is_empty());

        // A `bcat` in another taxonomy is refused with the body's error, not merged.
        let mut other = bid_request();
        other["bcat"] = json!(["IAB25-3"]);
        let (status, body) = server
            .call(
                Method::POST,
                "/v1/openrtb/regs",
                Some(&decide),
                Some(json!({"child": "kid-15", "request": other})),
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        assert_eq!(body["error"]["code"], "invalid_body");
        assert!(
            body["error"]["message"]
                .as_str()
                .unwrap()
                .contains("cattax"),
            "{body}"
        );
        // Not an object, an unknown field: the strict reader's answers.
        for bad in [
            json!({"child": "kid-15", "request": []}),
            json!({"child": "kid-15", "request": {}, "extra": 1}),
        ] {
            let (status, _) = server
                .call(Method::POST, "/v1/openrtb/regs", Some(&decide), Some(bad))
                .await;
            assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        }
        server.shut_down().await;
    })
    .await;
}

#[tokio::test]
async fn the_pages_declare_that_they_honour_gpc() {
    let server = Server::start(&Backend::Sqlite, QUESTWORLD).await;
    let (status, body) = server
        .call(Method::GET, "/.well-known/gpc.json", None, None)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, json!({"gpc": true}));
    server.shut_down().await;
}

#[tokio::test]
async fn a_withdrawn_consent_changes_the_tc_string_at_once_on_another_node() {
    let Some(base) = postgres_url("signals on two nodes") else {
        eprintln!("skipped: two nodes need PostgreSQL (set WARD_TEST_DATABASE_URL)");
        return;
    };
    let backend = Backend::Postgres(fresh_schema(&base).await.unwrap());
    let node_a = Server::start(&backend, QUESTWORLD).await;
    let node_b = node_a.another_node().await;
    let decide_b = node_b.key("decide").await;
    node_a.child("kid-15", 15, "GB").await;
    switch_ads_on(&node_a, "kid-15").await;

    let until = |expected: Value| {
        let node_b = &node_b;
        let decide_b = &decide_b;
        async move {
            let started = Instant::now();
            loop {
                let (_, body) = signals(node_b, decide_b, "kid-15", false).await;
                if body["tcf"]["purpose_consents"] == expected {
                    return (started.elapsed(), body);
                }
                assert!(started.elapsed() < Duration::from_secs(1), "still {body}");
                tokio::task::yield_now().await;
            }
        }
    };
    let (_, on) = until(json!([1, 2, 3, 4, 7])).await;
    let (status, _) = node_a
        .post(
            "/v1/children/kid-15/settings/personalised-ads",
            json!({"value": "off"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (took, off) = until(json!([])).await;
    eprintln!("node B's TC string changed {took:?} after node A's withdrawal");
    assert_ne!(on["tcf"]["tc_string"], off["tcf"]["tc_string"]);
    node_b.shut_down().await;
    node_a.shut_down().await;
}
