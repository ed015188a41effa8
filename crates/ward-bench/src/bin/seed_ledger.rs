//! Writes a SQLite store whose ledger holds the lives of `N` children under
//! `examples/clipstream.toml`, for timing `ward report` against `ward ledger verify` on the
//! same file (`docs/benchmarks.md`). Each child is created, gets an age (8 to 17), a parent
//! when under 13, is shown the recommendations intervention and acknowledges it; a parent
//! approves (or, for every fourth child, denies) after some minutes; every other child who
//! got it on switches it off a day later. The events come from `ward-core`'s own operations
//! and are chained by `ward-store`, so the entries are what a real service writes.
//!
//! `cargo run --release -p ward-bench --bin seed_ledger -- N FILE`

use jiff::{SignedDuration, Timestamp};
use ward_core::child::{AgeEvidence, AgeRecord};
use ward_core::compiled::CompiledPolicy;
use ward_core::ids::{ChildId, ParentId};
use ward_core::policy::{AgeMethod, ParentalConsentMethod, Policy};
use ward_core::settings::{Acknowledged, Actor, Child, Event, SwitchOn};
use ward_store::{AnyStore, LedgerEvent, Store};

fn main() -> Result<(), String> {
    let mut args = std::env::args().skip(1);
    let n: u32 = args
        .next()
        .and_then(|n| n.parse().ok())
        .ok_or("usage: seed_ledger N FILE")?;
    let file = args.next().ok_or("usage: seed_ledger N FILE")?;
    let source = include_str!("../../../../examples/clipstream.toml");
    let policy = CompiledPolicy::new(Policy::parse(source).map_err(|e| e.to_string())?)
        .map_err(|e| e.to_string())?;
    let runtime = tokio::runtime::Runtime::new().map_err(|e| e.to_string())?;
    runtime.block_on(async move {
        let store = AnyStore::open(&file).await.map_err(|e| e.to_string())?;
        let start: Timestamp = "2026-09-01T08:00:00Z".parse().map_err(|_| "time")?;
        let mut batch: Vec<LedgerEvent> = Vec::new();
        for idx in 0..n {
            let events = life(
                &policy,
                idx,
                start + SignedDuration::from_secs(i64::from(idx) * 60),
            )?;
            batch.extend(events.iter().map(LedgerEvent::from));
            if batch.len() >= 5_000 {
                store
                    .append(std::mem::take(&mut batch))
                    .await
                    .map_err(|e| e.to_string())?;
            }
        }
        store.append(batch).await.map_err(|e| e.to_string())?;
        let verdict = store.verify_ledger().await.map_err(|e| e.to_string())?;
        eprintln!("{n} children, {} ledger entries in {file}", verdict.entries);
        Ok(())
    })
}

fn life(policy: &CompiledPolicy, idx: u32, now: Timestamp) -> Result<Vec<Event>, String> {
    let flow = |e: ward_core::settings::FlowError| e.to_string();
    let id = ChildId::parse(&format!("bench-child-{idx}")).map_err(|e| e.to_string())?;
    let (mut child, mut events) = Child::new(id, policy, now);
    let age = 8 + (idx % 10) as u8;
    events.extend(child.set_age_record(
        policy,
        AgeRecord {
            method: AgeMethod::ParentDeclared,
            evidence: AgeEvidence::Age(age),
            at: now,
        },
        now,
    ));
    let parent = ParentId::parse(&format!("bench-parent-{idx}")).map_err(|e| e.to_string())?;
    if age < 13 {
        events.extend(
            child
                .link_parent(policy, parent.clone(), now)
                .map_err(flow)?
                .1,
        );
    }
    let (shown, more) = child
        .request_on(policy, "recommend-videos", now)
        .map_err(flow)?;
    events.extend(more);
    let SwitchOn::Intervention(intervention) = shown else {
        return Ok(events);
    };
    let later = now + SignedDuration::from_secs(30);
    let (acknowledged, more) = child
        .acknowledge(policy, &intervention, later)
        .map_err(flow)?;
    events.extend(more);
    let mut on = matches!(acknowledged, Acknowledged::On);
    if let Acknowledged::PendingParent(_) = acknowledged {
        let answered = later + SignedDuration::from_mins(i64::from(idx % 240) + 1);
        if idx.is_multiple_of(4) {
            events.extend(
                child
                    .deny(policy, "recommend-videos", &parent, answered)
                    .map_err(flow)?
                    .1,
            );
        } else {
            events.extend(
                child
                    .approve(
                        policy,
                        "recommend-videos",
                        &parent,
                        ParentalConsentMethod::EmailPlus,
                        answered,
                    )
                    .map_err(flow)?
                    .1,
            );
            on = true;
        }
    }
    if on && idx.is_multiple_of(2) {
        let off = later + SignedDuration::from_hours(24);
        events.extend(
            child
                .switch_off(policy, "recommend-videos", Actor::Child, off)
                .map_err(flow)?
                .1,
        );
    }
    Ok(events)
}
