//! Request bodies and query strings: JSON only, parsed strictly (unknown fields are errors,
//! and `crate::strict` keeps serde to the document's shapes), every failure a precise
//! [`ApiError`] — malformed JSON (400, with line and column), the wrong shape (422), no JSON
//! content type (415), too large (413), not arrived within the body timeout (408,
//! `crate::listener`), a bad query string (400) — never axum's plain-text rejections.

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, FailedToBufferBody};
use axum::extract::{FromRequest, Request};
use axum::http::header::CONTENT_TYPE;
use serde::de::{DeserializeOwned, DeserializeSeed};

use crate::error::{ApiError, Code};

/// A JSON body of type `T`.
#[derive(Debug)]
pub struct JsonBody<T>(pub T);

/// The raw bytes of a JSON body, for handlers that parse into borrowed types (the hot path).
#[derive(Debug)]
pub struct RawJson(pub Bytes);

/// True when the request says its body is JSON (`application/json` or `application/…+json`).
fn says_json(request: &Request) -> bool {
    request
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(';').next())
        .is_some_and(|mime| {
            let mime = mime.trim();
            mime.eq_ignore_ascii_case("application/json")
                || (mime.starts_with("application/") && mime.ends_with("+json"))
        })
}

fn not_json() -> ApiError {
    ApiError::new(
        Code::UnsupportedMediaType,
        "send the body as JSON, with `Content-Type: application/json`",
    )
}

/// The whole body, within the size limit and the body timeout.
async fn read<S: Send + Sync>(request: Request, state: &S) -> Result<Bytes, ApiError> {
    Bytes::from_request(request, state)
        .await
        .map_err(|rejection| match rejection {
            BytesRejection::FailedToBufferBody(FailedToBufferBody::LengthLimitError(_)) => {
                ApiError::new(
                    Code::PayloadTooLarge,
                    format!(
                        "the body is larger than ward accepts ({} MiB); split the request",
                        crate::MAX_BODY_BYTES >> 20
                    ),
                )
            }
            other => match crate::listener::body_timed_out(&other) {
                Some(timed_out) => request_timeout(timed_out),
                None => ApiError::new(Code::MalformedJson, other.body_text()),
            },
        })
}

impl<S: Send + Sync> FromRequest<S> for RawJson {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        if !says_json(&request) {
            return Err(not_json());
        }
        read(request, state).await.map(Self)
    }
}

/// A body that may be left out (the operation then takes its defaults): empty, with or without
/// a content type, is `None`; anything else must be JSON of type `T`, as [`JsonBody`].
#[derive(Debug)]
pub struct OptionalJson<T>(pub Option<T>);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for OptionalJson<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let json = says_json(&request);
        let bytes = read(request, state).await?;
        if bytes.is_empty() {
            return Ok(Self(None));
        }
        if !json {
            return Err(not_json());
        }
        parse(&bytes).map(|value| Self(Some(value)))
    }
}

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let RawJson(bytes) = RawJson::from_request(request, state).await?;
        parse(&bytes).map(Self)
    }
}

/// A body that stalled: the client is told how long it had.
pub(crate) fn request_timeout(timed_out: crate::listener::BodyTimedOut) -> ApiError {
    ApiError::new(
        Code::RequestTimeout,
        format!("{timed_out} (ward's body timeout); send the whole body at once"),
    )
}

/// A query string of type `T`; one that does not parse is `invalid_query` (400), in the
/// API's JSON error shape, never axum's plain-text rejection.
#[derive(Debug)]
pub struct QueryParams<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> axum::extract::FromRequestParts<S> for QueryParams<T> {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _state: &S,
    ) -> Result<Self, Self::Rejection> {
        axum::extract::Query::<T>::try_from_uri(&parts.uri)
            .map(|axum::extract::Query(value)| Self(value))
            .map_err(|rejection| {
                ApiError::new(
                    Code::InvalidQuery,
                    format!("the query string is not valid: {}", rejection.body_text()),
                )
            })
    }
}

/// Parses a JSON body exactly as the OpenAPI document describes it (`crate::strict`: objects
/// for structs, strings for enums, no `null` for a field left optional), mapping serde's
/// errors to the API's: not JSON is `malformed_json`, the wrong shape `invalid_body`.
pub fn parse<'a, T: serde::Deserialize<'a>>(bytes: &'a [u8]) -> Result<T, ApiError> {
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    T::deserialize(crate::strict::Strict(&mut deserializer))
        .and_then(|value| deserializer.end().map(|()| value))
        .map_err(not_valid)
}

/// [`parse`] for the hot path's large bodies (a batch): the body is checked as UTF-8 once, in
/// one pass, and serde_json then borrows each string without checking it again. A body that
/// is not UTF-8 goes through [`parse`], for serde_json's own error with its position.
pub fn parse_text<'a, T: serde::Deserialize<'a>>(bytes: &'a [u8]) -> Result<T, ApiError> {
    parse_text_with(bytes, |_| None)
}

/// [`parse_text`] with a fast reader tried first on the checked text (the decision bodies'
/// one-pass scanner): what it takes is the value; when it declines (`None`), serde reads the
/// text, so every error is serde's. The body is checked as UTF-8 once either way.
pub fn parse_text_with<'a, T: serde::Deserialize<'a>>(
    bytes: &'a [u8],
    fast: impl FnOnce(&'a str) -> Option<T>,
) -> Result<T, ApiError> {
    let Ok(text) = std::str::from_utf8(bytes) else {
        return parse(bytes);
    };
    if let Some(value) = fast(text) {
        return Ok(value);
    }
    let mut deserializer = serde_json::Deserializer::from_str(text);
    T::deserialize(crate::strict::Strict(&mut deserializer))
        .and_then(|value| deserializer.end().map(|()| value))
        .map_err(not_valid)
}

/// As [`parse`], through `seed` (a reader that carries state, such as how much room to
/// reserve), for a body already known to be UTF-8 ([`utf8`]): the JSON reader then checks no
/// string again, and borrows every one without an escape (the feed's hot path).
pub fn parse_seed<'a, S: serde::de::DeserializeSeed<'a>>(
    text: &'a str,
    seed: S,
) -> Result<S::Value, ApiError> {
    let mut deserializer = serde_json::Deserializer::from_str(text);
    crate::strict::StrictSeed(seed)
        .deserialize(&mut deserializer)
        .and_then(|value| deserializer.end().map(|()| value))
        .map_err(not_valid)
}

/// The body as text, checked once; bytes that are not UTF-8 are `malformed_json`, at the
/// line and column where they start (as the JSON reader says for anything else).
pub fn utf8(bytes: &[u8]) -> Result<&str, ApiError> {
    std::str::from_utf8(bytes).map_err(|error| {
        let before = bytes.get(..error.valid_up_to()).unwrap_or_default();
        let line = 1 + before.iter().filter(|byte| **byte == b'\n').count();
        let column = 1 + before.len()
            - before
                .iter()
                .rposition(|b| *b == b'\n')
                .map_or(0, |at| at + 1);
        ApiError::new(
            Code::MalformedJson,
            format!("the body is not valid: it is not UTF-8 at line {line} column {column}"),
        )
    })
}

/// Not JSON is `malformed_json`, the wrong shape `invalid_body`.
fn not_valid(error: serde_json::Error) -> ApiError {
    let code = match error.classify() {
        serde_json::error::Category::Data => Code::InvalidBody,
        _ => Code::MalformedJson,
    };
    ApiError::new(code, format!("the body is not valid: {error}"))
}
