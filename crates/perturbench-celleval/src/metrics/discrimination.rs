//! `discrimination_score_{l1,l2,cosine}` (cell-eval `metrics/_anndata.py::discrimination_score`).

use crate::pseudobulk::Pseudobulks;
use rayon::prelude::*;
use serde::Serialize;

/// Distance between a real and a predicted delta.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Distance {
    /// Manhattan.
    L1,
    /// Euclidean, computed as scikit-learn does: `sqrt(max(0, −2·r·p + |r|² + |p|²))`.
    L2,
    /// `1 − cos(r, p)` on unit-normalised vectors (a zero vector has similarity 0), clipped
    /// to `[0, 2]`.
    Cosine,
}

impl Distance {
    /// Metric-name suffix.
    pub fn name(self) -> &'static str {
        match self {
            Distance::L1 => "l1",
            Distance::L2 => "l2",
            Distance::Cosine => "cosine",
        }
    }
}

/// Sums over the kept genes of one (real, predicted) pair: `Σ|r − p|`, `Σr²` and `Σr·p`.
#[derive(Clone, Copy, Default)]
struct PairSums {
    l1: f64,
    rr: f64,
    rp: f64,
}

/// Lanes of the gene sums: independent accumulators the compiler keeps in vector registers.
const LANES: usize = 8;

/// Adds the sums over `r` and `p` (one contiguous range of genes) to `acc`. `Σ|r − p|` is
/// one running sum in gene order, continued across ranges, as scipy's `cityblock` adds it (so
/// the L1 distances are scipy's to the bit); the products go to lane sums (scikit-learn's
/// BLAS products have no order to reproduce).
fn add_range(r: &[f64], p: &[f64], acc: &mut PairSums) {
    let (mut rr, mut rp) = ([0f64; LANES], [0f64; LANES]);
    let mut l1 = acc.l1;
    let (rc, pc) = (r.chunks_exact(LANES), p.chunks_exact(LANES));
    let (rt, pt) = (rc.remainder(), pc.remainder());
    for (a, b) in rc.zip(pc) {
        for l in 0..LANES {
            l1 += (a[l] - b[l]).abs();
            rr[l] += a[l] * a[l];
            rp[l] += a[l] * b[l];
        }
    }
    for (a, b) in rt.iter().zip(pt) {
        l1 += (a - b).abs();
        rr[0] += a * a;
        rp[0] += a * b;
    }
    acc.l1 = l1;
    acc.rr += rr.iter().sum::<f64>();
    acc.rp += rp.iter().sum::<f64>();
}

/// The sums of one pair over the gene ranges `keep`.
fn pair_sums(r: &[f64], p: &[f64], keep: &[std::ops::Range<usize>]) -> PairSums {
    let mut acc = PairSums::default();
    for k in keep {
        add_range(&r[k.clone()], &p[k.clone()], &mut acc);
    }
    acc
}

impl Distance {
    /// The distance of a pair from its sums; `pp` is `Σp²` over the same genes.
    fn of(self, s: &PairSums, pp: f64) -> f64 {
        match self {
            Distance::L1 => s.l1,
            Distance::L2 => (-2.0 * s.rp + s.rr + pp).max(0.0).sqrt(),
            Distance::Cosine => {
                let nr = s.rr.sqrt();
                let np = pp.sqrt();
                let nr = if nr == 0.0 { 1.0 } else { nr };
                let np = if np == 0.0 { 1.0 } else { np };
                (1.0 - s.rp / (nr * np)).clamp(0.0, 2.0)
            }
        }
    }
}

/// The gene ranges left when the genes named `label` are excluded (all genes otherwise).
fn kept_ranges(genes: &[String], label: &str, exclude: bool) -> Vec<std::ops::Range<usize>> {
    let mut out = Vec::new();
    let mut from = 0;
    if exclude {
        for (j, g) in genes.iter().enumerate() {
            if g == label {
                if from < j {
                    out.push(from..j);
                }
                from = j + 1;
            }
        }
    }
    if from < genes.len() {
        out.push(from..genes.len());
    }
    out
}

/// `1 − rank / n` from the distances of every real delta to one predicted delta (`own`
/// at index `i`).
fn score_from(dists: &[f64], i: usize) -> f64 {
    let own = dists[i];
    // numpy's argsort puts the perturbation after the strictly closer ones; when every
    // distance is equal (e.g. a zero predicted delta under cosine) it keeps the input
    // order, so the rank is the perturbation's own position.
    let rank = if dists.iter().all(|&d| d == own) {
        i
    } else {
        dists.iter().filter(|&&d| d < own).count()
    };
    1.0 - rank as f64 / dists.len() as f64
}

/// Per perturbation `1 − rank / P`, where `rank` counts the real deltas closer to the
/// perturbation's predicted delta than its own real delta, over the genes whose name is not
/// the perturbation label when `exclude_target` is set (target-gene exclusion; cell-eval
/// keeps every column of an embedding). If all `P` distances are equal, `rank` is
/// the perturbation's index in label order (numpy keeps an all-equal array in input order);
/// partial ties, whose order numpy's unstable sort leaves to the machine, count as not
/// closer. One vector of scores per entry of `kinds`, computed in one pass over the genes
/// of each pair.
pub fn discrimination_scores(
    real: &Pseudobulks,
    pred: &Pseudobulks,
    kinds: &[Distance],
    exclude_target: bool,
) -> Vec<Vec<f64>> {
    let perts = real.perturbations();
    let real_d: Vec<Vec<f64>> = perts.iter().map(|&g| real.delta(g)).collect();
    let pred_d: Vec<Vec<f64>> = perts.iter().map(|&g| pred.delta(g)).collect();
    // Per perturbation, one score per kind.
    let per_pert: Vec<Vec<f64>> = perts
        .par_iter()
        .enumerate()
        .map(|(i, &g)| {
            let keep = kept_ranges(&real.genes, &real.names[g], exclude_target);
            let p = &pred_d[i];
            let pp = pair_sums(p, p, &keep).rr;
            let sums: Vec<PairSums> = real_d.iter().map(|r| pair_sums(r, p, &keep)).collect();
            kinds
                .iter()
                .map(|k| {
                    let dists: Vec<f64> = sums.iter().map(|s| k.of(s, pp)).collect();
                    score_from(&dists, i)
                })
                .collect()
        })
        .collect();
    (0..kinds.len())
        .map(|k| per_pert.iter().map(|v| v[k]).collect())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The distance over the kept genes gathered into new vectors and summed directly.
    fn gathered(kind: Distance, r: &[f64], p: &[f64], keep: &[usize]) -> f64 {
        let r: Vec<f64> = keep.iter().map(|&j| r[j]).collect();
        let p: Vec<f64> = keep.iter().map(|&j| p[j]).collect();
        let dot = |a: &[f64], b: &[f64]| a.iter().zip(b).map(|(x, y)| x * y).sum::<f64>();
        match kind {
            Distance::L1 => r.iter().zip(&p).map(|(a, b)| (a - b).abs()).sum(),
            Distance::L2 => r
                .iter()
                .zip(&p)
                .map(|(a, b)| (a - b) * (a - b))
                .sum::<f64>()
                .sqrt(),
            Distance::Cosine => {
                let (nr, np) = (dot(&r, &r).sqrt(), dot(&p, &p).sqrt());
                let (nr, np) = (
                    if nr == 0.0 { 1.0 } else { nr },
                    if np == 0.0 { 1.0 } else { np },
                );
                (1.0 - dot(&r, &p) / (nr * np)).clamp(0.0, 2.0)
            }
        }
    }

    #[test]
    fn range_sums_equal_gathered_distances_and_exclude_every_target_column() {
        // 5 groups (control "ctrl"), 21 genes: perturbation "g3" names genes 3 and 17
        // (a duplicated name), "g20" the last gene, "g0" the first, "AB" no gene.
        let names: Vec<String> = ["AB", "ctrl", "g0", "g20", "g3"].map(String::from).to_vec();
        let mut genes: Vec<String> = (0..21).map(|j| format!("g{j}")).collect();
        genes[17] = "g3".into();
        let mut state = 7u64;
        let mut next = || {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (state >> 11) as f64 / (1u64 << 53) as f64 - 0.5
        };
        let mk = |next: &mut dyn FnMut() -> f64| -> Vec<Vec<f64>> {
            (0..5).map(|_| (0..21).map(|_| next()).collect()).collect()
        };
        let real = Pseudobulks {
            names: names.clone(),
            control: 1,
            genes: genes.clone(),
            means: mk(&mut next),
        };
        let mut pred = Pseudobulks {
            names,
            control: 1,
            genes,
            means: mk(&mut next),
        };
        // "g20"'s prediction equals its control: a zero predicted delta.
        pred.means[3] = pred.means[1].clone();
        assert_eq!(
            kept_ranges(&real.genes, "g3", true),
            vec![0..3, 4..17, 18..21]
        );
        assert_eq!(kept_ranges(&real.genes, "g3", false), vec![0..21]);
        assert_eq!(kept_ranges(&real.genes, "g20", true), vec![0..20]);
        assert_eq!(kept_ranges(&real.genes, "g0", true), vec![1..21]);
        let kinds = [Distance::L1, Distance::L2, Distance::Cosine];
        for exclude in [true, false] {
            let got = discrimination_scores(&real, &pred, &kinds, exclude);
            let perts = real.perturbations();
            for (ki, &kind) in kinds.iter().enumerate() {
                for (i, &g) in perts.iter().enumerate() {
                    let keep: Vec<usize> = (0..21)
                        .filter(|&j| !exclude || real.genes[j] != real.names[g])
                        .collect();
                    let p = pred.delta(g);
                    let dists: Vec<f64> = perts
                        .iter()
                        .map(|&h| gathered(kind, &real.delta(h), &p, &keep))
                        .collect();
                    // The sums differ from the direct ones only by rounding; no two distances
                    // here are that close, so the ranks agree.
                    let rank = if dists.iter().all(|&d| d == dists[i]) {
                        i
                    } else {
                        dists.iter().filter(|&&d| d < dists[i]).count()
                    };
                    let want = 1.0 - rank as f64 / perts.len() as f64;
                    assert_eq!(
                        got[ki][i], want,
                        "{kind:?} exclude={exclude} {}",
                        real.names[g]
                    );
                    // L1 is summed in gene order, as scipy does: equal to the bit.
                    if kind == Distance::L1 {
                        let ranges = kept_ranges(&real.genes, &real.names[g], exclude);
                        for (&h, &d) in perts.iter().zip(&dists) {
                            let s = pair_sums(&real.delta(h), &p, &ranges);
                            assert_eq!(s.l1.to_bits(), d.to_bits());
                        }
                    }
                }
            }
        }
    }
}
