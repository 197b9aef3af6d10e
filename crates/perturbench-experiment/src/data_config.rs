//! The `data` section of a run: the data file and the benchmark task that splits it (the
//! options of PerturBench's splitters), and the split it produces.

use crate::error::{Context, Result};
use crate::{bail, lenient};
use perturbench_data::split::{
    data_scaling_split, imbalance_split, make_split, read_saved_split, ImbalanceConfig,
    ScalingAxis, ScalingConfig, ScalingSize, SingleHeldout, Split, SplitConfig, Task,
};
use perturbench_data::{Design, PerturbationSpec};
use perturbench_io::Frame;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// The benchmark tasks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TaskName {
    /// Covariate transfer (hold out perturbations in some covariates).
    Transfer,
    /// Combination prediction (hold out combos of trained singles).
    Combination,
    /// Inverse combination (hold out singles, train on combos).
    InverseCombination,
    /// Hold out a fraction of the perturbations of named covariates.
    Manual,
    /// Read a saved split CSV.
    Saved,
    /// The paper's data-scaling splits (small/medium/full).
    DataScaling,
    /// The paper's imbalance splits (target entropy of perturbations across covariates).
    Imbalance,
}

impl TaskName {
    /// Every task, in the order the help text lists them.
    pub const ALL: [TaskName; 7] = [
        TaskName::Transfer,
        TaskName::Combination,
        TaskName::InverseCombination,
        TaskName::Manual,
        TaskName::Saved,
        TaskName::DataScaling,
        TaskName::Imbalance,
    ];
    /// The names the tasks are given by (`--task`, `data.task`).
    pub const NAMES: [&'static str; 7] = [
        "transfer",
        "combination",
        "inverse-combination",
        "manual",
        "saved",
        "data-scaling",
        "imbalance",
    ];

    /// The task's name.
    pub fn name(self) -> &'static str {
        Self::NAMES[Self::ALL.iter().position(|t| *t == self).expect("listed")]
    }

    /// The task called `s`.
    pub fn parse(s: &str) -> Option<TaskName> {
        Self::NAMES
            .iter()
            .position(|n| *n == s)
            .map(|i| Self::ALL[i])
    }
}

/// How a task is given to `train`, `tune` and suites (for the error when none is).
pub const TRAIN_TASK_HOW: &str =
    "--task combination or data.task=combination, or a data preset that sets one (data=norman19, data=sciplex3, data=mcfaline23)";

fn condition() -> String {
    "condition".into()
}
fn control() -> String {
    "control".into()
}
fn plus() -> String {
    "+".into()
}
fn python() -> String {
    "python".into()
}
fn drop() -> String {
    "drop".into()
}
fn small() -> String {
    "small".into()
}
fn perturbations() -> String {
    "perturbations".into()
}

/// The data file and the task that splits it, with PerturBench's defaults.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DataConfig {
    /// The processed .h5ad file (log-normalised X).
    pub path: Option<PathBuf>,
    /// The task (none: a data preset or the user must give one).
    pub task: Option<TaskName>,
    /// obs column with the perturbations.
    #[serde(deserialize_with = "lenient::string")]
    pub perturbation_key: String,
    /// Label of control cells.
    #[serde(deserialize_with = "lenient::string")]
    pub control: String,
    /// Delimiter of combinations.
    #[serde(deserialize_with = "lenient::string")]
    pub delimiter: String,
    /// Covariate obs columns (none: cell_type when the file has it).
    #[serde(deserialize_with = "lenient::opt_string_list")]
    pub covariate_keys: Option<Vec<String>>,
    /// Random seed (none: 42; 57 for data-scaling and imbalance, as the paper's notebooks).
    pub seed: Option<u32>,
    /// Random generator: `python` reproduces PerturBench's labels draw for draw.
    #[serde(deserialize_with = "lenient::string")]
    pub rng: String,
    /// Transfer: a perturbation is held out only if seen in more covariates than this.
    pub min_train_covariates: usize,
    /// Transfer: at most this many covariates lose a given perturbation (7 for data-scaling).
    pub max_heldout_covariates: Option<usize>,
    /// Per covariate, the largest fraction of perturbations held out.
    pub max_heldout_fraction: f64,
    /// Per covariate, the most perturbations held out.
    pub max_heldout_perturbations: usize,
    /// Manual / data-scaling: covariate combinations to hold out from (values joined with `_`).
    #[serde(deserialize_with = "lenient::string_list")]
    pub heldout_covariates: Vec<String>,
    /// Manual: fraction of each listed covariate's perturbations held out.
    pub fraction: f64,
    /// Fraction of control cells in train (the rest halves into val and test).
    pub train_control_fraction: f64,
    /// Keep only this fraction of perturbations.
    pub downsample_fraction: f64,
    /// A held-out pair alone in its covariate: `drop` it (reference) or put it in `train`.
    #[serde(deserialize_with = "lenient::string")]
    pub single_heldout: String,
    /// Saved: the split CSV to read (headerless or with a header line).
    pub split_file: Option<PathBuf>,
    /// Data-scaling: which subset (`small`, `medium`, `full`).
    #[serde(deserialize_with = "lenient::string")]
    pub scaling_size: String,
    /// Data-scaling: grow across `perturbations` or `covariates`.
    #[serde(deserialize_with = "lenient::string")]
    pub scaling_axis: String,
    /// Data-scaling (covariates): train-only covariates of the small subset.
    #[serde(deserialize_with = "lenient::string_list")]
    pub train_covariates: Vec<String>,
    /// Data-scaling (covariates): train-only covariates added in the medium subset.
    #[serde(deserialize_with = "lenient::string_list")]
    pub medium_covariates: Vec<String>,
    /// Data-scaling: seed of the subset draws (none: 84 across perturbations, 12345 across
    /// covariates).
    pub subset_seed: Option<u64>,
    /// Imbalance: target normalised entropy of perturbation counts across covariates.
    pub entropy: Option<f64>,
}

impl Default for DataConfig {
    fn default() -> Self {
        DataConfig {
            path: None,
            task: None,
            perturbation_key: condition(),
            control: control(),
            delimiter: plus(),
            covariate_keys: None,
            seed: None,
            rng: python(),
            min_train_covariates: 1,
            max_heldout_covariates: None,
            max_heldout_fraction: 0.3,
            max_heldout_perturbations: 200,
            heldout_covariates: Vec::new(),
            fraction: 0.7,
            train_control_fraction: 0.5,
            downsample_fraction: 1.0,
            single_heldout: drop(),
            split_file: None,
            scaling_size: small(),
            scaling_axis: perturbations(),
            train_covariates: Vec::new(),
            medium_covariates: Vec::new(),
            subset_seed: None,
            entropy: None,
        }
    }
}

/// The allowed values of the string settings that take one of a few.
const CHOICES: [(&str, &[&str]); 4] = [
    ("rng", &["python"]),
    ("single_heldout", &["drop", "train"]),
    ("scaling_size", &["small", "medium", "full"]),
    ("scaling_axis", &["perturbations", "covariates"]),
];

impl DataConfig {
    /// The keys of the section, in the order of the struct.
    pub fn keys() -> Vec<String> {
        const KEYS: [&str; 24] = [
            "path",
            "task",
            "perturbation_key",
            "control",
            "delimiter",
            "covariate_keys",
            "seed",
            "rng",
            "min_train_covariates",
            "max_heldout_covariates",
            "max_heldout_fraction",
            "max_heldout_perturbations",
            "heldout_covariates",
            "fraction",
            "train_control_fraction",
            "downsample_fraction",
            "single_heldout",
            "split_file",
            "scaling_size",
            "scaling_axis",
            "train_covariates",
            "medium_covariates",
            "subset_seed",
            "entropy",
        ];
        KEYS.iter().map(|k| k.to_string()).collect()
    }

    /// Checks the settings that take one of a few values.
    pub fn check(&self) -> Result<()> {
        for (key, allowed) in CHOICES {
            let v = match key {
                "rng" => &self.rng,
                "single_heldout" => &self.single_heldout,
                "scaling_size" => &self.scaling_size,
                _ => &self.scaling_axis,
            };
            if !allowed.contains(&v.as_str()) {
                bail!(
                    "data.{key}: invalid value '{v}' (possible values: {})",
                    allowed.join(", ")
                );
            }
        }
        Ok(())
    }

    /// The task, or an error that lists the tasks and says how to pass one (`how` names the
    /// ways the command takes it, e.g. "--task combination").
    pub fn task(&self, how: &str) -> Result<TaskName> {
        self.task.with_context(|| {
            format!(
                "no task given: pass {how} (tasks: {})",
                TaskName::NAMES.join(", ")
            )
        })
    }

    /// The spec of the perturbation column in a file whose obs is `obs` (covariate keys
    /// default to cell_type when the file has it).
    pub fn spec(&self, obs: &Frame) -> PerturbationSpec {
        let covariate_keys = match &self.covariate_keys {
            Some(k) => k.clone(),
            None if obs.column("cell_type").is_some() => vec!["cell_type".to_string()],
            None => Vec::new(),
        };
        PerturbationSpec {
            key: self.perturbation_key.clone(),
            control: self.control.clone(),
            delimiter: self.delimiter.clone(),
            covariate_keys,
        }
    }

    /// The spec, design and split of a file's `obs` (`source` names the file in errors);
    /// `on_info` receives what the imbalance splitter kept.
    pub fn build_split(
        &self,
        obs: &Frame,
        source: &str,
        on_info: &dyn Fn(&str),
    ) -> Result<(PerturbationSpec, Design, Split)> {
        self.check()?;
        let spec = self.spec(obs);
        let design = Design::from_obs(obs, &spec, source)?;
        let scenario_seed = self.seed.unwrap_or(57);
        let task = self.task(TRAIN_TASK_HOW)?;
        let split = match task {
            TaskName::Saved => {
                let file = self
                    .split_file
                    .as_ref()
                    .context("--task saved needs --split-file FILE")?;
                let labels = read_saved_split(file, &obs.index)?;
                Split {
                    key: "saved".into(),
                    labels,
                }
            }
            TaskName::DataScaling => {
                let axis = if self.scaling_axis == "covariates" {
                    ScalingAxis::Covariates
                } else {
                    ScalingAxis::Perturbations
                };
                let size = match self.scaling_size.as_str() {
                    "medium" => ScalingSize::Medium,
                    "full" => ScalingSize::Full,
                    _ => ScalingSize::Small,
                };
                let mut cfg = ScalingConfig::new(axis, size);
                if let Some(s) = self.subset_seed {
                    cfg.seed = s;
                }
                cfg.split_seed = scenario_seed;
                cfg.max_heldout_covariates = self.max_heldout_covariates.unwrap_or(7);
                cfg.max_heldout_fraction = self.max_heldout_fraction;
                cfg.heldout_covariates = self.heldout_covariates.clone();
                cfg.small_train_covariates = self.train_covariates.clone();
                cfg.medium_train_covariates = self.medium_covariates.clone();
                data_scaling_split(obs, &spec, &cfg, source)?
            }
            TaskName::Imbalance => {
                let Some(h) = self.entropy else {
                    bail!("--task imbalance needs --entropy H (e.g. 0.7, 0.8, 0.9)")
                };
                if !(0.0..=1.0).contains(&h) {
                    bail!("--entropy must be within [0, 1], got {h}");
                }
                let mut cfg = ImbalanceConfig::new(h);
                cfg.split_seed = scenario_seed;
                cfg.max_heldout_covariates = self.max_heldout_covariates.unwrap_or(1);
                cfg.max_heldout_fraction = self.max_heldout_fraction;
                let (split, kept) = imbalance_split(obs, &spec, &cfg, source)?;
                let desc: Vec<String> = kept.iter().map(|(c, n)| format!("{c}: {n}")).collect();
                on_info(&format!(
                    "perturbations kept per covariate: {}",
                    desc.join(", ")
                ));
                split
            }
            _ => {
                let task = match task {
                    TaskName::Transfer => Task::Transfer {
                        min_train_covariates: self.min_train_covariates,
                        max_heldout_covariates: self.max_heldout_covariates.unwrap_or(1),
                        max_heldout_fraction: self.max_heldout_fraction,
                        max_heldout_perturbations: self.max_heldout_perturbations,
                    },
                    TaskName::Combination => Task::Combination {
                        max_heldout_fraction: self.max_heldout_fraction,
                        max_heldout_perturbations: self.max_heldout_perturbations,
                    },
                    TaskName::InverseCombination => Task::InverseCombination {
                        max_heldout_fraction: self.max_heldout_fraction,
                        max_heldout_perturbations: self.max_heldout_perturbations,
                    },
                    _ => Task::Manual {
                        heldout_covariates: self.heldout_covariates.clone(),
                        fraction: self.fraction,
                    },
                };
                let mut cfg = SplitConfig::new(task);
                cfg.seed = self.seed.unwrap_or(42);
                cfg.train_control_fraction = self.train_control_fraction;
                cfg.downsample_fraction = self.downsample_fraction;
                cfg.single_heldout = if self.single_heldout == "train" {
                    SingleHeldout::Train
                } else {
                    SingleHeldout::Drop
                };
                make_split(&design, &cfg)?
            }
        };
        Ok((spec, design, split))
    }
}
