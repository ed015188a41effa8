//! The feed guard over HTTP: its vocabulary (a harm tag or CAP category in any spelling
//! reaches no one under 18; a word ward does not know is named, and removed for children),
//! and one id twice in a call is refused rather than answered both ways.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::{Backend, CLIPSTREAM, Server, on_both};

/// `(id, [reason codes])` for every removed item.
fn removed(body: &Value) -> Vec<(String, Vec<String>)> {
    body["removed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let codes = r["reasons"]
                .as_array()
                .unwrap()
                .iter()
                .map(|x| x["code"].as_str().unwrap().to_owned())
                .collect();
            (r["id"].as_str().unwrap().to_owned(), codes)
        })
        .collect()
}

#[tokio::test]
async fn self_harm_in_any_spelling_reaches_no_one_under_18() {
    on_both("feed vocabulary", |backend: Backend| async move {
        let server = Server::start(&backend, CLIPSTREAM).await;
        for (id, age) in [("kid-8", 8), ("kid-11", 11), ("kid-17", 17)] {
            server.child(id, age, "GB").await;
        }
        let (status, body) = server
            .put(
                "/v1/children/grown-up",
                json!({"age": {"method": "verified", "birth_date": "1990-05-01"}}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        let items = json!([
            {"id": "a", "kind": "post", "assessed": true, "tags": ["Self-Harm"]},
            {"id": "b", "kind": "post", "assessed": true, "tags": ["self-harm"]},
            {"id": "c", "kind": "post", "assessed": true, "tags": ["SELF_HARM"]},
            {"id": "d", "kind": "ad", "assessed": true, "ad_category": "Alcohol"},
            {"id": "e", "kind": "post", "assessed": true, "tags": ["Pro-Ana"]},
            {"id": "f", "kind": "post", "ratings": {"explicit": false}},
            {"id": "ok", "kind": "video", "ratings": {"bbfc": "U"}, "topics": ["Football"]},
        ]);
        for child in ["kid-8", "kid-11", "kid-17", "not-yet-known"] {
            let (status, body) = server
                .post("/v1/feed/filter", json!({"child": child, "items": items}))
                .await;
            assert_eq!(status, StatusCode::OK, "{body}");
            assert_eq!(body["kept"], json!(["ok"]), "{child}: {body}");
            let expected: Vec<(String, Vec<String>)> = [
                ("a", "harm_tag"),
                ("b", "harm_tag"),
                ("c", "harm_tag"),
                ("d", "ad_category"),
                ("e", "precaution"),
                ("f", "precaution"),
            ]
            .iter()
            .map(|(id, code)| ((*id).to_owned(), vec![(*code).to_owned()]))
            .collect();
            assert_eq!(removed(&body), expected, "{child}");
            // The word ward does not know is named in the notes.
            assert_eq!(body["notes"][0]["id"], "e", "{body}");
            assert_eq!(body["notes"][0]["notes"][0]["code"], "unknown_tag");
            assert!(
                body["notes"][0]["notes"][0]["message"]
                    .as_str()
                    .unwrap()
                    .starts_with("`Pro-Ana` is not a tag ward knows"),
                "{body}"
            );
        }
        // An adult gets everything, with the note on the unknown word.
        let (status, body) = server
            .post(
                "/v1/feed/filter",
                json!({"child": "grown-up", "items": items}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["unfiltered"], true);
        assert_eq!(body["kept"].as_array().unwrap().len(), 7, "{body}");
        assert_eq!(body["notes"][0]["id"], "e", "{body}");
    })
    .await;
}

#[tokio::test]
async fn a_feed_over_ten_thousand_items_is_refused_with_its_count_and_items_past_it_are_not_read() {
    let server = Server::start(&Backend::Sqlite, CLIPSTREAM).await;
    server.child("kid", 11, "GB").await;
    let item = |n: usize| json!({"id": format!("v{n}"), "kind": "video", "ratings": {"bbfc": "U"}, "topics": ["cartoons"]});
    let mut items: Vec<_> = (0..10_000).map(item).collect();
    let (status, body) = server
        .post(
            "/v1/feed/filter",
            json!({"child": "kid", "items": items, "answer": "compact"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "10,000 items are within the limit");
    assert!(
        body["kept"].as_array().is_some_and(|kept| !kept.is_empty()),
        "{body}"
    );
    items.push(item(10_000));
    let (status, body) = server
        .post("/v1/feed/filter", json!({"child": "kid", "items": &items}))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(
        body["error"]["message"],
        "a feed may carry at most 10000 items, this one has 10001"
    );
    // Past the limit items are counted, not read: one that would be refused for its shape
    // does not change the answer (read, it would be an unknown field's error).
    items.push(json!({"id": "v-odd", "kind": "video", "colour": "red"}));
    let (status, body) = server
        .post("/v1/feed/filter", json!({"child": "kid", "items": &items}))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["error"]["code"], "invalid_body");
    assert_eq!(
        body["error"]["message"],
        "a feed may carry at most 10000 items, this one has 10002"
    );
}

#[tokio::test]
async fn one_item_id_twice_in_a_call_is_refused_naming_the_id() {
    on_both("feed duplicate ids", |backend: Backend| async move {
        let server = Server::start(&backend, CLIPSTREAM).await;
        server.child("kid", 11, "GB").await;
        let items = json!([
            {"id": "v1", "kind": "video", "ratings": {"bbfc": "U"}, "topics": ["cartoons"]},
            {"id": "v2", "kind": "video", "ratings": {"bbfc": "U"}, "topics": ["cartoons"]},
            {"id": "v1", "kind": "video", "ratings": {"bbfc": "18"}, "topics": ["cartoons"]},
        ]);
        let (status, body) = server
            .post("/v1/feed/filter", json!({"child": "kid", "items": items}))
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        assert_eq!(body["error"]["code"], "invalid_body");
        assert_eq!(
            body["error"]["message"],
            "item ids must be unique: `v1` is both items[0] and items[2]"
        );
        // Nothing was judged: the drift window is as it was. Unique ids are judged.
        let (_, export) = server.get("/v1/children/kid/export").await;
        assert_eq!(
            export["drift"]["report"]["window_items"], 0,
            "{}",
            export["drift"]
        );
        let (status, body) = server
            .post(
                "/v1/feed/filter",
                json!({"child": "kid", "items": [items[0], items[1]]}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["drift"]["window_items"], 2, "{body}");
    })
    .await;
}

/// Every `(id, [code])` under `key` ("removed", "held", "notes"), reading codes as the full
/// answer gives them (`{"code", "message"}`) or as the compact one does (plain strings).
fn codes_of(body: &Value, key: &str) -> Vec<(String, Vec<String>)> {
    let inner = if key == "notes" { "notes" } else { "reasons" };
    body[key]
        .as_array()
        .unwrap()
        .iter()
        .map(|entry| {
            let codes = entry[inner]
                .as_array()
                .unwrap()
                .iter()
                .map(|code| match code {
                    Value::String(code) => code.clone(),
                    full => full["code"].as_str().unwrap().to_owned(),
                })
                .collect();
            (entry["id"].as_str().unwrap().to_owned(), codes)
        })
        .collect()
}

#[tokio::test]
async fn the_compact_answer_names_the_same_items_and_codes_as_the_full_one_without_sentences() {
    on_both("feed compact answer", |backend: Backend| async move {
        let server = Server::start(&backend, CLIPSTREAM).await;
        server.child("kid-a", 11, "GB").await;
        server.child("kid-b", 11, "GB").await;
        let items = json!([
            {"id": "ok", "kind": "video", "ratings": {"bbfc": "U"}, "topics": ["football"]},
            {"id": "advisory", "kind": "video", "ratings": {"bbfc": "PG"}, "topics": ["football"]},
            {"id": "rated-15", "kind": "video", "ratings": {"bbfc": "15"}},
            {"id": "harm", "kind": "post", "assessed": true, "tags": ["self_harm"], "ratings": {"bbfc": "18"}},
            {"id": "unknown", "kind": "post", "assessed": true, "tags": ["Pro-Ana"]},
            {"id": "nudge", "kind": "notification", "trigger": "inactivity"},
            {"id": "reply", "kind": "notification", "trigger": "reply"},
            {"id": "stranger", "kind": "user", "adult": true, "known_to_child": false},
        ]);
        let (status, full) = server
            .post("/v1/feed/filter", json!({"child": "kid-a", "items": items}))
            .await;
        assert_eq!(status, StatusCode::OK, "{full}");
        let (status, compact) = server
            .post(
                "/v1/feed/filter",
                json!({"child": "kid-b", "items": items, "answer": "compact"}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{compact}");
        for key in ["kept", "held_until", "age", "unfiltered"] {
            assert_eq!(compact[key], full[key], "{key}: {compact} against {full}");
        }
        assert_eq!(compact["drift"], full["drift"], "same child, same window");
        for key in ["removed", "held", "notes"] {
            assert_eq!(codes_of(&compact, key), codes_of(&full, key), "{key}");
        }
        assert_eq!(
            codes_of(&compact, "removed")
                .iter()
                .find(|(id, _)| id == "harm")
                .map(|(_, codes)| codes.clone()),
            Some(vec!["age_rating".to_owned(), "harm_tag".to_owned()]),
            "every reason, as in the full answer: {compact}"
        );
        assert!(!codes_of(&compact, "notes").is_empty(), "{compact}");
        // No prose and no kinds: ids and codes only.
        let text = compact.to_string();
        assert!(!text.contains("message") && !text.contains("\"kind\""), "{text}");
        assert!(full.to_string().contains("message"));
        // `"answer": "full"` is the default, said out loud.
        let (_, said) = server
            .post(
                "/v1/feed/filter",
                json!({"child": "kid-a", "items": items, "answer": "full"}),
            )
            .await;
        assert_eq!(codes_of(&said, "removed"), codes_of(&full, "removed"));
        assert_eq!(said["removed"][0]["reasons"][0]["message"], full["removed"][0]["reasons"][0]["message"]);
        // Sentences on request: `explain` adds why each kept item may be shown.
        let (status, explained) = server
            .post(
                "/v1/feed/filter",
                json!({"child": "kid-b", "items": items, "answer": "compact", "explain": true}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{explained}");
        assert!(explained["why_shown"]["ok"].as_array().is_some_and(|why| !why.is_empty()), "{explained}");
        assert!(explained["removed"][0]["reasons"][0].is_string(), "{explained}");
        // Any other answer is refused, as the document says.
        let (status, body) = server
            .post(
                "/v1/feed/filter",
                json!({"child": "kid-b", "items": items, "answer": "terse"}),
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        assert_eq!(body["error"]["code"], "invalid_body");
    })
    .await;
}

/// The feed's body is read as text once: bytes that are not UTF-8 are `malformed_json` at
/// their line and column; strings written with escapes (which cannot be borrowed from the
/// body) are judged as the same strings written plainly; the reader's strictness holds.
#[tokio::test]
async fn the_feed_body_is_read_strictly_whatever_its_spelling() {
    let server = Server::start(&Backend::Sqlite, CLIPSTREAM).await;
    server.child("kid", 11, "GB").await;
    let send = |body: Vec<u8>| {
        server
            .client
            .post(format!("{}/v1/feed/filter", server.base))
            .bearer_auth(&server.admin)
            .header("content-type", "application/json")
            .body(body)
            .send()
    };
    let mut body = br#"{"child": "kid", "items": [{"id": "v1", "kind": "video"},
 {"id": "v"#
        .to_vec();
    body.extend_from_slice(b"\xff2\", \"kind\": \"video\"}]}");
    let response = send(body).await.unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let error: Value = response.json().await.unwrap();
    assert_eq!(error["error"]["code"], "malformed_json", "{error}");
    assert_eq!(
        error["error"]["message"],
        "the body is not valid: it is not UTF-8 at line 2 column 11"
    );

    let plain = json!({"child": "kid", "answer": "compact", "items": [
        {"id": "v-1", "kind": "video", "ratings": {"bbfc": "15"}, "topics": ["football"]},
        {"id": "v-2", "kind": "post", "assessed": true, "tags": ["Self-Harm"]},
        {"id": "v-3", "kind": "video", "ratings": {"pegi": 7}, "source": "bbc"},
    ]});
    let escaped = r#"{"child": "k\u0069d", "answer": "c\u006fmpact", "items": [
        {"id": "v\u002d1", "kind": "video", "ratings": {"bbfc": "1\u0035"}, "topics": ["foot\u0062all"]},
        {"id": "v\u002d2", "kind": "post", "assessed": true, "tags": ["Self\u002dHarm"]},
        {"id": "v\u002d3", "kind": "video", "ratings": {"pegi": 7}, "source": "b\u0062c"}
    ]}"#;
    let (status, expected) = server.post("/v1/feed/filter", plain).await;
    assert_eq!(status, StatusCode::OK, "{expected}");
    assert_eq!(expected["kept"], json!(["v-3"]), "{expected}");
    let response = send(escaped.as_bytes().to_vec()).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let answer: Value = response.json().await.unwrap();
    assert_eq!(answer["kept"], expected["kept"]);
    assert_eq!(answer["removed"], expected["removed"]);

    for (body, code) in [
        (
            r#"{"child": "kid", "items": [], "items": []}"#,
            "invalid_body",
        ),
        (
            r#"{"child": "kid", "child": "kid", "items": []}"#,
            "invalid_body",
        ),
        (r#"{"items": []}"#, "invalid_body"),
        (r#"{"child": "kid"}"#, "invalid_body"),
        (
            r#"{"child": "kid", "items": [], "colour": 1}"#,
            "invalid_body",
        ),
        (
            r#"{"child": "kid", "items": [], "explain": null}"#,
            "invalid_body",
        ),
        (r#"["kid", []]"#, "invalid_body"),
        (
            r#"{"child": "kid", "items": [{"id": "v", "kind": "video", "id": "w"}]}"#,
            "invalid_body",
        ),
        (
            r#"{"child": "kid", "items": [{"id": "v", "kind": "video"}"#,
            "malformed_json",
        ),
    ] {
        let response = send(body.as_bytes().to_vec()).await.unwrap();
        let status = response.status();
        let error: Value = response.json().await.unwrap();
        assert_eq!(error["error"]["code"], code, "{body}: {error}");
        assert!(status.is_client_error(), "{body}: {status}");
    }
}
