//! Several `ward serve` nodes on one PostgreSQL database: a change made through one is
//! honoured by every other within a second.

use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::json;
use ward_store::test_support::{fresh_schema, postgres_url};

use crate::support::{Backend, CLIPSTREAM, Server, reason};

/// Asks `node` until its decision's reason is `expected`, for at most `limit`; returns how
/// long it took.
async fn until_reason(
    node: &Server,
    child: &str,
    purpose: &str,
    expected: &str,
    limit: Duration,
) -> Duration {
    let started = Instant::now();
    loop {
        let decision = node.decide(child, purpose).await;
        if reason(&decision) == expected {
            return started.elapsed();
        }
        assert!(
            started.elapsed() < limit,
            "still {decision} after {limit:?}, expected {expected}"
        );
        tokio::task::yield_now().await;
    }
}

#[tokio::test]
async fn a_setting_switched_off_through_one_node_is_denied_by_another_within_a_second() {
    let Some(base) = postgres_url("two nodes") else {
        return;
    };
    let backend = Backend::Postgres(fresh_schema(&base).await.unwrap());
    let node_a = Server::start(&backend, CLIPSTREAM).await;
    let node_b = node_a.another_node().await;

    node_a.child("kid-14", 14, "GB").await;
    let intervention = node_a.request_on("kid-14", "recommend-videos").await;
    let (status, _) = node_a.acknowledge(&intervention).await;
    assert_eq!(status, StatusCode::OK);
    // Node B caches the child as it decides.
    until_reason(
        &node_b,
        "kid-14",
        "recommend-videos",
        "setting_on",
        Duration::from_secs(1),
    )
    .await;
    assert_eq!(
        reason(&node_b.decide("kid-14", "recommend-videos").await),
        "setting_on"
    );

    let (status, _) = node_a
        .post(
            "/v1/children/kid-14/settings/recommend-videos",
            json!({"value": "off"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let took = until_reason(
        &node_b,
        "kid-14",
        "recommend-videos",
        "setting_off",
        Duration::from_secs(1),
    )
    .await;
    eprintln!("node B honoured node A's switch-off after {took:?}");

    // A never-seen child cached as absent on B is seen once A creates them.
    assert_eq!(
        reason(&node_b.decide("kid-new", "remember-subtitles").await),
        "setting_on"
    );
    node_a.child("kid-new", 12, "GB").await;
    let (status, _) = node_a
        .post(
            "/v1/children/kid-new/settings/remember-subtitles",
            json!({"value": "off"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    until_reason(
        &node_b,
        "kid-new",
        "remember-subtitles",
        "setting_off",
        Duration::from_secs(1),
    )
    .await;

    // A key revoked through A stops working on B.
    let key = node_a.key("decide").await;
    let body = Some(json!({"child": "kid-14", "purpose": "recommend-videos"}));
    let started = Instant::now();
    loop {
        let (status, _) = node_b
            .call(Method::POST, "/v1/decide", Some(&key), body.clone())
            .await;
        if status == StatusCode::OK {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "new key never reached node B"
        );
        tokio::task::yield_now().await;
    }
    let id = key
        .trim_start_matches("ward_")
        .split('_')
        .next()
        .unwrap()
        .to_owned();
    let (status, _) = node_a
        .call(
            Method::DELETE,
            &format!("/v1/keys/{id}"),
            Some(&node_a.admin),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let started = Instant::now();
    loop {
        let (status, _) = node_b
            .call(Method::POST, "/v1/decide", Some(&key), body.clone())
            .await;
        if status == StatusCode::UNAUTHORIZED {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "revoked key still works on node B"
        );
        tokio::task::yield_now().await;
    }
}

/// Page `page` of a session sliding from football into dieting (as the core's test of the
/// cap): two pages on football, then one item in ten on dieting, two, … up to nine.
fn sliding_page(page: usize) -> serde_json::Value {
    let n_sensitive = page.saturating_sub(2).min(9);
    let items: Vec<serde_json::Value> = (0..10)
        .map(|idx| {
            let topic = if idx < n_sensitive { "dieting" } else { "football" };
            json!({"id": format!("p{page}-{idx}"), "kind": "video", "ratings": {"bbfc": "U"}, "topics": [topic]})
        })
        .collect();
    json!(items)
}

#[tokio::test]
async fn a_drifting_session_balanced_over_two_nodes_is_capped_exactly_as_on_one() {
    let Some(base) = postgres_url("drift across nodes") else {
        return;
    };
    let backend = Backend::Postgres(fresh_schema(&base).await.unwrap());
    let node_a = Server::start(&backend, CLIPSTREAM).await;
    let node_b = node_a.another_node().await;
    node_a.child("alone", 11, "GB").await;
    node_a.child("balanced", 11, "GB").await;

    let mut capped_pages = 0;
    let mut served_balanced: Vec<bool> = Vec::new();
    for page in 0..60 {
        let items = sliding_page(page);
        // The same session twice: one child's pages all on node A, the other's alternating.
        let (status, alone) = node_a
            .post(
                "/v1/feed/filter",
                json!({"child": "alone", "items": items, "answer": "compact"}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{alone}");
        let node = if page % 2 == 0 { &node_a } else { &node_b };
        let (status, balanced) = node
            .post(
                "/v1/feed/filter",
                json!({"child": "balanced", "items": items, "answer": "compact"}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{balanced}");
        // One window: every page judged exactly as on one node, drift report and all.
        assert_eq!(balanced["kept"], alone["kept"], "page {page}");
        assert_eq!(balanced["removed"], alone["removed"], "page {page}");
        assert_eq!(balanced["drift"], alone["drift"], "page {page}");
        if balanced["drift"]["capped"] == true {
            capped_pages += 1;
            served_balanced.extend(balanced["kept"].as_array().unwrap().iter().map(|id| {
                items
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|item| item["id"] == *id && item["topics"][0] == "dieting")
            }));
        }
    }
    assert!(
        capped_pages > 10,
        "the slide was caught: {capped_pages} pages capped"
    );
    // The cap holds across the two nodes: in any 50 items served in a row once capped, at
    // most a fifth on a sensitive topic.
    for run in served_balanced.windows(50) {
        assert!(run.iter().filter(|s| **s).count() <= 10, "{run:?}");
    }
    // Both nodes' exports show the one window.
    let (_, on_a) = node_a.get("/v1/children/balanced/export").await;
    let (_, on_b) = node_b.get("/v1/children/balanced/export").await;
    assert_eq!(on_a["drift"], on_b["drift"]);
    assert_eq!(
        on_a["drift"]["report"]["window_items"], 50,
        "{}",
        on_a["drift"]
    );
}
