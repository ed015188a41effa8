//! The load benchmark's reference: the same stack as `ward serve` (tokio's multi-threaded
//! runtime, axum, HTTP/1.1, JSON bodies) answering `POST /v1/decide` and
//! `POST /v1/decide/batch` with a constant, after reading the body. `bench/load.sh` runs it
//! beside `ward serve` in one run; the ratio of the two is the cost of ward itself.
//!
//! Usage: `bare_decide ADDRESS` (for example `127.0.0.1:0`); prints `listening on http://…`.

use axum::Router;
use axum::body::Bytes;
use axum::http::header::CONTENT_TYPE;
use axum::routing::post;

const DECISION: &str = r#"{"allow":false,"reasons":["setting_off"],"obligations":[]}"#;

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let address = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:0".to_owned());
    let app = Router::new()
        .route(
            "/v1/decide",
            post(|_body: Bytes| async { ([(CONTENT_TYPE, "application/json")], DECISION) }),
        )
        .route(
            "/v1/decide/batch",
            post(|body: Bytes| async move {
                // One constant decision per request in the batch, as ward would answer.
                let n_requests = body.windows(7).filter(|w| w == b"\"child\"").count();
                let mut out = String::with_capacity(16 + n_requests * (DECISION.len() + 1));
                out.push_str("{\"decisions\":[");
                for idx in 0..n_requests {
                    if idx > 0 {
                        out.push(',');
                    }
                    out.push_str(DECISION);
                }
                out.push_str("]}");
                ([(CONTENT_TYPE, "application/json")], out)
            }),
        );
    let listener = tokio::net::TcpListener::bind(&address).await?;
    eprintln!("listening on http://{}", listener.local_addr()?);
    axum::serve(listener, app).await
}
