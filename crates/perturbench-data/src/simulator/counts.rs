//! Negative-binomial UMI counts for one cell, drawn gene by gene from the cell's own stream.

use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Exp1, Gamma, Poisson};

/// Above this mean, counts are drawn as Poisson(Gamma) instead of by inverting the CDF.
const INVERSION_MAX_MEAN: f64 = 40.0;

/// One NB(mean `mu`, dispersion `phi`) draw (var = μ + φμ²), by inversion of the CDF at
/// u = exp(−E) with E ~ Exp(1). Zero is returned when u < P(0) = (1+φμ)^(−1/φ); since
/// ln(1+x) ≤ x, E > φμ/φ = μ already proves it, so most draws cost one exponential variate
/// and a comparison. The CDF is inverted by recurrence only for the rare non-zero draws.
pub(super) fn nb_draw(rng: &mut ChaCha8Rng, mu: f64, phi: f64) -> u32 {
    if mu <= 0.0 {
        return 0;
    }
    if mu > INVERSION_MAX_MEAN {
        let shape = 1.0 / phi;
        let lambda = Gamma::new(shape, mu / shape)
            .expect("positive gamma parameters")
            .sample(rng);
        return if lambda > 0.0 {
            Poisson::new(lambda)
                .map(|p| p.sample(rng) as u32)
                .unwrap_or(0)
        } else {
            0
        };
    }
    let e: f64 = Exp1.sample(rng);
    if e > mu {
        return 0;
    }
    let r = 1.0 / phi;
    let log_p0 = -r * (phi * mu).ln_1p();
    if -e < log_p0 {
        return 0;
    }
    let u = (-e).exp();
    let q = phi * mu / (1.0 + phi * mu); // success probability of the NB in the (r, q) form
    let mut pk = log_p0.exp();
    let mut cdf = pk;
    let mut k = 0u32;
    while u > cdf && k < 100_000 {
        pk *= (k as f64 + r) / (k as f64 + 1.0) * q;
        k += 1;
        cdf += pk;
        if pk < 1e-300 {
            break;
        }
    }
    k
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn moments_match_the_negative_binomial() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        for &(mu, phi) in &[(0.05, 0.8), (0.7, 0.6), (3.0, 0.4), (80.0, 0.2)] {
            let n = 200_000;
            let xs: Vec<f64> = (0..n).map(|_| nb_draw(&mut rng, mu, phi) as f64).collect();
            let mean = xs.iter().sum::<f64>() / n as f64;
            let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
            let want_var = mu + phi * mu * mu;
            assert!(
                (mean - mu).abs() < 4.0 * (want_var / n as f64).sqrt(),
                "mean {mean} vs {mu}"
            );
            assert!(
                (var / want_var - 1.0).abs() < 0.05,
                "var {var} vs {want_var} (mu {mu}, phi {phi})"
            );
            let zeros = xs.iter().filter(|&&x| x == 0.0).count() as f64 / n as f64;
            let p0 = (1.0 + phi * mu).powf(-1.0 / phi);
            assert!((zeros - p0).abs() < 0.005, "P(0) {zeros} vs {p0}");
        }
    }
}
