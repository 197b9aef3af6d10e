//! Reading an `.h5ad` for evaluation: the matrix, its stored element type, a digest of the
//! file, and the scale check (log1p values expected; integer counts are refused unless the
//! caller says to evaluate them as they are).

use crate::error::{CellEvalError, Result};
use perturbench_io::{AnnData, H5adReader, ReadOptions};
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::io::Read;
use std::path::{Path, PathBuf};

/// The largest value log1p data may hold (cell-eval's `guess_is_lognorm` threshold).
pub const LOG1P_MAX: f32 = 15.0;

/// What was read from one input file.
#[derive(Debug, Clone)]
pub struct Input {
    /// The file.
    pub path: PathBuf,
    /// Its contents (X and obs; no layers, side arrays or `uns`).
    pub adata: AnnData,
    /// Element type of X as stored (`float32`, `float64`, ...).
    pub dtype: String,
    /// How the values were judged.
    pub scale: Scale,
}

/// The scale of an input matrix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Scale {
    /// Fractional values in `[0, 15)`: taken as log1p-normalised.
    Log1p,
    /// Integer values, evaluated as they are (`--allow-discrete`).
    Discrete,
}

/// SHA-256 of a file, hex.
pub fn sha256_file(path: &Path) -> Result<String> {
    let io = |e: std::io::Error| CellEvalError::File {
        path: path.display().to_string(),
        source: e,
    };
    let mut f = std::fs::File::open(path).map_err(io)?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f.read(&mut buf).map_err(io)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(h.finalize().iter().map(|b| format!("{b:02x}")).collect())
}

/// Reads `path` and checks its scale: fractional values must lie in `[0, 15)` (the last
/// bound is not checked with `allow_discrete`, as cell-eval); integer-valued matrices are
/// refused unless `allow_discrete` (then evaluated as counts, `is_log1p = false`); negative
/// values and NaN are refused.
pub fn read_input(path: &Path, allow_discrete: bool) -> Result<Input> {
    read_input_with(path, allow_discrete, None)
}

/// [`read_input`], plus the embedding `obsm[embed_key]` when given (the only obsm entry kept);
/// an error naming the file and the key when it is absent.
pub fn read_input_with(
    path: &Path,
    allow_discrete: bool,
    embed_key: Option<&str>,
) -> Result<Input> {
    let shown = path.display().to_string();
    let reader = H5adReader::open(path)?;
    let dtype = reader.matrix_info("X")?.dtype;
    let mut adata = reader.read(&ReadOptions {
        layers: Some(Vec::new()),
        side_arrays: false,
        uns: false,
    })?;
    // A float64 X (CSR, CSC or dense) is evaluated at full precision, as cell-eval does: its
    // values are read again as f64 and kept beside the f32 matrix (DE, pseudobulks, energy
    // distances).
    if dtype == "float64" {
        if let Some((indptr, indices, values)) = reader.read_matrix_f64_raw("X")? {
            let x = std::mem::replace(&mut adata.x, perturbench_io::Csr::zeros(0, 0));
            adata.x = x
                .with_exact(&indptr, &indices, &values)
                .unwrap_or_else(|x| x);
        }
    }
    if let Some(key) = embed_key {
        let mut obsm = reader.read_dense_dict("obsm")?;
        let found: Vec<String> = obsm.keys().cloned().collect();
        let m = obsm.remove(key).ok_or_else(|| CellEvalError::Input {
            path: shown.clone(),
            message: format!(
                "--embed-key: obsm['{key}'] not found (obsm has: [{}])",
                found.join(", ")
            ),
        })?;
        if m.nrows != adata.n_obs() {
            return Err(CellEvalError::Input {
                path: shown.clone(),
                message: format!(
                    "obsm['{key}'] has {} rows for {} cells",
                    m.nrows,
                    adata.n_obs()
                ),
            });
        }
        if let Some(v) = m.data.iter().find(|v| !v.is_finite()) {
            return Err(CellEvalError::Input {
                path: shown.clone(),
                message: format!(
                    "obsm['{key}'] holds {v}; the embedding metrics need finite values"
                ),
            });
        }
        adata.obsm.insert(key.to_string(), m);
    }
    let scale =
        judge_scale(adata.x.data(), allow_discrete).map_err(|message| CellEvalError::Input {
            path: shown.clone(),
            message,
        })?;
    Ok(Input {
        path: path.to_path_buf(),
        adata,
        dtype,
        scale,
    })
}

/// cell-eval's `guess_is_lognorm` as a check: a value with a fractional part above 1e-3
/// means log1p data, which must then be within `[0, 15)`.
pub fn judge_scale(values: &[f32], allow_discrete: bool) -> std::result::Result<Scale, String> {
    let mut has_frac = false;
    let (mut min, mut max) = (f32::INFINITY, f32::NEG_INFINITY);
    for &v in values {
        if v.is_nan() {
            return Err("X holds NaN; cell-eval's tests need finite values".into());
        }
        has_frac |= v - v.trunc() > 1e-3;
        min = min.min(v);
        max = max.max(v);
    }
    if min < 0.0 {
        return Err(format!(
            "invalid scale: min value {min} is negative; log1p data must be >= 0"
        ));
    }
    if !has_frac {
        return if allow_discrete {
            Ok(Scale::Discrete)
        } else {
            Err(
                "X holds integer values only (raw counts?). cell-eval would silently \
                 normalise_total + log1p them; this evaluator does not guess: pass \
                 log1p-normalised data, or --allow-discrete to evaluate the counts as they are"
                    .into(),
            )
        };
    }
    if !allow_discrete && max >= LOG1P_MAX {
        return Err(format!(
            "invalid scale: max value {max} is not below {LOG1P_MAX}, the log1p range \
             (raw counts mixed with log values?); pass --allow-discrete to evaluate anyway"
        ));
    }
    Ok(Scale::Log1p)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scales() {
        assert_eq!(judge_scale(&[0.5, 1.2], false), Ok(Scale::Log1p));
        assert!(judge_scale(&[1.0, 2.0], false)
            .unwrap_err()
            .contains("integer"));
        assert_eq!(judge_scale(&[1.0, 2.0], true), Ok(Scale::Discrete));
        assert!(judge_scale(&[-0.5], false)
            .unwrap_err()
            .contains("negative"));
        assert!(judge_scale(&[0.5, 20.0], false).unwrap_err().contains("15"));
        assert_eq!(judge_scale(&[0.5, 20.0], true), Ok(Scale::Log1p));
        assert!(judge_scale(&[f32::NAN], true).unwrap_err().contains("NaN"));
    }
}
