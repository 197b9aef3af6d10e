//! The ground-truth design of a simulation: gene baselines and dispersions per cell type,
//! perturbations with their target genes, and each group's log fold changes.

use super::config::{Modality, SimConfig};
use rand::seq::index::sample;
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, LogNormal, Normal};

/// One perturbation: a single (one component) or a combination of singles.
#[derive(Debug, Clone)]
pub(super) struct Pert {
    /// Name as written in `obs['condition']` (`A` or `A+B`).
    pub name: String,
    /// Indices of the singles it combines (itself for a single).
    pub components: Vec<usize>,
}

/// Everything the sampler needs, drawn once from the design stream.
pub(super) struct Plan {
    pub gene_names: Vec<String>,
    /// Per cell type, per gene: mean UMIs at 2,000 UMIs per cell (control).
    pub baseline: Vec<Vec<f64>>,
    /// Per cell type, per gene: NB dispersion φ (var = μ + φμ²).
    pub dispersion: Vec<Vec<f64>>,
    /// Singles first, then combinations.
    pub perts: Vec<Pert>,
    /// Per (cell type × perturbation), row-major `t * perts.len() + p`: log fold change per gene.
    pub lfc: Vec<Vec<f32>>,
    /// Per single: whether its effect is strong.
    pub strong: Vec<bool>,
    /// Per single: its target gene (genetic modalities).
    pub target: Vec<Option<usize>>,
}

/// The dispersion trend φ(μ) of real 10x data (data-notes: ≈0.8 at μ 0.05–0.2, 0.7 at
/// 0.2–1, 0.3–0.7 at 1–5, 0.15–0.25 above 5).
pub(super) fn dispersion_trend(mu: f64) -> f64 {
    0.15 + 0.7 / (1.0 + mu.max(0.0).powf(0.8))
}

fn uniform(rng: &mut ChaCha8Rng, range: (f64, f64)) -> f64 {
    if range.1 > range.0 {
        rng.random_range(range.0..range.1)
    } else {
        range.0
    }
}

fn uniform_count(rng: &mut ChaCha8Rng, range: (usize, usize)) -> usize {
    if range.1 > range.0 {
        rng.random_range(range.0..=range.1)
    } else {
        range.0
    }
}

/// Sparse effect: (gene, log fold change).
type Effect = Vec<(usize, f64)>;

/// Draws DE genes and their signed fold changes; genes are drawn from the expressed half.
fn draw_effect(rng: &mut ChaCha8Rng, expressed: &[usize], n: usize, lfc: (f64, f64)) -> Effect {
    let n = n.min(expressed.len());
    sample(rng, expressed.len(), n)
        .into_iter()
        .map(|i| {
            let sign = if rng.random_bool(0.5) { 1.0 } else { -1.0 };
            (expressed[i], sign * uniform(rng, lfc))
        })
        .collect()
}

/// Draws the plan of a simulation from the design stream `rng`.
pub(super) fn plan(cfg: &SimConfig, rng: &mut ChaCha8Rng) -> Plan {
    let g = cfg.n_genes;
    let nt = cfg.cell_types.len();
    let width = g.to_string().len().max(4);
    let gene_names: Vec<String> = (1..=g).map(|i| format!("GENE{i:0width$}")).collect();

    // Baselines: a heavy-tailed log-normal across genes, partly cell-type specific.
    let gene_dist =
        LogNormal::new(cfg.gene_mean_median.ln(), cfg.gene_mean_sd_ln).expect("valid log-normal");
    let shared: Vec<f64> = (0..g).map(|_| gene_dist.sample(rng)).collect();
    let specific: Normal<f64> = Normal::new(0.0, 0.7).expect("valid normal");
    let baseline: Vec<Vec<f64>> = (0..nt)
        .map(|_| {
            shared
                .iter()
                .map(|&m| {
                    if rng.random_bool(cfg.cell_type_specific_genes) {
                        m * specific.sample(rng).exp()
                    } else {
                        m
                    }
                })
                .collect()
        })
        .collect();
    let jitter = LogNormal::new(0.0, 0.2).expect("valid log-normal");
    let dispersion: Vec<Vec<f64>> = (0..nt)
        .map(|t| {
            let depth = cfg.library_median * cfg.cell_type_depth[t] / 2000.0;
            baseline[t]
                .iter()
                .map(|&m| dispersion_trend(m * depth) * cfg.dispersion_scale * jitter.sample(rng))
                .collect()
        })
        .collect();

    // Expressed genes (above the median baseline of the first cell type) carry most effects.
    let mut order: Vec<usize> = (0..g).collect();
    order.sort_by(|&a, &b| shared[b].total_cmp(&shared[a]));
    let expressed: Vec<usize> = order[..(g / 2).max(1)].to_vec();

    // Singles: target genes (genetic) or drug names.
    let ns = cfg.n_singles;
    let genetic = cfg.modality != Modality::Drug;
    let target: Vec<Option<usize>> = if genetic {
        // Knockdowns need an expressed target; activation works on any gene.
        let pool: &[usize] = if cfg.modality == Modality::CrisprI && expressed.len() >= ns {
            &expressed
        } else {
            &order
        };
        sample(rng, pool.len(), ns)
            .into_iter()
            .map(|i| Some(pool[i]))
            .collect()
    } else {
        vec![None; ns]
    };
    let mut perts: Vec<Pert> = (0..ns)
        .map(|i| Pert {
            name: match target[i] {
                Some(t) => gene_names[t].clone(),
                None => format!("drug{:03}", i + 1),
            },
            components: vec![i],
        })
        .collect();
    // Combinations: distinct unordered pairs of singles.
    let mut pairs = std::collections::HashSet::new();
    while pairs.len() < cfg.n_combos {
        let a = rng.random_range(0..ns);
        let b = rng.random_range(0..ns);
        if a != b && pairs.insert((a.min(b), a.max(b))) {
            perts.push(Pert {
                name: format!("{}+{}", perts[a].name, perts[b].name),
                components: vec![a, b],
            });
        }
    }

    // Single effects: a shared part, a per-cell-type magnitude, and cell-type-specific genes.
    let n_strong = (cfg.strong_fraction * ns as f64).round() as usize;
    let strong_idx: std::collections::HashSet<usize> =
        sample(rng, ns, n_strong.min(ns)).into_iter().collect();
    let strong: Vec<bool> = (0..ns).map(|i| strong_idx.contains(&i)).collect();
    let magnitude = LogNormal::new(0.0, cfg.cell_type_magnitude_sd_ln).expect("valid log-normal");
    let mut single_lfc: Vec<Vec<Vec<f64>>> = vec![vec![vec![0.0; g]; ns]; nt];
    for i in 0..ns {
        let shared_effect = if strong[i] {
            let n = uniform_count(rng, cfg.strong_de_genes);
            draw_effect(rng, &expressed, n, cfg.strong_lfc)
        } else {
            let n = uniform_count(rng, cfg.weak_de_genes);
            draw_effect(rng, &expressed, n, cfg.weak_lfc)
        };
        let target_lfc = target[i].map(|t| match cfg.modality {
            Modality::CrisprA => (t, uniform(rng, cfg.activation_fold).ln()),
            _ => (t, uniform(rng, cfg.knockdown_fraction).ln()),
        });
        for (t, per_type) in single_lfc.iter_mut().enumerate() {
            let m = magnitude.sample(rng);
            let v = &mut per_type[i];
            for &(gene, l) in &shared_effect {
                v[gene] += m * l;
            }
            if strong[i] && nt > 1 {
                let n =
                    (cfg.cell_type_specific_effects * shared_effect.len() as f64).round() as usize;
                for (gene, l) in draw_effect(rng, &expressed, n, cfg.strong_lfc) {
                    v[gene] += l;
                }
            }
            if let Some((gene, l)) = target_lfc {
                // The target's own response is the same in every cell type.
                v[gene] = l;
            }
            let _ = t;
        }
    }

    // Per group log fold changes: singles as drawn; combos additive plus an interaction.
    let np = perts.len();
    let mut lfc: Vec<Vec<f32>> = Vec::with_capacity(nt * np);
    for per_type in &single_lfc {
        for p in &perts {
            let mut v: Vec<f64> = vec![0.0; g];
            for &c in &p.components {
                for (x, y) in v.iter_mut().zip(&per_type[c]) {
                    *x += y;
                }
            }
            if p.components.len() > 1 {
                let norm: f64 = v.iter().map(|x| x * x).sum::<f64>().sqrt();
                let touched: Vec<usize> = (0..g).filter(|&j| v[j] != 0.0).collect();
                let k = (touched.len() / 3).max(1).min(g);
                let genes: Vec<usize> = if touched.len() >= k {
                    sample(rng, touched.len(), k)
                        .into_iter()
                        .map(|i| touched[i])
                        .collect()
                } else {
                    sample(rng, g, k).into_iter().collect()
                };
                let unit: Normal<f64> = Normal::new(0.0, 1.0).expect("valid normal");
                let raw: Vec<f64> = genes.iter().map(|_| unit.sample(rng)).collect();
                let raw_norm = raw.iter().map(|x| x * x).sum::<f64>().sqrt().max(1e-12);
                let scale = uniform(rng, cfg.interaction) * norm / raw_norm;
                for (&j, r) in genes.iter().zip(&raw) {
                    v[j] += scale * r;
                }
            }
            lfc.push(v.into_iter().map(|x| x as f32).collect());
        }
    }
    Plan {
        gene_names,
        baseline,
        dispersion,
        perts,
        lfc,
        strong,
        target,
    }
}
