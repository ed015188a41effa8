//! The pages in a real browser: runs `tests/browser/pages.test.mjs` (Debian's chromium driven
//! by playwright-core, checked by axe-core) against a real `ward serve`.
//!
//! Needs node, the npm packages (`npm ci` in `tests/browser`) and chromium. When any is
//! missing the test prints `skipped: …` and passes, unless `WARD_TEST_BROWSER=required`
//! (as `.ci/run` sets), when it fails. Screenshots go to `WARD_SCREENSHOTS` when set
//! (`docs/screenshots` to refresh the README's), else under the target directory.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use crate::repo_root;
use crate::serve::{Serving, admin_key};

/// The whole browser run may take this long (chromium starting on a busy 2-core machine
/// included) before it is killed and the test fails.
const DEADLINE: Duration = Duration::from_secs(300);

/// What is missing for the browser tests, if anything.
fn missing(tests: &Path, chromium: &Path) -> Option<String> {
    let node = Command::new("node")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    if !node.is_ok_and(|status| status.success()) {
        return Some("node is not installed".to_owned());
    }
    for package in ["playwright-core", "axe-core"] {
        if !tests.join("node_modules").join(package).is_dir() {
            return Some(format!(
                "the npm package {package} is not installed (run `npm ci` in tests/browser)"
            ));
        }
    }
    if !chromium.is_file() {
        return Some(format!(
            "no browser at {} (apt-get install chromium, or set WARD_CHROMIUM)",
            chromium.display()
        ));
    }
    None
}

#[test]
fn the_pages_work_in_a_real_browser() {
    let root = repo_root();
    let tests = root.join("tests/browser");
    let chromium = std::env::var_os("WARD_CHROMIUM")
        .map_or_else(|| PathBuf::from("/usr/bin/chromium"), PathBuf::from);
    let required = std::env::var("WARD_TEST_BROWSER").is_ok_and(|value| value == "required");
    if let Some(why) = missing(&tests, &chromium) {
        assert!(
            !required,
            "WARD_TEST_BROWSER=required, but the browser tests cannot run: {why}"
        );
        eprintln!("skipped: the browser tests ({why}; WARD_TEST_BROWSER=required makes this fail)");
        return;
    }

    let dir = tempfile::tempdir().unwrap();
    let database = dir.path().join("ward.db");
    let database = database.to_str().unwrap();
    let token = admin_key(database);
    let server = Serving::start(database, &root.join("examples/clipstream.toml"));
    let screenshots = std::env::var_os("WARD_SCREENSHOTS").map_or_else(
        || Path::new(env!("CARGO_TARGET_TMPDIR")).join("screenshots"),
        |dir| root.join(dir),
    );

    let mut node = Command::new("node");
    node.arg("pages.test.mjs")
        .current_dir(&tests)
        .env("WARD_BASE", &server.base)
        .env("WARD_ADMIN", &token)
        .env("WARD_SCREENSHOTS", &screenshots)
        .env("WARD_CHROMIUM", &chromium)
        .env("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1");
    // A hung browser fails the test instead of hanging it.
    run_node(node, "the browser tests");
    println!("screenshots in {}", screenshots.display());
    drop(server);
}

/// Runs `what` under the watchdog: killed and failed after [`DEADLINE`].
fn run_node(mut command: Command, what: &str) {
    let child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("node starts");
    let pid = child.id();
    let (done, finished) = mpsc::channel::<()>();
    let watchdog = std::thread::spawn(move || {
        if finished.recv_timeout(DEADLINE).is_err() {
            let _ = Command::new("kill").arg(pid.to_string()).status();
            return true;
        }
        false
    });
    let output = child.wait_with_output().expect("node ran");
    let _ = done.send(());
    let killed = watchdog.join().unwrap_or(false);
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    eprintln!("{stdout}");
    eprintln!("{stderr}");
    assert!(!killed, "{what} took longer than {DEADLINE:?}");
    assert!(
        output.status.success(),
        "{what} failed ({}):\n{stdout}\n{stderr}",
        output.status
    );
}

/// The DPIA report of a store seeded through the API, in Chromium: axe-clean on screen and
/// in print, every plot named and described, then printed to PDF by Chromium; poppler's
/// `pdfinfo` reads the PDF (a page per step at least) and `pdftoppm` renders its first page
/// as the PNG the README shows (`WARD_SCREENSHOTS=docs/screenshots` refreshes it).
#[test]
fn the_report_is_accessible_and_prints_a_page_per_step() {
    let root = repo_root();
    let tests = root.join("tests/browser");
    let chromium = std::env::var_os("WARD_CHROMIUM")
        .map_or_else(|| PathBuf::from("/usr/bin/chromium"), PathBuf::from);
    let required = std::env::var("WARD_TEST_BROWSER").is_ok_and(|value| value == "required");
    let poppler = ["pdfinfo", "pdftoppm"].into_iter().find(|tool| {
        !Command::new(tool)
            .arg("-v")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|status| status.success())
    });
    let why = missing(&tests, &chromium).or_else(|| {
        poppler.map(|tool| format!("{tool} is not installed (apt-get install poppler-utils)"))
    });
    if let Some(why) = why {
        assert!(
            !required,
            "WARD_TEST_BROWSER=required, but the report's browser test cannot run: {why}"
        );
        eprintln!(
            "skipped: the report's browser test ({why}; WARD_TEST_BROWSER=required makes this fail)"
        );
        return;
    }

    let dir = tempfile::tempdir().unwrap();
    let database = dir.path().join("ward.db");
    let database = database.to_str().unwrap();
    crate::report::seeded(database);
    // A small audit, so the report's audit section, its plot and its curves are checked too;
    // the example dpia.toml's decision on `audit-missing` (not proposed with --audit) is then
    // shown apart in step 5.
    let audit = crate::report::small_audit(dir.path());
    let dpia = root.join("examples/dpia/clipstream.toml");
    let out = dir.path().join("report");
    let output = crate::ward(&[
        "report",
        "--policy",
        "examples/clipstream.toml",
        "--dpia",
        dpia.to_str().unwrap(),
        "--database",
        database,
        "--audit",
        audit.join("results.json").to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    let screenshots = std::env::var_os("WARD_SCREENSHOTS").map_or_else(
        || Path::new(env!("CARGO_TARGET_TMPDIR")).join("screenshots"),
        |dir| root.join(dir),
    );
    // Kept under the target directory, to look at after the run.
    let pdf = Path::new(env!("CARGO_TARGET_TMPDIR")).join("report.pdf");
    let mut node = Command::new("node");
    node.arg("dpia.test.mjs")
        .current_dir(&tests)
        .env("WARD_REPORT", out.join("report.html"))
        .env("WARD_PDF", &pdf)
        .env("WARD_SCREENSHOTS", &screenshots)
        .env("WARD_CHROMIUM", &chromium)
        .env("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1");
    run_node(node, "the report's browser test");

    let info = Command::new("pdfinfo")
        .arg(&pdf)
        .output()
        .expect("pdfinfo runs");
    assert!(info.status.success(), "pdfinfo rejects the PDF: {info:?}");
    let info = String::from_utf8_lossy(&info.stdout);
    let pages: u32 = info
        .lines()
        .find_map(|line| line.strip_prefix("Pages:"))
        .and_then(|n| n.trim().parse().ok())
        .expect("pdfinfo names the page count");
    // The cover, then each of the seven steps on a page of its own.
    assert!(pages >= 8, "{pages} pages:\n{info}");
    assert!(info.contains("A4"), "{info}");
    std::fs::create_dir_all(&screenshots).unwrap();
    let png = Command::new("pdftoppm")
        .args(["-png", "-f", "1", "-l", "1", "-r", "60", "-singlefile"])
        .arg(&pdf)
        .arg(screenshots.join("report-print-page1"))
        .status()
        .expect("pdftoppm runs");
    assert!(png.success());
    let bytes = std::fs::read(screenshots.join("report-print-page1.png")).unwrap();
    assert!(bytes.starts_with(b"\x89PNG\r\n\x1a\n"), "a PNG");
    println!("report screenshots in {}", screenshots.display());
}

/// The spec of the report the browser opens (and the README's screenshot shows).
const REPORT_SPEC: &str = "seeds = 3\nslates = 100\nbands = [\"10-12\", \"13-15\"]\nrecommenders = [\"engagement\", \"matrix_factorisation\"]\nswitch_back_after = 60\n\n[catalogue]\ngenerate = 5000\n";

#[test]
fn the_audit_report_works_in_a_real_browser() {
    let root = repo_root();
    let tests = root.join("tests/browser");
    let chromium = std::env::var_os("WARD_CHROMIUM")
        .map_or_else(|| PathBuf::from("/usr/bin/chromium"), PathBuf::from);
    let required = std::env::var("WARD_TEST_BROWSER").is_ok_and(|value| value == "required");
    if let Some(why) = missing(&tests, &chromium) {
        assert!(
            !required,
            "WARD_TEST_BROWSER=required, but the browser tests cannot run: {why}"
        );
        eprintln!(
            "skipped: the report's browser test ({why}; WARD_TEST_BROWSER=required makes this fail)"
        );
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let spec = dir.path().join("audit.toml");
    std::fs::write(&spec, REPORT_SPEC).unwrap();
    let out = dir.path().join("out");
    let audit = crate::audit::audit_clipstream(&spec, &out, &[]);
    assert_eq!(audit.status.code(), Some(0), "{audit:?}");
    let screenshots = std::env::var_os("WARD_SCREENSHOTS").map_or_else(
        || Path::new(env!("CARGO_TARGET_TMPDIR")).join("screenshots"),
        |dir| root.join(dir),
    );
    let mut node = Command::new("node");
    node.arg("audit.test.mjs")
        .current_dir(&tests)
        .env("WARD_REPORT", out.join("report.html"))
        .env("WARD_SCREENSHOTS", &screenshots)
        .env("WARD_CHROMIUM", &chromium)
        .env("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1");
    run_node(node, "the audit report's browser test");
}
