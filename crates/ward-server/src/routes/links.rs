//! The admin API's way into the pages: a one-time link to a child's privacy page, and a
//! parent's one-time sign-in link. The service asks, then sends the browser (or an e-mail)
//! to the URL; `pages::access` does the rest.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use ward_core::ids::{ChildId, ParentId};
use ward_store::{PageKind, Store};

use super::{Segments, path_id};
use crate::auth::Principal;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

fn host(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::HOST)
        .and_then(|value| value.to_str().ok())
}

/// `POST /v1/children/{id}/page-link` → 201 `{"url", "expires_at"}`.
pub(crate) async fn child_page_link(
    State(state): State<AppState>,
    principal: Principal,
    segments: Segments,
    headers: HeaderMap,
) -> ApiResult<Response> {
    principal.require_admin()?;
    let id = path_id(segments.get(0), ChildId::parse)?;
    if state.store().child(&id).await?.is_none() {
        return Err(ApiError::child_not_found(id.as_str()));
    }
    let link = state
        .issue_page_link(PageKind::Child, id.as_str(), host(&headers))
        .await?;
    Ok((StatusCode::CREATED, Json(link)).into_response())
}

/// `POST /v1/parents/{parent}/sign-in-link` → 201 `{"url", "expires_at"}`.
pub(crate) async fn parent_sign_in_link(
    State(state): State<AppState>,
    principal: Principal,
    segments: Segments,
    headers: HeaderMap,
) -> ApiResult<Response> {
    principal.require_admin()?;
    let parent = path_id(segments.get(0), ParentId::parse)?;
    let link = state
        .issue_page_link(PageKind::Parent, parent.as_str(), host(&headers))
        .await?;
    Ok((StatusCode::CREATED, Json(link)).into_response())
}
