//! The flags that say which obs columns carry perturbations and covariates, shared by the
//! commands that read a design.

use serde::Serialize;

/// Which obs columns carry perturbations and covariates, and how combinations are spelled
/// (unset: the defaults, or what the command infers).
#[derive(clap::Args, Debug, Clone, Default, Serialize)]
pub struct DesignFlags {
    /// obs column with the perturbations (default condition).
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub perturbation_key: Option<String>,
    /// Label of control cells (default control).
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub control: Option<String>,
    /// Delimiter of combinations (default +).
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delimiter: Option<String>,
    /// Covariate obs columns, comma-separated (default: cell_type when the file has it).
    #[arg(long, value_delimiter = ',')]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub covariate_keys: Option<Vec<String>>,
}

impl DesignFlags {
    /// The spec these flags give for a file whose obs is `obs` (the `data` section's defaults
    /// for unset flags).
    pub fn spec(&self, obs: &perturbench_io::Frame) -> perturbench_data::PerturbationSpec {
        let d = crate::DataConfig::default();
        crate::DataConfig {
            perturbation_key: self.perturbation_key.clone().unwrap_or(d.perturbation_key),
            control: self.control.clone().unwrap_or(d.control),
            delimiter: self.delimiter.clone().unwrap_or(d.delimiter),
            covariate_keys: self.covariate_keys.clone(),
            ..crate::DataConfig::default()
        }
        .spec(obs)
    }
}
