//! `ward check`'s rules: every way a parsed [`Policy`] falls short of the Children's Code.
//!
//! The rules live in one table, [`RULES`], each with its id, default severity, the Code's words
//! it rests on and a check function. Adding a rule is one entry in `rules.rs` plus its tests.
//! This module finds; it does not print (see [`crate::report`]) and does not parse (see
//! [`crate::policy`]).

mod rules;

use std::fmt;

use serde::Serialize;

use crate::policy::Policy;
use crate::span::Span;

pub use rules::RULES;

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Worth a look; fails the check only with `--deny-warnings`.
    Warning,
    /// Breaks the Code; fails the check.
    Error,
}

impl Severity {
    /// As written in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Warning => "warning",
            Self::Error => "error",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a finding is about.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Subject {
    /// The whole file (schema errors).
    File,
    /// `[service]`.
    Service,
    /// `[defaults]`.
    Defaults,
    /// A `[[purpose]]` by id.
    Purpose(String),
    /// A `[[cookie]]` by name.
    Cookie(String),
    /// A `[[data]]` by id.
    Data(String),
    /// `[feed]`.
    Feed,
    /// A `[[tcf.vendor]]` by its Global Vendor List id.
    TcfVendor(u16),
    /// `[support]`.
    Support,
}

impl fmt::Display for Subject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::File => f.write_str("file"),
            Self::Service => f.write_str("service"),
            Self::Defaults => f.write_str("defaults"),
            Self::Purpose(id) => write!(f, "purpose:{id}"),
            Self::Cookie(name) => write!(f, "cookie:{name}"),
            Self::Data(id) => write!(f, "data:{id}"),
            Self::Feed => f.write_str("feed"),
            Self::TcfVendor(id) => write!(f, "tcf-vendor:{id}"),
            Self::Support => f.write_str("support"),
        }
    }
}

/// A second place a finding points at (the earlier purpose in `shared-setting`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Related {
    /// Where.
    pub span: Span,
    /// What is there.
    pub label: String,
}

/// One thing `ward check` reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// The rule's id (`schema` for a schema error).
    pub rule: &'static str,
    /// How bad it is.
    pub severity: Severity,
    /// What it is about.
    pub subject: Subject,
    /// What is wrong and what to change.
    pub message: String,
    /// Where.
    pub span: Span,
    /// The Code's words the rule rests on.
    pub rests_on: &'static str,
    /// Another place it points at, if any.
    pub related: Option<Related>,
}

/// A rule `ward check` enforces.
#[derive(Debug)]
pub struct Rule {
    /// Its id, as in `RULES.md` (`missing-setting`).
    pub id: &'static str,
    /// Its usual severity (a rule may raise or lower it for one finding).
    pub severity: Severity,
    /// One line: when it fires.
    pub summary: &'static str,
    /// The Code's words it rests on, as quoted in every finding.
    pub rests_on: &'static str,
    /// Where those words come from.
    pub source: &'static str,
    /// The longer explanation `ward explain` prints: why, and how to fix it.
    pub explanation: &'static str,
    check: fn(&Policy, &mut Sink<'_>),
}

impl Rule {
    /// Runs this rule alone.
    pub fn check(&'static self, policy: &Policy) -> Vec<Finding> {
        let mut findings = Vec::new();
        (self.check)(
            policy,
            &mut Sink {
                rule: self,
                findings: &mut findings,
            },
        );
        findings
    }
}

/// The rule with this id.
pub fn rule(id: &str) -> Option<&'static Rule> {
    RULES.iter().find(|rule| rule.id == id)
}

/// What a rule's check writes its findings into; it fills in the rule's id, severity and quote.
pub(crate) struct Sink<'a> {
    rule: &'static Rule,
    findings: &'a mut Vec<Finding>,
}

impl Sink<'_> {
    fn emit(&mut self, subject: Subject, span: Span, message: String) -> &mut Finding {
        self.findings.push(Finding {
            rule: self.rule.id,
            severity: self.rule.severity,
            subject,
            message,
            span,
            rests_on: self.rule.rests_on,
            related: None,
        });
        let last = self.findings.len() - 1;
        &mut self.findings[last]
    }
}

/// Runs every rule on `policy`. Findings come sorted by position, then rule id.
pub fn check(policy: &Policy) -> Vec<Finding> {
    let mut findings = Vec::new();
    for rule in RULES {
        (rule.check)(
            policy,
            &mut Sink {
                rule,
                findings: &mut findings,
            },
        );
    }
    findings.sort_by(|a, b| (a.span.start, a.rule).cmp(&(b.span.start, b.rule)));
    findings
}
