//! Properties every split must have, on the simulator's presets and on the devel file.

use perturbench_data::simulator::{simulate, Preset, SimConfig};
use perturbench_data::split::{make_split, Split, SplitConfig, SplitLabel, Task};
use perturbench_data::{Design, PerturbationSpec};
use std::collections::{HashMap, HashSet};
use std::path::PathBuf;

fn designs() -> Vec<(String, Design)> {
    let spec = PerturbationSpec::with_covariates(["cell_type"]);
    let mut out = Vec::new();
    for (preset, cells, perts) in [
        (Preset::Small, None, None),
        (Preset::NormanLike, Some(4_000), Some(60)),
        (Preset::SciplexLike, Some(6_000), Some(40)),
    ] {
        let cfg = SimConfig::preset(preset)
            .with_overrides(cells, Some(300), perts)
            .unwrap();
        let s = simulate(&cfg, 11, &|_, _| {}).unwrap();
        out.push((
            preset.to_string(),
            Design::from_obs(&s.adata.obs, &spec, "simulated").unwrap(),
        ));
    }
    let devel = std::env::var_os("PERTURBENCH_SHARED_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data"))
        .join("perturbench_devel.h5ad");
    if devel.exists() {
        let obs = perturbench_io::H5adReader::open(&devel)
            .unwrap()
            .read_frame("obs")
            .unwrap();
        out.push((
            "devel".into(),
            Design::from_obs(&obs, &spec, "devel").unwrap(),
        ));
    } else {
        eprintln!("SKIP devel: {} not found", devel.display());
    }
    out
}

/// Labels present for each (covariate, perturbation) pair.
fn pair_labels(d: &Design, s: &Split) -> HashMap<(u32, u32), HashSet<Option<SplitLabel>>> {
    let mut m: HashMap<(u32, u32), HashSet<Option<SplitLabel>>> = HashMap::new();
    for r in 0..d.n_cells() {
        m.entry((d.cell_covariate[r], d.perturbation_of(r)))
            .or_default()
            .insert(s.labels[r]);
    }
    m
}

fn check_common(name: &str, d: &Design, s: &Split) {
    // All control cells are labelled; every non-control pair carries one label.
    for r in 0..d.n_cells() {
        if d.is_control(r) {
            assert!(s.labels[r].is_some(), "{name}: control cell {r} unlabelled");
        }
    }
    for ((c, p), labels) in pair_labels(d, s) {
        if Some(p) != d.control {
            assert_eq!(
                labels.len(),
                1,
                "{name}: pair ({c}, {p}) has cells with labels {labels:?}"
            );
        }
    }
    let (tr, va, te, _) = s.counts();
    assert!(
        tr > 0 && va > 0 && te > 0,
        "{name}: empty set ({tr}, {va}, {te})"
    );
}

fn held_out(d: &Design, s: &Split) -> Vec<(u32, u32)> {
    pair_labels(d, s)
        .into_iter()
        .filter(|((_, p), l)| {
            Some(*p) != d.control
                && l.iter()
                    .any(|x| matches!(x, Some(SplitLabel::Val) | Some(SplitLabel::Test)))
        })
        .map(|(k, _)| k)
        .collect()
}

#[test]
fn combination_splits_hold_out_only_combos_of_trained_singles() {
    for (name, d) in designs() {
        if !d.perturbations.iter().any(|p| p.is_combo()) {
            let e = make_split(
                &d,
                &SplitConfig::new(Task::Combination {
                    max_heldout_fraction: 0.7,
                    max_heldout_perturbations: 200,
                }),
            )
            .unwrap_err();
            assert!(
                e.to_string()
                    .contains("no (perturbation, covariate) pair is held out"),
                "{name}: {e}"
            );
            continue;
        }
        let cfg = SplitConfig::new(Task::Combination {
            max_heldout_fraction: 0.7,
            max_heldout_perturbations: 200,
        });
        let s = make_split(&d, &cfg).unwrap();
        check_common(&name, &d, &s);
        let labels = pair_labels(&d, &s);
        let by_name: HashMap<Vec<String>, u32> = d
            .perturbations
            .iter()
            .enumerate()
            .map(|(i, p)| (p.names().to_vec(), i as u32))
            .collect();
        for (c, p) in held_out(&d, &s) {
            let set = &d.perturbations[p as usize];
            assert!(set.is_combo(), "{name}: single {:?} held out", set.names());
            for single in set.names() {
                // devel holds combos whose singles were never screened; the simulator always has them.
                let Some(&sp) = by_name.get(&vec![single.clone()]) else {
                    assert_eq!(
                        name, "devel",
                        "{name}: single {single} of a combo is not in the data"
                    );
                    continue;
                };
                assert_eq!(
                    labels[&(c, sp)],
                    HashSet::from([Some(SplitLabel::Train)]),
                    "{name}: {single} of {:?} not trained",
                    set.names()
                );
            }
        }
    }
}

#[test]
fn transfer_splits_keep_perturbations_trained_elsewhere_and_respect_caps() {
    for (name, d) in designs() {
        if d.covariates.len() < 2 {
            continue;
        }
        let (min_train, frac) = (1usize, 0.3f64);
        let cfg = SplitConfig::new(Task::Transfer {
            min_train_covariates: min_train,
            max_heldout_covariates: 1,
            max_heldout_fraction: frac,
            max_heldout_perturbations: 200,
        });
        let s = make_split(&d, &cfg).unwrap();
        check_common(&name, &d, &s);
        let labels = pair_labels(&d, &s);
        let held = held_out(&d, &s);
        let mut per_cov: HashMap<u32, usize> = HashMap::new();
        for &(c, p) in &held {
            *per_cov.entry(c).or_default() += 1;
            let trained = labels
                .iter()
                .filter(|((c2, p2), l)| {
                    *p2 == p && *c2 != c && l.contains(&Some(SplitLabel::Train))
                })
                .count();
            assert!(
                trained >= min_train,
                "{name}: held-out perturbation {p} trained in {trained} other covariates"
            );
        }
        for (c, n) in per_cov {
            let perts = labels.keys().filter(|(c2, _)| *c2 == c).count() as f64;
            assert!(
                (n as f64) < frac * perts + 1.0,
                "{name}: covariate {c} holds out {n} of {perts}"
            );
        }
    }
}

#[test]
fn same_seed_same_labels_other_seed_other_labels() {
    for (name, d) in designs() {
        let task = if d.covariates.len() > 1 {
            Task::Transfer {
                min_train_covariates: 1,
                max_heldout_covariates: 1,
                max_heldout_fraction: 0.3,
                max_heldout_perturbations: 200,
            }
        } else {
            Task::Combination {
                max_heldout_fraction: 0.5,
                max_heldout_perturbations: 200,
            }
        };
        let a = make_split(&d, &SplitConfig::new(task.clone())).unwrap();
        let b = make_split(&d, &SplitConfig::new(task.clone())).unwrap();
        assert_eq!(a, b, "{name}");
        let mut cfg = SplitConfig::new(task);
        cfg.seed = 7;
        let c = make_split(&d, &cfg).unwrap();
        assert_ne!(
            a.labels, c.labels,
            "{name}: seed 7 gave the same labels as seed 42"
        );
    }
}
