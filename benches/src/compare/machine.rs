//! What the numbers were measured on: processor, cores, memory, system, compiler, revision.

use std::process::Command;

use serde::Serialize;

/// A description of the machine and the build.
#[derive(Debug, Clone, Serialize)]
pub struct Machine {
    /// The processor's model name.
    pub cpu: String,
    /// Logical cores available to this process.
    pub cores: usize,
    /// Total memory, GiB.
    pub memory_gib: f64,
    /// The operating system and kernel.
    pub os: String,
    /// `rustc -V`.
    pub rustc: String,
    /// `git describe --always --dirty` of the workspace.
    pub git: String,
}

fn command(program: &str, args: &[&str]) -> Option<String> {
    let out = Command::new(program).args(args).output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

fn read_field(path: &str, key: &str) -> Option<String> {
    let text = std::fs::read_to_string(path).ok()?;
    text.lines()
        .find(|l| l.starts_with(key))
        .and_then(|l| l.split_once(':'))
        .map(|(_, v)| v.trim().to_owned())
}

impl Machine {
    /// Looks the machine up (fields that cannot be read say "unknown").
    ///
    /// ```
    /// let m = benches::compare::machine::Machine::detect();
    /// assert!(m.cores >= 1);
    /// assert!(!m.rustc.is_empty());
    /// ```
    pub fn detect() -> Self {
        let unknown = || "unknown".to_owned();
        let memory_gib = read_field("/proc/meminfo", "MemTotal")
            .and_then(|v| v.split_whitespace().next()?.parse::<f64>().ok())
            .map_or(0.0, |kib| kib / (1024.0 * 1024.0));
        let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".to_owned());
        let repo = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
        Machine {
            cpu: read_field("/proc/cpuinfo", "model name").unwrap_or_else(unknown),
            cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
            memory_gib,
            os: command("uname", &["-sr"]).unwrap_or_else(|| std::env::consts::OS.to_owned()),
            rustc: command(&rustc, &["-V"]).unwrap_or_else(unknown),
            git: command("git", &["-C", repo, "describe", "--always", "--dirty"])
                .unwrap_or_else(unknown),
        }
    }

    /// One line for the top of the report.
    ///
    /// ```
    /// let m = benches::compare::machine::Machine::detect();
    /// assert!(m.line().contains("cores"));
    /// ```
    pub fn line(&self) -> String {
        format!(
            "{} ({} cores, {:.1} GiB), {}, {}, workspace at {}",
            self.cpu, self.cores, self.memory_gib, self.os, self.rustc, self.git
        )
    }
}
