//! The rule table: one entry per rule of `RULES.md`, in its order.
//!
//! Each check walks the policy and emits findings through the [`Sink`], which stamps them with
//! the rule's id, severity and quote. Checks judge one thing each, so several may fire on the
//! same purpose. Undeclared references are skipped by every rule but `unknown-reference`.

use std::collections::HashMap;

use super::{Related, Rule, Severity, Sink, Subject};
use crate::age::AgeBand;
use crate::policy::{
    Category, EditorialCode, LawfulBasis, Policy, ProfileVisibility, Purpose, Safeguard, Toggle,
    Trigger, UnknownTags,
};
use crate::signals::tcf::RestrictionType;

fn purpose_subject(purpose: &Purpose) -> Subject {
    Subject::Purpose(purpose.id.to_string())
}

/// Every rule `ward check` runs.
pub static RULES: &[Rule] = &[
    Rule {
        id: "shared-setting",
        severity: Severity::Error,
        summary: "two purposes name the same `setting`",
        rests_on: "not acceptable to bundle different types of profiling together under one privacy setting",
        source: "Standard 12, \"Differentiate between different types of profiling for different purposes\"",
        explanation: "Each type of profiling needs its own privacy setting, so a child can say yes to one \
and no to another. When two purposes share a setting, switching it on switches on both: that is the \
bundling the Code calls unacceptable. Give each purpose its own `setting` id.",
        check: shared_setting,
    },
    Rule {
        id: "mixed-purpose",
        severity: Severity::Error,
        summary: "one purpose mixes advertising and content TCF purposes, or a required purpose lists profiling TCF purposes",
        rests_on: "or to bundle in profiling with processing for other purposes",
        source: "Standard 12, \"Differentiate between different types of profiling for different purposes\"",
        explanation: "A purpose's IAB TCF ids show what its processing really is. Advertising ids (2, 3, 4, 7, 9) \
and content ids (5, 6, 8, 11) on one purpose mean two kinds of profiling behind one setting; ids 1 (store \
and access) and 10 (develop products) belong to neither and never count. A required purpose (no setting) \
that lists the profiling ids 3, 4, 5 or 6 bundles profiling into processing the child cannot refuse. \
Split the purpose in two, each with its own setting.",
        check: mixed_purpose,
    },
    Rule {
        id: "catch-all-purpose",
        severity: Severity::Error,
        summary: "a purpose's description is empty or says nothing specific",
        rests_on: "Catch-all purposes, such as 'providing a personalised service' are not specific enough",
        source: "Standard 12, \"Differentiate between different types of profiling for different purposes\"",
        explanation: "The description is what a child (and a regulator) reads to learn what the profiling does. \
ward counts the words left after removing punctuation and a list of filler words (\"we\", \"provide\", \
\"personalised\", \"experience\", \"content\", \"service\", …); fewer than four means it is a catch-all. \
Say what data is used and what it picks: \"Uses the videos you watch and like to choose the next videos \
we show you.\"",
        check: catch_all_purpose,
    },
    Rule {
        id: "default-on-without-reason",
        severity: Severity::Error,
        summary: "a purpose with a setting is on by default with no `compelling_reason`",
        rests_on: "switch any options … which rely on profiling off by default, unless … a compelling reason",
        source: "Standard 12, \"Ensure features that rely on profiling are switched off by default\"",
        explanation: "Profiling options start off. A service may switch one on by default only when it can \
demonstrate a compelling reason, taking account of the best interests of the child (the Code's example: \
profiling to keep a disabled child's subtitles or signing on). Set `default = \"off\"`, or write the \
reason in `compelling_reason`.",
        check: default_on_without_reason,
    },
    Rule {
        id: "advertising-on-by-default",
        severity: Severity::Error,
        summary: "behavioural advertising is on by default",
        rests_on: "allowing such profiling 'by default' is not an option",
        source: "Standard 12, \"Ensure features that rely on profiling are switched off by default\"",
        explanation: "Behavioural advertising rests on consent, and valid consent is opt-in, so it can never start \
on, whatever the reason given. Set `default = \"off\"`.",
        check: advertising_on_by_default,
    },
    Rule {
        id: "advertising-without-consent",
        severity: Severity::Error,
        summary: "behavioural advertising whose lawful basis is not consent",
        rests_on: "consent is your only viable basis",
        source: "Standard 12, \"Ensure features that rely on profiling are switched off by default\" (citing the EDPB)",
        explanation: "The EDPB considers legitimate interests unlikely to be a valid basis for behavioural \
advertising, which leaves consent as the only viable one (with a parent's consent below the age of \
digital consent). Set `lawful_basis = \"consent\"`.",
        check: advertising_without_consent,
    },
    Rule {
        id: "advertising-as-core",
        severity: Severity::Warning,
        summary: "behavioural advertising is declared core",
        rests_on: "we think these will be exceptional",
        source: "Standard 12, \"Should all profiling be controlled by a privacy setting?\"",
        explanation: "Advertising is core only in exceptional services (the Code's example: a voucher or \
money-off service). ward keeps a setting and consent for behavioural advertising even when it is marked \
core; this warning asks you to make sure the justification would convince a regulator.",
        check: advertising_as_core,
    },
    Rule {
        id: "core-without-justification",
        severity: Severity::Error,
        summary: "a purpose marked `core = true` has no `core_justification`",
        rests_on: "This concept should be interpreted narrowly",
        source: "Standard 12, \"Should all profiling be controlled by a privacy setting?\"",
        explanation: "A core purpose gets no privacy setting, because without it there would be no service \
left. That must be completely intrinsic to the service, and you must be able to say why. Write it in \
`core_justification`, or set `core = false` and give the purpose a setting.",
        check: core_without_justification,
    },
    Rule {
        id: "missing-setting",
        severity: Severity::Error,
        summary: "a purpose that is not required has no `setting` and is not locked for children",
        rests_on: "most profiling should be subject to a privacy setting",
        source: "Standard 12, \"Should all profiling be controlled by a privacy setting?\"",
        explanation: "Whenever profiling is not essential to the core service, the child controls it through a \
privacy setting; for behavioural advertising the Code says to \"always provide a privacy setting\". Add \
`setting = \"<id>\"`, or set `locked_for_children = true` if children must never have it.",
        check: missing_setting,
    },
    Rule {
        id: "setting-on-required-purpose",
        severity: Severity::Warning,
        summary: "a required purpose declares a `setting`",
        rests_on: "There is no point in offering a privacy setting if the profiling is essential",
        source: "Standard 12, \"Should all profiling be controlled by a privacy setting?\"",
        explanation: "Required purposes (core, legal obligation, safeguarding, age assurance) run whatever the \
child chooses, so a toggle for them would mislead: it \"won't be appropriate\". Remove the `setting`, or, \
if the child really can refuse it, it is not required: change its category or `core`.",
        check: setting_on_required_purpose,
    },
    Rule {
        id: "recommendation-without-safeguards",
        severity: Severity::Error,
        summary: "a recommendation, news or contact-suggestion purpose lacks the safeguards the Code expects",
        rests_on: "Such measures could include contextual tagging, robust reporting procedures, and elements of human moderation",
        source: "Standard 12, \"If profiling is on ensure that you put appropriate measures in place to safeguard the child\"",
        explanation: "Profiling a child to recommend content makes you responsible for what you serve, \"taking \
into account their age\". A `content_recommendation` purpose (or a `news_feed` one without an editorial \
code) needs a screening measure (`harm_tag_filter`, `contextual_tagging`, `human_moderation` or \
`editorial_control`), an age measure (`age_rating_filter`, `contextual_tagging` or `editorial_control`) \
and a reporting route (`user_reporting` or `editorial_control`). A `contact_suggestions` purpose needs \
`adult_contact_filter` and `user_reporting`. If you cannot put them in place, lock the purpose for \
children (`locked_for_children = true`).",
        check: recommendation_without_safeguards,
    },
    Rule {
        id: "news-on-without-editorial-code",
        severity: Severity::Error,
        summary: "a news feed is on by default without an editorial code and editorial control",
        rests_on: "conform with existing regulatory codes of practice … and have editorial control over the content",
        source: "Standard 12, \"Ensure features that rely on profiling are switched off by default\"",
        explanation: "Profiling for news may be on by default, to respect children's right to information, only \
when the service follows a regulatory code (`editorial_code = \"editors_code\"` or \
`\"ofcom_broadcasting_code\"`) and has editorial control (`editorial_control` in `safeguards`). \
Otherwise set `default = \"off\"`.",
        check: news_on_without_editorial_code,
    },
    Rule {
        id: "protective-data-reused",
        severity: Severity::Error,
        summary: "a commercial purpose reads data collected for age assurance or safeguarding",
        rests_on: "you can't use personal data collected for one purpose for another",
        source: "Standard 12, \"How does this fit with other rules on restricting access to content for children?\" (AVMSD, purpose limitation)",
        explanation: "Data collected to protect children (age assurance, safeguarding) may not be reused for \
commercial purposes such as advertising, recommendations or analytics. Collect what the commercial \
purpose needs separately, with its own `[[data]]` entry and consent.",
        check: protective_data_reused,
    },
    Rule {
        id: "age-assurance-cookie-reused",
        severity: Severity::Warning,
        summary: "a cookie that serves age assurance also serves another purpose",
        rests_on: "Provided that the cookie in question is solely used for this purpose, and not for any other purpose, then the child does not need to consent",
        source: "Standard 12, \"Cookies, profiling, and age estimation or age assurance\"",
        explanation: "An age-assurance cookie is exempt from consent only while it serves age assurance alone. \
Used for anything else it needs consent; marked `essential = true` it would be set without that consent \
(an error). Use a separate cookie for the other purpose.",
        check: age_assurance_cookie_reused,
    },
    Rule {
        id: "cookie-needs-consent",
        severity: Severity::Warning,
        summary: "a non-essential cookie serves a purpose that is on by default or required",
        rests_on: "you still need consent to set the cookies that support the profiling",
        source: "Standard 12, \"Ensure features that rely on profiling are switched off by default\" (PECR)",
        explanation: "PECR needs consent for every non-essential cookie, even when the profiling it supports is \
on by default or required. Make sure the cookie is set only after consent, or, if it is strictly \
necessary for the core service, mark it `essential = true`.",
        check: cookie_needs_consent,
    },
    Rule {
        id: "missing-explanation",
        severity: Severity::Error,
        summary: "a purpose a child can switch on has no `explain` text for an admitted age band",
        rests_on: "provide age appropriate information about what will happen to the child's personal data",
        source: "Standard 12, \"Provide appropriate interventions at the point at which any profiling is activated\"",
        explanation: "At the moment a child switches profiling on, ward shows them what will happen to their data \
and the risks, in words for their age. Write `explain` for every band the service admits (every band \
overlapping `[min_age, 17]`): `explain.\"10-12\" = \"…\"`.",
        check: missing_explanation,
    },
    Rule {
        id: "missing-ask-adult",
        severity: Severity::Error,
        summary: "a purpose a child can switch on has no `ask_adult` prompt for an admitted age band",
        rests_on: "prompts to seek assistance from an adult and not to activate the profiling if they are uncertain",
        source: "Standard 12, \"Provide appropriate interventions at the point at which any profiling is activated\"",
        explanation: "Beside the explanation, a child switching profiling on sees a prompt to ask an adult and \
to leave it off if unsure. Write `ask_adult` once for every band, or as a table keyed by band.",
        check: missing_ask_adult,
    },
    Rule {
        id: "inactivity-nudge",
        severity: Severity::Error,
        summary: "an engagement purpose fires on inactivity",
        rests_on: "strategies used to extend user engagement, such as timed notifications that respond to inactivity",
        source: "Standard 12, content or behaviours that may be detrimental to children's health and wellbeing",
        explanation: "Notifications that respond to a child's inactivity are named by the Code as detrimental. \
Remove `\"inactivity\"` from `triggers` (ward's feed guard also removes such notifications for children).",
        check: inactivity_nudge,
    },
    Rule {
        id: "automated-significant-decision",
        severity: Severity::Error,
        summary: "a solely automated decision with significant effect is not locked for children",
        rests_on: "such decisions 'should not concern a child'",
        source: "Standard 12, \"Why is it important?\" (GDPR Art. 22, Recital 71)",
        explanation: "Decisions based solely on automated processing with legal or similarly significant effects \
should not concern a child. Set `locked_for_children = true`, or add human involvement so that it is no \
longer solely automated.",
        check: automated_significant_decision,
    },
    Rule {
        id: "geolocation-on-by-default",
        severity: Severity::Error,
        summary: "geolocation sharing, or a location purpose, is on by default",
        rests_on: "Ensuring kids' profiles are private by default – with geolocation settings turned off",
        source: "ICO Children's Code strategy 2024-25 priorities (reported April 2024)",
        explanation: "The ICO's 2024-25 priorities expect children's geolocation to be off by default. Set \
`geolocation_sharing = \"off\"` in `[defaults]` and `default = \"off\"` on every `location` purpose.",
        check: geolocation_on_by_default,
    },
    Rule {
        id: "public-profile-by-default",
        severity: Severity::Error,
        summary: "children's profiles are public by default",
        rests_on: "Ensuring kids' profiles are private by default",
        source: "ICO Children's Code strategy 2024-25 priorities (reported April 2024)",
        explanation: "The ICO's 2024-25 priorities expect a child's profile to start private. Set \
`profile_visibility = \"private\"` in `[defaults]`.",
        check: public_profile_by_default,
    },
    Rule {
        id: "no-parental-consent-method",
        severity: Severity::Error,
        summary: "children below the age of digital consent can switch on consent purposes, but no parental consent method is declared",
        rests_on: "You also need to comply with the Article 8 GDPR requirements for parental consent if the child is under the age of 13",
        source: "Standard 12 and GDPR Art. 8; ICO Children's Code strategy 2024-25: parental consent under 13",
        explanation: "Below the age of digital consent (13 in the UK, up to 16 in some EU states) consent must \
come from a parent, obtained in a verifiable way. The service admits children that young and lets them \
switch on consent-based purposes, so list how you obtain parental consent in \
`parental_consent_methods` (for example `[\"email_plus\"]`).",
        check: no_parental_consent_method,
    },
    Rule {
        id: "locked-but-on",
        severity: Severity::Error,
        summary: "a purpose locked for children is on by default",
        rests_on: "make sure that children cannot change any privacy settings which allow this type of profiling",
        source: "Standard 12, \"If profiling is on ensure that you put appropriate measures in place\"",
        explanation: "`locked_for_children = true` says children must never have this profiling, yet \
`default = \"on\"` would give it to every new child. Set `default = \"off\"`.",
        check: locked_but_on,
    },
    Rule {
        id: "unknown-reference",
        severity: Severity::Error,
        summary: "a purpose names undeclared data, or a cookie or data item names an undeclared purpose",
        rests_on: "be clear about the purposes for which your service uses personal data",
        source: "Standard 12, \"Differentiate between different types of profiling for different purposes\"",
        explanation: "Every id a purpose, cookie or data item refers to must be declared, or ward cannot tell \
what the data is used for. Declare the missing `[[data]]` or `[[purpose]]`, or fix the spelling.",
        check: unknown_reference,
    },
    Rule {
        id: "unknown-tags-kept",
        severity: Severity::Warning,
        summary: "`[feed] unknown_tags = \"keep\"` lets items with tags or ad categories ward does not know reach children",
        rests_on: "Where evidence is inconclusive you should apply the same precautionary principle",
        source: "Standard 12, \"If profiling is on ensure that you put appropriate measures in place to safeguard the child\"",
        explanation: "ward's feed guard knows the harm tags, the CAP Code's restricted ad categories and the \
words a policy declares harmless. A tag or ad category it does not know may be a harm spelt another \
way (`selfharm`, `pro-ana`, `beer`), so by default it makes the item unassessed and the precautionary \
rule removes it for children, naming the word. `unknown_tags = \"keep\"` only names the word in the \
notes: content nobody can vouch for reaches children. Declare the service's own harmless words in \
`[feed] harmless_tags` and `harmless_ad_categories` instead, and remove `unknown_tags = \"keep\"` \
(or set it to `\"remove\"`).",
        check: unknown_tags_kept,
    },
    Rule {
        id: "tcf-legitimate-interest-profiling",
        severity: Severity::Error,
        summary: "a TCF vendor, or a purpose a child can switch on, relies on legitimate interest for a profiling TCF purpose (2 to 6)",
        rests_on: "'legitimate interests' is unlikely to provide a valid lawful basis for processing for this purpose which means that consent is your only viable basis for processing",
        source: "Standard 12, \"Ensure features that rely on profiling are switched off by default\" (citing the EDPB); TCF v2.2 Policies",
        explanation: "TCF purposes 2 to 6 select advertising and build or use personalised ad and content \
profiles. For behavioural advertising the EDPB leaves consent as the only viable basis, and TCF v2.2 no \
longer allows legitimate interest for purposes 3 to 6 at all. ward never writes a legitimate-interest \
bit for purposes 2 to 6 in a child's signals, so a vendor that declares them under \
`legitimate_interest` must be told to ask consent instead: a `[[tcf.restriction]]` of type \
`require_consent` (the TCF's own way for a publisher to override a flexible vendor) for each such \
purpose and vendor, or `not_allowed`. A purpose a child can switch on that rests on legitimate \
interest for these ids has the same problem: give it `lawful_basis = \"consent\"`.",
        check: tcf_legitimate_interest_profiling,
    },
    Rule {
        id: "tcf-undeclared-ads",
        severity: Severity::Error,
        summary: "a purpose a child can switch on, not declared as behavioural advertising, maps to advertising TCF purposes",
        rests_on: "it is particularly important to be clear about the purposes for which your service uses personal data to profile its users, and to differentiate between them",
        source: "Standard 12, \"Differentiate between different types of profiling for different purposes\"",
        explanation: "A purpose's `tcf_purposes` are what its setting turns on in the TC string every ad \
vendor reads. When a child (or their parent) switches on a purpose declared as something else, say \
\"videos picked for you\", and it maps to advertising ids (2, 3, 4, 7, 9), the string tells the ad \
stack the child agreed to advertising they were never told about. Declare the advertising as its own \
`behavioural_advertising` purpose with its own setting, and keep the advertising ids on that purpose.",
        check: tcf_undeclared_ads,
    },
    Rule {
        id: "reporting-without-support",
        severity: Severity::Warning,
        summary: "a purpose declares `user_reporting` but the policy has no `[support]`, or no `report_sla_hours`",
        rests_on: "Such measures could include contextual tagging, robust reporting procedures, and elements of human moderation",
        source: "Standard 12, \"If profiling is on ensure that you put appropriate measures in place to safeguard the child\"",
        explanation: "Declaring `user_reporting` says a child can report what they are shown and someone will \
look. ward makes that real: a report hides the item, alerts the service's moderators (a signed \
`report_received` webhook) and tells the child what happened. For that the policy must say who a child can \
talk to and which helpline to name (`[support]`: `talk_to`, `helpline`, `helpline_contact`; shown at once \
after a self-harm or suicide report), and how fast the service answers (`report_sla_hours`; an overdue \
report raises an alert). Without them ward falls back to generic words and 24 hours, and the safeguard is \
taken on trust.",
        check: reporting_without_support,
    },
];

const ADS_TCF_IDS: [u8; 5] = [2, 3, 4, 7, 9];
const CONTENT_TCF_IDS: [u8; 4] = [5, 6, 8, 11];
const PROFILING_TCF_IDS: [u8; 4] = [3, 4, 5, 6];
/// The TCF purposes ward never signals by legitimate interest for a child.
const NO_CHILD_LI_TCF_IDS: [u8; 5] = [2, 3, 4, 5, 6];

/// Words that say nothing specific about a purpose (`catch-all-purpose`).
const CATCH_ALL_WORDS: &[&str] = &[
    "a",
    "an",
    "the",
    "to",
    "for",
    "of",
    "and",
    "or",
    "in",
    "on",
    "with",
    "by",
    "we",
    "us",
    "our",
    "you",
    "your",
    "it",
    "its",
    "this",
    "that",
    "is",
    "are",
    "be",
    "will",
    "can",
    "may",
    "provide",
    "providing",
    "offer",
    "offering",
    "give",
    "giving",
    "deliver",
    "make",
    "better",
    "improve",
    "improving",
    "improved",
    "enhance",
    "enhancing",
    "experience",
    "experiences",
    "service",
    "services",
    "personalise",
    "personalised",
    "personalize",
    "personalized",
    "personalisation",
    "personalization",
    "personal",
    "tailored",
    "relevant",
    "content",
    "features",
    "product",
    "products",
];

/// Fewer specific words than this makes a description a catch-all.
const MIN_SPECIFIC_WORDS: usize = 4;

/// The specific words of a description: lowercased, punctuation removed, catch-all words dropped.
pub(crate) fn specific_words(description: &str) -> Vec<String> {
    let cleaned: String = description
        .to_lowercase()
        .chars()
        .filter(|c| c.is_alphanumeric() || c.is_whitespace())
        .collect();
    cleaned
        .split_whitespace()
        .filter(|word| !CATCH_ALL_WORDS.contains(word))
        .map(str::to_owned)
        .collect()
}

fn shared_setting(policy: &Policy, sink: &mut Sink<'_>) {
    let mut first_by_setting: HashMap<&str, &Purpose> = HashMap::new();
    for purpose in &policy.purposes {
        let Some(setting) = &purpose.setting else {
            continue;
        };
        match first_by_setting.get(setting.as_str()) {
            Some(earlier) => {
                sink.emit(
                    purpose_subject(purpose),
                    purpose.spans.setting,
                    format!(
                        "setting `{setting}` is already the toggle for purpose `{}`: give `{}` its own setting so a child can choose each one",
                        earlier.id, purpose.id
                    ),
                )
                .related = Some(Related {
                    span: earlier.spans.setting,
                    label: format!("`{setting}` first used by purpose `{}` here", earlier.id),
                });
            }
            None => {
                first_by_setting.insert(setting.as_str(), purpose);
            }
        }
    }
}

fn mixed_purpose(policy: &Policy, sink: &mut Sink<'_>) {
    for purpose in &policy.purposes {
        let ids = &purpose.tcf_purposes;
        let ads: Vec<u8> = ids
            .iter()
            .copied()
            .filter(|id| ADS_TCF_IDS.contains(id))
            .collect();
        let content: Vec<u8> = ids
            .iter()
            .copied()
            .filter(|id| CONTENT_TCF_IDS.contains(id))
            .collect();
        if !ads.is_empty() && !content.is_empty() {
            sink.emit(
                purpose_subject(purpose),
                purpose.spans.tcf_purposes,
                format!(
                    "`tcf_purposes` mix advertising ids {ads:?} with content ids {content:?}: split `{}` into an advertising purpose and a content purpose, each with its own setting",
                    purpose.id
                ),
            );
        }
        let profiling: Vec<u8> = ids
            .iter()
            .copied()
            .filter(|id| PROFILING_TCF_IDS.contains(id))
            .collect();
        if purpose.is_required() && !profiling.is_empty() {
            sink.emit(
                purpose_subject(purpose),
                purpose.spans.tcf_purposes,
                format!(
                    "required purpose `{}` lists profiling TCF ids {profiling:?}: move that profiling to a separate purpose with its own setting",
                    purpose.id
                ),
            );
        }
    }
}

fn catch_all_purpose(policy: &Policy, sink: &mut Sink<'_>) {
    for purpose in &policy.purposes {
        let n_specific = specific_words(&purpose.description).len();
        if purpose.description.trim().is_empty() || n_specific < MIN_SPECIFIC_WORDS {
            sink.emit(
                purpose_subject(purpose),
                purpose.spans.description,
                format!(
                    "the description of `{}` is too general ({n_specific} specific word{}): say what data it uses and what it picks or decides, like \"Uses the videos you watch to choose the next videos we show you\"",
                    purpose.id,
                    if n_specific == 1 { "" } else { "s" }
                ),
            );
        }
    }
}

fn default_on_without_reason(policy: &Policy, sink: &mut Sink<'_>) {
    for purpose in &policy.purposes {
        if purpose.setting.is_some()
            && purpose.default == Toggle::On
            && purpose.compelling_reason.trim().is_empty()
        {
            sink.emit(
                purpose_subject(purpose),
                purpose.spans.default,
                format!(
                    "`{}` is on by default with no `compelling_reason`: set `default = \"off\"`, or write the compelling reason, in the child's best interests, for it to start on",
                    purpose.id
                ),
            );
        }
    }
}

fn advertising_on_by_default(policy: &Policy, sink: &mut Sink<'_>) {
    for purpose in &policy.purposes {
        if purpose.category == Category::BehaviouralAdvertising && purpose.default == Toggle::On {
            sink.emit(
                purpose_subject(purpose),
                purpose.spans.default,
                format!("behavioural advertising `{}` must start off whatever the reason: set `default = \"off\"`", purpose.id),
            );
        }
    }
}

fn advertising_without_consent(policy: &Policy, sink: &mut Sink<'_>) {
    for purpose in &policy.purposes {
        if purpose.category == Category::BehaviouralAdvertising
            && purpose.lawful_basis != LawfulBasis::Consent
        {
            sink.emit(
                purpose_subject(purpose),
                purpose.spans.lawful_basis,
                format!(
                    "behavioural advertising `{}` rests on `{}`: set `lawful_basis = \"consent\"`, the only viable basis",
                    purpose.id, purpose.lawful_basis
                ),
            );
        }
    }
}

fn advertising_as_core(policy: &Policy, sink: &mut Sink<'_>) {
    for purpose in &policy.purposes {
        if purpose.category == Category::BehaviouralAdvertising
            && purpose.core
            && !purpose.core_justification.trim().is_empty()
        {
            sink.emit(
                purpose_subject(purpose),
                purpose.span_or_table(purpose.spans.core),
                format!(
                    "behavioural advertising `{}` is declared core, which the Code expects to be exceptional: check the justification holds; ward still keeps its setting and consent",
                    purpose.id
                ),
            );
        }
    }
}

fn core_without_justification(policy: &Policy, sink: &mut Sink<'_>) {
    for purpose in &policy.purposes {
        if purpose.core && purpose.core_justification.trim().is_empty() {
            sink.emit(
                purpose_subject(purpose),
                purpose.span_or_table(purpose.spans.core),
                format!(
                    "`{}` is marked core with no `core_justification`: say why there would be no service left without it, or set `core = false`",
                    purpose.id
                ),
            );
        }
    }
}

fn missing_setting(policy: &Policy, sink: &mut Sink<'_>) {
    for purpose in &policy.purposes {
        if !purpose.is_required() && purpose.setting.is_none() && !purpose.locked_for_children {
            let advice = if purpose.category == Category::BehaviouralAdvertising {
                "always provide a privacy setting for behavioural advertising: add `setting = \"<id>\"`"
            } else {
                "add `setting = \"<id>\"` so the child controls it, or `locked_for_children = true` if children must never have it"
            };
            sink.emit(
                purpose_subject(purpose),
                purpose.spans.table,
                format!(
                    "`{}` is not required and has no setting: {advice}",
                    purpose.id
                ),
            );
        }
    }
}

fn setting_on_required_purpose(policy: &Policy, sink: &mut Sink<'_>) {
    for purpose in &policy.purposes {
        if purpose.is_required() && purpose.setting.is_some() {
            sink.emit(
                purpose_subject(purpose),
                purpose.spans.setting,
                format!(
                    "`{}` is required ({}), so its setting would change nothing: remove `setting`, or make the purpose optional",
                    purpose.id,
                    if purpose.core { "core".to_owned() } else { format!("category `{}`", purpose.category) }
                ),
            );
        }
    }
}

fn recommendation_without_safeguards(policy: &Policy, sink: &mut Sink<'_>) {
    use Safeguard::*;
    for purpose in policy.purposes.iter().filter(|p| !p.locked_for_children) {
        let has_any = |options: &[Safeguard]| options.iter().any(|s| purpose.has_safeguard(*s));
        let mut missing: Vec<&str> = Vec::new();
        let recommends = purpose.category == Category::ContentRecommendation
            || (purpose.category == Category::NewsFeed
                && policy.service.editorial_code == EditorialCode::None);
        if recommends {
            if !has_any(&[
                HarmTagFilter,
                ContextualTagging,
                HumanModeration,
                EditorialControl,
            ]) {
                missing.push("a screening measure (`harm_tag_filter`, `contextual_tagging`, `human_moderation` or `editorial_control`)");
            }
            if !has_any(&[AgeRatingFilter, ContextualTagging, EditorialControl]) {
                missing.push("an age measure (`age_rating_filter`, `contextual_tagging` or `editorial_control`)");
            }
            if !has_any(&[UserReporting, EditorialControl]) {
                missing.push("a reporting route (`user_reporting` or `editorial_control`)");
            }
        } else if purpose.category == Category::ContactSuggestions {
            if !purpose.has_safeguard(AdultContactFilter) {
                missing.push("`adult_contact_filter`");
            }
            if !purpose.has_safeguard(UserReporting) {
                missing.push("`user_reporting`");
            }
        }
        if !missing.is_empty() {
            sink.emit(
                purpose_subject(purpose),
                purpose.span_or_table(purpose.spans.safeguards),
                format!(
                    "`{}` profiles children to pick what they see but lacks {}: add them to `safeguards`, or set `locked_for_children = true`",
                    purpose.id,
                    missing.join(", ")
                ),
            );
        }
    }
}

fn news_on_without_editorial_code(policy: &Policy, sink: &mut Sink<'_>) {
    for purpose in &policy.purposes {
        if purpose.category == Category::NewsFeed
            && purpose.default == Toggle::On
            && (policy.service.editorial_code == EditorialCode::None
                || !purpose.has_safeguard(Safeguard::EditorialControl))
        {
            sink.emit(
                purpose_subject(purpose),
                purpose.span_or_table(purpose.spans.default),
                format!(
                    "news feed `{}` is on by default without {}: set `default = \"off\"`, or follow a regulatory code with editorial control",
                    purpose.id,
                    if policy.service.editorial_code == EditorialCode::None {
                        "an `editorial_code` in `[service]`"
                    } else {
                        "`editorial_control` in its `safeguards`"
                    }
                ),
            );
        }
    }
}

fn protective_data_reused(policy: &Policy, sink: &mut Sink<'_>) {
    for purpose in policy
        .purposes
        .iter()
        .filter(|p| p.category.is_commercial())
    {
        for (data_id, span) in purpose.data.iter().zip(&purpose.spans.data) {
            let Some(item) = policy.data_item(data_id.as_str()) else {
                continue;
            };
            let Some(collector) = policy.purpose(&item.collected_for) else {
                continue;
            };
            if collector.category.is_protective() {
                sink.emit(
                    purpose_subject(purpose),
                    *span,
                    format!(
                        "`{}` ({}) reads `{data_id}`, collected for `{}` ({}): data collected to protect children cannot be reused commercially; collect what `{}` needs separately",
                        purpose.id, purpose.category, collector.id, collector.category, purpose.id
                    ),
                );
            }
        }
    }
}

fn age_assurance_cookie_reused(policy: &Policy, sink: &mut Sink<'_>) {
    for cookie in &policy.cookies {
        let served: Vec<&Purpose> = cookie
            .purposes
            .iter()
            .filter_map(|id| policy.purpose(id))
            .collect();
        let Some(age_purpose) = served.iter().find(|p| p.category == Category::AgeAssurance) else {
            continue;
        };
        let others: Vec<String> = served
            .iter()
            .filter(|p| p.category != Category::AgeAssurance)
            .map(|p| format!("`{}`", p.id))
            .collect();
        if others.is_empty() {
            continue;
        }
        let finding = sink.emit(
            Subject::Cookie(cookie.name.clone()),
            cookie.span,
            format!(
                "cookie `{}` serves age assurance (`{}`) and also {}: it loses the consent exemption; {}",
                cookie.name,
                age_purpose.id,
                others.join(", "),
                if cookie.essential {
                    "as `essential = true` it would be set without the consent it now needs: use a separate cookie for the other purposes"
                } else {
                    "use a separate cookie for the other purposes"
                }
            ),
        );
        if cookie.essential {
            finding.severity = Severity::Error;
        }
    }
}

fn cookie_needs_consent(policy: &Policy, sink: &mut Sink<'_>) {
    for cookie in policy.cookies.iter().filter(|c| !c.essential) {
        let needing: Vec<String> = cookie
            .purposes
            .iter()
            .filter_map(|id| policy.purpose(id))
            .filter(|p| p.default == Toggle::On || p.is_required())
            .map(|p| format!("`{}`", p.id))
            .collect();
        if !needing.is_empty() {
            sink.emit(
                Subject::Cookie(cookie.name.clone()),
                cookie.essential_span,
                format!(
                    "non-essential cookie `{}` serves {}, on by default or required: set it only after consent (PECR), or mark it `essential = true` if it is strictly necessary",
                    cookie.name,
                    needing.join(", ")
                ),
            );
        }
    }
}

fn missing_band_texts(
    policy: &Policy,
    sink: &mut Sink<'_>,
    key: &str,
    texts: impl Fn(&Purpose) -> (&crate::policy::BandTexts, crate::span::Span),
) {
    for purpose in policy.purposes.iter().filter(|p| p.child_can_switch_on()) {
        let (band_texts, span) = texts(purpose);
        let missing: Vec<AgeBand> = policy
            .service
            .admitted_bands()
            .filter(|band| band_texts.for_band(*band).is_none())
            .collect();
        if missing.is_empty() {
            continue;
        }
        let bands = missing
            .iter()
            .map(|b| format!("`{b}`"))
            .collect::<Vec<_>>()
            .join(", ");
        sink.emit(
            purpose_subject(purpose),
            purpose.span_or_table(span),
            format!(
                "`{}` can be switched on by children but has no `{key}` text for age band{} {bands}: write one for every band the service admits (min_age = {})",
                purpose.id,
                if missing.len() == 1 { "" } else { "s" },
                policy.service.min_age
            ),
        );
    }
}

fn missing_explanation(policy: &Policy, sink: &mut Sink<'_>) {
    missing_band_texts(policy, sink, "explain", |p| (&p.explain, p.spans.explain));
}

fn missing_ask_adult(policy: &Policy, sink: &mut Sink<'_>) {
    missing_band_texts(policy, sink, "ask_adult", |p| {
        (&p.ask_adult, p.spans.ask_adult)
    });
}

fn inactivity_nudge(policy: &Policy, sink: &mut Sink<'_>) {
    for purpose in &policy.purposes {
        if purpose.category == Category::Engagement
            && purpose.triggers.contains(&Trigger::Inactivity)
        {
            sink.emit(
                purpose_subject(purpose),
                purpose.spans.triggers,
                format!("`{}` sends nudges when a child is inactive: remove `\"inactivity\"` from `triggers`", purpose.id),
            );
        }
    }
}

fn automated_significant_decision(policy: &Policy, sink: &mut Sink<'_>) {
    for purpose in &policy.purposes {
        if purpose.solely_automated_significant_decision && !purpose.locked_for_children {
            sink.emit(
                purpose_subject(purpose),
                purpose.spans.solely_automated_significant_decision,
                format!(
                    "`{}` makes solely automated decisions with significant effects: set `locked_for_children = true`, or add meaningful human review",
                    purpose.id
                ),
            );
        }
    }
}

fn geolocation_on_by_default(policy: &Policy, sink: &mut Sink<'_>) {
    if policy.defaults.geolocation_sharing == Toggle::On {
        sink.emit(
            Subject::Defaults,
            policy.defaults.spans.geolocation_sharing,
            "geolocation sharing is on for new accounts: set `geolocation_sharing = \"off\"`"
                .to_owned(),
        );
    }
    for purpose in &policy.purposes {
        if purpose.category == Category::Location && purpose.default == Toggle::On {
            sink.emit(
                purpose_subject(purpose),
                purpose.span_or_table(purpose.spans.default),
                format!(
                    "location purpose `{}` is on by default: set `default = \"off\"`",
                    purpose.id
                ),
            );
        }
    }
}

fn public_profile_by_default(policy: &Policy, sink: &mut Sink<'_>) {
    if policy.defaults.profile_visibility == ProfileVisibility::Public {
        sink.emit(
            Subject::Defaults,
            policy.defaults.spans.profile_visibility,
            "new children's profiles are public: set `profile_visibility = \"private\"`".to_owned(),
        );
    }
}

fn no_parental_consent_method(policy: &Policy, sink: &mut Sink<'_>) {
    let service = &policy.service;
    if !service.parental_consent_methods.is_empty()
        || service.min_age >= service.highest_consent_age()
    {
        return;
    }
    let needing: Vec<String> = policy
        .purposes
        .iter()
        .filter(|p| p.lawful_basis == LawfulBasis::Consent && p.child_can_switch_on())
        .map(|p| format!("`{}`", p.id))
        .collect();
    if needing.is_empty() {
        return;
    }
    let span = if service.spans.parental_consent_methods.is_empty() {
        service.spans.min_age
    } else {
        service.spans.parental_consent_methods
    };
    sink.emit(
        Subject::Service,
        span,
        format!(
            "children from age {} can switch on {}, which need a parent's consent below {}: list how you obtain it in `parental_consent_methods`, like [\"email_plus\"]",
            service.min_age,
            needing.join(", "),
            service.highest_consent_age()
        ),
    );
}

fn locked_but_on(policy: &Policy, sink: &mut Sink<'_>) {
    for purpose in &policy.purposes {
        if purpose.locked_for_children && purpose.default == Toggle::On {
            sink.emit(
                purpose_subject(purpose),
                purpose.span_or_table(purpose.spans.default),
                format!(
                    "`{}` is locked for children but on by default: set `default = \"off\"`",
                    purpose.id
                ),
            );
        }
    }
}

fn unknown_reference(policy: &Policy, sink: &mut Sink<'_>) {
    for purpose in &policy.purposes {
        for (data_id, span) in purpose.data.iter().zip(&purpose.spans.data) {
            if policy.data_item(data_id.as_str()).is_none() {
                sink.emit(
                    purpose_subject(purpose),
                    *span,
                    format!("`{}` reads `{data_id}`, which no `[[data]]` declares: declare it, or fix the id", purpose.id),
                );
            }
        }
    }
    for cookie in &policy.cookies {
        for (purpose_id, span) in cookie.purposes.iter().zip(&cookie.purpose_spans) {
            if policy.purpose(purpose_id).is_none() {
                sink.emit(
                    Subject::Cookie(cookie.name.clone()),
                    *span,
                    format!("cookie `{}` serves `{purpose_id}`, which no `[[purpose]]` declares: declare it, or fix the id", cookie.name),
                );
            }
        }
    }
    for item in &policy.data {
        if policy.purpose(&item.collected_for).is_none() {
            sink.emit(
                Subject::Data(item.id.to_string()),
                item.collected_for_span,
                format!("`{}` is collected for `{}`, which no `[[purpose]]` declares: declare it, or fix the id", item.id, item.collected_for),
            );
        }
    }
}

fn unknown_tags_kept(policy: &Policy, sink: &mut Sink<'_>) {
    if policy.feed.unknown_tags == UnknownTags::Keep {
        sink.emit(
            Subject::Feed,
            policy.feed.spans.unknown_tags,
            "items with tags or ad categories ward does not know reach children: remove `unknown_tags = \"keep\"`, and list the service's harmless words in `harmless_tags` and `harmless_ad_categories`".to_owned(),
        );
    }
}

fn tcf_legitimate_interest_profiling(policy: &Policy, sink: &mut Sink<'_>) {
    if let Some(tcf) = &policy.tcf {
        for vendor in &tcf.vendors {
            // A publisher restriction requiring consent (or forbidding the purpose) for this
            // vendor settles it: the vendor may then not rely on legitimate interest there.
            let settled = |id: u8| {
                tcf.restrictions.iter().any(|r| {
                    r.purpose == id
                        && r.restriction != RestrictionType::RequireLegitimateInterest
                        && r.vendors.binary_search(&vendor.id).is_ok()
                })
            };
            let ids: Vec<u8> = vendor
                .legitimate_interest
                .ids()
                .filter(|id| NO_CHILD_LI_TCF_IDS.contains(id) && !settled(*id))
                .collect();
            if let Some(first) = ids.first() {
                sink.emit(
                    Subject::TcfVendor(vendor.id),
                    vendor.legitimate_interest_span,
                    format!(
                        "vendor {} (`{}`) relies on legitimate interest for TCF purposes {ids:?}: add a `[[tcf.restriction]]` with `purpose = {first}`, `type = \"require_consent\"` and `vendors = [{}]` for each (or disclose a vendor that asks consent for them)",
                        vendor.id, vendor.name, vendor.id
                    ),
                );
            }
        }
    }
    for purpose in &policy.purposes {
        if purpose.lawful_basis != LawfulBasis::LegitimateInterests
            || !purpose.child_can_switch_on()
        {
            continue;
        }
        let ids: Vec<u8> = purpose
            .tcf_purposes
            .iter()
            .copied()
            .filter(|id| NO_CHILD_LI_TCF_IDS.contains(id))
            .collect();
        if !ids.is_empty() {
            sink.emit(
                purpose_subject(purpose),
                purpose.spans.tcf_purposes,
                format!(
                    "`{}` rests on legitimate interests for TCF purposes {ids:?}: profiling a child for these needs consent; set `lawful_basis = \"consent\"`",
                    purpose.id
                ),
            );
        }
    }
}

fn tcf_undeclared_ads(policy: &Policy, sink: &mut Sink<'_>) {
    for purpose in &policy.purposes {
        if purpose.category == Category::BehaviouralAdvertising || !purpose.child_can_switch_on() {
            continue;
        }
        let ads: Vec<u8> = purpose
            .tcf_purposes
            .iter()
            .copied()
            .filter(|id| ADS_TCF_IDS.contains(id))
            .collect();
        if !ads.is_empty() {
            sink.emit(
                purpose_subject(purpose),
                purpose.spans.tcf_purposes,
                format!(
                    "`{}` is declared as `{}` but maps to advertising TCF purposes {ads:?}: a child switching it on would be signalled as agreeing to advertising; move those ids to a `behavioural_advertising` purpose",
                    purpose.id,
                    purpose.category.as_str()
                ),
            );
        }
    }
}

fn reporting_without_support(policy: &Policy, sink: &mut Sink<'_>) {
    let Some(purpose) = policy
        .purposes
        .iter()
        .find(|purpose| purpose.has_safeguard(Safeguard::UserReporting))
    else {
        return;
    };
    let support = &policy.support;
    if !support.declared {
        sink.emit(
            purpose_subject(purpose),
            purpose.span_or_table(purpose.spans.safeguards),
            format!(
                "`{}` declares `user_reporting`, but the policy has no `[support]`: add one with `talk_to`, `helpline`, `helpline_contact` and `report_sla_hours`, so a child who reports knows who to turn to and when to expect an answer",
                purpose.id
            ),
        );
    } else if !support.sla_declared {
        sink.emit(
            Subject::Support,
            support.spans.table,
            "`[support]` has no `report_sla_hours`: say within how many hours a moderator looks at a child's report (an overdue report raises an alert)".to_owned(),
        );
    }
}
