//! `conventions.json` of a vcc2026 run: the conventions of cell-eval2 0.20.0's `vcc2026`
//! preset that change numbers, what was computed and skipped, versions, and the inputs.

use crate::record::{InputRecord, Skipped};
use serde::Serialize;

/// The fixed settings of the vcc2026 profile.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Vcc2026Settings {
    /// Both inputs must hold raw counts (non-negative integers).
    pub input_type: &'static str,
    /// Largest total of one cell that is accepted.
    pub max_counts_per_cell: f64,
    /// Target sum of the per-cell normalisation of the DE (counts per million).
    pub target_sum: f64,
    /// Gene filter of the DE: control pool mean CPM must exceed this.
    pub filter_gene_min_cpm_cell: f64,
    /// Target sum of the `bulk_lognorm` pseudobulks (`log1p(T · S / ΣS)`).
    pub bulk_target_sum: f64,
    /// The DE test.
    pub de_method: &'static str,
    /// Pseudocount of the log2 fold change.
    pub epsilon: f64,
    /// Mean of the fold change.
    pub mean_calc: &'static str,
    /// Scope of Benjamini–Hochberg.
    pub fdr_scope: &'static str,
    /// Significance: `p_adj < this`.
    pub p_adj_threshold: f64,
    /// Rows with a NaN fold change are not significant.
    pub nan_lfc_policy: &'static str,
    /// Which control the predicted side is compared with.
    pub control_source: &'static str,
    /// Distance of `pds_cosine`.
    pub discrimination_distance: &'static str,
    /// Denominator of `pds_cosine`'s rank.
    pub discrimination_rank_denominator: &'static str,
    /// Tie rule of `pds_cosine`.
    pub discrimination_ties: &'static str,
    /// Which target genes are excluded from `pds_cosine`'s features.
    pub discrimination_exclusion_scope: &'static str,
}

/// The vcc2026 preset of cell-eval2 0.20.0.
pub const SETTINGS: Vcc2026Settings = Vcc2026Settings {
    input_type: "counts",
    max_counts_per_cell: 1e6,
    target_sum: 1e6,
    filter_gene_min_cpm_cell: 5.0,
    bulk_target_sum: 50_000.0,
    de_method: "wilcoxon",
    epsilon: 1e-9,
    mean_calc: "arithmetic",
    fdr_scope: "per_pert",
    p_adj_threshold: 0.05,
    nan_lfc_policy: "mask",
    control_source: "real",
    discrimination_distance: "cosine",
    discrimination_rank_denominator: "n-1",
    discrimination_ties: "midrank",
    discrimination_exclusion_scope: "panel",
};

/// One rule: what is done, and where in cell-eval2 it was read.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Rule {
    /// Short key.
    pub key: &'static str,
    /// What the evaluator does.
    pub rule: &'static str,
    /// cell-eval2 (or scanpy) source where the behaviour was read.
    pub source: &'static str,
}

/// Everything `conventions.json` holds for a vcc2026 run.
#[derive(Debug, Clone, Serialize)]
pub struct Vcc2026Record {
    /// `run`.
    pub command: String,
    /// `vcc2026`.
    pub profile: String,
    /// The implementation reproduced.
    pub reference: &'static str,
    /// `perturbench-celleval`'s version.
    pub version: String,
    /// The preset's settings.
    pub settings: Vcc2026Settings,
    /// Metrics computed, in `results.csv` order.
    pub metrics: Vec<String>,
    /// Metrics of the profile not computed.
    pub skipped: Vec<Skipped>,
    /// Perturbations whose label names a measured gene (excluded as their target gene).
    pub resolved_targets: Vec<String>,
    /// Genes kept by the DE's CPM filter, of all genes (none without a prediction).
    pub de_genes_kept: Option<(usize, usize)>,
    /// The replicate anchor's settings (with `--anchor`).
    pub anchor: Option<AnchorRecord>,
    /// The inputs.
    pub inputs: Vec<InputRecord>,
    /// The rules.
    pub rules: Vec<Rule>,
}

/// How a replicate anchor was measured.
#[derive(Debug, Clone, Serialize)]
pub struct AnchorRecord {
    /// The base seed.
    pub base_seed: u64,
    /// How the split seeds come off it.
    pub seed_derivation: &'static str,
    /// The split seeds.
    pub derived_seeds: Vec<u32>,
    /// Number of splits.
    pub n_splits: usize,
    /// Each half against its own control.
    pub control_source_effective: &'static str,
    /// The implementation reproduced.
    pub reference: &'static str,
}

impl AnchorRecord {
    /// The record of `a`.
    pub fn of(a: &super::anchor::Anchor) -> Self {
        AnchorRecord {
            base_seed: a.base_seed,
            seed_derivation: super::anchor::SEED_DERIVATION,
            derived_seeds: a.seeds.clone(),
            n_splits: a.seeds.len(),
            control_source_effective: "pred",
            reference: "cell-eval2 0.20.0 anchor.compute_replicate_anchor (run --anchor), lfc_nmae_ref.compute_lfc_nmae_reference",
        }
    }
}

impl Vcc2026Record {
    /// Pretty JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
    }
}

/// The rules of a vcc2026 run.
pub const RULES: &[Rule] = &[
    Rule {
        key: "input",
        rule: "Both files hold raw counts: non-negative integers, no NaN, each cell's total at most 1e6; anything else is refused (no normalisation is guessed).",
        source: "cell_eval2/norm.py::validate_input_type, check_scale_limit; configs/vcc2026.yaml (input_type: counts, allow_fractional_counts: false)",
    },
    Rule {
        key: "de.normalisation",
        rule: "Each cell x -> x / (L/1e6) in float64 (L = the cell's total; a cell without counts is divided by 1); the test ranks log1p of that, the fold change uses its arithmetic group means.",
        source: "cell_eval2/de_compute.py::_to_linear, _log1p_view; scanpy normalize_total(target_sum=1e6)",
    },
    Rule {
        key: "de.control",
        rule: "control_source = real: the real perturbations are tested against the real control cells, and the predicted perturbations against the same real control cells (the predicted control cells are not used by the DE).",
        source: "cell_eval2/run.py::_pred_de_input (CPU backends: concat of pred non-control cells and real control cells)",
    },
    Rule {
        key: "de.test",
        rule: "Two-sided Wilcoxon rank-sum, normal approximation without continuity correction: z = (R1 - n1(n+1)/2) / sqrt(t n1 n2 (n+1)/12), t = 1 - sum(c^3-c)/(n^3-n) over tie blocks (mid-ranks), z = 0 when undefined, p = 2 Phi(-|z|).",
        source: "scanpy/tools/_rank_genes_groups.py::_RankGenes.wilcoxon (tie_correct=True, reference group), via cell_eval2/de_compute.py::_de_scanpy_pvalues",
    },
    Rule {
        key: "de.fold_change",
        rule: "log2((mean_t + 1e-9) / (mean_c + 1e-9)) of arithmetic CPM means; a NaN fold change forces p_adj = 1.",
        source: "cell_eval2/de_compute.py::_clipped_log2fc; cell_eval2/de.py::apply_nan_policy",
    },
    Rule {
        key: "de.cpm_filter",
        rule: "A gene is kept only when the control pool's arithmetic mean CPM is > 5 (one gene set for every perturbation); Benjamini-Hochberg is then recomputed per perturbation over the kept genes (scipy false_discovery_control).",
        source: "cell_eval2/de_compute.py::_apply_cpm_filter, _bh_per_target",
    },
    Rule {
        key: "de.target_gene",
        rule: "A perturbation's own target gene = its label when that label is a gene of the real DE table (after the CPM filter); de_wilcoxon_sig_jaccard removes that row from both sides.",
        source: "cell_eval2/de.py::resolve_target_genes, exclude_on_target; metrics/de.py::de_sig_jaccard",
    },
    Rule {
        key: "de_wilcoxon_sig_jaccard",
        rule: "|R and P| / |R or P| of the genes with p_adj < 0.05 in the real and predicted tables; 1 when both are empty.",
        source: "cell_eval2/metrics/de.py::de_sig_jaccard",
    },
    Rule {
        key: "pseudobulk",
        rule: "bulk_lognorm: per group, S = float64 sum of the counts of its cells; log1p(50000 * S / sum(S)); an all-zero group is 0.",
        source: "cell_eval2/prep.py::bulk_lognorm_means, pseudobulk_bulk_lognorm",
    },
    Rule {
        key: "pds_cosine",
        rule: "Deltas: real pseudobulk - real control pseudobulk, pred pseudobulk - real control pseudobulk. Every perturbation label that names a measured gene removes that gene from the features (panel scope). Cosine distance (similarity 0 for a zero vector, clipped to [0,2]) from each predicted delta to every real delta; score = 1 - midrank/(n-1) with the 0-based mid-rank of the own real delta (NaN last).",
        source: "cell_eval2/metrics/discrimination.py::discrimination_score, _match_rank; cell_eval2/distances.py::resolve_panel_columns, panel_reduced, cosine_distance_from_parts",
    },
    Rule {
        key: "jackknife",
        rule: "Sampling variance of a group's bulk_lognorm vector: delete-one-cell jackknife, V_i = log1p(T (S - x_i)/(sum S - L_i)) - log1p(T S/sum S) (first term 0 when the cell holds every count), C = max(0, (n-1)/n * sum_g (sum_i V_ig^2 - (sum_i V_ig)^2/n)); 0 for fewer than 2 cells.",
        source: "cell_eval2/moments.py::jackknife_correction, _loo_bulk; prep.py::pseudobulk_bulk_lognorm_with_moments",
    },
    Rule {
        key: "expr_mse_unbiased",
        rule: "(||pred_p - real_p||^2 - C_pred_p - C_real_p - (own gene's squared difference)) / (genes used: all, minus the own gene when the label is a gene name), on bulk_lognorm pseudobulks (not deltas).",
        source: "cell_eval2/metrics/delta.py::mse_unbiased, _numerator, _drop_on_target; moments.py::unbiased_sq_dist",
    },
    Rule {
        key: "expr_mse_unbiased_capped",
        rule: "As expr_mse_unbiased with the prediction's correction min(C_pred_p, 1.0 * C_real_p), all of them scaled by budget/claim when that is below 1: claim = sum_p term_p w_p, budget = sum_g max(0, weighted across-perturbation sum of squares of the predicted pseudobulks, each perturbation's own gene left out of that gene), w_p = 1/(genes used).",
        source: "cell_eval2/metrics/delta.py::mse_unbiased_capped, _numerator, _row_weights, _across_pert_budget (PRED_TRACE_CAP_K = 1.0)",
    },
    Rule {
        key: "expr_distance_unbiased",
        rule: "(||real_p - real_control||^2 - C_real_p - C_control - own gene's term) / (genes used).",
        source: "cell_eval2/metrics/delta.py::distance_unbiased",
    },
    Rule {
        key: "expr_mse_unbiased_capped_norm",
        rule: "Sum of expr_mse_unbiased_capped / sum of expr_distance_unbiased over the perturbations where both are finite (an error when the denominator is not positive); no results.csv rows, its agg_results.csv column holds the value as 'mean' and NaN elsewhere.",
        source: "cell_eval2/run.py::_derived_value, aggregate_metrics_wide; catalog.py (agg ratio_of_sums)",
    },
    Rule {
        key: "expr_real_mass_ratio",
        rule: "Per real perturbation: sum over genes of expm1(bulk_lognorm pseudobulk) / 50000 (a diagnostic, 1 up to rounding).",
        source: "cell_eval2/metrics/delta.py::real_mass_ratio",
    },
    Rule {
        key: "anchor.split",
        rule: "--anchor: split seeds = numpy SeedSequence(base_seed).generate_state(n_splits) (uint32); per split, numpy default_rng(seed) permutes each group's cells (the control's too) in pandas groupby order (categories' order for a categorical column) and cuts them into halves A = first floor(n/2), B = next floor(n/2) (an odd cell dropped); every group needs at least 2 cells.",
        source: "cell_eval2/anchor.py::_derive_seeds, _score_one_split; cell_eval2/ceiling.py::_disjoint_halves",
    },
    Rule {
        key: "anchor.metrics",
        rule: "Half B is scored as a prediction of half A with control_source = pred: each half's DE against its own control cells with its own 5-CPM gene filter (a gene one table lacks pairs with nothing), B's pds deltas against B's control; a split value is the NaN-skipping mean over perturbations (expr_mse_unbiased_capped_norm: its ratio of sums); every member must be finite in every split.",
        source: "cell_eval2/anchor.py::_inner_config, _score_one_split; run.py::aggregate_metrics; metrics/direction.py::_direction_frame (inner join)",
    },
    Rule {
        key: "anchor.lfc_nmae",
        rule: "de_wilcoxon_lfc_nmae's split value (estimator full_gate_raw): per perturbation mean|lfc_A - lfc_B| / mean|lfc_full| over the genes with p_adj < 0.05 and a finite fold change in the DE of all real cells against all control cells (own gene removed; a gene missing from a half's table or non-finite there counts as 0), kept when at least 10 genes and a positive finite denominator; averaged over perturbations; an error when none is kept.",
        source: "cell_eval2/lfc_nmae_ref.py::_nmae_ref_from_tables, compute_lfc_nmae_reference; anchor.py::_lfc_nmae_raw",
    },
    Rule {
        key: "anchor.aggregate",
        rule: "anchor_agg.csv: per metric the mean (replicate), population sd, min and max of the split values, the fewest and most perturbations with a value, and the estimator; anchor_splits.csv: one row per split and metric.",
        source: "cell_eval2/anchor.py::compute_replicate_anchor, write_anchor (parquet there, CSV here)",
    },
    Rule {
        key: "results",
        rule: "results.csv is long (perturbation, metric, value), DE metrics first, perturbations sorted; agg_results.csv has count and null_count of the raw values and mean, std (sample), min, max, median of the non-NaN values, one column per metric sorted by name.",
        source: "cell_eval2/run.py::aggregate_metrics_wide; cell_eval2/cli.py (run)",
    },
];
