//! Prometheus metrics: requests by route, method and status; request latency by route;
//! decisions by reason; hot-path cache hits and misses. Rendered at `GET /metrics` in the
//! format the scraper asks for ([`Format::negotiate`]): OpenMetrics 1.0.0 as the
//! `prometheus-client` crate encodes it, or the classic text format 0.0.4 derived from it
//! ([`openmetrics_to_text`]), since the crate has no 0.0.4 encoder.
//!
//! Not for: what is counted where (the handlers and the router's middleware call in).
//!
//! INVARIANT: every label value is ward's own word (a route template, a method from
//! [`method_label`], a reason code, an outcome), never text from a request: the crate writes
//! label values unescaped, and a value per raw path would let a client grow the series
//! without bound.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use std::sync::atomic::AtomicU64;

use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;
use prometheus_client::registry::Unit;
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
    cache_evictions: Counter,
    cache_entries: Gauge,
    cache_bytes: Gauge,
    cache_budget: Gauge,
    cache_hit_ratio: Gauge<f64, AtomicU64>,
    webhooks_delivered: Counter,
    webhooks_failed: Counter,
    feed_items: Family<Vec<(String, String)>, Counter>,
    not_for_me: Family<Vec<(String, String)>, Counter>,
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
        let cache_evictions = Counter::default();
        registry.register(
            "cache_evictions",
            "Children dropped from the in-memory cache to keep within its budget",
            cache_evictions.clone(),
        );
        let cache_entries = Gauge::default();
        registry.register(
            "cache_entries",
            "Children in the in-memory cache",
            cache_entries.clone(),
        );
        let cache_bytes = Gauge::default();
        registry.register_with_unit(
            "cache_size",
            "What the cached children weigh",
            Unit::Bytes,
            cache_bytes.clone(),
        );
        let cache_budget = Gauge::default();
        registry.register_with_unit(
            "cache_budget",
            "The most the cached children may weigh (--cache-memory)",
            Unit::Bytes,
            cache_budget.clone(),
        );
        let cache_hit_ratio = Gauge::<f64, AtomicU64>::default();
        registry.register(
            "cache_hit_ratio",
            "Hits over hits and misses since the start (0 before the first lookup)",
            cache_hit_ratio.clone(),
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
        let not_for_me = Family::<Vec<(String, String)>, Counter>::default();
        registry.register(
            "feedback_not_for_me_items",
            "Items carrying a name a child said \"not for me\" to: held back by the guard, shown while held (should stay 0), shown after the hold ended",
            not_for_me.clone(),
        );
        // Each outcome is listed from the start: a 0 that stays 0 is the evidence.
        for (outcome, _) in Self::not_for_me_outcomes(Default::default()) {
            not_for_me
                .get_or_create(&vec![("outcome".to_owned(), outcome.to_owned())])
                .inc_by(0);
        }
        Self {
            registry,
            requests,
            latency,
            decisions,
            cache_hits,
            cache_misses,
            cache_evictions,
            cache_entries,
            cache_bytes,
            cache_budget,
            cache_hit_ratio,
            webhooks_delivered,
            webhooks_failed,
            feed_items,
            not_for_me,
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

    /// Counts what one feed's guard did with the names a child said "not for me" to.
    pub fn not_for_me(&self, observed: ward_core::feedback::Observed) {
        for (outcome, n_items) in Self::not_for_me_outcomes(observed) {
            if n_items > 0 {
                self.not_for_me
                    .get_or_create(&vec![("outcome".to_owned(), outcome.to_owned())])
                    .inc_by(u64::from(n_items));
            }
        }
    }

    fn not_for_me_outcomes(observed: ward_core::feedback::Observed) -> [(&'static str, u32); 3] {
        [
            ("held_back", observed.held_back),
            ("shown_while_held", observed.shown_while_held),
            ("shown_after", observed.shown_after),
        ]
    }

    /// This node's totals of [`Self::not_for_me`] since it started, by outcome.
    pub fn not_for_me_totals(&self) -> serde_json::Value {
        let mut totals = serde_json::Map::new();
        for (outcome, _) in Self::not_for_me_outcomes(Default::default()) {
            let n_items = self
                .not_for_me
                .get_or_create(&vec![("outcome".to_owned(), outcome.to_owned())])
                .get();
            totals.insert(outcome.into(), n_items.into());
        }
        serde_json::Value::Object(totals)
    }

    /// Counts what one batch did: `decisions[i]` decisions of `Reason::ALL[i]`, and its cache
    /// hits and misses (one update per counter, not one per decision: the counters are shared
    /// by every thread).
    pub fn batch(&self, decisions: &[u64], hits: u64, misses: u64) {
        for (counter, n_decisions) in self.decisions.iter().zip(decisions) {
            if *n_decisions > 0 {
                counter.inc_by(*n_decisions);
            }
        }
        if hits > 0 {
            self.cache_hits.inc_by(hits);
        }
        if misses > 0 {
            self.cache_misses.inc_by(misses);
        }
    }

    /// The counter the cache counts its evictions on.
    pub fn cache_evictions(&self) -> Counter {
        self.cache_evictions.clone()
    }

    /// Records the cache's size as it stands, and the hit ratio so far (before a render).
    pub fn cache_size(&self, entries: usize, bytes: u64, budget: u64) {
        self.cache_entries
            .set(i64::try_from(entries).unwrap_or(i64::MAX));
        self.cache_bytes
            .set(i64::try_from(bytes).unwrap_or(i64::MAX));
        self.cache_budget
            .set(i64::try_from(budget).unwrap_or(i64::MAX));
        let (hits, misses) = (self.cache_hits.get(), self.cache_misses.get());
        let lookups = hits + misses;
        self.cache_hit_ratio.set(if lookups == 0 {
            0.0
        } else {
            hits as f64 / lookups as f64
        });
    }

    /// Counts a cache hit.
    pub fn cache_hit(&self) {
        self.cache_hits.inc();
    }

    /// Counts a cache miss.
    pub fn cache_miss(&self) {
        self.cache_misses.inc();
    }

    /// The metrics in `format`.
    pub fn render(&self, format: Format) -> String {
        let mut text = String::new();
        if prometheus_client::encoding::text::encode(&mut text, &self.registry).is_err() {
            text.clear();
        }
        match format {
            Format::OpenMetrics => text,
            Format::Text => openmetrics_to_text(&text),
        }
    }
}

/// The HTTP methods counted by name; any other (a client may send any token) is `other`.
const METHODS: [&str; 9] = [
    "GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE", "CONNECT",
];

/// The `method` label for a request's method: one of [`METHODS`], or `other`.
pub fn method_label(method: &str) -> &'static str {
    METHODS
        .iter()
        .find(|known| **known == method)
        .copied()
        .unwrap_or("other")
}

/// An exposition format `/metrics` can answer in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// OpenMetrics 1.0.0 text: what Prometheus asks for first.
    OpenMetrics,
    /// The classic Prometheus text format 0.0.4: for every other client.
    Text,
}

impl Format {
    /// The `Content-Type` of a body in this format.
    pub fn content_type(self) -> &'static str {
        match self {
            Self::OpenMetrics => "application/openmetrics-text; version=1.0.0; charset=utf-8",
            Self::Text => "text/plain; version=0.0.4; charset=utf-8",
        }
    }

    /// The format an `Accept` header prefers: the acceptable media range with the highest
    /// `q` (an exact type before a wildcard, OpenMetrics on a tie). `text/plain`, `text/*` and
    /// `*/*` accept the text format; `application/openmetrics-text` accepts OpenMetrics when it
    /// names no version or `1.0.0`. No header, or nothing acceptable, gets the text format, as
    /// Prometheus' own client libraries answer, rather than a 406 a scraper cannot act on.
    pub fn negotiate(accept: Option<&str>) -> Self {
        let mut best: Option<((u16, u8, u8), Self)> = None;
        for range in accept.unwrap_or("").split(',') {
            let Some((format, q, exact)) = media_range(range) else {
                continue;
            };
            if q == 0 {
                continue;
            }
            let rank = (q, u8::from(exact), u8::from(format == Self::OpenMetrics));
            if best.is_none_or(|(best_rank, _)| rank > best_rank) {
                best = Some((rank, format));
            }
        }
        best.map_or(Self::Text, |(_, format)| format)
    }
}

/// One media range of an `Accept` header: the format it accepts, its `q` in thousandths, and
/// whether it names the type exactly. `None` when it accepts neither format.
fn media_range(range: &str) -> Option<(Format, u16, bool)> {
    let mut parts = range.split(';');
    let media_type = parts.next()?.trim().to_ascii_lowercase();
    let mut q = 1000;
    let mut version = None;
    for parameter in parts {
        let Some((key, value)) = parameter.split_once('=') else {
            continue;
        };
        let value = value.trim().trim_matches('"');
        match key.trim().to_ascii_lowercase().as_str() {
            "q" => q = quality(value)?,
            "version" => version = Some(value.to_owned()),
            _ => {}
        }
    }
    let (format, exact) = match media_type.as_str() {
        "application/openmetrics-text" => (Format::OpenMetrics, true),
        "text/plain" => (Format::Text, true),
        "text/*" | "*/*" => (Format::Text, false),
        _ => return None,
    };
    let version_fits = match (format, version.as_deref()) {
        (_, None) => true,
        (Format::OpenMetrics, Some(version)) => version == "1.0.0",
        (Format::Text, Some(version)) => !exact || version == "0.0.4",
    };
    version_fits.then_some((format, q, exact))
}

/// A `q` value (`0`, `0.5`, `1.000`) in thousandths; `None` when it is not one.
fn quality(text: &str) -> Option<u16> {
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    if fraction.len() > 3 || !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let thousandths = format!("{fraction:0<3}").parse::<u16>().ok()?;
    match whole {
        "0" => Some(thousandths),
        "1" if thousandths == 0 => Some(1000),
        _ => None,
    }
}

/// The text format 0.0.4 form of an OpenMetrics text exposition, as `prometheus-client`
/// writes one. What differs, and how it is mapped:
/// - a counter family is named without `_total` in OpenMetrics and with it in 0.0.4 (its
///   samples are `_total` in both); an info family `x` becomes the gauge `x_info`; `unknown`
///   becomes `untyped`;
/// - `_created` samples, exemplars and `# UNIT` lines have no 0.0.4 form and are left out;
/// - sample timestamps are seconds in OpenMetrics and milliseconds in 0.0.4;
/// - `# HELP` escapes `"` in OpenMetrics only; `# EOF` ends OpenMetrics only.
pub fn openmetrics_to_text(openmetrics: &str) -> String {
    let mut families: Vec<ParsedFamily<'_>> = Vec::new();
    for line in openmetrics.lines() {
        if let Some(rest) = line.strip_prefix("# HELP ") {
            let (name, help) = rest.split_once(' ').unwrap_or((rest, ""));
            if let Some(family) = family_named(&mut families, name) {
                family.help = Some(help);
            }
        } else if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').unwrap_or((rest, ""));
            if let Some(family) = family_named(&mut families, name) {
                family.kind = kind;
            }
        } else if line.starts_with('#') || line.is_empty() {
            // `# UNIT`, `# EOF`: nothing in 0.0.4.
        } else if let Some(family) = families.last_mut() {
            family.samples.push(line);
        }
    }
    let mut text = String::with_capacity(openmetrics.len());
    for family in &families {
        let (name, kind) = match family.kind {
            "counter" => (format!("{}_total", family.name), "counter"),
            "info" => (format!("{}_info", family.name), "gauge"),
            "gauge" | "histogram" | "summary" => (family.name.to_owned(), family.kind),
            _ => (family.name.to_owned(), "untyped"),
        };
        if let Some(help) = family.help {
            text.push_str(&format!("# HELP {name} {}\n", unescape_help_quotes(help)));
        }
        text.push_str(&format!("# TYPE {name} {kind}\n"));
        for sample in &family.samples {
            let Some((sample_name, labels, value, timestamp)) = split_sample(sample) else {
                continue;
            };
            if sample_name.ends_with("_created") {
                continue;
            }
            text.push_str(sample_name);
            text.push_str(labels);
            text.push(' ');
            text.push_str(value);
            if let Some(seconds) = timestamp.and_then(|t| t.parse::<f64>().ok()) {
                text.push_str(&format!(" {}", (seconds * 1000.0).round() as i64));
            }
            text.push('\n');
        }
    }
    text
}

/// One metric family of an OpenMetrics exposition: its `# HELP`, `# TYPE` and sample lines.
struct ParsedFamily<'a> {
    name: &'a str,
    help: Option<&'a str>,
    kind: &'a str,
    samples: Vec<&'a str>,
}

/// The last family if it is `name`, else a new one (a family's lines are contiguous).
fn family_named<'a, 'f>(
    families: &'f mut Vec<ParsedFamily<'a>>,
    name: &'a str,
) -> Option<&'f mut ParsedFamily<'a>> {
    if families.last().is_none_or(|last| last.name != name) {
        families.push(ParsedFamily {
            name,
            help: None,
            kind: "unknown",
            samples: Vec::new(),
        });
    }
    families.last_mut()
}

/// A sample line's name, label set (`{…}` or empty), value and timestamp; the exemplar after
/// ` # ` is dropped. Label values are quoted strings, so braces are matched outside quotes.
fn split_sample(line: &str) -> Option<(&str, &str, &str, Option<&str>)> {
    let name_end = line.find(['{', ' '])?;
    let (name, rest) = line.split_at(name_end);
    let (labels, rest) = if rest.starts_with('{') {
        let mut in_quotes = false;
        let mut escaped = false;
        let mut close = None;
        for (index, c) in rest.char_indices() {
            match c {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '"' => in_quotes = !in_quotes,
                '}' if !in_quotes => {
                    close = Some(index);
                    break;
                }
                _ => {}
            }
        }
        rest.split_at(close? + 1)
    } else {
        ("", rest)
    };
    let rest = rest.split(" # ").next().unwrap_or("");
    let mut fields = rest.split_whitespace();
    let value = fields.next()?;
    Some((name, labels, value, fields.next()))
}

/// OpenMetrics `# HELP` text with `\"` written as `"`: 0.0.4 escapes only `\\` and `\n`,
/// which the two formats spell alike.
fn unescape_help_quotes(help: &str) -> String {
    let mut text = String::with_capacity(help.len());
    let mut chars = help.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next() {
                Some('"') => text.push('"'),
                Some(next) => {
                    text.push('\\');
                    text.push(next);
                }
                None => text.push('\\'),
            }
        } else {
            text.push(c);
        }
    }
    text
}
