//! A child's privacy page and its forms: one switch per setting, grouped by category, in the
//! policy's words; the switch-on intervention (the band's `explain` and `ask_adult` texts,
//! "not now" and "switch on" side by side and alike); waiting for a parent; location sharing
//! (its sign on every page while it is on) and profile visibility; the supervised sign;
//! "reset my recommendations" beside each recommendation or feed setting. Switching anything
//! off, and resetting, is one click, from the page or from the location sign.
//!
//! Not for deciding: every form calls the operation the JSON API calls.

use axum::extract::rejection::PathRejection;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use jiff::Timestamp;
use serde::Deserialize;
use ward_core::age::AgeBand;
use ward_core::compiled::CompiledPolicy;
use ward_core::policy::{Category, ProfileVisibility, Toggle};
use ward_core::settings::{Acknowledged, Child, ConsentRequest, RequestCause, SettingValue, Step};

use super::access::{ChildSession, CsrfOnly, PageForm, bad_form};
use super::render::{
    ChildPage, Frame, Group, PurposeText, SettingCard, Signs, SwitchOnPage, category_heading,
    render,
};
use super::{PageError, see_other};
use crate::error::{ApiError, Code};
use crate::operations::Switched;
use crate::state::AppState;
use crate::views::ChildView;

/// What the page says after a form, chosen by the redirect (never text from the request).
fn notice(query: Option<&str>) -> Option<&'static str> {
    let value = query?
        .split('&')
        .find_map(|pair| pair.strip_prefix("notice="))?;
    Some(match value {
        "on" => "Switched on.",
        "off" => "Switched off.",
        "kept" => "Kept on. It is your choice now.",
        "waiting" => "We have asked your parent. It stays off until they say yes.",
        "no-parent" => {
            "It stays off until a parent says yes. We have told the app to ask one, because no parent is linked to your account yet."
        }
        "location-on" => "Your location is being shared. It switches off by itself when you leave.",
        "location-off" => "Your location is not shared.",
        "private" => "Your profile is private.",
        "reset" => {
            "Your recommendations start afresh. We have told the app to forget what it learned about what you like."
        }
        "public" => "Your profile is public.",
        _ => return None,
    })
}

/// The child, or the page saying the account is gone (erased since the link was opened).
async fn load(state: &AppState, session: &ChildSession) -> Result<Child, PageError> {
    state
        .load_child(&session.child)
        .await?
        .ok_or_else(|| ApiError::child_not_found(session.child.as_str()).into())
}

/// The layout's frame for a child's page.
pub(crate) fn frame(
    child: &Child,
    policy: &CompiledPolicy,
    now: Timestamp,
    title: String,
) -> Frame {
    let band = child
        .state
        .age_status(policy, now)
        .text_band(policy.min_age());
    Frame {
        service: policy.policy().service.name.clone(),
        title,
        young: matches!(band, Some(AgeBand::UpTo5 | AgeBand::From6To9)),
        signs: Some(Signs {
            location_on: child.state.geolocation == Toggle::On,
            supervised: child.state.supervised,
        }),
        csrf: None,
    }
}

/// The line under a setting that waits for a parent: why they are asked, and whether one can
/// answer yet.
fn waiting_status(request: Option<&ConsentRequest>) -> String {
    let why = match request.map(|r| r.cause) {
        Some(RequestCause::ConsentAge) => {
            "Waiting for a parent to say yes: at your age, a parent has to agree to this. It is off until they do."
        }
        Some(RequestCause::PurposeChanged) => {
            "Waiting for a parent to say yes again: what this does has changed. It is off until they do."
        }
        Some(RequestCause::Asked) | None => "Waiting for a parent to say yes.",
    };
    let nobody = if request.is_some_and(|r| r.no_parent_linked) {
        " No parent is linked to your account yet; we have told the app to ask one."
    } else {
        ""
    };
    format!("{why}{nobody} Switch it off to stop asking.")
}

fn card(
    view: &SettingValue,
    setting: &crate::views::SettingView,
    request: Option<&ConsentRequest>,
) -> SettingCard {
    let refresh_due = setting.consent.as_ref().is_some_and(|c| c.refresh_due);
    let (checked, label, status) = match view {
        SettingValue::On => (
            true,
            "On",
            match &setting.consent {
                Some(consent) if consent.parent.is_some() => "On. A parent said yes.".to_owned(),
                _ => "On.".to_owned(),
            },
        ),
        SettingValue::PendingParent => (true, "Waiting", waiting_status(request)),
        SettingValue::LockedOff => (
            false,
            "Off",
            "Off. This one cannot be switched on.".to_owned(),
        ),
        SettingValue::Off => (false, "Off", "Off.".to_owned()),
    };
    SettingCard {
        id: setting.id.to_string(),
        name: setting.name.clone(),
        description: setting.description.clone(),
        checked,
        locked: *view == SettingValue::LockedOff,
        pending: *view == SettingValue::PendingParent,
        label,
        status,
        refresh_due,
        told: request
            .filter(|r| *view == SettingValue::PendingParent && r.cause != RequestCause::Asked)
            .map(|r| (r.explain.clone(), r.ask_adult.clone())),
        resettable: matches!(
            setting.category,
            Category::ContentRecommendation | Category::NewsFeed
        ),
    }
}

/// `GET /pages/child`.
pub(crate) async fn page(
    State(state): State<AppState>,
    session: ChildSession,
    RawQuery(query): RawQuery,
) -> Result<Response, PageError> {
    let child = load(&state, &session).await?;
    let active = state.active();
    let policy = &active.compiled;
    let now = state.now();
    let view = ChildView::new(&child, policy, now);
    let mut groups: Vec<Group> = Vec::new();
    for setting in &view.settings {
        let request = view
            .pending_requests
            .iter()
            .find(|r| r.setting == setting.id);
        let card = card(&setting.effective, setting, request);
        let category = setting.category;
        match groups.iter_mut().find(|g| g.category == category.as_str()) {
            Some(group) => group.settings.push(card),
            None => {
                let (title, icon) = category_heading(category);
                groups.push(Group {
                    category: category.as_str(),
                    title,
                    icon,
                    settings: vec![card],
                });
            }
        }
    }
    let always_on = policy
        .policy()
        .purposes
        .iter()
        .filter(|purpose| purpose.is_required())
        .map(|purpose| PurposeText {
            name: purpose.name.clone(),
            description: purpose.description.clone(),
        })
        .collect();
    let csrf = session.session.csrf();
    let mut frame = frame(&child, policy, now, "Your privacy settings".to_owned());
    frame.csrf = Some(csrf.clone());
    let band = child
        .state
        .age_status(policy, now)
        .text_band(policy.min_age());
    let notice_value = query
        .as_deref()
        .and_then(|q| q.split('&').find_map(|pair| pair.strip_prefix("notice=")));
    let (notice, help_first) = match notice_value {
        Some("hidden") => (Some(super::feedback::not_for_me_words(policy, band)), false),
        Some("reported") => (Some(super::feedback::reported_words(policy, band)), false),
        Some("reported-help") => (Some(super::feedback::reported_words(policy, band)), true),
        Some("shown") => (Some("It can show up again.".to_owned()), false),
        Some("released") => (Some("Those can show up again.".to_owned()), false),
        _ => (notice(query.as_deref()).map(str::to_owned), false),
    };
    render(
        StatusCode::OK,
        &ChildPage {
            frame,
            csrf,
            notice,
            help_first,
            feedback: super::feedback::section(&child.feedback, policy, band, now),
            groups,
            location_on: view.geolocation == Toggle::On,
            profile_public: view.profile == ProfileVisibility::Public,
            always_on,
        },
    )
}

/// `value=on|off` and the CSRF token.
#[derive(Debug, Deserialize)]
pub(crate) struct ValueForm {
    #[serde(default)]
    csrf: Option<String>,
    #[serde(default)]
    value: Option<String>,
}

fn toggle(value: Option<&str>) -> Result<Toggle, PageError> {
    match value {
        Some("on") => Ok(Toggle::On),
        Some("off") => Ok(Toggle::Off),
        _ => Err(bad_form()),
    }
}

fn path_text(path: Result<Path<String>, PathRejection>) -> Result<String, PageError> {
    path.map(|Path(text)| text).map_err(|_| {
        PageError::new(
            StatusCode::NOT_FOUND,
            "This page does not exist",
            "Go back to your settings and try again.",
        )
    })
}

/// `POST /pages/child/settings/{setting}`: off at once; on shows the intervention.
pub(crate) async fn switch(
    State(state): State<AppState>,
    session: ChildSession,
    path: Result<Path<String>, PathRejection>,
    PageForm(form): PageForm<ValueForm>,
) -> Result<Response, PageError> {
    session.session.check_csrf(form.csrf.as_deref())?;
    let setting = path_text(path)?;
    let value = toggle(form.value.as_deref())?;
    let back = |notice: &str| see_other(&format!("/pages/child?notice={notice}#s-{setting}"));
    match state
        .switch_setting(&session.child, setting.clone(), value)
        .await
    {
        Ok(Switched::Intervention(intervention)) => Ok(see_other(&format!(
            "/pages/child/switch-on/{}",
            intervention.id
        ))),
        Ok(Switched::State(_)) if value == Toggle::On => Ok(back("on")),
        Ok(Switched::State(_)) => Ok(back("off")),
        // Pressed twice, or in two tabs: the page shows how it stands.
        Err(error) if matches!(error.code, Code::AlreadyOn | Code::AlreadyPending) => {
            Ok(see_other(&format!("/pages/child#s-{setting}")))
        }
        Err(error) => Err(error.into()),
    }
}

/// `GET /pages/child/switch-on/{intervention}`: the intervention.
pub(crate) async fn switch_on_page(
    State(state): State<AppState>,
    session: ChildSession,
    path: Result<Path<String>, PathRejection>,
) -> Result<Response, PageError> {
    let intervention_id = path_text(path)?;
    let intervention = state
        .intervention(&intervention_id, Some(&session.child))
        .await?;
    let child = load(&state, &session).await?;
    let active = state.active();
    let policy = &active.compiled;
    let now = state.now();
    if now >= intervention.expires_at {
        return Err(ApiError::new(Code::InterventionExpired, "expired").into());
    }
    let (name, description) = policy
        .setting_idx(intervention.setting.as_str())
        .map(|idx| {
            let purpose = policy.declared_purpose(policy.setting(idx).purpose);
            (purpose.name.clone(), purpose.description.clone())
        })
        .unwrap_or_else(|| (intervention.setting.to_string(), String::new()));
    let csrf = session.session.csrf();
    let mut frame = frame(&child, policy, now, format!("Switch on {name}?"));
    frame.csrf = Some(csrf.clone());
    render(
        StatusCode::OK,
        &SwitchOnPage {
            frame,
            csrf,
            intervention: intervention.id.clone(),
            name,
            description,
            explain: intervention.explain.clone(),
            ask_adult: intervention.ask_adult.clone(),
            needs_parent: intervention.required.contains(&Step::ParentalConsent),
            needs_age: intervention.required.contains(&Step::AgeAssurance),
        },
    )
}

/// `POST /pages/child/switch-on/{intervention}`: the child acknowledges; on, or waiting.
pub(crate) async fn acknowledge(
    State(state): State<AppState>,
    session: ChildSession,
    path: Result<Path<String>, PathRejection>,
    PageForm(form): PageForm<CsrfOnly>,
) -> Result<Response, PageError> {
    session.session.check_csrf(form.csrf.as_deref())?;
    let intervention_id = path_text(path)?;
    let intervention = state
        .intervention(&intervention_id, Some(&session.child))
        .await?;
    let setting = intervention.setting.to_string();
    let (acknowledged, _) = state.acknowledge_intervention(intervention).await?;
    let notice = match acknowledged {
        Acknowledged::On => "on",
        Acknowledged::PendingParent(request) if request.no_parent_linked => "no-parent",
        Acknowledged::PendingParent(_) => "waiting",
    };
    Ok(see_other(&format!(
        "/pages/child?notice={notice}#s-{setting}"
    )))
}

/// `POST /pages/child/settings/{setting}/confirm`: keeps a parent's consent as the child's own.
pub(crate) async fn confirm(
    State(state): State<AppState>,
    session: ChildSession,
    path: Result<Path<String>, PathRejection>,
    PageForm(form): PageForm<CsrfOnly>,
) -> Result<Response, PageError> {
    session.session.check_csrf(form.csrf.as_deref())?;
    let setting = path_text(path)?;
    state
        .confirm_setting(&session.child, setting.clone())
        .await?;
    Ok(see_other(&format!("/pages/child?notice=kept#s-{setting}")))
}

/// `POST /pages/child/settings/{setting}/reset`: "reset my recommendations", one click, through
/// the API's own operation (the service is told to drop the profile; the feed guard's drift
/// state is cleared). The setting itself stays as it is.
pub(crate) async fn reset(
    State(state): State<AppState>,
    session: ChildSession,
    path: Result<Path<String>, PathRejection>,
    PageForm(form): PageForm<CsrfOnly>,
) -> Result<Response, PageError> {
    session.session.check_csrf(form.csrf.as_deref())?;
    let setting = path_text(path)?;
    state
        .reset_profile(&session.child, setting.clone(), None)
        .await?;
    Ok(see_other(&format!("/pages/child?notice=reset#s-{setting}")))
}

/// `POST /pages/child/location`: location sharing on or off, one click either way.
pub(crate) async fn location(
    State(state): State<AppState>,
    session: ChildSession,
    PageForm(form): PageForm<ValueForm>,
) -> Result<Response, PageError> {
    session.session.check_csrf(form.csrf.as_deref())?;
    let value = toggle(form.value.as_deref())?;
    state.set_account(&session.child, Some(value), None).await?;
    Ok(see_other(match value {
        Toggle::On => "/pages/child?notice=location-on#location",
        Toggle::Off => "/pages/child?notice=location-off#location",
    }))
}

/// `POST /pages/child/profile`: `value=private|public`.
pub(crate) async fn profile(
    State(state): State<AppState>,
    session: ChildSession,
    PageForm(form): PageForm<ValueForm>,
) -> Result<Response, PageError> {
    session.session.check_csrf(form.csrf.as_deref())?;
    let value = match form.value.as_deref() {
        Some("private") => ProfileVisibility::Private,
        Some("public") => ProfileVisibility::Public,
        _ => return Err(bad_form()),
    };
    state.set_account(&session.child, None, Some(value)).await?;
    Ok(see_other(match value {
        ProfileVisibility::Private => "/pages/child?notice=private#profile",
        ProfileVisibility::Public => "/pages/child?notice=public#profile",
    }))
}
