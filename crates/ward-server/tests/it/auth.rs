//! API keys and scopes: who may do what, and what a refusal looks like.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::support::{Backend, CLIPSTREAM, Server, on_both};

async fn code(
    server: &Server,
    method: Method,
    path: &str,
    token: Option<&str>,
) -> (StatusCode, String) {
    let body = matches!(method, Method::POST | Method::PUT)
        .then(|| json!({"child": "kid", "purpose": "recommend-videos"}));
    let (status, body) = server.call(method, path, token, body).await;
    (
        status,
        body["error"]["code"].as_str().unwrap_or("").to_owned(),
    )
}

#[tokio::test]
async fn missing_malformed_unknown_and_revoked_keys_are_refused() {
    on_both("keys", |backend: Backend| async move {
        let server = Server::start(&backend, CLIPSTREAM).await;
        let decide = "/v1/decide";
        assert_eq!(
            code(&server, Method::POST, decide, None).await,
            (StatusCode::UNAUTHORIZED, "unauthorized".into())
        );
        assert_eq!(
            code(&server, Method::POST, decide, Some("not-a-ward-key")).await,
            (StatusCode::UNAUTHORIZED, "unauthorized".into())
        );
        let key = server.key("decide").await;
        let (prefix, _) = key.rsplit_once('_').unwrap();
        let wrong_secret = format!("{prefix}_{}", "0".repeat(64));
        assert_eq!(
            code(&server, Method::POST, decide, Some(&wrong_secret)).await,
            (StatusCode::UNAUTHORIZED, "invalid_key".into())
        );
        assert_eq!(
            code(
                &server,
                Method::POST,
                decide,
                Some("ward_0123456789abcdef_00")
            )
            .await,
            (StatusCode::UNAUTHORIZED, "invalid_key".into())
        );
        assert_eq!(
            code(&server, Method::POST, decide, Some(&key)).await.0,
            StatusCode::OK
        );

        let id = prefix.trim_start_matches("ward_");
        let (status, _) = server
            .call(
                Method::DELETE,
                &format!("/v1/keys/{id}"),
                Some(&server.admin),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(
            code(&server, Method::POST, decide, Some(&key)).await,
            (StatusCode::UNAUTHORIZED, "invalid_key".into())
        );
        // Listing shows the revocation and no secret.
        let (_, listed) = server.get("/v1/keys").await;
        let text = listed.to_string();
        assert!(text.contains("revoked_at"));
        assert!(!text.contains(key.rsplit_once('_').unwrap().1));
    })
    .await;
}

#[tokio::test]
async fn each_scope_reaches_only_its_routes() {
    on_both("scopes", |backend: Backend| async move {
        let server = Server::start(&backend, CLIPSTREAM).await;
        server.child("kid-a", 10, "GB").await;
        server.child("kid-b", 10, "GB").await;
        server
            .call(
                Method::PUT,
                "/v1/children/kid-a/parents/mum",
                Some(&server.admin),
                None,
            )
            .await;
        let decide = server.key("decide").await;
        let mum = server.key("parent:mum").await;

        // The decide scope decides, and nothing else.
        assert_eq!(
            code(&server, Method::POST, "/v1/decide", Some(&decide))
                .await
                .0,
            StatusCode::OK
        );
        assert_eq!(
            code(&server, Method::GET, "/v1/children/kid-a", Some(&decide)).await,
            (StatusCode::FORBIDDEN, "forbidden".into())
        );
        assert_eq!(
            code(&server, Method::GET, "/v1/ledger/verify", Some(&decide)).await,
            (StatusCode::FORBIDDEN, "forbidden".into())
        );
        // A parent sees their own child, not another's (existing or not), and cannot decide.
        assert_eq!(
            code(&server, Method::GET, "/v1/children/kid-a", Some(&mum))
                .await
                .0,
            StatusCode::OK
        );
        assert_eq!(
            code(&server, Method::GET, "/v1/children/kid-b", Some(&mum)).await,
            (StatusCode::FORBIDDEN, "forbidden".into())
        );
        assert_eq!(
            code(&server, Method::GET, "/v1/children/nobody", Some(&mum)).await,
            (StatusCode::FORBIDDEN, "forbidden".into())
        );
        assert_eq!(
            code(&server, Method::POST, "/v1/decide", Some(&mum)).await,
            (StatusCode::FORBIDDEN, "forbidden".into())
        );
    })
    .await;
}

#[tokio::test]
async fn only_a_linked_parent_can_answer_a_consent_request() {
    on_both("answer", |backend: Backend| async move {
        let server = Server::start(&backend, CLIPSTREAM).await;
        server.child("kid", 10, "GB").await;
        server
            .call(
                Method::PUT,
                "/v1/children/kid/parents/mum",
                Some(&server.admin),
                None,
            )
            .await;
        let intervention = server.request_on("kid", "recommend-videos").await;
        let (_, acknowledged) = server.acknowledge(&intervention).await;
        let request = acknowledged["request"]["id"].as_str().unwrap().to_owned();
        let approve = format!("/v1/consent-requests/{request}/approve");
        // The service itself may not consent for a child.
        assert_eq!(
            code(&server, Method::POST, &approve, Some(&server.admin)).await,
            (StatusCode::FORBIDDEN, "forbidden".into())
        );
        // Another parent may not either: to them the request does not exist.
        let stranger = server.key("parent:someone-else").await;
        let (status, body) = server
            .call(Method::POST, &approve, Some(&stranger), None)
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
        assert_eq!(body["error"]["code"], "consent_request_not_found");
        let (_, child) = server.get("/v1/children/kid").await;
        assert_eq!(child["settings"][0]["effective"], "pending_parent");
    })
    .await;
}

/// What a caller without access sees of `path` with `id` in it: the status and the body with
/// the id the caller sent replaced, so two answers can be compared for anything else.
async fn seen(
    server: &Server,
    method: Method,
    path: &str,
    id: &str,
    token: &str,
    body: Option<serde_json::Value>,
) -> (StatusCode, String) {
    let (status, body) = server
        .call(method, &path.replace("{id}", id), Some(token), body)
        .await;
    (status, body.to_string().replace(id, "{id}"))
}

/// No existence oracle: for every route family a `decide` key or an unlinked parent's key can
/// reach, an existing child (or request) and one that does not exist get the same answer, and
/// no answer names a child the caller did not name.
#[tokio::test]
async fn a_caller_without_access_learns_nothing_about_which_ids_exist() {
    on_both("oracle", |backend: Backend| async move {
        let server = Server::start(&backend, CLIPSTREAM).await;
        server.child("kid-real", 10, "GB").await;
        server.child("kid-mine", 10, "GB").await;
        for (child, parent) in [("kid-real", "dad"), ("kid-mine", "mum")] {
            let (status, _) = server
                .call(
                    Method::PUT,
                    &format!("/v1/children/{child}/parents/{parent}"),
                    Some(&server.admin),
                    None,
                )
                .await;
            assert_eq!(status, StatusCode::CREATED);
        }
        let intervention = server.request_on("kid-real", "recommend-videos").await;
        let (_, acknowledged) = server.acknowledge(&intervention).await;
        let request = acknowledged["request"]["id"].as_str().unwrap().to_owned();
        let nobody_request = "0123456789abcdef0123456789abcdef";
        let decide = server.key("decide").await;
        let mum = server.key("parent:mum").await;

        let controls = json!({"daily_minutes": 30});
        let reset = json!({"setting": "recommend-videos"});
        let child_routes: Vec<(Method, &str, Option<serde_json::Value>)> = vec![
            (Method::GET, "/v1/children/{id}", None),
            (Method::GET, "/v1/children/{id}/consent-requests", None),
            (Method::GET, "/v1/children/{id}/export", None),
            (Method::PUT, "/v1/children/{id}/controls", Some(controls)),
            (Method::POST, "/v1/children/{id}/profile-reset", Some(reset)),
            (
                Method::POST,
                "/v1/children/{id}/usage",
                Some(json!({"minutes_today": 5})),
            ),
            (
                Method::POST,
                "/v1/children/{id}/settings/recommend-videos",
                Some(json!({"value": "off"})),
            ),
            (Method::DELETE, "/v1/children/{id}", None),
            (Method::POST, "/v1/children/{id}/page-link", None),
        ];
        for token in [&decide, &mum] {
            for (method, path, body) in &child_routes {
                let real = seen(
                    &server,
                    method.clone(),
                    path,
                    "kid-real",
                    token,
                    body.clone(),
                )
                .await;
                let none = seen(
                    &server,
                    method.clone(),
                    path,
                    "kid-nobody",
                    token,
                    body.clone(),
                )
                .await;
                assert_eq!(real, none, "{method} {path}");
                assert_eq!(real.0, StatusCode::FORBIDDEN, "{method} {path}: {}", real.1);
            }
            // By request id: the same answer for another's request and for none, naming no
            // child.
            for (method, path) in [
                (Method::GET, "/v1/consent-requests/{id}"),
                (Method::POST, "/v1/consent-requests/{id}/approve"),
                (Method::POST, "/v1/consent-requests/{id}/deny"),
            ] {
                let real = seen(&server, method.clone(), path, &request, token, None).await;
                let none = seen(&server, method.clone(), path, nobody_request, token, None).await;
                assert_eq!(real, none, "{method} {path}");
                assert!(!real.1.contains("kid-real"), "{method} {path}: {}", real.1);
            }
        }
        // Nothing was changed by any of it, and the linked parent still can see their child.
        let (_, child) = server.get("/v1/children/kid-real").await;
        assert_eq!(child["settings"][0]["effective"], "pending_parent");
        let (status, _) = server
            .call(Method::GET, "/v1/children/kid-mine", Some(&mum), None)
            .await;
        assert_eq!(status, StatusCode::OK);
    })
    .await;
}
