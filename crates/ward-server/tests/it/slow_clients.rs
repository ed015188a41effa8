//! Slow and idle clients over a real TCP port (`crate::listener` in ward-server): a
//! connection that sends nothing, a head that trickles in, a body that stalls (JSON and a
//! page's form), kept-alive connections left idle, a flood over the connection cap, heads
//! over the limits, a client that stops reading; and shutdown with an alert stream open and
//! with a request that never finishes. The timeouts are made short by configuration, and
//! each test measures how long the connection lived.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use ward_server::ListenerConfig;

use crate::support::{Backend, CLIPSTREAM, Server};

/// The longest any test waits for the server to act.
const PATIENCE: Duration = Duration::from_secs(10);

fn ms(millis: u64) -> Duration {
    Duration::from_millis(millis)
}

/// Timeouts in milliseconds, 64 connections, a 5 s grace.
fn limits(header: u64, body: u64, idle: u64) -> ListenerConfig {
    ListenerConfig {
        header_timeout: ms(header),
        body_timeout: ms(body),
        idle_timeout: ms(idle),
        max_connections: 64,
        shutdown_grace: Duration::from_secs(5),
    }
}

async fn start(listener: ListenerConfig) -> Server {
    Server::start_with_listener(&Backend::Sqlite, CLIPSTREAM, listener).await
}

async fn connect(server: &Server) -> TcpStream {
    TcpStream::connect(server.base.trim_start_matches("http://"))
        .await
        .unwrap()
}

/// Reads until the server closes the connection; returns what arrived. Fails if it is still
/// open after [`PATIENCE`].
async fn read_to_close(stream: &mut TcpStream) -> Vec<u8> {
    let mut received = Vec::new();
    let closed = tokio::time::timeout(PATIENCE, async {
        let mut buf = [0u8; 8192];
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => received.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await;
    assert!(
        closed.is_ok(),
        "the server kept the connection open for {PATIENCE:?}"
    );
    received
}

/// One response: status, head, body (read by its `content-length`).
async fn read_response(stream: &mut TcpStream) -> (u16, String, String) {
    let mut data = Vec::new();
    let mut buf = [0u8; 8192];
    loop {
        if let Some(end) = data.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&data[..end]).to_lowercase();
            let length: usize = head
                .lines()
                .find_map(|line| line.strip_prefix("content-length:"))
                .map_or(0, |value| value.trim().parse().unwrap());
            if data.len() >= end + 4 + length {
                let status = head[9..12].parse().unwrap();
                let body = String::from_utf8_lossy(&data[end + 4..end + 4 + length]).into_owned();
                return (status, head, body);
            }
        }
        let n = tokio::time::timeout(PATIENCE, stream.read(&mut buf))
            .await
            .expect("a response in time")
            .unwrap();
        assert!(
            n > 0,
            "closed before a whole response: {}",
            String::from_utf8_lossy(&data)
        );
        data.extend_from_slice(&buf[..n]);
    }
}

fn error_code(body: &str) -> String {
    let body: Value = serde_json::from_str(body).unwrap_or(Value::Null);
    body["error"]["code"].as_str().unwrap_or("").to_owned()
}

/// `GET /healthz` on a new connection: its status (`None` when the connection failed).
async fn healthz(server: &Server) -> Option<StatusCode> {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .unwrap();
    let response = client
        .get(format!("{}/healthz", server.base))
        .send()
        .await
        .ok()?;
    Some(response.status())
}

/// Waits until `/healthz` answers 200, asking every 20 ms; returns how long that took.
async fn until_healthy(server: &Server) -> Duration {
    let started = Instant::now();
    let mut tick = tokio::time::interval(ms(20));
    loop {
        tick.tick().await;
        if healthz(server).await == Some(StatusCode::OK) {
            return started.elapsed();
        }
        assert!(started.elapsed() < PATIENCE, "/healthz never answered");
    }
}

#[tokio::test]
async fn a_connection_that_sends_nothing_is_closed_after_the_header_timeout() {
    let server = start(limits(300, 30_000, 30_000)).await;
    let mut stream = connect(&server).await;
    let connected = Instant::now();
    let received = read_to_close(&mut stream).await;
    let lived = connected.elapsed();
    assert!(received.is_empty(), "{received:?}");
    assert!(lived >= ms(300), "{lived:?}");
    eprintln!("a connection that sent nothing lived {lived:?} (header timeout 300 ms)");
}

#[tokio::test]
async fn a_request_head_that_trickles_in_is_closed_after_the_header_timeout() {
    let server = start(limits(500, 30_000, 30_000)).await;
    let mut stream = connect(&server).await;
    let connected = Instant::now();
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nhost: ward\r\n")
        .await
        .unwrap();
    // A header line every 100 ms: the clock is not reset by each byte that arrives.
    let mut tick = tokio::time::interval(ms(100));
    let mut buf = [0u8; 1024];
    let lived = loop {
        assert!(connected.elapsed() < PATIENCE, "still open");
        tokio::select! {
            read = stream.read(&mut buf) => match read {
                Ok(0) | Err(_) => break connected.elapsed(),
                Ok(n) => panic!("answered: {}", String::from_utf8_lossy(&buf[..n])),
            },
            _ = tick.tick() => {
                if stream.write_all(b"x-slow: 1\r\n").await.is_err() {
                    break connected.elapsed();
                }
            }
        }
    };
    assert!(lived >= ms(500), "{lived:?}");
    eprintln!("a head trickling in lived {lived:?} (header timeout 500 ms)");
}

#[tokio::test]
async fn a_kept_alive_connection_left_idle_is_closed_after_the_idle_timeout() {
    // Idle shorter than the header timeout: the idle one closes it.
    let server = start(limits(5_000, 30_000, 300)).await;
    let mut stream = connect(&server).await;
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nhost: ward\r\n\r\n")
        .await
        .unwrap();
    let (status, head, _) = read_response(&mut stream).await;
    assert_eq!(status, 200);
    assert!(!head.contains("connection: close"), "{head}");
    let answered = Instant::now();
    assert!(read_to_close(&mut stream).await.is_empty());
    let lived = answered.elapsed();
    assert!(lived < ms(5_000), "closed by the header timeout: {lived:?}");
    eprintln!("an idle kept-alive connection lived {lived:?} after its answer (idle 300 ms)");

    // Idle longer than the header timeout: it lives past the header timeout, and serves the
    // next request.
    let server = start(limits(200, 30_000, 1_500)).await;
    let mut stream = connect(&server).await;
    for _ in 0..2 {
        stream
            .write_all(b"GET /healthz HTTP/1.1\r\nhost: ward\r\n\r\n")
            .await
            .unwrap();
        assert_eq!(read_response(&mut stream).await.0, 200);
    }
    let answered = Instant::now();
    assert!(read_to_close(&mut stream).await.is_empty());
    let lived = answered.elapsed();
    assert!(
        lived >= ms(1_000),
        "closed before the idle timeout: {lived:?}"
    );
}

#[tokio::test]
async fn a_body_that_stalls_is_answered_408_request_timeout() {
    let server = start(limits(5_000, 300, 30_000)).await;
    let mut stream = connect(&server).await;
    let request = format!(
        "POST /v1/decide HTTP/1.1\r\nhost: ward\r\nauthorization: Bearer {}\r\n\
         content-type: application/json\r\ncontent-length: 100\r\n\r\n{{\"child\": ",
        server.admin
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let sent = Instant::now();
    let (status, head, body) = read_response(&mut stream).await;
    let waited = sent.elapsed();
    assert_eq!(status, 408, "{body}");
    assert!(head.contains("content-type: application/json"), "{head}");
    assert_eq!(error_code(&body), "request_timeout", "{body}");
    assert!(body.contains("300 ms"), "{body}");
    assert!(waited >= ms(300), "{waited:?}");
    // The rest of the body will not be read: the connection closes.
    read_to_close(&mut stream).await;
    eprintln!("a stalled body was answered 408 after {waited:?} (body timeout 300 ms)");

    // A body that arrives in time is served as usual.
    let (status, body) = server
        .post(
            "/v1/decide",
            json!({"child": "kid", "purpose": "recommend-videos"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[tokio::test]
async fn a_page_form_that_stalls_is_answered_with_a_408_page() {
    let server = start(limits(5_000, 300, 30_000)).await;
    server.child("kid", 10, "GB").await;
    let (status, link) = server.post("/v1/children/kid/page-link", json!({})).await;
    assert_eq!(status, StatusCode::CREATED, "{link}");
    let browser = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let opened = browser
        .get(link["url"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    let cookie = opened.headers()["set-cookie"].to_str().unwrap();
    let cookie = cookie.split(';').next().unwrap().to_owned();

    let mut stream = connect(&server).await;
    let request = format!(
        "POST /pages/sign-out HTTP/1.1\r\nhost: {}\r\ncookie: {cookie}\r\norigin: {}\r\n\
         sec-fetch-site: same-origin\r\ncontent-type: application/x-www-form-urlencoded\r\n\
         content-length: 90\r\n\r\ncsrf=",
        server.base.trim_start_matches("http://"),
        server.base
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let (status, head, body) = read_response(&mut stream).await;
    assert_eq!(status, 408, "{body}");
    assert!(head.contains("content-type: text/html"), "{head}");
    assert!(body.contains("took too long"), "{body}");
}

#[tokio::test]
async fn connections_over_the_cap_are_answered_503_and_healthz_answers_once_the_flood_is_gone() {
    let server = start(ListenerConfig {
        max_connections: 4,
        ..limits(60_000, 30_000, 60_000)
    })
    .await;
    let mut flood = Vec::new();
    for _ in 0..4 {
        flood.push(connect(&server).await);
    }
    // Accepted in order: the four hold every slot, so the fifth is refused, at once.
    let mut extra = connect(&server).await;
    let asked = Instant::now();
    extra
        .write_all(b"GET /healthz HTTP/1.1\r\nhost: ward\r\n\r\n")
        .await
        .unwrap();
    let (status, head, body) = read_response(&mut extra).await;
    let answered_in = asked.elapsed();
    assert_eq!(status, 503, "{body}");
    assert!(head.contains("connection: close"), "{head}");
    assert!(head.contains("retry-after: 1"), "{head}");
    assert_eq!(error_code(&body), "too_many_connections", "{body}");
    assert!(body.contains("(4)"), "{body}");
    assert!(read_to_close(&mut extra).await.is_empty());
    assert_eq!(
        healthz(&server).await,
        Some(StatusCode::SERVICE_UNAVAILABLE)
    );

    drop(flood);
    let recovered_in = until_healthy(&server).await;
    eprintln!(
        "over the cap: answered 503 in {answered_in:?}; /healthz answered {recovered_in:?} after the flood closed"
    );
}

#[tokio::test]
async fn a_flood_that_never_closes_gives_way_after_the_header_timeout() {
    let server = start(ListenerConfig {
        max_connections: 4,
        ..limits(400, 30_000, 60_000)
    })
    .await;
    let flooded = Instant::now();
    let mut flood = Vec::new();
    for _ in 0..4 {
        flood.push(connect(&server).await);
    }
    assert_eq!(
        healthz(&server).await,
        Some(StatusCode::SERVICE_UNAVAILABLE)
    );
    // The flood keeps its sockets open; the server closes them.
    until_healthy(&server).await;
    let starved = flooded.elapsed();
    assert!(starved >= ms(400), "{starved:?}");
    for mut stream in flood {
        assert!(read_to_close(&mut stream).await.is_empty());
    }
    eprintln!("a flood of idle connections held the cap for {starved:?} (header timeout 400 ms)");
}

#[tokio::test]
async fn a_request_head_over_the_limits_is_answered_431_in_json() {
    let server = start(limits(5_000, 30_000, 30_000)).await;
    let many: String = (0..101).map(|n| format!("x-h{n}: 1\r\n")).collect();
    let cases = [
        (
            "40 KiB of headers",
            format!("x-big: {}\r\n", "a".repeat(40 << 10)),
        ),
        ("101 headers", many),
        // Far past hyper's own buffer (about 400 KiB), which would answer 431 with no body.
        (
            "4 MiB of headers",
            format!("x-huge: {}\r\n", "a".repeat(4 << 20)),
        ),
    ];
    for (what, headers) in cases {
        let stream = connect(&server).await;
        let (mut reader, mut writer) = stream.into_split();
        let request = format!("GET /healthz HTTP/1.1\r\nhost: ward\r\n{headers}\r\n");
        // The server stops reading early: write from another task.
        let writing = tokio::spawn(async move {
            let _ = writer.write_all(request.as_bytes()).await;
            writer
        });
        let mut data = Vec::new();
        let _ = tokio::time::timeout(PATIENCE, reader.read_to_end(&mut data)).await;
        let text = String::from_utf8_lossy(&data);
        let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
        assert!(head.starts_with("HTTP/1.1 431 "), "{what}: {text}");
        assert!(
            head.contains("content-type: application/json"),
            "{what}: {head}"
        );
        assert_eq!(error_code(body), "headers_too_large", "{what}: {body}");
        drop(writing.await.unwrap());
    }
    // Just within the limits (100 headers, 31 KiB): served.
    let mut stream = connect(&server).await;
    let headers: String = (0..98).map(|n| format!("x-h{n}: 1\r\n")).collect();
    let padding = "a".repeat(30 << 10);
    let request =
        format!("GET /healthz HTTP/1.1\r\nhost: ward\r\nx-pad: {padding}\r\n{headers}\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    assert_eq!(read_response(&mut stream).await.0, 200);
}

#[tokio::test]
async fn a_client_that_stops_reading_does_not_keep_its_connection() {
    let server = start(ListenerConfig {
        max_connections: 1,
        ..limits(10_000, 30_000, 500)
    })
    .await;
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let address = server.base.trim_start_matches("http://").parse().unwrap();
    let mut stream = socket.connect(address).await.unwrap();
    // 200 requests for the 50 KiB OpenAPI document, read by nobody: far more than the
    // socket buffers hold, so the server's writes stop.
    let requests = "GET /v1/openapi.json HTTP/1.1\r\nhost: ward\r\n\r\n".repeat(200);
    stream.write_all(requests.as_bytes()).await.unwrap();
    let stalled = Instant::now();
    let freed_in = until_healthy(&server).await;
    assert!(freed_in >= ms(400), "{freed_in:?}");
    eprintln!(
        "a client that stopped reading held its connection {:?} (idle timeout 500 ms)",
        stalled.elapsed()
    );
    drop(stream);
}

#[tokio::test]
async fn shutdown_ends_alert_streams_and_does_not_wait_for_them() {
    let server = start(limits(10_000, 30_000, 30_000)).await;
    server.child("kid", 9, "GB").await;
    let (status, body) = server.put("/v1/children/kid/parents/mum", json!({})).await;
    assert!(status.is_success(), "{body}");
    let mum = server.key("parent:mum").await;
    let mut stream = server.alerts("mum", &mum, None).await;
    let (status, _) = server
        .post(
            "/v1/children/kid/settings/remember-subtitles",
            json!({"value": "off"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(stream.next().await.event, "setting_changed");

    let started = Instant::now();
    let stopping = tokio::spawn(server.shut_down());
    assert!(stream.ends_cleanly().await, "the stream broke off");
    tokio::time::timeout(PATIENCE, stopping)
        .await
        .unwrap()
        .unwrap();
    let took = started.elapsed();
    // The grace is 5 s: a stream that did not end would have been dropped at its end.
    assert!(took < Duration::from_secs(4), "{took:?}");
    eprintln!("shutdown with an alert stream open took {took:?}");
}

#[tokio::test]
async fn a_request_still_in_flight_after_the_grace_is_dropped() {
    let server = start(ListenerConfig {
        shutdown_grace: ms(500),
        ..limits(10_000, 60_000, 30_000)
    })
    .await;
    let mut stream = connect(&server).await;
    // `Expect: 100-continue`: the server says when it starts reading the body, so the
    // request is known to be in flight.
    let request = format!(
        "POST /v1/decide HTTP/1.1\r\nhost: ward\r\nauthorization: Bearer {}\r\n\
         content-type: application/json\r\ncontent-length: 100\r\nexpect: 100-continue\r\n\r\n",
        server.admin
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut buf = [0u8; 256];
    let n = tokio::time::timeout(PATIENCE, stream.read(&mut buf))
        .await
        .unwrap()
        .unwrap();
    assert!(
        buf[..n].starts_with(b"HTTP/1.1 100 Continue"),
        "{}",
        String::from_utf8_lossy(&buf[..n])
    );
    stream.write_all(b"{\"child\": ").await.unwrap();

    let started = Instant::now();
    tokio::time::timeout(PATIENCE, server.shut_down())
        .await
        .expect("shutdown finished within the grace");
    let took = started.elapsed();
    assert!(took >= ms(500), "{took:?}");
    // Dropped, not answered.
    assert!(read_to_close(&mut stream).await.is_empty());
    eprintln!("shutdown with a request stuck in flight took {took:?} (grace 500 ms)");
}
