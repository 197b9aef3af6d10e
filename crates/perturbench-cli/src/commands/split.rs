//! `perturbench split`: train/val/test labels for a benchmark task.

use crate::Global;
use anyhow::{bail, Context};
use perturbench_data::split::{
    data_scaling_split, imbalance_split, make_split, read_saved_split, summarize, ImbalanceConfig,
    ScalingAxis, ScalingConfig, ScalingSize, SingleHeldout, Split, SplitConfig, Task,
};
use perturbench_data::{Design, PerturbationSpec};
use perturbench_io::{write_csv_atomic, Frame, H5adReader};
use std::path::PathBuf;

/// The benchmark tasks.
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
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

/// Options of `perturbench split`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The .h5ad file (only obs is read).
    data: PathBuf,
    /// Output CSV: `cell_id,split` with train/val/test or empty (excluded).
    #[arg(long)]
    out: PathBuf,
    /// Also write the summary table (per covariate: perturbations in train/val/test).
    #[arg(long)]
    summary: Option<PathBuf>,
    #[command(flatten)]
    opts: SplitOptions,
}

/// The task and its options (shared by `split` and `train`).
#[derive(clap::Args, Debug, Clone)]
pub struct SplitOptions {
    /// Task (`train`: or `data.task=NAME`, or a data preset such as `data=norman19`).
    #[arg(long, value_enum)]
    pub task: Option<TaskName>,
    /// obs column with the perturbations.
    #[arg(long, default_value = "condition")]
    pub perturbation_key: String,
    /// Label of control cells.
    #[arg(long, default_value = "control")]
    pub control: String,
    /// Delimiter of combinations.
    #[arg(long, default_value = "+")]
    pub delimiter: String,
    /// Covariate obs columns, comma-separated (default: cell_type when the file has it).
    #[arg(long, value_delimiter = ',')]
    pub covariate_keys: Option<Vec<String>>,
    /// Random seed (default 42; 57 for data-scaling and imbalance, as the paper's notebooks).
    #[arg(long)]
    pub seed: Option<u32>,
    /// Random generator: `python` reproduces PerturBench's labels draw for draw.
    #[arg(long, default_value = "python", value_parser = ["python"])]
    pub rng: String,
    /// Transfer: a perturbation is held out only if seen in more covariates than this.
    #[arg(long, default_value_t = 1)]
    pub min_train_covariates: usize,
    /// Transfer: at most this many covariates lose a given perturbation (7 for data-scaling).
    #[arg(long)]
    pub max_heldout_covariates: Option<usize>,
    /// Per covariate, the largest fraction of perturbations held out (Norman experiments: 0.7).
    #[arg(long, default_value_t = 0.3)]
    pub max_heldout_fraction: f64,
    /// Per covariate, the most perturbations held out.
    #[arg(long, default_value_t = 200)]
    pub max_heldout_perturbations: usize,
    /// Manual / data-scaling: covariate combinations to hold out from (values joined with `_`).
    #[arg(long, value_delimiter = ',')]
    pub heldout_covariates: Vec<String>,
    /// Manual: fraction of each listed covariate's perturbations held out.
    #[arg(long, default_value_t = 0.7)]
    pub fraction: f64,
    /// Fraction of control cells in train (the rest halves into val and test).
    #[arg(long, default_value_t = 0.5)]
    pub train_control_fraction: f64,
    /// Keep only this fraction of perturbations.
    #[arg(long, default_value_t = 1.0)]
    pub downsample_fraction: f64,
    /// A held-out pair alone in its covariate: `drop` it (reference) or put it in `train`.
    #[arg(long, default_value = "drop", value_parser = ["drop", "train"])]
    pub single_heldout: String,
    /// Saved: the split CSV to read (headerless or with a header line).
    #[arg(long)]
    pub split_file: Option<PathBuf>,
    /// Data-scaling: which subset.
    #[arg(long, default_value = "small", value_parser = ["small", "medium", "full"])]
    pub scaling_size: String,
    /// Data-scaling: grow across `perturbations` or `covariates`.
    #[arg(long, default_value = "perturbations", value_parser = ["perturbations", "covariates"])]
    pub scaling_axis: String,
    /// Data-scaling (covariates): train-only covariates of the small subset.
    #[arg(long, value_delimiter = ',')]
    pub train_covariates: Vec<String>,
    /// Data-scaling (covariates): train-only covariates added in the medium subset.
    #[arg(long, value_delimiter = ',')]
    pub medium_covariates: Vec<String>,
    /// Data-scaling: seed of the subset draws (default 84 across perturbations, 12345 across covariates).
    #[arg(long)]
    pub subset_seed: Option<u64>,
    /// Imbalance: target normalised entropy of perturbation counts across covariates.
    #[arg(long)]
    pub entropy: Option<f64>,
}

/// The names of the tasks, as `--task` takes them.
pub fn task_names() -> Vec<String> {
    use clap::ValueEnum;
    TaskName::value_variants()
        .iter()
        .filter_map(|t| t.to_possible_value().map(|v| v.get_name().to_string()))
        .collect()
}

impl SplitOptions {
    /// The task, or an error that lists the tasks and says how to pass one (`how` names the
    /// ways the command takes it, e.g. "--task combination").
    pub fn task(&self, how: &str) -> anyhow::Result<TaskName> {
        self.task.with_context(|| {
            format!(
                "no task given: pass {how} (tasks: {})",
                task_names().join(", ")
            )
        })
    }
}

/// The spec, design and split of a file's `obs` under `a`.
pub fn build_split(
    a: &SplitOptions,
    obs: &Frame,
    source: &str,
    quiet: bool,
) -> anyhow::Result<(PerturbationSpec, Design, Split)> {
    let covariate_keys = match &a.covariate_keys {
        Some(k) => k.clone(),
        None if obs.column("cell_type").is_some() => vec!["cell_type".to_string()],
        None => Vec::new(),
    };
    let spec = PerturbationSpec {
        key: a.perturbation_key.clone(),
        control: a.control.clone(),
        delimiter: a.delimiter.clone(),
        covariate_keys,
    };
    let design = Design::from_obs(obs, &spec, source)?;
    let scenario_seed = a.seed.unwrap_or(57);
    let task = a.task(TRAIN_TASK_HOW)?;
    let split = match task {
        TaskName::Saved => {
            let file = a
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
            let axis = if a.scaling_axis == "covariates" {
                ScalingAxis::Covariates
            } else {
                ScalingAxis::Perturbations
            };
            let size = match a.scaling_size.as_str() {
                "medium" => ScalingSize::Medium,
                "full" => ScalingSize::Full,
                _ => ScalingSize::Small,
            };
            let mut cfg = ScalingConfig::new(axis, size);
            if let Some(s) = a.subset_seed {
                cfg.seed = s;
            }
            cfg.split_seed = scenario_seed;
            cfg.max_heldout_covariates = a.max_heldout_covariates.unwrap_or(7);
            cfg.max_heldout_fraction = a.max_heldout_fraction;
            cfg.heldout_covariates = a.heldout_covariates.clone();
            cfg.small_train_covariates = a.train_covariates.clone();
            cfg.medium_train_covariates = a.medium_covariates.clone();
            data_scaling_split(obs, &spec, &cfg, source)?
        }
        TaskName::Imbalance => {
            let Some(h) = a.entropy else {
                bail!("--task imbalance needs --entropy H (e.g. 0.7, 0.8, 0.9)")
            };
            if !(0.0..=1.0).contains(&h) {
                bail!("--entropy must be within [0, 1], got {h}");
            }
            let mut cfg = ImbalanceConfig::new(h);
            cfg.split_seed = scenario_seed;
            cfg.max_heldout_covariates = a.max_heldout_covariates.unwrap_or(1);
            cfg.max_heldout_fraction = a.max_heldout_fraction;
            let (split, kept) = imbalance_split(obs, &spec, &cfg, source)?;
            if !quiet {
                let desc: Vec<String> = kept.iter().map(|(c, n)| format!("{c}: {n}")).collect();
                println!("perturbations kept per covariate: {}", desc.join(", "));
            }
            split
        }
        _ => {
            let task = match task {
                TaskName::Transfer => Task::Transfer {
                    min_train_covariates: a.min_train_covariates,
                    max_heldout_covariates: a.max_heldout_covariates.unwrap_or(1),
                    max_heldout_fraction: a.max_heldout_fraction,
                    max_heldout_perturbations: a.max_heldout_perturbations,
                },
                TaskName::Combination => Task::Combination {
                    max_heldout_fraction: a.max_heldout_fraction,
                    max_heldout_perturbations: a.max_heldout_perturbations,
                },
                TaskName::InverseCombination => Task::InverseCombination {
                    max_heldout_fraction: a.max_heldout_fraction,
                    max_heldout_perturbations: a.max_heldout_perturbations,
                },
                _ => Task::Manual {
                    heldout_covariates: a.heldout_covariates.clone(),
                    fraction: a.fraction,
                },
            };
            let mut cfg = SplitConfig::new(task);
            cfg.seed = a.seed.unwrap_or(42);
            cfg.train_control_fraction = a.train_control_fraction;
            cfg.downsample_fraction = a.downsample_fraction;
            cfg.single_heldout = if a.single_heldout == "train" {
                SingleHeldout::Train
            } else {
                SingleHeldout::Drop
            };
            make_split(&design, &cfg)?
        }
    };
    Ok((spec, design, split))
}

/// How `train`, `tune` and suites take a task.
pub const TRAIN_TASK_HOW: &str =
    "--task combination or data.task=combination, or a data preset that sets one (data=norman19, data=sciplex3, data=mcfaline23)";

/// Runs the command.
pub fn run(a: Args, g: Global) -> anyhow::Result<()> {
    a.opts.task("--task combination")?;
    let source = a.data.display().to_string();
    let reader = H5adReader::open(&a.data)?;
    let obs = reader.read_frame("obs")?;
    let (_, design, split) = build_split(&a.opts, &obs, &source, g.quiet)?;
    let rows = obs
        .index
        .iter()
        .zip(&split.labels)
        .map(|(id, l)| vec![id.as_str(), l.map_or("", |l| l.as_str())]);
    write_csv_atomic(&a.out, Some(&["cell_id", "split"]), rows)?;
    let summary = summarize(&design, &split);
    if let Some(path) = &a.summary {
        let rows = summary.iter().map(|r| {
            vec![
                r.covariates.clone(),
                r.train.to_string(),
                r.val.to_string(),
                r.test.to_string(),
            ]
        });
        write_csv_atomic(path, Some(&["covariates", "train", "val", "test"]), rows)?;
    }
    if !g.quiet {
        let (tr, va, te, none) = split.counts();
        println!(
            "{}: cells train {tr} / val {va} / test {te} / excluded {none} -> {}",
            split.key,
            a.out.display()
        );
        let w = summary
            .iter()
            .map(|r| r.covariates.len())
            .max()
            .unwrap_or(10)
            .max(10);
        println!(
            "{:<w$}  {:>6}  {:>6}  {:>6}   (perturbations incl. control)",
            "covariates", "train", "val", "test"
        );
        for r in &summary {
            println!(
                "{:<w$}  {:>6}  {:>6}  {:>6}",
                r.covariates, r.train, r.val, r.test
            );
        }
    }
    Ok(())
}
