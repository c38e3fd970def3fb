//! The real server as a child process (`aoc serve` from this same binary), for start-up time,
//! idle memory and query latency over HTTP; and reading a process's memory from /proc.

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::Context;
use tokio::process::{Child, Command};

/// How long start-up may take before the bench gives up.
const START_TIMEOUT: Duration = Duration::from_secs(60);

pub struct Server {
    child: Child,
    pub pid: u32,
    pub base_url: String,
}

impl Server {
    /// Spawn `aoc serve` on `database_url` and wait until /health answers 200. Returns the
    /// server and the time from spawn to the first healthy answer.
    pub async fn start(
        client: &reqwest::Client,
        database_url: &str,
        log: &Path,
    ) -> anyhow::Result<(Server, Duration)> {
        let exe = own_binary()?;
        let port = free_port()?;
        let log_file = std::fs::File::create(log)
            .with_context(|| format!("cannot create {}", log.display()))?;
        let start = Instant::now();
        let mut child = Command::new(exe)
            .arg("serve")
            .env("DATABASE_URL", database_url)
            .env("BIND_ADDR", format!("127.0.0.1:{port}"))
            // The bench fires requests back to back from one address.
            .env("RATE_LIMIT_ENABLED", "false")
            .env("AUTH_ENABLED", "false")
            .env("ENABLE_PERIODIC_FETCH", "false")
            .env("AOC_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log_file)
            .kill_on_drop(true)
            .spawn()
            .context("cannot start `aoc serve`")?;
        let pid = child.id().context("the server exited at once")?;
        let base_url = format!("http://127.0.0.1:{port}");
        let health = format!("{base_url}/health");
        loop {
            if let Ok(r) = client.get(&health).send().await
                && r.status().is_success()
            {
                break;
            }
            if let Some(status) = child.try_wait()? {
                anyhow::bail!(
                    "the server exited during start-up ({status}); see {}",
                    log.display()
                );
            }
            if start.elapsed() > START_TIMEOUT {
                anyhow::bail!("the server was not healthy within {START_TIMEOUT:?}");
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        let took = start.elapsed();
        Ok((
            Server {
                child,
                pid,
                base_url,
            },
            took,
        ))
    }

    /// Ask the server to shut down (SIGTERM through `kill`, as an operator would), and kill
    /// it if it has not gone within a few seconds.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.pid.to_string())
            .status()
            .await;
        if tokio::time::timeout(Duration::from_secs(10), self.child.wait())
            .await
            .is_err()
        {
            self.child.kill().await?;
        }
        Ok(())
    }
}

/// This binary. When a rebuild replaced it while the bench ran, Linux names the running one
/// "<path> (deleted)": the new binary at <path> is then the one to start.
fn own_binary() -> anyhow::Result<std::path::PathBuf> {
    let exe = std::env::current_exe().context("cannot find the aoc binary")?;
    if exe.exists() {
        return Ok(exe);
    }
    let text = exe.to_string_lossy();
    match text.strip_suffix(" (deleted)") {
        Some(path) if Path::new(path).exists() => Ok(path.into()),
        _ => anyhow::bail!("the aoc binary {} is gone", exe.display()),
    }
}

/// A port nobody listens on right now (the OS picks it; the child binds it a moment later).
fn free_port() -> anyhow::Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(listener.local_addr()?.port())
}

/// Resident and peak resident memory of a process, in bytes (Linux /proc; None elsewhere).
#[derive(Debug, Clone, Copy, Default)]
pub struct Memory {
    pub rss: Option<u64>,
    pub peak: Option<u64>,
}

pub fn memory(pid: &str) -> Memory {
    let Ok(status) = std::fs::read_to_string(format!("/proc/{pid}/status")) else {
        return Memory::default();
    };
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            .map(|kb| kb * 1024)
    };
    Memory {
        rss: field("VmRSS:"),
        peak: field("VmHWM:"),
    }
}

/// Reset this process's peak RSS (VmHWM) so the next reading covers only what follows.
/// Returns false where the kernel does not allow it (then the peak covers the whole run).
pub fn reset_own_peak() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}
