//! How a browser gets into the pages, and how a page knows it is talking to that browser.
//!
//! - **Links.** The service asks ward (admin API) for a link to a child's page or for a
//!   parent's sign-in link: 256 random bits in the URL, of which the store keeps only the
//!   SHA-256; short-lived ([`CHILD_LINK_TTL`], [`PARENT_LINK_TTL`]) and good once. A child's
//!   link starts the session as soon as it is opened (the service sends the child's browser
//!   straight to it). A parent's link is usually e-mailed, and mail scanners open links to
//!   look at them, so opening it shows a "Continue" button and only that POST uses it.
//! - **Sessions.** Using a link starts a session: a new random token in a cookie (`HttpOnly`;
//!   `Secure`, and the `__Host-` name prefix, when ward is served over https; `SameSite=Lax`),
//!   its SHA-256 in the store with an expiry by the server's clock. `Lax`, not `Strict`: the
//!   link arrives by a cross-site navigation (the service's redirect, a mail client), and a
//!   `Strict` cookie set there is not sent on the redirect that follows, so the child would
//!   land signed out. `Lax` still keeps the cookie off every cross-site POST; GETs change
//!   nothing; and every form carries a CSRF token besides.
//! - **CSRF.** Each session's token is the SHA-256 of a fixed label and the session's secret
//!   (so nothing more is stored, and the store's hashes do not reveal it); every POST must
//!   carry it, compared in constant time.
//!
//! A parent's session acts for the principal `parent:<id>`, exactly as that parent's API key
//! would ([`PageSession::principal`]). Not for API keys (`crate::auth`).

use axum::extract::{FromRequest, FromRequestParts, Path, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use jiff::{SignedDuration, Timestamp};
use serde::Serialize;
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use ward_core::ids::{ChildId, ParentId};
use ward_store::{NewPageSession, PageKind, PageLinkRecord, Redemption, Store};

use super::render::{ParentSignIn, render};
use super::{PageError, see_other};
use crate::auth::{Principal, Scope, hex, random_hex};
use crate::error::ApiError;
use crate::state::AppState;

/// How long a child's page link works: the service hands it to the child's browser at once.
pub(crate) const CHILD_LINK_TTL: SignedDuration = SignedDuration::from_mins(5);
/// How long a parent's sign-in link works: long enough to arrive by e-mail.
pub(crate) const PARENT_LINK_TTL: SignedDuration = SignedDuration::from_mins(15);
/// How long a child's page session lasts.
pub(crate) const CHILD_SESSION_TTL: SignedDuration = SignedDuration::from_hours(1);
/// How long a parent's session lasts.
pub(crate) const PARENT_SESSION_TTL: SignedDuration = SignedDuration::from_hours(8);

/// Random bytes in a link or session token.
const TOKEN_BYTES: usize = 32;

/// The label mixed into a session's CSRF token.
const CSRF_LABEL: &str = "ward-pages-csrf\0";

fn sha256_hex(text: &str) -> String {
    hex(&Sha256::digest(text.as_bytes()))
}

fn link_ttl(kind: PageKind) -> SignedDuration {
    match kind {
        PageKind::Child => CHILD_LINK_TTL,
        PageKind::Parent => PARENT_LINK_TTL,
    }
}

fn session_ttl(kind: PageKind) -> SignedDuration {
    match kind {
        PageKind::Child => CHILD_SESSION_TTL,
        PageKind::Parent => PARENT_SESSION_TTL,
    }
}

/// A link for the service to hand to a browser.
#[derive(Debug, Serialize)]
pub(crate) struct IssuedLink {
    /// Where to send the browser.
    pub(crate) url: String,
    /// After this it opens nothing.
    pub(crate) expires_at: Timestamp,
}

impl AppState {
    /// Makes a one-time link to `subject`'s page. `host` (the request's `Host`) makes the
    /// address when no public URL is configured.
    pub(crate) async fn issue_page_link(
        &self,
        kind: PageKind,
        subject: &str,
        host: Option<&str>,
    ) -> Result<IssuedLink, ApiError> {
        let token = random_hex(TOKEN_BYTES)
            .map_err(|error| ApiError::internal("cannot make a link", &error))?;
        let now = self.now();
        let expires_at = now.saturating_add(link_ttl(kind)).unwrap_or(now);
        self.store()
            .create_page_link(PageLinkRecord {
                token_hash: sha256_hex(&token),
                kind,
                subject: subject.to_owned(),
                created_at: now,
                expires_at,
                used_at: None,
            })
            .await?;
        let base = match (&self.pages().public_url, host) {
            (Some(public), _) => public.clone(),
            (None, Some(host)) => format!("http://{host}"),
            (None, None) => String::new(),
        };
        Ok(IssuedLink {
            url: format!("{base}/pages/link/{token}"),
            expires_at,
        })
    }

    /// The session cookie's name: `__Host-` prefixed (bound to this host, https only) when
    /// cookies are `Secure`.
    fn cookie_name(&self) -> &'static str {
        if self.pages().secure_cookies {
            "__Host-ward_session"
        } else {
            "ward_session"
        }
    }

    fn session_cookie(&self, token: &str, max_age: SignedDuration) -> Option<HeaderValue> {
        let secure = if self.pages().secure_cookies {
            "; Secure"
        } else {
            ""
        };
        HeaderValue::from_str(&format!(
            "{}={token}; Path=/; HttpOnly; SameSite=Lax; Max-Age={}{secure}",
            self.cookie_name(),
            max_age.as_secs().max(0)
        ))
        .ok()
    }
}

/// A signed-in browser: whose page it may see, and its CSRF token.
#[derive(Debug, Clone)]
pub(crate) struct PageSession {
    /// Which page.
    pub(crate) kind: PageKind,
    /// Whose: a child's or a parent's id.
    pub(crate) subject: String,
    /// The cookie's token (the CSRF token is derived from it).
    token: String,
}

impl PageSession {
    /// The token every form of this session carries.
    pub(crate) fn csrf(&self) -> String {
        sha256_hex(&format!("{CSRF_LABEL}{}", self.token))
    }

    /// Refuses a POST without this session's CSRF token.
    pub(crate) fn check_csrf(&self, presented: Option<&str>) -> Result<(), PageError> {
        let expected = self.csrf();
        match presented {
            Some(presented) if bool::from(presented.as_bytes().ct_eq(expected.as_bytes())) => {
                Ok(())
            }
            _ => {
                tracing::info!(
                    kind = self.kind.as_str(),
                    "page form refused: bad CSRF token"
                );
                Err(forged())
            }
        }
    }

    /// The principal a parent's session acts for: `parent:<id>`, as that parent's API key.
    /// `None` for a child's session.
    pub(crate) fn principal(&self) -> Option<Principal> {
        match self.kind {
            PageKind::Parent => ParentId::parse(&self.subject).ok().map(|parent| Principal {
                key_id: format!("session:{}", &sha256_hex(&self.token)[..8]),
                scope: Scope::Parent(parent),
            }),
            PageKind::Child => None,
        }
    }
}

/// The session token a request's cookies carry, if any.
fn session_token(state: &AppState, headers: &HeaderMap) -> Option<String> {
    let name = state.cookie_name();
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.to_owned())
}

/// The live page session a request's cookie carries, if any.
pub(crate) async fn session_of(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<Option<PageSession>, ApiError> {
    let Some(token) = session_token(state, headers) else {
        return Ok(None);
    };
    let record = state
        .store()
        .page_session(&sha256_hex(&token), state.now())
        .await?;
    Ok(record.map(|record| PageSession {
        kind: record.kind,
        subject: record.subject,
        token,
    }))
}

impl FromRequestParts<AppState> for PageSession {
    type Rejection = PageError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, PageError> {
        session_of(state, &parts.headers)
            .await?
            .ok_or_else(signed_out)
    }
}

/// A child's session.
#[derive(Debug)]
pub(crate) struct ChildSession {
    /// The child.
    pub(crate) child: ChildId,
    /// The session.
    pub(crate) session: PageSession,
}

impl FromRequestParts<AppState> for ChildSession {
    type Rejection = PageError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, PageError> {
        let session = PageSession::from_request_parts(parts, state).await?;
        match (session.kind, ChildId::parse(&session.subject)) {
            (PageKind::Child, Ok(child)) => Ok(Self { child, session }),
            _ => Err(PageError::new(
                StatusCode::FORBIDDEN,
                "This page is a child's",
                "You are signed in as a parent. Your dashboard is at /pages/parent.",
            )),
        }
    }
}

/// A parent's session.
#[derive(Debug)]
pub(crate) struct ParentSession {
    /// The parent.
    pub(crate) parent: ParentId,
    /// The principal it acts for (`parent:<id>`).
    pub(crate) principal: Principal,
    /// The session.
    pub(crate) session: PageSession,
}

impl FromRequestParts<AppState> for ParentSession {
    type Rejection = PageError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, PageError> {
        let session = PageSession::from_request_parts(parts, state).await?;
        match (session.principal(), ParentId::parse(&session.subject)) {
            (Some(principal), Ok(parent)) => Ok(Self {
                parent,
                principal,
                session,
            }),
            _ => Err(PageError::new(
                StatusCode::FORBIDDEN,
                "This page is a parent's",
                "You are signed in to a child's privacy page, at /pages/child.",
            )),
        }
    }
}

/// A form body (`application/x-www-form-urlencoded`); one that does not parse is a 400 page,
/// one that stalls past the body timeout a 408 page.
#[derive(Debug)]
pub(crate) struct PageForm<T>(pub(crate) T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for PageForm<T> {
    type Rejection = PageError;

    async fn from_request(request: Request, state: &S) -> Result<Self, PageError> {
        axum::Form::<T>::from_request(request, state)
            .await
            .map(|axum::Form(value)| Self(value))
            .map_err(
                |rejection| match crate::listener::body_timed_out(&rejection) {
                    Some(_) => PageError::new(
                        StatusCode::REQUEST_TIMEOUT,
                        "That form took too long to arrive",
                        "Nothing was changed. Check your connection, then go back and try again.",
                    ),
                    None => bad_form(),
                },
            )
    }
}

/// A form with only the CSRF token.
#[derive(Debug, serde::Deserialize)]
pub(crate) struct CsrfOnly {
    #[serde(default)]
    pub(crate) csrf: Option<String>,
}

/// The page for a POST that did not come from one of ward's own forms.
pub(crate) fn forged() -> PageError {
    PageError::new(
        StatusCode::FORBIDDEN,
        "That form did not come from this page",
        "Nothing was changed. Go back, reload the page and try again.",
    )
}

pub(crate) fn bad_form() -> PageError {
    PageError::new(
        StatusCode::BAD_REQUEST,
        "That form was not filled in as expected",
        "Nothing was changed. Go back, reload the page and try again.",
    )
}

fn signed_out() -> PageError {
    PageError::new(
        StatusCode::UNAUTHORIZED,
        "You are not signed in",
        "Your session has ended or this browser has none. Open a new link from the app.",
    )
}

fn link_refused(redemption: &Redemption) -> PageError {
    match redemption {
        Redemption::Used => PageError::new(
            StatusCode::GONE,
            "This link has already been used",
            "Each link works once. Ask the app for a new one.",
        ),
        Redemption::Expired => PageError::new(
            StatusCode::GONE,
            "This link has expired",
            "Links only work for a few minutes. Ask the app for a new one.",
        ),
        Redemption::Unknown | Redemption::Redeemed(_) => PageError::new(
            StatusCode::NOT_FOUND,
            "This link does not work",
            "Check that the whole link was copied, or ask the app for a new one.",
        ),
    }
}

/// What a link would do now, without using it.
async fn peek(state: &AppState, token_hash: &str) -> Result<PageLinkRecord, PageError> {
    let link = state
        .store()
        .page_link(token_hash)
        .await
        .map_err(ApiError::from)?;
    match link {
        None => Err(link_refused(&Redemption::Unknown)),
        Some(link) if link.used_at.is_some() => Err(link_refused(&Redemption::Used)),
        Some(link) if link.expires_at <= state.now() => Err(link_refused(&Redemption::Expired)),
        Some(link) => Ok(link),
    }
}

/// `GET /pages/link/{token}`: a child's link signs in and goes to the page; a parent's shows
/// the button that will.
pub(crate) async fn open_link(
    State(state): State<AppState>,
    path: Result<Path<String>, axum::extract::rejection::PathRejection>,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    let Ok(Path(token)) = path else {
        return Err(link_refused(&Redemption::Unknown));
    };
    let token_hash = sha256_hex(&token);
    let link = peek(&state, &token_hash).await?;
    match link.kind {
        PageKind::Child => redeem(&state, &token_hash, link.kind, &headers).await,
        PageKind::Parent => render(
            StatusCode::OK,
            &ParentSignIn {
                service: state.active().compiled.policy().service.name.clone(),
                action: format!("/pages/link/{token}"),
            },
        ),
    }
}

/// `POST /pages/link/{token}`: uses the link (a parent's "Continue").
pub(crate) async fn redeem_link(
    State(state): State<AppState>,
    path: Result<Path<String>, axum::extract::rejection::PathRejection>,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    let Ok(Path(token)) = path else {
        return Err(link_refused(&Redemption::Unknown));
    };
    let token_hash = sha256_hex(&token);
    let link = peek(&state, &token_hash).await?;
    redeem(&state, &token_hash, link.kind, &headers).await
}

/// Uses a link: a new session, its cookie, and off to the page. A session the browser
/// already had is ended (one browser, one session).
async fn redeem(
    state: &AppState,
    token_hash: &str,
    kind: PageKind,
    headers: &HeaderMap,
) -> Result<Response, PageError> {
    let token = random_hex(TOKEN_BYTES)
        .map_err(|error| ApiError::internal("cannot make a session", &error))?;
    let now = state.now();
    let ttl = session_ttl(kind);
    let session = NewPageSession {
        token_hash: sha256_hex(&token),
        expires_at: now.saturating_add(ttl).unwrap_or(now),
    };
    let redemption = state
        .store()
        .redeem_page_link(token_hash, session, now)
        .await
        .map_err(ApiError::from)?;
    let Redemption::Redeemed(record) = redemption else {
        return Err(link_refused(&redemption));
    };
    if let Some(old) = session_token(state, headers) {
        state
            .store()
            .end_page_session(&sha256_hex(&old))
            .await
            .map_err(ApiError::from)?;
    }
    tracing::info!(kind = record.kind.as_str(), "page session started");
    let mut response = see_other(match record.kind {
        PageKind::Child => "/pages/child",
        PageKind::Parent => "/pages/parent",
    });
    let cookie = state
        .session_cookie(&token, ttl)
        .ok_or_else(|| ApiError::internal("cannot set the session cookie", &"bad header"))?;
    response.headers_mut().insert(header::SET_COOKIE, cookie);
    Ok(response)
}

/// `POST /pages/sign-out`: ends the session and forgets the cookie.
pub(crate) async fn sign_out(
    State(state): State<AppState>,
    session: PageSession,
    PageForm(form): PageForm<CsrfOnly>,
) -> Result<Response, PageError> {
    session.check_csrf(form.csrf.as_deref())?;
    state
        .store()
        .end_page_session(&sha256_hex(&session.token))
        .await
        .map_err(ApiError::from)?;
    let mut response = PageError::new(
        StatusCode::OK,
        "You are signed out",
        "You can close this page. To come back, open a new link from the app.",
    )
    .into_response();
    if let Some(cookie) = state.session_cookie("", SignedDuration::ZERO) {
        response.headers_mut().insert(header::SET_COOKIE, cookie);
    }
    Ok(response)
}
