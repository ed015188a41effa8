//! Every error the API returns, mapped once: one table of codes (code, status), one
//! [`ApiError`] carrying a code and a message for the client, and the conversions from the
//! core's, the store's and the body parser's errors. Internal details are logged here and
//! never sent.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use ward_core::settings::FlowError;
use ward_store::StoreError;

/// Declares the error codes: each line is a code, its HTTP status, and when it is used.
macro_rules! error_codes {
    ($($(#[$doc:meta])* $variant:ident = ($code:literal, $status:ident)),+ $(,)?) => {
        /// An error code, as sent in `{"error": {"code", "message"}}`.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum Code {
            $($(#[$doc])* $variant),+
        }

        impl Code {
            /// Every code, in table order (for the OpenAPI document and its test).
            pub const ALL: &'static [Code] = &[$(Code::$variant),+];

            /// The code as sent.
            pub fn as_str(self) -> &'static str {
                match self { $(Code::$variant => $code),+ }
            }

            /// The HTTP status it is sent with.
            pub fn status(self) -> StatusCode {
                match self { $(Code::$variant => StatusCode::$status),+ }
            }
        }
    };
}

error_codes! {
    /// No `Authorization: Bearer` header, or not a ward key.
    Unauthorized = ("unauthorized", UNAUTHORIZED),
    /// A well-formed key that is unknown or revoked.
    InvalidKey = ("invalid_key", UNAUTHORIZED),
    /// The key's scope does not allow this.
    Forbidden = ("forbidden", FORBIDDEN),
    /// No such route.
    NotFound = ("not_found", NOT_FOUND),
    /// The route exists, not with this method.
    MethodNotAllowed = ("method_not_allowed", METHOD_NOT_ALLOWED),
    /// The body is not JSON.
    MalformedJson = ("malformed_json", BAD_REQUEST),
    /// The body is JSON of the wrong shape: unknown or missing fields, wrong types, bad values.
    InvalidBody = ("invalid_body", UNPROCESSABLE_ENTITY),
    /// A body without `Content-Type: application/json`.
    UnsupportedMediaType = ("unsupported_media_type", UNSUPPORTED_MEDIA_TYPE),
    /// The body is larger than the server accepts.
    PayloadTooLarge = ("payload_too_large", PAYLOAD_TOO_LARGE),
    /// The request's headers are larger than the server accepts (answered by the listener).
    HeadersTooLarge = ("headers_too_large", REQUEST_HEADER_FIELDS_TOO_LARGE),
    /// The request's body did not arrive within the body timeout.
    RequestTimeout = ("request_timeout", REQUEST_TIMEOUT),
    /// The server has as many connections open as it accepts (answered by the listener).
    TooManyConnections = ("too_many_connections", SERVICE_UNAVAILABLE),
    /// The query string does not parse: an unknown parameter, or a value of the wrong type.
    InvalidQuery = ("invalid_query", BAD_REQUEST),
    /// An id, in the path or the body, is malformed.
    InvalidId = ("invalid_id", BAD_REQUEST),
    /// No such child.
    ChildNotFound = ("child_not_found", NOT_FOUND),
    /// No such setting in the policy.
    SettingNotFound = ("setting_not_found", NOT_FOUND),
    /// No such intervention (or it expired and was removed).
    InterventionNotFound = ("intervention_not_found", NOT_FOUND),
    /// No such consent request.
    RequestNotFound = ("consent_request_not_found", NOT_FOUND),
    /// No such API key.
    KeyNotFound = ("key_not_found", NOT_FOUND),
    /// No such webhook endpoint.
    WebhookNotFound = ("webhook_not_found", NOT_FOUND),
    /// The purpose is locked for children.
    LockedForChildren = ("locked_for_children", CONFLICT),
    /// The child is below the service's minimum age.
    BelowMinAge = ("below_min_age", CONFLICT),
    /// The setting is already on.
    AlreadyOn = ("already_on", CONFLICT),
    /// The setting is already waiting for a parent.
    AlreadyPending = ("already_pending", CONFLICT),
    /// The child's age must be established first.
    AgeAssuranceRequired = ("age_assurance_required", CONFLICT),
    /// The intervention is past its expiry.
    InterventionExpired = ("intervention_expired", GONE),
    /// What the child saw is no longer what they would agree to.
    InterventionStale = ("intervention_stale", CONFLICT),
    /// The consent request is not waiting for an answer.
    RequestNotPending = ("consent_request_not_pending", CONFLICT),
    /// The consent request lapsed.
    RequestExpired = ("consent_request_expired", GONE),
    /// The parent is not linked to the child.
    ParentNotLinked = ("parent_not_linked", CONFLICT),
    /// The parent is already linked.
    ParentAlreadyLinked = ("parent_already_linked", CONFLICT),
    /// The jurisdiction is not one the service declares.
    JurisdictionNotServed = ("jurisdiction_not_served", UNPROCESSABLE_ENTITY),
    /// Nothing for the child to confirm.
    NoRefreshDue = ("no_refresh_due", CONFLICT),
    /// The intervention belongs to another child.
    WrongChild = ("wrong_child", BAD_REQUEST),
    /// A new policy was refused: it has errors; the old one keeps serving.
    PolicyInvalid = ("policy_invalid", UNPROCESSABLE_ENTITY),
    /// The database is unavailable.
    Unavailable = ("unavailable", SERVICE_UNAVAILABLE),
    /// Something went wrong inside ward; the details are in its log.
    Internal = ("internal", INTERNAL_SERVER_ERROR),
    /// No such report (or not this caller's to see).
    ReportNotFound = ("report_not_found", NOT_FOUND),
    /// The report is already resolved.
    ReportResolved = ("report_resolved", CONFLICT),
    /// The child has as many open reports as ward keeps.
    TooManyReports = ("too_many_reports", CONFLICT),
    /// The item is not hidden for this child.
    NotHidden = ("not_hidden", NOT_FOUND),
    /// Nothing of this kind and name is held back for the child.
    NotHeld = ("not_held", NOT_FOUND),
}

impl From<ward_core::feedback::FeedbackError> for ApiError {
    fn from(error: ward_core::feedback::FeedbackError) -> Self {
        use ward_core::feedback::FeedbackError as E;
        let code = match &error {
            E::BadItemId | E::ReasonRequired | E::ReasonNotTaken => Code::InvalidBody,
            E::TooManyOpenReports => Code::TooManyReports,
            E::NotHidden(_) => Code::NotHidden,
            E::NotHeld(_) => Code::NotHeld,
            E::UnknownReport(_) => Code::ReportNotFound,
            E::AlreadyResolved(_) => Code::ReportResolved,
        };
        Self::new(code, error.to_string())
    }
}

/// An error on its way to the client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// The code.
    pub code: Code,
    /// What went wrong and what to do, for a developer.
    pub message: String,
    /// Extra structured detail (a policy's findings), when there is any.
    pub details: Option<serde_json::Value>,
}

impl ApiError {
    /// An error with a message.
    pub fn new(code: Code, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            details: None,
        }
    }

    /// The same, with structured detail.
    pub fn with_details(mut self, details: serde_json::Value) -> Self {
        self.details = Some(details);
        self
    }

    /// The child is not stored.
    pub fn child_not_found(id: &str) -> Self {
        Self::new(
            Code::ChildNotFound,
            format!("no child `{id}`: create them with PUT /v1/children/{id} first"),
        )
    }

    /// Something failed inside: log it, tell the client only that it happened.
    pub fn internal(what: &str, error: &dyn std::fmt::Display) -> Self {
        tracing::error!(%error, "{what}");
        Self::new(
            Code::Internal,
            "ward could not complete the request; the details are in its log",
        )
    }
}

#[derive(Serialize)]
struct Body<'a> {
    error: BodyError<'a>,
}

#[derive(Serialize)]
struct BodyError<'a> {
    code: &'static str,
    message: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    details: Option<&'a serde_json::Value>,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = Body {
            error: BodyError {
                code: self.code.as_str(),
                message: &self.message,
                details: self.details.as_ref(),
            },
        };
        (self.code.status(), axum::Json(body)).into_response()
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        if matches!(error, StoreError::Down) {
            // Logged once, when the store saw the server go, not once per refused request.
            tracing::debug!(%error, "database down");
            Self::new(Code::Unavailable, "the database is unavailable; try again")
        } else if error.is_unavailable() {
            tracing::error!(%error, "database unavailable");
            Self::new(Code::Unavailable, "the database is unavailable; try again")
        } else {
            Self::internal("store error", &error)
        }
    }
}

impl From<FlowError> for ApiError {
    fn from(error: FlowError) -> Self {
        let code = match &error {
            FlowError::UnknownSetting(_) => Code::SettingNotFound,
            FlowError::LockedForChildren(_) => Code::LockedForChildren,
            FlowError::BelowMinAge => Code::BelowMinAge,
            FlowError::AlreadyOn(_) => Code::AlreadyOn,
            FlowError::AlreadyPending(_) => Code::AlreadyPending,
            FlowError::WrongChild => Code::WrongChild,
            FlowError::InterventionExpired => Code::InterventionExpired,
            FlowError::InterventionStale => Code::InterventionStale,
            FlowError::AgeAssuranceRequired => Code::AgeAssuranceRequired,
            FlowError::NotPending(_) => Code::RequestNotPending,
            FlowError::RequestExpired(_) => Code::RequestExpired,
            FlowError::ParentNotLinked(_) => Code::ParentNotLinked,
            FlowError::ParentAlreadyLinked(_) => Code::ParentAlreadyLinked,
            FlowError::JurisdictionNotServed(_) => Code::JurisdictionNotServed,
            FlowError::NoRefreshDue(_) => Code::NoRefreshDue,
        };
        Self::new(code, error.to_string())
    }
}

/// The API's result type.
pub type ApiResult<T> = Result<T, ApiError>;
