//! Database faults a production deployment meets, through the real `aoc` binary: PostgreSQL
//! down when AOC starts, restarted in the middle of an import and of a fetch, a wrong password,
//! a missing database, a read-only SQLite file.
//!
//! PostgreSQL is restarted here, so these tests never touch the shared server: each creates a
//! throwaway cluster of its own (initdb into a temporary directory, its own port and socket
//! directory) and skips, saying why, where the PostgreSQL server binaries are not installed.

use std::collections::HashMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::time::{Duration, Instant};

use aoc_sim::{EventRates, SimConfig};
use chrono::{SubsecRound, Utc};

/// The message the store logs when an outage begins (once per outage).
const OUTAGE: &str = "the database is unavailable";
const PASSWORD: &str = "s3cret-pw";

/// A PostgreSQL cluster of the test's own, stopped when dropped.
struct Cluster {
    bin: PathBuf,
    dir: tempfile::TempDir,
    port: u16,
    /// initdb refuses to run as root: the cluster then belongs to `postgres`.
    as_postgres: bool,
}

impl Cluster {
    /// A new cluster, initialised but not started; None (after saying why) when the server
    /// binaries are missing.
    fn init() -> Option<Self> {
        let Some(bin) = server_binaries() else {
            eprintln!(
                "skipped: no PostgreSQL server binaries (/usr/lib/postgresql/*/bin/initdb) to \
                 create a throwaway cluster with"
            );
            return None;
        };
        let as_postgres = is_root();
        let dir = tempfile::tempdir().unwrap();
        let pwfile = dir.path().join("pw");
        std::fs::write(&pwfile, PASSWORD).unwrap();
        if as_postgres {
            let (uid, gid) = postgres_ids();
            for path in [dir.path(), pwfile.as_path()] {
                std::os::unix::fs::chown(path, Some(uid), Some(gid)).unwrap();
            }
        }
        let port = free_port();
        let cluster = Self {
            bin,
            dir,
            port,
            as_postgres,
        };
        let data = cluster.data();
        let out = cluster.tool(
            "initdb",
            &[
                "-D",
                data.to_str().unwrap(),
                "-U",
                "postgres",
                "--auth-local=trust",
                "--auth-host=scram-sha-256",
                &format!("--pwfile={}", pwfile.display()),
                "-E",
                "UTF8",
                "--no-sync",
            ],
        );
        assert!(out.status.success(), "initdb: {}", text(&out));
        Some(cluster)
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn url_with(&self, password: &str, database: &str) -> String {
        format!(
            "postgres://postgres:{password}@127.0.0.1:{}/{database}",
            self.port
        )
    }

    fn url(&self) -> String {
        self.url_with(PASSWORD, "postgres")
    }

    /// DATABASE_URL as AOC's messages name it (no password).
    fn shown(&self) -> String {
        format!(
            "DATABASE_URL=postgres://postgres@127.0.0.1:{}/postgres",
            self.port
        )
    }

    fn tool(&self, name: &str, args: &[&str]) -> Output {
        let program = self.bin.join(name);
        let mut cmd = if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(program);
            c
        } else {
            Command::new(program)
        };
        // To a file, not a pipe: a server that pg_ctl starts keeps the pipe open, and reading
        // it to the end would wait for the server to stop.
        let capture = self.dir.path().join(format!("{name}.out"));
        let file = std::fs::File::create(&capture).unwrap();
        let status = cmd
            .args(args)
            .current_dir(self.dir.path())
            .stdin(Stdio::null())
            .stdout(file.try_clone().unwrap())
            .stderr(file)
            .status()
            .unwrap();
        Output {
            status,
            stdout: std::fs::read(&capture).unwrap_or_default(),
            stderr: Vec::new(),
        }
    }

    fn pg_ctl(&self, args: &[&str]) {
        let data = self.data();
        let mut all = vec!["-D", data.to_str().unwrap(), "-w", "-t", "60"];
        all.extend_from_slice(args);
        let out = self.tool("pg_ctl", &all);
        assert!(out.status.success(), "pg_ctl {args:?}: {}", text(&out));
    }

    fn start(&self) {
        let log = self.dir.path().join("server.log");
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off",
            self.port,
            self.dir.path().display()
        );
        self.pg_ctl(&["-l", log.to_str().unwrap(), "-o", &options, "start"]);
    }

    /// What a routine restart or a failover does to clients: every connection is cut.
    /// `pg_ctl restart -m fast` done by hand: SIGINT to the postmaster (a fast shutdown) at
    /// once, without pg_ctl's start-up time letting a running statement finish first.
    fn restart(&self) {
        let pidfile = self.data().join("postmaster.pid");
        let pid = std::fs::read_to_string(&pidfile).unwrap();
        let pid = pid.lines().next().unwrap().trim().to_string();
        let status = Command::new("kill").args(["-INT", &pid]).status().unwrap();
        assert!(status.success(), "kill -INT {pid}");
        let started = Instant::now();
        while pidfile.exists() {
            assert!(started.elapsed() < Duration::from_secs(60), "no shutdown");
            std::thread::sleep(Duration::from_millis(20));
        }
        self.start();
    }

    async fn count(&self) -> i64 {
        use sqlx::Connection as _;
        let mut conn = sqlx::PgConnection::connect(&self.url()).await.unwrap();
        sqlx::query_scalar("SELECT count(*) FROM events")
            .fetch_one(&mut conn)
            .await
            .unwrap()
    }

    /// Whether an insert of events is running now.
    async fn inserting(&self) -> bool {
        use sqlx::Connection as _;
        let Ok(mut conn) = sqlx::PgConnection::connect(&self.url()).await else {
            return false;
        };
        sqlx::query_scalar::<_, i64>(
            "SELECT count(*) FROM pg_stat_activity \
             WHERE state = 'active' AND query LIKE 'INSERT INTO events%'",
        )
        .fetch_one(&mut conn)
        .await
        .is_ok_and(|n| n > 0)
    }

    /// Events stored so far, 0 while the schema is not there yet or the server is away.
    async fn count_so_far(&self) -> i64 {
        use sqlx::Connection as _;
        let Ok(mut conn) = sqlx::PgConnection::connect(&self.url()).await else {
            return 0;
        };
        sqlx::query_scalar("SELECT count(*) FROM events")
            .fetch_one(&mut conn)
            .await
            .unwrap_or(0)
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let data = self.data();
        let _ = self.tool(
            "pg_ctl",
            &["-D", data.to_str().unwrap(), "-m", "immediate", "stop"],
        );
    }
}

fn server_binaries() -> Option<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| e.ok())
        .map(|e| e.path().join("bin"))
        .filter(|bin| bin.join("initdb").is_file() && bin.join("pg_ctl").is_file())
        .collect();
    found.sort();
    found.pop()
}

fn is_root() -> bool {
    let out = Command::new("id").arg("-u").output().unwrap();
    String::from_utf8_lossy(&out.stdout).trim() == "0"
}

fn postgres_ids() -> (u32, u32) {
    let id = |flag: &str| -> u32 {
        let out = Command::new("id")
            .args([flag, "postgres"])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
    };
    (id("-u"), id("-g"))
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// `aoc` with a clean slate of AOC's variables plus `vars`, in `dir` (no `.env` there),
/// stdout and stderr to files in it.
fn aoc(dir: &Path, args: &[&str], vars: &[(&str, &str)]) -> Child {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_aoc"));
    cmd.args(args).current_dir(dir);
    for s in aoc_app::config::SETTINGS {
        cmd.env_remove(s.name)
            .env_remove(aoc_app::config::file_variable(s.name));
    }
    cmd.env("AOC_LOG", "info").env("NO_COLOR", "1");
    for (k, v) in vars {
        cmd.env(k, v);
    }
    cmd.stdin(Stdio::null())
        .stdout(std::fs::File::create(dir.join("out.txt")).unwrap())
        .stderr(std::fs::File::create(dir.join("err.txt")).unwrap())
        .spawn()
        .unwrap()
}

fn stderr_of(dir: &Path) -> String {
    std::fs::read_to_string(dir.join("err.txt")).unwrap_or_default()
}

fn stdout_of(dir: &Path) -> String {
    std::fs::read_to_string(dir.join("out.txt")).unwrap_or_default()
}

async fn wait_exit(child: &mut Child, limit: Duration) -> ExitStatus {
    let started = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            panic!("still running after {limit:?}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn wait_for(what: &str, limit: Duration, mut done: impl FnMut() -> bool) {
    let started = Instant::now();
    while !done() {
        assert!(started.elapsed() < limit, "no {what} within {limit:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A start-up that cannot connect fails in one line (within seconds), or waits as long as it
/// was told to; a wrong password and a missing database fail at once, however long it may wait.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_down_at_start_up_is_named_at_once_or_waited_for() {
    let Some(pg) = Cluster::init() else { return };
    let work = tempfile::tempdir().unwrap();
    let serve = ["serve", "--bind", "127.0.0.1:0"];

    // Down, with little patience: the cause, where, and what to do, in one line.
    let started = Instant::now();
    let url = pg.url();
    let mut child = aoc(
        work.path(),
        &serve,
        &[
            ("DATABASE_URL", &url),
            ("DATABASE_STARTUP_TIMEOUT_SECONDS", "1"),
        ],
    );
    let status = wait_exit(&mut child, Duration::from_secs(20)).await;
    let err = stderr_of(work.path());
    assert!(!status.success(), "{err}");
    assert!(started.elapsed() < Duration::from_secs(8), "{err}");
    let error_line = err.lines().find(|l| l.starts_with("error: ")).unwrap_or("");
    assert!(error_line.contains("connection refused"), "{err}");
    assert!(error_line.contains(&pg.shown()), "{err}");
    assert!(!err.contains(PASSWORD), "the password is shown: {err}");
    assert_eq!(err.matches("waiting for PostgreSQL").count(), 1, "{err}");

    // Down, with patience: one line says it waits, and serving begins once it is up.
    let mut child = aoc(
        work.path(),
        &serve,
        &[
            ("DATABASE_URL", &url),
            ("DATABASE_STARTUP_TIMEOUT_SECONDS", "60"),
        ],
    );
    wait_for("waiting line", Duration::from_secs(20), || {
        stderr_of(work.path()).contains("waiting for PostgreSQL")
    })
    .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    pg.start();
    wait_for("listening line", Duration::from_secs(60), || {
        stderr_of(work.path()).contains("listening on http://")
    })
    .await;
    let err = stderr_of(work.path());
    assert_eq!(err.matches("waiting for PostgreSQL").count(), 1, "{err}");
    let at = err.find("listening on http://").unwrap();
    let base: String = err[at + "listening on ".len()..]
        .chars()
        .take_while(|c| !c.is_whitespace())
        .collect();
    let ready = reqwest::get(format!("{base}/ready")).await.unwrap();
    assert_eq!(ready.status().as_u16(), 200);
    let body: serde_json::Value = ready.json().await.unwrap();
    assert_eq!(body["status"], "ready", "{body}");
    assert_eq!(body["checks"]["migrations"], "ok", "{body}");
    let _ = child.kill();
    let _ = child.wait();

    // Up, but what waiting cannot fix: at once, with a patience of minutes.
    for (url, expected) in [
        (pg.url_with("wrong", "postgres"), "password"),
        (pg.url_with(PASSWORD, "nosuch"), "no such database"),
    ] {
        let started = Instant::now();
        let mut child = aoc(
            work.path(),
            &serve,
            &[
                ("DATABASE_URL", &url),
                ("DATABASE_STARTUP_TIMEOUT_SECONDS", "300"),
            ],
        );
        let status = wait_exit(&mut child, Duration::from_secs(30)).await;
        let err = stderr_of(work.path());
        assert!(!status.success(), "{err}");
        assert!(started.elapsed() < Duration::from_secs(10), "{err}");
        assert!(err.contains(expected), "{expected}: {err}");
        assert!(!err.contains("waiting for PostgreSQL"), "{err}");
        assert!(!err.contains("wrong@"), "the password is shown: {err}");
    }
}

/// JSON lines of `n` distinct directory audit records.
fn big_export(path: &Path, n: usize) {
    let fixture = std::fs::read_to_string(crate::common::fixture("mixed.jsonl")).unwrap();
    let template: serde_json::Value =
        serde_json::from_str(fixture.lines().next().unwrap()).unwrap();
    let mut out = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    for i in 0..n {
        let mut record = template.clone();
        record["id"] = format!("Directory_restart-{i:08}").into();
        record["correlationId"] = format!("00000000-0000-0000-0000-{i:012}").into();
        serde_json::to_writer(&mut out, &record).unwrap();
        out.write_all(b"\n").unwrap();
    }
    out.flush().unwrap();
}

/// Restart the cluster once `child` has stored `at_least` events, while it still runs.
async fn restart_part_way(pg: &Cluster, child: &mut Child, at_least: i64) {
    let started = Instant::now();
    loop {
        assert!(
            child.try_wait().unwrap().is_none(),
            "it ended before the restart: make the job bigger"
        );
        // With an insert running, so the restart cuts a statement off (idle connections the
        // pool replaces without anyone noticing).
        if pg.count_so_far().await >= at_least && pg.inserting().await {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "nothing stored"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    pg.restart();
    assert!(
        child.try_wait().unwrap().is_none(),
        "it ended during the restart: make the job bigger"
    );
}

fn outage_lines(log: &str) -> usize {
    log.lines().filter(|l| l.contains(OUTAGE)).count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_during_an_import_is_ridden_out() {
    let Some(pg) = Cluster::init() else { return };
    pg.start();
    let work = tempfile::tempdir().unwrap();
    const RECORDS: usize = 60_000;
    let file = work.path().join("big.jsonl");
    big_export(&file, RECORDS);

    let url = pg.url();
    let mut child = aoc(
        work.path(),
        &["import", file.to_str().unwrap()],
        &[("DATABASE_URL", &url)],
    );
    restart_part_way(&pg, &mut child, 5_000).await;
    let status = wait_exit(&mut child, Duration::from_secs(300)).await;
    let err = stderr_of(work.path());
    assert!(status.success(), "{err}");
    assert!(
        stdout_of(work.path()).contains(&format!("{RECORDS} new, 0 duplicates, 0 rejected")),
        "{}",
        stdout_of(work.path())
    );
    assert_eq!(pg.count().await, i64::try_from(RECORDS).unwrap());
    assert_eq!(outage_lines(&err), 1, "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_during_a_fetch_is_ridden_out() {
    let Some(pg) = Cluster::init() else { return };
    pg.start();
    // Directory audits come 1000 a page: enough pages for the restart to land among them.
    let sim = aoc_sim::start(SimConfig {
        days: 2,
        now: Some(Utc::now().trunc_subsecs(0)),
        events_per_day: EventRates {
            directory: 15_000,
            intune: 200,
            unified: 3_000,
        },
        ..SimConfig::default()
    })
    .await
    .unwrap();
    let truth: u64 = crate::ingest::truth(&sim).values().sum();
    let work = tempfile::tempdir().unwrap();
    let env: HashMap<String, String> = crate::ingest::sim_env(&sim, Path::new("unused"));
    let mut vars: Vec<(&str, &str)> = env
        .iter()
        .filter(|(k, _)| k.as_str() != "DATABASE_URL")
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let url = pg.url();
    vars.push(("DATABASE_URL", &url));

    let mut child = aoc(work.path(), &["fetch", "--hours", "72", "--json"], &vars);
    restart_part_way(&pg, &mut child, 2_000).await;
    let status = wait_exit(&mut child, Duration::from_secs(300)).await;
    let err = stderr_of(work.path());
    assert!(status.success(), "{err}");
    let report: serde_json::Value = serde_json::from_str(&stdout_of(work.path())).unwrap();
    assert_eq!(report["stored"], truth, "{report}");
    for (source, result) in report["sources"].as_object().unwrap() {
        assert!(result["error"].is_null(), "{source}: {report}");
    }
    assert_eq!(pg.count().await, i64::try_from(truth).unwrap());
    assert_eq!(outage_lines(&err), 1, "{err}");
}

/// A SQLite file AOC may not write: one line naming DATABASE_URL and what to do.
#[tokio::test]
async fn a_read_only_sqlite_file_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("aoc.db");
    let url = format!("sqlite://{}", db.display());
    drop(aoc_store::open(&url).await.unwrap());
    // Closed cleanly: no -wal or -shm file left to write to.
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o444)).unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o555)).unwrap();

    // Root writes anything: run AOC as an ordinary user then. That user may not be able to
    // reach the checkout (a clone in a private temp folder), so the binary and the input go to
    // a folder everyone can read.
    let public = tempfile::tempdir().unwrap();
    std::fs::set_permissions(public.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let exe = public.path().join("aoc");
    std::fs::copy(env!("CARGO_BIN_EXE_aoc"), &exe).unwrap();
    let input = public.path().join("mixed.jsonl");
    std::fs::copy(crate::common::fixture("mixed.jsonl"), &input).unwrap();
    let mut cmd = if is_root() {
        let mut c = Command::new("runuser");
        c.args(["-u", "nobody", "--"]).arg(&exe);
        c
    } else {
        Command::new(&exe)
    };
    let out = cmd
        .args(["import", input.to_str().unwrap()])
        .current_dir(std::env::temp_dir())
        .env("DATABASE_URL", &url)
        .env("AOC_LOG", "warn")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{err}");
    let line = err.lines().find(|l| l.starts_with("error: ")).unwrap_or("");
    assert!(line.contains("read-only"), "{err}");
    assert!(line.contains(&format!("DATABASE_URL={url}")), "{err}");
    assert!(line.contains("writable"), "{err}");
}
