//! Ratio tables from criterion's saved results.
//!
//! Criterion writes, for every benchmark it runs, `new/benchmark.json` (its group, function and
//! parameter) and `new/estimates.json` (mean, median, ...) under `<target>/criterion/`. After a
//! suite's groups have run, [`print_group`] reads back the medians of one group and prints them
//! side by side, each as a multiple of a baseline member's median (usually our crate), so the
//! comparison is a ratio measured in one run rather than absolute numbers across runs.

use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

/// One benchmark's result as criterion saved it.
#[derive(Debug, Clone, PartialEq)]
pub struct Measurement {
    /// The criterion group, e.g. `"object_pool/get_return"`.
    pub group: String,
    /// The member, e.g. `"recycle-pool"` or `"mimalloc"`.
    pub function: String,
    /// The parameter, e.g. `"2 threads"`; empty when the benchmark has none.
    pub parameter: String,
    /// Median time per iteration, in nanoseconds.
    pub median_ns: f64,
}

/// Where criterion keeps its results: `$CRITERION_HOME`, else `<target>/criterion` found from
/// the running benchmark's own path (`<target>/release/deps/<exe>`).
pub fn criterion_home() -> PathBuf {
    if let Some(home) = std::env::var_os("CRITERION_HOME") {
        return PathBuf::from(home);
    }
    if let Some(dir) = std::env::var_os("CARGO_TARGET_DIR") {
        return PathBuf::from(dir).join("criterion");
    }
    let exe = std::env::current_exe().unwrap_or_default();
    exe.ancestors()
        .nth(3)
        .map(|target| target.join("criterion"))
        .unwrap_or_else(|| PathBuf::from("target/criterion"))
}

/// Every measurement of `group` under `home` whose files were written at or after `since`.
pub fn read_group(home: &Path, group: &str, since: Option<SystemTime>) -> Vec<Measurement> {
    let mut found = Vec::new();
    let mut stack = vec![home.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.file_name().is_some_and(|n| n == "benchmark.json")
                && path
                    .parent()
                    .and_then(Path::file_name)
                    .is_some_and(|n| n == "new")
                && let Some(m) = read_one(&path, group, since)
            {
                found.push(m);
            }
        }
    }
    found.sort_by(|a, b| (&a.parameter, &a.function).cmp(&(&b.parameter, &b.function)));
    found
}

fn read_one(bench_json: &Path, group: &str, since: Option<SystemTime>) -> Option<Measurement> {
    if let Some(since) = since {
        let modified = fs::metadata(bench_json).and_then(|m| m.modified()).ok()?;
        if modified < since {
            return None;
        }
    }
    let meta = fs::read_to_string(bench_json).ok()?;
    if json_string(&meta, "group_id")? != group {
        return None;
    }
    let estimates = fs::read_to_string(bench_json.with_file_name("estimates.json")).ok()?;
    let median = &estimates[estimates.find("\"median\"")?..];
    Some(Measurement {
        group: group.to_owned(),
        function: json_string(&meta, "function_id").unwrap_or_default(),
        parameter: json_string(&meta, "value_str").unwrap_or_default(),
        median_ns: json_number(median, "point_estimate")?,
    })
}

/// The string value of `"key":"..."` in a flat JSON text (criterion's ids hold no escapes
/// beyond `\"` and `\\`, which are undone).
fn json_string(json: &str, key: &str) -> Option<String> {
    let pat = format!("\"{key}\":");
    let rest = json[json.find(&pat)? + pat.len()..].trim_start();
    let rest = rest.strip_prefix('"')?;
    let mut out = String::new();
    let mut chars = rest.chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => return Some(out),
            '\\' => out.push(chars.next()?),
            c => out.push(c),
        }
    }
    None
}

/// The first number after `"key":` in `json`.
fn json_number(json: &str, key: &str) -> Option<f64> {
    let pat = format!("\"{key}\":");
    let rest = json[json.find(&pat)? + pat.len()..].trim_start();
    let end = rest
        .find(|c: char| !(c.is_ascii_digit() || matches!(c, '.' | '-' | '+' | 'e' | 'E')))
        .unwrap_or(rest.len());
    rest[..end].parse().ok()
}

/// Formats measurements as a table: one block per parameter, one row per member, with the
/// median and its ratio to `baseline`'s median for the same parameter (`1.00` for the baseline;
/// `2.50` means that member took 2.5 times as long).
pub fn format_table(group: &str, baseline: &str, rows: &[Measurement]) -> String {
    let mut out =
        format!("\n{group}: median time per iteration, and as a multiple of {baseline}'s\n");
    let width = rows
        .iter()
        .map(|m| m.function.len())
        .max()
        .unwrap_or(0)
        .max(8);
    let mut params: Vec<&str> = rows.iter().map(|m| m.parameter.as_str()).collect();
    params.dedup();
    for param in params {
        let mut block: Vec<&Measurement> = rows.iter().filter(|m| m.parameter == param).collect();
        // The baseline first, then the others in name order (rows arrive sorted by name).
        block.sort_by_key(|m| m.function != baseline);
        let base = block
            .iter()
            .find(|m| m.function == baseline)
            .map(|m| m.median_ns);
        if !param.is_empty() {
            let _ = writeln!(out, "  [{param}]");
        }
        for m in block {
            let ratio = base.map_or("     -".to_owned(), |b| format!("{:6.2}x", m.median_ns / b));
            let _ = writeln!(
                out,
                "    {:<width$}  {:>12}  {ratio}",
                m.function,
                human_ns(m.median_ns)
            );
        }
    }
    out
}

fn human_ns(ns: f64) -> String {
    match ns {
        ns if ns < 1e3 => format!("{ns:.2} ns"),
        ns if ns < 1e6 => format!("{:.2} us", ns / 1e3),
        ns if ns < 1e9 => format!("{:.2} ms", ns / 1e6),
        ns => format!("{:.3} s", ns / 1e9),
    }
}

/// Prints the ratio table of `group` for the benchmarks this process ran (files written since
/// it started), relative to the member named `baseline`. Prints nothing if none ran (e.g. a
/// criterion filter excluded the group).
pub fn print_group(group: &str, baseline: &str) {
    let started = process_start();
    let rows = read_group(&criterion_home(), group, started);
    if !rows.is_empty() {
        println!("{}", format_table(group, baseline, &rows));
    }
}

/// Like [`print_group`], but with results of any age: for groups whose members are measured
/// by separate binaries (one per global allocator).
pub fn print_group_any_age(group: &str, baseline: &str) {
    let rows = read_group(&criterion_home(), group, None);
    if !rows.is_empty() {
        println!("{}", format_table(group, baseline, &rows));
    }
}

/// The moment this suite started, fixed by the first call (suites call [`mark_start`] first).
fn process_start() -> Option<SystemTime> {
    static START: std::sync::OnceLock<SystemTime> = std::sync::OnceLock::new();
    Some(*START.get_or_init(SystemTime::now))
}

/// Marks the start of a suite: results written after this call count as this run's. Call it
/// first in a suite's `main`.
pub fn mark_start() {
    let _ = process_start();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_criterion_files() {
        let dir = std::env::temp_dir().join(format!("report-test-{}", std::process::id()));
        let new = dir.join("g").join("ours").join("1").join("new");
        fs::create_dir_all(&new).unwrap();
        fs::write(
            new.join("benchmark.json"),
            r#"{"group_id":"g","function_id":"ours","value_str":"1","throughput":null}"#,
        )
        .unwrap();
        fs::write(
            new.join("estimates.json"),
            r#"{"mean":{"point_estimate":9.0},"median":{"confidence_interval":{"lower_bound":1.0},"point_estimate":12.5}}"#,
        )
        .unwrap();
        let peer = dir.join("g").join("peer").join("1").join("new");
        fs::create_dir_all(&peer).unwrap();
        fs::write(
            peer.join("benchmark.json"),
            r#"{"group_id":"g","function_id":"peer","value_str":"1"}"#,
        )
        .unwrap();
        fs::write(
            peer.join("estimates.json"),
            r#"{"median":{"point_estimate":25.0}}"#,
        )
        .unwrap();

        let rows = read_group(&dir, "g", None);
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].function, "ours");
        assert_eq!(rows[0].median_ns, 12.5);
        let table = format_table("g", "ours", &rows);
        assert!(table.contains("2.00x"), "{table}");
        let table = format_table("g", "peer", &rows);
        let (peer_at, ours_at) = (table.find("peer ").unwrap(), table.find("ours ").unwrap());
        assert!(peer_at < ours_at, "baseline listed first: {table}");
        assert!(table.contains("0.50x"), "{table}");
        assert!(read_group(&dir, "other", None).is_empty());
        fs::remove_dir_all(&dir).unwrap();
    }
}
