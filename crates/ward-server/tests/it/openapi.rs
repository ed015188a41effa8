//! The OpenAPI document says what the server does: every path and method in it is routed,
//! and every error code the server can send is listed.

use reqwest::{Method, StatusCode};

use crate::support::{Backend, CLIPSTREAM, Server};

#[tokio::test]
async fn every_documented_route_exists_and_every_error_code_is_documented() {
    let server = Server::start(&Backend::Sqlite, CLIPSTREAM).await;
    let (status, doc) = server
        .call(Method::GET, "/v1/openapi.json", None, None)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(doc["openapi"], "3.1.0");
    let paths = doc["paths"].as_object().unwrap();
    assert!(paths.len() >= 32, "{}", paths.len());
    for (path, operations) in paths {
        let concrete = path
            .replace("{id}", "some-id")
            .replace("{setting}", "some-setting")
            .replace("{parent}", "some-parent");
        for (method, operation) in operations.as_object().unwrap() {
            let method = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            if operation["responses"]["200"]["content"]["text/event-stream"].is_object() {
                // A stream never ends: look at the head only.
                let response = server
                    .client
                    .request(method.clone(), format!("{}{concrete}", server.base))
                    .bearer_auth(&server.admin)
                    .send()
                    .await
                    .unwrap();
                assert_eq!(response.status(), StatusCode::OK, "{method} {path}");
                continue;
            }
            let (status, body) = server
                .call(method.clone(), &concrete, Some(&server.admin), None)
                .await;
            let code = body["error"]["code"].as_str().unwrap_or("");
            assert!(
                code != "not_found" && code != "method_not_allowed",
                "{method} {path} is documented but not routed ({status} {body})"
            );
        }
    }
    let documented: Vec<&str> =
        doc["components"]["schemas"]["Error"]["properties"]["error"]["properties"]["code"]["enum"]
            .as_array()
            .unwrap()
            .iter()
            .map(|code| code.as_str().unwrap())
            .collect();
    let sent: Vec<&str> = ward_server::error::Code::ALL
        .iter()
        .map(|code| code.as_str())
        .collect();
    assert_eq!(documented, sent);
}
