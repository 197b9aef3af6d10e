//! The neural trainer on a tiny synthetic dataset: it learns, the same seed gives the same
//! weights, and a run interrupted and resumed equals an uninterrupted one.

use perturbench_data::{Column, Csr, Design, Frame, PerturbationSpec};
use perturbench_models::nn::predictor::dims_of;
use perturbench_models::nn::trainer::Silent;
use perturbench_models::nn::{train, NeuralModel, TrainerConfig};
use perturbench_models::{CellSet, Encoding, Feeding, ModelConfig, PerturbationModel};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

struct Data {
    x: Csr,
    design: Design,
    enc: Encoding,
    rows: Vec<usize>,
}

/// 300 cells, 12 genes, two cell types; A raises genes 0–3, B lowers genes 4–7.
fn data() -> Data {
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let conds = ["control", "A", "B", "A+B"];
    let mut cond = Vec::new();
    let mut ct = Vec::new();
    let mut dense = Vec::new();
    for i in 0..300 {
        let c = conds[i % 4];
        let t = if i % 3 == 0 { "x" } else { "y" };
        for g in 0..12 {
            let mut v: f32 = 1.0 + 0.3 * rng.random::<f32>() + if t == "x" { 0.2 } else { 0.0 };
            if c.contains('A') && g < 4 {
                v += 1.0;
            }
            if c.contains('B') && (4..8).contains(&g) {
                v -= 0.8;
            }
            dense.push(v);
        }
        cond.push(c);
        ct.push(t);
    }
    let x = Csr::from_dense(300, 12, &dense).unwrap();
    let mut obs = Frame::with_index((0..300).map(|i| i.to_string()).collect());
    obs.set_column("condition", Column::categorical_from_strings(&cond));
    obs.set_column("cell_type", Column::categorical_from_strings(&ct));
    let spec = PerturbationSpec {
        key: "condition".into(),
        control: "control".into(),
        delimiter: "+".into(),
        covariate_keys: vec!["cell_type".into()],
    };
    let design = Design::from_obs(&obs, &spec, "test").unwrap();
    let rows: Vec<usize> = (0..300).collect();
    let genes: Vec<String> = (0..12).map(|g| format!("g{g}")).collect();
    let enc = Encoding::from_train(&design, &spec, &rows, &genes);
    Data {
        x,
        design,
        enc,
        rows,
    }
}

fn latent() -> ModelConfig {
    serde_json::from_value(serde_json::json!({
        "name": "latent-additive", "encoder_width": 16, "latent_dim": 4, "n_layers": 1,
        "dropout": 0.2, "sparse_additive_mechanism": true, "lr": 0.01
    }))
    .unwrap()
}

fn trainer(max_epochs: usize) -> TrainerConfig {
    TrainerConfig {
        max_epochs,
        batch_size: 32,
        seed: 11,
        gradient_clip_norm: Some(5.0),
        ..TrainerConfig::default()
    }
}

fn predict(model: &NeuralModel, d: &Data) -> Vec<Vec<f32>> {
    let controls: Vec<Vec<f32>> = (0..8)
        .map(|i| {
            let (idx, val) = d.x.row(i * 4);
            let mut v = vec![0f32; 12];
            for (&j, &x) in idx.iter().zip(val) {
                v[j as usize] = x;
            }
            v
        })
        .collect();
    model
        .predict(&[0, 1], &["y".to_string()], &controls)
        .unwrap()
}

fn cpa() -> ModelConfig {
    serde_json::from_value(serde_json::json!({
        "name": "cpa", "hidden_dim": 16, "n_latent": 4, "n_warmup_epochs": 1, "lr": 0.01
    }))
    .unwrap()
}

#[test]
fn same_seed_same_weights_and_resume_repeats_the_run() {
    resume_repeats(latent(), Feeding::Paired);
    // Two optimisers (generator and adversaries) and a warm-up.
    resume_repeats(cpa(), Feeding::SingleCell);
}

fn resume_repeats(config: ModelConfig, feeding: Feeding) {
    let d = data();
    let set = CellSet::new(&d.x, &d.design, &d.enc, &d.rows, feeding).unwrap();
    let dims = dims_of(&d.enc);
    let run = |epochs: usize, state: Option<&std::path::Path>, resume: bool| {
        let t = train(
            &config,
            &trainer(epochs),
            dims.clone(),
            &set,
            Some(&set),
            state,
            resume,
            &mut Silent,
        )
        .unwrap();
        let losses: Vec<f64> = t.log.iter().map(|l| l.train_loss).collect();
        (
            predict(
                &NeuralModel::new(&config, t.net, dims_of(&d.enc), &d.enc),
                &d,
            ),
            losses,
            t.resumed_epochs,
        )
    };
    let (a, la, _) = run(6, None, false);
    let (b, lb, _) = run(6, None, false);
    assert_eq!(a, b, "same seed, different predictions");
    assert_eq!(la, lb);
    assert!(la.iter().all(|l| l.is_finite()));
    if config.name() != "cpa" {
        // (CPA's logged loss alternates between generator and adversary objectives.)
        assert!(la[5] < la[0] * 0.8, "the loss did not fall: {la:?}");
    }
    // Interrupted after 3 epochs, then resumed to 6.
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let (_, l3, _) = run(3, Some(&state), false);
    assert_eq!(l3, la[..3]);
    let (c, lc, resumed) = run(6, Some(&state), true);
    assert_eq!(resumed, 3);
    assert_eq!(lc, la, "resumed losses differ");
    assert_eq!(c, a, "resumed predictions differ");
    // Another seed gives other weights.
    let t = train(
        &config,
        &TrainerConfig {
            seed: 12,
            ..trainer(2)
        },
        dims.clone(),
        &set,
        None,
        None,
        false,
        &mut Silent,
    )
    .unwrap();
    assert_ne!(
        predict(
            &NeuralModel::new(&config, t.net, dims_of(&d.enc), &d.enc),
            &d
        ),
        a
    );
}

#[test]
fn each_network_learns_the_effects() {
    let d = data();
    let set = CellSet::new(&d.x, &d.design, &d.enc, &d.rows, Feeding::Paired).unwrap();
    let configs = [
        serde_json::json!({"name": "linear-additive", "lr": 0.05, "softplus_output": false}),
        serde_json::json!({"name": "latent-additive", "encoder_width": 32, "latent_dim": 8,
                           "n_layers": 1, "dropout": 0.0, "lr": 0.01}),
        serde_json::json!({"name": "decoder-only", "encoder_width": 32, "n_layers": 1, "lr": 0.01}),
    ];
    for c in configs {
        let config: ModelConfig = serde_json::from_value(c).unwrap();
        let t = train(
            &config,
            &trainer(40),
            dims_of(&d.enc),
            &set,
            None,
            None,
            false,
            &mut Silent,
        )
        .unwrap();
        let model = NeuralModel::new(&config, t.net, dims_of(&d.enc), &d.enc);
        let p = predict(&model, &d);
        // A+B in cell type y: genes 0-3 near 2.15, genes 4-7 near 0.35, the rest near 1.15.
        let mean = |g: std::ops::Range<usize>| -> f32 {
            let n = (p.len() * g.len()) as f32;
            p.iter()
                .map(|r| r[g.clone()].iter().sum::<f32>())
                .sum::<f32>()
                / n
        };
        let (up, down, rest) = (mean(0..4), mean(4..8), mean(8..12));
        assert!(
            (up - 2.15).abs() < 0.25 && (down - 0.35).abs() < 0.25 && (rest - 1.15).abs() < 0.25,
            "{}: {up} {down} {rest}",
            config.name()
        );
    }
}
