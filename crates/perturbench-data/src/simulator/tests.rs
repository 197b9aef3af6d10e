//! Tests of the simulator: determinism, structure, and the statistics of real data that the
//! shared data notes state (each target range names the line it comes from).

use super::*;

fn small() -> Simulation {
    simulate(&SimConfig::preset(Preset::Small), 7, &|_, _| {}).unwrap()
}

fn column_strings(ad: &AnnData, key: &str) -> Vec<String> {
    let c = ad.obs.column(key).unwrap();
    (0..c.len()).map(|i| c.value_string(i).unwrap()).collect()
}

#[test]
fn same_seed_same_data_whatever_the_thread_count() {
    let cfg = SimConfig::preset(Preset::Small);
    let one = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap()
        .install(|| simulate(&cfg, 3, &|_, _| {}).unwrap());
    let two = rayon::ThreadPoolBuilder::new()
        .num_threads(2)
        .build()
        .unwrap()
        .install(|| simulate(&cfg, 3, &|_, _| {}).unwrap());
    assert_eq!(one.adata.x, two.adata.x);
    assert_eq!(one.adata.layers["counts"], two.adata.layers["counts"]);
    assert_eq!(one.adata.obs, two.adata.obs);
    assert_eq!(one.truth, two.truth);
    let other = simulate(&cfg, 4, &|_, _| {}).unwrap();
    assert_ne!(one.adata.x, other.adata.x);
}

#[test]
fn x_is_log1p_cp10k_of_the_counts() {
    let s = small();
    let ad = &s.adata;
    let counts = &ad.layers["counts"];
    assert_eq!(counts.indptr(), ad.x.indptr());
    assert_eq!(counts.indices(), ad.x.indices());
    let Some(Column::Float(lib)) = ad.obs.column("ncounts") else {
        panic!("ncounts")
    };
    for (r, &library) in lib.iter().enumerate() {
        let (idx, c) = counts.row(r);
        let (_, x) = ad.x.row(r);
        assert!(idx.windows(2).all(|w| w[0] < w[1]));
        let panel: f32 = c.iter().sum();
        assert!(library >= panel as f64, "library below the panel total");
        for (&k, &v) in c.iter().zip(x) {
            assert!(k >= 1.0 && k.fract() == 0.0);
            let want = ((k as f64 / library) * 1e4).ln_1p();
            assert!((v as f64 - want).abs() < 1e-5, "row {r}: {v} vs {want}");
        }
    }
}

#[test]
fn design_has_controls_singles_and_combos_per_cell_type() {
    let s = small();
    let ad = &s.adata;
    let cond = column_strings(ad, "condition");
    let ct = column_strings(ad, "cell_type");
    assert!(cond.iter().any(|c| c == "control"));
    let perts: std::collections::BTreeSet<&String> =
        cond.iter().filter(|c| *c != "control").collect();
    assert_eq!(perts.len(), 18);
    for p in &perts {
        assert!(!p.contains('_'));
        for part in p.split('+') {
            // Every combo's singles are perturbations too, and genetic targets are genes.
            assert!(
                perts.iter().any(|q| q.as_str() == part),
                "{p}: single {part} missing"
            );
            assert!(
                ad.var_names().iter().any(|g| g == part),
                "{part} is not a gene"
            );
        }
        for t in ["k562", "rpe1"] {
            assert!(
                cond.iter().zip(&ct).any(|(c, x)| c == *p && x == t),
                "{p} missing in {t}"
            );
        }
    }
    assert_eq!(s.truth.perturbations.len(), 36);
    let uns = ad.uns["simulation"].as_dict().unwrap();
    assert_eq!(uns["truth_perturbation"].as_str_list().unwrap().len(), 36);
    match &uns["truth_expected_delta"] {
        Uns::Array { shape, data, .. } => {
            assert_eq!(shape, &vec![36, 400]);
            assert!(data.iter().all(|v| v.is_finite()));
        }
        other => panic!("{other:?}"),
    }
}

/// Fraction of zero counts, median and sd of ln(library), of a simulation.
fn depth_stats(s: &Simulation) -> (f64, f64, f64) {
    let ad = &s.adata;
    let zero = 1.0 - ad.x.nnz() as f64 / (ad.n_obs() * ad.n_vars()) as f64;
    let Some(Column::Float(lib)) = ad.obs.column("ncounts") else {
        panic!("ncounts")
    };
    let mut l: Vec<f64> = lib.iter().map(|x| x.ln()).collect();
    let mean = l.iter().sum::<f64>() / l.len() as f64;
    let sd = (l.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / l.len() as f64).sqrt();
    l.sort_by(f64::total_cmp);
    (zero, l[l.len() / 2].exp(), sd)
}

#[test]
fn sparsity_and_library_sizes_match_real_data() {
    // data-notes §2 "Sparsity": 84–97 % zeros in real panels; §3.3 target 85–95 % over
    // several thousand genes. "Library size": log-normal, median 2,000–15,000, sd(ln) 0.4–0.65.
    let s = small();
    let (zero, median, sd) = depth_stats(&s);
    assert!((0.80..=0.97).contains(&zero), "zero fraction {zero}");
    assert!(
        (2_000.0..=15_000.0).contains(&median),
        "median library {median}"
    );
    assert!((0.35..=0.75).contains(&sd), "sd(ln library) {sd}");
    let cfg = SimConfig::preset(Preset::NormanLike)
        .with_overrides(Some(6_000), Some(2_000), Some(40))
        .unwrap();
    let n = simulate(&cfg, 1, &|_, _| {}).unwrap();
    let (zero, median, sd) = depth_stats(&n);
    assert!(
        (0.80..=0.97).contains(&zero),
        "norman-like zero fraction {zero}"
    );
    // Norman19 K562: median 13,500, sd(ln) 0.41.
    assert!(
        (11_000.0..=16_000.0).contains(&median),
        "norman-like median {median}"
    );
    assert!((0.35..=0.47).contains(&sd), "norman-like sd {sd}");
}

#[test]
fn dispersion_falls_with_mean_expression() {
    // data-notes §2 "Count distribution": phi ≈ 0.8–0.9 at mu 0.05–0.2, 0.7 at 0.2–1,
    // 0.3–0.7 at 1–5, 0.15–0.25 above 5 (method of moments after size-factor scaling).
    let cfg = SimConfig::preset(Preset::NormanLike)
        .with_overrides(Some(8_000), Some(1_000), Some(10))
        .unwrap();
    let mut cfg = cfg;
    cfg.controls_per_cell_type = 6_000;
    let s = simulate(&cfg, 5, &|_, _| {}).unwrap();
    let ad = &s.adata;
    let cond = column_strings(ad, "condition");
    let Some(Column::Float(lib)) = ad.obs.column("ncounts") else {
        panic!("ncounts")
    };
    let ctrl: Vec<usize> = (0..ad.n_obs()).filter(|&r| cond[r] == "control").collect();
    let mut l: Vec<f64> = ctrl.iter().map(|&r| lib[r]).collect();
    l.sort_by(f64::total_cmp);
    let med = l[l.len() / 2];
    let counts = &ad.layers["counts"];
    let g = ad.n_vars();
    let (mut s1, mut s2) = (vec![0.0; g], vec![0.0; g]);
    let mut inv_sf = 0.0;
    for &r in &ctrl {
        let sf = lib[r] / med;
        inv_sf += 1.0 / sf;
        let (idx, val) = counts.row(r);
        for (&j, &v) in idx.iter().zip(val) {
            s1[j as usize] += v as f64 / sf;
            s2[j as usize] += (v as f64 / sf).powi(2);
        }
    }
    let nc = ctrl.len() as f64;
    inv_sf /= nc;
    let mut bins: Vec<Vec<f64>> = vec![Vec::new(); 4];
    for j in 0..g {
        let m = s1[j] / nc;
        if m < 0.05 {
            continue;
        }
        // E[(c/sf)^2] = m^2 + m E[1/sf] + phi m^2 for c ~ NB(m sf, phi).
        let phi = (s2[j] / nc - m * m - m * inv_sf) / (m * m);
        let b = if m < 0.2 {
            0
        } else if m < 1.0 {
            1
        } else if m < 5.0 {
            2
        } else {
            3
        };
        bins[b].push(phi);
    }
    let med_of = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let meds: Vec<f64> = bins
        .iter_mut()
        .filter(|b| b.len() >= 5)
        .map(med_of)
        .collect();
    assert!(
        meds.len() >= 3,
        "too few genes per bin: {:?}",
        bins.iter().map(Vec::len).collect::<Vec<_>>()
    );
    assert!(
        meds.windows(2).all(|w| w[0] > w[1]),
        "phi does not fall with the mean: {meds:?}"
    );
    assert!((0.55..=1.0).contains(&meds[0]), "phi at low mean {meds:?}");
    assert!(*meds.last().unwrap() < 0.5, "phi at high mean {meds:?}");
}

#[test]
fn targets_move_the_right_way_and_combos_are_nearly_additive() {
    let s = small();
    let uns = s.adata.uns["simulation"].as_dict().unwrap();
    let singles = uns["single_perturbation"].as_str_list().unwrap();
    let targets = uns["single_target_gene"].as_str_list().unwrap();
    let g = s.truth.n_genes;
    let genes = s.adata.var_names();
    let row = |p: &str, t: &str| -> &[f32] {
        let i = s
            .truth
            .perturbations
            .iter()
            .zip(&s.truth.covariates)
            .position(|(a, b)| a == p && b == t)
            .unwrap();
        &s.truth.log_fold_change[i * g..(i + 1) * g]
    };
    for (p, tgt) in singles.iter().zip(targets) {
        let j = genes.iter().position(|x| x == tgt).unwrap();
        // CRISPRi (small preset) keeps 20–75 % of the target: ln in [ln 0.2, ln 0.75].
        let l = row(p, "k562")[j];
        assert!(
            ((0.2f32).ln() - 1e-6..=(0.75f32).ln() + 1e-6).contains(&l),
            "{p}: target lfc {l}"
        );
    }
    // data-notes §3.5: 20–40 % strong (10–60 DE genes with |lfc| 0.5–3.5), the rest weak
    // (no gene beyond 0.25 apart from the target).
    let strong = uns["single_strong"].clone();
    let Uns::IntArray { data: strong, .. } = strong else {
        panic!("single_strong")
    };
    for ((p, tgt), &is_strong) in singles.iter().zip(targets).zip(&strong) {
        let j = genes.iter().position(|x| x == tgt).unwrap();
        let big = row(p, "k562")
            .iter()
            .enumerate()
            .filter(|&(k, v)| k != j && v.abs() > 0.5)
            .count();
        if is_strong == 1 {
            assert!(big >= 5, "{p}: strong but only {big} genes move");
        } else {
            // Measured in X space (log1p units), as the notes measure it.
            let i = s
                .truth
                .perturbations
                .iter()
                .zip(&s.truth.covariates)
                .position(|(a, b)| a == p && b == "k562")
                .unwrap();
            let delta = &s.truth.expected_delta[i * g..(i + 1) * g];
            let top = delta
                .iter()
                .enumerate()
                .filter(|&(k, _)| k != j)
                .map(|(_, v)| v.abs())
                .fold(0.0f32, f32::max);
            assert!(
                top <= 0.25,
                "{p}: weak but a gene moves by {top} in X space"
            );
        }
    }
    let frac = strong.iter().sum::<i64>() as f64 / strong.len() as f64;
    assert!((0.2..=0.4).contains(&frac), "strong fraction {frac}");
    // data-notes: a combo's delta has cosine 0.71–0.99 with the sum of its singles' deltas.
    for p in s.truth.perturbations.iter().filter(|p| p.contains('+')) {
        let (a, b) = p.split_once('+').unwrap();
        for t in ["k562", "rpe1"] {
            let (c, x, y) = (row(p, t), row(a, t), row(b, t));
            let sum: Vec<f64> = x.iter().zip(y).map(|(u, v)| (u + v) as f64).collect();
            let dot: f64 = c.iter().zip(&sum).map(|(u, v)| *u as f64 * v).sum();
            let nc = c.iter().map(|u| (*u as f64).powi(2)).sum::<f64>().sqrt();
            let ns = sum.iter().map(|u| u * u).sum::<f64>().sqrt();
            assert!(
                dot / (nc * ns) > 0.7,
                "{p} in {t}: cosine {}",
                dot / (nc * ns)
            );
        }
    }
}

#[test]
fn overrides_are_validated() {
    let e = SimConfig::preset(Preset::NormanLike)
        .with_overrides(None, Some(50), None)
        .unwrap_err();
    assert!(e.to_string().contains("--genes"), "{e}");
    let e = SimConfig::preset(Preset::Small)
        .with_overrides(Some(0), None, None)
        .unwrap_err();
    assert!(e.to_string().contains("--cells"), "{e}");
    let e = SimConfig::preset(Preset::Small)
        .with_overrides(None, None, Some(0))
        .unwrap_err();
    assert!(e.to_string().contains("--perturbations"), "{e}");
    let cfg = SimConfig::preset(Preset::NormanLike)
        .with_overrides(Some(3_000), Some(500), Some(30))
        .unwrap();
    let s = simulate(&cfg, 0, &|_, _| {}).unwrap();
    assert!(
        (2_400..=3_600).contains(&s.adata.n_obs()),
        "{} cells",
        s.adata.n_obs()
    );
    assert_eq!(s.adata.n_vars(), 500);
    assert_eq!(s.truth.perturbations.len(), 30);
    assert!("norman-like".parse::<Preset>().is_ok() && "nope".parse::<Preset>().is_err());
}
