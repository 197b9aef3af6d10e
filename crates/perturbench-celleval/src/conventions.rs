//! Every convention of cell-eval 0.8.2 / pdex 0.3.0 / numba-mwu 0.2.0 that changes numbers,
//! recorded as data so that a run can write them next to its results (`conventions.json`).

use crate::de::DeOptions;
use serde::Serialize;

/// One documented convention: what is done and where in the reference it was read.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Convention {
    /// Short key.
    pub key: &'static str,
    /// What the evaluator does.
    pub rule: &'static str,
    /// Reference source (package/file/function) where the behaviour was read.
    pub source: &'static str,
}

/// The conventions of a cell-eval 0.8.2-compatible run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Conventions {
    /// Reference implementation these conventions reproduce.
    pub reference: &'static str,
    /// DE options in force.
    pub de: DeOptions,
    /// FDR threshold for "significant" (strict `<`, on the f32-cast FDR).
    pub fdr_threshold: f32,
    /// The `k` values of overlap_at_k / precision_at_k (besides `N`).
    pub top_k: Vec<usize>,
    /// Everything else, one entry per rule.
    pub rules: Vec<Convention>,
}

impl Conventions {
    /// The conventions of cell-eval 0.8.2's `full` profile with the given DE options.
    pub fn cell_eval_0_8_2(de: DeOptions) -> Self {
        Conventions {
            reference: "cell-eval 0.8.2 (pdex 0.3.0, numba-mwu 0.2.0, polars, scikit-learn, scipy)",
            de,
            fdr_threshold: crate::metrics::FDR_THRESHOLD,
            top_k: crate::metrics::TOP_K.to_vec(),
            rules: RULES.to_vec(),
        }
    }

    /// Pretty JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
    }
}

const RULES: &[Convention] = &[
    Convention {
        key: "de.test",
        rule: "Two-sided Mann-Whitney U, asymptotic normal approximation: mid-ranks, tie-corrected variance n1*n2/12*((n+1) - sum(t^3-t)/(n(n-1))), continuity correction 0.5 on max(U1,U2)-n1*n2/2, p = 2*Phi(-z) clipped to [0,1]; p = 1 when the variance is 0 (all values tie) or a gene is all zero. Reported statistic is U1 of the perturbation's cells. No exact test.",
        source: "numba_mwu/_sparse.py::_sparse_mwu_column (use_continuity=True, two-sided), reached via pdex/_math.py::mwu -> numba_mwu.mannwhitneyu_sparse",
    },
    Convention {
        key: "de.reference",
        rule: "Each perturbation is tested against the control cells of the same file (real DE uses real control, pred DE uses the predicted control); mode='ref'.",
        source: "cell_eval/_evaluator.py::_load_or_build_de, pdex/__init__.py::_pdex_ref",
    },
    Convention {
        key: "de.fdr",
        rule: "Benjamini-Hochberg within each perturbation over all genes (scipy.stats.false_discovery_control, method 'bh'): sorted p * (m/k), running minimum from the top, clipped to [0,1].",
        source: "pdex/__init__.py::_assemble_group_frame",
    },
    Convention {
        key: "de.fold_change",
        rule: "target_mean/ref_mean = expm1(mean over all cells (zeros included) of the log1p values; the mean is computed as scipy's sparse mean does it: each value times 1/n, summed in cell order, so ulp-level ties resolve the same way) (geometric mean in count space; is_log1p=True, geometric_mean=True); log2_fold_change = log2((t+eps)/(r+eps)) with eps = 0.0 (cell-eval pins it); 0/0 -> 0, one-sided zero -> +-inf. percent_change = (t-r)/(r+eps), 0/0 -> 0.",
        source: "cell_eval/_evaluator.py::_build_pdex_kwargs and _cli/_run.py (--epsilon default 0.0); pdex/_math.py::pseudobulk, bulk_matrix_geometric, log2_fold_change, percent_change",
    },
    Convention {
        key: "de.precision",
        rule: "float64 X: means in float64. float32/float16 X (DeOptions::float32_means): scipy's sparse mean keeps float32 (value * f32(1/n), float32 accumulation in cell order), expm1 in float32, t - r of percent_change in float32, the rest (log2 ratio, division) in float64; means are written in their shortest float32 form. The Mann-Whitney U test always uses float64 values.",
        source: "scipy/sparse/_base.py::mean, sum (ones @ X); pdex/_math.py::_expm1_vec, log2_fold_change, percent_change (numba typing); numba_mwu/__init__.py::sparse_column_index (casts to float64)",
    },
    Convention {
        key: "x.precision",
        rule: "X is used at the precision the file stores it. A float64 X (CSR, CSC or dense) has its values read a second time as float64 and kept beside the float32 matrix (in the matrix's row-major entry order, each row sorted by column; refused, with the float32 values used instead, only if the arrays differ or hold duplicate entries); the DE (ranks, ties and means), the pseudobulks and the energy distances then use the float64 values, as pdex, polars and scikit-learn do. float32/float16 and integer X are exact in float32 as read.",
        source: "perturbench-io Csr::with_exact; cell_eval reads X with anndata at its stored dtype",
    },
    Convention {
        key: "de.columns",
        rule: "DE CSV columns: target, feature, target_mean, ref_mean, target_membership, ref_membership, log2_fold_change, percent_change, p_value, statistic, fdr.",
        source: "pdex/__init__.py::_assemble_group_frame",
    },
    Convention {
        key: "de.input",
        rule: "X must be non-negative without NaN (pdex's sparse kernel rejects negatives, NaN and explicit zeros; we treat stored zeros as zeros). Groups are the labels present; cells with a missing label are an error here (pdex drops them).",
        source: "numba_mwu/__init__.py::_validate_csr; pdex/__init__.py::_unique_groups",
    },
    Convention {
        key: "de.float32_cast",
        rule: "Before any DE metric, cell-eval casts p_value, fdr, log2_fold_change and abs_log2_fold_change to Float32; all significance tests, rankings, signs and correlations below use the f32 values (abs taken in f64 then cast, which equals abs of the f32 value).",
        source: "cell_eval/_types/_de.py::DEResults.__post_init__",
    },
    Convention {
        key: "de.significant",
        rule: "Significant = f32(fdr) < 0.05 (strict).",
        source: "cell_eval/_types/_de.py::DEResults.filter_to_significant, get_significant_genes",
    },
    Convention {
        key: "overlap.ranking",
        rule: "Significant genes of each perturbation ranked by |log2_fold_change| (f32) descending; ties keep table (gene) order (polars ordinal rank); NaN ranks above +inf.",
        source: "cell_eval/_types/_de.py::DEResults.get_top_genes (rank('ordinal', descending=True) over target)",
    },
    Convention {
        key: "overlap_at_k",
        rule: "k_eff = min(k or |S_real|, |S_real|); score = |top_k_eff(real) ∩ top_k_eff(pred)| / k_eff; 0 when k_eff = 0; 0 for every perturbation when no perturbation has a significant gene in real or in pred.",
        source: "cell_eval/_types/_de.py::DEComparison.compute_overlap (metric='overlap')",
    },
    Convention {
        key: "precision_at_k",
        rule: "k_eff = min(k or |S_pred|, |S_pred|); score = |top_k_eff(real) ∩ top_k_eff(pred)| / k_eff; same zero rules as overlap.",
        source: "cell_eval/_types/_de.py::DEComparison.compute_overlap (metric='precision')",
    },
    Convention {
        key: "de_spearman_sig",
        rule: "One Spearman correlation (average ranks) over the perturbations with >= 1 real significant gene between real and pred significant counts (missing pred = 0); 1.0 if no perturbation has a real significant gene; the single value is reported for every perturbation. NaN when a side is constant.",
        source: "cell_eval/metrics/_de.py::DESpearmanSignificant",
    },
    Convention {
        key: "de_direction_match",
        rule: "Over real-significant genes present in pred: mean of sign(lfc_real) == sign(lfc_pred) (sign(0) = 0, signs of f32 values); only perturbations with >= 1 real significant gene get a value.",
        source: "cell_eval/metrics/_de.py::DEDirectionMatch",
    },
    Convention {
        key: "de_spearman_lfc_sig",
        rule: "Over real-significant genes: Spearman (average ranks, NaN ranked above +inf) between real lfc and pred lfc (f32 values cast to f64; pred missing -> 0.0); NaN for one gene or a constant side; only perturbations with >= 1 real significant gene.",
        source: "cell_eval/metrics/_de.py::DESpearmanLFC",
    },
    Convention {
        key: "de_sig_genes_recall",
        rule: "|S_real ∩ S_pred| / |S_real| for perturbations with >= 1 real significant gene.",
        source: "cell_eval/metrics/_de.py::DESigGenesRecall",
    },
    Convention {
        key: "de_nsig_counts",
        rule: "Per perturbation |S_real| and |S_pred|, reported as de_nsig_counts_real and de_nsig_counts_pred.",
        source: "cell_eval/metrics/_de.py::DENsigCounts and _pipeline/_runner.py::_compute_metric (dict values -> name_sub)",
    },
    Convention {
        key: "pr_auc/roc_auc",
        rule: "Per perturbation over all real rows: label = f32(fdr_real) < 0.05; score = -log10(clip(f32(fdr_pred), 1e-10, 1)) computed in f32 as ln(q)/ln(10) (missing pred fdr -> 1.0); NaN if all labels equal. pr_auc = sklearn average_precision_score (step sum over distinct scores, descending); roc_auc = trapezoidal area under the ROC curve over distinct scores.",
        source: "cell_eval/metrics/_de.py::compute_generic_auc",
    },
    Convention {
        key: "pseudobulk",
        rule: "Anndata metrics use per-perturbation means of X as stored (the log1p values), dense, float64.",
        source: "cell_eval/_types/_anndata.py::PerturbationAnndataPair._bulk_anndata",
    },
    Convention {
        key: "pseudobulk.precision",
        rule: "Pseudobulks are float64 means here. For float32 X cell-eval's polars group means and the numpy/scikit-learn metrics run in float32, so pearson_delta/mse/mae(_delta) then differ in the last float32 digits (measured <= 3.2e-7 absolute on devel K562); for float64 X they agree to ~1e-14.",
        source: "cell_eval/_types/_anndata.py::_bulk_anndata (pl.DataFrame(matrix).group_by().mean())",
    },
    Convention {
        key: "delta.control",
        rule: "Deltas subtract each side's own control pseudobulk: pred delta = pred pert - pred control, real delta = real pert - real control.",
        source: "cell_eval/_types/_anndata.py::BulkArrays.perturbation_effect",
    },
    Convention {
        key: "mse/mae",
        rule: "mse = mean over genes of (pred_bulk - real_bulk)^2, mae = mean |pred_bulk - real_bulk| (raw pseudobulks); mse_delta / mae_delta on the deltas.",
        source: "cell_eval/metrics/_anndata.py::mse, mae, mse_delta, mae_delta (_generic_evaluation with sklearn)",
    },
    Convention {
        key: "pearson_delta",
        rule: "Pearson correlation across genes between pred delta and real delta (scipy.stats.pearsonr); NaN if a delta is constant.",
        source: "cell_eval/metrics/_anndata.py::pearson_delta",
    },
    Convention {
        key: "discrimination_score",
        rule: "For perturbation p: distances from pred delta of p to every real delta (all non-control perturbations, label order), over genes whose name != p (the target gene is excluded); rank = number of perturbations with a strictly smaller distance (numpy argsort position); when all P distances are equal (zero predicted delta under cosine: every similarity is 0) numpy keeps input order, so rank = the perturbation's index in label order; partial ties (order left to numpy's unstable SIMD sort, machine dependent) count as not closer; score = 1 - rank / P. l1 = Manhattan, l2 = Euclidean, cosine = 1 - cosine similarity (zero vector -> similarity 0).",
        source: "cell_eval/metrics/_anndata.py::discrimination_score",
    },
    Convention {
        key: "pearson_edistance",
        rule: "Per perturbation, energy distance 2*mean d(P,C) - mean d(P,P) - mean d(C,C) over all cell pairs (self-pairs included at 0), Euclidean d from d^2 = -2x.y + |x|^2 + |y|^2 clipped at 0; real side against the real control cells, pred side against the predicted control cells; float32 input: squared distances rounded to float32 before sqrt, means as numpy float32 pairwise sums, the combination in float32. Metric = Pearson(real, pred) over perturbations, one value reported for every perturbation.",
        source: "cell_eval/metrics/_anndata.py::edistance; sklearn/metrics/pairwise.py::euclidean_distances, _euclidean_distances_upcast",
    },
    Convention {
        key: "clustering_agreement",
        rule: "Centroids = per-perturbation means of X (float64, the control left out, labels sorted; on X even with --embed-key) of each side; the real centroids are clustered once at resolution 1, the predicted ones at 0.2, 0.4, 0.6, 0.8, 1.0, 1.5, 2.0 (one neighbour graph per side); the value is the largest adjusted mutual information (sklearn adjusted_mutual_info_score: natural log, arithmetic mean of the entropies, expected MI under the hypergeometric model, its special cases and sign-preserving eps clamps) of the real labels and a predicted labeling, at least 0, reported for every perturbation. With fewer than 3 perturbations scanpy's neighbour search fails and cell-eval leaves the metric out; so does this evaluator.",
        source: "cell_eval/metrics/_anndata.py::ClusteringAgreement; sklearn/metrics/cluster/_supervised.py::adjusted_mutual_info_score",
    },
    Convention {
        key: "clustering_agreement.graph",
        rule: "scanpy pp.neighbors(n_neighbors=k, use_rep='X') with k = min(15, n - 1) for n perturbations: exact Euclidean neighbours (brute force, as scanpy for n < 8192; scanpy's approximate pynndescent search from 8192 perturbations on is not reproduced), the point itself first, k columns in all (k - 1 others); umap fuzzy_simplicial_set in float32: rho = first positive distance, sigma by 64-step bisection of sum_j exp(-max(d_j - rho, 0)/sigma) = log2(k) (tolerance 1e-5, floored at 1e-3 x the mean distance), membership exp(-(d - rho)/sigma) (1 within rho), fuzzy union a + a^T - a*a^T. Deterministic; equal to scanpy's connectivities to float32 rounding (unit tests).",
        source: "scanpy/neighbors/__init__.py::Neighbors.compute_neighbors, _connectivity.py::umap; umap/umap_.py::smooth_knn_dist, compute_membership_strengths, fuzzy_simplicial_set",
    },
    Convention {
        key: "clustering_agreement.leiden",
        rule: "Leiden for modularity (RB configuration model: node weights = strengths, resolution / total strength), n_iterations = 2 from singletons, refinement randomness beta = 0.01, on the connectivity graph with every pair counted twice as igraph builds it from the symmetric matrix. The random draws (node orders, refinement choices) come from a ChaCha8 generator seeded with 0 (scanpy's default random_state) for each clustering call, not from igraph's generator, so where several partitions are about equally good the labels, and hence the AMI, can differ from cell-eval's (see docs/cell-eval.md for the measured difference and cell-eval's own spread over seeds). Same seed, same result.",
        source: "scanpy/tools/_leiden.py::leiden(flavor='igraph'); igraph src/community/leiden.c (igraph_community_leiden)",
    },
    Convention {
        key: "perturbations",
        rule: "Perturbations = sorted unique labels except the control; real and pred must have the same label set and the same genes in the same order.",
        source: "cell_eval/_types/_anndata.py::PerturbationAnndataPair.__post_init__, _types/_de.py::DEComparison.__post_init__",
    },
    Convention {
        key: "input.normalisation",
        rule: "cell-eval log-normalises integer-valued inputs (scanpy normalize_total to the median + log1p) unless --allow-discrete; this crate expects log1p input and does not normalise.",
        source: "cell_eval/_evaluator.py::_convert_to_normlog, utils.py::guess_is_lognorm",
    },
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serialises_to_json() {
        let c = Conventions::cell_eval_0_8_2(DeOptions::default());
        let v: serde_json::Value = serde_json::from_str(&c.to_json()).unwrap();
        assert_eq!(v["de"]["epsilon"], 0.0);
        assert_eq!(v["de"]["geometric_mean"], true);
        assert!((v["fdr_threshold"].as_f64().unwrap() - 0.05).abs() < 1e-6);
        let keys: Vec<&str> = c.rules.iter().map(|r| r.key).collect();
        for k in [
            "de.test",
            "de.fdr",
            "de.fold_change",
            "overlap_at_k",
            "pr_auc/roc_auc",
        ] {
            assert!(keys.contains(&k), "{k}");
        }
    }
}
