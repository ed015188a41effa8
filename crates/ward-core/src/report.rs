//! Turning a check into what people and tools read: `human`, `json` and `sarif` (2.1.0).
//!
//! [`CheckReport::new`] runs the whole check on a source (parse, then every rule) and keeps the
//! findings with their line and column. The renderers return strings; printing them and the
//! exit code are the binary's business.

use annotate_snippets::{AnnotationKind, Group, Level, Renderer, Snippet};
use serde_json::{Value, json};

use crate::lint::{self, Finding, RULES, Severity, Subject};
use crate::policy::{Policy, SchemaError};
use crate::span::{LineIndex, Position};

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

    /// The SARIF 2.1.0 log, for code-scanning tools.
    pub fn to_sarif(&self) -> Value {
        let mut rules: Vec<Value> = RULES
            .iter()
            .map(|rule| {
                json!({
                    "id": rule.id,
                    "shortDescription": { "text": rule.summary },
                    "fullDescription": { "text": format!("{} (rests on: \"{}\", {})", rule.summary, rule.rests_on, rule.source) },
                    "help": { "text": rule.explanation },
                    "defaultConfiguration": { "level": rule.severity.as_str() },
                })
            })
            .collect();
        rules.push(json!({
            "id": SCHEMA_RULE,
            "shortDescription": { "text": "the file is not a valid ward.toml" },
            "fullDescription": { "text": SCHEMA_RESTS_ON },
            "defaultConfiguration": { "level": "error" },
        }));
        let rule_index = |id: &str| rules.iter().position(|r| r["id"] == id);
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
                    "locations": [self.sarif_location(located.start, located.end)],
                    "properties": { "subject": finding.subject.to_string(), "restsOn": finding.rests_on },
                });
                if let Some(related) = &finding.related {
                    let index = LineIndex::new(self.source);
                    let (start, end) = index.span_positions(related.span);
                    let mut location = self.sarif_location(start, end);
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
                    "semanticVersion": env!("CARGO_PKG_VERSION"),
                    "rules": rules,
                }},
                "columnKind": "unicodeCodePoints",
                "results": results,
            }],
        })
    }

    fn sarif_location(&self, start: Position, end: Position) -> Value {
        json!({
            "physicalLocation": {
                "artifactLocation": { "uri": self.path.replace('\\', "/") },
                "region": {
                    "startLine": start.line,
                    "startColumn": start.column,
                    "endLine": end.line,
                    "endColumn": end.column,
                },
            },
        })
    }
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
