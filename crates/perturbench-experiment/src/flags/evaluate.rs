//! `perturbench evaluate`'s settings flags, resolved over an evaluation config file into an
//! [`EvalConfig`].

use super::DesignFlags;
use crate::{Context, Result};
use perturbench_eval::{
    ControlSource, EvalConfig, Pipeline, RankDenominator, RankDirection, TiePolicy,
};
use std::path::PathBuf;

/// The evaluation settings of `perturbench evaluate` (unset: the config file's value, else
/// the reference's).
#[derive(clap::Args, Debug, Clone, Default)]
pub struct EvalFlags {
    /// TOML file with EvalConfig fields; command-line options override it.
    #[arg(long)]
    pub config: Option<PathBuf>,
    #[command(flatten)]
    pub design: DesignFlags,
    /// Pipeline AGG:METRIC[:rank] (repeatable; default average:rmse:rank and logfc:cosine:rank).
    #[arg(long = "pipeline")]
    pub pipelines: Vec<Pipeline>,
    /// Controls for logfc: `own` (each file's, the reference behaviour) or `reference`.
    #[arg(long, value_parser = named::<ControlSource>)]
    pub control_source: Option<ControlSource>,
    /// Rank denominator: `n` (reference) or `n-1`.
    #[arg(long, value_parser = named::<RankDenominator>)]
    pub rank_denominator: Option<RankDenominator>,
    /// Rank ties: `random` (seeded, reference) or `mid`.
    #[arg(long, value_parser = named::<TiePolicy>)]
    pub ties: Option<TiePolicy>,
    /// Rank direction: `observed` (reference) or `transposed` (cell-eval's PDS).
    #[arg(long, value_parser = named::<RankDirection>)]
    pub rank_direction: Option<RankDirection>,
    /// Seed of the rank tie-breaking.
    #[arg(long)]
    pub seed: Option<u64>,
    /// r2_score in the conventional orientation (observation as y_true).
    #[arg(long)]
    pub r2_conventional: bool,
    /// Restrict metrics to the reference's DEG lists in uns[KEY] (e.g. rank_genes_groups_cov).
    #[arg(long)]
    pub deg_key: Option<String>,
    /// With --deg-key: the first N genes of each list.
    #[arg(long)]
    pub top_degs: Option<usize>,
    /// Pseudocount of logfc.
    #[arg(long)]
    pub pseudocount: Option<f64>,
}

/// A value of a setting enum by its configuration name (`reference`, `n-1`, `mid`, ...).
fn named<T: serde::de::DeserializeOwned>(s: &str) -> std::result::Result<T, String> {
    serde_json::from_value(serde_json::Value::from(s)).map_err(|e| e.to_string())
}

impl EvalFlags {
    /// [`Self::resolve`], then PerturBench's default covariates: `cell_type` when no covariate
    /// keys are set anywhere and the reference's obs has that column (`has_column`).
    pub fn resolve_for(&self, has_column: impl FnOnce(&str) -> Result<bool>) -> Result<EvalConfig> {
        let mut cfg = self.resolve()?;
        if self.design.covariate_keys.is_none()
            && cfg.covariate_keys.is_empty()
            && has_column("cell_type")?
        {
            cfg.covariate_keys = vec!["cell_type".into()];
        }
        Ok(cfg)
    }

    /// The resolved configuration: defaults, then the config file, then these flags (preset
    /// `custom` when the result differs from the defaults).
    pub fn resolve(&self) -> Result<EvalConfig> {
        let mut cfg = match &self.config {
            Some(p) => {
                let text = std::fs::read_to_string(p)
                    .with_context(|| format!("{}: cannot read", p.display()))?;
                toml::from_str::<EvalConfig>(&text)
                    .map_err(crate::Error::msg)
                    .with_context(|| format!("{}: invalid evaluation config", p.display()))?
            }
            None => EvalConfig::default(),
        };
        let d = &self.design;
        let set = |v: &Option<String>, to: &mut String| {
            if let Some(v) = v {
                *to = v.clone();
            }
        };
        set(&d.perturbation_key, &mut cfg.perturbation_key);
        set(&d.control, &mut cfg.control);
        set(&d.delimiter, &mut cfg.delimiter);
        if let Some(v) = &d.covariate_keys {
            cfg.covariate_keys = v.clone();
        }
        if !self.pipelines.is_empty() {
            cfg.pipelines = self.pipelines.clone();
        }
        cfg.control_source = self.control_source.unwrap_or(cfg.control_source);
        cfg.rank_denominator = self.rank_denominator.unwrap_or(cfg.rank_denominator);
        cfg.ties = self.ties.unwrap_or(cfg.ties);
        cfg.rank_direction = self.rank_direction.unwrap_or(cfg.rank_direction);
        cfg.seed = self.seed.unwrap_or(cfg.seed);
        if self.r2_conventional {
            cfg.r2_prediction_as_truth = false;
        }
        if self.deg_key.is_some() {
            cfg.deg_key = self.deg_key.clone();
        }
        if self.top_degs.is_some() {
            cfg.top_degs = self.top_degs;
        }
        cfg.pseudocount = self.pseudocount.unwrap_or(cfg.pseudocount);
        if cfg != EvalConfig::default() {
            cfg.preset = "custom".into();
        }
        Ok(cfg)
    }
}
