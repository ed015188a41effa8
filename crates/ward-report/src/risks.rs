//! Step 5, the risk register: ward proposes each risk from what the policy says, rated per
//! admitted age band, with the child's rights concerned and the rule used.
//!
//! The proposal rules are one table, [`PROPOSALS`], in the order the register lists them
//! (`docs/report.md` prints it). Each rule looks at the policy and proposes a likelihood
//! (remote / possible / probable) and a severity (minimal / significant / severe); the
//! overall risk comes from the ICO template's matrix ([`Overall::of`]). One band adjustment
//! exists: where the purpose rests on consent, is off by default, the service names a
//! parental consent method and every child of the band is below the age of digital consent
//! in every jurisdiction, a parent must consent first, so the likelihood drops one step.
//! The DPO's word (confirm or override) is applied later, by [`crate::dpia`]; this module
//! only proposes.

use std::collections::BTreeMap;

use ward_core::age::AgeBand;
use ward_core::lint::{self, Finding, Severity as LintSeverity};
use ward_core::policy::{
    Category, EditorialCode, LawfulBasis, Policy, ProfileVisibility, Purpose, Safeguard, Toggle,
    Trigger,
};

use ward_audit::report::{AuditResult, BandResult};

use crate::model::{BandRisk, Likelihood, Rating, Right, Risk, Severity};
use crate::steps::band_needs_parent_everywhere;

/// UNCRC articles the register names, with the Convention's own titles (as the ICO's best
/// interests framework groups them under "self", "support" and "society").
pub mod rights {
    use crate::model::Right;

    /// Article 3.
    pub const BEST_INTERESTS: Right = Right {
        article: 3,
        name: "Best interests of the child",
    };
    /// Article 5.
    pub const EVOLVING_CAPACITIES: Right = Right {
        article: 5,
        name: "Parental guidance and the child's evolving capacities",
    };
    /// Article 12.
    pub const VIEWS: Right = Right {
        article: 12,
        name: "Respect for the views of the child",
    };
    /// Article 15.
    pub const ASSOCIATION: Right = Right {
        article: 15,
        name: "Freedom of association",
    };
    /// Article 16.
    pub const PRIVACY: Right = Right {
        article: 16,
        name: "Right to privacy",
    };
    /// Article 17.
    pub const INFORMATION: Right = Right {
        article: 17,
        name: "Access to information from the media",
    };
    /// Article 18.
    pub const PARENTS: Right = Right {
        article: 18,
        name: "Parental responsibilities",
    };
    /// Article 19.
    pub const PROTECTION: Right = Right {
        article: 19,
        name: "Protection from violence, abuse and neglect",
    };
    /// Article 24.
    pub const HEALTH: Right = Right {
        article: 24,
        name: "Health and health services",
    };
    /// Article 31.
    pub const PLAY: Right = Right {
        article: 31,
        name: "Leisure, play and culture",
    };
    /// Article 32.
    pub const ECONOMIC_EXPLOITATION: Right = Right {
        article: 32,
        name: "Protection from economic exploitation",
    };
    /// Article 34.
    pub const SEXUAL_EXPLOITATION: Right = Right {
        article: 34,
        name: "Protection from sexual exploitation",
    };
}

use rights::*;

/// A proposal rule of the register.
pub struct ProposalRule {
    /// Its id, the first part of each risk's id.
    pub id: &'static str,
    /// When it proposes a risk, and how it rates it (printed in `docs/report.md`).
    pub when: &'static str,
    /// The rights concerned.
    pub rights: &'static [Right],
    /// True when the parental-consent band adjustment may apply.
    pub band_adjusted: bool,
    /// What its risks are about: the shape of the second part of their ids.
    pub subjects: Subjects,
    propose: fn(&Known<'_>, &mut Vec<Proposal>),
}

/// The subjects a rule's risks can have (the part of a risk's id after the rule's).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subjects {
    /// `purpose:ID`, a purpose of the policy.
    Purpose,
    /// `purpose:ID`, or `defaults` (a new child's defaults).
    PurposeOrDefaults,
    /// `defaults`.
    Defaults,
    /// `recommender:NAME`, a recommender an audit ran.
    NamedRecommender,
    /// `recommender`: the service's recommender as a whole.
    Recommender,
    /// `RULE:SUBJECT`, a `ward check` rule and what its finding is about.
    Lint,
}

/// Whether `id` is one the register could propose for `policy`: a rule of [`PROPOSALS`] and
/// a subject of the shape that rule uses (a purpose the policy has, a `ward check` rule),
/// whether or not it is proposed this time. `Err` says what is wrong, for a typo.
pub fn known_id(policy: &Policy, id: &str) -> Result<&'static ProposalRule, String> {
    let (rule_id, subject) = id.split_once(':').unwrap_or((id, ""));
    let Some(rule) = PROPOSALS.iter().find(|rule| rule.id == rule_id) else {
        return Err(format!(
            "no risk rule `{rule_id}` (a risk id is `rule:subject`); the rules are: {}",
            PROPOSALS
                .iter()
                .map(|rule| rule.id)
                .collect::<Vec<_>>()
                .join(", ")
        ));
    };
    let purpose = |subject: &str| -> Result<(), String> {
        let Some(purpose) = subject.strip_prefix("purpose:") else {
            return Err(format!(
                "a `{rule_id}` risk is about `purpose:ID`, not `{subject}`"
            ));
        };
        if policy.purpose(purpose).is_some() {
            Ok(())
        } else {
            Err(format!(
                "the policy has no purpose `{purpose}`; its purposes are: {}",
                policy
                    .purposes
                    .iter()
                    .map(|p| p.id.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
        }
    };
    let checked = match rule.subjects {
        Subjects::Purpose => purpose(subject),
        Subjects::PurposeOrDefaults if subject == "defaults" => Ok(()),
        Subjects::PurposeOrDefaults => purpose(subject),
        Subjects::Defaults if subject == "defaults" => Ok(()),
        Subjects::Recommender if subject == "recommender" => Ok(()),
        Subjects::Defaults | Subjects::Recommender => Err(format!(
            "a `{rule_id}` risk is `{rule_id}:{}`",
            if rule.subjects == Subjects::Defaults {
                "defaults"
            } else {
                "recommender"
            }
        )),
        Subjects::NamedRecommender => match subject.strip_prefix("recommender:") {
            Some(name) if !name.is_empty() => Ok(()),
            _ => Err(format!(
                "a `{rule_id}` risk is `{rule_id}:recommender:NAME`"
            )),
        },
        Subjects::Lint => {
            let (lint_rule, rest) = subject.split_once(':').unwrap_or((subject, ""));
            if lint::rule(lint_rule).is_none() {
                Err(format!("`ward check` has no rule `{lint_rule}`"))
            } else if rest.is_empty() {
                Err(format!(
                    "a `lint` risk is `lint:{lint_rule}:SUBJECT`, as the report lists it"
                ))
            } else {
                Ok(())
            }
        }
    };
    checked.map(|()| rule)
}

/// What the rules look at: the policy, and the audit's results when given.
pub struct Known<'a> {
    /// The policy.
    pub policy: &'a Policy,
    /// `ward audit`'s results.json, read.
    pub audit: Option<&'a AuditResult>,
}

/// One risk as a rule proposes it, before bands.
struct Proposal {
    subject: String,
    title: String,
    basis: String,
    rating: Rating,
    measures: Vec<String>,
    /// The purpose the band adjustment looks at, if any.
    purpose: Option<String>,
    /// A rating of its own per band (band, rating, note), overriding `rating` where given.
    per_band: Vec<(&'static str, Rating, String)>,
}

/// Every proposal rule, in register order.
pub static PROPOSALS: &[ProposalRule] = &[
    ProposalRule {
        id: "on-by-default",
        when: "a purpose a child can switch on is on by default: probable and severe when it \
is commercial, probable and significant with no compelling reason, possible and minimal for a \
reason the Code names (accessibility; news under an editorial code with editorial control), \
else possible and significant",
        rights: &[BEST_INTERESTS, PRIVACY],
        band_adjusted: false,
        subjects: Subjects::Purpose,
        propose: on_by_default,
    },
    ProposalRule {
        id: "protective-data-reused",
        when: "a commercial purpose reads data collected for age assurance or safeguarding: \
probable and severe",
        rights: &[PRIVACY, ECONOMIC_EXPLOITATION],
        band_adjusted: false,
        subjects: Subjects::Purpose,
        propose: protective_data_reused,
    },
    ProposalRule {
        id: "recommendation",
        when: "a content recommendation or news feed purpose children can have: probable and \
severe when `ward check` finds its safeguards short or it is on by default without an editorial \
code, else possible and significant",
        rights: &[INFORMATION, HEALTH],
        band_adjusted: true,
        subjects: Subjects::Purpose,
        propose: recommendation,
    },
    ProposalRule {
        id: "audit-harm",
        when: "`ward audit`'s results (`--audit`) show a recommender serving harmful items \
(primary priority or priority content, Ofcom) to a band's personas without the guard: one risk \
per recommender, rated per band: probable and severe where any primary priority item was \
served with the guard too, possible and significant where the guard removed them all, remote \
and significant for a band that saw none or was not audited",
        rights: &[INFORMATION, HEALTH, PROTECTION],
        band_adjusted: false,
        subjects: Subjects::NamedRecommender,
        propose: audit_harm,
    },
    ProposalRule {
        id: "audit-missing",
        when: "no audit results were given (`--audit`) and the policy has a content \
recommendation or news feed purpose children can have: the guard's effect on the service's \
recommender is untested, possible and significant",
        rights: &[INFORMATION, HEALTH],
        band_adjusted: false,
        subjects: Subjects::Recommender,
        propose: audit_missing,
    },
    ProposalRule {
        id: "advertising",
        when: "behavioural advertising children can have: probable and severe when it is on by \
default, not on consent or declared core, else possible and significant",
        rights: &[ECONOMIC_EXPLOITATION, PRIVACY],
        band_adjusted: true,
        subjects: Subjects::Purpose,
        propose: advertising,
    },
    ProposalRule {
        id: "location",
        when: "a location purpose children can have, or location sharing on for new children: \
probable and severe when on by default, else remote and severe",
        rights: &[PRIVACY, PROTECTION],
        band_adjusted: true,
        subjects: Subjects::PurposeOrDefaults,
        propose: location,
    },
    ProposalRule {
        id: "contact-suggestions",
        when: "contact suggestions children can have: probable and severe without both the adult \
contact filter and user reporting, or on by default; else remote and severe",
        rights: &[PROTECTION, SEXUAL_EXPLOITATION, ASSOCIATION],
        band_adjusted: true,
        subjects: Subjects::Purpose,
        propose: contact_suggestions,
    },
    ProposalRule {
        id: "engagement",
        when: "an engagement feature children can have: probable and significant when it fires \
on inactivity, else possible and minimal",
        rights: &[PLAY, HEALTH],
        band_adjusted: true,
        subjects: Subjects::Purpose,
        propose: engagement,
    },
    ProposalRule {
        id: "automated-decision",
        when: "a solely automated decision with legal or similarly significant effect: probable \
and severe",
        rights: &[VIEWS, BEST_INTERESTS],
        band_adjusted: false,
        subjects: Subjects::Purpose,
        propose: automated_decision,
    },
    ProposalRule {
        id: "public-profile",
        when: "new children's profiles are public: probable and severe",
        rights: &[PRIVACY, PROTECTION],
        band_adjusted: false,
        subjects: Subjects::Defaults,
        propose: public_profile,
    },
    ProposalRule {
        id: "other-profiling",
        when: "any other purpose a child can switch on, off by default (analytics, \
accessibility, …): possible and minimal",
        rights: &[PRIVACY],
        band_adjusted: true,
        subjects: Subjects::Purpose,
        propose: other_profiling,
    },
    ProposalRule {
        id: "lint",
        when: "each `ward check` finding (one risk per rule and subject): probable and \
significant for an error, possible and significant for a warning",
        rights: &[BEST_INTERESTS, PRIVACY],
        band_adjusted: false,
        subjects: Subjects::Lint,
        propose: lint_findings,
    },
];

/// The rights a lint rule's finding concerns.
fn lint_rights(rule: &str) -> &'static [Right] {
    match rule {
        "shared-setting"
        | "mixed-purpose"
        | "catch-all-purpose"
        | "missing-setting"
        | "setting-on-required-purpose"
        | "core-without-justification"
        | "unknown-reference" => &[PRIVACY, VIEWS],
        "default-on-without-reason" => &[BEST_INTERESTS, PRIVACY],
        "advertising-on-by-default" | "advertising-without-consent" | "advertising-as-core" => {
            &[ECONOMIC_EXPLOITATION, PRIVACY]
        }
        "recommendation-without-safeguards"
        | "news-on-without-editorial-code"
        | "unknown-tags-kept" => &[INFORMATION, HEALTH],
        "protective-data-reused" => &[PRIVACY, ECONOMIC_EXPLOITATION],
        "age-assurance-cookie-reused" | "cookie-needs-consent" => &[PRIVACY],
        "missing-explanation" | "missing-ask-adult" => &[EVOLVING_CAPACITIES, PRIVACY],
        "inactivity-nudge" => &[PLAY, HEALTH],
        "automated-significant-decision" => &[VIEWS, BEST_INTERESTS],
        "geolocation-on-by-default" | "public-profile-by-default" => &[PRIVACY, PROTECTION],
        "no-parental-consent-method" => &[EVOLVING_CAPACITIES, PARENTS],
        "locked-but-on" => &[PROTECTION, SEXUAL_EXPLOITATION],
        _ => &[BEST_INTERESTS, PRIVACY],
    }
}

fn can_reach_children(purpose: &Purpose) -> bool {
    !purpose.locked_for_children && !purpose.is_required()
}

fn purpose_subject(purpose: &Purpose) -> String {
    format!("purpose:{}", purpose.id)
}

fn proposal(purpose: &Purpose, title: String, basis: String, rating: Rating) -> Proposal {
    Proposal {
        subject: purpose_subject(purpose),
        title,
        basis,
        rating,
        measures: Vec::new(),
        purpose: Some(purpose.id.to_string()),
        per_band: Vec::new(),
    }
}

/// What every purpose a child switches on gets from ward, whatever its category.
fn switch_on_measures(policy: &Policy, purpose: &Purpose) -> Vec<String> {
    let mut measures = Vec::new();
    if purpose.default == Toggle::Off {
        measures.push(
            "off for every new child; on only after the age-appropriate explanation and \
             ask-an-adult prompt are shown and acknowledged (the intervention, its text version \
             in the ledger)"
                .to_owned(),
        );
    }
    if purpose.lawful_basis == LawfulBasis::Consent {
        let methods: Vec<&str> = policy
            .service
            .parental_consent_methods
            .iter()
            .map(|m| m.as_str())
            .collect();
        measures.push(format!(
            "consent from the child, or a parent's below the age of digital consent (methods: {}); \
             `decide` allows nothing without live consent for the purpose's current version",
            if methods.is_empty() {
                "none named".to_owned()
            } else {
                methods.join(", ")
            }
        ));
    }
    measures
        .push("switching off is one step and withdraws consent at once (Standard 13)".to_owned());
    measures
}

fn on_by_default(known: &Known<'_>, out: &mut Vec<Proposal>) {
    let policy = known.policy;
    for purpose in &policy.purposes {
        if !purpose.child_can_switch_on() || purpose.default != Toggle::On {
            continue;
        }
        let reason = purpose.compelling_reason.trim();
        let (rating, basis) = if purpose.category.is_commercial()
            || purpose.category == Category::BehaviouralAdvertising
        {
            (
                Rating::new(Likelihood::Probable, Severity::Severe),
                "commercial profiling on for every new child: probable, severe",
            )
        } else if reason.is_empty() {
            (
                Rating::new(Likelihood::Probable, Severity::Significant),
                "on for every new child with no compelling reason: probable, significant",
            )
        } else if purpose.category == Category::Accessibility
            || (purpose.category == Category::NewsFeed
                && policy.service.editorial_code != EditorialCode::None
                && purpose.has_safeguard(Safeguard::EditorialControl))
        {
            (
                Rating::new(Likelihood::Possible, Severity::Minimal),
                "on by default for a reason the Code itself names (accessibility, or news under \
                 an editorial code with editorial control): possible, minimal",
            )
        } else {
            (
                Rating::new(Likelihood::Possible, Severity::Significant),
                "on by default for a stated reason the Code does not name: possible, significant",
            )
        };
        let mut p = proposal(
            purpose,
            format!(
                "`{}` profiles every new child from the start, before they choose",
                purpose.id
            ),
            basis.to_owned(),
            rating,
        );
        if !reason.is_empty() {
            p.measures
                .push(format!("compelling reason recorded: \"{reason}\""));
        }
        p.measures.extend(switch_on_measures(policy, purpose));
        out.push(p);
    }
}

fn protective_data_reused(known: &Known<'_>, out: &mut Vec<Proposal>) {
    let policy = known.policy;
    for purpose in &policy.purposes {
        if !purpose.category.is_commercial() {
            continue;
        }
        let reused: Vec<&str> = purpose
            .data
            .iter()
            .filter(|id| {
                policy
                    .data_item(id.as_str())
                    .and_then(|item| policy.purpose(&item.collected_for))
                    .is_some_and(|p| p.category.is_protective())
            })
            .map(|id| id.as_str())
            .collect();
        if reused.is_empty() {
            continue;
        }
        let mut p = proposal(
            purpose,
            format!(
                "`{}` reads data collected to protect children ({}) for a commercial purpose",
                purpose.id,
                reused.join(", ")
            ),
            "protective data declared for commercial use: probable, severe".to_owned(),
            Rating::new(Likelihood::Probable, Severity::Severe),
        );
        p.measures.push(
            "`decide` denies every such read (`purpose_limitation`, RUNTIME.md row 3)".to_owned(),
        );
        out.push(p);
    }
}

fn findings_of<'a>(findings: &'a [Finding], rule: &str, purpose: &Purpose) -> Vec<&'a Finding> {
    let subject = purpose_subject(purpose);
    findings
        .iter()
        .filter(|f| f.rule == rule && f.subject.to_string() == subject)
        .collect()
}

fn rule_findings(policy: &Policy, rule: &str) -> Vec<Finding> {
    lint::rule(rule).map_or_else(Vec::new, |rule| rule.check(policy))
}

fn recommendation(known: &Known<'_>, out: &mut Vec<Proposal>) {
    let policy = known.policy;
    let short = rule_findings(policy, "recommendation-without-safeguards");
    let news_on = rule_findings(policy, "news-on-without-editorial-code");
    for purpose in &policy.purposes {
        if !matches!(
            purpose.category,
            Category::ContentRecommendation | Category::NewsFeed
        ) || !can_reach_children(purpose)
        {
            continue;
        }
        let missing = !findings_of(&short, "recommendation-without-safeguards", purpose).is_empty();
        let on_without_code =
            !findings_of(&news_on, "news-on-without-editorial-code", purpose).is_empty();
        let (rating, basis) = if missing || on_without_code {
            (
                Rating::new(Likelihood::Probable, Severity::Severe),
                if missing {
                    "content picked for children without the screening, age and reporting measures \
                     the Code expects: probable, severe"
                } else {
                    "a news feed on by default without an editorial code: probable, severe"
                },
            )
        } else {
            (
                Rating::new(Likelihood::Possible, Severity::Significant),
                "content picked from a profile, with the Code's safeguards declared: possible, \
                 significant",
            )
        };
        let mut p = proposal(
            purpose,
            format!(
                "`{}` may serve a child content detrimental to their health or wellbeing, or pull \
                 them away from their interests",
                purpose.id
            ),
            basis.to_owned(),
            rating,
        );
        if !purpose.safeguards.is_empty() {
            let safeguards: Vec<&str> = purpose.safeguards.iter().map(|s| s.as_str()).collect();
            p.measures
                .push(format!("safeguards declared: {}", safeguards.join(", ")));
        }
        let feed = &policy.feed;
        p.measures.push(format!(
            "every allow carries `filter_feed`: ward's feed guard removes items above the child's \
             age rating, harm-tagged items and restricted ad categories, unassessed items ({}), \
             and caps sensitive topics at {:.0}% once drift passes {:.2}",
            feed.precaution.as_str(),
            feed.sensitive_cap * 100.0,
            feed.drift_threshold
        ));
        p.measures.extend(switch_on_measures(policy, purpose));
        out.push(p);
    }
}

/// Primary priority items served with the guard in any run of a band's personas.
fn served_with_guard(band: &BandResult) -> u32 {
    band.standard.on.primary_priority_max + band.vulnerable.on.primary_priority_max
}

fn harmful_without_guard(band: &BandResult) -> f64 {
    band.standard
        .off
        .harmful_share
        .mean
        .max(band.vulnerable.off.harmful_share.mean)
}

fn audit_harm(known: &Known<'_>, out: &mut Vec<Proposal>) {
    let Some(audit) = known.audit else { return };
    let policy = known.policy;
    for recommender in &audit.recommenders {
        let harmful: Vec<&BandResult> = recommender
            .bands
            .iter()
            .filter(|b| harmful_without_guard(b) > 0.0)
            .collect();
        if harmful.is_empty() {
            continue;
        }
        let mut per_band = Vec::new();
        for band in policy.service.admitted_bands() {
            let audited = recommender.bands.iter().find(|b| b.band == band.as_str());
            let (rating, note) = match audited {
                Some(b) if served_with_guard(b) > 0 => (
                    Rating::new(Likelihood::Probable, Severity::Severe),
                    format!(
                        "the audit served {}'s personas (age {}) primary priority content even \
                         with the guard (up to {} items in a run): probable, severe",
                        b.band,
                        b.age,
                        served_with_guard(b)
                    ),
                ),
                Some(b) if harmful_without_guard(b) > 0.0 => (
                    Rating::new(Likelihood::Possible, Severity::Significant),
                    format!(
                        "without the guard up to {:.1}% of what {}'s personas (age {}) were shown \
                         was harmful; with it, no primary priority item: possible, significant",
                        harmful_without_guard(b) * 100.0,
                        b.band,
                        b.age
                    ),
                ),
                Some(b) => (
                    Rating::new(Likelihood::Remote, Severity::Significant),
                    format!(
                        "the audit showed {}'s personas no harmful item: remote, significant",
                        b.band
                    ),
                ),
                None => (
                    Rating::new(Likelihood::Remote, Severity::Significant),
                    format!(
                        "{} was not audited: remote, significant until it is",
                        band.as_str()
                    ),
                ),
            };
            per_band.push((band.as_str(), rating, note));
        }
        let bands: Vec<&str> = harmful.iter().map(|b| b.band).collect();
        out.push(Proposal {
            subject: format!("recommender:{}", recommender.name),
            title: format!(
                "the `{}` recommender serves harmful content to children aged {} when ward's \
                 guard is not in front of it",
                recommender.name,
                bands.join(", ")
            ),
            basis: "`ward audit` measured harmful items served without the guard".to_owned(),
            rating: Rating::new(Likelihood::Remote, Severity::Significant),
            measures: vec![format!(
                "ward's feed guard, measured by `ward audit` (results SHA-256 in the integrity \
                 block): {} primary priority and {} priority items served with it over every run",
                audit.verdicts.primary_priority_guarded, audit.verdicts.priority_guarded
            )],
            purpose: None,
            per_band,
        });
    }
}

fn audit_missing(known: &Known<'_>, out: &mut Vec<Proposal>) {
    if known.audit.is_some() {
        return;
    }
    let policy = known.policy;
    let recommending: Vec<&str> = policy
        .purposes
        .iter()
        .filter(|p| {
            matches!(
                p.category,
                Category::ContentRecommendation | Category::NewsFeed
            ) && can_reach_children(p)
        })
        .map(|p| p.id.as_str())
        .collect();
    if recommending.is_empty() {
        return;
    }
    out.push(Proposal {
        subject: "recommender".to_owned(),
        title: format!(
            "the measures on {} are untested: no audit of the recommender with and without \
             ward's guard was supplied",
            recommending
                .iter()
                .map(|id| format!("`{id}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        basis: "a recommendation purpose with no `ward audit` results: possible, significant"
            .to_owned(),
        rating: Rating::new(Likelihood::Possible, Severity::Significant),
        measures: vec![
            "run `ward audit --policy ward.toml` (or with the service's own recommender over \
             HTTP) and pass its results.json to `ward report --audit`"
                .to_owned(),
        ],
        purpose: None,
        per_band: Vec::new(),
    });
}

fn advertising(known: &Known<'_>, out: &mut Vec<Proposal>) {
    let policy = known.policy;
    for purpose in &policy.purposes {
        if purpose.category != Category::BehaviouralAdvertising || purpose.locked_for_children {
            continue;
        }
        let broken = purpose.default == Toggle::On
            || purpose.lawful_basis != LawfulBasis::Consent
            || purpose.core;
        let (rating, basis) = if broken {
            (
                Rating::new(Likelihood::Probable, Severity::Severe),
                "advertising on by default, on a basis other than consent, or declared core: \
                 probable, severe",
            )
        } else {
            (
                Rating::new(Likelihood::Possible, Severity::Significant),
                "advertising on consent, off by default: possible, significant",
            )
        };
        let mut p = proposal(
            purpose,
            format!(
                "`{}` targets adverts at a child from their profile (financial harm, autonomy)",
                purpose.id
            ),
            basis.to_owned(),
            rating,
        );
        p.measures.push(
            "the Global Privacy Control signal denies it (`gpc_opt_out`); every allow carries \
             `max_ad_age`, so ads must suit the child's age"
                .to_owned(),
        );
        p.measures.extend(switch_on_measures(policy, purpose));
        out.push(p);
    }
}

fn location(known: &Known<'_>, out: &mut Vec<Proposal>) {
    let policy = known.policy;
    if policy.defaults.geolocation_sharing == Toggle::On {
        out.push(Proposal {
            subject: "defaults".to_owned(),
            title: "every new child's location is shared from the start".to_owned(),
            basis: "location sharing on by default: probable, severe".to_owned(),
            rating: Rating::new(Likelihood::Probable, Severity::Severe),
            measures: vec![
                "ward turns location sharing back off at the end of every session (Standard 10)"
                    .to_owned(),
            ],
            purpose: None,
            per_band: Vec::new(),
        });
    }
    for purpose in &policy.purposes {
        if purpose.category != Category::Location || !can_reach_children(purpose) {
            continue;
        }
        let (rating, basis) = if purpose.default == Toggle::On {
            (
                Rating::new(Likelihood::Probable, Severity::Severe),
                "a child's location profiled by default: probable, severe",
            )
        } else {
            (
                Rating::new(Likelihood::Remote, Severity::Severe),
                "a child's location profiled only once switched on: remote, severe",
            )
        };
        let mut p = proposal(
            purpose,
            format!(
                "`{}` could let others track or find a child through their location",
                purpose.id
            ),
            basis.to_owned(),
            rating,
        );
        p.measures.push(
            "location sharing goes back off at the end of every session (Standard 10)".to_owned(),
        );
        p.measures.extend(switch_on_measures(policy, purpose));
        out.push(p);
    }
}

fn contact_suggestions(known: &Known<'_>, out: &mut Vec<Proposal>) {
    let policy = known.policy;
    for purpose in &policy.purposes {
        if purpose.category != Category::ContactSuggestions || !can_reach_children(purpose) {
            continue;
        }
        let filtered = purpose.has_safeguard(Safeguard::AdultContactFilter)
            && purpose.has_safeguard(Safeguard::UserReporting);
        let (rating, basis) = if !filtered || purpose.default == Toggle::On {
            (
                Rating::new(Likelihood::Probable, Severity::Severe),
                "strangers suggested to children without the adult contact filter and reporting, \
                 or by default: probable, severe",
            )
        } else {
            (
                Rating::new(Likelihood::Remote, Severity::Severe),
                "suggestions with unknown adults filtered out and a reporting route: remote, severe",
            )
        };
        let mut p = proposal(
            purpose,
            format!(
                "`{}` could put a child in contact with adults they do not know",
                purpose.id
            ),
            basis.to_owned(),
            rating,
        );
        p.measures.push(
            "every allow carries `adult_contact_filter`: the feed guard removes unknown adults \
             from a child's suggestions"
                .to_owned(),
        );
        p.measures.extend(switch_on_measures(policy, purpose));
        out.push(p);
    }
}

fn engagement(known: &Known<'_>, out: &mut Vec<Proposal>) {
    let policy = known.policy;
    for purpose in &policy.purposes {
        if purpose.category != Category::Engagement || !can_reach_children(purpose) {
            continue;
        }
        let (rating, basis) = if purpose.triggers.contains(&Trigger::Inactivity) {
            (
                Rating::new(Likelihood::Probable, Severity::Significant),
                "notifications that answer a child going quiet, to bring them back: probable, \
                 significant",
            )
        } else {
            (
                Rating::new(Likelihood::Possible, Severity::Minimal),
                "notifications on the child's own activity, not on inactivity: possible, minimal",
            )
        };
        let mut p = proposal(
            purpose,
            format!(
                "`{}` could extend a child's time on the service against their rest and wellbeing",
                purpose.id
            ),
            basis.to_owned(),
            rating,
        );
        p.measures.push(
            "every allow carries `no_inactivity_nudges`; the feed guard removes notifications \
             triggered by inactivity for every child and holds others back in quiet hours"
                .to_owned(),
        );
        p.measures.extend(switch_on_measures(policy, purpose));
        out.push(p);
    }
}

fn automated_decision(known: &Known<'_>, out: &mut Vec<Proposal>) {
    let policy = known.policy;
    for purpose in &policy.purposes {
        if !purpose.solely_automated_significant_decision {
            continue;
        }
        let mut p = proposal(
            purpose,
            format!(
                "`{}` makes a solely automated decision with a significant effect on a child",
                purpose.id
            ),
            "GDPR Art. 22 decision about children declared: probable, severe".to_owned(),
            Rating::new(Likelihood::Probable, Severity::Severe),
        );
        p.measures.push(
            "`decide` denies it for every child and unknown age (`automated_decision_child`)"
                .to_owned(),
        );
        out.push(p);
    }
}

fn public_profile(known: &Known<'_>, out: &mut Vec<Proposal>) {
    let policy = known.policy;
    if policy.defaults.profile_visibility == ProfileVisibility::Public {
        out.push(Proposal {
            subject: "defaults".to_owned(),
            title: "every new child's profile is visible to everyone".to_owned(),
            basis: "profiles public by default: probable, severe".to_owned(),
            rating: Rating::new(Likelihood::Probable, Severity::Severe),
            measures: Vec::new(),
            purpose: None,
            per_band: Vec::new(),
        });
    }
}

fn other_profiling(known: &Known<'_>, out: &mut Vec<Proposal>) {
    let policy = known.policy;
    for purpose in &policy.purposes {
        // On by default, it is already `on-by-default`'s risk.
        if !purpose.child_can_switch_on()
            || purpose.default == Toggle::On
            || matches!(
                purpose.category,
                Category::ContentRecommendation
                    | Category::NewsFeed
                    | Category::BehaviouralAdvertising
                    | Category::Location
                    | Category::ContactSuggestions
                    | Category::Engagement
            )
        {
            continue;
        }
        let mut p = proposal(
            purpose,
            format!(
                "`{}` ({}) builds a profile of a child who switches it on",
                purpose.id,
                purpose.category.as_str().replace('_', " ")
            ),
            "optional profiling of another kind: possible, minimal".to_owned(),
            Rating::new(Likelihood::Possible, Severity::Minimal),
        );
        p.measures.extend(switch_on_measures(policy, purpose));
        out.push(p);
    }
}

fn lint_findings(known: &Known<'_>, out: &mut Vec<Proposal>) {
    let policy = known.policy;
    // One risk per (rule, subject), in the order `ward check` reports them.
    let mut grouped: BTreeMap<(usize, &'static str, String), Vec<Finding>> = BTreeMap::new();
    let mut first_seen: BTreeMap<(&'static str, String), usize> = BTreeMap::new();
    for (idx, finding) in lint::check(policy).into_iter().enumerate() {
        let key = (finding.rule, finding.subject.to_string());
        let order = *first_seen.entry(key.clone()).or_insert(idx);
        grouped
            .entry((order, key.0, key.1))
            .or_default()
            .push(finding);
    }
    for ((_, rule, subject), findings) in grouped {
        let error = findings.iter().any(|f| f.severity == LintSeverity::Error);
        let rating = if error {
            Rating::new(Likelihood::Probable, Severity::Significant)
        } else {
            Rating::new(Likelihood::Possible, Severity::Significant)
        };
        let messages: Vec<&str> = findings.iter().map(|f| f.message.as_str()).collect();
        out.push(Proposal {
            subject: format!("{rule}:{subject}"),
            title: messages.join("; "),
            basis: format!(
                "`ward check` {} `{rule}` (\"{}\"): {}",
                if error { "error" } else { "warning" },
                findings.first().map_or("", |f| f.rests_on),
                if error {
                    "probable, significant"
                } else {
                    "possible, significant"
                }
            ),
            rating,
            measures: vec![if error {
                "`ward check` fails and `ward serve` refuses to run the policy while this stands"
                    .to_owned()
            } else {
                "`ward check --deny-warnings` fails while this stands".to_owned()
            }],
            purpose: None,
            per_band: Vec::new(),
        });
    }
}

/// The register ward proposes for `policy`: every rule, in table order, each risk rated for
/// every admitted band (youngest first), every decision still `proposed`.
pub fn propose(policy: &Policy, audit: Option<&AuditResult>) -> Vec<Risk> {
    let known = Known { policy, audit };
    let bands: Vec<AgeBand> = policy.service.admitted_bands().collect();
    let mut risks = Vec::new();
    for rule in PROPOSALS {
        let mut proposals = Vec::new();
        (rule.propose)(&known, &mut proposals);
        for proposal in proposals {
            let rights = if rule.id == "lint" {
                lint_rights(proposal.subject.split(':').next().unwrap_or(""))
            } else {
                rule.rights
            };
            let purpose = proposal
                .purpose
                .as_deref()
                .and_then(|id| policy.purpose(id));
            let band_risks = bands
                .iter()
                .map(|band| {
                    let own = proposal
                        .per_band
                        .iter()
                        .find(|(b, _, _)| *b == band.as_str());
                    let (rating, note) = match purpose {
                        _ if own.is_some() => {
                            own.map_or((proposal.rating, None), |(_, r, n)| (*r, Some(n.clone())))
                        }
                        Some(purpose) if rule.band_adjusted => {
                            band_adjust(policy, purpose, *band, proposal.rating)
                        }
                        _ => (proposal.rating, None),
                    };
                    BandRisk {
                        band: band.as_str(),
                        proposed: rating,
                        band_note: note,
                        decision: "proposed",
                        assessed: rating,
                        reason: None,
                        further_measures: None,
                        effect: None,
                        residual: None,
                        approved: None,
                    }
                })
                .collect();
            risks.push(Risk {
                id: format!("{}:{}", rule.id, proposal.subject),
                rule: rule.id,
                subject: proposal.subject,
                title: proposal.title,
                basis: proposal.basis,
                rights: rights.to_vec(),
                measures: proposal.measures,
                bands: band_risks,
            });
        }
    }
    risks
}

/// The parental-consent adjustment (see the module docs).
fn band_adjust(
    policy: &Policy,
    purpose: &Purpose,
    band: AgeBand,
    rating: Rating,
) -> (Rating, Option<String>) {
    let applies = purpose.lawful_basis == LawfulBasis::Consent
        && purpose.default == Toggle::Off
        && !policy.service.parental_consent_methods.is_empty()
        && band_needs_parent_everywhere(policy, band);
    if !applies || rating.likelihood == Likelihood::Remote {
        return (rating, None);
    }
    let lowered = Rating::new(rating.likelihood.lower(), rating.severity);
    (
        lowered,
        Some(format!(
            "every child aged {} is below the age of digital consent in every jurisdiction, so a \
             parent's verifiable consent comes first: likelihood {} rather than {}",
            band.as_str(),
            lowered.likelihood.as_str(),
            rating.likelihood.as_str()
        )),
    )
}
