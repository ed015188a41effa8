//! `/metrics`: the format chosen by `Accept`, the 0.0.4 form derived from OpenMetrics, and the
//! requests no route answers (404, 405) counted under bounded labels. The real parsers
//! (promtool, Python's OpenMetrics parser) run in `crates/ward/tests/it/tools.rs`.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::metrics::info::Info;
use prometheus_client::registry::Registry;
use reqwest::{Method, StatusCode, header};
use ward_server::metrics::{Format, method_label, openmetrics_to_text};

use crate::support::{Backend, CLIPSTREAM, Server};

const OPENMETRICS: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";
const TEXT: &str = "text/plain; version=0.0.4; charset=utf-8";

#[test]
fn the_accept_header_picks_the_format() {
    let cases: &[(Option<&str>, Format)] = &[
        (None, Format::Text),
        (Some(""), Format::Text),
        (Some("*/*"), Format::Text),
        (Some("text/plain"), Format::Text),
        (Some("application/json"), Format::Text),
        (Some("application/openmetrics-text"), Format::OpenMetrics),
        (
            Some("application/openmetrics-text; version=1.0.0"),
            Format::OpenMetrics,
        ),
        // Prometheus 2.x's default scrape header.
        (
            Some(
                "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1",
            ),
            Format::OpenMetrics,
        ),
        // Prometheus 3.x's, with its escaping parameter.
        (
            Some(
                "application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.5,application/openmetrics-text;version=0.0.1;q=0.4,text/plain;version=1.0.0;escaping=allow-utf-8;q=0.3,text/plain;version=0.0.4;q=0.2,*/*;q=0.1",
            ),
            Format::OpenMetrics,
        ),
        // A version of OpenMetrics ward does not write is not accepted as OpenMetrics.
        (
            Some("application/openmetrics-text;version=0.0.1,text/plain;q=0.1"),
            Format::Text,
        ),
        (
            Some("text/plain;version=0.0.4;q=0.9,application/openmetrics-text;q=0.5"),
            Format::Text,
        ),
        (Some("application/openmetrics-text;q=0,*/*"), Format::Text),
        (
            Some("text/plain;q=0.5, application/openmetrics-text;q=0.5"),
            Format::OpenMetrics,
        ),
        (
            Some("*/*, application/openmetrics-text"),
            Format::OpenMetrics,
        ),
        (Some("APPLICATION/OpenMetrics-Text"), Format::OpenMetrics),
        (Some("application/openmetrics-text;q=2"), Format::Text),
        (Some("application/openmetrics-text;q=nope"), Format::Text),
    ];
    for (accept, expected) in cases {
        assert_eq!(Format::negotiate(*accept), *expected, "Accept: {accept:?}");
    }
}

#[test]
fn methods_outside_the_known_set_share_one_label() {
    assert_eq!(method_label("GET"), "GET");
    assert_eq!(method_label("DELETE"), "DELETE");
    assert_eq!(method_label("get"), "other");
    assert_eq!(method_label("BREW"), "other");
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Labels {
    route: String,
}

/// Every metric type `prometheus-client` has, each family's OpenMetrics form beside the 0.0.4
/// form it must become.
#[test]
fn the_text_format_is_the_openmetrics_body_in_0_0_4_spelling() {
    let mut registry = Registry::with_prefix("ward");
    let plain = Counter::<u64>::default();
    plain.inc_by(3);
    registry.register("cache_hits", "Hits", plain);
    let labelled = Family::<Labels, Counter>::default();
    labelled
        .get_or_create(&Labels {
            route: "/a {b}".to_owned(),
        })
        .inc();
    registry.register("http_requests", "Say \"requests\"", labelled);
    let gauge = Gauge::<i64>::default();
    gauge.set(-2);
    registry.register("open_streams", "Streams", gauge);
    let histogram = Histogram::new([0.5, 1.0]);
    histogram.observe(0.7);
    registry.register("duration_seconds", "Time", histogram);
    registry.register(
        "build",
        "Build",
        Info::new(vec![("version".to_owned(), "0.0.0".to_owned())]),
    );
    let mut openmetrics = String::new();
    prometheus_client::encoding::text::encode(&mut openmetrics, &registry).unwrap();
    assert_eq!(
        openmetrics,
        "\
# HELP ward_cache_hits Hits.
# TYPE ward_cache_hits counter
ward_cache_hits_total 3
# HELP ward_http_requests Say \"requests\".
# TYPE ward_http_requests counter
ward_http_requests_total{route=\"/a {b}\"} 1
# HELP ward_open_streams Streams.
# TYPE ward_open_streams gauge
ward_open_streams -2
# HELP ward_duration_seconds Time.
# TYPE ward_duration_seconds histogram
ward_duration_seconds_sum 0.7
ward_duration_seconds_count 1
ward_duration_seconds_bucket{le=\"0.5\"} 0
ward_duration_seconds_bucket{le=\"1.0\"} 1
ward_duration_seconds_bucket{le=\"+Inf\"} 1
# HELP ward_build Build.
# TYPE ward_build info
ward_build_info{version=\"0.0.0\"} 1
# EOF
",
        "the crate's OpenMetrics output changed: check the 0.0.4 mapping still holds"
    );
    assert_eq!(
        openmetrics_to_text(&openmetrics),
        "\
# HELP ward_cache_hits_total Hits.
# TYPE ward_cache_hits_total counter
ward_cache_hits_total 3
# HELP ward_http_requests_total Say \"requests\".
# TYPE ward_http_requests_total counter
ward_http_requests_total{route=\"/a {b}\"} 1
# HELP ward_open_streams Streams.
# TYPE ward_open_streams gauge
ward_open_streams -2
# HELP ward_duration_seconds Time.
# TYPE ward_duration_seconds histogram
ward_duration_seconds_sum 0.7
ward_duration_seconds_count 1
ward_duration_seconds_bucket{le=\"0.5\"} 0
ward_duration_seconds_bucket{le=\"1.0\"} 1
ward_duration_seconds_bucket{le=\"+Inf\"} 1
# HELP ward_build_info Build.
# TYPE ward_build_info gauge
ward_build_info{version=\"0.0.0\"} 1
"
    );
}

/// What the crate does not write today but OpenMetrics allows: the mapping still holds.
#[test]
fn created_samples_exemplars_units_and_timestamps_map_to_0_0_4() {
    let openmetrics = "\
# HELP jobs_seconds Time \\\"spent\\\" \\\\ here.
# TYPE jobs_seconds counter
# UNIT jobs_seconds seconds
jobs_seconds_total{quote=\"a \\\" # b\"} 1.5 1700000000.25 # {trace_id=\"x\"} 1.0 1700000000
jobs_seconds_created{quote=\"a \\\" # b\"} 1699999999
# TYPE mystery unknown
mystery 7
# EOF
";
    assert_eq!(
        openmetrics_to_text(openmetrics),
        "\
# HELP jobs_seconds_total Time \"spent\" \\\\ here.
# TYPE jobs_seconds_total counter
jobs_seconds_total{quote=\"a \\\" # b\"} 1.5 1700000000250
# TYPE mystery untyped
mystery 7
"
    );
}

async fn scrape(server: &Server, accept: Option<&str>) -> (String, String, String) {
    let mut request = server.client.get(format!("{}/metrics", server.base));
    if let Some(accept) = accept {
        request = request.header(header::ACCEPT, accept);
    }
    let response = request.send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let content_type = response.headers()[header::CONTENT_TYPE]
        .to_str()
        .unwrap()
        .to_owned();
    let vary = response.headers()[header::VARY]
        .to_str()
        .unwrap()
        .to_owned();
    (content_type, vary, response.text().await.unwrap())
}

#[tokio::test]
async fn prometheus_gets_openmetrics_and_everyone_else_the_text_format() {
    let server = Server::start(&Backend::Sqlite, CLIPSTREAM).await;
    let (content_type, vary, body) = scrape(
        &server,
        Some("application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5"),
    )
    .await;
    assert_eq!(content_type, OPENMETRICS);
    assert_eq!(vary, "accept");
    assert!(body.ends_with("# EOF\n"), "{body}");
    assert!(body.contains("# TYPE ward_decisions counter\n"), "{body}");

    let (content_type, vary, body) = scrape(&server, None).await;
    assert_eq!(content_type, TEXT);
    assert_eq!(vary, "accept");
    assert!(!body.contains("# EOF"), "{body}");
    assert!(
        body.contains("# TYPE ward_decisions_total counter\n"),
        "{body}"
    );
    assert!(
        body.contains("# HELP ward_decisions_total Decisions made"),
        "{body}"
    );
}

/// The value of the one sample line that starts with `series` (labels included), or 0.
fn sample(body: &str, series: &str) -> u64 {
    body.lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
        .map_or(0, |value| value.parse().unwrap())
}

#[tokio::test]
async fn requests_no_route_answers_are_counted_under_bounded_labels() {
    let server = Server::start(&Backend::Sqlite, CLIPSTREAM).await;
    let not_found = "ward_http_requests_total{route=\"unmatched\",method=\"GET\",status=\"404\"}";
    let wrong_method =
        "ward_http_requests_total{route=\"/v1/decide\",method=\"GET\",status=\"405\"}";
    let odd_method =
        "ward_http_requests_total{route=\"/v1/decide\",method=\"other\",status=\"405\"}";
    let (_, _, before) = scrape(&server, None).await;
    assert_eq!(sample(&before, not_found), 0, "{before}");

    for n_request in 0..3 {
        let response = server
            .client
            .get(format!("{}/no/such/route-{n_request}", server.base))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::NOT_FOUND);
    }
    let response = server
        .client
        .get(format!("{}/v1/decide", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
    for method in ["BREW", "FLY"] {
        let response = server
            .client
            .request(
                Method::from_bytes(method.as_bytes()).unwrap(),
                format!("{}/v1/decide", server.base),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
    }

    let (_, _, after) = scrape(&server, None).await;
    assert_eq!(sample(&after, not_found), 3, "{after}");
    assert_eq!(sample(&after, wrong_method), 1, "{after}");
    assert_eq!(sample(&after, odd_method), 2, "{after}");
    assert!(!after.contains("/no/such"), "raw paths never become labels");
    assert!(!after.contains("BREW"), "raw methods never become labels");
}
