//! The prediction requests of an evaluation split: which groups a model is asked to predict and
//! from which control cells. `train` (built-in and external models) and the Python
//! `prediction_requests` share them, so a user's model gets exactly the inputs ours get.

use crate::bail;
use crate::data_config::DataConfig;
use crate::error::Result;
use crate::feasible::{feasible_split, unpredictable};
use perturbench_data::split::{Split, SplitLabel};
use perturbench_data::{Design, PerturbationSpec};
use perturbench_io::Frame;
use perturbench_models::{
    sample_controls, split_targets, Encoding, ModelError, SampledControls, Target,
};
use std::collections::HashMap;
use std::ops::Range;

/// What a model is asked to predict for an evaluation split.
#[derive(Debug, Clone)]
pub struct Requests {
    /// The perturbed groups to predict, in order of first appearance.
    pub targets: Vec<Target>,
    /// Sampled control rows per covariate combination (index into `Design::covariates`).
    pub sampled: HashMap<u32, Vec<usize>>,
    /// Groups left out because train lacks one of their perturbations or covariate values,
    /// each as `PERTURBATION (COVARIATES: REASON)`.
    pub skipped: Vec<String>,
}

/// The control cells of every request, target after target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestRows {
    /// The row of the control cell each request transforms.
    pub rows: Vec<usize>,
    /// The requests of each target (positions in `rows`).
    pub ranges: Vec<Range<usize>>,
}

impl Requests {
    /// The requests of the evaluation rows `eval_rows`: their perturbed groups that the train
    /// vocabulary `enc` can predict, and at most `max_controls` control cells per covariate
    /// combination drawn with `seed` (PerturBench's sampling).
    pub fn plan(
        design: &Design,
        spec: &PerturbationSpec,
        enc: &Encoding,
        eval_rows: &[usize],
        max_controls: usize,
        seed: u64,
    ) -> Requests {
        let mut skipped = Vec::new();
        let targets = split_targets(design, eval_rows)
            .into_iter()
            .filter(|t| match unpredictable(t, spec, enc) {
                Some(why) => {
                    skipped.push(why);
                    false
                }
                None => true,
            })
            .collect();
        Requests {
            targets,
            sampled: sample_controls(design, eval_rows, max_controls, seed),
            skipped,
        }
    }

    /// The warning naming the groups of the `split` split that are not predicted, if any.
    pub fn skipped_warning(&self, split: &str) -> Option<String> {
        (!self.skipped.is_empty()).then(|| {
            format!(
                "{} {split} group(s) have perturbations never seen in train and are not predicted: {}",
                self.skipped.len(),
                self.skipped.join(", ")
            )
        })
    }

    /// One request per sampled control cell of each target's covariate combination.
    pub fn rows(&self, design: &Design) -> std::result::Result<RequestRows, ModelError> {
        let controls_of = SampledControls::new(design, &self.sampled);
        let mut rows = Vec::new();
        let mut ranges = Vec::with_capacity(self.targets.len());
        for t in &self.targets {
            let controls = controls_of.of(t)?;
            let start = rows.len();
            rows.extend_from_slice(controls);
            ranges.push(start..rows.len());
        }
        Ok(RequestRows { rows, ranges })
    }
}

/// The prediction requests of a data set's `obs` (genes `genes`, named `source` in errors),
/// as `train … model=external` hands them over: split by `data`, or labelled by `labels`
/// (one per cell, as `perturbench split` writes them) when given; evaluated split `label`.
/// Returns the design, the train vocabulary, the requests and their rows.
#[allow(clippy::too_many_arguments)]
pub fn plan_requests(
    obs: &Frame,
    genes: &[String],
    data: &DataConfig,
    labels: Option<Vec<Option<SplitLabel>>>,
    label: SplitLabel,
    max_controls: usize,
    seed: u64,
    source: &str,
    on_info: &dyn Fn(&str),
) -> Result<(Design, Encoding, Requests, RequestRows)> {
    let (spec, design, split) = match labels {
        Some(labels) => {
            if labels.len() != obs.nrows() {
                bail!(
                    "{source}: {} split labels for {} cells",
                    labels.len(),
                    obs.nrows()
                );
            }
            data.check()?;
            let spec = data.spec(obs);
            let design = Design::from_obs(obs, &spec, source)?;
            let split = Split {
                key: "given".into(),
                labels,
            };
            (spec, design, split)
        }
        None => data.build_split(obs, source, on_info)?,
    };
    let (_, eval_rows, enc) = feasible_split(&split, &design, &spec, genes, label, source)?;
    let requests = Requests::plan(&design, &spec, &enc, &eval_rows, max_controls, seed);
    let rows = requests.rows(&design)?;
    Ok((design, enc, requests, rows))
}
