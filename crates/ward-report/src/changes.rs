//! `--previous report.json`: what changed since the last report. The previous report is read
//! leniently (only the fields compared here; any other field, and any `schema` of the same
//! family, is ignored) so a report written by an older ward still compares.

use serde::{Deserialize, Serialize};

use crate::model::{Overall, Report};

/// What changed since the previous report.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Changes {
    /// The previous report's "as of".
    pub previous_as_of: Option<jiff::Timestamp>,
    /// The policy file is not the same bytes.
    pub policy_changed: bool,
    /// Purposes now declared that were not.
    pub purposes_added: Vec<String>,
    /// Purposes no longer declared.
    pub purposes_removed: Vec<String>,
    /// Purposes whose version (what consent covers) changed: consent is asked again.
    pub purposes_changed: Vec<String>,
    /// Texts shown to a band whose version changed, appeared or went.
    pub texts_changed: Vec<TextChange>,
    /// Risks now proposed that were not.
    pub risks_added: Vec<String>,
    /// Risks no longer proposed.
    pub risks_removed: Vec<String>,
    /// Risks whose assessed overall rating moved in a band.
    pub risks_moved: Vec<RiskMove>,
}

/// A changed text version.
#[derive(Debug, Clone, Serialize)]
pub struct TextChange {
    /// The purpose.
    pub purpose: String,
    /// The band.
    pub band: String,
    /// The version before (`None`: no texts were shown to this band).
    pub from: Option<String>,
    /// The version now.
    pub to: Option<String>,
}

/// A risk whose rating moved.
#[derive(Debug, Clone, Serialize)]
pub struct RiskMove {
    /// The risk.
    pub risk: String,
    /// The band.
    pub band: String,
    /// Before.
    pub from: Overall,
    /// Now.
    pub to: Overall,
}

#[derive(Deserialize)]
struct Previous {
    schema: String,
    as_of: Option<jiff::Timestamp>,
    integrity: PreviousIntegrity,
    purposes: Vec<PreviousPurpose>,
    risks: Vec<PreviousRisk>,
}

#[derive(Deserialize)]
struct PreviousIntegrity {
    policy_sha256: String,
}

#[derive(Deserialize)]
struct PreviousPurpose {
    id: String,
    version: String,
    texts: Vec<PreviousText>,
}

#[derive(Deserialize)]
struct PreviousText {
    band: String,
    text_version: String,
}

#[derive(Deserialize)]
struct PreviousRisk {
    id: String,
    bands: Vec<PreviousBand>,
}

#[derive(Deserialize)]
struct PreviousBand {
    band: String,
    assessed: PreviousRating,
}

#[derive(Deserialize)]
struct PreviousRating {
    overall: Overall,
}

/// Why a previous report cannot be compared.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PreviousError {
    /// Not a report.
    #[error("not a ward report: {0}")]
    NotAReport(String),
    /// A report of another family.
    #[error("a report of schema `{0}`, not `ward-report/…`")]
    OtherSchema(String),
}

/// Compares `report` with the previous `report.json`'s text.
pub fn compare(report: &Report, previous_json: &str) -> Result<Changes, PreviousError> {
    let previous: Previous = serde_json::from_str(previous_json)
        .map_err(|error| PreviousError::NotAReport(error.to_string()))?;
    if !previous.schema.starts_with("ward-report/") {
        return Err(PreviousError::OtherSchema(previous.schema));
    }
    let mut changes = Changes {
        previous_as_of: previous.as_of,
        policy_changed: previous.integrity.policy_sha256 != report.integrity.policy_sha256,
        ..Changes::default()
    };
    for purpose in &report.purposes {
        let Some(before) = previous.purposes.iter().find(|p| p.id == purpose.id) else {
            changes.purposes_added.push(purpose.id.clone());
            continue;
        };
        if before.version != purpose.version {
            changes.purposes_changed.push(purpose.id.clone());
        }
        let mut bands: Vec<&str> = purpose.texts.iter().map(|t| t.band).collect();
        for text in &before.texts {
            if !bands.contains(&text.band.as_str()) {
                bands.push(text.band.as_str());
            }
        }
        for band in bands {
            let now = purpose
                .texts
                .iter()
                .find(|t| t.band == band)
                .map(|t| t.text_version.clone());
            let then = before
                .texts
                .iter()
                .find(|t| t.band == band)
                .map(|t| t.text_version.clone());
            if now != then {
                changes.texts_changed.push(TextChange {
                    purpose: purpose.id.clone(),
                    band: band.to_owned(),
                    from: then,
                    to: now,
                });
            }
        }
    }
    for before in &previous.purposes {
        if !report.purposes.iter().any(|p| p.id == before.id) {
            changes.purposes_removed.push(before.id.clone());
        }
    }
    for risk in &report.risks {
        let Some(before) = previous.risks.iter().find(|r| r.id == risk.id) else {
            changes.risks_added.push(risk.id.clone());
            continue;
        };
        for band in &risk.bands {
            if let Some(then) = before.bands.iter().find(|b| b.band == band.band)
                && then.assessed.overall != band.assessed.overall
            {
                changes.risks_moved.push(RiskMove {
                    risk: risk.id.clone(),
                    band: band.band.to_owned(),
                    from: then.assessed.overall,
                    to: band.assessed.overall,
                });
            }
        }
    }
    for before in &previous.risks {
        if !report.risks.iter().any(|r| r.id == before.id) {
            changes.risks_removed.push(before.id.clone());
        }
    }
    Ok(changes)
}

impl Changes {
    /// True when nothing changed.
    pub fn is_empty(&self) -> bool {
        !self.policy_changed
            && self.purposes_added.is_empty()
            && self.purposes_removed.is_empty()
            && self.purposes_changed.is_empty()
            && self.texts_changed.is_empty()
            && self.risks_added.is_empty()
            && self.risks_removed.is_empty()
            && self.risks_moved.is_empty()
    }
}
