//! Policy reload: a policy with errors is refused and the old one keeps serving; a changed
//! purpose loses its consents; removed purposes drop their settings; new ones start at their
//! defaults; stored children move to the new generation with their events.

use reqwest::StatusCode;
use serde_json::json;

use crate::support::{Backend, CLIPSTREAM, Server, on_both, reason};

#[tokio::test]
async fn a_policy_with_errors_is_refused_and_the_old_one_keeps_serving() {
    on_both("reload refused", |backend: Backend| async move {
        let server = Server::start(&backend, CLIPSTREAM).await;
        let broken = CLIPSTREAM.replace(
            "profile_visibility = \"private\"",
            "profile_visibility = \"public\"",
        );
        assert_ne!(broken, CLIPSTREAM);
        std::fs::write(&server.policy_path, &broken).unwrap();
        let (status, body) = server.post("/v1/policy/reload", json!({})).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        assert_eq!(body["error"]["code"], "policy_invalid");
        let rules: Vec<&str> = body["error"]["details"]["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["rule"].as_str().unwrap())
            .collect();
        assert_eq!(rules, ["public-profile-by-default"]);
        std::fs::write(&server.policy_path, "[service\n").unwrap();
        let (status, body) = server.post("/v1/policy/reload", json!({})).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        let (_, policy) = server.get("/v1/policy").await;
        assert_eq!(policy["generation"], 1);
        assert_eq!(
            reason(&server.decide("stranger", "remember-subtitles").await),
            "setting_on"
        );
    })
    .await;
}

#[tokio::test]
async fn a_changed_description_needs_consent_again_and_children_move_to_the_new_policy() {
    on_both("reload", |backend: Backend| async move {
        let server = Server::start(&backend, CLIPSTREAM).await;
        server.child("kid-14", 14, "GB").await;
        let intervention = server.request_on("kid-14", "recommend-videos").await;
        server.acknowledge(&intervention).await;
        assert_eq!(reason(&server.decide("kid-14", "recommend-videos").await), "setting_on");

        let unchanged = server.post("/v1/policy/reload", json!({})).await.1;
        assert_eq!(unchanged["changed"], false);

        let changed = CLIPSTREAM
            .replace(
                "Uses the videos you watch and like to choose the next videos we show you.",
                "Uses the videos you watch, like and share to choose the next videos we show you.",
            )
            .replace("id = \"remember-subtitles\"", "id = \"keep-subtitles\"")
            .replace("setting = \"remember-subtitles\"", "setting = \"keep-subtitles\"")
            .replace("purposes = [\"remember-subtitles\"]", "purposes = [\"keep-subtitles\"]")
            .replace("collected_for = \"remember-subtitles\"", "collected_for = \"keep-subtitles\"");
        std::fs::write(&server.policy_path, &changed).unwrap();
        let (status, reloaded) = server.post("/v1/policy/reload", json!({})).await;
        assert_eq!(status, StatusCode::OK, "{reloaded}");
        assert_eq!(reloaded["generation"], 2);
        assert_eq!(reloaded["changes"], json!({"added": ["keep-subtitles"], "removed": ["remember-subtitles"], "reconsent": ["recommend-videos"]}));
        // Consent to the old description is not consent to the new one, at once; and what
        // the child's state shows agrees: off, as they asked for it, until they switch it on
        // again (a 14-year-old in Britain consents themself).
        assert_eq!(reason(&server.decide("kid-14", "recommend-videos").await), "setting_off");
        let (_, kid) = server.get("/v1/children/kid-14").await;
        let setting = kid["settings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["id"] == "recommend-videos")
            .unwrap();
        assert_eq!((&setting["preferred"], &setting["effective"]), (&json!("on"), &json!("off")));
        assert_eq!(setting["consent"], json!(null));
        assert_eq!(reason(&server.decide("kid-14", "keep-subtitles").await), "setting_on");

        // The background task moves stored children; doing it here as well finds none left.
        server.state.migrate_children().await.unwrap();
        assert_eq!(server.state.migrate_children().await.unwrap(), 0);
        let (_, export) = server.get("/v1/children/kid-14/export").await;
        let kinds: Vec<&str> = export["ledger"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["kind"].as_str().unwrap())
            .collect();
        for kind in ["reconsent_required", "setting_added", "setting_removed"] {
            assert!(kinds.contains(&kind), "{kind} missing from {kinds:?}");
        }
        // The child switches it on again and consents to what it now says.
        let intervention = server.request_on("kid-14", "recommend-videos").await;
        let (status, _) = server.acknowledge(&intervention).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(reason(&server.decide("kid-14", "recommend-videos").await), "setting_on");
        let (_, verdict) = server.get("/v1/ledger/verify").await;
        assert_eq!(verdict["ok"], true);
    })
    .await;
}
