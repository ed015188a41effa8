//! `dpia.toml`: the DPO's own part of the assessment, read strictly (unknown keys, wrong
//! types and bad values are errors with their line and column, as in `ward.toml`).
//!
//! It holds what ward cannot know: why the DPIA was done in the DPO's words, who was
//! consulted, the DPO's word on each proposed risk (`confirm` it, or `override` it with a
//! reason), further measures with their effect and residual risk, and the sign-off. It is
//! parsed on its own ([`Dpia::parse`]) and then applied to the proposed register
//! ([`Dpia::apply`]), which is where a risk id or band that does not exist is refused.

use std::collections::BTreeSet;

use serde::Deserialize;
use toml::Spanned;
use ward_core::span::{LineIndex, Span};

use ward_core::policy::Policy;

use crate::model::{
    Consultation, Likelihood, Overall, Rating, Risk, Severity, SignOff, UnproposedDecision,
};

/// Why `dpia.toml` cannot be used. The message names the line and column.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{line}:{column}: {message}")]
pub struct DpiaError {
    /// What is wrong, and what to write.
    pub message: String,
    /// 1-based line.
    pub line: usize,
    /// 1-based column (characters).
    pub column: usize,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDpia {
    assessment: Option<RawAssessment>,
    #[serde(default)]
    consultation: Vec<RawConsultation>,
    #[serde(default)]
    risk: Vec<Spanned<RawRisk>>,
    sign_off: Option<RawSignOff>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAssessment {
    title: Option<String>,
    need: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConsultation {
    who: Spanned<String>,
    when: Option<Spanned<String>>,
    notes: String,
}

#[derive(Deserialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
enum Decision {
    Confirm,
    Override,
}

#[derive(Deserialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
enum Effect {
    Eliminated,
    Reduced,
    Accepted,
}

impl Effect {
    fn as_str(self) -> &'static str {
        match self {
            Self::Eliminated => "eliminated",
            Self::Reduced => "reduced",
            Self::Accepted => "accepted",
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRisk {
    id: Spanned<String>,
    bands: Option<Vec<Spanned<String>>>,
    decision: Spanned<Decision>,
    likelihood: Option<Spanned<Likelihood>>,
    severity: Option<Spanned<Severity>>,
    reason: Option<Spanned<String>>,
    measures: Option<String>,
    effect: Option<Effect>,
    residual: Option<Overall>,
    approved: Option<bool>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSignOff {
    measures_approved_by: Spanned<String>,
    residual_risks_approved_by: Spanned<String>,
    dpo_advice: Spanned<String>,
    dpo_advice_followed: bool,
    dpo_overruled_reason: Option<Spanned<String>>,
    consultation_reviewed_by: Option<String>,
    review_by: Option<String>,
    review_date: Spanned<String>,
}

/// A parsed `dpia.toml`, not yet applied to a register.
pub struct Dpia {
    source: String,
    /// `[assessment] title`.
    pub title: Option<String>,
    /// `[assessment] need`.
    pub need: Option<String>,
    /// `[[consultation]]`, in file order.
    pub consultation: Vec<Consultation>,
    /// `[sign_off]`.
    pub sign_off: Option<SignOff>,
    risks: Vec<Spanned<RawRisk>>,
}

impl Dpia {
    /// Parses `source` strictly.
    pub fn parse(source: &str) -> Result<Self, DpiaError> {
        let index = LineIndex::new(source);
        let at = |span: std::ops::Range<usize>, message: String| {
            let position = index.position(index.trim(Span::new(span)).start);
            DpiaError {
                message,
                line: position.line,
                column: position.column,
            }
        };
        let raw: RawDpia = toml::from_str(source).map_err(|error| {
            let message = error.message().trim().replace('\n', "; ");
            match error.span() {
                Some(span) => at(span, message),
                None => DpiaError {
                    message,
                    line: 1,
                    column: 1,
                },
            }
        })?;
        let mut consultation = Vec::with_capacity(raw.consultation.len());
        for entry in raw.consultation {
            if entry.who.get_ref().trim().is_empty() {
                return Err(at(
                    entry.who.span(),
                    "`who` cannot be empty: say who was consulted".to_owned(),
                ));
            }
            if let Some(when) = &entry.when {
                check_date(when).map_err(|message| at(when.span(), message))?;
            }
            consultation.push(Consultation {
                who: entry.who.into_inner(),
                when: entry.when.map(Spanned::into_inner),
                notes: entry.notes,
            });
        }
        for risk in &raw.risk {
            let inner = risk.get_ref();
            match *inner.decision.get_ref() {
                Decision::Confirm => {
                    if let Some(field) = inner
                        .likelihood
                        .as_ref()
                        .map(Spanned::span)
                        .or_else(|| inner.severity.as_ref().map(Spanned::span))
                    {
                        return Err(at(
                            field,
                            "a confirmed risk keeps ward's proposed rating: remove `likelihood` \
                             and `severity`, or write `decision = \"override\"`"
                                .to_owned(),
                        ));
                    }
                }
                Decision::Override => {
                    if inner.likelihood.is_none() && inner.severity.is_none() {
                        return Err(at(
                            inner.decision.span(),
                            "an override must set `likelihood`, `severity` or both".to_owned(),
                        ));
                    }
                    let reason_blank = inner
                        .reason
                        .as_ref()
                        .is_none_or(|r| r.get_ref().trim().is_empty());
                    if reason_blank {
                        let span = inner
                            .reason
                            .as_ref()
                            .map_or(inner.decision.span(), Spanned::span);
                        return Err(at(
                            span,
                            "an override needs a `reason`: the report shows it beside the rating"
                                .to_owned(),
                        ));
                    }
                }
            }
        }
        let sign_off = match raw.sign_off {
            None => None,
            Some(sign_off) => {
                for field in [
                    &sign_off.measures_approved_by,
                    &sign_off.residual_risks_approved_by,
                    &sign_off.dpo_advice,
                ] {
                    if field.get_ref().trim().is_empty() {
                        return Err(at(field.span(), "this cannot be empty".to_owned()));
                    }
                }
                let review_date = check_date(&sign_off.review_date)
                    .map_err(|message| at(sign_off.review_date.span(), message))?;
                let overruled = sign_off
                    .dpo_overruled_reason
                    .as_ref()
                    .filter(|r| !r.get_ref().trim().is_empty());
                if !sign_off.dpo_advice_followed && overruled.is_none() {
                    return Err(at(
                        sign_off.dpo_advice.span(),
                        "`dpo_advice_followed = false` needs `dpo_overruled_reason`: the ICO \
                         template asks why the advice was overruled"
                            .to_owned(),
                    ));
                }
                Some(SignOff {
                    measures_approved_by: sign_off.measures_approved_by.into_inner(),
                    residual_risks_approved_by: sign_off.residual_risks_approved_by.into_inner(),
                    dpo_advice: sign_off.dpo_advice.into_inner(),
                    dpo_advice_followed: sign_off.dpo_advice_followed,
                    dpo_overruled_reason: sign_off
                        .dpo_overruled_reason
                        .map(Spanned::into_inner)
                        .filter(|r| !r.trim().is_empty()),
                    consultation_reviewed_by: sign_off.consultation_reviewed_by,
                    review_by: sign_off.review_by,
                    review_date,
                })
            }
        };
        let (title, need) = raw.assessment.map_or((None, None), |a| (a.title, a.need));
        Ok(Self {
            source: source.to_owned(),
            title,
            need,
            consultation,
            sign_off,
            risks: raw.risk,
        })
    }

    /// Applies the DPO's decisions to the proposed register. A decision on a risk the
    /// register does not propose but could (its id is [`crate::risks::known_id`] for
    /// `policy`) is returned, not applied; an id ward does not know, a band that is not rated
    /// or not admitted, or a risk and band decided twice is an error at its line.
    pub fn apply(
        &self,
        policy: &Policy,
        risks: &mut [Risk],
    ) -> Result<Vec<UnproposedDecision>, DpiaError> {
        let index = LineIndex::new(&self.source);
        let at = |span: std::ops::Range<usize>, message: String| {
            let position = index.position(index.trim(Span::new(span)).start);
            DpiaError {
                message,
                line: position.line,
                column: position.column,
            }
        };
        let mut decided: BTreeSet<(String, &'static str)> = BTreeSet::new();
        let mut unproposed = Vec::new();
        for spanned in &self.risks {
            let entry = spanned.get_ref();
            let id = entry.id.get_ref();
            let Some(risk) = risks.iter_mut().find(|risk| &risk.id == id) else {
                let rule = crate::risks::known_id(policy, id).map_err(|why| {
                    at(
                        entry.id.span(),
                        format!("no risk `{id}` is known to ward: {why}"),
                    )
                })?;
                let admitted: Vec<&'static str> = policy
                    .service
                    .admitted_bands()
                    .map(|b| b.as_str())
                    .collect();
                let bands = match &entry.bands {
                    None => admitted.clone(),
                    Some(list) => {
                        let mut bands = Vec::new();
                        for band in list {
                            let Some(found) = admitted.iter().find(|b| **b == band.get_ref())
                            else {
                                return Err(at(
                                    band.span(),
                                    format!(
                                        "band `{}` is not admitted; the service admits: {}",
                                        band.get_ref(),
                                        admitted.join(", ")
                                    ),
                                ));
                            };
                            bands.push(*found);
                        }
                        bands
                    }
                };
                for band in &bands {
                    if !decided.insert((id.clone(), band)) {
                        return Err(at(
                            entry.id.span(),
                            format!("risk `{id}` for band {band} is decided twice"),
                        ));
                    }
                }
                let position = index.position(index.trim(Span::new(entry.id.span())).start);
                let likelihood = entry.likelihood.as_ref().map(|l| *l.get_ref());
                let severity = entry.severity.as_ref().map(|s| *s.get_ref());
                unproposed.push(UnproposedDecision {
                    id: id.clone(),
                    rule: rule.id,
                    line: position.line,
                    column: position.column,
                    bands,
                    decision: match *entry.decision.get_ref() {
                        Decision::Confirm => "confirmed",
                        Decision::Override => "overridden",
                    },
                    likelihood,
                    severity,
                    overall: likelihood.zip(severity).map(|(l, s)| Overall::of(l, s)),
                    reason: entry
                        .reason
                        .as_ref()
                        .map(|r| r.get_ref().clone())
                        .filter(|r| !r.trim().is_empty()),
                    further_measures: entry.measures.clone(),
                    effect: entry.effect.map(Effect::as_str),
                    residual: entry.residual,
                    approved: entry.approved,
                });
                continue;
            };
            let admitted: Vec<&'static str> = risk.bands.iter().map(|b| b.band).collect();
            let targets: Vec<(&'static str, std::ops::Range<usize>)> = match &entry.bands {
                None => admitted
                    .iter()
                    .map(|band| (*band, entry.id.span()))
                    .collect(),
                Some(list) => {
                    let mut targets = Vec::new();
                    for band in list {
                        let Some(found) = admitted.iter().find(|b| **b == band.get_ref()) else {
                            return Err(at(
                                band.span(),
                                format!(
                                    "band `{}` is not rated for this risk; the service admits: {}",
                                    band.get_ref(),
                                    admitted.join(", ")
                                ),
                            ));
                        };
                        targets.push((*found, band.span()));
                    }
                    targets
                }
            };
            for (band, span) in targets {
                if !decided.insert((id.clone(), band)) {
                    return Err(at(
                        span,
                        format!("risk `{id}` for band {band} is decided twice"),
                    ));
                }
                let Some(rated) = risk.bands.iter_mut().find(|b| b.band == band) else {
                    continue;
                };
                match *entry.decision.get_ref() {
                    Decision::Confirm => {
                        rated.decision = "confirmed";
                        rated.assessed = rated.proposed;
                    }
                    Decision::Override => {
                        rated.decision = "overridden";
                        rated.assessed = Rating::new(
                            entry
                                .likelihood
                                .as_ref()
                                .map_or(rated.proposed.likelihood, |l| *l.get_ref()),
                            entry
                                .severity
                                .as_ref()
                                .map_or(rated.proposed.severity, |s| *s.get_ref()),
                        );
                    }
                }
                rated.reason = entry
                    .reason
                    .as_ref()
                    .map(|r| r.get_ref().clone())
                    .filter(|r| !r.trim().is_empty());
                rated.further_measures = entry.measures.clone();
                rated.effect = entry.effect.map(Effect::as_str);
                rated.residual = entry.residual;
                rated.approved = entry.approved;
            }
        }
        Ok(unproposed)
    }
}

fn check_date(text: &Spanned<String>) -> Result<jiff::civil::Date, String> {
    text.get_ref()
        .parse::<jiff::civil::Date>()
        .map_err(|_| format!("`{}` is not a date: write it as YYYY-MM-DD", text.get_ref()))
}
