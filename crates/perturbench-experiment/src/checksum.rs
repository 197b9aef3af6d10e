//! SHA-256 of input files, remembered across runs by file identity (device, inode, size,
//! modification time in ns), as DVC and git do, so that re-evaluating the same files does not
//! re-read them. The cache is `$PERTURBENCH_CACHE_DIR` or `$XDG_CACHE_HOME/perturbench` or
//! `~/.cache/perturbench`, file `sha256.tsv`; it only ever speeds things up: a missing,
//! unreadable or stale cache means hashing the file.

use crate::error::{Context, Result};
use sha2::{Digest, Sha256};
use std::io::Read;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// Entries kept in the cache (the most recent).
const KEEP: usize = 2_000;

/// A file's identity: device, inode, size and modification time (ns).
fn identity(path: &Path) -> Option<(String, i64)> {
    let m = std::fs::metadata(path).ok()?;
    let mtime_ns = m.mtime() as i128 * 1_000_000_000 + m.mtime_nsec() as i128;
    Some((
        format!("{}\t{}\t{}\t{}", m.dev(), m.ino(), m.size(), mtime_ns),
        m.mtime(),
    ))
}

fn cache_file() -> Option<PathBuf> {
    let dir = match std::env::var_os("PERTURBENCH_CACHE_DIR") {
        Some(d) => PathBuf::from(d),
        None => match std::env::var_os("XDG_CACHE_HOME") {
            Some(d) => PathBuf::from(d).join("perturbench"),
            None => PathBuf::from(std::env::var_os("HOME")?).join(".cache/perturbench"),
        },
    };
    Some(dir.join("sha256.tsv"))
}

fn cached_lines() -> Vec<String> {
    cache_file()
        .and_then(|f| std::fs::read_to_string(f).ok())
        .map(|t| t.lines().map(str::to_string).collect())
        .unwrap_or_default()
}

/// SHA-256 of the whole file (hex), the same as `sha256sum FILE` prints.
pub fn sha256_file(path: &Path) -> Result<String> {
    let mut f =
        std::fs::File::open(path).with_context(|| format!("{}: cannot open", path.display()))?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f
            .read(&mut buf)
            .with_context(|| format!("{}: cannot read", path.display()))?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(h.finalize().iter().map(|b| format!("{b:02x}")).collect())
}

/// SHA-256 of every file in `paths` (each hashed on its own thread), taken from the cache when
/// the file's identity is unchanged; new results are added to the cache.
pub fn sha256_all(paths: Vec<PathBuf>) -> Result<Vec<(PathBuf, String)>> {
    let started = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    let lines = cached_lines();
    let lookup = |id: &str| {
        lines.iter().rev().find_map(|l| {
            let (key, rest) = l.rsplit_once('\t')?;
            (key == id && rest.len() == 64).then(|| rest.to_string())
        })
    };
    let mut out = Vec::new();
    let mut todo = Vec::new();
    for p in paths {
        let id = identity(&p);
        match id.as_ref().and_then(|(k, _)| lookup(k)) {
            Some(h) => out.push((p, h)),
            None => todo.push((p, id)),
        }
    }
    let threads: Vec<_> = todo
        .into_iter()
        .map(|(p, id)| std::thread::spawn(move || sha256_file(&p).map(|h| (p, id, h))))
        .collect();
    let mut fresh = Vec::new();
    for t in threads {
        let (p, id, h) = t
            .join()
            .map_err(|_| crate::Error::msg("checksum thread failed"))??;
        // A file modified in the last two seconds may change again within the same mtime
        // tick ("racy" entries): do not remember it.
        if let Some((key, mtime)) = id {
            if mtime < started - 2 && identity(&p).is_some_and(|(k, _)| k == key) {
                fresh.push(format!("{key}\t{h}"));
            }
        }
        out.push((p, h));
    }
    if !fresh.is_empty() {
        remember(lines, fresh);
    }
    Ok(out)
}

/// Appends entries to the cache (temp file, then rename); failures are ignored.
fn remember(mut lines: Vec<String>, fresh: Vec<String>) {
    let Some(file) = cache_file() else { return };
    lines.extend(fresh);
    let skip = lines.len().saturating_sub(KEEP);
    let mut text = lines[skip..].join("\n");
    text.push('\n');
    if let Some(dir) = file.parent() {
        if std::fs::create_dir_all(dir).is_err() {
            return;
        }
    }
    let _ = perturbench_io::write_atomic(&file, text.as_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cached_value_is_reused_and_invalidated_by_a_change() {
        let dir = tempfile::tempdir().unwrap();
        std::env::set_var("PERTURBENCH_CACHE_DIR", dir.path().join("cache"));
        let f = dir.path().join("a.bin");
        std::fs::write(&f, b"abc").unwrap();
        // An old modification time, so that the entry is not "racy".
        let old = std::time::SystemTime::now() - std::time::Duration::from_secs(60);
        std::fs::File::options()
            .write(true)
            .open(&f)
            .unwrap()
            .set_modified(old)
            .unwrap();
        // sha256("abc"), FIPS 180-2 appendix B.1.
        let abc = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
        assert_eq!(sha256_all(vec![f.clone()]).unwrap()[0].1, abc);
        let cache = std::fs::read_to_string(dir.path().join("cache/sha256.tsv")).unwrap();
        assert!(cache.contains(abc), "{cache}");
        // A stale-looking entry for the same identity is what a second run returns...
        let (key, _) = identity(&f).unwrap();
        let fake = "f".repeat(64);
        std::fs::write(
            dir.path().join("cache/sha256.tsv"),
            format!("{key}\t{fake}\n"),
        )
        .unwrap();
        assert_eq!(sha256_all(vec![f.clone()]).unwrap()[0].1, fake);
        // ...until the file changes (size and mtime differ): then it is hashed again.
        std::fs::write(&f, b"abcd").unwrap();
        assert_ne!(sha256_all(vec![f]).unwrap()[0].1, fake);
    }
}
