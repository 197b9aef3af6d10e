//! Checkpoints: a directory holding `model.json` (format version, model configuration,
//! encoding with gene names, a baseline's fitted parameters, a summary of training) and, for
//! neural models, `weights.bpk` (burnpack). Written into a temporary sibling directory and
//! renamed into place, so a failed save leaves nothing behind.

use crate::config::ModelConfig;
use crate::nn::NeuralModel;
use crate::{Baseline, Encoding, ModelError, PerturbationModel};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// Version of the checkpoint format.
pub const FORMAT: u32 = 2;

/// Name of the weights file of a neural model.
pub const WEIGHTS: &str = "weights.bpk";

/// Everything needed to predict again.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Checkpoint {
    /// Format version ([`FORMAT`]).
    pub format: u32,
    /// perturbench version that wrote it.
    pub version: String,
    /// Vocabularies and genes of training.
    pub encoding: Encoding,
    /// The model and its settings.
    pub config: ModelConfig,
    /// A baseline's fitted parameters (none for neural models).
    pub baseline: Option<Baseline>,
    /// A neural model's input and output widths.
    pub dims: Option<crate::nn::Dims>,
    /// A summary of training (epochs, best epoch, trainer settings), free-form.
    pub training: Option<serde_json::Value>,
}

fn err(dir: &Path, message: impl Into<String>) -> ModelError {
    ModelError::Checkpoint {
        path: dir.display().to_string(),
        message: message.into(),
    }
}

/// Writes `ck` (and a neural model's weights) as the directory `dir`, replacing an existing
/// checkpoint there.
pub fn save_checkpoint(
    dir: &Path,
    ck: &Checkpoint,
    weights: Option<&NeuralModel>,
) -> Result<(), ModelError> {
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
    let write = || -> Result<(), ModelError> {
        let io = |e: std::io::Error| err(dir, format!("cannot write: {e}"));
        std::fs::create_dir_all(&tmp).map_err(io)?;
        let text = serde_json::to_vec(ck).map_err(|e| err(dir, e.to_string()))?;
        std::fs::write(tmp.join("model.json"), text).map_err(io)?;
        if let Some(w) = weights {
            w.save(&tmp.join(WEIGHTS))?;
        }
        if dir.exists() {
            std::fs::remove_dir_all(dir).map_err(io)?;
        }
        std::fs::rename(&tmp, dir).map_err(io)
    };
    write().inspect_err(|_| {
        let _ = std::fs::remove_dir_all(&tmp);
    })
}

/// Reads the checkpoint directory `dir`.
pub fn load_checkpoint(dir: &Path) -> Result<Checkpoint, ModelError> {
    let file = dir.join("model.json");
    let text =
        std::fs::read(&file).map_err(|e| err(dir, format!("cannot read model.json: {e}")))?;
    let value: serde_json::Value = serde_json::from_slice(&text)
        .map_err(|e| err(dir, format!("model.json is not JSON: {e}")))?;
    let format = value.get("format").and_then(|f| f.as_u64());
    if format != Some(FORMAT as u64) {
        return Err(err(
            dir,
            format!(
                "format {} is not supported (expected {FORMAT}); retrain with this version",
                format.map_or("missing".into(), |f| f.to_string())
            ),
        ));
    }
    serde_json::from_value(value).map_err(|e| {
        err(
            dir,
            format!("model.json is not a perturbench checkpoint: {e}"),
        )
    })
}

/// Reads a checkpoint and its model, ready to predict (neural models on `device`).
pub fn load_model(
    dir: &Path,
    device: &str,
) -> Result<(Checkpoint, Box<dyn PerturbationModel>), ModelError> {
    let ck = load_checkpoint(dir)?;
    if let crate::ModelConfig::External(_) = ck.config {
        return Err(err(
            dir,
            "an external model (model=external) predicts only through its command, when `perturbench train` runs it; it keeps no weights to predict with",
        ));
    }
    let model: Box<dyn PerturbationModel> = match &ck.baseline {
        Some(b) => Box::new(b.clone()),
        None => {
            let path = dir.join(WEIGHTS);
            if !path.exists() {
                return Err(err(dir, format!("{WEIGHTS} is missing")));
            }
            let dims = ck
                .dims
                .clone()
                .unwrap_or_else(|| crate::nn::predictor::dims_of(&ck.encoding));
            Box::new(NeuralModel::load(
                &ck.config,
                dims,
                &ck.encoding,
                &path,
                device,
            )?)
        }
    };
    Ok((ck, model))
}
