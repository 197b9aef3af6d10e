//! `cell-eval run`: from a real and a predicted `.h5ad` (or precomputed DE tables) to the
//! output directory cell-eval 0.8.2 writes (`real_de.csv`, `pred_de.csv`, `results.csv`,
//! `agg_results.csv`, with `{celltype}_` prefixes under `--celltype-col`), plus
//! `conventions.json`; all files appear at once or not at all.

use crate::ceiling::{agg_ceiling_csv, disjoint_halves};
use crate::clustering::{clustering_agreement, DEFAULT_SEED as CLUSTERING_SEED};
use crate::conventions::Conventions;
use crate::de::{differential_expression, DeOptions, DeTable};
use crate::error::{CellEvalError, Result};
use crate::groups::{obs_labels, Groups};
use crate::input::{read_input_with, sha256_file, Input, Scale};
use crate::metrics::edistance::pearson_edistance;
use crate::metrics::{
    embedding_discrimination, evaluate_de, evaluate_pseudobulk, DeFrame, MetricTable,
};
use crate::profile::{metric_columns, metric_kind, Profile};
use crate::pseudobulk::Pseudobulks;
use crate::record::{InputRecord, RunRecord};
use crate::results::{agg_results_csv, results_csv, select_metrics};
use crate::staging::Staging;
use perturbench_io::AnnData;
use rayon::prelude::*;
use std::path::{Path, PathBuf};

/// The options of `cell-eval run` (cell-eval 0.8.2's flags; on the command line `-ap`, `-ar`,
/// `-dp`, `-dr` are accepted as in cell-eval).
#[derive(clap::Args, Debug, Clone, PartialEq)]
pub struct RunOptions {
    /// Predicted .h5ad (`-ap`; `None` only in ceiling-only mode, with `--ceiling`).
    #[arg(long = "adata-pred")]
    pub adata_pred: Option<PathBuf>,
    /// Real .h5ad (`-ar`).
    #[arg(long = "adata-real")]
    pub adata_real: PathBuf,
    /// Precomputed DE of the prediction (`-dp`).
    #[arg(long = "de-pred")]
    pub de_pred: Option<PathBuf>,
    /// Precomputed DE of the real data (`-dr`).
    #[arg(long = "de-real")]
    pub de_real: Option<PathBuf>,
    /// Name of the control perturbation.
    #[arg(long, default_value = "non-targeting")]
    pub control_pert: String,
    /// obs column of the perturbations.
    #[arg(long, default_value = "target_gene")]
    pub pert_col: String,
    /// obs column to split the results by (one set of files per cell type).
    #[arg(long)]
    pub celltype_col: Option<String>,
    /// `.obsm` key of an embedding: `discrimination_score_l2` and `_cosine` are computed on it
    /// (cell-eval's `--embed-key`).
    #[arg(long)]
    pub embed_key: Option<String>,
    /// Output directory.
    #[arg(short = 'o', long, default_value = "./cell-eval-outdir")]
    pub outdir: PathBuf,
    /// Worker threads (default: all cores; cell-eval's default is 1).
    #[arg(long)]
    pub num_threads: Option<usize>,
    /// Evaluate integer (count) matrices as they are instead of refusing them.
    #[arg(long)]
    pub allow_discrete: bool,
    /// Metric profile: full, vcc, minimal, pds, de, anndata, vcc2026 (cell-eval2 0.20.0's
    /// counts-based profile).
    #[arg(long, default_value = "full", value_parser = parse_profile)]
    pub profile: Profile,
    /// Metrics to skip (comma-separated).
    #[arg(long, value_delimiter = ',', value_parser = trimmed)]
    pub skip_metrics: Vec<String>,
    /// Also score two disjoint halves of the real cells against each other (the data
    /// ceiling: `ceiling_results.csv`, `agg_ceiling_results.csv`).
    #[arg(long)]
    pub ceiling: bool,
    /// Seed of the data ceiling's split.
    #[arg(long, default_value_t = 0)]
    pub ceiling_seed: u64,
    /// Pooled-CPM floor of the DE: rows whose gene has CPM ≤ T in both the perturbation and
    /// the control are dropped, the FDR corrected over the rest (pdex's `cpm_filter`).
    #[arg(long)]
    pub cpm_filter: Option<f64>,
    /// Pseudocount of the log fold change.
    #[arg(long, default_value_t = 0.0)]
    pub epsilon: f64,
    /// `--profile vcc2026`: also measure the replicate anchor (the score scale's "1" end)
    /// from the real cells alone (`anchor_agg.csv`, `anchor_splits.csv`), as
    /// `cell-eval2 run --anchor`. Without `-ap` only the anchor is computed.
    #[arg(long)]
    pub anchor: bool,
    /// Base seed of the anchor's splits.
    #[arg(long, default_value_t = 0)]
    pub anchor_base_seed: u64,
    /// Number of the anchor's half-vs-half splits.
    #[arg(long, default_value_t = 5)]
    pub anchor_splits: usize,
}

/// A `--profile` value.
fn parse_profile(name: &str) -> std::result::Result<Profile, String> {
    Profile::parse(name).map_err(|e| e.to_string())
}

/// A `--skip-metrics` item without surrounding blanks.
fn trimmed(s: &str) -> std::result::Result<String, String> {
    Ok(s.trim().to_string())
}

impl RunOptions {
    /// cell-eval's defaults for the given real and predicted files.
    pub fn new(adata_real: impl Into<PathBuf>, adata_pred: impl Into<PathBuf>) -> Self {
        RunOptions {
            adata_pred: Some(adata_pred.into()),
            adata_real: adata_real.into(),
            de_pred: None,
            de_real: None,
            control_pert: "non-targeting".into(),
            pert_col: "target_gene".into(),
            celltype_col: None,
            embed_key: None,
            outdir: PathBuf::from("./cell-eval-outdir"),
            num_threads: None,
            allow_discrete: false,
            profile: Profile::Full,
            skip_metrics: Vec::new(),
            ceiling: false,
            ceiling_seed: 0,
            cpm_filter: None,
            epsilon: 0.0,
            anchor: false,
            anchor_base_seed: 0,
            anchor_splits: 5,
        }
    }
}

/// What a run wrote.
#[derive(Debug, Clone)]
pub struct RunSummary {
    /// The output directory.
    pub outdir: PathBuf,
    /// Files written (names inside `outdir`).
    pub files: Vec<String>,
    /// Per context (prefix, results table).
    pub results: Vec<(Option<String>, MetricTable)>,
    /// The record written as `conventions.json`.
    pub record: RunRecord,
}

/// Runs `f` on a pool of `n` threads (all cores when `None`).
pub fn with_threads<T: Send>(n: Option<usize>, f: impl FnOnce() -> T + Send) -> Result<T> {
    match n {
        None => Ok(f()),
        Some(0) => Err(CellEvalError::Option("--num-threads must be >= 1".into())),
        Some(n) => rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .build()
            .map(|p| p.install(f))
            .map_err(|e| CellEvalError::Option(format!("cannot start {n} threads: {e}"))),
    }
}

/// DE options for one input: cell-eval's, with the precision of the stored matrix.
pub fn de_options(input: &Input, epsilon: f64, cpm_filter: Option<f64>) -> DeOptions {
    DeOptions {
        is_log1p: input.scale == Scale::Log1p,
        epsilon,
        cpm_filter,
        ..DeOptions::for_stored_dtype(&input.dtype)
    }
}

fn input_error(path: &Path, message: impl Into<String>) -> CellEvalError {
    CellEvalError::Input {
        path: path.display().to_string(),
        message: message.into(),
    }
}

fn record_of(role: &str, input: &Input, sha256: String) -> InputRecord {
    InputRecord {
        role: role.into(),
        path: input.path.display().to_string(),
        sha256,
        dtype: Some(input.dtype.clone()),
        scale: Some(input.scale),
        shape: Some((input.adata.n_obs(), input.adata.n_vars())),
        precision: Some(
            if input.adata.x.exact().is_some() {
                "float64"
            } else {
                "float32"
            }
            .into(),
        ),
    }
}

/// Checks that `pert_col` exists in a file and splits it by cell type (one context when
/// `celltype_col` is `None`), keeping the cell types in order of first appearance.
fn contexts(
    ad: &AnnData,
    path: &Path,
    celltype_col: Option<&str>,
) -> Result<Vec<(Option<String>, AnnData)>> {
    let Some(col) = celltype_col else {
        return Ok(vec![(None, ad.clone())]);
    };
    let labels = obs_labels(ad, col).map_err(|e| input_error(path, e.to_string()))?;
    let mut order: Vec<String> = Vec::new();
    for l in &labels {
        if !order.contains(l) {
            order.push(l.clone());
        }
    }
    Ok(order
        .into_iter()
        .map(|ct| {
            let rows: Vec<usize> = (0..labels.len()).filter(|&i| labels[i] == ct).collect();
            (Some(ct), ad.select_obs(&rows))
        })
        .collect())
}

fn groups_of(ad: &AnnData, path: &Path, pert_col: &str, control: &str) -> Result<Groups> {
    Groups::from_obs(ad, pert_col, control).map_err(|e| input_error(path, e.to_string()))
}

fn check_same_perturbations(real: &Groups, pred: &Groups, ctx: &str) -> Result<()> {
    if real.names == pred.names {
        return Ok(());
    }
    let missing = |a: &Groups, b: &Groups| -> String {
        let v: Vec<&str> = a
            .names
            .iter()
            .filter(|n| !b.names.contains(n))
            .map(String::as_str)
            .collect();
        let shown: Vec<&str> = v.iter().take(10).copied().collect();
        format!(
            "{}{}",
            shown.join(", "),
            if v.len() > 10 { ", ..." } else { "" }
        )
    };
    Err(CellEvalError::PerturbationMismatch(format!(
        "{ctx}only in real: [{}]; only in pred: [{}]",
        missing(real, pred),
        missing(pred, real)
    )))
}

/// Evaluates one context (or, with `ceiling`, two halves of its real cells, their DE kept in
/// memory); returns the full metric table before profile selection.
#[allow(clippy::too_many_arguments)]
fn evaluate_context(
    opts: &RunOptions,
    real: (&Input, &AnnData),
    pred: (&Input, &AnnData),
    prefix: &str,
    staging: &Staging,
    files: &mut Vec<String>,
    computed: &[&str],
    ceiling: bool,
) -> Result<MetricTable> {
    let ctx = if prefix.is_empty() {
        String::new()
    } else {
        format!("cell type '{}': ", prefix.trim_end_matches('_'))
    };
    let rg = groups_of(real.1, &real.0.path, &opts.pert_col, &opts.control_pert)?;
    let pg = groups_of(pred.1, &pred.0.path, &opts.pert_col, &opts.control_pert)?;
    check_same_perturbations(&rg, &pg, &ctx)?;
    // scipy's pearsonr raises for fewer than two perturbations; cell-eval then logs the
    // error and leaves the metric out. The all-pairs distances run alongside the DE and the
    // pseudobulk metrics (the file writes leave cores idle).
    let edistance = computed.contains(&"pearson_edistance") && rg.perturbations().len() >= 2;
    let single = |i: &Input| matches!(i.dtype.as_str(), "float32" | "float16");
    let (rest, ed) = rayon::join(
        || {
            de_and_bulk_metrics(
                opts,
                real,
                pred,
                (&rg, &pg),
                prefix,
                staging,
                files,
                computed,
                ceiling,
            )
        },
        || {
            edistance.then(|| {
                pearson_edistance(
                    (&real.1.x, &rg, single(real.0)),
                    (&pred.1.x, &pg, single(pred.0)),
                )
            })
        },
    );
    let (mut table, clustering) = rest?;
    if let Some(v) = ed {
        let n = table.perturbations.len();
        let mut col = MetricTable {
            perturbations: table.perturbations.clone(),
            columns: vec![("pearson_edistance".into(), vec![Some(v); n])],
        };
        if table.perturbations.is_empty() {
            col.perturbations = rg
                .perturbations()
                .iter()
                .map(|&g| rg.names[g].clone())
                .collect();
        }
        table.extend(col)?;
    }
    if let Some(v) = clustering {
        let n = table.perturbations.len();
        table.extend(MetricTable {
            perturbations: table.perturbations.clone(),
            columns: vec![("clustering_agreement".into(), vec![Some(v); n])],
        })?;
    }
    Ok(table)
}

/// One side's DE table: read from a precomputed CSV (`-dr`/`-dp`), or computed here.
enum SideDe {
    Read(DeFrame),
    Computed(DeTable),
}

/// The DE-based metrics (the DE tables written to `staging`, their names pushed to `files`)
/// and the pseudobulk metrics of one context; returns them with clustering_agreement apart.
#[allow(clippy::too_many_arguments)]
fn de_and_bulk_metrics(
    opts: &RunOptions,
    real: (&Input, &AnnData),
    pred: (&Input, &AnnData),
    (rg, pg): (&Groups, &Groups),
    prefix: &str,
    staging: &Staging,
    files: &mut Vec<String>,
    computed: &[&str],
    ceiling: bool,
) -> Result<(MetricTable, Option<f64>)> {
    let genes = real.1.var_names();
    let mut table = MetricTable::default();
    if opts.profile.runs_de() {
        // A side's DE: read from `-dr`/`-dp`, or computed (and then written, unless this is a
        // ceiling half).
        let side =
            |given: &Option<PathBuf>, input: (&Input, &AnnData), g: &Groups| -> Result<SideDe> {
                match given.as_ref().filter(|_| !ceiling) {
                    Some(p) => Ok(SideDe::Read(DeFrame::read_csv(p)?)),
                    None => Ok(SideDe::Computed(differential_expression(
                        &input.1.x,
                        g,
                        genes,
                        &de_options(input.0, opts.epsilon, opts.cpm_filter),
                    )?)),
                }
            };
        let write = |name: &str, t: &SideDe| -> Result<bool> {
            match t {
                SideDe::Computed(t) if !ceiling => t.write_csv(&staging.path(name)).map(|_| true),
                _ => Ok(false),
            }
        };
        let made = |t: &SideDe| match t {
            SideDe::Computed(t) => Some(DeFrame::from_table(t)),
            SideDe::Read(_) => None,
        };
        let take = |t: SideDe, made: Option<DeFrame>| match (t, made) {
            (SideDe::Read(f), _) | (SideDe::Computed(_), Some(f)) => f,
            (SideDe::Computed(t), None) => DeFrame::from_table(&t),
        };
        let names = [
            format!("{prefix}real_de.csv"),
            format!("{prefix}pred_de.csv"),
        ];
        // The real table is written while the predicted one is computed, and the predicted
        // one while both are turned into frames (a file write keeps one core in the kernel).
        let real_t = side(&opts.de_real, real, rg)?;
        let (wrote_real, pred_t) = rayon::join(
            || write(&names[0], &real_t),
            || side(&opts.de_pred, pred, pg),
        );
        let (wrote_real, pred_t) = (wrote_real?, pred_t?);
        let (wrote_pred, (real_made, pred_made)) = rayon::join(
            || write(&names[1], &pred_t),
            || rayon::join(|| made(&real_t), || made(&pred_t)),
        );
        for (name, wrote) in names.into_iter().zip([wrote_real, wrote_pred?]) {
            if wrote {
                files.push(name);
            }
        }
        let (real_de, pred_de) = (take(real_t, real_made), take(pred_t, pred_made));
        table.extend(evaluate_de(&real_de, &pred_de)?)?;
    }
    // Pseudobulks only when a computed metric uses them (not for `--profile de`).
    let needs_bulks = computed.iter().any(|m| {
        *m != "pearson_edistance" && metric_kind(m) == Some(crate::profile::MetricKind::Anndata)
    });
    let mut clustering = None;
    if needs_bulks {
        let rb = Pseudobulks::from_csr(&real.1.x, rg, genes)?;
        let pb = Pseudobulks::from_csr(&pred.1.x, pg, genes)?;
        table.extend(evaluate_pseudobulk(&rb, &pb)?)?;
        // On X even with --embed-key (cell-eval passes the key to the discrimination scores
        // only); absent with fewer than 3 perturbations, as in cell-eval.
        clustering = computed
            .contains(&"clustering_agreement")
            .then(|| clustering_agreement(&rb, &pb, CLUSTERING_SEED))
            .flatten();
    }
    if let Some(key) = &opts.embed_key {
        // Both inputs were read with obsm[key] (checked there); cell-type contexts keep it.
        let (re, pe) = match (real.1.obsm.get(key), pred.1.obsm.get(key)) {
            (Some(r), Some(p)) => (r, p),
            _ => {
                return Err(CellEvalError::Option(format!(
                    "--embed-key: obsm['{key}'] missing"
                )))
            }
        };
        if re.ncols != pe.ncols {
            return Err(input_error(
                &pred.0.path,
                format!(
                    "obsm['{key}'] has {} columns, the real data's {}",
                    pe.ncols, re.ncols
                ),
            ));
        }
        let rb = Pseudobulks::from_dense(re, rg)?;
        let pb = Pseudobulks::from_dense(pe, pg)?;
        for (name, values) in embedding_discrimination(&rb, &pb) {
            table.replace(&name, values);
        }
    }
    Ok((table, clustering))
}

fn check_options(opts: &RunOptions) -> Result<()> {
    if opts.anchor || opts.anchor_base_seed != 0 || opts.anchor_splits != 5 {
        return Err(CellEvalError::Option(
            "--anchor (the replicate anchor) belongs to --profile vcc2026; cell-eval 0.8.2's profiles have --ceiling".into(),
        ));
    }
    if let Some(t) = opts.cpm_filter {
        if !t.is_finite() {
            return Err(CellEvalError::Option(format!(
                "--cpm-filter {t}: expected a finite CPM threshold"
            )));
        }
    }
    if opts.adata_pred.is_none() && !opts.ceiling {
        return Err(CellEvalError::Option(
            "--adata-pred is required unless --ceiling is passed (ceiling-only mode)".into(),
        ));
    }
    Ok(())
}

/// Runs the evaluation and writes the output directory.
pub fn run(opts: &RunOptions) -> Result<RunSummary> {
    if opts.profile == Profile::Vcc2026 {
        return with_threads(opts.num_threads, || crate::vcc2026::run(opts))?;
    }
    check_options(opts)?;
    with_threads(opts.num_threads, || run_inner(opts))?
}

/// An error unless `pred` has the genes of `real`, in the same order.
fn check_same_genes(real: &Input, pred: &Input) -> Result<()> {
    if real.adata.n_vars() != pred.adata.n_vars() {
        return Err(CellEvalError::GeneMismatch(format!(
            "{} has {} genes, {} has {}",
            real.path.display(),
            real.adata.n_vars(),
            pred.path.display(),
            pred.adata.n_vars()
        )));
    }
    if let Some(j) =
        (0..real.adata.n_vars()).find(|&j| real.adata.var_names()[j] != pred.adata.var_names()[j])
    {
        return Err(CellEvalError::GeneMismatch(format!(
            "gene {j} is '{}' in {} but '{}' in {} (same genes in the same order required)",
            real.adata.var_names()[j],
            real.path.display(),
            pred.adata.var_names()[j],
            pred.path.display()
        )));
    }
    Ok(())
}

/// What a run computed before its inputs' digests are recorded: the inputs, the record, the
/// staged files and the result tables.
struct Evaluated {
    real: Input,
    pred: Option<Input>,
    record: RunRecord,
    staging: Staging,
    files: Vec<String>,
    results: Vec<(Option<String>, MetricTable)>,
}

fn run_inner(opts: &RunOptions) -> Result<RunSummary> {
    // The inputs' SHA-256 digests are computed alongside the run (on a core left idle while
    // files are read and written, instead of after everything else).
    let digested: Vec<&Path> = std::iter::once(opts.adata_real.as_path())
        .chain(opts.adata_pred.as_deref())
        .chain(opts.de_real.as_deref())
        .chain(opts.de_pred.as_deref())
        .collect();
    let (evaluated, digests) = rayon::join(
        || evaluate_all(opts),
        || {
            digested
                .par_iter()
                .map(|p| sha256_file(p))
                .collect::<Vec<_>>()
        },
    );
    let Evaluated {
        real,
        pred,
        mut record,
        staging,
        mut files,
        results,
    } = evaluated?;
    let mut digests = digests.into_iter();
    let mut next_digest = || digests.next().expect("one digest per input path");
    record
        .inputs
        .push(record_of("adata_real", &real, next_digest()?));
    if let Some(pred) = &pred {
        record
            .inputs
            .push(record_of("adata_pred", pred, next_digest()?));
    }
    for (role, p) in [("de_real", &opts.de_real), ("de_pred", &opts.de_pred)] {
        if let Some(p) = p {
            record.inputs.push(InputRecord {
                role: role.into(),
                path: p.display().to_string(),
                sha256: next_digest()?,
                dtype: None,
                scale: None,
                shape: None,
                precision: None,
            });
        }
    }
    staging.write("conventions.json", &record.to_json())?;
    files.push("conventions.json".into());
    let outdir = staging.commit()?;
    Ok(RunSummary {
        outdir,
        files,
        results,
        record,
    })
}

/// Reads the inputs (both at once) and evaluates every context; the DE tables and results
/// are staged.
fn evaluate_all(opts: &RunOptions) -> Result<Evaluated> {
    let embed = opts.embed_key.as_deref();
    // Without a prediction (ceiling-only mode) only the data ceiling is computed.
    let (real, pred) = rayon::join(
        || read_input_with(&opts.adata_real, opts.allow_discrete, embed),
        || {
            opts.adata_pred
                .as_ref()
                .map(|p| read_input_with(p, opts.allow_discrete, embed))
                .transpose()
        },
    );
    let (real, pred) = (real?, pred?);
    if let Some(pred) = &pred {
        check_same_genes(&real, pred)?;
    }
    let ct = opts.celltype_col.as_deref();
    let real_ctx = contexts(&real.adata, &real.path, ct)?;
    let pred_ctx = match &pred {
        Some(p) => {
            let pc = contexts(&p.adata, &p.path, ct)?;
            if real_ctx.len() != pc.len() {
                return Err(CellEvalError::Input {
                    path: p.path.display().to_string(),
                    message: format!(
                        "number of cell types in real and pred must match: {} != {}",
                        real_ctx.len(),
                        pc.len()
                    ),
                });
            }
            Some((p, pc))
        }
        None => None,
    };

    let staging = Staging::new(&opts.outdir)?;
    let mut files = Vec::new();
    let computed = opts.profile.computed(&opts.skip_metrics);
    let mut record = RunRecord::new(
        "run",
        opts.profile.name(),
        Conventions::cell_eval_0_8_2(de_options(&real, opts.epsilon, opts.cpm_filter)),
    );
    if let Some(key) = &opts.embed_key {
        record.pseudobulk_space.push_str(&format!(
            "; discrimination_score_l2 and discrimination_score_cosine: per-perturbation mean of obsm['{key}'] (float32 as read, float64 sums), every embedding column kept (no target-gene exclusion), as cell-eval's --embed-key"
        ));
    }
    let mut results = Vec::new();
    let mut ceiling_dropped = 0usize;
    for (label, real_ad) in &real_ctx {
        let prefix = label
            .as_ref()
            .map(|l| format!("{}_", l.replace('/', "-")))
            .unwrap_or_default();
        if let Some((pred, pred_ctx)) = &pred_ctx {
            let pred_ad = match label {
                None => &pred_ctx[0].1,
                Some(l) => match pred_ctx.iter().find(|(p, _)| p.as_ref() == Some(l)) {
                    Some((_, a)) => a,
                    None => {
                        return Err(input_error(
                            &pred.path,
                            format!(
                                "cell type '{l}' of the real data is missing from the prediction"
                            ),
                        ))
                    }
                },
            };
            let all = evaluate_context(
                opts,
                (&real, real_ad),
                (pred, pred_ad),
                &prefix,
                &staging,
                &mut files,
                &computed,
                false,
            )?;
            let table = select_metrics(&all, &computed);
            for (name, text) in [
                (format!("{prefix}results.csv"), results_csv(&table)),
                (format!("{prefix}agg_results.csv"), agg_results_csv(&table)),
            ] {
                staging.write(&name, &text)?;
                files.push(name);
            }
            results.push((label.clone(), table));
        }
        if opts.ceiling {
            let (half_a, half_b, dropped) = disjoint_halves(
                real_ad,
                &real.path,
                &opts.pert_col,
                &opts.control_pert,
                opts.ceiling_seed,
            )?;
            if dropped > 0 {
                ceiling_dropped += dropped;
            }
            let all = evaluate_context(
                opts,
                (&real, &half_a),
                (&real, &half_b),
                &prefix,
                &staging,
                &mut files,
                &computed,
                true,
            )?;
            let table = select_metrics(&all, &computed);
            for (name, text) in [
                (format!("{prefix}ceiling_results.csv"), results_csv(&table)),
                (
                    format!("{prefix}agg_ceiling_results.csv"),
                    agg_ceiling_csv(&table),
                ),
            ] {
                staging.write(&name, &text)?;
                files.push(name);
            }
        }
        if let Some(l) = label {
            record.contexts.push(l.clone());
        }
    }

    if opts.ceiling {
        record.ceiling = Some(format!(
            "cell-eval 0.8.2 compute_ceiling, seed {}: the real cells of each perturbation (control included) permuted by numpy default_rng(seed).permutation, groups in pandas groupby order (category order for a categorical column, sorted labels otherwise); first floor(n/2) cells to one half, next floor(n/2) to the other ({} group(s) with < 2 cells dropped); the halves scored against each other with this run's metrics and DE settings (DE of the halves in memory, not written; -dr/-dp not used); agg_ceiling_results = mean over perturbations, 2r/(1+r) for r > 0 of {}, NaN otherwise",
            opts.ceiling_seed,
            ceiling_dropped,
            crate::ceiling::SPEARMAN_BROWN_METRICS.join(", ")
        ));
    }
    record.metrics = computed.iter().flat_map(|m| metric_columns(m)).collect();
    Ok(Evaluated {
        real,
        pred,
        record,
        staging,
        files,
        results,
    })
}
