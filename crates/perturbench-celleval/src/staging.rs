//! Atomic output: files are written into a hidden sibling directory and moved into the
//! output directory only when everything succeeded, so a failed run leaves no partial
//! results behind.

use crate::error::{CellEvalError, Result};
use std::path::{Path, PathBuf};

/// A staging directory next to the final output directory.
#[derive(Debug)]
pub struct Staging {
    dir: PathBuf,
    target: PathBuf,
    committed: bool,
}

fn io(path: &Path, e: std::io::Error) -> CellEvalError {
    CellEvalError::File {
        path: path.display().to_string(),
        source: e,
    }
}

impl Staging {
    /// Creates an empty staging directory for `target`.
    pub fn new(target: &Path) -> Result<Self> {
        let parent = match target.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        std::fs::create_dir_all(&parent).map_err(|e| io(&parent, e))?;
        let name = target
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "out".into());
        let dir = parent.join(format!(".{name}.partial-{}", std::process::id()));
        if dir.exists() {
            std::fs::remove_dir_all(&dir).map_err(|e| io(&dir, e))?;
        }
        std::fs::create_dir_all(&dir).map_err(|e| io(&dir, e))?;
        Ok(Staging {
            dir,
            target: target.to_path_buf(),
            committed: false,
        })
    }

    /// Path of file `name` inside the staging directory.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// Writes `text` to file `name` of the staging directory.
    pub fn write(&self, name: &str, text: &str) -> Result<()> {
        let p = self.path(name);
        std::fs::write(&p, text).map_err(|e| io(&p, e))
    }

    /// Moves the staged files into the target directory: the whole directory in one rename
    /// when the target does not exist, otherwise file by file (each rename is atomic;
    /// other files already in the target are left alone, as cell-eval does).
    pub fn commit(mut self) -> Result<PathBuf> {
        if !self.target.exists() {
            std::fs::rename(&self.dir, &self.target).map_err(|e| io(&self.target, e))?;
        } else {
            for entry in std::fs::read_dir(&self.dir).map_err(|e| io(&self.dir, e))? {
                let entry = entry.map_err(|e| io(&self.dir, e))?;
                let dst = self.target.join(entry.file_name());
                std::fs::rename(entry.path(), &dst).map_err(|e| io(&dst, e))?;
            }
            std::fs::remove_dir(&self.dir).map_err(|e| io(&self.dir, e))?;
        }
        self.committed = true;
        Ok(self.target.clone())
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        if !self.committed {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commits_or_leaves_nothing() {
        let t = tempfile::tempdir().unwrap();
        let out = t.path().join("out");
        {
            let s = Staging::new(&out).unwrap();
            s.write("a.csv", "x\n").unwrap();
        }
        assert!(!out.exists());
        assert_eq!(std::fs::read_dir(t.path()).unwrap().count(), 0);
        let s = Staging::new(&out).unwrap();
        s.write("a.csv", "x\n").unwrap();
        s.commit().unwrap();
        std::fs::write(out.join("keep.txt"), "k").unwrap();
        let s = Staging::new(&out).unwrap();
        s.write("a.csv", "y\n").unwrap();
        s.commit().unwrap();
        assert_eq!(std::fs::read_to_string(out.join("a.csv")).unwrap(), "y\n");
        assert!(out.join("keep.txt").exists());
        assert_eq!(std::fs::read_dir(t.path()).unwrap().count(), 1);
    }
}
