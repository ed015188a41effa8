//! The feed guard over HTTP: `POST /v1/feed/filter` (the hot path beside `decide`), the
//! child's own "why am I seeing this" (`POST /v1/feed/why`), and declared interests
//! (`PUT /v1/children/{id}/interests`), the drift anchor.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use serde::de::IntoDeserializer;
use serde::{Deserialize, Serialize};
use ward_core::feed::{
    DriftState, FeedChild, FeedOutcome, Item, RemovalReason, Scanner, duplicate_id, filter_into,
    why_am_i_seeing_this,
};
use ward_core::ids::ChildId;
use ward_core::parental::blocked_alert_due;

use super::{Segments, path_id};
use crate::auth::Principal;
use crate::body::{JsonBody, RawJson, parse_seed, utf8};
use crate::error::{ApiError, ApiResult, Code};
use crate::state::AppState;

/// The most items one call may carry.
const MAX_ITEMS: usize = 10_000;

/// `{"child", "items": [...], "answer"?: "full" | "compact", "explain"?: bool}`, read by
/// [`FilterSeed`].
#[derive(Debug)]
pub(crate) struct FilterRequest {
    child: String,
    items: Vec<Item>,
    /// How many items the body carried: past [`MAX_ITEMS`] the rest are counted, not read.
    offered: usize,
    /// Which answer: sentences for every reason (the default), or codes only.
    answer: Answer,
    /// Also say, for each kept item, why it may be shown.
    explain: bool,
}

/// The request's fields, in the order errors list them.
const FILTER_FIELDS: &[&str] = &["child", "items", "answer", "explain"];

/// Reads a [`FilterRequest`] as serde's derive would with `deny_unknown_fields` (unknown,
/// repeated and missing fields are errors; through `crate::strict`, `null` for `answer` or
/// `explain` too), but with the items' list reserved once, from the body's size, rather than
/// grown and copied as a 10,000-item feed arrives.
struct FilterSeed {
    /// How many items to make room for.
    capacity: usize,
}

impl FilterSeed {
    /// Room for the items a body of `len` bytes can carry: an item is rarely under 64 bytes,
    /// and never more than [`MAX_ITEMS`] are read (more is refused).
    fn for_body(len: usize) -> Self {
        Self {
            capacity: (len / 64).min(MAX_ITEMS),
        }
    }
}

impl<'de> serde::de::DeserializeSeed<'de> for FilterSeed {
    type Value = FilterRequest;

    fn deserialize<D: serde::Deserializer<'de>>(
        self,
        deserializer: D,
    ) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_struct("FilterRequest", FILTER_FIELDS, self)
    }
}

/// One of [`FILTER_FIELDS`], by position.
struct FilterField(usize);

impl<'de> Deserialize<'de> for FilterField {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Key;
        impl serde::de::Visitor<'_> for Key {
            type Value = FilterField;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a field of the request")
            }
            fn visit_str<E: serde::de::Error>(self, key: &str) -> Result<FilterField, E> {
                FILTER_FIELDS
                    .iter()
                    .position(|field| *field == key)
                    .map(FilterField)
                    .ok_or_else(|| E::unknown_field(key, FILTER_FIELDS))
            }
        }
        deserializer.deserialize_identifier(Key)
    }
}

impl<'de> serde::de::Visitor<'de> for FilterSeed {
    type Value = FilterRequest;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a feed request")
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(
        self,
        mut map: A,
    ) -> Result<FilterRequest, A::Error> {
        use serde::de::Error;
        let (mut child, mut items, mut answer, mut explain) = (None, None, None, None);
        let mut offered = 0;
        while let Some(FilterField(field)) = map.next_key()? {
            let name = FILTER_FIELDS.get(field).copied().unwrap_or_default();
            let repeated = match field {
                0 => child.replace(map.next_value::<String>()?).is_some(),
                1 => {
                    let (read, count) = map.next_value_seed(ItemsSeed(self.capacity))?;
                    offered = count;
                    items.replace(read).is_some()
                }
                2 => answer.replace(map.next_value::<Answer>()?).is_some(),
                _ => explain.replace(map.next_value::<bool>()?).is_some(),
            };
            if repeated {
                return Err(A::Error::duplicate_field(name));
            }
        }
        Ok(FilterRequest {
            child: child.ok_or_else(|| A::Error::missing_field("child"))?,
            items: items.ok_or_else(|| A::Error::missing_field("items"))?,
            offered,
            answer: answer.unwrap_or_default(),
            explain: explain.unwrap_or_default(),
        })
    }
}

/// The items' list, into a vector with room for `.0` of them, and how many the list holds:
/// items past [`MAX_ITEMS`] are skipped (still checked as JSON), not built, so a feed over
/// the limit costs no more than one at it before it is refused.
struct ItemsSeed(usize);

impl<'de> serde::de::DeserializeSeed<'de> for ItemsSeed {
    type Value = (Vec<Item>, usize);

    fn deserialize<D: serde::Deserializer<'de>>(
        self,
        deserializer: D,
    ) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_seq(self)
    }
}

impl<'de> serde::de::Visitor<'de> for ItemsSeed {
    type Value = (Vec<Item>, usize);

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a list of items")
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut items = Vec::with_capacity(self.0.min(MAX_ITEMS));
        while items.len() < MAX_ITEMS {
            match seq.next_element::<Item>()? {
                Some(item) => items.push(item),
                None => {
                    let count = items.len();
                    return Ok((items, count));
                }
            }
        }
        let mut count = items.len();
        while seq.next_element::<serde::de::IgnoredAny>()?.is_some() {
            count += 1;
        }
        Ok((items, count))
    }
}

/// The fast path for a [`FilterRequest`]: the common, well-formed body read by
/// [`Scanner`] in one pass, or `None` for anything it does not take (an escape, `null`, an
/// unknown or repeated field, a missing one, more than [`MAX_ITEMS`] items, trailing text, any
/// other shape), and [`FilterSeed`] then reads the body, so every error is worded as before.
/// What it returns is what [`FilterSeed`] would (a test holds the two together).
fn scan_request(text: &str) -> Option<FilterRequest> {
    let mut scanner = Scanner::new(text);
    let (mut child, mut items, mut answer, mut explain) = (None, None, None, None);
    scanner.object(|scanner, key| {
        let repeated = match key {
            "child" => child.replace(scanner.string()?).is_some(),
            "items" => items.replace(scanner.items(MAX_ITEMS)?).is_some(),
            "answer" => {
                // Through `Answer`'s own `Deserialize`, so its spellings are written once.
                let text = scanner.string()?;
                let read = Answer::deserialize(
                    IntoDeserializer::<serde::de::value::Error>::into_deserializer(text),
                )
                .ok()?;
                answer.replace(read).is_some()
            }
            "explain" => explain.replace(scanner.bool()?).is_some(),
            _ => return None,
        };
        (!repeated).then_some(())
    })?;
    if !scanner.is_at_end() {
        return None;
    }
    let items = items?;
    Some(FilterRequest {
        child: child?.to_owned(),
        offered: items.len(),
        items,
        answer: answer.unwrap_or_default(),
        explain: explain.unwrap_or_default(),
    })
}

/// The two answers `POST /v1/feed/filter` gives.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Answer {
    /// Every removal, hold and note with its code and a sentence, and each removed item's
    /// kind ([`ward_core::feed::FeedResponse`]).
    #[default]
    Full,
    /// Ids and codes only ([`ward_core::feed::CompactResponse`]): what a service acts on,
    /// without the prose it rarely reads (`POST /v1/feed/why` has the words for one item).
    Compact,
}

/// The full answer, with `why_shown` when asked for.
#[derive(Serialize)]
struct FullAnswer<'a> {
    #[serde(flatten)]
    response: ward_core::feed::FeedResponse,
    #[serde(skip_serializing_if = "Option::is_none")]
    why_shown: Option<BTreeMap<&'a str, Vec<String>>>,
}

/// The compact answer, by hand ([`ward_core::feed::CompactResponse::write_json`]), with
/// `why_shown` after its last field when asked for: the bytes serde_json would write for the
/// response flattened beside `why_shown`.
fn write_compact(
    json: &mut Vec<u8>,
    response: ward_core::feed::CompactResponse<'_>,
    why_shown: Option<BTreeMap<&str, Vec<String>>>,
) -> serde_json::Result<()> {
    response.write_json(json)?;
    if let Some(why_shown) = why_shown {
        // INVARIANT: write_json ends with the object's closing brace.
        debug_assert_eq!(json.last(), Some(&b'}'));
        json.pop();
        json.extend_from_slice(b",\"why_shown\":");
        serde_json::to_writer(&mut *json, &why_shown)?;
        json.push(b'}');
    }
    Ok(())
}

fn invalid(message: impl Into<String>) -> ApiError {
    ApiError::new(Code::InvalidBody, message)
}

/// A child id in a body, judged as a path id is: a malformed one is `invalid_id`.
fn body_child_id(text: &str) -> Result<ChildId, ApiError> {
    ChildId::parse(text)
        .map_err(|error| ApiError::new(Code::InvalidId, format!("`child`: {error}")))
}

/// The parent blocks behind a removal, as `tag:…`-style names, for the blocked-content alert.
fn blocked(outcome: &FeedOutcome) -> (u32, Vec<String>) {
    let mut n_items = 0;
    let mut kinds = Vec::new();
    for removal in &outcome.removed {
        let mut any = false;
        for (reason, kind) in [
            (RemovalReason::ParentBlockedTag, "tag"),
            (RemovalReason::ParentBlockedTopic, "topic"),
            (RemovalReason::ParentBlockedSource, "source"),
        ] {
            if removal.reasons.contains(reason) {
                any = true;
                if !kinds.contains(&kind) {
                    kinds.push(kind);
                }
            }
        }
        n_items += u32::from(any);
    }
    (n_items, kinds.into_iter().map(str::to_owned).collect())
}

/// `POST /v1/feed/filter`: what of these recommendation candidates may reach the child.
pub(crate) async fn filter(
    State(state): State<AppState>,
    principal: Principal,
    RawJson(bytes): RawJson,
) -> ApiResult<Response> {
    principal.require_decide()?;
    let text = utf8(&bytes)?;
    let body = match scan_request(text) {
        Some(body) => body,
        None => parse_seed(text, FilterSeed::for_body(bytes.len()))?,
    };
    if body.offered > MAX_ITEMS {
        return Err(invalid(format!(
            "a feed may carry at most {MAX_ITEMS} items, this one has {}",
            body.offered
        )));
    }
    let child_id = body_child_id(&body.child)?;
    // One id twice would get an answer that both keeps and removes it.
    if let Some(duplicate) = duplicate_id(&body.items) {
        return Err(invalid(format!(
            "item ids must be unique: `{}` is both items[{}] and items[{}]",
            duplicate.id, duplicate.first, duplicate.second
        )));
    }
    let active = state.active();
    let now = state.now();
    let hot = state.hot_child(child_id.as_str(), &active, now).await?;
    let age = hot.state.age_status(&active.compiled, now);
    let child = FeedChild {
        age,
        time_zone: hot.time_zone.as_ref(),
        feedback: Some(&hot.feedback),
    };
    let mut outcome = FeedOutcome::default();
    let decay = ward_core::feedback::decay(&active.compiled);
    // The evidence of what the child's "not for me" did rides on the drift state's write.
    let observed = state
        .drifts()
        .update_with(state.store(), child_id.as_str(), |drift, evidence| {
            filter_into(
                &active.feed,
                &child,
                Some(&hot.controls),
                Some(drift),
                &body.items,
                now,
                &mut outcome,
            );
            evidence.observe(&hot.feedback, &body.items, &outcome, decay, now)
        })
        .await?;
    state.metrics().feed_items(
        outcome.kept.len(),
        outcome.removed.len(),
        outcome.held.len(),
    );
    state.metrics().not_for_me(observed);
    let (n_blocked, blocks) = blocked(&outcome);
    let zone = hot.time_zone.as_ref().unwrap_or(active.feed.time_zone());
    // Only a removal that can raise the day's alert is worth a write (a durable commit): once
    // it is raised, the cached child says so until its next local day.
    if n_blocked > 0 && blocked_alert_due(hot.blocked_alerted_on, zone, now) {
        // One alert a local day; the core decides whether this one raises it.
        let result = state
            .change_child(&child_id, false, move |child, policy, now, events, _| {
                events.extend(child.notice_blocked(policy, n_blocked, blocks, now));
                Ok(())
            })
            .await;
        match result {
            Err(error) if error.code != Code::ChildNotFound => return Err(error),
            _ => {}
        }
    }
    let explainer = outcome
        .explain(&active.feed, Some(&hot.controls), &body.items)
        .with_feedback(&hot.feedback, now);
    let why_shown = body.explain.then(|| {
        outcome
            .kept
            .iter()
            .filter_map(|index| {
                let item = body.items.get(*index as usize)?;
                Some((item.id(), explainer.why_shown(*index)))
            })
            .collect()
    });
    // Written straight to bytes: no JSON tree in between, into a buffer sized for the answer
    // (about 40 bytes an item compact, 140 full), so it is not copied as it grows.
    let per_item = match body.answer {
        Answer::Full => 140,
        Answer::Compact => 40,
    };
    let mut json = Vec::with_capacity(64 + per_item * body.items.len());
    match body.answer {
        Answer::Full => serde_json::to_writer(
            &mut json,
            &FullAnswer {
                response: explainer.response(),
                why_shown,
            },
        ),
        Answer::Compact => write_compact(&mut json, outcome.compact(&body.items), why_shown),
    }
    .map_err(|error| ApiError::internal("cannot render a feed response", &error))?;
    Ok(([(CONTENT_TYPE, "application/json")], json).into_response())
}

/// `{"child", "setting", "item"}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct WhyRequest {
    child: String,
    setting: String,
    item: Item,
}

/// `POST /v1/feed/why`: the child's own "why am I seeing this", in plain words.
pub(crate) async fn why(
    State(state): State<AppState>,
    principal: Principal,
    JsonBody(body): JsonBody<WhyRequest>,
) -> ApiResult<Response> {
    principal.require_decide()?;
    let child_id = body_child_id(&body.child)?;
    let active = state.active();
    let Some(setting) = active
        .compiled
        .setting_idx(super::setting_id(&body.setting)?)
    else {
        return Err(ApiError::new(
            Code::SettingNotFound,
            format!("no setting `{}` in the policy", body.setting),
        ));
    };
    let purpose = active.compiled.setting(setting).purpose;
    let name = active.compiled.declared_purpose(purpose).name.clone();
    let drift = state.drifts().get(state.store(), child_id.as_str()).await?;
    Ok(Json(why_am_i_seeing_this(&name, &body.item, Some(&drift))).into_response())
}

/// `{"interests": ["football", ...]}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Interests {
    interests: Vec<String>,
}

/// `PUT /v1/children/{id}/interests`: the declared interests the drift score is measured
/// against.
pub(crate) async fn set_interests(
    State(state): State<AppState>,
    principal: Principal,
    segments: Segments,
    JsonBody(body): JsonBody<Interests>,
) -> ApiResult<Response> {
    principal.require_admin()?;
    let id = path_id(segments.get(0), ChildId::parse)?;
    check_interests(&body.interests)?;
    if state.load_child(&id).await?.is_none() {
        return Err(ApiError::child_not_found(id.as_str()));
    }
    let drift = state
        .drifts()
        .update(state.store(), id.as_str(), |drift| {
            drift.set_interests(&body.interests).map(|()| drift.clone())
        })
        .await?
        .map_err(|error| invalid(error.to_string()))?;
    state.drifts().flush(state.store()).await?;
    Ok(Json(serde_json::json!({
        "interests": drift.anchor_topics().collect::<Vec<_>>(),
    }))
    .into_response())
}

/// The interests as sent, judged as the document describes them: at most
/// [`MAX_TOPICS`](ward_core::feed::MAX_TOPICS) (duplicates count: they are what was sent),
/// each at most [`MAX_TOPIC_LEN`](ward_core::feed::MAX_TOPIC_LEN) characters and not blank.
fn check_interests(interests: &[String]) -> Result<(), ApiError> {
    use ward_core::feed::{MAX_TOPIC_LEN, MAX_TOPICS};
    if interests.len() > MAX_TOPICS {
        return Err(invalid(format!(
            "`interests` holds at most {MAX_TOPICS} topics, this one {}",
            interests.len()
        )));
    }
    match interests
        .iter()
        .find(|topic| topic.chars().count() > MAX_TOPIC_LEN)
    {
        Some(topic) => Err(invalid(format!(
            "`{topic}` is longer than {MAX_TOPIC_LEN} characters"
        ))),
        None => Ok(()),
    }
}

/// A drift state as the export shows it.
pub(crate) fn drift_view(drift: &DriftState, state: &AppState) -> serde_json::Value {
    serde_json::json!({
        "report": drift.report(&state.active().feed),
        "state": drift,
    })
}

#[cfg(test)]
mod tests {
    use super::{FilterRequest, FilterSeed, MAX_ITEMS, scan_request};
    use crate::body::parse_seed;

    /// A request with every field, items of every kind and field, words of every shape and
    /// whitespace between tokens: what the edits below start from.
    const REQUEST: &str = r#"{"child":"c_0123456789abcdef","answer":"compact","items":[{"id":"v-1","kind":"video","ratings":{"bbfc":"12A","pegi":12,"mpaa":"PG-13","tv":"TV-14","explicit":false},"tags":["Self-Harm","funny"],"ad_category":"toys","topics":["football","Straße"],"source":"ugc","assessed":true},
 {"id" : "n-2" , "kind" : "notification" , "trigger" : "inactivity" , "ratings" : { "pegi" : 0 } , "tags" : [ ] },
 {"id":"u-3","kind":"user","adult":true,"known_to_child":false,"topics":[]}], "explain" : true }"#;

    fn by_serde(text: &str) -> Option<FilterRequest> {
        parse_seed(text, FilterSeed::for_body(text.len())).ok()
    }

    /// When the scanner takes `text`, the serde reader takes it too and reads the same
    /// request. True when the scanner took it.
    fn check_never_disagrees(text: &str) -> bool {
        let Some(scanned) = scan_request(text) else {
            return false;
        };
        let parsed = by_serde(text).unwrap_or_else(|| panic!("scanned, but not serde's: {text}"));
        assert_eq!(format!("{scanned:?}"), format!("{parsed:?}"), "{text}");
        true
    }

    #[test]
    fn the_scanner_reads_a_request_as_the_serde_reader_does() {
        for text in [
            REQUEST,
            r#"{"items":[],"child":"c"}"#,
            " {\n\t\"child\" : \"c\" ,\r\n \"items\" : [ ] , \"answer\" : \"full\" , \"explain\" : false }\n",
        ] {
            assert!(check_never_disagrees(text), "not scanned: {text}");
        }
    }

    #[test]
    fn the_scanner_leaves_anything_unusual_to_the_serde_reader() {
        let too_many = format!(
            r#"{{"child":"c","items":[{}]}}"#,
            vec![r#"{"id":"a","kind":"post"}"#; MAX_ITEMS + 1].join(",")
        );
        for text in [
            r#"{"child":"c"}"#,
            r#"{"items":[]}"#,
            r#"{"child":"c","items":[],"child":"d"}"#,
            r#"{"child":"c","items":[],"answer":"brief"}"#,
            r#"{"child":"c","items":[],"answer":null}"#,
            r#"{"child":"c","items":[],"explain":null}"#,
            r#"{"child":"c","items":[],"explain":1}"#,
            r#"{"child":"c","items":[],"extra":1}"#,
            r#"{"child":"c\u0064","items":[]}"#,
            r#"{"child":"c","items":[]} {}"#,
            r#"["c",[]]"#,
            &too_many,
        ] {
            assert!(scan_request(text).is_none(), "scanned: {text:.80}");
        }
    }

    #[test]
    fn every_one_byte_edit_is_scanned_as_the_serde_reader_reads_it_or_left_to_it() {
        let (mut n_edits, mut n_scanned) = (0, 0);
        for edited in ward_core::feed::one_byte_edits(REQUEST) {
            n_edits += 1;
            n_scanned += usize::from(check_never_disagrees(&edited));
        }
        assert!(n_edits > 8 * REQUEST.len(), "{n_edits} edits");
        assert!(
            n_scanned > 0 && n_scanned < n_edits / 2,
            "{n_scanned} of {n_edits}"
        );
    }
}
