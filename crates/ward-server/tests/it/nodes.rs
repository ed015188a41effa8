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
