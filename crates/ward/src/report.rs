//! `ward report`: the DPIA evidence pack. Glue only: reads the files, opens the store
//! read-only in spirit (it never writes a row; opening runs pending migrations like every
//! command), hands everything to `ward-report` and writes `report.json` and `report.html`.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Args;
use ward_store::AnyStore;

/// `ward report`.
#[derive(Debug, Args)]
pub(crate) struct ReportArgs {
    /// The policy the DPIA is about.
    #[arg(long, default_value = "ward.toml")]
    policy: PathBuf,
    /// The store whose ledger gives step 6's evidence: a SQLite file or a `postgres://` URL.
    /// Without it the report is filled from the policy (and dpia.toml) alone.
    #[arg(long = "database", env = "WARD_DATABASE_URL")]
    database: Option<String>,
    /// The DPO's part: decisions on each risk, consultation, sign-off (see the README).
    #[arg(long)]
    dpia: Option<PathBuf>,
    /// `ward audit`'s results.json: the guard's measured effect in step 6, its risks in step 5.
    #[arg(long)]
    audit: Option<PathBuf>,
    /// A previous report.json, to show what changed since.
    #[arg(long)]
    previous: Option<PathBuf>,
    /// The moment the report describes (RFC 3339, `2026-12-01T00:00:00Z`); default the
    /// ledger head's time.
    #[arg(long, value_parser = timestamp)]
    as_of: Option<jiff::Timestamp>,
    /// The directory to write report.json and report.html into (created if missing).
    #[arg(long)]
    out: PathBuf,
}

fn timestamp(text: &str) -> Result<jiff::Timestamp, String> {
    text.parse()
        .map_err(|_| format!("`{text}` is not an RFC 3339 timestamp like 2026-12-01T00:00:00Z"))
}

fn read(path: &Path, what: &str) -> Result<String, String> {
    std::fs::read_to_string(path)
        .map_err(|error| format!("cannot read {what} `{}`: {error}", path.display()))
}

/// A SQLite path that does not exist is refused rather than created: a report of an empty
/// new database would look like evidence of nothing happening.
fn check_sqlite_exists(url: &str) -> Result<(), String> {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        return Ok(());
    }
    let path = url.strip_prefix("sqlite://").unwrap_or(url);
    if Path::new(path).is_file() {
        Ok(())
    } else {
        Err(format!("no database at `{path}`"))
    }
}

pub(crate) fn run(args: ReportArgs) -> Result<ExitCode, String> {
    let policy_source = read(&args.policy, "the policy")?;
    let dpia_source = args
        .dpia
        .as_deref()
        .map(|p| read(p, "dpia.toml"))
        .transpose()?;
    let previous = args
        .previous
        .as_deref()
        .map(|p| read(p, "the previous report"))
        .transpose()?;
    let audit = args
        .audit
        .as_deref()
        .map(|p| read(p, "the audit results"))
        .transpose()?;
    let ledger = match &args.database {
        None => None,
        Some(url) => {
            check_sqlite_exists(url)?;
            let tty = std::io::stderr().is_terminal();
            Some(crate::service::runtime()?.block_on(async {
                let store = AnyStore::open(url)
                    .await
                    .map_err(|error| format!("cannot open `{url}`: {error}"))?;
                let read = ward_report::read_ledger(&store, |n| {
                    if tty {
                        let _ = write!(std::io::stderr(), "\rreading the ledger: {n} entries");
                    }
                })
                .await
                .map_err(|error| format!("cannot read the ledger: {error}"));
                if tty {
                    let _ = writeln!(std::io::stderr());
                }
                read
            })?)
        }
    };
    let policy_path = args.policy.display().to_string();
    let dpia_path = args
        .dpia
        .as_ref()
        .map_or_else(String::new, |p| p.display().to_string());
    let report = ward_report::build(ward_report::Inputs {
        policy_path: &policy_path,
        policy_source: &policy_source,
        dpia_source: dpia_source.as_deref(),
        previous: previous.as_deref(),
        audit: audit.as_deref(),
        ledger,
        as_of: args.as_of,
    })
    .map_err(|error| match error {
        ward_report::ReportError::Dpia(error) => format!("{dpia_path}:{error}"),
        error @ ward_report::ReportError::Audit { .. } => format!(
            "{}:{error}",
            args.audit
                .as_ref()
                .map_or_else(String::new, |p| p.display().to_string())
        ),
        other => other.to_string(),
    })?;
    for decision in &report.decisions_not_proposed {
        let _ = writeln!(
            std::io::stderr(),
            "warning: {dpia_path}:{}:{}: risk `{}` is not proposed in this report; its \
             decision is shown in step 5 under \"Decisions for risks not proposed this time\"",
            decision.line,
            decision.column,
            decision.id
        );
    }
    let html = ward_report::to_html(&report).map_err(|error| error.to_string())?;
    std::fs::create_dir_all(&args.out)
        .map_err(|error| format!("cannot create `{}`: {error}", args.out.display()))?;
    for (name, text) in [
        ("report.json", ward_report::to_json(&report)),
        ("report.html", html),
    ] {
        let path = args.out.join(name);
        std::fs::write(&path, text)
            .map_err(|error| format!("cannot write `{}`: {error}", path.display()))?;
    }
    let tampered = report
        .integrity
        .ledger
        .as_ref()
        .is_some_and(|ledger| !ledger.verified);
    crate::print(&format!(
        "wrote {} and {}\n",
        args.out.join("report.json").display(),
        args.out.join("report.html").display()
    ))?;
    if tampered {
        let _ = writeln!(
            std::io::stderr(),
            "error: the ledger failed verification; the report says so on its first page"
        );
        return Ok(ExitCode::from(1));
    }
    Ok(ExitCode::SUCCESS)
}
