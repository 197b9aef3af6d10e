//! Expected per-gene means in X = log1p(CP10k) space under the generative model, without
//! sampling: the NB pmf summed until its tail is below 1e-8, integrated over the log-normal
//! library size by Gauss–Hermite quadrature. The normalisation total of a cell is taken as its
//! expected total (library × Σ relative means), which ignores the noise of the total itself.

/// Gauss–Hermite nodes and weights (physicists' form, 10 points) for ∫ e^{-x²} f(x) dx.
const GH_NODES: [f64; 10] = [
    -3.436_159_118_837_737_6,
    -2.532_731_674_232_79,
    -1.756_683_649_299_882,
    -1.036_610_829_789_513_6,
    -0.342_901_327_223_704_6,
    0.342_901_327_223_704_6,
    1.036_610_829_789_513_6,
    1.756_683_649_299_882,
    2.532_731_674_232_79,
    3.436_159_118_837_737_6,
];
const GH_WEIGHTS: [f64; 10] = [
    7.640_432_855_232_62e-6,
    1.343_645_746_781_232_7e-3,
    3.387_439_445_548_106e-2,
    2.401_386_110_823_147e-1,
    6.108_626_337_353_258e-1,
    6.108_626_337_353_258e-1,
    2.401_386_110_823_147e-1,
    3.387_439_445_548_106e-2,
    1.343_645_746_781_232_7e-3,
    7.640_432_855_232_62e-6,
];

/// E[log1p(1e4 · c / total)] for c ~ NB(mean, φ); `table[k]` caches log1p(1e4 k / total).
fn expected_log1p(mean: f64, phi: f64, total: f64, table: &mut Vec<f64>) -> f64 {
    if mean <= 0.0 || total <= 0.0 {
        return 0.0;
    }
    let r = 1.0 / phi;
    let q = phi * mean / (1.0 + phi * mean);
    let mut pk = (-r * (phi * mean).ln_1p()).exp();
    let mut cdf = pk;
    let mut acc = 0.0;
    let mut k = 0u32;
    while 1.0 - cdf > 1e-8 && k < 1_000_000 {
        pk *= (k as f64 + r) / (k as f64 + 1.0) * q;
        k += 1;
        cdf += pk;
        if table.len() <= k as usize {
            let start = table.len();
            table.extend((start..=k as usize * 2).map(|j| (1e4 * j as f64 / total).ln_1p()));
        }
        acc += pk * table[k as usize];
    }
    acc
}

/// Expected X means of every gene for cells whose relative means are `rel` (UMIs at 2,000
/// UMIs per cell, effects applied) and dispersions `phi`, with ln(library) ~ N(ln m, s²) and
/// `rest` the share of the library outside the simulated genes.
pub(super) fn expected_x(
    rel: &[f64],
    phi: &[f64],
    library_median: f64,
    library_sd_ln: f64,
    rest: f64,
) -> Vec<f64> {
    let rel_sum: f64 = rel.iter().sum();
    let mut out = vec![0.0; rel.len()];
    for (x, w) in GH_NODES.iter().zip(GH_WEIGHTS) {
        let library = library_median * (std::f64::consts::SQRT_2 * library_sd_ln * x).exp();
        let scale = library / 2000.0;
        let total = scale * rel_sum + library * rest;
        let wn = w / std::f64::consts::PI.sqrt();
        let mut table = Vec::new();
        for ((o, &m), &p) in out.iter_mut().zip(rel).zip(phi) {
            *o += wn * expected_log1p(m * scale, p, total, &mut table);
        }
    }
    out
}
