//! Turning a check into what people and tools read: `human`, `json` and `sarif` (2.1.0).
//!
//! [`CheckReport::new`] runs the whole check on a source (parse, then every rule) and keeps the
//! findings with their line and column. The renderers return strings; printing them and the
//! exit code are the binary's business.

use annotate_snippets::{AnnotationKind, Group, Level, Renderer, Snippet};
use serde_json::{Value, json};

use crate::lint::{self, Finding, RULES, Rule, Severity, Subject};
use crate::policy::{Policy, SchemaError};
use crate::span::{LineIndex, Position, Span};

/// The rule id of a schema error.
pub const SCHEMA_RULE: &str = "schema";

/// What a schema error rests on, for the reports' `rests_on` field.
const SCHEMA_RESTS_ON: &str =
    "ward.toml must follow the schema in RULES.md: typos are never ignored";

/// How a check ended, as the exit code `ward check` returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// No errors (and no warnings when warnings are denied): exit 0.
    Pass,
    /// Findings that fail the check: exit 1.
    Fail,
    /// The file could not be read as a `ward.toml`: exit 2.
    SchemaError,
}

impl Verdict {
    /// The process exit code.
    pub fn exit_code(self) -> i32 {
        match self {
            Self::Pass => 0,
            Self::Fail => 1,
            Self::SchemaError => 2,
        }
    }
}

/// A finding with its resolved line and column.
#[derive(Debug, Clone)]
pub struct Located {
    /// The finding.
    pub finding: Finding,
    /// Where it starts.
    pub start: Position,
    /// Just after where it ends (exclusive, as in SARIF).
    pub end: Position,
}

/// The result of checking one file.
#[derive(Debug)]
pub struct CheckReport<'src> {
    path: String,
    source: &'src str,
    /// Every finding, sorted by line then rule.
    pub findings: Vec<Located>,
    /// The policy, when it parsed.
    pub policy: Option<Policy>,
}

impl<'src> CheckReport<'src> {
    /// Parses and lints `source`, read from `path` (used only in output).
    pub fn new(path: &str, source: &'src str) -> Self {
        let (findings, policy) = match Policy::parse(source) {
            Ok(policy) => (lint::check(&policy), Some(policy)),
            Err(error) => (vec![schema_finding(error)], None),
        };
        let index = LineIndex::new(source);
        let mut findings: Vec<Located> = findings
            .into_iter()
            .map(|finding| {
                let (start, end) = index.span_positions(finding.span);
                Located {
                    finding,
                    start,
                    end,
                }
            })
            .collect();
        findings.sort_by(|a, b| {
            (a.start.line, a.finding.rule, a.start.column).cmp(&(
                b.start.line,
                b.finding.rule,
                b.start.column,
            ))
        });
        Self {
            path: path.to_owned(),
            source,
            findings,
            policy,
        }
    }

    /// How the check ended.
    pub fn verdict(&self, deny_warnings: bool) -> Verdict {
        if self.policy.is_none() {
            Verdict::SchemaError
        } else if self.count(Severity::Error) > 0
            || (deny_warnings && self.count(Severity::Warning) > 0)
        {
            Verdict::Fail
        } else {
            Verdict::Pass
        }
    }

    /// How many findings have this severity.
    pub fn count(&self, severity: Severity) -> usize {
        self.findings
            .iter()
            .filter(|f| f.finding.severity == severity)
            .count()
    }

    /// The rustc-style report: each finding with its source lines and the span marked.
    pub fn to_human(&self, color: bool) -> String {
        let renderer = if color {
            Renderer::styled()
        } else {
            Renderer::plain()
        };
        let mut out = String::new();
        for located in &self.findings {
            let finding = &located.finding;
            let level = match finding.severity {
                Severity::Error => Level::ERROR,
                Severity::Warning => Level::WARNING,
            };
            let title = level
                .primary_title(finding.message.as_str())
                .id(finding.rule);
            let mut group: Group<'_> = if finding.span.is_empty() && finding.span.start == 0 {
                Group::with_title(title)
            } else {
                let span = LineIndex::new(self.source).trim(finding.span);
                let mut snippet = Snippet::source(self.source)
                    .path(self.path.as_str())
                    .fold(true)
                    .annotation(
                        AnnotationKind::Primary
                            .span(span.range())
                            .label(subject_label(&finding.subject)),
                    );
                if let Some(related) = &finding.related {
                    snippet = snippet.annotation(
                        AnnotationKind::Context
                            .span(related.span.range())
                            .label(related.label.as_str()),
                    );
                }
                title.element(snippet)
            };
            if !finding.rests_on.is_empty() {
                group = group
                    .element(Level::NOTE.message(format!("rests on: \"{}\"", finding.rests_on)));
            }
            if finding.rule != SCHEMA_RULE {
                group = group.element(Level::HELP.message(format!(
                    "`ward explain {}` says why and how to fix it",
                    finding.rule
                )));
            }
            out.push_str(&renderer.render(&[group]));
            out.push_str("\n\n");
        }
        out.push_str(&self.summary());
        out.push('\n');
        out
    }

    /// One line: how many errors and warnings, or that the file passes.
    pub fn summary(&self) -> String {
        if self.policy.is_none() {
            return format!("{}: schema error, nothing checked", self.path);
        }
        let (errors, warnings) = (self.count(Severity::Error), self.count(Severity::Warning));
        if errors + warnings == 0 {
            return format!("{}: no findings", self.path);
        }
        let plural = |n: usize, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
        format!(
            "{}: {}, {}",
            self.path,
            plural(errors, "error"),
            plural(warnings, "warning")
        )
    }

    /// The JSON report: `{"findings": [...]}` with the fields of `RULES.md`.
    pub fn to_json(&self) -> Value {
        let findings: Vec<Value> = self
            .findings
            .iter()
            .map(|located| {
                let finding = &located.finding;
                json!({
                    "rule": finding.rule,
                    "severity": finding.severity,
                    "subject": finding.subject.to_string(),
                    "message": finding.message,
                    "line": located.start.line,
                    "column": located.start.column,
                    "end_line": located.end.line,
                    "end_column": located.end.column,
                    "rests_on": finding.rests_on,
                })
            })
            .collect();
        json!({ "findings": findings })
    }

    /// The SARIF 2.1.0 log, for code-scanning tools. It passes the SARIF multitool's own and
    /// GitHub code-scanning rules (`crates/ward/tests/it/tools.rs` runs it): every rule has a
    /// PascalCase `name`, both descriptions, `help` as text and Markdown, and a `helpUri` at
    /// the Code's standard it rests on.
    pub fn to_sarif(&self) -> Value {
        let mut rules: Vec<Value> = RULES.iter().map(sarif_rule).collect();
        rules.push(json!({
            "id": SCHEMA_RULE,
            // Not `Schema`: SARIF wants a name that differs from the id, case aside.
            "name": "InvalidPolicyFile",
            "shortDescription": { "text": "the file is not a valid ward.toml" },
            "fullDescription": { "text": SCHEMA_RESTS_ON },
            "help": { "text": SCHEMA_HELP, "markdown": SCHEMA_HELP },
            "defaultConfiguration": { "level": "error" },
        }));
        let rule_index = |id: &str| rules.iter().position(|r| r["id"] == id);
        let index = LineIndex::new(self.source);
        let results: Vec<Value> = self
            .findings
            .iter()
            .map(|located| {
                let finding = &located.finding;
                let mut result = json!({
                    "ruleId": finding.rule,
                    "ruleIndex": rule_index(finding.rule),
                    "level": finding.severity.as_str(),
                    "message": { "text": finding.message },
                    "locations": [self.sarif_location(&index, finding.span)],
                    "properties": { "subject": finding.subject.to_string(), "restsOn": finding.rests_on },
                });
                if let Some(related) = &finding.related {
                    let mut location = self.sarif_location(&index, related.span);
                    location["id"] = json!(0);
                    location["message"] = json!({ "text": related.label });
                    result["relatedLocations"] = json!([location]);
                }
                result
            })
            .collect();
        json!({
            "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
            "version": "2.1.0",
            "runs": [{
                "tool": { "driver": {
                    "name": "ward",
                    "informationUri": INFORMATION_URI,
                    "semanticVersion": env!("CARGO_PKG_VERSION"),
                    "rules": rules,
                }},
                "columnKind": "unicodeCodePoints",
                "results": results,
            }],
        })
    }

    /// Where `span` is, with its text as the region's snippet and the lines around it (one
    /// either side) as the context region, so a viewer without the file can show it.
    fn sarif_location(&self, index: &LineIndex<'_>, span: Span) -> Value {
        let (start, end) = index.span_positions(span);
        let mut region = json!({
            "startLine": start.line,
            "startColumn": start.column,
            "endLine": end.line,
            "endColumn": end.column,
        });
        let snippet = self.source.get(index.trim(span).range()).unwrap_or("");
        if !snippet.is_empty() {
            region["snippet"] = json!({ "text": snippet });
        }
        let mut physical = json!({
            "artifactLocation": { "uri": artifact_uri(&self.path) },
            "region": region,
        });
        let lines: Vec<&str> = self.source.split_inclusive('\n').collect();
        let first_line = start.line.saturating_sub(1).max(1);
        let last_line = (end.line + 1).min(lines.len());
        // INVARIANT: SARIF wants the context region strictly larger than the region, so a
        // region that already spans every line there is gets none.
        if first_line < start.line || last_line > end.line {
            let context: String = lines
                .get(first_line - 1..last_line)
                .unwrap_or_default()
                .concat();
            physical["contextRegion"] = json!({
                "startLine": first_line,
                "endLine": last_line,
                "snippet": { "text": context },
            });
        }
        json!({ "physicalLocation": physical })
    }
}

/// One error in a source file the way `ward check` shows a schema error: `path:line:column`,
/// the message, and the source excerpt with the span marked (rustc style). For the other
/// files ward reads strictly (an audit spec), so their errors look and point the same way.
pub fn render_file_error(
    path: &str,
    source: &str,
    message: &str,
    span: Option<Span>,
    color: bool,
) -> String {
    let renderer = if color {
        Renderer::styled()
    } else {
        Renderer::plain()
    };
    let title = Level::ERROR.primary_title(message);
    let group: Group<'_> = match span {
        Some(span) => {
            let span = LineIndex::new(source).trim(span);
            title.element(
                Snippet::source(source)
                    .path(path)
                    .fold(true)
                    .annotation(AnnotationKind::Primary.span(span.range())),
            )
        }
        None => Group::with_title(title),
    };
    let at = span
        .map(|span| {
            let position = LineIndex::new(source).position(span.start);
            format!(":{}:{}", position.line, position.column)
        })
        .unwrap_or_default();
    format!("{path}{at}: {message}\n{}\n", renderer.render(&[group]))
}

/// Where the Children's Code's standards are published, one page each.
const CODE_PAGES: &str = concat!(
    "https://ico.org.uk/for-organisations/uk-gdpr-guidance-and-resources/childrens-information/",
    "childrens-code-guidance-and-resources/age-appropriate-design-a-code-of-practice-for-online-services/"
);

/// A standard of the ICO's Age appropriate design code (the Children's Code).
struct CodeStandard {
    title: &'static str,
    /// Its page under [`CODE_PAGES`].
    page: &'static str,
}

const PROFILING: CodeStandard = CodeStandard {
    title: "Standard 12: Profiling",
    page: "12-profiling/",
};
const DEFAULT_SETTINGS: CodeStandard = CodeStandard {
    title: "Standard 7: Default settings",
    page: "7-default-settings/",
};
const GEOLOCATION: CodeStandard = CodeStandard {
    title: "Standard 10: Geolocation",
    page: "10-geolocation/",
};

/// The SARIF `informationUri` of the tool. ward has no public home page of its own, so it
/// points at what ward checks a policy against: the Code's Standard 12, "Profiling".
const INFORMATION_URI: &str = concat!(
    "https://ico.org.uk/for-organisations/uk-gdpr-guidance-and-resources/childrens-information/",
    "childrens-code-guidance-and-resources/age-appropriate-design-a-code-of-practice-for-online-services/",
    "12-profiling/"
);

/// How to fix a schema error, as the SARIF rule's help.
const SCHEMA_HELP: &str = "The file must follow the ward.toml schema of RULES.md: valid TOML, \
known keys, the right types, known values (categories, jurisdictions, age bands, time zones), every \
required field, unique ids and values in range. A typo is never ignored. The message says what is \
wrong at the line and column shown: fix it there and run `ward check` again.";

/// The standard a rule rests on, for its `helpUri`. The geolocation and public-profile rules
/// quote the ICO's 2024-25 priorities, which ask for what Standards 10 and 7 say; every other
/// rule's source is Standard 12. `None` for a rule whose source names none of them.
fn code_standard(rule: &Rule) -> Option<&'static CodeStandard> {
    match rule.id {
        "geolocation-on-by-default" => Some(&GEOLOCATION),
        "public-profile-by-default" => Some(&DEFAULT_SETTINGS),
        _ if rule.source.starts_with("Standard 12") => Some(&PROFILING),
        _ => None,
    }
}

/// A rule as a SARIF `reportingDescriptor`.
fn sarif_rule(rule: &Rule) -> Value {
    let standard = code_standard(rule);
    let help_text = format!(
        "{}\n\nRests on: \"{}\" ({}).{}",
        rule.explanation,
        rule.rests_on,
        rule.source,
        standard.map_or_else(String::new, |s| format!(
            "\n\nThe Code: {}, {CODE_PAGES}{}",
            s.title, s.page
        )),
    );
    let help_markdown = format!(
        "{}\n\n> {}\n\n{}{}",
        rule.explanation,
        rule.rests_on,
        rule.source,
        standard.map_or_else(String::new, |s| format!(
            "\n\nThe Code: [{}]({CODE_PAGES}{})",
            s.title, s.page
        )),
    );
    let mut descriptor = json!({
        "id": rule.id,
        "name": pascal_case(rule.id),
        "shortDescription": { "text": rule.summary },
        "fullDescription": { "text": format!("{} (rests on: \"{}\", {})", rule.summary, rule.rests_on, rule.source) },
        "help": { "text": help_text, "markdown": help_markdown },
        "defaultConfiguration": { "level": rule.severity.as_str() },
    });
    if let Some(standard) = standard {
        descriptor["helpUri"] = json!(format!("{CODE_PAGES}{}", standard.page));
    }
    descriptor
}

/// A file path as a SARIF `artifactLocation.uri`: a relative path stays a relative reference
/// (`policies/ward.toml`); an absolute one becomes a `file:` URI (`/srv/ward.toml` is
/// `file:///srv/ward.toml`, `C:\\x\\ward.toml` is `file:///C:/x/ward.toml`). Every byte but
/// unreserved characters and `/` is percent-encoded, so a space or a `:` cannot break the URI.
fn artifact_uri(path: &str) -> String {
    let path = path.replace('\\', "/");
    let bytes = path.as_bytes();
    let drive =
        bytes.len() >= 3 && bytes[0].is_ascii_alphabetic() && bytes[1] == b':' && bytes[2] == b'/';
    let (prefix, rest) = if drive {
        ("file:///", path.split_at(2))
    } else if path.starts_with('/') {
        ("file://", ("", path.as_str()))
    } else {
        ("", ("", path.as_str()))
    };
    let mut uri = String::with_capacity(path.len() + prefix.len());
    uri.push_str(prefix);
    uri.push_str(rest.0);
    for byte in rest.1.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~/".contains(&byte) {
            uri.push(char::from(byte));
        } else {
            uri.push_str(&format!("%{byte:02X}"));
        }
    }
    uri
}

/// `shared-setting` as `SharedSetting`: the SARIF `name` tools expect.
fn pascal_case(id: &str) -> String {
    id.split('-')
        .map(|word| {
            let mut chars = word.chars();
            chars.next().map_or_else(String::new, |first| {
                first.to_uppercase().chain(chars).collect()
            })
        })
        .collect()
}

fn subject_label(subject: &Subject) -> String {
    match subject {
        Subject::File => "here".to_owned(),
        other => other.to_string(),
    }
}

fn schema_finding(error: SchemaError) -> Finding {
    Finding {
        rule: SCHEMA_RULE,
        severity: Severity::Error,
        subject: Subject::File,
        message: error.message,
        span: error.span.unwrap_or_default(),
        rests_on: SCHEMA_RESTS_ON,
        related: None,
    }
}
