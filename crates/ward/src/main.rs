//! The `ward` command line. Thin: it parses arguments, reads and writes files, prints what
//! `ward-core` renders and turns verdicts into exit codes. No rule or policy logic lives here.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

mod audit;
mod feed;
mod report;
mod service;

use clap::{Parser, Subcommand, ValueEnum};

use ward_core::lint::{self, RULES};
use ward_core::report::CheckReport;

/// mimalloc rather than the system's allocator: `ward check` builds and frees a tree of small
/// values for every key of the file, and the server a few per request; measured in
/// `docs/benchmarks.md` (issue 17).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// ward: profile children only as the UK Children's Code allows.
#[derive(Debug, Parser)]
#[command(name = "ward", version, about, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Check a ward.toml against the Children's Code (exit 0 pass, 1 errors, 2 unreadable).
    Check {
        /// The policy file.
        file: PathBuf,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Human)]
        format: Format,
        /// Fail (exit 1) on warnings too.
        #[arg(long)]
        deny_warnings: bool,
    },
    /// Explain a rule: why it exists, the Code's words behind it and how to fix a finding.
    Explain {
        /// The rule id (`missing-setting`); omit it to list every rule.
        rule: Option<String>,
    },
    /// Run the HTTP service on a policy (SQLite by default; PostgreSQL with a URL).
    Serve(service::Serve),
    /// Run the database migrations and exit (`serve` runs them too).
    Migrate {
        #[command(flatten)]
        database: service::Database,
    },
    /// Create, list and revoke API keys.
    #[command(subcommand)]
    Keys(service::Keys),
    /// Verify the evidence ledger.
    #[command(subcommand)]
    Ledger(service::Ledger),
    /// Link and unlink parents by hand.
    #[command(subcommand)]
    Parents(service::Parents),
    /// Register and inspect webhook endpoints.
    #[command(subcommand)]
    Webhooks(service::Webhooks),
    /// Write a commented starter ward.toml that passes `ward check`.
    Init {
        /// Where to write it.
        #[arg(default_value = "ward.toml")]
        path: PathBuf,
        /// Overwrite the file if it exists.
        #[arg(long)]
        force: bool,
    },
    /// Filter a catalogue (one item JSON per line) through the feed guard for a child's age,
    /// and summarise what was removed and why.
    Feed(feed::FeedArgs),
    /// Test a recommender on simulated children, with and without the feed guard, and write
    /// results.json and report.html (exit 0, 1 when a --fail-on threshold is passed, 2 on
    /// errors).
    Audit(audit::AuditArgs),
    /// Write the DPIA evidence pack (report.json and report.html) from the policy, the
    /// ledger and dpia.toml.
    Report(report::ReportArgs),
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Format {
    /// Source excerpts with the span underlined, like rustc.
    Human,
    /// `{"findings": [...]}` as documented in RULES.md.
    Json,
    /// SARIF 2.1.0, for code-scanning tools.
    Sarif,
}

/// Exit code for usage and I/O errors, shared with schema errors.
const EXIT_UNREADABLE: u8 = 2;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Check {
            file,
            format,
            deny_warnings,
        } => check(&file, format, deny_warnings),
        Command::Explain { rule } => explain(rule.as_deref()),
        Command::Init { path, force } => init(&path, force),
        Command::Serve(args) => service::serve(args),
        Command::Migrate { database } => service::migrate(database),
        Command::Keys(command) => service::keys(command),
        Command::Ledger(command) => service::ledger(command),
        Command::Parents(command) => service::parents(command),
        Command::Webhooks(command) => service::webhooks(command),
        Command::Feed(args) => feed::run(&args),
        Command::Audit(args) => audit::run(&args),
        Command::Report(args) => report::run(args),
    };
    match result {
        Ok(code) => code,
        Err(message) => {
            // Ignore a failure to write to stderr: there is nowhere left to report it.
            let _ = writeln!(std::io::stderr(), "error: {message}");
            ExitCode::from(EXIT_UNREADABLE)
        }
    }
}

pub(crate) fn print(text: &str) -> Result<(), String> {
    let mut stdout = std::io::stdout().lock();
    match stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        Ok(()) => Ok(()),
        // A closed pipe (`ward check … | head`) is not an error worth reporting.
        Err(error) if error.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(error) => Err(format!("cannot write to standard output: {error}")),
    }
}

fn check(file: &Path, format: Format, deny_warnings: bool) -> Result<ExitCode, String> {
    let source = std::fs::read_to_string(file)
        .map_err(|error| format!("cannot read `{}`: {error}", file.display()))?;
    let report = CheckReport::new(&file.display().to_string(), &source);
    let rendered = match format {
        Format::Human => {
            let color = std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
            report.to_human(color)
        }
        Format::Json => format!("{:#}\n", report.to_json()),
        Format::Sarif => format!("{:#}\n", report.to_sarif()),
    };
    print(&rendered)?;
    let code = report.verdict(deny_warnings).exit_code();
    Ok(ExitCode::from(
        u8::try_from(code).unwrap_or(EXIT_UNREADABLE),
    ))
}

fn explain(rule_id: Option<&str>) -> Result<ExitCode, String> {
    let Some(rule_id) = rule_id else {
        let width = RULES.iter().map(|r| r.id.len()).max().unwrap_or(0);
        let mut text =
            String::from("ward check enforces these rules (`ward explain RULE` for one):\n\n");
        for rule in RULES {
            text.push_str(&format!(
                "  {:width$}  {:7}  {}\n",
                rule.id,
                rule.severity.as_str(),
                rule.summary
            ));
        }
        print(&text)?;
        return Ok(ExitCode::SUCCESS);
    };
    let Some(rule) = lint::rule(rule_id) else {
        let known = RULES.iter().map(|r| r.id).collect::<Vec<_>>().join(", ");
        return Err(format!("unknown rule `{rule_id}`; the rules are: {known}"));
    };
    print(&format!(
        "{id} ({severity})\n\nFires when: {summary}.\n\n{explanation}\n\nThe Code: \"{rests_on}\"\n  — {source}\n",
        id = rule.id,
        severity = rule.severity,
        summary = rule.summary,
        explanation = textwrap(rule.explanation, 90),
        rests_on = rule.rests_on,
        source = rule.source,
    ))?;
    Ok(ExitCode::SUCCESS)
}

/// Wraps prose at `width` columns on word boundaries.
fn textwrap(text: &str, width: usize) -> String {
    let mut out = String::new();
    let mut line_len = 0;
    for word in text.split_whitespace() {
        if line_len > 0 && line_len + 1 + word.chars().count() > width {
            out.push('\n');
            line_len = 0;
        } else if line_len > 0 {
            out.push(' ');
            line_len += 1;
        }
        out.push_str(word);
        line_len += word.chars().count();
    }
    out
}

fn init(path: &Path, force: bool) -> Result<ExitCode, String> {
    if path.exists() && !force {
        return Err(format!(
            "`{}` already exists; pass --force to overwrite it",
            path.display()
        ));
    }
    std::fs::write(path, ward_core::STARTER_POLICY)
        .map_err(|error| format!("cannot write `{}`: {error}", path.display()))?;
    print(&format!(
        "wrote {}: a starter policy that passes `ward check`.\nEdit the [service] table and the purposes, then run `ward check {}`.\n",
        path.display(),
        path.display()
    ))?;
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_well_formed() {
        // clap's own checks: unique argument names, valid defaults, in every subcommand.
        super::Cli::command().debug_assert();
    }

    #[test]
    fn serve_defaults_to_the_listeners_defaults() {
        use clap::Parser;
        let cli = super::Cli::try_parse_from(["ward", "serve"]).unwrap();
        let super::Command::Serve(serve) = cli.command else {
            panic!("not serve")
        };
        assert_eq!(serve.listener(), ward_server::ListenerConfig::default());
    }
}
