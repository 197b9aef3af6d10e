//! cell-eval 0.8.2's `clustering_agreement`: the perturbation centroids of the real and of
//! the predicted data are clustered separately (scanpy's UMAP k-nearest-neighbour graph and
//! Leiden), and the agreement of the two partitions is the adjusted mutual information,
//! maximised over the predicted side's resolutions.
//!
//! - [`knn`]: exact neighbours, the point itself first;
//! - [`umap_graph`]: umap's fuzzy simplicial set (scanpy's connectivities);
//! - [`leiden`]: Leiden for modularity with a resolution;
//! - [`ami`]: scikit-learn's adjusted mutual information.

pub mod ami;
pub mod knn;
pub mod leiden;
pub mod umap_graph;

use crate::pseudobulk::Pseudobulks;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// Resolution of the real centroids' Leiden clustering.
pub const REAL_RESOLUTION: f64 = 1.0;
/// Resolutions tried for the predicted centroids (the best agreement is kept).
pub const PRED_RESOLUTIONS: [f64; 7] = [0.2, 0.4, 0.6, 0.8, 1.0, 1.5, 2.0];
/// cell-eval's `n_neighbors` (capped at the number of perturbations − 1).
pub const N_NEIGHBORS: usize = 15;
/// Leiden iterations (`sc.tl.leiden(flavor="igraph", n_iterations=2)`).
pub const N_ITERATIONS: usize = 2;
/// The seed of every Leiden call: scanpy's default `random_state=0` (each call starts from
/// a fresh generator seeded with it, as scanpy reseeds igraph for each call).
pub const DEFAULT_SEED: u64 = 0;

/// Leiden labels of the rows of `points` at each of `resolutions` (one neighbour graph).
pub fn cluster_centroids(points: &[Vec<f64>], resolutions: &[f64], seed: u64) -> Vec<Vec<usize>> {
    let k = N_NEIGHBORS.min(points.len().saturating_sub(1));
    let graph = umap_graph::connectivities(&knn::exact_knn(points, k));
    let edges: Vec<(usize, usize, f64)> = graph
        .edges
        .iter()
        .map(|&(i, j, w)| (i, j, w as f64))
        .collect();
    resolutions
        .iter()
        .map(|&r| {
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            leiden::leiden(graph.n, &edges, r, N_ITERATIONS, &mut rng)
        })
        .collect()
}

/// `clustering_agreement` of the real and predicted pseudobulks (centroids of X per
/// perturbation, float64; the control left out; perturbations in label order): the real
/// centroids clustered at resolution 1, the predicted ones at each of
/// [`PRED_RESOLUTIONS`], the largest AMI (at least 0). `None` with fewer than 3
/// perturbations, where scanpy's neighbour search fails and cell-eval leaves the metric out.
pub fn clustering_agreement(real: &Pseudobulks, pred: &Pseudobulks, seed: u64) -> Option<f64> {
    let centroids = |p: &Pseudobulks| -> Vec<Vec<f64>> {
        p.perturbations()
            .into_iter()
            .map(|g| p.means[g].clone())
            .collect()
    };
    let (rc, pc) = (centroids(real), centroids(pred));
    if rc.len() < 3 || rc.len() != pc.len() {
        return None;
    }
    let real_labels = cluster_centroids(&rc, &[REAL_RESOLUTION], seed).pop()?;
    let mut best = 0.0;
    for labels in cluster_centroids(&pc, &PRED_RESOLUTIONS, seed) {
        let score = ami::adjusted_mutual_info(&real_labels, &labels);
        if score > best {
            best = score;
        }
    }
    Some(best)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Pseudobulks with one row per perturbation `p00`…, the control last.
    fn bulks(rows: Vec<Vec<f64>>, control: Vec<f64>) -> Pseudobulks {
        let mut names: Vec<String> = (0..rows.len()).map(|i| format!("p{i:02}")).collect();
        names.push("control".into());
        let mut means = rows;
        means.push(control);
        Pseudobulks {
            control: names.len() - 1,
            names,
            genes: vec!["g0".into(), "g1".into(), "g2".into()],
            means,
        }
    }

    fn x(i: usize, j: usize) -> f64 {
        ((i * 7 + j * 3) % 11) as f64 / 3.0 + 0.1 * (i * j) as f64
    }

    #[test]
    fn matches_cell_eval() {
        // cell-eval 0.8.2 (/work/cevenv), one cell per perturbation (its centroid), n = 20:
        //   X[i, j] = ((7i + 3j) % 11)/3 + 0.1·i·j;  control row 0 (real), 5 (pred)
        //   Y[i, j] = X[i if i < 10 else 7i % 20, j]·1.1 + 0.3·((5i + j) % 4)
        //   ClusteringAgreement()(PerturbationAnndataPair(real, pred, "c", "control"))
        //   -> 0.2997681591465236 (the same for sc.tl.leiden random_state 0..19)
        let n = 20;
        let real: Vec<Vec<f64>> = (0..n).map(|i| (0..3).map(|j| x(i, j)).collect()).collect();
        let pred: Vec<Vec<f64>> = (0..n)
            .map(|i| {
                let src = if i < 10 { i } else { (i * 7) % n };
                (0..3)
                    .map(|j| x(src, j) * 1.1 + 0.3 * ((i * 5 + j) % 4) as f64)
                    .collect()
            })
            .collect();
        let v = clustering_agreement(
            &bulks(real.clone(), vec![0.0; 3]),
            &bulks(pred, vec![5.0; 3]),
            DEFAULT_SEED,
        )
        .unwrap();
        assert!((v - 0.299_768_159_146_523_6).abs() < 1e-12, "{v}");
        // Identical sides agree perfectly; fewer than 3 perturbations: no value.
        let same = clustering_agreement(
            &bulks(real.clone(), vec![0.0; 3]),
            &bulks(real.clone(), vec![0.0; 3]),
            DEFAULT_SEED,
        );
        assert_eq!(same, Some(1.0));
        let two = bulks(real[..2].to_vec(), vec![0.0; 3]);
        assert_eq!(clustering_agreement(&two, &two, DEFAULT_SEED), None);
    }
}
