//! Whether a split can be scored at all, decided from obs and the gene names before X is read
//! and anything is fitted: infeasible work is refused before it starts.

use crate::bail;
use crate::error::Result;
use crate::run_config::RunConfig;
use perturbench_data::split::{Split, SplitLabel};
use perturbench_data::{Design, PerturbationSet, PerturbationSpec};
use perturbench_io::{Frame, H5adReader};
use perturbench_models::{split_targets, Encoding, Target};
use std::collections::BTreeMap;
use std::path::PathBuf;

/// Why the evaluation group `t` cannot be predicted by a model fitted on the vocabulary
/// `enc` (a perturbation never seen in train, a covariate value train lacks), as
/// `PERTURBATION (COVARIATES: REASON)`; `None` when it can be.
pub fn unpredictable(t: &Target, spec: &PerturbationSpec, enc: &Encoding) -> Option<String> {
    let mut why = Vec::new();
    match PerturbationSet::parse(&t.perturbation, spec) {
        Ok(set) => {
            let unseen: Vec<&str> = set
                .names()
                .iter()
                .map(String::as_str)
                .filter(|n| !enc.perturbations.iter().any(|p| p == n))
                .collect();
            if !unseen.is_empty() {
                why.push(format!("{} never seen in train", unseen.join(", ")));
            }
        }
        Err(e) => why.push(e.to_string()),
    }
    if let Err(e) = enc.check_covariates(&t.covariates) {
        why.push(e.to_string());
    }
    (!why.is_empty()).then(|| {
        let cov = if t.covariates.is_empty() {
            String::new()
        } else {
            format!("{}: ", t.covariates.join("_"))
        };
        format!("{} ({cov}{})", t.perturbation, why.join("; "))
    })
}

/// The train rows, evaluation rows and train vocabulary of `split`, or an error when the
/// evaluation split `label` cannot be scored: no train or evaluation cells, or no evaluation
/// group whose perturbations and covariates all occur in train (the combination splitter can
/// hold out only combos with a single never seen in train).
pub fn feasible_split(
    split: &Split,
    design: &Design,
    spec: &PerturbationSpec,
    genes: &[String],
    label: SplitLabel,
    source: &str,
) -> Result<(Vec<usize>, Vec<usize>, Encoding)> {
    let train_rows = split.rows(SplitLabel::Train);
    if train_rows.is_empty() {
        bail!("{source}: the {} split has no training cells", split.key);
    }
    let eval_rows = split.rows(label);
    if eval_rows.is_empty() {
        bail!(
            "{source}: the {} split has no {} cells to evaluate; evaluate the other split (evaluation.split=val|test or --evaluation-split) or draw another split (data.seed=N)",
            split.key,
            label.as_str()
        );
    }
    let enc = Encoding::from_train(design, spec, &train_rows, genes);
    let targets = split_targets(design, &eval_rows);
    let why: Vec<String> = targets
        .iter()
        .filter_map(|t| unpredictable(t, spec, &enc))
        .collect();
    if why.len() == targets.len() {
        let other = match label {
            SplitLabel::Val => "test",
            _ => "val",
        };
        bail!(
            "{source}: the {} split leaves no {} group that can be predicted{}; evaluate the {other} split instead (evaluation.split={other} or --evaluation-split {other}) or draw another split (data.seed=N); nothing was trained",
            split.key,
            label.as_str(),
            if why.is_empty() {
                " (it has control cells only)".to_string()
            } else {
                format!(": {}", why.join(", "))
            }
        );
    }
    Ok((train_rows, eval_rows, enc))
}

/// The obs and gene names of data files already read (a suite reads each dataset once).
pub type ObsCache = BTreeMap<PathBuf, (Frame, Vec<String>)>;

/// Checks a run before anything is fitted, as [`crate::run_experiment`] does first: data file,
/// task (`task_how` says how to pass one when none is given), and whether the evaluation
/// split has a group that can be predicted (reads only obs and var of the data file).
pub fn check_feasible(config: &RunConfig, task_how: &str, cache: &mut ObsCache) -> Result<()> {
    let data = config.data_path()?.to_path_buf();
    config.data.task(task_how)?;
    if !cache.contains_key(&data) {
        let reader = H5adReader::open(&data)?;
        let obs = reader.read_frame("obs")?;
        let var = reader.read_frame("var")?;
        cache.insert(data.clone(), (obs, var.index));
    }
    let (obs, genes) = &cache[&data];
    let source = data.display().to_string();
    let (spec, design, split) = config.data.build_split(obs, &source, &|_| {})?;
    feasible_split(
        &split,
        &design,
        &spec,
        genes,
        config.evaluation.label()?,
        &source,
    )?;
    Ok(())
}
