//! The cell embedding a model may read instead of expression (latent-additive's
//! `embedding_key`), checked against its file.

use crate::bail;
use crate::error::Result;
use perturbench_io::Dense;
use perturbench_models::ModelConfig;
use std::collections::BTreeMap;

/// The obsm key of the embedding a model reads instead of expression, if any.
pub fn embedding_key(config: &ModelConfig) -> Option<&str> {
    config.embedding_key()
}

/// The embedding `obsm[key]` of a file (`source`) with `n_obs` cells, checked: present, one
/// row per cell, finite.
pub fn embedding<'a>(
    obsm: &'a BTreeMap<String, Dense>,
    key: &str,
    source: &str,
    n_obs: usize,
) -> Result<&'a Dense> {
    let Some(e) = obsm.get(key) else {
        let keys: Vec<&str> = obsm.keys().map(String::as_str).collect();
        bail!(
            "{source}: model.embedding_key: obsm/{key} does not exist (obsm has: {})",
            if keys.is_empty() {
                "nothing".to_string()
            } else {
                keys.join(", ")
            }
        );
    };
    if e.nrows != n_obs || e.ncols == 0 {
        bail!(
            "{source}: obsm/{key} is {} × {}, expected {n_obs} rows (one per cell) and at least one column",
            e.nrows,
            e.ncols
        );
    }
    if e.data.iter().any(|v| !v.is_finite()) {
        bail!("{source}: obsm/{key} has non-finite values");
    }
    Ok(e)
}
