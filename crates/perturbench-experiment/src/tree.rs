//! The untyped configuration tree of a run: the sections `data`, `model`, `trainer` and
//! `evaluation`, resolved Hydra-style from (in order) YAML or TOML files, config groups
//! (`data=NAME`, `model=NAME`, `experiment=DATASET/MODEL`, built-in presets) and dotted
//! overrides (`model.latent_dim=256 trainer.max_epochs=50`). [`crate::RunConfig::from_tree`]
//! types it.

use crate::bail;
use crate::error::{Context, Result};
use serde_json::{Map, Value};

/// Built-in presets: (`group/name`, YAML text).
pub const PRESETS: &[(&str, &str)] = &[
    (
        "data/norman19",
        include_str!("../presets/data/norman19.yaml"),
    ),
    (
        "data/sciplex3",
        include_str!("../presets/data/sciplex3.yaml"),
    ),
    (
        "data/mcfaline23",
        include_str!("../presets/data/mcfaline23.yaml"),
    ),
    (
        "experiment/norman19/linear_additive",
        include_str!("../presets/experiment/norman19/linear_additive.yaml"),
    ),
    (
        "experiment/norman19/latent_additive",
        include_str!("../presets/experiment/norman19/latent_additive.yaml"),
    ),
    (
        "experiment/norman19/decoder_only",
        include_str!("../presets/experiment/norman19/decoder_only.yaml"),
    ),
    (
        "experiment/sciplex3/linear_additive",
        include_str!("../presets/experiment/sciplex3/linear_additive.yaml"),
    ),
    (
        "experiment/sciplex3/latent_additive",
        include_str!("../presets/experiment/sciplex3/latent_additive.yaml"),
    ),
    (
        "experiment/sciplex3/decoder_only",
        include_str!("../presets/experiment/sciplex3/decoder_only.yaml"),
    ),
    (
        "experiment/sciplex3/decoder_cov",
        include_str!("../presets/experiment/sciplex3/decoder_cov.yaml"),
    ),
    (
        "experiment/mcfaline23/linear_additive",
        include_str!("../presets/experiment/mcfaline23/linear_additive.yaml"),
    ),
    (
        "experiment/mcfaline23/latent_additive",
        include_str!("../presets/experiment/mcfaline23/latent_additive.yaml"),
    ),
    (
        "experiment/mcfaline23/decoder_only",
        include_str!("../presets/experiment/mcfaline23/decoder_only.yaml"),
    ),
    (
        "experiment/norman19/cpa",
        include_str!("../presets/experiment/norman19/cpa.yaml"),
    ),
    (
        "experiment/norman19/cpa_no_adv",
        include_str!("../presets/experiment/norman19/cpa_no_adv.yaml"),
    ),
    (
        "experiment/norman19/sams_vae",
        include_str!("../presets/experiment/norman19/sams_vae.yaml"),
    ),
    (
        "experiment/norman19/biolord",
        include_str!("../presets/experiment/norman19/biolord.yaml"),
    ),
    (
        "experiment/sciplex3/cpa",
        include_str!("../presets/experiment/sciplex3/cpa.yaml"),
    ),
    (
        "experiment/sciplex3/cpa_no_adv",
        include_str!("../presets/experiment/sciplex3/cpa_no_adv.yaml"),
    ),
    (
        "experiment/sciplex3/sams_vae",
        include_str!("../presets/experiment/sciplex3/sams_vae.yaml"),
    ),
    (
        "experiment/sciplex3/biolord",
        include_str!("../presets/experiment/sciplex3/biolord.yaml"),
    ),
    (
        "experiment/mcfaline23/cpa",
        include_str!("../presets/experiment/mcfaline23/cpa.yaml"),
    ),
];

/// The sections of the tree.
pub const SECTIONS: [&str; 4] = ["data", "model", "trainer", "evaluation"];

/// Parses JSON, YAML or TOML text (by extension; YAML when unknown) into a tree.
pub fn parse_text(text: &str, name: &str) -> Result<Value> {
    let v: Value = if name.ends_with(".json") {
        serde_json::from_str(text)
            .map_err(|e| crate::Error::msg(format!("{name}: not valid JSON: {e}")))?
    } else if name.ends_with(".toml") {
        toml::from_str(text)
            .map_err(|e| crate::Error::msg(format!("{name}: not valid TOML: {e}")))?
    } else {
        serde_saphyr::from_str(text)
            .map_err(|e| crate::Error::msg(format!("{name}: not valid YAML: {e}")))?
    };
    match v {
        Value::Object(_) => Ok(v),
        Value::Null => Ok(Value::Object(Map::new())),
        _ => bail!("{name}: expected a mapping of sections (data, model, trainer, evaluation)"),
    }
}

/// A scalar from the command line: integer, float, bool, null or string.
pub fn parse_scalar(s: &str) -> Value {
    if let Ok(i) = s.parse::<i64>() {
        return Value::from(i);
    }
    if let Ok(f) = s.parse::<f64>() {
        if f.is_finite() {
            return Value::from(f);
        }
    }
    match s {
        "true" | "True" => Value::Bool(true),
        "false" | "False" => Value::Bool(false),
        "null" | "None" | "~" => Value::Null,
        _ => Value::String(s.to_string()),
    }
}

/// Merges `b` into `a` (maps recursively, everything else replaced).
pub fn merge(a: &mut Value, b: Value) {
    match (a, b) {
        (Value::Object(am), Value::Object(bm)) => {
            for (k, v) in bm {
                match am.get_mut(&k) {
                    Some(slot) if slot.is_object() && v.is_object() => merge(slot, v),
                    _ => {
                        am.insert(k, v);
                    }
                }
            }
        }
        (slot, v) => *slot = v,
    }
}

fn check_sections(tree: &Value, origin: &str) -> Result<()> {
    if let Value::Object(m) = tree {
        for k in m.keys() {
            if !SECTIONS.contains(&k.as_str()) {
                bail!(
                    "{origin}: unknown key '{k}' (sections are {})",
                    SECTIONS.join(", ")
                );
            }
        }
    }
    Ok(())
}

/// The preset `group/name`.
pub fn preset(group: &str, name: &str) -> Result<Value> {
    let key = format!("{group}/{}", name.replace('-', "_"));
    let (_, text) = PRESETS.iter().find(|(k, _)| *k == key).with_context(|| {
        let names: Vec<&str> = PRESETS
            .iter()
            .filter_map(|(k, _)| k.strip_prefix(&format!("{group}/")))
            .collect();
        format!(
            "unknown {group} preset '{name}'; available: {}",
            names.join(", ")
        )
    })?;
    let v = parse_text(text, &key)?;
    check_sections(&v, &key)?;
    Ok(v)
}

/// One command-line item of the tree.
#[derive(Debug, Clone)]
pub enum Item {
    /// `--config FILE`.
    File(std::path::PathBuf),
    /// `group=name` or `a.b.c=value`.
    Set(String, String),
}

/// Resolves the tree from `items` in order (a model group or `model.name` resets the model
/// section to that model's defaults first).
pub fn resolve(items: &[Item]) -> Result<Value> {
    let mut tree = Value::Object(Map::new());
    for item in items {
        match item {
            Item::File(path) => {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("{}: cannot read the config file", path.display()))?;
                let v = parse_text(&text, &path.display().to_string())?;
                check_sections(&v, &path.display().to_string())?;
                merge(&mut tree, v);
            }
            Item::Set(key, value) => match key.as_str() {
                "data" => merge(&mut tree, preset("data", value)?),
                "experiment" => merge(&mut tree, preset("experiment", value)?),
                "model" => set(&mut tree, &["model"], serde_json::json!({ "name": value })),
                "seed" => {
                    let seed = parse_seed(value)?;
                    for path in SEED_KEYS {
                        set(&mut tree, &path, Value::from(seed));
                    }
                }
                _ => {
                    let path: Vec<&str> = key.split('.').collect();
                    if path.len() < 2
                        || !SECTIONS.contains(&path[0])
                        || path.iter().any(|p| p.is_empty())
                    {
                        bail!(
                            "override '{key}={value}': expected SECTION.KEY=VALUE with SECTION one of {} (or data=, model=, experiment=, seed=)",
                            SECTIONS.join(", ")
                        );
                    }
                    if path == ["model", "name"] {
                        set(&mut tree, &["model"], serde_json::json!({ "name": value }));
                    } else {
                        set(&mut tree, &path, parse_scalar(value));
                    }
                }
            },
        }
    }
    Ok(tree)
}

/// The keys PerturBench's top-level `seed` (Hydra's `seed=N`, handed to
/// `seed_everything`: model initialisation, batch order and the control-cell draws of
/// prediction) sets here. The split keeps its own seed (`data.seed`, PerturBench's
/// `splitter_seed`), as in PerturBench.
pub const SEED_KEYS: [[&str; 2]; 2] = [["trainer", "seed"], ["evaluation", "prediction_seed"]];

/// The value of a top-level `seed=N` item: a non-negative integer.
fn parse_seed(value: &str) -> Result<u64> {
    value.parse::<u64>().map_err(|_| {
        crate::Error::msg(format!(
            "seed={value}: expected a non-negative integer (seed=N sets trainer.seed and evaluation.prediction_seed)"
        ))
    })
}

fn set(tree: &mut Value, path: &[&str], value: Value) {
    let mut node = tree;
    for (i, p) in path.iter().enumerate() {
        if !node.is_object() {
            *node = Value::Object(Map::new());
        }
        let m = node.as_object_mut().expect("made an object");
        if i + 1 == path.len() {
            m.insert(p.to_string(), value);
            return;
        }
        node = m
            .entry(p.to_string())
            .or_insert_with(|| Value::Object(Map::new()));
    }
}

/// The tree as YAML text (for `--print-config`).
pub fn to_yaml(v: &Value) -> String {
    fn scalar(v: &Value) -> String {
        match v {
            Value::String(s) => {
                let plain = !s.is_empty()
                    && s.chars()
                        .all(|c| c.is_ascii_alphanumeric() || "_-./+".contains(c))
                    && !matches!(s.as_str(), "true" | "false" | "null" | "True" | "False")
                    && s.parse::<f64>().is_err();
                if plain {
                    s.clone()
                } else {
                    serde_json::to_string(s).expect("string")
                }
            }
            Value::Array(a) => format!("[{}]", a.iter().map(scalar).collect::<Vec<_>>().join(", ")),
            Value::Object(_) => "{}".into(),
            Value::Number(n) if n.is_f64() => {
                let f = n.as_f64().expect("f64");
                if f != 0.0 && (f.abs() < 1e-4 || f.abs() >= 1e16) {
                    format!("{f:e}")
                } else {
                    n.to_string()
                }
            }
            other => other.to_string(),
        }
    }
    fn walk(v: &Value, indent: usize, out: &mut String) {
        if let Value::Object(m) = v {
            for (k, x) in m {
                match x {
                    Value::Object(inner) if !inner.is_empty() => {
                        out.push_str(&format!("{}{k}:\n", "  ".repeat(indent)));
                        walk(x, indent + 1, out);
                    }
                    _ => out.push_str(&format!("{}{k}: {}\n", "  ".repeat(indent), scalar(x))),
                }
            }
        }
    }
    let mut out = String::new();
    walk(v, 0, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overrides_merge_in_order() {
        let t = resolve(&[
            Item::Set("model".into(), "latent-additive".into()),
            Item::Set("model.latent_dim".into(), "64".into()),
            Item::Set("trainer.max_epochs".into(), "3".into()),
            Item::Set("data.max_heldout_fraction".into(), "0.7".into()),
        ])
        .unwrap();
        assert_eq!(t["model"]["name"], "latent-additive");
        assert_eq!(t["model"]["latent_dim"], 64);
        assert_eq!(t["trainer"]["max_epochs"], 3);
        assert_eq!(t["data"]["max_heldout_fraction"], 0.7);
        // a later model group resets the model section
        let t = resolve(&[
            Item::Set("model.latent_dim".into(), "64".into()),
            Item::Set("model".into(), "decoder-only".into()),
        ])
        .unwrap();
        assert_eq!(t["model"], serde_json::json!({"name": "decoder-only"}));
        assert!(resolve(&[Item::Set("modle.x".into(), "1".into())]).is_err());
        // seed=N: PerturBench's top-level seed.
        let t = resolve(&[Item::Set("seed".into(), "7".into())]).unwrap();
        assert_eq!(t["trainer"]["seed"], 7);
        assert_eq!(t["evaluation"]["prediction_seed"], 7);
        assert!(t.get("data").is_none());
        let e = resolve(&[Item::Set("seed".into(), "-1".into())]).unwrap_err();
        assert!(e.to_string().contains("non-negative integer"), "{e}");
        assert!(resolve(&[Item::Set("experiment".into(), "norman19/nope".into())]).is_err());
    }

    #[test]
    fn every_preset_parses() {
        for (k, text) in PRESETS {
            let v = parse_text(text, k).unwrap();
            check_sections(&v, k).unwrap();
        }
    }

    #[test]
    fn every_experiment_preset_resolves_to_typed_settings() {
        let mut n = 0;
        for (k, _) in PRESETS.iter().filter(|(k, _)| k.starts_with("experiment/")) {
            let name = k.trim_start_matches("experiment/");
            let t = resolve(&[Item::Set("experiment".into(), name.into())]).unwrap();
            let (model, trainer) =
                crate::run_config::model_and_trainer(&t).unwrap_or_else(|e| panic!("{k}: {e}"));
            assert_eq!(trainer.max_epochs, 500, "{k}");
            // Every key of the preset's model section reached the typed config.
            let typed = serde_json::to_value(&model).unwrap();
            for (key, v) in t["model"].as_object().unwrap() {
                assert_eq!(&typed[key], v, "{k}: model.{key}");
            }
            n += 1;
        }
        // 3 + 4 + 3 networks of the paper's first benchmark version, plus cpa, cpa without
        // adversary, sams-vae and biolord for norman19 and sciplex3, and cpa for mcfaline23.
        assert_eq!(n, 19);
    }
}
