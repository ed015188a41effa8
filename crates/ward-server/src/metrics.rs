//! Prometheus metrics: requests by route, method and status; request latency by route;
//! decisions by reason; hot-path cache hits and misses. Rendered at `GET /metrics` in the
//! Prometheus text format by the `prometheus-client` crate.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;
use ward_core::decide::Reason;

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    route: String,
    method: String,
    status: u16,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    route: String,
}

/// Latency buckets, in seconds: 50 µs to 2.5 s.
const BUCKETS: [f64; 12] = [
    0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.1, 0.5, 2.5,
];

/// The server's metrics.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: Family<RouteLabels, Histogram>,
    /// One counter per reason, in `Reason::ALL` order (no label lookup on the hot path).
    decisions: Vec<Counter>,
    cache_hits: Counter,
    cache_misses: Counter,
    webhooks_delivered: Counter,
    webhooks_failed: Counter,
    feed_items: Family<Vec<(String, String)>, Counter>,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("ward");
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register("http_requests", "HTTP requests answered", requests.clone());
        let latency = Family::<RouteLabels, Histogram>::new_with_constructor(
            (|| Histogram::new(BUCKETS)) as fn() -> Histogram,
        );
        registry.register(
            "http_request_duration_seconds",
            "Time to answer an HTTP request",
            latency.clone(),
        );
        let decisions_family = Family::<Vec<(String, String)>, Counter>::default();
        let decisions = Reason::ALL
            .iter()
            .map(|reason| {
                decisions_family
                    .get_or_create(&vec![("reason".to_owned(), reason.code().to_owned())])
                    .clone()
            })
            .collect();
        registry.register(
            "decisions",
            "Decisions made, by the reason code of the row that decided",
            decisions_family,
        );
        let cache_hits = Counter::default();
        registry.register(
            "cache_hits",
            "Decisions served from the in-memory child state",
            cache_hits.clone(),
        );
        let cache_misses = Counter::default();
        registry.register(
            "cache_misses",
            "Decisions that read the child from the database",
            cache_misses.clone(),
        );
        let webhooks_delivered = Counter::default();
        registry.register(
            "webhooks_delivered",
            "Webhook attempts the endpoint accepted",
            webhooks_delivered.clone(),
        );
        let webhooks_failed = Counter::default();
        registry.register(
            "webhooks_failed",
            "Webhook attempts that failed (retried later)",
            webhooks_failed.clone(),
        );
        let feed_items = Family::<Vec<(String, String)>, Counter>::default();
        registry.register(
            "feed_items",
            "Items through the feed guard, by outcome",
            feed_items.clone(),
        );
        Self {
            registry,
            requests,
            latency,
            decisions,
            cache_hits,
            cache_misses,
            webhooks_delivered,
            webhooks_failed,
            feed_items,
        }
    }
}

impl Metrics {
    /// Counts one answered request.
    pub fn request(&self, route: &str, method: &str, status: u16, seconds: f64) {
        self.requests
            .get_or_create(&RequestLabels {
                route: route.to_owned(),
                method: method.to_owned(),
                status,
            })
            .inc();
        self.latency
            .get_or_create(&RouteLabels {
                route: route.to_owned(),
            })
            .observe(seconds);
    }

    /// Counts one decision.
    pub fn decision(&self, reason: Reason) {
        if let Some(counter) = self.decisions.get(reason as usize) {
            counter.inc();
        }
    }

    /// Counts a webhook attempt.
    pub fn webhook_attempt(&self, delivered: bool) {
        if delivered {
            self.webhooks_delivered.inc();
        } else {
            self.webhooks_failed.inc();
        }
    }

    /// Counts items through the feed guard.
    pub fn feed_items(&self, kept: usize, removed: usize, held: usize) {
        for (outcome, n_items) in [("kept", kept), ("removed", removed), ("held", held)] {
            self.feed_items
                .get_or_create(&vec![("outcome".to_owned(), outcome.to_owned())])
                .inc_by(n_items as u64);
        }
    }

    /// Counts a cache hit.
    pub fn cache_hit(&self) {
        self.cache_hits.inc();
    }

    /// Counts a cache miss.
    pub fn cache_miss(&self) {
        self.cache_misses.inc();
    }

    /// The Prometheus text format.
    pub fn render(&self) -> String {
        let mut text = String::new();
        if prometheus_client::encoding::text::encode(&mut text, &self.registry).is_err() {
            text.clear();
        }
        text
    }
}
