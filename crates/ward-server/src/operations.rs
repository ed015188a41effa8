//! The operations on a child that the JSON API (`routes`) and the pages (`pages`) both
//! perform, written once: switching a setting on (the intervention) or off, acknowledging an
//! intervention, confirming a consent, location and profile, linking parents, a parent's
//! answer to a consent request, the parental controls, and "reset my recommendations". Each
//! runs the core's state machine through [`AppState::change_child`] and returns what
//! happened; the caller (a route, a page, `ward parents`) turns that into JSON, HTML or text.
//!
//! Not for authentication (callers check who may do what, except where the rule is part of
//! the operation: only a linked parent answers a request) and not for HTTP shapes.

use ward_core::controls::Controls;
use ward_core::ids::{ChildId, ParentId};
use ward_core::policy::{ParentalConsentMethod, ProfileVisibility, Toggle};
use ward_core::settings::{Acknowledged, Actor, Child, Intervention, SwitchOn};
use ward_store::{RequestRow, RequestStatus, Store};

use crate::auth::{Principal, Scope};
use crate::error::{ApiError, Code};
use crate::state::AppState;
use crate::views::ChildView;

/// What asking to switch a setting on or off did.
#[derive(Debug)]
pub(crate) enum Switched {
    /// A child asked for on: show this intervention; nothing changed yet.
    Intervention(Box<Intervention>),
    /// Off, or an adult's on: the child as they are now.
    State(ChildView),
}

/// A parent's answer to a consent request.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Answer {
    /// Yes, verified by `method` (`None`: the service's first declared method).
    Approve(Option<ParentalConsentMethod>),
    /// No.
    Deny,
}

impl AppState {
    /// Switches a setting off (one step) or asks to switch it on (a child gets an
    /// intervention, stored so it can be acknowledged by id; an adult's goes on at once).
    pub(crate) async fn switch_setting(
        &self,
        id: &ChildId,
        setting: String,
        value: Toggle,
    ) -> Result<Switched, ApiError> {
        self.change_child(id, false, move |child, policy, now, events, effects| {
            match value {
                Toggle::Off => {
                    events.extend(child.switch_off(policy, &setting, Actor::Child, now)?.1);
                }
                Toggle::On => {
                    let (outcome, new_events) = child.request_on(policy, &setting, now)?;
                    events.extend(new_events);
                    if let SwitchOn::Intervention(intervention) = outcome {
                        effects.interventions.push((*intervention).clone());
                        return Ok(Switched::Intervention(intervention));
                    }
                }
            }
            Ok(Switched::State(ChildView::new(child, policy, now)))
        })
        .await
    }

    /// A stored intervention. With `child`, one shown to another child is not found either
    /// (a page never learns of other children's interventions).
    pub(crate) async fn intervention(
        &self,
        intervention_id: &str,
        child: Option<&ChildId>,
    ) -> Result<Intervention, ApiError> {
        match self.store().intervention(intervention_id).await? {
            Some(intervention) if child.is_none_or(|child| *child == intervention.child) => {
                Ok(intervention)
            }
            _ => Err(ApiError::new(
                Code::InterventionNotFound,
                format!(
                    "no intervention `{intervention_id}`: it may have expired; switch the setting on again"
                ),
            )),
        }
    }

    /// The child acknowledges an intervention: on, or waiting for a parent.
    pub(crate) async fn acknowledge_intervention(
        &self,
        intervention: Intervention,
    ) -> Result<(Acknowledged, ChildView), ApiError> {
        let child_id = intervention.child.clone();
        self.change_child(&child_id, false, move |child, policy, now, events, _| {
            let (acknowledged, new_events) = child.acknowledge(policy, &intervention, now)?;
            events.extend(new_events);
            Ok((acknowledged, ChildView::new(child, policy, now)))
        })
        .await
    }

    /// A child who crossed the age of digital consent confirms a parent's consent as their
    /// own.
    pub(crate) async fn confirm_setting(
        &self,
        id: &ChildId,
        setting: String,
    ) -> Result<ChildView, ApiError> {
        self.change_child(id, false, move |child, policy, now, events, _| {
            events.extend(child.confirm_consent(policy, &setting, now)?.1);
            Ok(ChildView::new(child, policy, now))
        })
        .await
    }

    /// Location sharing and profile visibility (each only when given).
    pub(crate) async fn set_account(
        &self,
        id: &ChildId,
        geolocation: Option<Toggle>,
        profile: Option<ProfileVisibility>,
    ) -> Result<ChildView, ApiError> {
        self.change_child(id, false, move |child, policy, now, events, _| {
            if let Some(value) = geolocation {
                events.extend(child.set_geolocation(value, now));
            }
            if let Some(value) = profile {
                events.extend(child.set_profile_visibility(value, now));
            }
            Ok(ChildView::new(child, policy, now))
        })
        .await
    }

    /// Replaces a child's parental controls: admin (the service) or a parent linked to the
    /// child. Returns the controls as they now stand and the child.
    pub(crate) async fn set_controls(
        &self,
        principal: Principal,
        id: &ChildId,
        controls: Controls,
    ) -> Result<(Controls, ChildView), ApiError> {
        let by = match &principal.scope {
            Scope::Parent(parent) => Actor::Parent(parent.clone()),
            _ => Actor::Service,
        };
        self.authorize_child(&principal, id).await?;
        self.change_child(id, false, move |child, policy, now, events, _| {
            principal.require_admin_or_linked(child)?;
            events.extend(child.set_controls(controls, by, now));
            Ok((child.controls.clone(), ChildView::new(child, policy, now)))
        })
        .await
    }

    /// "Reset my recommendations" for the purpose behind `setting`: a `profile_reset` event
    /// (and so an alert to the service, which must drop the profile it built) and the feed
    /// guard's drift state cleared (anchor and window). With a principal, admin (the service,
    /// acting for the child) or a linked parent; without one, the child on their own page
    /// (their session is the authority).
    pub(crate) async fn reset_profile(
        &self,
        id: &ChildId,
        setting: String,
        principal: Option<Principal>,
    ) -> Result<(), ApiError> {
        let by = match principal.as_ref().map(|principal| &principal.scope) {
            Some(Scope::Parent(parent)) => Actor::Parent(parent.clone()),
            _ => Actor::Child,
        };
        if let Some(principal) = &principal {
            self.authorize_child(principal, id).await?;
        }
        self.change_child(id, false, move |child, policy, now, events, _| {
            if let Some(principal) = &principal {
                principal.require_admin_or_linked(child)?;
            }
            events.extend(child.reset_profile(policy, &setting, by, now)?.1);
            Ok(())
        })
        .await?;
        self.drifts()
            .update(self.store(), id.as_str(), |drift| {
                *drift = Default::default()
            })
            .await?;
        self.drifts().flush(self.store()).await?;
        Ok(())
    }

    /// Links a parent (the service vouches for them): the child is supervised, and waiting
    /// consent requests now reach the parent.
    pub async fn link_parent(
        &self,
        child: &ChildId,
        parent: ParentId,
    ) -> Result<ChildView, ApiError> {
        self.change_child(child, false, move |child, policy, now, events, _| {
            events.extend(child.link_parent(policy, parent, now)?.1);
            Ok(ChildView::new(child, policy, now))
        })
        .await
    }

    /// Unlinks a parent.
    pub async fn unlink_parent(
        &self,
        child: &ChildId,
        parent: ParentId,
    ) -> Result<ChildView, ApiError> {
        self.change_child(child, false, move |child, policy, now, events, _| {
            events.extend(child.unlink_parent(policy, &parent, now)?.1);
            Ok(ChildView::new(child, policy, now))
        })
        .await
    }

    /// Authorises `principal` to act on the child `id` before anything about the child is
    /// read: admin may act on any id (and then hears `child_not_found` for one never stored);
    /// a parent only on a child linked to them, by the parent index (written in the same
    /// transaction as every child write); any other scope on none. An unlinked parent and an
    /// id that does not exist get the same refusal, which names no child.
    pub(crate) async fn authorize_child(
        &self,
        principal: &Principal,
        id: &ChildId,
    ) -> Result<(), ApiError> {
        match &principal.scope {
            Scope::Admin => Ok(()),
            Scope::Parent(parent) if self.store().children_of(parent).await?.contains(id) => Ok(()),
            Scope::Parent(_) | Scope::Decide | Scope::Moderate => Err(principal.not_this_child()),
        }
    }

    /// A child a principal may see: admin, or a parent linked to them ([`Self::authorize_child`]
    /// first, then the child's own document is checked too).
    pub(crate) async fn visible_child(
        &self,
        principal: &Principal,
        id: &ChildId,
    ) -> Result<Child, ApiError> {
        self.authorize_child(principal, id).await?;
        match self.load_child(id).await? {
            Some(child) => {
                principal.require_admin_or_linked(&child)?;
                Ok(child)
            }
            None if principal.scope == Scope::Admin => Err(ApiError::child_not_found(id.as_str())),
            None => Err(principal.not_this_child()),
        }
    }

    /// The consent request `request_id` as `principal` may see it: admin, any; a parent, only
    /// one for a child linked to them. For a parent, a request of another's child and one that
    /// does not exist are the same `consent_request_not_found`; other scopes are refused before
    /// anything is read.
    pub(crate) async fn visible_request(
        &self,
        principal: &Principal,
        request_id: &str,
    ) -> Result<RequestRow, ApiError> {
        if matches!(principal.scope, Scope::Decide | Scope::Moderate) {
            return Err(principal.not_this_child());
        }
        let not_found = || {
            ApiError::new(
                Code::RequestNotFound,
                format!("no consent request `{request_id}`"),
            )
        };
        let row = self
            .store()
            .request(request_id)
            .await?
            .ok_or_else(not_found)?;
        match self.authorize_child(principal, &row.child).await {
            Ok(()) => Ok(row),
            Err(error) if error.code == Code::Forbidden => Err(not_found()),
            Err(error) => Err(error),
        }
    }

    /// A parent's answer to the consent request `request_id`: only a parent's principal, only
    /// a parent linked to the child, only while the request waits; the first answer stands.
    pub(crate) async fn answer_request(
        &self,
        principal: &Principal,
        request_id: &str,
        answer: Answer,
    ) -> Result<ChildView, ApiError> {
        let (row, parent) = self.answerable(principal, request_id).await?;
        let setting = row.request.setting.clone();
        let method = match answer {
            Answer::Approve(method) => Some(self.consent_method(method)?),
            Answer::Deny => None,
        };
        self.change_child(&row.child, false, move |child, policy, now, events, _| {
            if !child.parents.contains(&parent) {
                return Err(not_linked(&parent));
            }
            let (_, new_events) = match method {
                Some(method) => child.approve(policy, setting.as_str(), &parent, method, now)?,
                None => child.deny(policy, setting.as_str(), &parent, now)?,
            };
            events.extend(new_events);
            Ok(ChildView::new(child, policy, now))
        })
        .await
    }

    /// The consent request `request_id`, answerable by the principal's parent.
    async fn answerable(
        &self,
        principal: &Principal,
        request_id: &str,
    ) -> Result<(RequestRow, ParentId), ApiError> {
        let parent = principal.require_a_parent()?.clone();
        let row = self.visible_request(principal, request_id).await?;
        if row.status != RequestStatus::Pending {
            return Err(ApiError::new(
                Code::RequestNotPending,
                format!(
                    "this consent request is {} and can no longer be answered",
                    serde_json::to_value(row.status)
                        .ok()
                        .and_then(|v| v.as_str().map(str::to_owned))
                        .unwrap_or_default()
                ),
            ));
        }
        Ok((row, parent))
    }

    /// The method a parent's consent is recorded with: the one given, if the service
    /// declares it, else the service's first.
    fn consent_method(
        &self,
        method: Option<ParentalConsentMethod>,
    ) -> Result<ParentalConsentMethod, ApiError> {
        let active = self.active();
        let methods = &active.compiled.policy().service.parental_consent_methods;
        match method {
            Some(method) if methods.contains(&method) => Ok(method),
            Some(method) => Err(ApiError::new(
                Code::InvalidBody,
                format!(
                    "`{}` is not one of the service's parental consent methods",
                    method.as_str()
                ),
            )),
            None => methods.first().copied().ok_or_else(|| {
                ApiError::new(
                    Code::InvalidBody,
                    "the policy declares no parental consent method; say which with `method`",
                )
            }),
        }
    }
}

fn not_linked(parent: &ParentId) -> ApiError {
    ApiError::new(
        Code::Forbidden,
        format!("parent `{parent}` is not linked to this child"),
    )
}
