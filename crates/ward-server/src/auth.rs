//! API keys and who a request acts for.
//!
//! A token is `ward_<id>_<secret>`: `id` is 8 random bytes and `secret` 32 (256 bits), both
//! hex. The store keeps the id, the SHA-256 of the secret and the scope; the token itself is
//! shown once, at creation, and never logged. A request's secret is hashed and compared with
//! the stored hash in constant time. The server holds the key table in memory (the hot path
//! cannot afford a database round trip per request) and refreshes it when any process
//! changes a key: at once on the node that changed it and through PostgreSQL's change feed,
//! and within a second anywhere by polling a counter (`ward keys` run beside a live server).
//!
//! Scopes: `decide` (the hot path), `admin` (the service: children, policy, keys, links;
//! admin may also decide), `parent:<id>` (one parent: their own children only).

use std::collections::HashMap;
use std::fmt;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use jiff::Timestamp;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use ward_core::ids::ParentId;
use ward_core::settings::Child;
use ward_store::KeyRecord;

use crate::error::{ApiError, Code};
use crate::state::AppState;

/// What a key may do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// `decide` and `feed/filter`.
    Decide,
    /// Everything the service does.
    Admin,
    /// The service's moderators: read, acknowledge and resolve children's reports, and
    /// nothing else (no settings, consents, controls or keys). A moderation tool holds this
    /// key; it needs to see what was reported, and no more of a child.
    Moderate,
    /// One parent, for their own children.
    Parent(ParentId),
}

/// Why a scope string is not one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a scope: use `decide`, `admin`, `moderate` or `parent:<parent id>`")]
pub struct BadScope(pub String);

impl Scope {
    /// Parses `decide`, `admin`, `moderate` or `parent:<id>`.
    pub fn parse(text: &str) -> Result<Self, BadScope> {
        match text {
            "decide" => Ok(Self::Decide),
            "admin" => Ok(Self::Admin),
            "moderate" => Ok(Self::Moderate),
            other => other
                .strip_prefix("parent:")
                .and_then(|id| ParentId::parse(id).ok())
                .map(Self::Parent)
                .ok_or_else(|| BadScope(text.to_owned())),
        }
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Decide => f.write_str("decide"),
            Self::Admin => f.write_str("admin"),
            Self::Moderate => f.write_str("moderate"),
            Self::Parent(id) => write!(f, "parent:{id}"),
        }
    }
}

/// A key just made: the token (to show once) and what is stored.
#[derive(Debug)]
pub struct NewKey {
    /// The whole token. Shown once; never stored or logged.
    pub token: String,
    /// What the store keeps.
    pub record: KeyRecord,
}

/// Why a key could not be made.
#[derive(Debug, thiserror::Error)]
#[error("the system's random number generator failed: {0}")]
pub struct RandomError(getrandom::Error);

/// Makes a new key with `scope`.
pub fn generate(scope: &Scope, label: &str, now: Timestamp) -> Result<NewKey, RandomError> {
    let mut id = [0u8; 8];
    let mut secret = [0u8; 32];
    getrandom::fill(&mut id).map_err(RandomError)?;
    getrandom::fill(&mut secret).map_err(RandomError)?;
    let (id, secret) = (hex(&id), hex(&secret));
    Ok(NewKey {
        token: format!("ward_{id}_{secret}"),
        record: KeyRecord {
            secret_hash: hex(&Sha256::digest(secret.as_bytes())),
            id,
            scope: scope.to_string(),
            label: label.to_owned(),
            created_at: now,
            revoked_at: None,
        },
    })
}

/// A random hex token of `n_bytes` (for links and sessions).
pub fn random_hex(n_bytes: usize) -> Result<String, RandomError> {
    let mut bytes = vec![0u8; n_bytes];
    getrandom::fill(&mut bytes).map_err(RandomError)?;
    Ok(hex(&bytes))
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// A key as the server checks it.
#[derive(Debug, Clone)]
struct LiveKey {
    secret_hash: [u8; 32],
    scope: Scope,
    revoked: bool,
}

/// Every key, in memory.
#[derive(Debug, Default)]
pub struct KeyTable {
    keys: HashMap<String, LiveKey>,
    /// The store's key counter when this table was read.
    pub version: i64,
}

impl KeyTable {
    /// A table from stored keys. A stored key with an unreadable hash or scope is left out
    /// (and logged): it can never authenticate.
    pub fn new(records: Vec<KeyRecord>, version: i64) -> Self {
        let mut keys = HashMap::with_capacity(records.len());
        for record in records {
            let hash = unhex32(&record.secret_hash);
            match (hash, Scope::parse(&record.scope)) {
                (Some(secret_hash), Ok(scope)) => {
                    keys.insert(
                        record.id,
                        LiveKey {
                            secret_hash,
                            scope,
                            revoked: record.revoked_at.is_some(),
                        },
                    );
                }
                _ => tracing::warn!(key = %record.id, "stored key is unreadable; ignored"),
            }
        }
        Self { keys, version }
    }

    /// True when there are no keys at all (not even revoked ones).
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// True when the token's key id is in the table (live or not).
    pub fn knows(&self, token: &str) -> bool {
        token
            .strip_prefix("ward_")
            .and_then(|rest| rest.split_once('_'))
            .is_some_and(|(id, _)| self.keys.contains_key(id))
    }

    /// Who a bearer token acts for.
    pub fn authenticate(&self, token: &str) -> Result<Principal, ApiError> {
        let unauthorized = || {
            ApiError::new(
                Code::Unauthorized,
                "send a ward API key as `Authorization: Bearer ward_…`",
            )
        };
        let rest = token.strip_prefix("ward_").ok_or_else(unauthorized)?;
        let (id, secret) = rest.split_once('_').ok_or_else(unauthorized)?;
        let invalid = |why: &str| {
            tracing::info!(key = %id, "rejected API key: {why}");
            ApiError::new(Code::InvalidKey, "this API key is unknown or revoked")
        };
        let Some(key) = self.keys.get(id) else {
            return Err(invalid("unknown"));
        };
        let presented: [u8; 32] = Sha256::digest(secret.as_bytes()).into();
        if !bool::from(presented.ct_eq(&key.secret_hash)) {
            return Err(invalid("wrong secret"));
        }
        if key.revoked {
            return Err(invalid("revoked"));
        }
        Ok(Principal {
            key_id: id.to_owned(),
            scope: key.scope.clone(),
        })
    }
}

fn unhex32(text: &str) -> Option<[u8; 32]> {
    let mut out = [0u8; 32];
    if text.len() != 64 {
        return None;
    }
    for (idx, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(text.get(idx * 2..idx * 2 + 2)?, 16).ok()?;
    }
    Some(out)
}

/// Who a request acts for: the key and its scope.
#[derive(Debug, Clone)]
pub struct Principal {
    /// The key's public id (safe to log).
    pub key_id: String,
    /// What it may do.
    pub scope: Scope,
}

impl Principal {
    fn forbidden(&self, needed: &str) -> ApiError {
        tracing::info!(key = %self.key_id, scope = %self.scope, "forbidden: needs {needed}");
        ApiError::new(
            Code::Forbidden,
            format!(
                "this key's scope (`{}`) cannot do this: it needs {needed}",
                self.scope
            ),
        )
    }

    /// `decide` or `admin`.
    pub fn require_decide(&self) -> Result<(), ApiError> {
        match self.scope {
            Scope::Decide | Scope::Admin => Ok(()),
            Scope::Parent(_) | Scope::Moderate => Err(self.forbidden("the `decide` scope")),
        }
    }

    /// `moderate` or `admin`: children's reports.
    pub fn require_moderate(&self) -> Result<(), ApiError> {
        match self.scope {
            Scope::Moderate | Scope::Admin => Ok(()),
            _ => Err(self.forbidden("the `moderate` or `admin` scope")),
        }
    }

    /// `admin`.
    pub fn require_admin(&self) -> Result<(), ApiError> {
        match self.scope {
            Scope::Admin => Ok(()),
            _ => Err(self.forbidden("the `admin` scope")),
        }
    }

    /// The parent this key acts for, when it is a parent's key.
    pub fn parent(&self) -> Option<&ParentId> {
        match &self.scope {
            Scope::Parent(parent) => Some(parent),
            _ => None,
        }
    }

    /// Exactly this parent (their own alerts, say), or admin.
    pub fn require_parent_or_admin(&self, parent: &ParentId) -> Result<(), ApiError> {
        match &self.scope {
            Scope::Admin => Ok(()),
            Scope::Parent(own) if own == parent => Ok(()),
            _ => Err(self.forbidden(&format!("`admin` or `parent:{parent}`"))),
        }
    }

    /// Admin, or a parent linked to `child`.
    pub fn require_admin_or_linked(&self, child: &Child) -> Result<(), ApiError> {
        match &self.scope {
            Scope::Admin => Ok(()),
            Scope::Parent(parent) if child.parents.contains(parent) => Ok(()),
            _ => Err(self.not_this_child()),
        }
    }

    /// The one refusal for a child this principal may not act on. It is the same whether or
    /// not the child exists, and names no child, so a caller without access learns nothing
    /// about which ids exist.
    pub fn not_this_child(&self) -> ApiError {
        self.forbidden("`admin` or the scope of a parent linked to the child")
    }

    /// A parent's key (answering consent requests: the service itself may not consent for a
    /// child).
    pub fn require_a_parent(&self) -> Result<&ParentId, ApiError> {
        self.parent().ok_or_else(|| {
            self.forbidden("a parent's scope: only a parent can answer a consent request")
        })
    }
}

impl FromRequestParts<AppState> for Principal {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let token = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.strip_prefix("Bearer "))
            .map(str::trim)
            .ok_or_else(|| {
                ApiError::new(
                    Code::Unauthorized,
                    "send a ward API key as `Authorization: Bearer ward_…`",
                )
            })?;
        match state.keys().authenticate(token) {
            // A key made a moment ago by `ward keys create` beside this server: look again,
            // at most a few times a second whatever is sent.
            Err(error) if error.code == Code::InvalidKey && !state.keys().knows(token) => {
                if state.refresh_keys_now_and_then().await {
                    state.keys().authenticate(token)
                } else {
                    Err(error)
                }
            }
            other => other,
        }
    }
}

/// Who a request acts for, by an API key or, for the routes a page reads too, by a parent's
/// page session (the dashboard's live alerts): the session acts as `parent:<id>`, exactly as
/// that parent's key would ([`crate::pages::access::PageSession::principal`]).
///
/// A request with an `Authorization` header is judged by its key alone, as [`Principal`]
/// judges it: a bad key is refused even when a session cookie comes with it. Without one, the
/// cookie must hold a live parent's session, sent by a page of this site (a browser that
/// says otherwise, by `Sec-Fetch-Site` or `Origin`, is refused: `crate::pages::from_this_site`);
/// a child's session acts for no principal.
#[derive(Debug, Clone)]
pub(crate) struct KeyOrSession(pub(crate) Principal);

impl FromRequestParts<AppState> for KeyOrSession {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        if parts
            .headers
            .contains_key(axum::http::header::AUTHORIZATION)
        {
            return Principal::from_request_parts(parts, state).await.map(Self);
        }
        let Some(session) = crate::pages::access::session_of(state, &parts.headers).await? else {
            return Err(ApiError::new(
                Code::Unauthorized,
                "send a ward API key as `Authorization: Bearer ward_…`, or sign in to the parent's dashboard",
            ));
        };
        if !crate::pages::from_this_site(state, &parts.headers) {
            tracing::info!("forbidden: a page session sent from another site");
            return Err(ApiError::new(
                Code::Forbidden,
                "a page session is accepted only from ward's own pages",
            ));
        }
        session.principal().map(Self).ok_or_else(|| {
            tracing::info!("forbidden: a child's page session asked for a parent's route");
            ApiError::new(
                Code::Forbidden,
                "a child's page session cannot do this: it needs a parent's session or an API key",
            )
        })
    }
}
