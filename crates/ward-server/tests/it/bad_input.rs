//! Bad input: every kind gets the right 4xx and a clear code, never a 500, and nothing
//! stored is harmed.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::{Backend, CLIPSTREAM, Server, reason};

async fn raw(
    server: &Server,
    method: Method,
    path: &str,
    content_type: Option<&str>,
    body: Vec<u8>,
) -> (StatusCode, String) {
    let mut request = server
        .client
        .request(method, format!("{}{path}", server.base))
        .bearer_auth(&server.admin)
        .body(body);
    if let Some(content_type) = content_type {
        request = request.header("content-type", content_type);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    let body: serde_json::Value = response.json().await.unwrap_or(serde_json::Value::Null);
    (
        status,
        body["error"]["code"].as_str().unwrap_or("").to_owned(),
    )
}

/// A request and the status and error code it must get.
type Case<'a> = (
    Method,
    &'a str,
    Option<&'a str>,
    Vec<u8>,
    (StatusCode, String),
);

fn case(status: u16, code: &str) -> (StatusCode, String) {
    (StatusCode::from_u16(status).unwrap(), code.to_owned())
}

#[tokio::test]
async fn each_kind_of_bad_request_gets_its_own_code() {
    let server = Server::start(&Backend::Sqlite, CLIPSTREAM).await;
    server.child("kid", 10, "GB").await;
    let json_type = Some("application/json");
    let cases: Vec<Case<'_>> = vec![
        (
            Method::POST,
            "/v1/decide",
            json_type,
            b"{\"child\": ".to_vec(),
            case(400, "malformed_json"),
        ),
        (
            Method::POST,
            "/v1/decide",
            json_type,
            b"not json".to_vec(),
            case(400, "malformed_json"),
        ),
        (
            Method::POST,
            "/v1/decide",
            json_type,
            br#"{"child":"kid","purpose":"x","purpse":"y"}"#.to_vec(),
            case(422, "invalid_body"),
        ),
        (
            Method::POST,
            "/v1/decide",
            json_type,
            br#"{"child":"kid"}"#.to_vec(),
            case(422, "invalid_body"),
        ),
        (
            Method::POST,
            "/v1/decide",
            json_type,
            br#"{"child":7,"purpose":"x"}"#.to_vec(),
            case(422, "invalid_body"),
        ),
        (
            Method::POST,
            "/v1/decide",
            json_type,
            br#"{"child":"","purpose":"x"}"#.to_vec(),
            case(400, "invalid_id"),
        ),
        (
            Method::POST,
            "/v1/decide",
            Some("text/plain"),
            br#"{"child":"kid","purpose":"x"}"#.to_vec(),
            case(415, "unsupported_media_type"),
        ),
        (
            Method::POST,
            "/v1/decide",
            None,
            br#"{"child":"kid","purpose":"x"}"#.to_vec(),
            case(415, "unsupported_media_type"),
        ),
        (
            Method::POST,
            "/v1/decide",
            json_type,
            vec![b' '; ward_server::MAX_BODY_BYTES + 1],
            case(413, "payload_too_large"),
        ),
        (
            Method::PUT,
            "/v1/children/bad%20id",
            json_type,
            b"{}".to_vec(),
            case(400, "invalid_id"),
        ),
        (
            Method::PUT,
            "/v1/children/",
            json_type,
            b"{}".to_vec(),
            case(404, "not_found"),
        ),
        (
            Method::PUT,
            "/v1/children/kid",
            json_type,
            br#"{"age":{"method":"guessed","age":9}}"#.to_vec(),
            case(422, "invalid_body"),
        ),
        (
            Method::PUT,
            "/v1/children/kid",
            json_type,
            br#"{"age":{"method":"verified","age":300}}"#.to_vec(),
            case(422, "invalid_body"),
        ),
        (
            Method::PUT,
            "/v1/children/kid",
            json_type,
            br#"{"age":{"method":"verified","age":9,"band":"6-9"}}"#.to_vec(),
            case(422, "invalid_body"),
        ),
        (
            Method::PUT,
            "/v1/children/kid",
            json_type,
            br#"{"age":{"method":"verified","birth_date":"2031-01-01"}}"#.to_vec(),
            case(422, "invalid_body"),
        ),
        (
            Method::PUT,
            "/v1/children/kid",
            json_type,
            br#"{"age":{"method":"verified","band":"11-14"}}"#.to_vec(),
            case(422, "invalid_body"),
        ),
        (
            Method::PUT,
            "/v1/children/kid",
            json_type,
            br#"{"jurisdiction":"UK"}"#.to_vec(),
            case(422, "invalid_body"),
        ),
        (
            Method::PUT,
            "/v1/children/kid",
            json_type,
            br#"{"jurisdiction":"DE"}"#.to_vec(),
            case(422, "jurisdiction_not_served"),
        ),
        (
            Method::PUT,
            "/v1/children/kid",
            json_type,
            br#"{"time_zone":"Mars/Olympus"}"#.to_vec(),
            case(422, "invalid_body"),
        ),
        (
            Method::POST,
            "/v1/children/kid/settings/no-such-setting",
            json_type,
            br#"{"value":"on"}"#.to_vec(),
            case(404, "setting_not_found"),
        ),
        (
            Method::POST,
            "/v1/children/kid/settings/recommend-videos",
            json_type,
            br#"{"value":"maybe"}"#.to_vec(),
            case(422, "invalid_body"),
        ),
        (
            Method::POST,
            "/v1/children/nobody/settings/recommend-videos",
            json_type,
            br#"{"value":"on"}"#.to_vec(),
            case(404, "child_not_found"),
        ),
        (
            Method::POST,
            "/v1/interventions/0123456789abcdef0123456789abcdef/acknowledge",
            json_type,
            b"{}".to_vec(),
            case(404, "intervention_not_found"),
        ),
        (
            Method::PATCH,
            "/v1/decide",
            json_type,
            b"{}".to_vec(),
            case(405, "method_not_allowed"),
        ),
        (
            Method::GET,
            "/v1/nowhere",
            None,
            Vec::new(),
            case(404, "not_found"),
        ),
        (
            Method::POST,
            "/v1/decide/batch",
            json_type,
            br#"{"requests": {}}"#.to_vec(),
            case(422, "invalid_body"),
        ),
        (
            Method::POST,
            "/v1/keys",
            json_type,
            br#"{"scope":"root"}"#.to_vec(),
            case(422, "invalid_body"),
        ),
    ];
    for (method, path, content_type, body, expected) in cases {
        let label = format!(
            "{method} {path} {:?}",
            String::from_utf8_lossy(&body[..body.len().min(60)])
        );
        assert_eq!(
            raw(&server, method, path, content_type, body).await,
            expected,
            "{label}"
        );
    }
    // Nothing stored was harmed.
    let (status, child) = server.get("/v1/children/kid").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(child["age"], 10);
    assert_eq!(child["jurisdiction"], "GB");
    let (_, verdict) = server.get("/v1/ledger/verify").await;
    assert_eq!(verdict["ok"], true);
}

#[tokio::test]
async fn a_batch_over_the_limit_is_refused_whole() {
    let server = Server::start(&Backend::Sqlite, CLIPSTREAM).await;
    let requests: Vec<_> = (0..10_001)
        .map(|_| json!({"child": "k", "purpose": "p"}))
        .collect();
    let (status, body) = server
        .post("/v1/decide/batch", json!({"requests": requests}))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("at most 10000")
    );
}

/// Ids in bodies are judged exactly as ids in paths: a malformed one is `400 invalid_id`
/// before anything is looked up or decided, a well-formed one nobody has is the route's own
/// "not found" (or, for `decide`, a never-seen child on the defaults).
#[tokio::test]
async fn ids_in_bodies_and_paths_are_judged_alike() {
    let server = Server::start(&Backend::Sqlite, CLIPSTREAM).await;
    server.child("kid", 10, "GB").await;
    let json_type = Some("application/json");
    let batch = json!({"requests": [
        {"child": "kid", "purpose": "recommend-videos"},
        {"child": "not an id", "purpose": "recommend-videos"},
    ]});
    let item = json!({"id": "v1", "kind": "video"});
    let cases: Vec<(Method, &str, Value, &str)> = vec![
        (
            Method::POST,
            "/v1/decide",
            json!({"child": "not an id", "purpose": "recommend-videos"}),
            "invalid_id",
        ),
        (
            Method::POST,
            "/v1/decide",
            json!({"child": "x".repeat(129), "purpose": "recommend-videos"}),
            "invalid_id",
        ),
        (Method::POST, "/v1/decide/batch", batch, "invalid_id"),
        (
            Method::POST,
            "/v1/feed/filter",
            json!({"child": "not an id", "items": []}),
            "invalid_id",
        ),
        (
            Method::POST,
            "/v1/feed/why",
            json!({"child": "not an id", "setting": "recommend-videos", "item": item}),
            "invalid_id",
        ),
        (
            Method::POST,
            "/v1/feed/why",
            json!({"child": "kid", "setting": "Not_A_Setting", "item": item}),
            "invalid_id",
        ),
        (
            Method::POST,
            "/v1/children/kid/profile-reset",
            json!({"setting": "Not_A_Setting"}),
            "invalid_id",
        ),
        (
            Method::POST,
            "/v1/children/kid/settings/Not_A_Setting",
            json!({"value": "on"}),
            "invalid_id",
        ),
        (
            Method::POST,
            "/v1/children/kid/settings/Not_A_Setting/confirm",
            json!({}),
            "invalid_id",
        ),
        (
            Method::POST,
            "/v1/interventions/not-an-intervention/acknowledge",
            json!({}),
            "invalid_id",
        ),
        (
            Method::GET,
            "/v1/consent-requests/XYZ",
            Value::Null,
            "invalid_id",
        ),
        (
            Method::DELETE,
            "/v1/keys/not-a-key",
            Value::Null,
            "invalid_id",
        ),
        (
            Method::DELETE,
            "/v1/webhooks/not-a-webhook",
            Value::Null,
            "invalid_id",
        ),
        // Well formed, but nobody has them.
        (
            Method::POST,
            "/v1/children/kid/settings/no-such-setting",
            json!({"value": "on"}),
            "setting_not_found",
        ),
        (
            Method::POST,
            "/v1/interventions/00000000000000000000000000000000/acknowledge",
            json!({}),
            "intervention_not_found",
        ),
        (
            Method::GET,
            "/v1/consent-requests/00000000000000000000000000000000",
            Value::Null,
            "consent_request_not_found",
        ),
        (
            Method::DELETE,
            "/v1/keys/0000000000000000",
            Value::Null,
            "key_not_found",
        ),
        (
            Method::DELETE,
            "/v1/webhooks/wh_0000000000000000",
            Value::Null,
            "webhook_not_found",
        ),
    ];
    for (method, path, body, expected) in cases {
        let label = format!("{method} {path} {body}");
        let body = (!body.is_null()).then(|| serde_json::to_vec(&body).unwrap());
        let (_, code) = raw(&server, method, path, json_type, body.unwrap_or_default()).await;
        assert_eq!(code, expected, "{label}");
    }
    // The batch error says which request.
    let (status, body) = server
        .post(
            "/v1/decide/batch",
            json!({"requests": [{"child": "kid", "purpose": "p"}, {"child": "", "purpose": "p"}]}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("requests[1]"),
        "{body}"
    );
    // A never-seen, well-formed child is decided on the defaults, not refused.
    assert_eq!(
        reason(&server.decide("never-seen", "recommend-videos").await),
        "setting_off"
    );
}

/// The status and error code a request must get.
type Expected = (StatusCode, String);

/// Bodies are read exactly as the OpenAPI document describes them, where serde alone is more
/// lenient: a struct only from an object (an array of its fields was a key), an enum only from
/// its string, no `null` for a field left optional; an integer as JSON Schema counts one.
/// Query strings are judged in the same JSON error shape. Nothing refused changes anything.
#[tokio::test]
async fn the_server_takes_exactly_what_the_document_describes() {
    let server = Server::start(&Backend::Sqlite, CLIPSTREAM).await;
    server.child("kid", 10, "GB").await;
    let json_type = Some("application/json");
    let (_, keys) = server.get("/v1/keys").await;
    let n_keys = keys["keys"].as_array().unwrap().len();
    let cases: Vec<(Method, &str, &[u8], Expected)> = vec![
        // An array where an object is documented, at the top and nested.
        (Method::POST, "/v1/keys", br#"["decide"]"#, case(422, "invalid_body")),
        (Method::POST, "/v1/decide", br#"["kid", "recommend-videos"]"#, case(422, "invalid_body")),
        (Method::PUT, "/v1/children/kid", br#"{"age": ["parent_declared", null, 12]}"#, case(422, "invalid_body")),
        (Method::POST, "/v1/decide", br#"{"child": "kid", "purpose": "p", "context": [true]}"#, case(422, "invalid_body")),
        (Method::POST, "/v1/feed/filter", br#"{"child": "kid", "items": [["v1", "video"]]}"#, case(422, "invalid_body")),
        // An enum written as a map.
        (Method::POST, "/v1/children/kid/settings/recommend-videos", br#"{"value": {"on": null}}"#, case(422, "invalid_body")),
        // `null` for a field documented as a string (or an object).
        (Method::PUT, "/v1/children/kid", br#"{"time_zone": null}"#, case(422, "invalid_body")),
        (Method::PUT, "/v1/children/kid", br#"{"jurisdiction": null}"#, case(422, "invalid_body")),
        (Method::PUT, "/v1/children/kid", br#"{"age": null}"#, case(422, "invalid_body")),
        (Method::PUT, "/v1/children/kid/account", br#"{"geolocation": null}"#, case(422, "invalid_body")),
        (Method::POST, "/v1/feed/filter", br#"{"child": "kid", "items": [{"id": "v1", "kind": "video", "tags": null}]}"#, case(422, "invalid_body")),
        // Past the documented bounds.
        (Method::POST, "/v1/children/kid/usage", br#"{"minutes_today": 1441}"#, case(422, "invalid_body")),
        (Method::POST, "/v1/children/kid/usage", br#"{"minutes_today": 30.5}"#, case(422, "invalid_body")),
        (Method::PUT, "/v1/children/kid/interests", &br#"{"interests": ["a","b","c","d","e","f","g","h","i","j","k","l","m","n","o","p","q","r","s","t","u","v","w","x","y","z","a","b","c","d","e","f","g","h","i","j","k","l","m","n","o","p","q","r","s","t","u","v","w","x","y","z","a","b","c","d","e","f","g","h","i","j","k"]}"#[..], case(422, "invalid_body")),
    ];
    for (method, path, body, expected) in cases {
        let label = format!("{method} {path} {}", String::from_utf8_lossy(body));
        assert_eq!(
            raw(&server, method, path, json_type, body.to_vec()).await,
            expected,
            "{label}"
        );
    }
    // An integer as JSON Schema counts one: 30.0 and 3e1 are 30.
    for body in [
        &br#"{"minutes_today": 30.0}"#[..],
        br#"{"minutes_today": 3e1}"#,
    ] {
        let response = server
            .client
            .post(format!("{}/v1/children/kid/usage", server.base))
            .bearer_auth(&server.admin)
            .header("content-type", "application/json")
            .body(body.to_vec())
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
    }
    // Query strings: the JSON error shape, and the document's bounds.
    for path in [
        "/v1/webhooks/deliveries?limit=lots",
        "/v1/webhooks/deliveries?limit=0",
        "/v1/webhooks/deliveries?limit=1001",
        "/v1/webhooks/deliveries?colour=red",
        "/v1/parents/mum/alerts?after=-1",
        "/v1/parents/mum/alerts?after=soon",
    ] {
        let response = server
            .client
            .get(format!("{}{path}", server.base))
            .bearer_auth(&server.admin)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{path}");
        assert!(
            response.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("application/json"),
            "{path}"
        );
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"]["code"], "invalid_query", "{path}");
    }
    // Nothing refused was stored: no key made from `["decide"]`, the child as they were.
    let (_, keys) = server.get("/v1/keys").await;
    assert_eq!(keys["keys"].as_array().unwrap().len(), n_keys);
    let (_, child) = server.get("/v1/children/kid").await;
    assert_eq!(child["age"], 10);
    assert_eq!(child["time_zone"], Value::Null);
    assert_eq!(child["settings"][0]["effective"], "off");
}
