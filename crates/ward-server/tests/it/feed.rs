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
