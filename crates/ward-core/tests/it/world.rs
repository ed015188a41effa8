//! A test world for `decide` and the settings flow: one policy with a purpose for every row of
//! the decision table, and helpers that take children through the real flow.

use jiff::Timestamp;
use jiff::civil::Date;
use ward_core::child::{AgeEvidence, AgeRecord};
use ward_core::compiled::CompiledPolicy;
use ward_core::decide::{Decision, Request, decide};
use ward_core::ids::{ChildId, ParentId};
use ward_core::jurisdiction::Jurisdiction;
use ward_core::policy::{AgeMethod, ParentalConsentMethod, Policy};
use ward_core::settings::{Acknowledged, Child, Event, SwitchOn};

/// The policy: min_age 8, GB and DE. Deliberately not lint-clean in two places (a commercial
/// purpose declaring age-assurance data, for row 3) — `decide` must still be right.
pub(crate) const POLICY: &str = r#"
[service]
name = "World"
kind = "social_media"
min_age = 8
jurisdictions = ["GB", "DE", "FR"]
parental_consent_methods = ["email_plus"]

[[purpose]]
id = "recommend"
name = "Videos for you"
category = "content_recommendation"
description = "Uses the videos you watch to choose the next videos we show you."
setting = "recommend"
lawful_basis = "consent"
data = ["watch-history"]
safeguards = ["age_rating_filter", "harm_tag_filter", "user_reporting"]
explain = { "6-9" = "Six to nine words.", "10-12" = "Ten to twelve words.", "13-15" = "Teen words.", "16-17" = "Older teen words." }
ask_adult = { "6-9" = "Ask a grown-up.", "10-12" = "Ask a parent.", "13-15" = "Ask someone you trust.", "16-17" = "Talk it through." }

[[purpose]]
id = "ads"
name = "Ads based on what you watch"
category = "behavioural_advertising"
description = "Uses the videos you watch to choose the adverts shown between videos."
setting = "ads"
lawful_basis = "consent"
data = ["watch-history"]
explain = "Ads picked from what you watch."
ask_adult = "Ask a parent first."

[[purpose]]
id = "friends"
name = "People you may know"
category = "contact_suggestions"
description = "Suggests children from your class who share friends with you."
setting = "friends"
lawful_basis = "consent"
safeguards = ["adult_contact_filter", "user_reporting"]
explain = "We suggest people from your class."
ask_adult = "Ask a parent first."

[[purpose]]
id = "nudges"
name = "Friend alerts"
category = "engagement"
description = "Tells you when a friend posts a new video you might reply to."
setting = "nudges"
lawful_basis = "legitimate_interests"
triggers = ["friend_activity"]
explain = "Alerts when friends post."
ask_adult = "Ask a parent first."

[[purpose]]
id = "subtitles"
name = "Keep subtitles on"
category = "accessibility"
description = "Notices that you turn subtitles on and keeps them on for every video."
setting = "subtitles"
default = "on"
compelling_reason = "A deaf child should not have to ask every time."
lawful_basis = "legitimate_interests"
explain = "We keep subtitles on."
ask_adult = "Ask a parent first."

[[purpose]]
id = "moderation"
name = "Keeping chat safe"
category = "safeguarding"
description = "Scans chat for grooming and bullying so moderators can step in."
lawful_basis = "legal_obligation"
data = ["chat-signals"]

[[purpose]]
id = "age-check"
name = "Checking your age"
category = "age_assurance"
description = "Estimates your age band from a selfie so settings suit your age."
lawful_basis = "legal_obligation"
data = ["age-signals"]

[[purpose]]
id = "analytics"
name = "Usage statistics"
category = "analytics"
description = "Counts which screens you open and how long you stay on each."
setting = "analytics"
lawful_basis = "legitimate_interests"
data = ["usage", "age-signals"]
explain = "We count screens."
ask_adult = "Ask a parent first."

[[purpose]]
id = "credit"
name = "Spending limit"
category = "analytics"
description = "Automatically sets a monthly spending limit from your purchase history."
lawful_basis = "contract"
solely_automated_significant_decision = true
locked_for_children = true

[[purpose]]
id = "dating"
name = "Matches"
category = "contact_suggestions"
description = "Matches adult members with others nearby who share interests."
setting = "dating"
lawful_basis = "consent"
locked_for_children = true
safeguards = ["adult_contact_filter", "user_reporting"]

[[data]]
id = "watch-history"
collected_for = "recommend"

[[data]]
id = "usage"
collected_for = "analytics"

[[data]]
id = "chat-signals"
collected_for = "moderation"

[[data]]
id = "age-signals"
collected_for = "age-check"
"#;

pub(crate) fn compiled(source: &str) -> CompiledPolicy {
    CompiledPolicy::new(Policy::parse(source).unwrap()).unwrap()
}

pub(crate) fn world() -> CompiledPolicy {
    compiled(POLICY)
}

/// 2026-06-01 12:30 UTC: the tests' "now".
pub(crate) fn now() -> Timestamp {
    "2026-06-01T12:30:00Z".parse().unwrap()
}

pub(crate) fn days(n: i64) -> jiff::SignedDuration {
    jiff::SignedDuration::from_hours(24 * n)
}

pub(crate) fn parent(id: &str) -> ParentId {
    ParentId::parse(id).unwrap()
}

/// A child with a verified age (years, as of now).
pub(crate) fn child_aged(policy: &CompiledPolicy, age: u8, jurisdiction: &str) -> Child {
    let (mut child, _) = Child::new(ChildId::parse("c1").unwrap(), policy, now());
    child.set_age_record(
        policy,
        AgeRecord {
            method: AgeMethod::Verified,
            evidence: AgeEvidence::Age(age),
            at: now(),
        },
        now(),
    );
    child
        .set_jurisdiction(policy, Jurisdiction::parse(jurisdiction).unwrap(), now())
        .unwrap();
    child
}

/// A child born on `birth` (verified).
pub(crate) fn child_born(policy: &CompiledPolicy, birth: Date) -> Child {
    let (mut child, _) = Child::new(ChildId::parse("c1").unwrap(), policy, now());
    child.set_age_record(
        policy,
        AgeRecord {
            method: AgeMethod::Verified,
            evidence: AgeEvidence::BirthDate(birth),
            at: now(),
        },
        now(),
    );
    child
}

pub(crate) fn unknown_child(policy: &CompiledPolicy) -> Child {
    Child::new(ChildId::parse("c1").unwrap(), policy, now()).0
}

/// Switches `setting` on through the real flow: intervention, acknowledgement and, when a
/// parent is needed, a linked parent's approval. Returns every event.
pub(crate) fn switch_on(policy: &CompiledPolicy, child: &mut Child, setting: &str) -> Vec<Event> {
    let (outcome, mut events) = child.request_on(policy, setting, now()).unwrap();
    let SwitchOn::Intervention(intervention) = outcome else {
        return events;
    };
    let (acknowledged, more) = child.acknowledge(policy, &intervention, now()).unwrap();
    events.extend(more);
    if let Acknowledged::PendingParent(_) = acknowledged {
        let mum = parent("mum");
        if !child.parents.contains(&mum) {
            events.extend(child.link_parent(policy, mum.clone(), now()).unwrap().1);
        }
        events.extend(
            child
                .approve(
                    policy,
                    setting,
                    &mum,
                    ParentalConsentMethod::EmailPlus,
                    now(),
                )
                .unwrap()
                .1,
        );
    }
    events
}

/// Decides `purpose` (reading `data`) for `child` now.
pub(crate) fn ask(
    policy: &CompiledPolicy,
    child: &Child,
    purpose: &str,
    data: &[&str],
    gpc: bool,
) -> Decision {
    ask_at(policy, child, purpose, data, gpc, now())
}

pub(crate) fn ask_at(
    policy: &CompiledPolicy,
    child: &Child,
    purpose: &str,
    data: &[&str],
    gpc: bool,
    at: Timestamp,
) -> Decision {
    let data: Vec<_> = data.iter().map(|d| policy.data_idx(d)).collect();
    decide(
        policy,
        &child.state,
        &Request {
            purpose: policy.purpose_idx(purpose),
            data: &data,
            gpc,
        },
        at,
    )
}

pub(crate) fn event_types(events: &[Event]) -> Vec<String> {
    events
        .iter()
        .map(|e| {
            serde_json::to_value(e).unwrap()["type"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect()
}
