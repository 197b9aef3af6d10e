//! `perturbench train`'s arguments: configuration items in command-line order, the data file
//! and the flags, resolved into a typed [`RunConfig`].

use super::SplitFlags;
use crate::tree::{self, Item};
use crate::{Error, Result, RunConfig};
use clap::ArgMatches;
use std::path::PathBuf;

/// The arguments of `perturbench train` (also the form in which tuning studies and benchmark
/// suites store the settings their runs share).
#[derive(clap::Args, Debug)]
pub struct TrainArgs {
    /// The processed .h5ad file (log-normalised X; or `data.path=FILE`) and configuration
    /// items: `model=NAME`, `data=NAME` (a data preset, with its task: norman19, sciplex3,
    /// mcfaline23), `experiment=DATASET/MODEL`, `SECTION.KEY=VALUE`, and `seed=N`
    /// (PerturBench's top-level seed: sets trainer.seed and evaluation.prediction_seed; the
    /// split keeps data.seed, PerturBench's splitter_seed). Later items win.
    #[arg(value_name = "DATA | KEY=VALUE")]
    pub items: Vec<String>,
    /// Model (same as model=NAME): average, control-mean, train-mean, additive,
    /// linear-additive, latent-additive, decoder-only, cpa, cpa-no-adv, sams-vae,
    /// sams-vae-modified, biolord.
    #[arg(long)]
    pub model: Option<String>,
    /// A YAML, TOML or JSON file with the sections data, model, trainer, evaluation
    /// (repeatable; applied in command-line order with the items).
    #[arg(long)]
    pub config: Vec<PathBuf>,
    /// Print the resolved configuration and exit.
    #[arg(long)]
    pub print_config: bool,
    /// Resume from the training state an interrupted run left next to OUT (`.OUT.state/`).
    #[arg(long)]
    pub resume: bool,
    /// Output directory: checkpoint/, predictions.h5ad, reference.h5ad, evaluation/, losses.csv.
    #[arg(long)]
    pub out: Option<PathBuf>,
    #[command(flatten)]
    pub split: SplitFlags,
    /// Split whose cells are predicted and scored (evaluation.split; default val).
    #[arg(long, value_parser = ["val", "test"])]
    pub evaluation_split: Option<String>,
    /// Control cells sampled per covariate combination for prediction (default 1000).
    #[arg(long)]
    pub max_control_cells: Option<usize>,
    /// Seed of the control-cell sample of prediction (default 0).
    #[arg(long)]
    pub prediction_seed: Option<u64>,
    /// Evaluation pipeline AGG:METRIC[:rank] (repeatable; default average:rmse:rank and logfc:cosine:rank).
    #[arg(long = "pipeline")]
    pub pipelines: Vec<String>,
}

/// Whether a command-line token is a configuration item `KEY=VALUE`.
fn is_assignment(t: &str) -> bool {
    let Some((k, _)) = t.split_once('=') else {
        return false;
    };
    !t.starts_with('-')
        && k.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        && k.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.')
}

/// The configuration items of `train`'s matches (`--config`, `--model` and `KEY=VALUE`), in
/// command-line order, and the data file among the positional arguments.
pub fn ordered_items(m: &ArgMatches) -> Result<(Vec<Item>, Option<String>)> {
    let mut found: Vec<(usize, Item)> = Vec::new();
    let mut data: Option<String> = None;
    if let (Some(idx), Some(vals)) = (m.indices_of("config"), m.get_many::<PathBuf>("config")) {
        found.extend(idx.zip(vals).map(|(i, v)| (i, Item::File(v.clone()))));
    }
    if let (Some(idx), Some(vals)) = (m.indices_of("model"), m.get_many::<String>("model")) {
        found.extend(
            idx.zip(vals)
                .map(|(i, v)| (i, Item::Set("model".into(), v.clone()))),
        );
    }
    if let (Some(idx), Some(vals)) = (m.indices_of("items"), m.get_many::<String>("items")) {
        for (i, v) in idx.zip(vals) {
            if is_assignment(v) {
                let (k, x) = v.split_once('=').expect("checked");
                found.push((i, Item::Set(k.into(), x.into())));
            } else if data.is_none() {
                data = Some(v.clone());
            } else {
                return Err(Error::msg(format!("unexpected argument '{v}': configuration items are KEY=VALUE (model=NAME, model.lr=1e-4, trainer.max_epochs=50, ...)")));
            }
        }
    }
    found.sort_by_key(|(i, _)| *i);
    Ok((found.into_iter().map(|(_, it)| it).collect(), data))
}

impl TrainArgs {
    /// The run configuration: the items in order, then the data file and the flags (which
    /// win).
    pub fn config(&self, items: &[Item], data: Option<&str>) -> Result<RunConfig> {
        let mut t = tree::resolve(items)?;
        let mut d = serde_json::to_value(&self.split)?;
        if let Some(p) = data {
            d["path"] = serde_json::Value::from(p);
        }
        let mut ev = serde_json::Map::new();
        if let Some(s) = &self.evaluation_split {
            ev.insert("split".into(), s.clone().into());
        }
        if let Some(n) = self.max_control_cells {
            ev.insert("max_control_cells".into(), n.into());
        }
        if let Some(s) = self.prediction_seed {
            ev.insert("prediction_seed".into(), s.into());
        }
        if !self.pipelines.is_empty() {
            ev.insert("pipelines".into(), self.pipelines.clone().into());
        }
        tree::merge(&mut t, serde_json::json!({"data": d, "evaluation": ev}));
        RunConfig::from_tree(&t)
    }
}

/// `train`'s arguments (data file, items, flags, as typed after `perturbench train`) resolved
/// in this process into a run configuration, for the commands that run trains (`tune`,
/// `benchmark`, workers): clap's errors reduced to their message (no `train` usage text,
/// which would name the wrong command).
pub fn config_from_args(args: &[String]) -> Result<RunConfig> {
    use clap::FromArgMatches;
    let cmd = <TrainArgs as clap::Args>::augment_args(
        clap::Command::new("train")
            .no_binary_name(true)
            .args_override_self(true),
    );
    let brief = |e: clap::Error| {
        let text = e.render().to_string();
        let first = text
            .lines()
            .next()
            .unwrap_or("invalid arguments")
            .to_string();
        Error::msg(first.trim_start_matches("error: "))
    };
    let m = cmd.try_get_matches_from(args).map_err(brief)?;
    let a = TrainArgs::from_arg_matches(&m).map_err(brief)?;
    let (items, data) = ordered_items(&m)?;
    a.config(&items, data.as_deref())
}
