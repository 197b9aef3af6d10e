//! `perturbench train` and `predict` with the baselines: end to end on the simulator, the
//! checkpoint round trip, and bad input.

mod common;
use common::*;
use perturbench_io::{read_csv_records, read_h5ad, write_h5ad, Compression, WriteOptions};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

fn sim(dir: &Path) -> PathBuf {
    simulate_small(dir, "small.h5ad", 5)
}

fn train(data: &Path, model: &str, out: &Path) -> Run {
    train_with(data, model, &[], out)
}

/// Small networks trained briefly (the reference widths take minutes on this data).
const SMALL_NETS: [(&str, &[&str]); 9] = [
    (
        "linear-additive",
        &["model.lr=0.01", "model.softplus_output=false"],
    ),
    (
        "latent-additive",
        &[
            "model.encoder_width=128",
            "model.latent_dim=32",
            "model.n_layers=1",
            "model.lr=0.001",
        ],
    ),
    (
        "decoder-only",
        &[
            "model.encoder_width=128",
            "model.n_layers=1",
            "model.lr=0.001",
        ],
    ),
    (
        "latent-additive",
        &[
            "model.encoder_width=64",
            "model.latent_dim=16",
            "model.n_layers=2",
            "model.sparse_additive_mechanism=true",
            "model.lr=0.001",
        ],
    ),
    (
        "cpa",
        &[
            "model.hidden_dim=128",
            "model.n_latent=32",
            "model.lr=0.001",
        ],
    ),
    (
        "cpa",
        &[
            "model.hidden_dim=128",
            "model.n_latent=32",
            "model.lr=0.001",
            "model.legacy_objective=true",
        ],
    ),
    (
        "cpa-no-adv",
        &[
            "model.hidden_dim=128",
            "model.n_latent=32",
            "model.lr=0.001",
        ],
    ),
    (
        "biolord",
        &[
            "model.encoder_width=128",
            "model.n_layers=1",
            "model.lr=0.001",
        ],
    ),
    (
        "sams-vae-modified",
        &[
            "model.hidden_dim_x=128",
            "model.latent_dim=32",
            "model.n_layers_encoder_x=1",
            "model.n_layers_encoder_e=1",
            "model.n_layers_decoder=1",
            "model.lr=0.001",
        ],
    ),
];

fn train_with(data: &Path, model: &str, extra: &[&str], out: &Path) -> Run {
    let mut args = vec![
        "--quiet",
        "train",
        data.to_str().unwrap(),
        "--model",
        model,
        "--task",
        "combination",
        "--max-heldout-fraction",
        "0.7",
        "--out",
        out.to_str().unwrap(),
        "trainer.max_epochs=30",
        "trainer.batch_size=128",
    ];
    args.extend_from_slice(extra);
    perturbench(&args)
}

fn summary(run: &Path) -> HashMap<String, f64> {
    read_csv_records(&run.join("evaluation/summary.csv"))
        .unwrap()
        .iter()
        .skip(1)
        .map(|r| (format!("{}_{}", r[2], r[1]), r[3].parse().unwrap()))
        .collect()
}

#[test]
fn every_baseline_trains_and_beats_control_mean_on_cosine_logfc() {
    let dir = tempfile::tempdir().unwrap();
    let data = sim(dir.path());
    let mut cosine = HashMap::new();
    let mut truth_cosine = HashMap::new();
    for m in ["control-mean", "train-mean", "average", "additive"] {
        let out = dir.path().join(m);
        let r = train(&data, m, &out);
        assert_eq!(r.code, 0, "{m}: {}", r.stderr);
        let s = summary(&out);
        for key in [
            "rmse_average",
            "rmse_rank_average",
            "cosine_logfc",
            "cosine_rank_logfc",
        ] {
            assert!(s[key].is_finite(), "{m} {key} = {}", s[key]);
        }
        cosine.insert(m, s["cosine_logfc"]);
        assert!(out.join("checkpoint/model.json").exists());
        // Simulated data: effects are also scored against the stored truth.
        assert!(out.join("evaluation/truth.csv").exists());
        let run: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(out.join("evaluation/run.json")).unwrap(),
        )
        .unwrap();
        truth_cosine.insert(m, run["truth"]["cosine_delta"].as_f64().unwrap());
    }
    // Predicting no change explains none of the true effects; the additive model most of them.
    assert!(truth_cosine["control-mean"].abs() < 0.2, "{truth_cosine:?}");
    assert!(truth_cosine["additive"] > 0.5, "{truth_cosine:?}");
    for m in ["train-mean", "average", "additive"] {
        assert!(
            cosine[m] > cosine["control-mean"],
            "{m}: cosine_logfc {} vs control-mean {}",
            cosine[m],
            cosine["control-mean"]
        );
    }
}

#[test]
fn every_network_trains_and_beats_control_mean() {
    let dir = tempfile::tempdir().unwrap();
    let data = sim(dir.path());
    let base = dir.path().join("control-mean");
    assert_eq!(train(&data, "control-mean", &base).code, 0);
    let floor = summary(&base)["cosine_logfc"];
    let truth = |run: &Path| -> f64 {
        let text = std::fs::read_to_string(run.join("evaluation/run.json")).unwrap();
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        v["truth"]["cosine_delta"].as_f64().unwrap()
    };
    let truth_floor = truth(&base);
    for (i, (m, extra)) in SMALL_NETS.iter().enumerate() {
        let out = dir.path().join(format!("net{i}"));
        let r = train_with(&data, m, extra, &out);
        assert_eq!(r.code, 0, "{m}: {}", r.stderr);
        let losses = read_csv_records(&out.join("losses.csv")).unwrap();
        assert_eq!(
            losses[0],
            [
                "epoch",
                "train_loss",
                "val_loss",
                "lr",
                "seconds",
                "train_seconds",
                "train_cells",
                "best"
            ]
        );
        assert_eq!(losses.len(), 31, "{m}: 30 epochs expected");
        for row in &losses[1..] {
            let (t, v): (f64, f64) = (row[1].parse().unwrap(), row[2].parse().unwrap());
            assert!(t.is_finite() && v.is_finite(), "{m}: {row:?}");
        }
        let s = summary(&out);
        assert!(
            s["cosine_logfc"] > floor,
            "{m} {extra:?}: cosine_logfc {} vs control-mean {floor}",
            s["cosine_logfc"]
        );
        // CPA's Gaussian VAE and biolord learn the effects more slowly on 2,400 cells.
        let margin = if *m == "biolord" || m.starts_with("cpa") {
            0.1
        } else {
            0.3
        };
        assert!(
            truth(&out) > truth_floor + margin,
            "{m} {extra:?}: truth cosine {} vs control-mean {truth_floor}",
            truth(&out)
        );
    }
}

/// SAMS-VAE as the reference implements it trains (finite losses, a checkpoint that predicts)
/// but its basal encoder sees the perturbed cell and absorbs the effect, so its counterfactuals
/// stay near the control (see the closing note of the models issue): not asserted to beat
/// control-mean.
#[test]
fn sams_vae_trains_with_and_without_the_mask() {
    let dir = tempfile::tempdir().unwrap();
    let data = sim(dir.path());
    for (i, sparse) in ["true", "false"].iter().enumerate() {
        let out = dir.path().join(format!("sams{i}"));
        let flag = format!("model.sparse_additive_mechanism={sparse}");
        let r = train_with(
            &data,
            "sams-vae",
            &[
                "model.hidden_dim_x=128",
                "model.hidden_dim_cond=32",
                "model.latent_dim=16",
                "model.n_layers_encoder_x=1",
                "model.n_layers_encoder_e=1",
                "model.n_layers_decoder=1",
                "model.lr=0.001",
                &flag,
            ],
            &out,
        );
        assert_eq!(r.code, 0, "{}", r.stderr);
        let losses = read_csv_records(&out.join("losses.csv")).unwrap();
        let first: f64 = losses[1][1].parse().unwrap();
        let last: f64 = losses[30][1].parse().unwrap();
        assert!(last.is_finite() && last < first, "{first} -> {last}");
        assert!(summary(&out)["rmse_average"].is_finite());
    }
}

/// The reference's default linear-additive (softplus on the output) learns the effects
/// (ground-truth cosine far above control-mean) but cannot reach the sparse zeros of
/// log-normalised data through the softplus floor, which tilts its logFC; it is not
/// asserted to beat control-mean on cosine_logfc (see the closing note of the models issue).
#[test]
fn default_linear_additive_learns_the_true_effects() {
    let dir = tempfile::tempdir().unwrap();
    let data = sim(dir.path());
    let out = dir.path().join("lin");
    let r = train_with(&data, "linear-additive", &["model.lr=0.01"], &out);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let text = std::fs::read_to_string(out.join("evaluation/run.json")).unwrap();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert!(v["truth"]["cosine_delta"].as_f64().unwrap() > 0.3, "{v}");
    assert_eq!(v["model_config"]["softplus_output"], true);
}

#[test]
fn checkpoint_round_trip_gives_identical_predictions() {
    for (model, extra) in [
        ("additive", &[][..]),
        (SMALL_NETS[3].0, SMALL_NETS[3].1),
        (SMALL_NETS[4].0, SMALL_NETS[4].1),
        (SMALL_NETS[7].0, SMALL_NETS[7].1),
        (SMALL_NETS[8].0, SMALL_NETS[8].1),
    ] {
        round_trip(model, extra);
    }
}

/// latent-additive reading an `obsm` embedding instead of expression (here the first 40 genes
/// of X, dense): it trains, beats control-mean, and predicts again from its checkpoint.
#[test]
fn latent_additive_with_an_obsm_embedding() {
    round_trip_with(
        "latent-additive",
        &[
            "model.embedding_key=X_first40",
            "model.encoder_width=128",
            "model.latent_dim=32",
            "model.n_layers=1",
            "model.lr=0.001",
        ],
        true,
    );
    // A missing key names it and the keys that exist.
    let dir = tempfile::tempdir().unwrap();
    let data = sim(dir.path());
    let r = train_with(
        &data,
        "latent-additive",
        &["model.embedding_key=X_pca"],
        &dir.path().join("run"),
    );
    assert_error(&r, &["small.h5ad", "obsm/X_pca does not exist"]);
}

fn with_embedding(data: &Path) {
    let mut ad = read_h5ad(data).unwrap();
    let mut values = Vec::with_capacity(ad.n_obs() * 40);
    for r in 0..ad.n_obs() {
        let mut row = vec![0f32; 40];
        let (idx, val) = ad.x.row(r);
        for (&j, &v) in idx.iter().zip(val) {
            if (j as usize) < 40 {
                row[j as usize] = v;
            }
        }
        values.extend(row);
    }
    ad.obsm.insert(
        "X_first40".into(),
        perturbench_io::Dense {
            nrows: ad.n_obs(),
            ncols: 40,
            data: values,
        },
    );
    write_h5ad(
        data,
        &ad,
        &WriteOptions {
            compression: Compression::None,
        },
    )
    .unwrap();
}

fn round_trip(model: &str, extra: &[&str]) {
    round_trip_with(model, extra, false)
}

fn round_trip_with(model: &str, extra: &[&str], embedding: bool) {
    let dir = tempfile::tempdir().unwrap();
    let data = sim(dir.path());
    if embedding {
        with_embedding(&data);
        let base = dir.path().join("base");
        assert_eq!(train(&data, "control-mean", &base).code, 0);
        let out = dir.path().join("emb");
        let r = train_with(&data, model, extra, &out);
        assert_eq!(r.code, 0, "{}", r.stderr);
        let (s, b) = (summary(&out), summary(&base));
        assert!(
            s["cosine_logfc"] > b["cosine_logfc"],
            "{} vs {}",
            s["cosine_logfc"],
            b["cosine_logfc"]
        );
    }
    let out = dir.path().join("run");
    let r = train_with(&data, model, extra, &out);
    assert_eq!(r.code, 0, "{}", r.stderr);
    // The evaluation split's perturbed groups, in order of first appearance.
    let reference = read_h5ad(out.join("reference.h5ad")).unwrap();
    let cond = reference.obs.column("condition").unwrap();
    let ct = reference.obs.column("cell_type").unwrap();
    let mut targets: Vec<(String, String)> = Vec::new();
    for r in 0..reference.n_obs() {
        let t = (cond.value_string(r).unwrap(), ct.value_string(r).unwrap());
        if t.0 != "control" && !targets.contains(&t) {
            targets.push(t);
        }
    }
    let csv = dir.path().join("targets.csv");
    let mut text = String::from("cell_type,condition\n");
    for (c, t) in &targets {
        text.push_str(&format!("{t},{c}\n"));
    }
    std::fs::write(&csv, text).unwrap();
    let pred_path = dir.path().join("again.h5ad");
    let r = perturbench(&[
        "--quiet",
        "predict",
        "--checkpoint",
        out.join("checkpoint").to_str().unwrap(),
        "--data",
        out.join("reference.h5ad").to_str().unwrap(),
        "--targets",
        csv.to_str().unwrap(),
        "--out",
        pred_path.to_str().unwrap(),
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let again = read_h5ad(&pred_path).unwrap();
    let first = read_h5ad(out.join("predictions.h5ad")).unwrap();
    // train appended the observed controls after the predicted cells.
    let n = again.n_obs();
    assert!(n > 0 && n < first.n_obs());
    let rows: Vec<usize> = (0..n).collect();
    assert_eq!(again.x, first.x.select_rows(&rows));
    assert_eq!(again.var_names(), first.var_names());
}

#[test]
fn bad_inputs_fail_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let data = sim(dir.path());
    let out = dir.path().join("run");
    assert_error(
        &train(&data, "transformer", &out),
        &["unknown model 'transformer'"],
    );
    assert!(!out.exists());
    let r = train(&data, "additive", &out);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let ck = out.join("checkpoint");
    let predict = |data: &Path, targets: &Path| {
        perturbench(&[
            "predict",
            "--checkpoint",
            ck.to_str().unwrap(),
            "--data",
            data.to_str().unwrap(),
            "--targets",
            targets.to_str().unwrap(),
            "--out",
            dir.path().join("p.h5ad").to_str().unwrap(),
        ])
    };
    // A perturbation the model never saw.
    let csv = dir.path().join("unseen.csv");
    std::fs::write(&csv, "condition,cell_type\nNOTAGENE,k562\n").unwrap();
    assert_error(&predict(&data, &csv), &["NOTAGENE", "not seen in training"]);
    // A data file with other genes.
    let mut ad = read_h5ad(&data).unwrap();
    let keep: Vec<usize> = (0..ad.n_vars() - 1).collect();
    ad = ad.select_vars(&keep);
    let fewer = dir.path().join("fewer.h5ad");
    write_h5ad(
        &fewer,
        &ad,
        &WriteOptions {
            compression: Compression::None,
        },
    )
    .unwrap();
    std::fs::write(&csv, "condition,cell_type\ncontrol,k562\n").unwrap();
    assert_error(&predict(&fewer, &csv), &["fewer.h5ad", "var names differ"]);
    assert!(!dir.path().join("p.h5ad").exists());
    // A checkpoint directory that is not one.
    let r = perturbench(&[
        "predict",
        "--checkpoint",
        dir.path().to_str().unwrap(),
        "--data",
        data.to_str().unwrap(),
        "--targets",
        csv.to_str().unwrap(),
        "--out",
        dir.path().join("p.h5ad").to_str().unwrap(),
    ]);
    assert_error(&r, &["model.json"]);
}

#[test]
fn config_files_presets_overrides_and_their_errors() {
    let dir = tempfile::tempdir().unwrap();
    let print = |args: &[&str]| -> Run {
        let mut a = vec!["train", "x.h5ad", "--print-config"];
        a.extend_from_slice(args);
        perturbench(&a)
    };
    // A preset: the reference's best Norman19 latent-additive parameters and split fraction.
    let r = print(&["experiment=norman19/latent_additive"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    for want in [
        "name: latent-additive",
        "encoder_width: 5376",
        "latent_dim: 64",
        "lr: 6.779597503293815e-5",
        "max_heldout_fraction: 0.7",
        "task: combination",
        "max_epochs: 500",
        "seed: 245",
    ] {
        assert!(r.stdout.contains(want), "{want} missing in\n{}", r.stdout);
    }
    // A YAML file, then a later override and an explicit flag win.
    let yaml = dir.path().join("run.yaml");
    std::fs::write(
        &yaml,
        "data:\n  task: transfer\n  max_heldout_fraction: 0.5\nmodel:\n  name: decoder_only\n  encoder_width: 32\ntrainer:\n  max_epochs: 7\n",
    )
    .unwrap();
    let r = print(&[
        "--config",
        yaml.to_str().unwrap(),
        "trainer.max_epochs=9",
        "--max-heldout-fraction",
        "0.25",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    for want in [
        "name: decoder-only",
        "encoder_width: 32",
        "max_epochs: 9",
        "max_heldout_fraction: 0.25",
        "task: transfer",
        "n_layers: 3",
    ] {
        assert!(r.stdout.contains(want), "{want} missing in\n{}", r.stdout);
    }
    // TOML works too.
    let toml = dir.path().join("run.toml");
    std::fs::write(&toml, "[model]\nname = \"linear-additive\"\nlr = 0.5\n").unwrap();
    let r = print(&["--config", toml.to_str().unwrap(), "--task", "combination"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("lr: 0.5"), "{}", r.stdout);
    // Errors name the key.
    let t = ["--task", "combination"];
    let cases: Vec<(Vec<&str>, Vec<&str>)> = vec![
        (
            vec!["model=latent-additive", "model.latent_dim=abc"],
            vec!["model.latent_dim", "abc"],
        ),
        (
            vec!["model=latent-additive", "model.latent_dimm=3"],
            vec!["latent_dimm"],
        ),
        (vec!["model=average", "model.lr=3"], vec!["lr"]),
        (
            vec!["model=transformer"],
            vec!["unknown model 'transformer'"],
        ),
        (
            vec!["experiment=norman19/nope"],
            vec!["unknown experiment preset 'norman19/nope'"],
        ),
        (
            vec!["model=additive", "data.heldout=1"],
            vec!["unknown key data.heldout"],
        ),
        (
            vec!["model=additive", "evaluation.spilt=val"],
            vec!["unknown key evaluation.spilt"],
        ),
        (
            vec!["model=additive", "trainr.max_epochs=1"],
            vec!["trainr.max_epochs"],
        ),
        (
            vec!["model=additive", "trainer.max_epochs=-1"],
            vec!["trainer.max_epochs"],
        ),
        (vec![], vec!["no model given"]),
    ];
    for (args, want) in cases {
        let mut a = args.clone();
        a.extend_from_slice(&t);
        let r = print(&a);
        assert_error(&r, &want);
    }
    let bad = dir.path().join("bad.yaml");
    std::fs::write(&bad, "model: [1, 2\n").unwrap();
    assert_error(
        &print(&["--config", bad.to_str().unwrap()]),
        &["bad.yaml", "YAML"],
    );
    let sections = dir.path().join("sections.yaml");
    std::fs::write(&sections, "modle:\n  name: additive\n").unwrap();
    assert_error(
        &print(&["--config", sections.to_str().unwrap()]),
        &["sections.yaml", "unknown key 'modle'"],
    );
}

#[test]
fn training_errors_leave_nothing_behind() {
    let dir = tempfile::tempdir().unwrap();
    let data = sim(dir.path());
    let out = dir.path().join("run");
    // Not a device of this build.
    let r = train_with(&data, "decoder-only", &["trainer.device=tpu"], &out);
    assert_error(&r, &["trainer.device", "tpu"]);
    let r = train_with(
        &data,
        "decoder-only",
        &[
            "model.use_covariates=false",
            "model.use_perturbations=false",
        ],
        &out,
    );
    assert_error(&r, &["use_covariates", "use_perturbations"]);
    // A cell type whose control cells are gone: paired training cannot draw controls there.
    let mut ad = read_h5ad(&data).unwrap();
    let cond = ad.obs.column("condition").unwrap();
    let ct = ad.obs.column("cell_type").unwrap();
    let victim = (0..ad.n_obs())
        .map(|r| ct.value_string(r).unwrap())
        .find(|c| c != &ct.value_string(0).unwrap())
        .expect("small has two cell types");
    let keep: Vec<usize> = (0..ad.n_obs())
        .filter(|&r| {
            !(cond.value_string(r).unwrap() == "control" && ct.value_string(r).unwrap() == victim)
        })
        .collect();
    ad = ad.select_obs(&keep);
    let no_ctrl = dir.path().join("no_controls.h5ad");
    write_h5ad(
        &no_ctrl,
        &ad,
        &WriteOptions {
            compression: Compression::None,
        },
    )
    .unwrap();
    let r = train_with(&no_ctrl, "decoder-only", &["model.encoder_width=16"], &out);
    assert_error(&r, &["no_controls.h5ad", &victim, "has no control cells"]);
    // A learning rate that diverges.
    let r = train_with(&data, "linear-additive", &["model.lr=1e30"], &out);
    assert_error(&r, &["diverged"]);
    assert!(!out.exists());
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".run") && !n.ends_with(".state"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}
