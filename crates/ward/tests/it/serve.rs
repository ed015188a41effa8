//! `ward serve` as a real process: started on a real port, stopped with signals.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use crate::{repo_root, stdout, ward};

/// A running `ward serve`.
pub(crate) struct Serving {
    pub(crate) process: Child,
    pub(crate) base: String,
}

impl Serving {
    /// Starts `ward serve` on `database` with the example `policy`, on a free port, and
    /// waits for it to say where it listens.
    pub(crate) fn start(database: &str, policy: &Path) -> Self {
        Self::start_with(database, policy, &[])
    }

    /// The same, with more flags for `ward serve`.
    pub(crate) fn start_with(database: &str, policy: &Path, flags: &[&str]) -> Self {
        let mut process = Command::new(env!("CARGO_BIN_EXE_ward"))
            .args([
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--no-bootstrap-key",
                "--database",
                database,
            ])
            .arg("--policy")
            .arg(policy)
            .args(flags)
            .current_dir(repo_root())
            .env("NO_COLOR", "1")
            .env("WARD_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("ward serve starts");
        let stderr = process.stderr.take().expect("stderr is piped");
        let (sender, receiver) = mpsc::channel();
        // Keeps reading stderr for the life of the process so it never blocks on a full pipe.
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(address) = line.strip_prefix("ward: listening on ") {
                    let _ = sender.send(address.to_owned());
                } else {
                    eprintln!("[ward serve] {line}");
                }
            }
        });
        let base = receiver
            .recv_timeout(Duration::from_secs(60))
            .expect("ward serve said where it listens");
        Self { process, base }
    }

    /// SIGKILL: no chance to flush or finish anything.
    pub(crate) fn kill(mut self) {
        self.process.kill().expect("kill");
        self.process.wait().expect("reaped");
    }
}

impl Drop for Serving {
    fn drop(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}

/// Creates an admin key with the CLI and returns its token.
pub(crate) fn admin_key(database: &str) -> String {
    let output = ward(&[
        "keys",
        "create",
        "--scope",
        "admin",
        "--label",
        "tests",
        "--database",
        database,
    ]);
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    stdout(&output).trim().to_owned()
}

#[test]
fn serve_refuses_a_policy_with_errors() {
    let dir = tempfile::tempdir().unwrap();
    let database = dir.path().join("ward.db");
    let output = ward(&[
        "serve",
        "--policy",
        "examples/chatterbox.toml",
        "--database",
        database.to_str().unwrap(),
        "--listen",
        "127.0.0.1:0",
    ]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("the policy has errors"), "{stderr}");
    assert!(stderr.contains("public-profile-by-default"), "{stderr}");
}

#[test]
fn keys_are_created_listed_and_revoked_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let database = dir.path().join("ward.db");
    let database = database.to_str().unwrap();
    let token = admin_key(database);
    assert!(token.starts_with("ward_"), "{token}");
    let id = token.split('_').nth(1).unwrap();
    let listed = stdout(&ward(&["keys", "list", "--database", database]));
    assert!(
        listed.contains(id) && listed.contains("admin") && listed.contains("live"),
        "{listed}"
    );
    assert!(
        !listed.contains(token.rsplit('_').next().unwrap()),
        "never the secret"
    );
    assert_eq!(
        ward(&["keys", "revoke", id, "--database", database])
            .status
            .code(),
        Some(0)
    );
    assert_eq!(
        ward(&["keys", "revoke", id, "--database", database])
            .status
            .code(),
        Some(2)
    );
    assert!(stdout(&ward(&["keys", "list", "--database", database])).contains("revoked"));
    let bad = ward(&["keys", "create", "--scope", "root", "--database", database]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("not a scope"));
    let verified = ward(&["ledger", "verify", "--database", database]);
    assert_eq!(verified.status.code(), Some(0));
    assert!(
        stdout(&verified).contains("ledger verified: 2 entries"),
        "{}",
        stdout(&verified)
    );
}

#[test]
fn migrate_runs_alone() {
    let dir = tempfile::tempdir().unwrap();
    let database = dir.path().join("ward.db");
    let output = ward(&["migrate", "--database", database.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    assert!(database.exists());
    let bad = ward(&["migrate", "--database", "mysql://nope"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("not a database ward can use"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parents_are_linked_and_listed_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let database = dir.path().join("ward.db").display().to_string();
    let token = admin_key(&database);
    let server = Serving::start(&database, &repo_root().join("examples/clipstream.toml"));
    let created = reqwest::Client::new()
        .put(format!("{}/v1/children/kid-1", server.base))
        .bearer_auth(&token)
        .json(&serde_json::json!({"age": {"method": "parent_declared", "age": 10}}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status().as_u16(), 201);
    drop(server);
    let run = |args: &[&str]| {
        let mut all = vec!["parents"];
        all.extend_from_slice(args);
        all.extend_from_slice(&["--database", &database]);
        ward(&all)
    };
    let linked = run(&["link", "kid-1", "mum"]);
    assert_eq!(linked.status.code(), Some(0), "{linked:?}");
    assert_eq!(stdout(&linked), "kid-1: mum (supervised: true)\n");
    assert_eq!(
        stdout(&run(&["list", "kid-1"])),
        "kid-1: mum (supervised: true)\n"
    );
    let again = run(&["link", "kid-1", "mum"]);
    assert_eq!(again.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&again.stderr).contains("already linked"));
    assert_eq!(
        stdout(&run(&["unlink", "kid-1", "mum"])),
        "kid-1: no parent linked (supervised: false)\n"
    );
    let missing = run(&["link", "nobody", "mum"]);
    assert_eq!(missing.status.code(), Some(2));
    let empty = tempfile::tempdir().unwrap();
    let fresh = empty.path().join("ward.db").display().to_string();
    let never_served = ward(&["parents", "list", "kid-1", "--database", &fresh]);
    assert!(String::from_utf8_lossy(&never_served.stderr).contains("run `ward serve"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sighup_reloads_the_policy() {
    let dir = tempfile::tempdir().unwrap();
    let database = dir.path().join("ward.db").display().to_string();
    let policy = dir.path().join("ward.toml");
    let original = std::fs::read_to_string(repo_root().join("examples/clipstream.toml")).unwrap();
    std::fs::write(&policy, &original).unwrap();
    let token = admin_key(&database);
    let server = Serving::start(&database, &policy);
    let generation = || async {
        let body: serde_json::Value = reqwest::Client::new()
            .get(format!("{}/v1/policy", server.base))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        body["generation"].as_i64().unwrap()
    };
    let hangup = || {
        let status = std::process::Command::new("kill")
            .args(["-HUP", &server.process.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    };
    assert_eq!(generation().await, 1);
    // A changed policy: SIGHUP loads it as generation 2. (A policy with errors is refused by
    // the same reload; `policy.rs` in ward-server's tests shows that through the admin route.)
    std::fs::write(
        &policy,
        original.replace("Videos picked for you", "Videos chosen for you"),
    )
    .unwrap();
    hangup();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while generation().await != 2 {
        assert!(
            std::time::Instant::now() < deadline,
            "SIGHUP did not reload the policy"
        );
        tokio::task::yield_now().await;
    }
    let verified = ward(&["ledger", "verify", "--database", &database]);
    assert_eq!(verified.status.code(), Some(0));
}

/// Logs written to a pipe or a file carry no ANSI colour codes (only a terminal gets colour).
#[test]
fn logs_to_a_pipe_are_plain_text() {
    let dir = tempfile::tempdir().unwrap();
    let database = dir.path().join("ward.db");
    let mut process = Command::new(env!("CARGO_BIN_EXE_ward"))
        .args(["serve", "--listen", "127.0.0.1:0", "--no-bootstrap-key"])
        .arg("--database")
        .arg(&database)
        .args(["--policy", "examples/clipstream.toml"])
        .current_dir(repo_root())
        .env_remove("NO_COLOR")
        .env("WARD_LOG", "info")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("ward serve starts");
    let stderr = process.stderr.take().expect("stderr is piped");
    let (sender, receiver) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let listening = line.starts_with("ward: listening on ");
            let _ = sender.send(line);
            if listening {
                break;
            }
        }
    });
    let mut lines = Vec::new();
    while let Ok(line) = receiver.recv_timeout(Duration::from_secs(60)) {
        let listening = line.starts_with("ward: listening on ");
        lines.push(line);
        if listening {
            break;
        }
    }
    let _ = process.kill();
    let _ = process.wait();
    let text = lines.join("\n");
    assert!(
        text.contains("policy loaded"),
        "an info log was written: {text}"
    );
    assert!(
        !text.contains('\u{1b}'),
        "no escape codes in a piped log: {text:?}"
    );
}
