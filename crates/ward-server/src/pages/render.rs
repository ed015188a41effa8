//! What the templates show, and how a page becomes a response: the template structs (one per
//! page, each with the [`Frame`] the layout needs), the icons, ward's own headings for the
//! policy's categories, dates, and [`PageError`] — every refusal as a page with its status.
//!
//! Not for deciding anything: the handlers in `child` and `parent` fill these in from the
//! child, the requests and the policy. Escaping is askama's: every `{{ }}` in an `.html`
//! template is HTML-escaped, so a policy text is always text; only the icons below (constants
//! of this file) are marked `safe`.

use askama::Template;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use jiff::Timestamp;
use ward_core::policy::Category;

use crate::error::{ApiError, Code};

/// What the layout (`base.html`) needs on every page.
#[derive(Debug)]
pub(crate) struct Frame {
    /// The service's name (`[service] name`).
    pub(crate) service: String,
    /// The page's own title.
    pub(crate) title: String,
    /// The 0-5 and 6-9 bands: larger text and icons.
    pub(crate) young: bool,
    /// The signs a child's page always shows.
    pub(crate) signs: Option<Signs>,
    /// The session's CSRF token, for the forms in the layout (sign out, the location sign).
    pub(crate) csrf: Option<String>,
}

/// The signs on every page a child sees.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Signs {
    /// Location sharing is on: the sign stays on screen (Standard 10).
    pub(crate) location_on: bool,
    /// A parent is linked: "a parent can see your settings" (Standard 11).
    pub(crate) supervised: bool,
}

/// A message page: errors, and the few pages that only say something.
#[derive(Template)]
#[template(path = "message.html")]
pub(crate) struct MessagePage {
    pub(crate) frame: Frame,
    pub(crate) message: String,
}

/// A parent's link, before it is used.
#[derive(Template)]
#[template(path = "sign_in.html")]
pub(crate) struct ParentSignIn {
    pub(crate) service: String,
    pub(crate) action: String,
}

/// A child's privacy page.
#[derive(Template)]
#[template(path = "child.html")]
pub(crate) struct ChildPage {
    pub(crate) frame: Frame,
    pub(crate) csrf: String,
    pub(crate) notice: Option<String>,
    /// A self-harm or suicide report was just made: the help comes first.
    pub(crate) help_first: bool,
    pub(crate) feedback: FeedbackSection,
    pub(crate) groups: Vec<Group>,
    pub(crate) location_on: bool,
    pub(crate) profile_public: bool,
    pub(crate) always_on: Vec<PurposeText>,
}

/// The settings of one category.
#[derive(Debug)]
pub(crate) struct Group {
    pub(crate) category: &'static str,
    pub(crate) title: &'static str,
    pub(crate) icon: &'static str,
    pub(crate) settings: Vec<SettingCard>,
}

/// One setting on the child's page.
#[derive(Debug)]
pub(crate) struct SettingCard {
    pub(crate) id: String,
    pub(crate) name: String,
    pub(crate) description: String,
    /// The switch shows on (on, or waiting for a parent: what the child asked for).
    pub(crate) checked: bool,
    /// Children cannot switch it on.
    pub(crate) locked: bool,
    /// Waiting for a parent.
    pub(crate) pending: bool,
    /// What the switch says: On, Off, Waiting.
    pub(crate) label: &'static str,
    /// The line under it.
    pub(crate) status: String,
    /// The child crossed the consent age: they may keep a parent's consent as their own.
    pub(crate) refresh_due: bool,
    /// A parent is asked for something the child did not just see explained (their age
    /// changed, or the purpose did): the band's `explain` and `ask_adult` texts, shown here
    /// as the parent sees them.
    pub(crate) told: Option<(String, String)>,
    /// Recommendations or a feed: "reset my recommendations" is offered.
    pub(crate) resettable: bool,
}

/// A purpose shown by name and description only.
#[derive(Debug)]
pub(crate) struct PurposeText {
    pub(crate) name: String,
    pub(crate) description: String,
}

/// What the child's page shows of their own feedback.
#[derive(Debug)]
pub(crate) struct FeedbackSection {
    pub(crate) hidden: Vec<HiddenLine>,
    /// The words above `held`.
    pub(crate) held_intro: String,
    pub(crate) held: Vec<HeldLine>,
    pub(crate) reports: Vec<ReportLine>,
    pub(crate) talk_to: String,
    pub(crate) helpline: String,
    pub(crate) helpline_contact: String,
    /// What a linked parent is told (Standard 11: the child knows what a parent can see).
    pub(crate) parents_see: &'static str,
}

/// One hidden item, with "show again".
#[derive(Debug)]
pub(crate) struct HiddenLine {
    pub(crate) item: String,
    pub(crate) about: String,
    pub(crate) reported: bool,
    /// The moderators took it down: these words instead of "show again".
    pub(crate) taken_down: Option<String>,
}

/// One held-back name, with its own "show again".
#[derive(Debug)]
pub(crate) struct HeldLine {
    pub(crate) kind: &'static str,
    pub(crate) name: String,
    pub(crate) about: String,
    /// How long it has left, for the older bands.
    pub(crate) left: Option<String>,
}

/// One report and where it stands, in the child's words.
#[derive(Debug)]
pub(crate) struct ReportLine {
    pub(crate) about: String,
    pub(crate) reason: &'static str,
    pub(crate) status: String,
    pub(crate) resolved: bool,
}

/// A reason a child can pick.
#[derive(Debug)]
pub(crate) struct ReasonChoice {
    pub(crate) value: &'static str,
    pub(crate) words: &'static str,
}

/// "Why am I seeing this?", with "Not for me" and "Report".
#[derive(Template)]
#[template(path = "why.html")]
pub(crate) struct WhyPage {
    pub(crate) frame: Frame,
    pub(crate) csrf: String,
    pub(crate) text: String,
    /// What the item is, in words ("A video about pranks from prankstars").
    pub(crate) about: String,
    /// The item's JSON, sent back with either form.
    pub(crate) item: String,
    pub(crate) reasons: Vec<ReasonChoice>,
    pub(crate) young: bool,
}

/// The switch-on intervention.
#[derive(Template)]
#[template(path = "switch_on.html")]
pub(crate) struct SwitchOnPage {
    pub(crate) frame: Frame,
    pub(crate) csrf: String,
    pub(crate) intervention: String,
    pub(crate) name: String,
    pub(crate) description: String,
    pub(crate) explain: String,
    pub(crate) ask_adult: String,
    pub(crate) needs_parent: bool,
    pub(crate) needs_age: bool,
}

/// A parent's dashboard.
#[derive(Template)]
#[template(path = "parent.html")]
pub(crate) struct ParentPage {
    pub(crate) frame: Frame,
    pub(crate) csrf: String,
    pub(crate) parent: String,
    pub(crate) notice: Option<&'static str>,
    pub(crate) children: Vec<ChildCard>,
    /// The latest alerts, newest first.
    pub(crate) alerts: Vec<AlertCard>,
    /// The alert stream the script opens.
    pub(crate) stream: String,
    /// The newest alert shown (0: none): the stream carries on after it.
    pub(crate) after: i64,
}

/// One alert on the dashboard, in ward's words.
#[derive(Debug)]
pub(crate) struct AlertCard {
    /// Its id in the stream.
    pub(crate) seq: i64,
    /// `consent_requested`, …
    pub(crate) kind: String,
    /// When, for people.
    pub(crate) at: String,
    /// What happened.
    pub(crate) text: String,
    /// The child it is about (their card is on the page), when known.
    pub(crate) child: Option<String>,
}

/// One linked child on the dashboard.
#[derive(Debug)]
pub(crate) struct ChildCard {
    pub(crate) id: String,
    pub(crate) band: String,
    pub(crate) location_on: bool,
    pub(crate) profile_public: bool,
    pub(crate) settings: Vec<(String, &'static str)>,
    pub(crate) pending: Vec<RequestCard>,
    pub(crate) answered: Vec<RequestCard>,
    /// The controls as set now, for people.
    pub(crate) controls_now: Vec<(&'static str, String)>,
    /// The controls form: the values set now, or those just posted with their errors.
    pub(crate) form: ControlsForm,
    /// The child's time zone (bedtime is in it).
    pub(crate) time_zone: String,
    /// The controls were just saved.
    pub(crate) saved: bool,
}

/// The controls form's fields as text, and what is wrong with them.
#[derive(Debug, Clone, Default)]
pub(crate) struct ControlsForm {
    pub(crate) daily_minutes: String,
    pub(crate) bedtime_start: String,
    pub(crate) bedtime_end: String,
    pub(crate) blocked_tags: String,
    pub(crate) blocked_topics: String,
    pub(crate) blocked_sources: String,
    pub(crate) errors: ControlsErrors,
}

/// A block list's field in the controls form.
#[derive(Debug)]
pub(crate) struct BlockField<'a> {
    pub(crate) field: &'static str,
    pub(crate) label: &'static str,
    pub(crate) hint: &'static str,
    pub(crate) value: &'a str,
    pub(crate) error: Option<&'a str>,
}

impl ControlsForm {
    /// The three block lists' fields, in the form's order.
    pub(crate) fn block_fields(&self) -> [BlockField<'_>; 3] {
        [
            BlockField {
                field: "blocked_tags",
                label: "Blocked tags",
                hint: "Kinds of content the app labels, like gambling or horror.",
                value: &self.blocked_tags,
                error: self.errors.blocked_tags.as_deref(),
            },
            BlockField {
                field: "blocked_topics",
                label: "Blocked topics",
                hint: "Subjects, like football or make-up.",
                value: &self.blocked_topics,
                error: self.errors.blocked_topics.as_deref(),
            },
            BlockField {
                field: "blocked_sources",
                label: "Blocked sources",
                hint: "Channels or accounts, by name.",
                value: &self.blocked_sources,
                error: self.errors.blocked_sources.as_deref(),
            },
        ]
    }
}

/// One message per field that is wrong.
#[derive(Debug, Clone, Default)]
pub(crate) struct ControlsErrors {
    pub(crate) daily_minutes: Option<String>,
    pub(crate) bedtime: Option<String>,
    pub(crate) blocked_tags: Option<String>,
    pub(crate) blocked_topics: Option<String>,
    pub(crate) blocked_sources: Option<String>,
}

impl ControlsErrors {
    /// `(field id, message)` for the summary above the form, in the form's order.
    pub(crate) fn list(&self) -> Vec<(&'static str, &str)> {
        [
            ("daily_minutes", &self.daily_minutes),
            ("bedtime_start", &self.bedtime),
            ("blocked_tags", &self.blocked_tags),
            ("blocked_topics", &self.blocked_topics),
            ("blocked_sources", &self.blocked_sources),
        ]
        .into_iter()
        .filter_map(|(field, error)| error.as_deref().map(|error| (field, error)))
        .collect()
    }

    /// True when nothing is wrong.
    pub(crate) fn is_empty(&self) -> bool {
        self.list().is_empty()
    }
}

/// A consent request, with exactly what the child was shown.
#[derive(Debug)]
pub(crate) struct RequestCard {
    pub(crate) id: String,
    pub(crate) setting_name: String,
    /// What the request is, in words: who asked for what, and why a parent is asked.
    pub(crate) heading: String,
    /// Above the texts: what the child saw (they asked), or is told for their age now.
    pub(crate) shown: String,
    pub(crate) explain: String,
    pub(crate) ask_adult: String,
    pub(crate) text_version: String,
    pub(crate) requested_at: String,
    pub(crate) expires_at: String,
    pub(crate) status: String,
}

/// Renders a template as an HTML response.
pub(crate) fn render<T: Template>(status: StatusCode, template: &T) -> Result<Response, PageError> {
    let html = template
        .render()
        .map_err(|error| ApiError::internal("a page did not render", &error))?;
    Ok(html_response(status, html))
}

fn html_response(status: StatusCode, html: String) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        html,
    )
        .into_response()
}

/// A page that says why something was refused (or, with 200, just says something).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PageError {
    pub(crate) status: StatusCode,
    pub(crate) title: String,
    pub(crate) message: String,
}

impl PageError {
    /// A page with `status`.
    pub(crate) fn new(
        status: StatusCode,
        title: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        Self {
            status,
            title: title.into(),
            message: message.into(),
        }
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let page = MessagePage {
            frame: Frame {
                service: "ward".to_owned(),
                title: self.title,
                young: false,
                signs: None,
                csrf: None,
            },
            message: self.message,
        };
        match page.render() {
            Ok(html) => html_response(self.status, html),
            Err(error) => {
                tracing::error!(%error, "the message page did not render");
                (self.status, "ward could not show this page").into_response()
            }
        }
    }
}

impl From<ApiError> for PageError {
    fn from(error: ApiError) -> Self {
        let status = error.code.status();
        let (title, message) = match error.code {
            Code::Unavailable => (
                "ward is busy",
                "Nothing was changed. Please try again in a moment.".to_owned(),
            ),
            Code::Internal => (
                "Something went wrong",
                "Nothing was changed. Please try again; if it keeps happening, tell the app's makers."
                    .to_owned(),
            ),
            Code::InterventionNotFound | Code::InterventionExpired => (
                "That took a little too long",
                "Nothing was switched on. Go back to your settings and switch it on again."
                    .to_owned(),
            ),
            Code::InterventionStale => (
                "Something changed",
                "What this setting does has changed since you saw it. Go back to your settings and look again."
                    .to_owned(),
            ),
            Code::RequestNotPending | Code::RequestExpired => (
                "This request has already been answered",
                "Someone answered it first, the child switched it off, or it expired.".to_owned(),
            ),
            Code::ChildNotFound => (
                "This account is not there any more",
                "Ask the app for a new link.".to_owned(),
            ),
            _ => ("That did not work", error.message),
        };
        Self::new(status, title, message)
    }
}

/// A time for people: day, month, year, hours and minutes in `time_zone`.
pub(crate) fn when(at: Timestamp, time_zone: &str) -> String {
    let zone = jiff::tz::TimeZone::get(time_zone).unwrap_or(jiff::tz::TimeZone::UTC);
    at.to_zoned_datetime(zone)
        .strftime("%-d %B %Y, %H:%M %Z")
        .to_string()
}

/// ward's heading and icon for a category (the settings under it keep the policy's words).
pub(crate) fn category_heading(category: Category) -> (&'static str, &'static str) {
    match category {
        Category::ContentRecommendation => ("What we show you", icons::STAR),
        Category::NewsFeed => ("Your news feed", icons::STAR),
        Category::ContactSuggestions => ("People you might know", icons::PEOPLE),
        Category::BehaviouralAdvertising => ("Ads", icons::MEGAPHONE),
        Category::Engagement => ("Reminders and notifications", icons::BELL),
        Category::Accessibility => ("Making things easier to use", icons::EYE),
        Category::Location => ("Where you are", icons::PIN),
        Category::Analytics => ("How you use the app", icons::CHART),
        Category::CoreService
        | Category::AgeAssurance
        | Category::Safeguarding
        | Category::LegalObligation => ("Other settings", icons::GEAR),
    }
}

/// Inline SVG icons (decorative: `aria-hidden`; the text beside each says the same).
pub(crate) mod icons {
    macro_rules! icon {
        ($name:ident, $paths:literal) => {
            pub(crate) const $name: &str = concat!(
                r#"<svg class="icon" viewBox="0 0 24 24" aria-hidden="true" focusable="false">"#,
                $paths,
                "</svg>"
            );
        };
    }
    icon!(
        STAR,
        r#"<path d="M12 2l3 6.5 7 .8-5.2 4.8 1.4 7L12 17.6 5.8 21l1.4-7L2 9.3l7-.8z"/>"#
    );
    icon!(
        PEOPLE,
        r#"<circle cx="8" cy="8" r="3.5"/><circle cx="17" cy="9" r="3"/><path d="M1.5 20c0-4 3-6.5 6.5-6.5s6.5 2.5 6.5 6.5zM14.5 20c0-2.2-.6-4-1.7-5.3 1.2-.8 2.6-1.2 4.2-1.2 3 0 5.5 2.2 5.5 6.5z"/>"#
    );
    icon!(
        MEGAPHONE,
        r#"<path d="M3 10v4h3l7 5V5L6 10zM15.5 8.5a5 5 0 0 1 0 7l-1-1a3.6 3.6 0 0 0 0-5z"/>"#
    );
    icon!(
        BELL,
        r#"<path d="M12 22a2.5 2.5 0 0 0 2.5-2.5h-5A2.5 2.5 0 0 0 12 22zm7-6V11a7 7 0 0 0-5.5-6.8V3h-3v1.2A7 7 0 0 0 5 11v5l-2 2v1h18v-1z"/>"#
    );
    icon!(
        EYE,
        r#"<path d="M12 5C6.5 5 2.5 9.5 1 12c1.5 2.5 5.5 7 11 7s9.5-4.5 11-7c-1.5-2.5-5.5-7-11-7zm0 11a4 4 0 1 1 0-8 4 4 0 0 1 0 8z"/>"#
    );
    icon!(
        PIN,
        r#"<path d="M12 2a7 7 0 0 0-7 7c0 5 7 13 7 13s7-8 7-13a7 7 0 0 0-7-7zm0 9.5A2.5 2.5 0 1 1 12 6.5a2.5 2.5 0 0 1 0 5z"/>"#
    );
    icon!(
        CHART,
        r#"<path d="M3 21V3h2v16h16v2zM7 17v-6h3v6zm5 0V7h3v10zm5 0v-4h3v4z"/>"#
    );
    icon!(
        GEAR,
        r#"<path d="M12 8.5a3.5 3.5 0 1 0 0 7 3.5 3.5 0 0 0 0-7zm9 5v-3l-2.4-.6a7 7 0 0 0-.7-1.7l1.3-2.1-2.1-2.1-2.1 1.3a7 7 0 0 0-1.7-.7L13.5 2h-3l-.6 2.4a7 7 0 0 0-1.7.7L6.1 3.8 4 5.9l1.3 2.1a7 7 0 0 0-.7 1.7L2 10.5v3l2.6.6c.2.6.4 1.2.7 1.7L4 17.9 6.1 20l2.1-1.3c.5.3 1.1.5 1.7.7l.6 2.6h3l.6-2.6c.6-.2 1.2-.4 1.7-.7l2.1 1.3 2.1-2.1-1.3-2.1c.3-.5.5-1.1.7-1.7z"/>"#
    );
    icon!(
        PARENT,
        r#"<circle cx="12" cy="7" r="4"/><path d="M4 21c0-4.4 3.6-7.5 8-7.5s8 3.1 8 7.5z"/>"#
    );
    icon!(
        CHAT,
        r#"<path d="M4 3h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H9l-5 4v-4a2 2 0 0 1-2-2V5a2 2 0 0 1 2-2z"/>"#
    );
    icon!(
        HOURGLASS,
        r#"<path d="M6 2h12v5l-4 5 4 5v5H6v-5l4-5-4-5zm2 2v2.3L12 11l4-4.7V4z"/>"#
    );
    icon!(
        LOCK,
        r#"<path d="M6 10V8a6 6 0 0 1 12 0v2h1v12H5V10zm2 0h8V8a4 4 0 0 0-8 0z"/>"#
    );
}
