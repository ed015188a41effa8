//! A child's parental controls over time, as [`Child`] operations: parents (or the service)
//! set the controls; the service reports usage and hears whether the limit or bedtime is
//! reached; the feed guard's removals of blocked content are noticed; a profile is reset.
//! Each returns the events it caused, like the switch-on flow in [`crate::settings`]; the
//! alerts those events raise are [`crate::alerts`]'s rule.
//!
//! The rules themselves (limit, bedtime, once per local day) are [`crate::controls::usage`];
//! this module applies them to a child and records what they raised. Not for the feed guard
//! itself: see [`crate::feed`].

use jiff::Timestamp;
use jiff::tz::TimeZone;

use crate::compiled::CompiledPolicy;
use crate::controls::{Controls, Usage, UsageAlert, local_time, usage};
use crate::settings::{Actor, Child, Event, EventKind, Outcome};

/// Whether removing blocked content at `now` raises the day's blocked-content alert, given
/// the local day it was last raised on (`Child::blocked_alerted_on`) and the child's time
/// zone: once per local day. The hot path asks this of its cached state to skip a write that
/// would raise nothing; [`Child::notice_blocked`] asks it again inside the write.
pub fn blocked_alert_due(
    alerted_on: Option<jiff::civil::Date>,
    zone: &TimeZone,
    now: Timestamp,
) -> bool {
    let (today, _) = local_time(zone, now);
    alerted_on != Some(today)
}

impl Child {
    /// Replaces the parental controls. Setting what is already set changes nothing.
    pub fn set_controls(&mut self, controls: Controls, by: Actor, now: Timestamp) -> Vec<Event> {
        if self.controls == controls {
            return Vec::new();
        }
        self.controls = controls;
        vec![self.event(now, EventKind::ControlsChanged { by })]
    }

    /// The child's own time zone, else the policy's.
    pub fn time_zone(&self, policy: &CompiledPolicy) -> TimeZone {
        self.time_zone
            .as_deref()
            .or(Some(policy.policy().service.time_zone.as_str()))
            .and_then(|name| TimeZone::get(name).ok())
            .unwrap_or(TimeZone::UTC)
    }

    /// The service reports the minutes the child has used today (their local day): the
    /// answer says what is left and whether the limit or bedtime is reached, each raising
    /// one event (and so one alert) per local day.
    pub fn report_usage(
        &mut self,
        policy: &CompiledPolicy,
        minutes_today: u32,
        now: Timestamp,
    ) -> (Usage, Vec<Event>) {
        let zone = self.time_zone(policy);
        let (answer, state) = usage(&self.controls, &zone, minutes_today, now, self.usage);
        self.usage = state;
        let (local_date, _) = local_time(&zone, now);
        let events = answer
            .alerts_to_raise
            .iter()
            .map(|alert| match alert {
                UsageAlert::LimitReached => self.event(
                    now,
                    EventKind::LimitReached {
                        minutes: self.controls.daily_minutes().unwrap_or(0),
                        local_date,
                    },
                ),
                UsageAlert::Bedtime => self.event(now, EventKind::BedtimeReached { local_date }),
            })
            .collect();
        (answer, events)
    }

    /// The feed guard removed `items` items because of these parent blocks: one event (one
    /// alert) per local day, so a parent hears it once rather than with every feed.
    pub fn notice_blocked(
        &mut self,
        policy: &CompiledPolicy,
        items: u32,
        blocks: Vec<String>,
        now: Timestamp,
    ) -> Vec<Event> {
        let zone = self.time_zone(policy);
        if items == 0 || !blocked_alert_due(self.blocked_alerted_on, &zone, now) {
            return Vec::new();
        }
        let (today, _) = local_time(&zone, now);
        self.blocked_alerted_on = Some(today);
        vec![self.event(now, EventKind::BlockedContent { items, blocks })]
    }

    /// Resets the profile behind a setting ("reset my recommendations"): the setting stays as
    /// it is; the event tells the service to drop what it built (the caller clears the
    /// feed guard's drift state).
    pub fn reset_profile(
        &mut self,
        policy: &CompiledPolicy,
        setting: &str,
        by: Actor,
        now: Timestamp,
    ) -> Outcome<()> {
        let idx = self.setting_idx(policy, setting)?;
        let purpose = policy.purpose(policy.setting(idx).purpose).id.clone();
        Ok((
            (),
            vec![self.event(now, EventKind::ProfileReset { purpose, by })],
        ))
    }
}
