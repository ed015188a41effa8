//! Signed webhooks: the service hears every alert, at least once, even across restarts.
//!
//! Alerts are written to the outbox in the same transaction as their cause (`ward-store`).
//! The worker here claims each due item (so two nodes rarely send the same one), POSTs it,
//! and records the attempt; a failure is retried with exponential back-off (half a second,
//! doubling, at most five minutes). Every POST carries:
//! - `Ward-Event-Id`: `ward-<seq>`, the same on every retry: receivers de-duplicate on it;
//! - `Ward-Timestamp`: Unix seconds when this attempt was signed;
//! - `Ward-Signature`: `v1=` and the hex HMAC-SHA256, keyed with the endpoint's secret, of
//!   `<timestamp>.<body>`. A receiver recomputes it, compares in constant time, and refuses
//!   a timestamp older than it tolerates (replays). [`verify`] does exactly that.
//!
//! Delivery runs on the system clock (network retries are not domain time).

use std::time::Duration;

use hmac::{Hmac, KeyInit, Mac};
use jiff::{SignedDuration, Timestamp};
use sha2::Sha256;
use ward_store::{DeliveryRecord, OutboxItem, Store, WebhookRecord};

use crate::error::{ApiError, Code};

use crate::state::AppState;

/// The header names.
pub const EVENT_ID_HEADER: &str = "Ward-Event-Id";
/// When the attempt was signed (Unix seconds).
pub const TIMESTAMP_HEADER: &str = "Ward-Timestamp";
/// `v1=<hex HMAC-SHA256 of "<timestamp>.<body>">`.
pub const SIGNATURE_HEADER: &str = "Ward-Signature";

/// How long one attempt may take.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a claimed item is left to its worker before another may take it: one attempt's
/// time and a margin. A worker killed mid-attempt (SIGKILL, a crash) leaves its claim behind;
/// the item is tried again when the lease runs out, so it must not be much longer than that.
const LEASE: SignedDuration = SignedDuration::from_secs(15);
/// Items taken per round.
const BATCH: i64 = 64;

/// A new endpoint for `url` with a fresh id and secret.
pub fn new_webhook(url: &str, now: jiff::Timestamp) -> Result<WebhookRecord, ApiError> {
    let well_formed = (url.starts_with("https://") || url.starts_with("http://"))
        && url.len() <= 2_048
        && reqwest::Url::parse(url).is_ok_and(|parsed| parsed.host().is_some());
    if !well_formed {
        return Err(ApiError::new(
            Code::InvalidBody,
            format!("`{url}` is not an http(s) URL ward can POST to"),
        ));
    }
    let random = |n| {
        crate::auth::random_hex(n).map_err(|error| ApiError::internal("randomness failed", &error))
    };
    Ok(WebhookRecord {
        id: format!("wh_{}", random(8)?),
        url: url.to_owned(),
        secret: format!("whsec_{}", random(32)?),
        created_at: now,
        disabled_at: None,
    })
}

/// The signature of `body` at `timestamp` under `secret`: `v1=<hex>`.
pub fn sign(secret: &str, timestamp: i64, body: &str) -> String {
    // INVARIANT: HMAC accepts keys of any length, so `new_from_slice` cannot fail.
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret.as_bytes()) else {
        return String::new();
    };
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body.as_bytes());
    format!("v1={}", crate::auth::hex(&mac.finalize().into_bytes()))
}

/// Why a webhook delivery is not genuine.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    /// The signature header is not `v1=<hex>`, or does not match.
    #[error("the signature does not match the body")]
    BadSignature,
    /// The timestamp is not a number.
    #[error("the timestamp is not Unix seconds")]
    BadTimestamp,
    /// Signed too long ago (or in the future): a replay, or a clock far off.
    #[error("the timestamp is {0} seconds away from now, beyond the tolerance")]
    Stale(i64),
}

/// What a receiver does: checks the signature of `body` (in constant time) and that the
/// timestamp is within `tolerance_seconds` of `now_seconds`.
pub fn verify(
    secret: &str,
    timestamp: &str,
    signature: &str,
    body: &str,
    now_seconds: i64,
    tolerance_seconds: i64,
) -> Result<(), VerifyError> {
    let at: i64 = timestamp.parse().map_err(|_| VerifyError::BadTimestamp)?;
    let hex = signature
        .strip_prefix("v1=")
        .ok_or(VerifyError::BadSignature)?;
    let presented: Vec<u8> = (0..hex.len())
        .step_by(2)
        .map(|idx| {
            hex.get(idx..idx + 2)
                .and_then(|pair| u8::from_str_radix(pair, 16).ok())
        })
        .collect::<Option<_>>()
        .ok_or(VerifyError::BadSignature)?;
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret.as_bytes()) else {
        return Err(VerifyError::BadSignature);
    };
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(body.as_bytes());
    mac.verify_slice(&presented)
        .map_err(|_| VerifyError::BadSignature)?;
    let skew = (now_seconds - at).abs();
    if skew > tolerance_seconds {
        return Err(VerifyError::Stale(skew));
    }
    Ok(())
}

/// The wait before attempt `attempt + 1`, after `attempt` failed ones.
fn backoff(attempt: i64) -> SignedDuration {
    let exponent = u32::try_from(attempt.clamp(1, 20) - 1).unwrap_or(0);
    let millis = 500_i64.saturating_mul(1_i64 << exponent.min(20));
    SignedDuration::from_millis(millis.min(300_000))
}

/// Delivers what is due; returns how many items were attempted.
pub async fn deliver_due(state: &AppState) -> usize {
    let now = Timestamp::now();
    let due = match state.store().due_deliveries(now, BATCH).await {
        Ok(due) => due,
        Err(error) => {
            tracing::warn!(%error, "cannot read the webhook outbox");
            return 0;
        }
    };
    let client = state.http_client();
    let mut attempted = 0;
    for item in due {
        let lease = now.saturating_add(LEASE).unwrap_or(now);
        match state.store().claim_delivery(&item, lease).await {
            Ok(true) => {}
            Ok(false) => continue,
            Err(error) => {
                tracing::warn!(%error, "cannot claim a webhook delivery");
                continue;
            }
        }
        attempted += 1;
        deliver_one(state, client, &item).await;
    }
    attempted
}

async fn deliver_one(state: &AppState, client: &reqwest::Client, item: &OutboxItem) {
    let attempt = item.attempts + 1;
    let signed_at = Timestamp::now();
    let timestamp = signed_at.as_second();
    let result = client
        .post(&item.url)
        .timeout(ATTEMPT_TIMEOUT)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .header(EVENT_ID_HEADER, format!("ward-{}", item.seq))
        .header(TIMESTAMP_HEADER, timestamp.to_string())
        .header(SIGNATURE_HEADER, sign(&item.secret, timestamp, &item.body))
        .body(item.body.clone())
        .send()
        .await;
    let (status, error) = match result {
        Ok(response) => (Some(i64::from(response.status().as_u16())), None),
        Err(error) => (None, Some(error.to_string())),
    };
    let delivered = status.is_some_and(|code| (200..300).contains(&code));
    let finished = Timestamp::now();
    let next = if delivered {
        finished
    } else {
        finished
            .saturating_add(backoff(attempt))
            .unwrap_or(finished)
    };
    if !delivered {
        tracing::info!(webhook = %item.webhook_id, seq = item.seq, attempt, ?status, "webhook delivery failed; will retry");
    }
    let record = DeliveryRecord {
        webhook_id: item.webhook_id.clone(),
        seq: item.seq,
        attempt,
        at: finished,
        status,
        error,
        delivered,
    };
    state.metrics().webhook_attempt(delivered);
    if let Err(error) = state.store().record_delivery(item, record, next).await {
        // The lease runs out and the item is tried again: at least once, never lost.
        tracing::warn!(%error, "cannot record a webhook delivery");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signature_verifies_and_any_change_fails_it() {
        let body = r#"{"id":"ward-7"}"#;
        let signature = sign("whsec_test", 1_700_000_000, body);
        assert!(signature.starts_with("v1="));
        let check = |secret, timestamp, signature: &str, body, now| {
            verify(secret, timestamp, signature, body, now, 300)
        };
        assert_eq!(
            check("whsec_test", "1700000000", &signature, body, 1_700_000_100),
            Ok(())
        );
        assert_eq!(
            check(
                "whsec_test",
                "1700000000",
                &signature,
                r#"{"id":"ward-8"}"#,
                1_700_000_100
            ),
            Err(VerifyError::BadSignature)
        );
        assert_eq!(
            check("whsec_other", "1700000000", &signature, body, 1_700_000_100),
            Err(VerifyError::BadSignature)
        );
        assert_eq!(
            check("whsec_test", "1700000001", &signature, body, 1_700_000_100),
            Err(VerifyError::BadSignature),
            "the timestamp is signed too"
        );
        assert_eq!(
            check("whsec_test", "1700000000", &signature, body, 1_700_001_000),
            Err(VerifyError::Stale(1_000))
        );
        assert_eq!(
            check("whsec_test", "soon", &signature, body, 1_700_000_100),
            Err(VerifyError::BadTimestamp)
        );
    }

    #[test]
    fn back_off_doubles_from_half_a_second_to_five_minutes() {
        assert_eq!(backoff(1), SignedDuration::from_millis(500));
        assert_eq!(backoff(2), SignedDuration::from_secs(1));
        assert_eq!(backoff(4), SignedDuration::from_secs(4));
        assert_eq!(backoff(30), SignedDuration::from_secs(300));
    }
}
