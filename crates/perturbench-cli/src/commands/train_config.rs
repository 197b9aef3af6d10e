//! The configuration of `perturbench train`: the rewriting of its command line (config files,
//! groups, presets and `KEY=VALUE` items into flags and one resolved tree, see
//! [`crate::run_config`]) and the typed `model` and `trainer` sections.

use super::train::Args;
use anyhow::{bail, Context};
use perturbench_models::nn::TrainerConfig;
use perturbench_models::ModelConfig;

/// `evaluation.*` keys and the flags they set.
const EVALUATION_KEYS: [(&str, &str); 4] = [
    ("split", "--evaluation-split"),
    ("max_control_cells", "--max-control-cells"),
    ("prediction_seed", "--prediction-seed"),
    ("pipelines", "--pipeline"),
];

fn flag_value(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Array(a) => a.iter().map(flag_value).collect::<Vec<_>>().join(","),
        other => other.to_string(),
    }
}

fn is_assignment(t: &str) -> bool {
    let Some((k, _)) = t.split_once('=') else {
        return false;
    };
    !t.starts_with('-')
        && k.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        && k.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.')
}

/// Rewrites the arguments of `train`: `--config FILE`, `--model NAME`, `data=`, `model=`,
/// `experiment=` and dotted `KEY=VALUE` items are resolved into one configuration tree, whose
/// `data` and `evaluation` keys become flags placed before the user's own flags (which win)
/// and whose `model` and `trainer` sections travel as one hidden argument.
pub fn expand_argv(argv: Vec<String>) -> anyhow::Result<Vec<String>> {
    use crate::run_config::{resolve, Item};
    // The subcommand is the first token that is neither a global flag nor its value.
    let mut pos = None;
    let mut i = 1;
    while i < argv.len() {
        let t = &argv[i];
        if t == "--threads" {
            i += 2;
            continue;
        }
        if !t.starts_with('-') {
            pos = Some(i);
            break;
        }
        i += 1;
    }
    let Some(pos) = pos.filter(|&p| argv[p] == "train") else {
        return Ok(argv);
    };
    let mut items = Vec::new();
    let mut rest = Vec::new();
    let mut it = argv[pos + 1..].iter();
    while let Some(t) = it.next() {
        if t == "--config" || t == "--model" {
            let v = it
                .next()
                .with_context(|| format!("{t} needs a value"))?
                .clone();
            items.push(if t == "--config" {
                Item::File(v.into())
            } else {
                Item::Set("model".into(), v)
            });
        } else if let Some(v) = t.strip_prefix("--config=") {
            items.push(Item::File(v.into()));
        } else if let Some(v) = t.strip_prefix("--model=") {
            items.push(Item::Set("model".into(), v.into()));
        } else if is_assignment(t) {
            let (k, v) = t.split_once('=').expect("checked");
            items.push(Item::Set(k.into(), v.into()));
        } else {
            rest.push(t.clone());
        }
    }
    let tree = resolve(&items)?;
    // Flags the data section may set: the split options of this command.
    let cmd = <Args as clap::Args>::augment_args(clap::Command::new("train"));
    let known: Vec<String> = cmd
        .get_arguments()
        .filter(|a| !a.is_hide_set())
        .filter_map(|a| a.get_long().map(str::to_string))
        .filter(|l| {
            ![
                "model",
                "config",
                "print-config",
                "resume",
                "out",
                "evaluation-split",
                "max-control-cells",
                "prediction-seed",
                "pipeline",
            ]
            .contains(&l.as_str())
        })
        .collect();
    let mut flags = Vec::new();
    if let Some(data) = tree.get("data").and_then(|d| d.as_object()) {
        for (k, v) in data {
            if k == "path" {
                if v.is_null() {
                    continue;
                }
                flags.push("--data-path".to_string());
                flags.push(flag_value(v));
                continue;
            }
            let long = k.replace('_', "-");
            if !known.contains(&long) {
                anyhow::bail!(
                    "unknown key data.{k}; the data section takes path and {}",
                    known
                        .iter()
                        .map(|l| l.replace('-', "_"))
                        .collect::<Vec<_>>()
                        .join(", ")
                );
            }
            // null = the flag's default (as `--print-config` shows unset keys).
            if v.is_null() {
                continue;
            }
            flags.push(format!("--{long}"));
            flags.push(flag_value(v));
        }
    }
    if let Some(ev) = tree.get("evaluation").and_then(|d| d.as_object()) {
        for (k, v) in ev {
            let Some((_, flag)) = EVALUATION_KEYS.iter().find(|(n, _)| n == k) else {
                anyhow::bail!(
                    "unknown key evaluation.{k}; the evaluation section takes {}",
                    EVALUATION_KEYS.map(|(n, _)| n).join(", ")
                );
            };
            match v {
                serde_json::Value::Null => {}
                serde_json::Value::Array(a) => {
                    for x in a {
                        flags.push(flag.to_string());
                        flags.push(flag_value(x));
                    }
                }
                _ => {
                    flags.push(flag.to_string());
                    flags.push(flag_value(v));
                }
            }
        }
    }
    let mut out: Vec<String> = argv[..=pos].to_vec();
    out.extend(flags);
    out.push("--resolved-config".into());
    out.push(tree.to_string());
    out.extend(rest);
    Ok(out)
}

/// Reads the typed section `name`; on failure, names the offending key.
fn typed<T: serde::de::DeserializeOwned>(
    tree: &serde_json::Value,
    name: &str,
    keep: &[&str],
) -> anyhow::Result<T> {
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
                    if let Err(e1) = serde_json::from_value::<T>(serde_json::Value::Object(one)) {
                        bail!("config key {name}.{k} = {v}: {e1}");
                    }
                }
            }
            bail!("config section '{name}': {e}")
        }
    }
}

/// The model and trainer settings of a resolved tree.
pub fn model_and_trainer(tree: &serde_json::Value) -> anyhow::Result<(ModelConfig, TrainerConfig)> {
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
    let mut model = serde_json::to_value(&defaults).context("internal: model defaults")?;
    if let (Some(m), Some(given)) = (model.as_object_mut(), tree["model"].as_object()) {
        for (k, v) in given {
            if k != "name" {
                m.insert(k.clone(), v.clone());
            }
        }
    }
    tree["model"] = model;
    let model: ModelConfig = typed(&tree, "model", &["name"])?;
    if model.optim().is_none() {
        if let Some(k) = given_keys.iter().find(|k| *k != "name") {
            bail!(
                "config key model.{k}: the {} baseline takes no settings",
                model.name()
            );
        }
    }
    let trainer: TrainerConfig = typed(&tree, "trainer", &[])?;
    Ok((model, trainer))
}

#[cfg(test)]
mod tests {
    use super::expand_argv;

    fn v(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn only_the_train_subcommand_is_rewritten() {
        let split = v(&["perturbench", "split", "d.h5ad", "--out", "train", "a=b"]);
        assert_eq!(expand_argv(split.clone()).unwrap(), split);
        let out = expand_argv(v(&[
            "perturbench",
            "--threads",
            "2",
            "train",
            "d.h5ad",
            "model=additive",
        ]))
        .unwrap();
        assert_eq!(
            &out[..4],
            &v(&["perturbench", "--threads", "2", "train"])[..]
        );
        assert!(out.contains(&"--resolved-config".to_string()));
        assert!(!out.contains(&"model=additive".to_string()));
    }
}
