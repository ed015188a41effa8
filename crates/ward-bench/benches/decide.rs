//! `decide` side by side with the same decisions in Cedar, and a plain `HashMap` lookup of
//! precomputed answers as the floor, on one workload in one run.
//!
//! The workload: a 10-setting policy, 1,024 children (ages 6 to 17, adults and unknown users,
//! GB and DE, settings off, on with a child's or a parent's consent, pending), and 4,096
//! requests spread over them and every purpose, some with GPC. Cedar is given every age fact
//! precomputed (adult, below `min_age`, needs a parent) and every entity built before timing,
//! so only `is_authorized` is measured; ward's `decide` works the age out itself. Before
//! timing, every one of the 4,096 Cedar answers is checked against ward's.
#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    reason = "benchmark setup fails loudly"
)]

use std::collections::HashMap;
use std::hint::black_box;
use std::str::FromStr;

#[cfg(feature = "cedar")]
use cedar_policy::{Authorizer, Context, Entities, EntityUid, PolicySet, Request as CedarRequest};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
#[cfg(feature = "cedar")]
use serde_json::json;
use ward_core::child::{AgeEvidence, AgeRecord};
use ward_core::compiled::{CompiledPolicy, PurposeIdx};
use ward_core::decide::{Request, decide};
use ward_core::ids::ChildId;
use ward_core::jurisdiction::Jurisdiction;
#[cfg(feature = "cedar")]
use ward_core::policy::Category;
use ward_core::policy::{AgeMethod, Policy};
use ward_core::settings::{Child, ConsentGiver, ConsentLink, SettingSlot, SettingValue};

const N_CHILDREN: usize = 1024;
const N_REQUESTS: usize = 4096;

/// The decision table (rows 4 to 12; rows 1 to 3 are facts of the request in `context`).
#[cfg(feature = "cedar")]
const CEDAR_POLICIES: &str = r#"
permit(principal, action == Action::"use", resource)
  when { resource.purpose.required };
permit(principal, action == Action::"use", resource)
  when { resource.effective == "on" &&
         (!resource.purpose.consent_basis ||
          (resource.consent_current &&
           (resource.consent_by == "parent" || (resource.consent_by == "user" && !principal.needs_parent)))) };
forbid(principal, action, resource) when { !context.declared };
forbid(principal, action, resource) when { resource.purpose.commercial && context.reads_protective };
forbid(principal, action, resource) when { !principal.adult && resource.purpose.automated };
forbid(principal, action, resource) unless { resource.purpose.required } when { !principal.adult && principal.below_min_age };
forbid(principal, action, resource) unless { resource.purpose.required } when { !principal.adult && resource.purpose.locked };
forbid(principal, action, resource) unless { resource.purpose.required } when { resource.purpose.advertising && context.gpc };
"#;

/// A tiny deterministic generator (no dependency, same workload every run).
struct Lcg(u64);
impl Lcg {
    fn next(&mut self, bound: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % bound
    }
}

struct Workload {
    policy: CompiledPolicy,
    children: Vec<Child>,
    requests: Vec<(usize, Option<PurposeIdx>, bool)>,
}

fn workload() -> Workload {
    let mut source = ward_bench::generated_policy(10);
    source.push_str(
        "[[purpose]]\nid = \"moderation\"\nname = \"Safety\"\ncategory = \"safeguarding\"\n\
         description = \"Scans chat for grooming and bullying so moderators can step in.\"\n\
         lawful_basis = \"legal_obligation\"\n\n\
         [[purpose]]\nid = \"credit\"\nname = \"Credit\"\ncategory = \"analytics\"\n\
         description = \"Automatically sets a monthly spending limit from purchase history.\"\n\
         lawful_basis = \"contract\"\nsolely_automated_significant_decision = true\nlocked_for_children = true\n",
    );
    let policy = CompiledPolicy::new(Policy::parse(&source).expect("the bench policy parses"))
        .expect("compiles");
    assert_eq!(policy.settings().len(), 10, "a 10-setting policy");
    let now = now();
    let mut rng = Lcg(7);
    let children = (0..N_CHILDREN)
        .map(|idx| {
            let (mut child, _) = Child::new(
                ChildId::parse(&format!("c{idx}")).expect("id"),
                &policy,
                now,
            );
            let age = rng.next(16) as u8 + 6; // 6..=21
            if rng.next(8) != 0 {
                let method = if rng.next(4) == 0 {
                    AgeMethod::SelfDeclared
                } else {
                    AgeMethod::Verified
                };
                child.set_age_record(
                    &policy,
                    AgeRecord {
                        method,
                        evidence: AgeEvidence::Age(age),
                        at: now,
                    },
                    now,
                );
            }
            let jurisdiction = if rng.next(3) == 0 { "DE" } else { "GB" };
            child
                .set_jurisdiction(
                    &policy,
                    Jurisdiction::parse(jurisdiction).expect("known"),
                    now,
                )
                .expect("served");
            for (slot_idx, setting) in policy.settings().iter().enumerate() {
                let version = policy.purpose(setting.purpose).version;
                let (value, consent) = match rng.next(5) {
                    0 => (SettingValue::On, Some(ConsentGiver::Parent)),
                    1 => (SettingValue::On, Some(ConsentGiver::User)),
                    2 => (SettingValue::PendingParent, None),
                    3 => (SettingValue::On, None),
                    _ => (SettingValue::Off, None),
                };
                child.state.settings[slot_idx] = SettingSlot {
                    preferred: value,
                    effective: value,
                    consent: consent.map(|giver| ConsentLink {
                        giver,
                        version,
                        refresh_due: false,
                    }),
                };
            }
            child
        })
        .collect();
    let n_purposes = policy.purposes().len() as u64;
    let requests = (0..N_REQUESTS)
        .map(|_| {
            let child = rng.next(N_CHILDREN as u64) as usize;
            let purpose = Some(PurposeIdx(rng.next(n_purposes) as u32));
            (child, purpose, rng.next(4) == 0)
        })
        .collect();
    Workload {
        policy,
        children,
        requests,
    }
}

fn now() -> jiff::Timestamp {
    jiff::Timestamp::from_str("2026-06-01T12:00:00Z").expect("a timestamp")
}

#[cfg(feature = "cedar")]
fn uid(kind: &str, id: &str) -> serde_json::Value {
    json!({"type": kind, "id": id})
}

/// The same children, purposes and settings as Cedar entities, and one request per ward one.
#[cfg(feature = "cedar")]
fn cedar(workload: &Workload) -> (PolicySet, Entities, Vec<CedarRequest>) {
    let policy = &workload.policy;
    let now = now();
    let mut entities = Vec::new();
    for purpose in policy.purposes() {
        entities.push(json!({
            "uid": uid("Purpose", purpose.id.as_str()),
            "attrs": {
                "required": purpose.required, "locked": purpose.locked_for_children,
                "automated": purpose.automated_significant, "commercial": purpose.commercial,
                "consent_basis": purpose.consent_basis,
                "advertising": purpose.category == Category::BehaviouralAdvertising,
            },
            "parents": [],
        }));
    }
    for child in &workload.children {
        let status = child.state.age_status(policy, now);
        entities.push(json!({
            "uid": uid("Child", child.id.as_str()),
            "attrs": {
                "adult": status.is_adult(),
                "below_min_age": status.is_below(policy.min_age()),
                "needs_parent": status.needs_parent(child.state.jurisdiction, policy.min_age()),
            },
            "parents": [],
        }));
        for purpose in policy.purposes() {
            let slot = purpose.setting.and_then(|s| child.state.slot(s));
            let effective = match slot.map(|s| s.effective) {
                Some(SettingValue::On) => "on",
                Some(SettingValue::PendingParent) => "pending_parent",
                _ => "off",
            };
            let consent = slot.and_then(|s| s.consent);
            entities.push(json!({
                "uid": uid("ChildPurpose", &format!("{}/{}", child.id, purpose.id)),
                "attrs": {
                    "purpose": {"__entity": uid("Purpose", purpose.id.as_str())},
                    "effective": effective,
                    "consent_by": match consent.map(|c| c.giver) {
                        Some(ConsentGiver::Parent) => "parent",
                        Some(ConsentGiver::User) => "user",
                        None => "none",
                    },
                    "consent_current": consent.is_some_and(|c| c.version == purpose.version),
                },
                "parents": [],
            }));
        }
    }
    let entities = Entities::from_json_value(json!(entities), None).expect("valid entities");
    let policies = PolicySet::from_str(CEDAR_POLICIES).expect("valid policies");
    let action = EntityUid::from_str(r#"Action::"use""#).expect("uid");
    let requests = workload
        .requests
        .iter()
        .map(|(child_idx, purpose, gpc)| {
            let child = &workload.children[*child_idx];
            let purpose = policy.purpose(purpose.expect("the workload names known purposes"));
            let principal = EntityUid::from_str(&format!(r#"Child::"{}""#, child.id)).expect("uid");
            let resource =
                EntityUid::from_str(&format!(r#"ChildPurpose::"{}/{}""#, child.id, purpose.id))
                    .expect("uid");
            let context = Context::from_json_value(
                json!({"gpc": gpc, "declared": true, "reads_protective": false}),
                None,
            )
            .expect("context");
            CedarRequest::new(principal, action.clone(), resource, context, None).expect("request")
        })
        .collect();
    (policies, entities, requests)
}

fn bench(c: &mut Criterion) {
    let workload = workload();
    let policy = &workload.policy;
    let now = now();
    let ward_answers: Vec<bool> = workload
        .requests
        .iter()
        .map(|(child, purpose, gpc)| {
            decide(
                policy,
                &workload.children[*child].state,
                &Request {
                    purpose: *purpose,
                    data: &[],
                    gpc: *gpc,
                },
                now,
            )
            .allow
        })
        .collect();
    #[cfg(feature = "cedar")]
    let (cedar_policies, cedar_entities, cedar_requests, authorizer) = {
        let (policies, entities, requests) = cedar(&workload);
        let authorizer = Authorizer::new();
        for (idx, request) in requests.iter().enumerate() {
            let cedar_allow = authorizer
                .is_authorized(request, &policies, &entities)
                .decision()
                == cedar_policy::Decision::Allow;
            assert_eq!(
                cedar_allow, ward_answers[idx],
                "request {idx}: Cedar and ward disagree"
            );
        }
        eprintln!("Cedar agrees with ward on all {N_REQUESTS} requests");
        (policies, entities, requests, authorizer)
    };
    let n_allowed = ward_answers.iter().filter(|a| **a).count();
    eprintln!("workload: {N_REQUESTS} requests, {n_allowed} allowed");
    let floor: HashMap<(usize, u32, bool), bool> = workload
        .requests
        .iter()
        .zip(&ward_answers)
        .map(|((child, purpose, gpc), allow)| {
            ((*child, purpose.map_or(u32::MAX, |p| p.0), *gpc), *allow)
        })
        .collect();
    eprintln!(
        "hot-path state per child, 10 settings: {} bytes (ChildState {} + 10 x SettingSlot {})",
        std::mem::size_of::<ward_core::settings::ChildState>()
            + 10 * std::mem::size_of::<SettingSlot>(),
        std::mem::size_of::<ward_core::settings::ChildState>(),
        std::mem::size_of::<SettingSlot>()
    );

    let mut group = c.benchmark_group("decide");
    group.throughput(Throughput::Elements(N_REQUESTS as u64));
    group.bench_function("hashmap_floor", |b| {
        b.iter(|| {
            let mut n_allowed = 0usize;
            for (child, purpose, gpc) in &workload.requests {
                n_allowed += usize::from(
                    floor
                        .get(&(*child, purpose.map_or(u32::MAX, |p| p.0), *gpc))
                        .copied()
                        .unwrap_or(false),
                );
            }
            black_box(n_allowed)
        })
    });
    group.bench_function("ward", |b| {
        b.iter(|| {
            let mut n_allowed = 0usize;
            for (child, purpose, gpc) in &workload.requests {
                let request = Request {
                    purpose: *purpose,
                    data: &[],
                    gpc: *gpc,
                };
                n_allowed += usize::from(
                    decide(
                        policy,
                        &workload.children[*child].state,
                        black_box(&request),
                        now,
                    )
                    .allow,
                );
            }
            black_box(n_allowed)
        })
    });
    #[cfg(feature = "cedar")]
    group.sample_size(10);
    #[cfg(feature = "cedar")]
    group.bench_function("cedar", |b| {
        b.iter(|| {
            let mut n_allowed = 0usize;
            for request in &cedar_requests {
                let response = authorizer.is_authorized(request, &cedar_policies, &cedar_entities);
                n_allowed += usize::from(response.decision() == cedar_policy::Decision::Allow);
            }
            black_box(n_allowed)
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
