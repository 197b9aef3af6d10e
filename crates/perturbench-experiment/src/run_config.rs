//! The typed configuration of a run: data (file and task), model, trainer and evaluation, one
//! serde tree. Files, presets and dotted overrides resolve into it ([`crate::tree`]); unknown
//! keys are errors naming the key.

use crate::data_config::DataConfig;
use crate::error::{Context, Result};
use crate::{bail, lenient, tree};
use perturbench_data::split::SplitLabel;
use perturbench_models::nn::TrainerConfig;
use perturbench_models::ModelConfig;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::path::Path;

fn val() -> String {
    "val".into()
}

/// The `evaluation` section: which split is predicted and scored, and how.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EvaluationConfig {
    /// Split whose cells are predicted and scored: `val` or `test`.
    #[serde(deserialize_with = "lenient::string")]
    pub split: String,
    /// Control cells sampled per covariate combination for prediction.
    pub max_control_cells: usize,
    /// Seed of the control-cell sample of prediction.
    pub prediction_seed: u64,
    /// Evaluation pipelines `AGG:METRIC[:rank]` (empty: average:rmse:rank and logfc:cosine:rank).
    #[serde(deserialize_with = "lenient::string_list")]
    pub pipelines: Vec<String>,
    /// Also score with cell-eval under this profile (`none`: not at all; full, vcc, minimal,
    /// pds, de, anndata).
    #[serde(deserialize_with = "lenient::string")]
    pub cell_eval: String,
}

impl Default for EvaluationConfig {
    fn default() -> Self {
        EvaluationConfig {
            split: val(),
            max_control_cells: 1000,
            prediction_seed: 0,
            pipelines: Vec::new(),
            cell_eval: "none".into(),
        }
    }
}

impl EvaluationConfig {
    /// The keys of the section.
    pub const KEYS: [&'static str; 5] = [
        "split",
        "max_control_cells",
        "prediction_seed",
        "pipelines",
        "cell_eval",
    ];

    /// The evaluated split.
    pub fn label(&self) -> Result<SplitLabel> {
        match self.split.as_str() {
            "val" => Ok(SplitLabel::Val),
            "test" => Ok(SplitLabel::Test),
            other => {
                bail!("evaluation.split: invalid value '{other}' (possible values: val, test)")
            }
        }
    }
}

/// Everything that defines a run.
#[derive(Debug, Clone, Serialize)]
pub struct RunConfig {
    /// The data file and the task that splits it.
    pub data: DataConfig,
    /// The model and its settings.
    pub model: ModelConfig,
    /// How networks are trained (unused by baselines).
    pub trainer: TrainerConfig,
    /// What is predicted and how it is scored.
    pub evaluation: EvaluationConfig,
}

/// Reads the typed section `name`; on failure, names the offending key.
fn typed<T: serde::de::DeserializeOwned>(tree: &Value, name: &str, keep: &[&str]) -> Result<T> {
    let section = tree
        .get(name)
        .cloned()
        .unwrap_or_else(|| serde_json::json!({}));
    match serde_json::from_value::<T>(section.clone()) {
        Ok(t) => Ok(t),
        Err(e) => {
            if let Some(m) = section.as_object() {
                for (k, v) in m {
                    if keep.contains(&k.as_str()) {
                        continue;
                    }
                    let mut one = serde_json::Map::new();
                    for kk in keep {
                        if let Some(x) = m.get(*kk) {
                            one.insert(kk.to_string(), x.clone());
                        }
                    }
                    one.insert(k.clone(), v.clone());
                    if let Err(e1) = serde_json::from_value::<T>(Value::Object(one)) {
                        bail!("config key {name}.{k} = {v}: {e1}");
                    }
                }
            }
            bail!("config section '{name}': {e}")
        }
    }
}

/// The section `name` without its null values (null = the default), with unknown keys refused
/// with a message that lists the section's keys (`what` describes them).
fn section(tree: &Value, name: &str, keys: &[String], what: &str) -> Result<Value> {
    let mut out = serde_json::Map::new();
    if let Some(m) = tree.get(name).and_then(Value::as_object) {
        for (k, v) in m {
            if !keys.contains(k) {
                bail!("unknown key {name}.{k}; the {name} section takes {what}");
            }
            if !v.is_null() {
                out.insert(k.clone(), v.clone());
            }
        }
    }
    let mut t = serde_json::Map::new();
    t.insert(name.to_string(), Value::Object(out));
    Ok(Value::Object(t))
}

/// The typed `data` section (`section`: its mapping; null: the defaults), checked.
pub fn data_section(section_value: &Value) -> Result<DataConfig> {
    let keys = DataConfig::keys();
    let what = format!(
        "path and {}",
        keys.iter()
            .filter(|k| *k != "path")
            .cloned()
            .collect::<Vec<_>>()
            .join(", ")
    );
    let tree = serde_json::json!({ "data": section_value });
    let data: DataConfig = typed(&section(&tree, "data", &keys, &what)?, "data", &[])?;
    data.check()?;
    Ok(data)
}

/// The model and trainer settings of a resolved tree.
pub fn model_and_trainer(tree: &Value) -> Result<(ModelConfig, TrainerConfig)> {
    let name = tree
        .get("model")
        .and_then(|m| m.get("name"))
        .and_then(|n| n.as_str())
        .with_context(|| {
            format!(
                "no model given: pass --model NAME or model=NAME ({})",
                ModelConfig::NAMES.join(", ")
            )
        })?
        .to_string();
    let Some(defaults) = ModelConfig::defaults(&name) else {
        bail!(
            "unknown model '{name}'; available: {}",
            ModelConfig::NAMES.join(", ")
        );
    };
    // The named model's defaults (`cpa-no-adv` is cpa with use_adversary=false), then the
    // given keys; snake_case names are accepted as the reference spells them.
    let given_keys: Vec<String> = tree["model"]
        .as_object()
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default();
    let mut tree = tree.clone();
    let mut model = serde_json::to_value(&defaults)?;
    if let (Some(m), Some(given)) = (model.as_object_mut(), tree["model"].as_object()) {
        for (k, v) in given {
            if k != "name" {
                m.insert(k.clone(), v.clone());
            }
        }
    }
    tree["model"] = model;
    let model: ModelConfig = typed(&tree, "model", &["name"])?;
    if model.optim().is_none() && !matches!(model, ModelConfig::External(_)) {
        if let Some(k) = given_keys.iter().find(|k| *k != "name") {
            bail!(
                "config key model.{k}: the {} baseline takes no settings",
                model.name()
            );
        }
    }
    if let ModelConfig::External(e) = &model {
        crate::external::check_config(e)?;
    }
    let trainer: TrainerConfig = typed(&tree, "trainer", &[])?;
    Ok((model, trainer))
}

impl RunConfig {
    /// Types a resolved tree (see [`crate::tree::resolve`]).
    pub fn from_tree(tree: &Value) -> Result<RunConfig> {
        let (model, trainer) = model_and_trainer(tree)?;
        let data = data_section(tree.get("data").unwrap_or(&Value::Null))?;
        let keys: Vec<String> = EvaluationConfig::KEYS.map(String::from).to_vec();
        let evaluation: EvaluationConfig = typed(
            &section(tree, "evaluation", &keys, &keys.join(", "))?,
            "evaluation",
            &[],
        )?;
        evaluation.label()?;
        crate::cell_eval::CellEvalSetup::new(&evaluation.cell_eval, "", "", &[])?;
        Ok(RunConfig {
            data,
            model,
            trainer,
            evaluation,
        })
    }

    /// Resolves and types `items` in order.
    pub fn resolve(items: &[tree::Item]) -> Result<RunConfig> {
        RunConfig::from_tree(&tree::resolve(items)?)
    }

    /// The whole configuration as a tree that [`RunConfig::from_tree`] reads back unchanged.
    pub fn to_tree(&self) -> Value {
        serde_json::to_value(self).expect("a run configuration serialises")
    }

    /// Writes the whole configuration to `path` (JSON), e.g. for a run in a child process.
    pub fn write(&self, path: &Path) -> Result<()> {
        let text = serde_json::to_string_pretty(&self.to_tree())?;
        perturbench_io::write_atomic(path, text.as_bytes())?;
        Ok(())
    }

    /// The data file, or an error saying how to pass one.
    pub fn data_path(&self) -> Result<&Path> {
        self.data
            .path
            .as_deref()
            .context("no data file: pass DATA.h5ad or data.path=FILE")
    }

    /// The main settings as YAML (what `train --print-config` prints): data file and task,
    /// model, trainer and evaluation.
    pub fn to_yaml(&self) -> String {
        let d = &self.data;
        let resolved = serde_json::json!({
            "data": {
                "path": d.path.as_ref().map(|p| p.display().to_string()),
                "task": d.task.map(|t| t.name()),
                "perturbation_key": d.perturbation_key,
                "control": d.control,
                "covariate_keys": d.covariate_keys,
                "seed": d.seed,
                "max_heldout_fraction": d.max_heldout_fraction,
            },
            "model": self.model,
            "trainer": self.trainer,
            "evaluation": self.evaluation,
        });
        tree::to_yaml(&resolved)
    }

    /// What decides the split and the evaluated groups: data file, split settings and
    /// evaluation split (not the model, trainer or prediction settings).
    pub fn split_key(&self) -> String {
        format!(
            "{}|{}",
            serde_json::to_string(&self.data).unwrap_or_default(),
            self.evaluation.split
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tree::Item;

    fn set(k: &str, v: &str) -> Item {
        Item::Set(k.into(), v.into())
    }

    #[test]
    fn unknown_keys_and_values_name_the_key() {
        let e = RunConfig::resolve(&[set("model", "additive"), set("data.tsak", "x")])
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with(
                "unknown key data.tsak; the data section takes path and task, perturbation_key"
            ),
            "{e}"
        );
        let e = RunConfig::resolve(&[set("model", "additive"), set("evaluation.nope", "1")])
            .unwrap_err()
            .to_string();
        assert_eq!(e, "unknown key evaluation.nope; the evaluation section takes split, max_control_cells, prediction_seed, pipelines, cell_eval");
        let e = RunConfig::resolve(&[set("model", "additive"), set("data.task", "combo")])
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("config key data.task = \"combo\""), "{e}");
        let e = RunConfig::resolve(&[set("model", "additive"), set("evaluation.split", "train")])
            .unwrap_err()
            .to_string();
        assert!(e.contains("possible values: val, test"), "{e}");
        let e = RunConfig::resolve(&[set("model", "additive"), set("data.single_heldout", "x")])
            .unwrap_err()
            .to_string();
        assert!(e.contains("data.single_heldout"), "{e}");
    }

    #[test]
    fn command_line_scalars_and_lists_are_read_leniently() {
        let c = RunConfig::resolve(&[
            set("model", "latent-additive"),
            set("data.control", "0"),
            set("data.covariate_keys", "cell_type,batch"),
            set("data.task", "inverse-combination"),
            set("evaluation.pipelines", "average:rmse:rank"),
        ])
        .unwrap();
        assert_eq!(c.data.control, "0");
        assert_eq!(
            c.data.covariate_keys,
            Some(vec!["cell_type".to_string(), "batch".to_string()])
        );
        assert_eq!(c.data.task, Some(crate::TaskName::InverseCombination));
        assert_eq!(c.evaluation.pipelines, vec!["average:rmse:rank"]);
    }

    #[test]
    fn the_written_configuration_reads_back_unchanged() {
        let c = RunConfig::resolve(&[
            set("experiment", "norman19/latent_additive"),
            set("data.path", "x.h5ad"),
            set("model.latent_dim", "7"),
            set("trainer.max_epochs", "3"),
            set("evaluation.split", "test"),
        ])
        .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("run.json");
        c.write(&path).unwrap();
        let back = RunConfig::resolve(&[Item::File(path)]).unwrap();
        assert_eq!(back.to_tree(), c.to_tree());
        assert_eq!(back.data, c.data);
        assert_eq!(back.evaluation, c.evaluation);
    }
}
