//! The model registry: every model with its name, aliases, summary, family and built-in search
//! space, the baselines listed here and the networks taken from [`crate::nn`]'s list.

use crate::baselines::BaselineKind;
use crate::nn::network::Network;
use crate::nn::NETWORKS;

/// How a model is fitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    /// A closed-form baseline (means of training cells).
    Baseline(BaselineKind),
    /// A network trained with minibatches.
    Network,
    /// A command outside perturbench that trains and predicts on exchanged files.
    External,
}

/// One model of the registry.
#[derive(Debug, Clone, Copy)]
pub struct ModelEntry {
    /// The name models are chosen by (`model=NAME`).
    pub name: &'static str,
    /// Other accepted spellings (the reference's snake_case).
    pub aliases: &'static [&'static str],
    /// What it is, in one line.
    pub summary: &'static str,
    /// How it is fitted.
    pub family: Family,
    /// The built-in search space (`tune hpo=NAME`): its name and YAML.
    pub search_space: Option<(&'static str, &'static str)>,
}

impl ModelEntry {
    /// The entry of the network `N`.
    pub const fn network<N: Network>() -> ModelEntry {
        ModelEntry {
            name: N::NAME,
            aliases: N::ALIASES,
            summary: N::SUMMARY,
            family: Family::Network,
            search_space: N::SEARCH_SPACE,
        }
    }

    const fn baseline(kind: BaselineKind, name: &'static str, summary: &'static str) -> Self {
        ModelEntry {
            name,
            aliases: &[],
            summary,
            family: Family::Baseline(kind),
            search_space: None,
        }
    }
}

/// The baselines, in the order the help text lists them.
const BASELINES: &[ModelEntry] = &[
    ModelEntry::baseline(
        BaselineKind::Average,
        "average",
        "mean of the singles' mean training cells",
    ),
    ModelEntry::baseline(
        BaselineKind::ControlMean,
        "control-mean",
        "mean control cell of the covariates",
    ),
    ModelEntry::baseline(
        BaselineKind::TrainMean,
        "train-mean",
        "mean perturbed training cell of the covariates",
    ),
    ModelEntry::baseline(
        BaselineKind::Additive,
        "additive",
        "control cell plus the singles' mean shifts",
    ),
];

/// A model outside perturbench (`model=external`).
const EXTERNAL: ModelEntry = ModelEntry {
    name: "external",
    aliases: &[],
    summary: "your model, run as a command on exchanged .h5ad files (model.command)",
    family: Family::External,
    search_space: None,
};

/// Every model, in the order the help text lists them: the baselines, the networks, then
/// `external`.
pub fn models() -> impl Iterator<Item = &'static ModelEntry> {
    BASELINES
        .iter()
        .chain(NETWORKS)
        .chain(std::iter::once(&EXTERNAL))
}

/// The entry of the model called `name` (or one of its aliases).
pub fn entry(name: &str) -> Option<&'static ModelEntry> {
    models().find(|m| m.name == name || m.aliases.contains(&name))
}

/// The built-in search spaces: (name, YAML).
pub fn search_spaces() -> Vec<(&'static str, &'static str)> {
    models().filter_map(|m| m.search_space).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ModelConfig;

    #[test]
    fn every_model_name_has_an_entry_and_defaults() {
        for name in ModelConfig::NAMES {
            let e = entry(name).unwrap_or_else(|| panic!("{name} is not registered"));
            assert!(ModelConfig::defaults(e.name).is_some(), "{name}");
            for a in e.aliases {
                assert!(ModelConfig::defaults(a).is_some(), "{a}");
            }
            if let Family::Baseline(k) = e.family {
                assert_eq!(k.name(), e.name);
            }
        }
        assert_eq!(models().count(), ModelConfig::NAMES.len());
        let names: Vec<&str> = models().map(|m| m.name).collect();
        assert_eq!(names, ModelConfig::NAMES);
    }
}
