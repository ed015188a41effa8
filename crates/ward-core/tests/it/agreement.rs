//! The shown state and `decide` never disagree: a property over random sequences of
//! operations on one child — age records of every method and shape, jurisdiction changes,
//! parents linked and unlinked, switching on (and acknowledging, at once or later), parents'
//! answers, switching off, confirming, time passing (expiries, birthdays) and policy changes
//! between random variants — checked after every step.
//!
//! "Agree", for every setting `s` of the policy in force, with `d = decide(s's purpose, no
//! data, no GPC, now)`:
//! - `effective == on` exactly when `d` allows;
//! - `effective == pending_parent` exactly when `d` answers `awaiting_parent`, and exactly
//!   when one request for `s` waits, for the purpose's current version, marked
//!   `no_parent_linked` exactly while no parent is linked;
//! - `effective == locked_off` exactly when the user is not an adult and the purpose is
//!   locked for children;
//! - a consent link exists only on an `on` consent-basis setting, is always live as `decide`
//!   counts it (`ConsentLink::is_live`, which the server's view shows as `consent.live`),
//!   is `refresh_due` exactly when a parent gave it and the child could consent themself, and
//!   has its record; every `on` consent-basis setting has one;
//! - no request waits for a setting that is not `pending_parent` (or not in the policy).
//!
//! And the invariants the rest of the suite pins, on every step: a refused operation leaves
//! the child exactly as it was; a child reads back from its stored form unchanged; every
//! `consent_requested` event says `no_parent_linked` exactly when it went to no parent; when
//! the last parent is unlinked every waiting request is announced again to the service.

use jiff::{SignedDuration, Timestamp};
use proptest::prelude::*;
use ward_core::age::AgeBand;
use ward_core::child::{AgeEvidence, AgeRecord, BandOrAdult};
use ward_core::compiled::CompiledPolicy;
use ward_core::decide::{Reason, Request, decide};
use ward_core::ids::{ChildId, ParentId};
use ward_core::policy::{AgeMethod, ParentalConsentMethod};
use ward_core::settings::{
    Actor, Child, ConsentGiver, EventKind, FlowError, Intervention, SettingValue, SwitchOn,
};

use crate::properties::{PurposeSpec, build, purpose_spec};
use crate::world::now;

const PARENTS: [&str; 3] = ["mum", "dad", "gran"];
const JURISDICTIONS: &str = "[\"GB\", \"DE\", \"FR\", \"ES\"]";

/// One step of a child's life.
#[derive(Debug, Clone)]
enum Op {
    /// A new age record, made `seconds_ago` before now.
    Age {
        method: AgeMethod,
        evidence: AgeEvidence,
        seconds_ago: i64,
    },
    /// Move to the policy's n-th jurisdiction.
    Jurisdiction(usize),
    Link(usize),
    Unlink(usize),
    /// Ask to switch the n-th setting on; acknowledge at once, or keep the intervention to
    /// acknowledge later.
    RequestOn {
        setting: usize,
        acknowledge: bool,
    },
    /// Acknowledge the intervention kept last (perhaps stale or expired by now).
    AcknowledgeLater,
    Approve {
        setting: usize,
        parent: usize,
    },
    Deny {
        setting: usize,
        parent: usize,
    },
    SwitchOff(usize),
    Confirm(usize),
    /// Time passes, and ward observes it.
    Pass(SignedDuration),
    /// The service reloads another variant of its policy.
    Policy(usize),
}

fn op(n_variants: usize) -> impl Strategy<Value = Op> {
    let method = prop_oneof![
        Just(AgeMethod::SelfDeclared),
        Just(AgeMethod::ParentDeclared),
        Just(AgeMethod::Estimated),
        Just(AgeMethod::Verified)
    ];
    let evidence = prop_oneof![
        (0u8..25).prop_map(AgeEvidence::Age),
        (6u8..17).prop_map(AgeEvidence::Age),
        (0usize..6).prop_map(|idx| AgeEvidence::Band(
            AgeBand::ALL
                .get(idx)
                .map_or(BandOrAdult::Adult, |b| BandOrAdult::Band(*b))
        )),
        (2000i16..2027, 1i8..=12, 1i8..=28)
            .prop_map(|(y, m, d)| AgeEvidence::BirthDate(jiff::civil::date(y, m, d))),
    ];
    let pass = prop_oneof![
        (1i64..120).prop_map(SignedDuration::from_mins),
        (1i64..10).prop_map(|d| SignedDuration::from_hours(24 * d)),
        (30i64..800).prop_map(|d| SignedDuration::from_hours(24 * d)),
    ];
    prop_oneof![
        3 => (method, evidence, 0i64..100_000_000).prop_map(|(method, evidence, seconds_ago)| Op::Age { method, evidence, seconds_ago }),
        1 => (0usize..4).prop_map(Op::Jurisdiction),
        3 => (0usize..3).prop_map(Op::Link),
        2 => (0usize..3).prop_map(Op::Unlink),
        6 => (0usize..8, prop::bool::weighted(0.8)).prop_map(|(setting, acknowledge)| Op::RequestOn { setting, acknowledge }),
        1 => Just(Op::AcknowledgeLater),
        4 => (0usize..8, 0usize..5).prop_map(|(setting, parent)| Op::Approve { setting, parent }),
        1 => (0usize..8, 0usize..5).prop_map(|(setting, parent)| Op::Deny { setting, parent }),
        2 => (0usize..8).prop_map(Op::SwitchOff),
        1 => (0usize..8).prop_map(Op::Confirm),
        3 => pass.prop_map(Op::Pass),
        2 => (0..n_variants).prop_map(Op::Policy),
    ]
}

/// How a variant of the policy differs from the base, per purpose.
#[derive(Debug, Clone, Copy)]
enum Change {
    Keep,
    Reword,
    Lock,
    Basis,
    Default,
}

fn variant(base: Vec<PurposeSpec>) -> impl Strategy<Value = (u8, Vec<PurposeSpec>)> {
    let n = base.len();
    let change = prop_oneof![
        4 => Just(Change::Keep),
        2 => Just(Change::Reword),
        1 => Just(Change::Lock),
        1 => Just(Change::Basis),
        1 => Just(Change::Default),
    ];
    (
        0u8..=16,
        proptest::collection::vec(change, n),
        any::<bool>(),
    )
        .prop_map(move |(min_age, changes, drop_last)| {
            let mut specs: Vec<PurposeSpec> = base
                .iter()
                .zip(changes)
                .map(|(spec, change)| {
                    let mut spec = spec.clone();
                    match change {
                        Change::Keep => {}
                        Change::Reword => spec.wording += 1,
                        Change::Lock => spec.locked = !spec.locked,
                        Change::Basis => spec.basis = (spec.basis + 1) % 3,
                        Change::Default => spec.default_on = !spec.default_on,
                    }
                    spec
                })
                .collect();
            if drop_last && specs.len() > 1 {
                specs.pop();
            }
            (min_age, specs)
        })
}

fn parent(idx: usize) -> ParentId {
    ParentId::parse(PARENTS[idx % PARENTS.len()]).unwrap()
}

/// The n-th setting's id in `policy`, if it has any settings.
fn setting(policy: &CompiledPolicy, idx: usize) -> Option<String> {
    let settings = policy.settings();
    (!settings.is_empty()).then(|| settings[idx % settings.len()].id.to_string())
}

/// Asserts that every setting's shown state agrees with `decide` at `now` (module docs).
pub(crate) fn agree(
    policy: &CompiledPolicy,
    child: &Child,
    now: Timestamp,
) -> Result<(), TestCaseError> {
    let status = child.state.age_status(policy, now);
    let needs_parent = status.needs_parent(child.state.jurisdiction, policy.min_age());
    assert_eq!(child.state.settings.len(), policy.settings().len());
    for (idx, setting) in policy.settings().iter().enumerate() {
        let purpose = policy.purpose(setting.purpose);
        let slot = child.state.settings[idx];
        let decision = decide(
            policy,
            &child.state,
            &Request {
                purpose: Some(setting.purpose),
                data: &[],
                gpc: false,
            },
            now,
        );
        let context = format!(
            "setting {} ({:?}, {:?}, basis consent {}, locked {}) for {:?} in {}: {slot:?}, decide {decision:?}, requests {:?}",
            setting.id,
            purpose.category,
            purpose.version,
            purpose.consent_basis,
            purpose.locked_for_children,
            status,
            child.state.jurisdiction,
            child.requests
        );
        prop_assert_eq!(
            slot.effective == SettingValue::On,
            decision.allow,
            "on ⇔ allowed: {}",
            context
        );
        prop_assert_eq!(
            slot.effective == SettingValue::PendingParent,
            decision.reason == Reason::AwaitingParent,
            "pending_parent ⇔ awaiting_parent: {}",
            context
        );
        let requests: Vec<_> = child
            .requests
            .iter()
            .filter(|r| r.setting == setting.id)
            .collect();
        prop_assert_eq!(
            slot.effective == SettingValue::PendingParent,
            requests.len() == 1,
            "pending_parent ⇔ one request waits: {}",
            context
        );
        prop_assert!(requests.len() <= 1, "{}", context);
        for request in requests {
            prop_assert_eq!(request.purpose_version, purpose.version, "{}", context);
            prop_assert_eq!(
                request.no_parent_linked,
                child.parents.is_empty(),
                "{}",
                context
            );
        }
        let locked = purpose.locked_for_children || purpose.automated_significant;
        prop_assert_eq!(
            slot.effective == SettingValue::LockedOff,
            !status.is_adult() && locked,
            "locked_off ⇔ locked for this user: {}",
            context
        );
        let record = child.consents.iter().find(|c| c.setting == setting.id);
        match slot.consent {
            Some(link) => {
                prop_assert_eq!(slot.effective, SettingValue::On, "{}", context);
                prop_assert!(purpose.consent_basis, "{}", context);
                prop_assert!(
                    link.is_live(purpose.version, needs_parent),
                    "a shown consent is live: {}",
                    context
                );
                prop_assert_eq!(
                    link.refresh_due,
                    link.giver == ConsentGiver::Parent && !needs_parent,
                    "refresh_due exactly when the child could consent: {}",
                    context
                );
                let record = record.ok_or_else(|| {
                    TestCaseError::fail(format!("a consent without its record: {context}"))
                })?;
                prop_assert_eq!(record.given_by, link.giver, "{}", context);
                prop_assert_eq!(record.purpose_version, link.version, "{}", context);
            }
            None => {
                prop_assert!(record.is_none(), "a record without a consent: {}", context);
                prop_assert!(
                    !(slot.effective == SettingValue::On && purpose.consent_basis),
                    "on without consent: {}",
                    context
                );
            }
        }
    }
    for request in &child.requests {
        let pending = policy
            .setting_idx(request.setting.as_str())
            .and_then(|idx| child.state.slot(idx))
            .is_some_and(|slot| slot.effective == SettingValue::PendingParent);
        prop_assert!(
            pending,
            "a request for a setting not waiting: {:?}",
            request
        );
    }
    prop_assert_eq!(
        child.consents.len(),
        child
            .state
            .settings
            .iter()
            .filter(|s| s.consent.is_some())
            .count()
    );
    Ok(())
}

/// Runs one step; refused steps must leave the child as it was.
struct Life {
    policies: Vec<Option<CompiledPolicy>>,
    current: usize,
    child: Child,
    now: Timestamp,
    kept: Option<Intervention>,
}

impl Life {
    fn policy(&self) -> &CompiledPolicy {
        self.policies[self.current]
            .as_ref()
            .unwrap_or_else(|| unreachable!("the current policy always built"))
    }

    /// What a parent answers: mostly a waiting request, by a linked parent; sometimes any
    /// setting, or a parent who is not linked (refusals are part of the property too).
    fn answerable(
        &self,
        policy: &CompiledPolicy,
        idx: usize,
        who: usize,
    ) -> Option<(String, ParentId)> {
        let setting = match self.child.requests.len() {
            0 => setting(policy, idx)?,
            n if idx < 6 => self.child.requests[idx % n].setting.to_string(),
            _ => setting(policy, idx)?,
        };
        let parent = match self.child.parents.len() {
            n if n > 0 && who < 4 => self.child.parents[who % n].clone(),
            _ => parent(who),
        };
        Some((setting, parent))
    }

    fn step(&mut self, op: &Op) -> Result<(), TestCaseError> {
        let before = self.child.clone();
        let parents_before = self.child.parents.len();
        let now = self.now;
        let policy = self.policies[self.current]
            .clone()
            .unwrap_or_else(|| unreachable!());
        let result: Result<Vec<ward_core::settings::Event>, FlowError> = match op {
            Op::Age {
                method,
                evidence,
                seconds_ago,
            } => {
                let at = Timestamp::from_second(now.as_second() - seconds_ago).unwrap();
                let record = AgeRecord {
                    method: *method,
                    evidence: *evidence,
                    at,
                };
                Ok(self.child.set_age_record(&policy, record, now))
            }
            Op::Jurisdiction(idx) => {
                let jurisdictions = &policy.policy().service.jurisdictions;
                let jurisdiction = jurisdictions[idx % jurisdictions.len()];
                self.child
                    .set_jurisdiction(&policy, jurisdiction, now)
                    .map(|(_, events)| events)
            }
            Op::Link(idx) => self
                .child
                .link_parent(&policy, parent(*idx), now)
                .map(|(_, events)| events),
            Op::Unlink(idx) => self
                .child
                .unlink_parent(&policy, &parent(*idx), now)
                .map(|(_, events)| events),
            Op::RequestOn {
                setting: idx,
                acknowledge,
            } => match setting(&policy, *idx) {
                None => Ok(Vec::new()),
                Some(id) => match self.child.request_on(&policy, &id, now) {
                    Ok((SwitchOn::Intervention(shown), mut events)) if *acknowledge => {
                        // The request is shown, then acknowledged: a refused acknowledgement
                        // still leaves the shown intervention's event.
                        let after_shown = self.child.clone();
                        match self.child.acknowledge(&policy, &shown, now) {
                            Ok((_, more)) => events.extend(more),
                            Err(_) => {
                                prop_assert_eq!(
                                    &self.child,
                                    &after_shown,
                                    "refused acknowledge changed the child"
                                );
                            }
                        }
                        Ok(events)
                    }
                    Ok((SwitchOn::Intervention(shown), events)) => {
                        self.kept = Some(*shown);
                        Ok(events)
                    }
                    Ok((SwitchOn::On, events)) => Ok(events),
                    Err(error) => Err(error),
                },
            },
            Op::AcknowledgeLater => match self.kept.clone() {
                None => Ok(Vec::new()),
                Some(shown) => self
                    .child
                    .acknowledge(&policy, &shown, now)
                    .map(|(_, events)| events),
            },
            Op::Approve {
                setting: idx,
                parent: who,
            } => match self.answerable(&policy, *idx, *who) {
                None => Ok(Vec::new()),
                Some((id, who)) => self
                    .child
                    .approve(&policy, &id, &who, ParentalConsentMethod::EmailPlus, now)
                    .map(|(_, events)| events),
            },
            Op::Deny {
                setting: idx,
                parent: who,
            } => match self.answerable(&policy, *idx, *who) {
                None => Ok(Vec::new()),
                Some((id, who)) => self
                    .child
                    .deny(&policy, &id, &who, now)
                    .map(|(_, events)| events),
            },
            Op::SwitchOff(idx) => match setting(&policy, *idx) {
                None => Ok(Vec::new()),
                Some(id) => self
                    .child
                    .switch_off(&policy, &id, Actor::Child, now)
                    .map(|(_, events)| events),
            },
            Op::Confirm(idx) => match setting(&policy, *idx) {
                None => Ok(Vec::new()),
                Some(id) => self
                    .child
                    .confirm_consent(&policy, &id, now)
                    .map(|(_, events)| events),
            },
            Op::Pass(duration) => {
                self.now = now.saturating_add(*duration).unwrap();
                Ok(self.child.observe(&policy, self.now))
            }
            Op::Policy(variant) => match &self.policies[*variant] {
                None => Ok(Vec::new()),
                Some(new) => {
                    let events = self.child.apply_policy_change(&policy, new, now);
                    self.current = *variant;
                    Ok(events)
                }
            },
        };
        match result {
            Err(_) => {
                prop_assert_eq!(&self.child, &before, "a refused {:?} changed the child", op);
            }
            Ok(events) => {
                for event in &events {
                    prop_assert_eq!(&event.child, &self.child.id);
                    if let EventKind::ConsentRequested { request, parents } = &event.kind {
                        prop_assert_eq!(
                            request.no_parent_linked,
                            parents.is_empty(),
                            "{:?}",
                            event
                        );
                    }
                }
                if parents_before > 0 && self.child.parents.is_empty() {
                    // The last parent went: the service hears of every request still waiting.
                    for request in &self.child.requests {
                        let told = events.iter().any(|event| {
                            matches!(&event.kind,
                            EventKind::ConsentRequested { request: told, .. }
                                if told.id == request.id && told.no_parent_linked)
                        });
                        prop_assert!(
                            told,
                            "unlinking the last parent did not tell the service of {:?}",
                            request
                        );
                    }
                }
            }
        }
        let policy = self.policy();
        agree(policy, &self.child, self.now)?;
        let stored = Child::from_document(self.child.to_document(policy), policy, self.now);
        prop_assert_eq!(
            &stored,
            &self.child,
            "the child did not read back from its document"
        );
        Ok(())
    }
}

/// A purpose as this property wants them most: with a setting a child can switch on, mostly
/// on a consent basis; now and then locked, required or anything `purpose_spec` makes.
fn switchable_spec() -> impl Strategy<Value = PurposeSpec> {
    // Indices into `properties::CATEGORIES` of categories that keep their setting.
    let category = prop::sample::select(vec![0usize, 1, 2, 3, 4, 5, 6, 7]);
    let switchable = (
        category,
        prop_oneof![3 => Just(0usize), 1 => Just(1usize), 1 => Just(2usize)],
        prop::bool::weighted(0.15),
        prop::bool::weighted(0.3),
        0usize..3,
    )
        .prop_map(
            |(category, basis, locked, default_on, wording)| PurposeSpec {
                category,
                basis,
                locked,
                core: false,
                default_on,
                wording,
            },
        );
    prop_oneof![4 => switchable, 1 => purpose_spec()]
}

fn life() -> impl Strategy<Value = (Vec<Option<CompiledPolicy>>, Vec<Op>)> {
    (0u8..=14, proptest::collection::vec(switchable_spec(), 1..6))
        .prop_flat_map(|(min_age, specs)| {
            let base = (min_age, specs.clone());
            (Just(base), proptest::collection::vec(variant(specs), 1..4))
        })
        .prop_map(|(base, variants)| {
            std::iter::once(base)
                .chain(variants)
                .map(|(min_age, specs)| build(min_age, JURISDICTIONS, &specs))
                .collect::<Vec<_>>()
        })
        .prop_filter("the base policy passes `ward check`", |policies| {
            policies[0].is_some()
        })
        .prop_flat_map(|policies| {
            let n = policies.len();
            // Most lives start with an age record: an `unknown` child can switch little on.
            let first = proptest::option::weighted(
                0.8,
                (6u8..17, 0i64..10_000_000).prop_map(|(age, seconds_ago)| Op::Age {
                    method: AgeMethod::Verified,
                    evidence: AgeEvidence::Age(age),
                    seconds_ago,
                }),
            );
            (
                Just(policies),
                first,
                proptest::collection::vec(op(n), 1..48),
            )
                .prop_map(|(policies, first, ops)| {
                    (policies, first.into_iter().chain(ops).collect())
                })
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, max_global_rejects: 100_000, ..ProptestConfig::default() })]

    #[test]
    fn the_shown_state_and_decide_agree_after_every_step((policies, ops) in life()) {
        let policy = policies[0].clone().unwrap();
        let (child, _) = Child::new(ChildId::parse("kid").unwrap(), &policy, now());
        let mut life = Life { policies, current: 0, child, now: now(), kept: None };
        agree(life.policy(), &life.child, life.now)?;
        for op in &ops {
            life.step(op)?;
        }
    }
}
