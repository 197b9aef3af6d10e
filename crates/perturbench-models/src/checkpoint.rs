//! Checkpoints: a directory holding `model.json` (format version, model kind, encoding with
//! gene names, fitted parameters). Written into a temporary sibling directory and renamed into
//! place, so a failed save leaves nothing behind.

use crate::{Baseline, Encoding, ModelError};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// Version of the checkpoint format.
pub const FORMAT: u32 = 1;

/// Everything needed to predict again.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Checkpoint {
    /// Format version ([`FORMAT`]).
    pub format: u32,
    /// perturbench version that wrote it.
    pub version: String,
    /// Vocabularies and genes of training.
    pub encoding: Encoding,
    /// The fitted model.
    pub model: Baseline,
}

fn err(dir: &Path, message: impl Into<String>) -> ModelError {
    ModelError::Checkpoint {
        path: dir.display().to_string(),
        message: message.into(),
    }
}

/// Writes `ck` as the directory `dir` (replacing an existing checkpoint there).
pub fn save_checkpoint(dir: &Path, ck: &Checkpoint) -> Result<(), ModelError> {
    let name = dir
        .file_name()
        .ok_or_else(|| err(dir, "not a directory name"))?
        .to_string_lossy()
        .to_string();
    let parent = dir.parent().unwrap_or(Path::new("."));
    let parent = if parent.as_os_str().is_empty() {
        Path::new(".")
    } else {
        parent
    };
    let tmp = parent.join(format!(".{name}.tmp-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    let write = || -> std::io::Result<()> {
        std::fs::create_dir_all(&tmp)?;
        let text = serde_json::to_vec(ck).map_err(std::io::Error::other)?;
        std::fs::write(tmp.join("model.json"), text)?;
        if dir.exists() {
            std::fs::remove_dir_all(dir)?;
        }
        std::fs::rename(&tmp, dir)
    };
    write().map_err(|e| {
        let _ = std::fs::remove_dir_all(&tmp);
        err(dir, format!("cannot write: {e}"))
    })
}

/// Reads the checkpoint directory `dir`.
pub fn load_checkpoint(dir: &Path) -> Result<Checkpoint, ModelError> {
    let file = dir.join("model.json");
    let text =
        std::fs::read(&file).map_err(|e| err(dir, format!("cannot read model.json: {e}")))?;
    let ck: Checkpoint = serde_json::from_slice(&text).map_err(|e| {
        err(
            dir,
            format!("model.json is not a perturbench checkpoint: {e}"),
        )
    })?;
    if ck.format != FORMAT {
        return Err(err(
            dir,
            format!("format {} is not supported (expected {FORMAT})", ck.format),
        ));
    }
    Ok(ck)
}
