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

    let node = Command::new("node")
        .arg("pages.test.mjs")
        .current_dir(&tests)
        .env("WARD_BASE", &server.base)
        .env("WARD_ADMIN", &token)
        .env("WARD_SCREENSHOTS", &screenshots)
        .env("WARD_CHROMIUM", &chromium)
        .env("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("node starts");
    // A watchdog: a hung browser fails the test instead of hanging it.
    let pid = node.id();
    let (done, finished) = mpsc::channel::<()>();
    let watchdog = std::thread::spawn(move || {
        if finished.recv_timeout(DEADLINE).is_err() {
            let _ = Command::new("kill").arg(pid.to_string()).status();
            return true;
        }
        false
    });
    let output = node.wait_with_output().expect("node ran");
    let _ = done.send(());
    let killed = watchdog.join().unwrap_or(false);
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    println!("{stdout}");
    eprintln!("{stderr}");
    assert!(!killed, "the browser tests took longer than {DEADLINE:?}");
    assert!(
        output.status.success(),
        "the browser tests failed ({}):\n{stdout}\n{stderr}",
        output.status
    );
    println!("screenshots in {}", screenshots.display());
    drop(server);
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
    let audit = crate::ward(&[
        "audit",
        "--policy",
        "examples/clipstream.toml",
        "--spec",
        spec.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(audit.status.code(), Some(0), "{audit:?}");
    let screenshots = std::env::var_os("WARD_SCREENSHOTS").map_or_else(
        || Path::new(env!("CARGO_TARGET_TMPDIR")).join("screenshots"),
        |dir| root.join(dir),
    );
    let node = Command::new("node")
        .arg("report.test.mjs")
        .current_dir(&tests)
        .env("WARD_REPORT", out.join("report.html"))
        .env("WARD_SCREENSHOTS", &screenshots)
        .env("WARD_CHROMIUM", &chromium)
        .env("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("node starts");
    let pid = node.id();
    let (done, finished) = mpsc::channel::<()>();
    let watchdog = std::thread::spawn(move || {
        if finished.recv_timeout(DEADLINE).is_err() {
            let _ = Command::new("kill").arg(pid.to_string()).status();
            return true;
        }
        false
    });
    let output = node.wait_with_output().expect("node ran");
    let _ = done.send(());
    let killed = watchdog.join().unwrap_or(false);
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    println!("{stdout}");
    eprintln!("{stderr}");
    assert!(
        !killed,
        "the report's browser test took longer than {DEADLINE:?}"
    );
    assert!(
        output.status.success(),
        "the report's browser test failed ({}):\n{stdout}\n{stderr}",
        output.status
    );
}
