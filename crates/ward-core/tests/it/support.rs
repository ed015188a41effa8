//! A small builder for test policies: a compliant base that each case changes in one place.

use std::collections::BTreeSet;

use ward_core::report::CheckReport;

/// A `[service]` table; `min_age` 13 in GB admits 13-15 and 16-17.
pub(crate) struct Service {
    fields: Vec<(String, String)>,
}

pub(crate) fn service() -> Service {
    Service {
        fields: vec![
            ("name".into(), "\"Test service\"".into()),
            ("kind".into(), "\"video_sharing\"".into()),
            ("min_age".into(), "13".into()),
            ("jurisdictions".into(), "[\"GB\"]".into()),
            ("parental_consent_methods".into(), "[\"email_plus\"]".into()),
        ],
    }
}

impl Service {
    pub(crate) fn set(mut self, key: &str, value: &str) -> Self {
        set(&mut self.fields, key, value);
        self
    }

    fn render(&self) -> String {
        render_table("[service]", &self.fields)
    }
}

/// One `[[purpose]]`, compliant as built: specific description, own setting, off, consent,
/// every safeguard, texts for every band.
#[derive(Clone)]
pub(crate) struct Purpose {
    fields: Vec<(String, String)>,
}

pub(crate) fn purpose(id: &str, category: &str) -> Purpose {
    Purpose {
        fields: vec![
            ("id".into(), format!("\"{id}\"")),
            ("name".into(), format!("\"{id} name\"")),
            ("category".into(), format!("\"{category}\"")),
            ("description".into(), "\"Uses the games you play to choose the next games we suggest.\"".into()),
            ("setting".into(), format!("\"{id}\"")),
            ("lawful_basis".into(), "\"consent\"".into()),
            (
                "safeguards".into(),
                "[\"age_rating_filter\", \"harm_tag_filter\", \"user_reporting\", \"adult_contact_filter\"]".into(),
            ),
            ("explain".into(), "\"What switching this on does with your data, in words for your age.\"".into()),
            ("ask_adult".into(), "\"Not sure? Ask an adult you trust, and leave it off.\"".into()),
        ],
    }
}

impl Purpose {
    pub(crate) fn set(mut self, key: &str, value: &str) -> Self {
        set(&mut self.fields, key, value);
        self
    }

    pub(crate) fn unset(mut self, key: &str) -> Self {
        self.fields.retain(|(k, _)| k != key);
        self
    }

    fn render(&self) -> String {
        render_table("[[purpose]]", &self.fields)
    }
}

fn set(fields: &mut Vec<(String, String)>, key: &str, value: &str) {
    match fields.iter_mut().find(|(k, _)| k == key) {
        Some(field) => field.1 = value.to_owned(),
        None => fields.push((key.to_owned(), value.to_owned())),
    }
}

fn render_table(header: &str, fields: &[(String, String)]) -> String {
    let mut out = format!("{header}\n");
    for (key, value) in fields {
        out.push_str(&format!("{key} = {value}\n"));
    }
    out.push('\n');
    out
}

/// A whole policy: a service, purposes and any extra tables written as TOML.
pub(crate) fn policy(
    service: Service,
    purposes: impl IntoIterator<Item = Purpose>,
    extra: &str,
) -> String {
    let mut out = service.render();
    for purpose in purposes {
        out.push_str(&purpose.render());
    }
    out.push_str(extra);
    out
}

/// `source` with a `[support]` table when it has none: every purpose built here declares
/// `user_reporting`, which needs one (`reporting-without-support`), and the other rules'
/// cases are about something else.
pub(crate) fn with_support(source: &str) -> String {
    if source.contains("[support]") || !source.contains("user_reporting") {
        source.to_owned()
    } else {
        format!("{source}\n[support]\nreport_sla_hours = 24\n")
    }
}

/// The ids of the rules that fire on `source`, which must parse.
pub(crate) fn fired(source: &str) -> BTreeSet<&'static str> {
    let source = &with_support(source);
    let report = CheckReport::new("ward.toml", source);
    assert!(
        report.policy.is_some(),
        "expected a valid policy, got {:?}\n{source}",
        report.findings
    );
    report.findings.iter().map(|f| f.finding.rule).collect()
}

/// Asserts exactly `expected` rules fire on `source`.
#[track_caller]
pub(crate) fn check(source: &str, expected: &[&str]) {
    let expected: BTreeSet<&str> = expected.iter().copied().collect();
    let fired = fired(source);
    assert_eq!(fired, expected, "rules fired on:\n{source}");
}
