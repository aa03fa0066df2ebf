//! Readers for the cache traces in `../shared/traces/` (see its README): gzip text traces
//! of decimal keys, one per line, and the xz binary `web07` trace of big-endian `u32`
//! keys. Decompression runs `gzip -dc` / `xz -dc` as child processes, so no dependency is
//! needed.

use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The trace folder: `../shared/traces` beside the repository root.
///
/// ```
/// let dir = benches::traces::traces_dir();
/// assert!(dir.ends_with("shared/traces"));
/// ```
pub fn traces_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/traces")
}

/// The keys of one trace file, in request order. Text traces skip blank lines and lines
/// holding only `*`; `.xz` traces are read as big-endian `u32` keys.
///
/// ```
/// let path = benches::traces::traces_dir().join("multi1.trace.gz");
/// if path.exists() {
///     let keys = benches::traces::read_trace(&path).unwrap();
///     assert_eq!(keys.len(), 15_858);
/// }
/// assert!(benches::traces::read_trace("no/such/trace.gz".as_ref()).is_err());
/// ```
pub fn read_trace(path: &Path) -> io::Result<Vec<u64>> {
    let tool = match path.extension().and_then(|e| e.to_str()) {
        Some("gz") => "gzip",
        Some("xz") => "xz",
        _ => return Err(io::Error::other("unknown trace compression")),
    };
    if !path.is_file() {
        return Err(io::Error::new(
            io::ErrorKind::NotFound,
            path.display().to_string(),
        ));
    }
    let mut child = Command::new(tool)
        .arg("-dc")
        .arg(path)
        .stdout(Stdio::piped())
        .spawn()?;
    let mut bytes = Vec::new();
    child
        .stdout
        .take()
        .ok_or_else(|| io::Error::other("no stdout"))?
        .read_to_end(&mut bytes)?;
    if !child.wait()?.success() {
        return Err(io::Error::other(format!("{tool} -dc failed")));
    }
    if tool == "xz" {
        return Ok(bytes
            .chunks_exact(4)
            .map(|c| u64::from(u32::from_be_bytes([c[0], c[1], c[2], c[3]])))
            .collect());
    }
    let text = String::from_utf8(bytes).map_err(io::Error::other)?;
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && *l != "*")
        .map(|l| l.parse::<u64>().map_err(io::Error::other))
        .collect()
}

/// Every trace present in [`traces_dir`], as `(name, keys)` sorted by name; empty when the
/// folder is absent.
///
/// ```
/// for (name, keys) in benches::traces::all_traces() {
///     assert!(!keys.is_empty(), "{name}");
/// }
/// ```
pub fn all_traces() -> Vec<(String, Vec<u64>)> {
    let Ok(entries) = std::fs::read_dir(traces_dir()) else {
        return Vec::new();
    };
    let mut paths: Vec<PathBuf> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.to_string_lossy().contains(".trace."))
        .collect();
    paths.sort();
    paths
        .into_iter()
        .filter_map(|p| {
            let name = p
                .file_name()?
                .to_string_lossy()
                .split('.')
                .next()?
                .to_owned();
            Some((name, read_trace(&p).ok()?))
        })
        .collect()
}
