//! The weighted graph of scanpy 1.11.5's `pp.neighbors(method="umap")`: umap-learn's fuzzy
//! simplicial set of the k-nearest-neighbour distances (`smooth_knn_dist` with
//! `local_connectivity = 1`, membership strengths, fuzzy union with `set_op_mix_ratio = 1`),
//! in `float32` as umap computes it.

use super::knn::Knn;

/// umap's tolerance of the binary search on `sum(exp(-d/σ)) = log2(k)`.
const SMOOTH_K_TOLERANCE: f64 = 1e-5;
/// umap's lower bound of σ, as a fraction of the mean neighbour distance.
const MIN_K_DIST_SCALE: f32 = 1e-3;
/// Iterations of the binary search.
const N_ITER: usize = 64;

/// An undirected weighted graph without self-loops: `edges` holds each pair once (`i < j`)
/// with its connectivity.
#[derive(Debug, Clone, PartialEq)]
pub struct WeightedGraph {
    /// Number of vertices.
    pub n: usize,
    /// `(i, j, weight)` with `i < j` and `weight > 0`, sorted by `(i, j)`.
    pub edges: Vec<(usize, usize, f32)>,
}

/// σ and ρ of every row (umap's `smooth_knn_dist`): ρ is the smallest positive distance,
/// σ solves `Σ_{j≥1} exp(-max(d_j - ρ, 0)/σ) = log2(k)` by bisection in `float32`.
pub fn smooth_knn_dist(distances: &[Vec<f32>], k: usize) -> (Vec<f32>, Vec<f32>) {
    let target = (k as f64).log2();
    let all: Vec<f32> = distances.iter().flatten().copied().collect();
    let mean_all = mean_f32(&all);
    let mut sigmas = Vec::with_capacity(distances.len());
    let mut rhos = Vec::with_capacity(distances.len());
    for row in distances {
        // local_connectivity = 1: ρ is the first positive distance (0 when there is none).
        let rho = row.iter().copied().find(|&d| d > 0.0).unwrap_or(0.0);
        let (mut lo, mut hi, mut mid) = (0f32, f32::MAX, 1f32);
        for _ in 0..N_ITER {
            let mut psum = 0f32;
            for &dj in row.iter().skip(1) {
                let d = dj - rho;
                psum += if d > 0.0 { (-(d / mid)).exp() } else { 1.0 };
            }
            if (psum as f64 - target).abs() < SMOOTH_K_TOLERANCE {
                break;
            }
            if psum as f64 > target {
                hi = mid;
                mid = (lo + hi) / 2.0;
            } else {
                lo = mid;
                if hi >= f32::MAX {
                    mid *= 2.0;
                } else {
                    mid = (lo + hi) / 2.0;
                }
            }
        }
        let mut sigma = mid;
        let floor = if rho > 0.0 {
            MIN_K_DIST_SCALE * mean_f32(row)
        } else {
            MIN_K_DIST_SCALE * mean_all
        };
        if sigma < floor {
            sigma = floor;
        }
        sigmas.push(sigma);
        rhos.push(rho);
    }
    (sigmas, rhos)
}

fn mean_f32(v: &[f32]) -> f32 {
    if v.is_empty() {
        return 0.0;
    }
    (v.iter().map(|&x| x as f64).sum::<f64>() / v.len() as f64) as f32
}

/// The connectivities of scanpy's `pp.neighbors` from the neighbours `knn` (the point
/// itself first): membership `exp(-(d - ρ_i)/σ_i)` (1 within ρ, none to itself), then the
/// fuzzy union `a + aᵀ - a∘aᵀ`, every step in `float32`.
pub fn connectivities(knn: &Knn) -> WeightedGraph {
    let n = knn.indices.len();
    let k = knn.k();
    let dists: Vec<Vec<f32>> = knn
        .distances
        .iter()
        .map(|r| r.iter().map(|&d| d as f32).collect())
        .collect();
    let (sigmas, rhos) = smooth_knn_dist(&dists, k);
    // Directed memberships a[i][j] (sparse: each row holds at most k entries).
    let mut directed: Vec<Vec<(usize, f32)>> = vec![Vec::new(); n];
    for i in 0..n {
        for (&j, &d) in knn.indices[i].iter().zip(&dists[i]) {
            if j == i {
                continue;
            }
            let v = if d - rhos[i] <= 0.0 || sigmas[i] == 0.0 {
                1.0
            } else {
                (-((d - rhos[i]) / sigmas[i])).exp()
            };
            if v != 0.0 {
                directed[i].push((j, v));
            }
        }
    }
    let get =
        |i: usize, j: usize| -> f32 { directed[i].iter().find(|e| e.0 == j).map_or(0.0, |e| e.1) };
    let mut edges = Vec::new();
    for i in 0..n {
        let mut partners: Vec<usize> = directed[i].iter().map(|e| e.0).collect();
        partners.extend((0..n).filter(|&j| directed[j].iter().any(|e| e.0 == i)));
        partners.retain(|&j| j > i);
        partners.sort_unstable();
        partners.dedup();
        for j in partners {
            let (a, b) = (get(i, j), get(j, i));
            let w = (a + b) - a * b;
            if w != 0.0 {
                edges.push((i, j, w));
            }
        }
    }
    WeightedGraph { n, edges }
}

#[cfg(test)]
mod tests {
    use super::super::knn::exact_knn;
    use super::*;

    /// The test points of `graph_matches_scanpy`: `x[i][j] = ((7i + 3j) mod 11)/3 + 0.1·i·j`.
    fn points(n: usize) -> Vec<Vec<f64>> {
        (0..n)
            .map(|i| {
                (0..3)
                    .map(|j| ((i * 7 + j * 3) % 11) as f64 / 3.0 + 0.1 * (i * j) as f64)
                    .collect()
            })
            .collect()
    }

    #[test]
    fn graph_matches_scanpy() {
        // Python (scanpy 1.11.5, /work/cevenv):
        //   X = np.array([[((i*7+j*3)%11)/3.0 + 0.1*i*j for j in range(3)] for i in range(7)])
        //   a = ad.AnnData(X); sc.pp.neighbors(a, n_neighbors=6, use_rep="X")
        //   a.obsp["connectivities"] (upper triangle, float32)
        let expected: [(usize, usize, f64); 20] = [
            (0, 2, 1.0),
            (0, 3, 0.175_573_617_219_924_93),
            (0, 4, 0.202_452_063_560_485_84),
            (0, 5, 0.971_492_648_124_694_8),
            (0, 6, 0.535_778_403_282_165_5),
            (1, 2, 0.403_189_361_095_428_47),
            (1, 3, 0.650_447_070_598_602_3),
            (1, 4, 1.0),
            (1, 5, 0.354_752_987_623_214_7),
            (1, 6, 0.408_599_674_701_690_7),
            (2, 3, 0.617_902_934_551_239),
            (2, 4, 0.634_721_457_958_221_4),
            (2, 5, 1.0),
            (2, 6, 0.669_811_308_383_941_7),
            (3, 4, 0.635_245_501_995_086_7),
            (3, 5, 0.578_638_911_247_253_4),
            (3, 6, 1.0),
            (4, 5, 0.594_334_840_774_536_1),
            (4, 6, 0.618_069_469_928_741_5),
            (5, 6, 0.627_674_043_178_558_3),
        ];
        let g = connectivities(&exact_knn(&points(7), 6));
        assert_eq!(g.n, 7);
        assert_eq!(g.edges.len(), expected.len());
        for (got, want) in g.edges.iter().zip(expected) {
            assert_eq!((got.0, got.1), (want.0, want.1));
            assert!(
                (got.2 as f64 - want.2).abs() <= 2.0 * f32::EPSILON as f64,
                "{got:?} vs {want:?}"
            );
        }
    }

    #[test]
    fn graph_with_fifteen_neighbours_matches_scanpy() {
        // Python (scanpy 1.11.5, /work/cevenv), the same points for n = 20:
        //   sc.pp.neighbors(a, n_neighbors=15, use_rep="X"); U = np.triu(C.toarray(), 1)
        //   (U != 0).sum(), U.astype(np.float64).sum(), U[0, 1], U[3, 17]
        //   -> 163 57.712235083803535 0.18723075091838837 0.4044913947582245
        let g = connectivities(&exact_knn(&points(20), 15));
        assert_eq!(g.edges.len(), 163);
        let total: f64 = g.edges.iter().map(|e| e.2 as f64).sum();
        assert!((total - 57.712_235_083_803_535).abs() < 1e-5, "{total}");
        let w = |i, j| {
            g.edges
                .iter()
                .find(|e| (e.0, e.1) == (i, j))
                .map(|e| e.2 as f64)
        };
        assert!((w(0, 1).unwrap() - 0.187_230_750_918_388_37).abs() <= 2.0 * f32::EPSILON as f64);
        assert!((w(3, 17).unwrap() - 0.404_491_394_758_224_5).abs() <= 2.0 * f32::EPSILON as f64);
    }
}
