//! The `conventions.json` of a run: the conventions in force, which control cells each
//! metric used, what was computed or skipped and why, the inputs with their digests, and
//! the versions.

use crate::conventions::Conventions;
use crate::input::Scale;
use serde::Serialize;

/// One input file as it was evaluated.
#[derive(Debug, Clone, Serialize)]
pub struct InputRecord {
    /// `real`, `pred`, `de_real`, `de_pred`, `adata`, ...
    pub role: String,
    /// The path given.
    pub path: String,
    /// SHA-256 of the file.
    pub sha256: String,
    /// Element type of X (h5ad inputs).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dtype: Option<String>,
    /// How the values were judged (h5ad inputs).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scale: Option<Scale>,
    /// Cells × genes (h5ad inputs).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shape: Option<(usize, usize)>,
    /// The precision X's values were evaluated at (`float64` when a float64 X was kept at
    /// full precision, `float32` otherwise; see the `x.precision` convention).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub precision: Option<String>,
}

/// A metric that was asked for by the profile but not computed.
#[derive(Debug, Clone, Serialize)]
pub struct Skipped {
    /// Metric name.
    pub metric: String,
    /// Why.
    pub reason: String,
}

/// Everything `conventions.json` holds.
#[derive(Debug, Clone, Serialize)]
pub struct RunRecord {
    /// The command (`run`, `baseline`, `score`).
    pub command: String,
    /// `perturbench-celleval` version.
    pub version: String,
    /// The profile.
    pub profile: String,
    /// Metric columns computed, in `results.csv` order.
    pub metrics: Vec<String>,
    /// Metrics of the profile not computed.
    pub skipped: Vec<Skipped>,
    /// Which control cells each family of metrics used.
    pub control_cells: Vec<(String, String)>,
    /// Space the pseudobulk metrics were computed in.
    pub pseudobulk_space: String,
    /// Scope of the Benjamini-Hochberg correction.
    pub fdr_scope: String,
    /// Tie handling of the rank test.
    pub ties: String,
    /// What was assumed about the scale of X.
    pub log1p_assumption: String,
    /// Per-context output prefixes (cell types with `--celltype-col`; empty otherwise).
    pub contexts: Vec<String>,
    /// How the data ceiling was computed (`--ceiling`), if it was.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ceiling: Option<String>,
    /// The inputs.
    pub inputs: Vec<InputRecord>,
    /// The rules, with the reference source each reproduces.
    pub conventions: Conventions,
}

impl RunRecord {
    /// A record with the fixed conventions of a cell-eval 0.8.2-compatible run filled in.
    pub fn new(command: &str, profile: &str, conventions: Conventions) -> Self {
        RunRecord {
            command: command.into(),
            version: env!("CARGO_PKG_VERSION").into(),
            profile: profile.into(),
            metrics: Vec::new(),
            skipped: Vec::new(),
            control_cells: vec![
                (
                    "real_de".into(),
                    "real perturbation cells vs real control cells".into(),
                ),
                (
                    "pred_de".into(),
                    "predicted perturbation cells vs the control cells of the prediction file"
                        .into(),
                ),
                (
                    "pearson_delta, mse_delta, mae_delta, discrimination_score_*".into(),
                    "real delta = real pseudobulk - real control pseudobulk; pred delta = pred pseudobulk - pred control pseudobulk".into(),
                ),
                (
                    "pearson_edistance".into(),
                    "real energy distance to the real control cells; pred energy distance to the predicted control cells".into(),
                ),
                ("mse, mae".into(), "no control (raw pseudobulks)".into()),
                (
                    "clustering_agreement".into(),
                    "no control: centroids of the non-control perturbations of each side".into(),
                ),
            ],
            pseudobulk_space: "per-perturbation mean of X as stored (log1p values), float64"
                .into(),
            fdr_scope: "Benjamini-Hochberg within each perturbation, over all genes".into(),
            ties: "mid-ranks; tie-corrected normal approximation with continuity correction"
                .into(),
            log1p_assumption: "X must hold log1p values (fractional, in [0, 15)); integer input is refused unless --allow-discrete, which evaluates it as counts (is_log1p = false); nothing is normalised".into(),
            contexts: Vec::new(),
            ceiling: None,
            inputs: Vec::new(),
            conventions,
        }
    }

    /// Pretty JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
    }
}
