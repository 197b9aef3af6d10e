//! Models outside perturbench (`model=external`): a command in any language that reads the
//! training cells and the prediction requests as `.h5ad` files and writes one predicted cell
//! per request. The framework splits, samples the control cells, checks the command's output
//! and evaluates exactly as for its own models.
//!
//! The command is `model.command`, a shell command line in which `{train}`, `{requests}`,
//! `{out}` and `{params}` are replaced by (quoted) absolute paths:
//! - `{train}`: the training cells (X as in the data file; obs with the perturbation and
//!   covariate columns and every other obs column; var);
//! - `{requests}`: one row per cell to predict: the sampled control cell's expression, obs
//!   holding the target perturbation (in the perturbation column), its covariates, and
//!   `control_cell` (the control cell's name in the data file);
//! - `{out}`: where the command writes its predictions: an `.h5ad` with the requests' rows in
//!   the same order and the same genes (var names);
//! - `{params}`: a JSON file with every `model.*` setting except `command` and `timeout_s`
//!   (so that `tune` can search them).

use crate::error::{Context, Error, Result};
use crate::requests::{RequestRows, Requests};
use crate::run::Observer;
use perturbench_data::{Design, PerturbationSet};
use perturbench_io::{write_h5ad, AnnData, Column, Compression, H5adReader, Uns, WriteOptions};
use perturbench_models::config::ExternalConfig;
use perturbench_models::{Encoding, ModelError, PerturbationModel, Target};
use std::collections::{HashMap, VecDeque};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The obs column of the requests that names each row's control cell.
pub const CONTROL_CELL_COLUMN: &str = "control_cell";

/// The `uns` key of the exchanged files' design ([`design_uns`]).
pub const UNS_KEY: &str = "perturbench";

/// The files exchanged with an external model.
#[derive(Debug, Clone)]
pub struct ExchangeFiles {
    /// Training cells.
    pub train: PathBuf,
    /// Prediction requests.
    pub requests: PathBuf,
    /// The command's predictions.
    pub out: PathBuf,
    /// The `model.*` settings as JSON.
    pub params: PathBuf,
    /// The command's standard output and error.
    pub log: PathBuf,
}

impl ExchangeFiles {
    /// The files inside `dir`.
    pub fn in_dir(dir: &Path) -> ExchangeFiles {
        ExchangeFiles {
            train: dir.join("train.h5ad"),
            requests: dir.join("requests.h5ad"),
            out: dir.join("predictions.h5ad"),
            params: dir.join("params.json"),
            log: dir.join("command.log"),
        }
    }
}

/// The prediction requests as the `{requests}` file holds them: one row per control cell to
/// transform (X and var of `ad`), obs naming the target perturbation, its covariates and the
/// control cell; the requests of each target are returned too.
pub fn prediction_requests(
    ad: &AnnData,
    design: &Design,
    enc: &Encoding,
    requests: &Requests,
) -> Result<(AnnData, Vec<std::ops::Range<usize>>)> {
    let RequestRows { rows, ranges } = requests.rows(design)?;
    let (pert, covs) = request_columns(enc, &requests.targets, &ranges);
    let names = ad.obs_names();
    let control_names: Vec<&str> = rows.iter().map(|&r| names[r].as_str()).collect();
    let mut req = AnnData::new(
        ad.x.select_rows(&rows),
        (0..rows.len()).map(|i| format!("request-{i}")).collect(),
        ad.var_names().to_vec(),
    );
    req.var = ad.var.clone();
    req.obs.set_column(
        enc.perturbation_key.clone(),
        Column::categorical_from_strings(&pert),
    );
    for (k, key) in enc.covariate_keys.iter().enumerate() {
        req.obs
            .set_column(key.clone(), Column::categorical_from_strings(&covs[k]));
    }
    req.uns.insert(UNS_KEY.into(), design_uns(enc));
    req.obs.set_column(
        CONTROL_CELL_COLUMN,
        Column::categorical_from_strings(&control_names),
    );
    Ok((req, ranges))
}

/// The target perturbation and covariate values (per covariate key) of every request.
pub fn request_columns(
    enc: &Encoding,
    targets: &[Target],
    ranges: &[std::ops::Range<usize>],
) -> (Vec<String>, Vec<Vec<String>>) {
    let n = ranges.last().map_or(0, |r| r.end);
    let mut pert = Vec::with_capacity(n);
    let mut covs: Vec<Vec<String>> = vec![Vec::with_capacity(n); enc.covariate_keys.len()];
    for (t, range) in targets.iter().zip(ranges) {
        for _ in range.clone() {
            pert.push(t.perturbation.clone());
            for (k, v) in t.covariates.iter().enumerate() {
                covs[k].push(v.clone());
            }
        }
    }
    (pert, covs)
}

/// The design of the exchanged files, stored in their `uns["perturbench"]`: the
/// perturbation column, the control label, the combination delimiter and the covariate
/// columns.
pub fn design_uns(enc: &Encoding) -> Uns {
    Uns::Dict(
        [
            ("perturbation_key", Uns::Str(enc.perturbation_key.clone())),
            ("control", Uns::Str(enc.control.clone())),
            ("delimiter", Uns::Str(enc.delimiter.clone())),
            ("covariate_keys", Uns::StrList(enc.covariate_keys.clone())),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect(),
    )
}

/// `s` quoted for a POSIX shell.
fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// Refuses an external model's settings that cannot run: no command, no `{out}` in it, or a
/// timeout that is not a positive number of seconds.
pub fn check_config(cfg: &ExternalConfig) -> Result<()> {
    let template = &cfg.command;
    if template.trim().is_empty() {
        crate::bail!("config key model.command: empty; expected a command line such as \"python my_model.py {{train}} {{requests}} {{out}}\"");
    }
    if !template.contains("{out}") {
        crate::bail!("config key model.command = {template:?}: it must contain {{out}} (where the command writes its predictions)");
    }
    if !(cfg.timeout_s.is_finite() && cfg.timeout_s > 0.0) {
        crate::bail!(
            "config key model.timeout_s = {}: expected a positive number of seconds",
            cfg.timeout_s
        );
    }
    Ok(())
}

/// The command line with its placeholders replaced by the exchange files' paths.
pub fn command_line(template: &str, files: &ExchangeFiles) -> Result<String> {
    let abs = |p: &Path| -> Result<String> {
        let p = std::path::absolute(p)
            .with_context(|| format!("{}: cannot make the path absolute", p.display()))?;
        Ok(shell_quote(&p.display().to_string()))
    };
    Ok(template
        .replace("{train}", &abs(&files.train)?)
        .replace("{requests}", &abs(&files.requests)?)
        .replace("{out}", &abs(&files.out)?)
        .replace("{params}", &abs(&files.params)?))
}

/// Runs the command of `cfg` on the exchange files (written beforehand), showing its output
/// lines through `observer` and keeping them in `files.log`; an error with the output's last
/// lines when it fails, times out or writes no predictions.
pub fn run_command(
    cfg: &ExternalConfig,
    files: &ExchangeFiles,
    observer: &dyn Observer,
) -> Result<()> {
    check_config(cfg)?;
    let line = command_line(&cfg.command, files)?;
    let params = serde_json::to_string_pretty(&cfg.params)?;
    std::fs::write(&files.params, params)
        .with_context(|| format!("{}: cannot write", files.params.display()))?;
    observer.stage("running the external model");
    observer.info(&format!("external model: {line}"));
    let mut command = Command::new("sh");
    command.arg("-c").arg(&line);
    // Its own process group, so that a timeout stops the command's children too.
    #[cfg(unix)]
    std::os::unix::process::CommandExt::process_group(&mut command, 0);
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("model.command: cannot start `sh -c {line}`"))?;
    let log = Mutex::new(
        std::fs::File::create(&files.log)
            .with_context(|| format!("{}: cannot create", files.log.display()))?,
    );
    let tail = Mutex::new(VecDeque::<String>::new());
    let pipe = |r: Box<dyn std::io::Read + Send>| {
        for l in BufReader::new(r).lines().map_while(std::result::Result::ok) {
            observer.info(&format!("  | {l}"));
            let _ = writeln!(log.lock().unwrap(), "{l}");
            let mut t = tail.lock().unwrap();
            t.push_back(l);
            if t.len() > 20 {
                t.pop_front();
            }
        }
    };
    let stdout = child.stdout.take().expect("piped");
    let stderr = child.stderr.take().expect("piped");
    let deadline = Instant::now() + Duration::from_secs_f64(cfg.timeout_s);
    let status = std::thread::scope(|s| {
        s.spawn(|| pipe(Box::new(stdout)));
        s.spawn(|| pipe(Box::new(stderr)));
        loop {
            match child.try_wait() {
                Ok(Some(st)) => return Ok(Some(st)),
                Ok(None) if Instant::now() >= deadline => {
                    #[cfg(unix)]
                    // SAFETY: kill only sends a signal, to the group led by our child.
                    unsafe {
                        libc::kill(-(child.id() as i32), libc::SIGKILL);
                    }
                    let _ = child.kill();
                    let _ = child.wait();
                    return Ok(None);
                }
                Ok(None) => std::thread::sleep(Duration::from_millis(100)),
                Err(e) => return Err(e),
            }
        }
    })
    .context("model.command: waiting for the command")?;
    let last = tail.into_inner().unwrap().into_iter().collect::<Vec<_>>();
    let output = if last.is_empty() {
        "it printed nothing".to_string()
    } else {
        format!("its last output lines:\n{}", last.join("\n"))
    };
    match status {
        None => crate::bail!(
            "model.command timed out after {} s (model.timeout_s): `{line}`; {output}",
            cfg.timeout_s
        ),
        Some(st) if !st.success() => {
            crate::bail!("model.command failed ({st}): `{line}`; {output}")
        }
        Some(_) if !files.out.exists() => crate::bail!(
            "model.command succeeded but wrote no predictions to {} ({{out}}): `{line}`; {output}",
            files.out.display()
        ),
        Some(_) => Ok(()),
    }
}

/// Reads and checks the command's predictions against the requests: as many rows, the same
/// genes in the same order, finite values.
pub fn read_predictions(out: &Path, requests: &AnnData) -> Result<perturbench_io::Csr> {
    let name = out.display().to_string();
    let reader = H5adReader::open(out)
        .with_context(|| format!("{name} (the external model's predictions)"))?;
    let var = reader.read_frame("var")?;
    let x = reader.read_matrix("X")?;
    if x.nrows() != requests.n_obs() {
        crate::bail!(
            "{name}: {} predicted cells, expected one per request ({} rows, in the requests' order)",
            x.nrows(),
            requests.n_obs()
        );
    }
    if var.index != requests.var_names() {
        let first = var
            .index
            .iter()
            .zip(requests.var_names())
            .position(|(a, b)| a != b);
        crate::bail!(
            "{name}: its genes (var names, {}) differ from the requests' ({}){}; write the requests' var as it is",
            var.index.len(),
            requests.n_vars(),
            first
                .map(|i| format!(": position {i} is '{}', expected '{}'", var.index[i], requests.var_names()[i]))
                .unwrap_or_default()
        );
    }
    if let Some(i) = x.data().iter().position(|v| !v.is_finite()) {
        crate::bail!(
            "{name}: X holds a non-finite value ({}) ; predictions must be finite",
            x.data()[i]
        );
    }
    Ok(x)
}

/// An external model's predictions, served to the prediction step as a fitted model: each
/// target's block of predicted cells, in the order the targets are predicted.
pub struct ExternalPredictions {
    blocks: Mutex<HashMap<TargetKey, VecDeque<Vec<Vec<f32>>>>>,
}

/// A target as the prediction step names it: its singles (encoding positions) and covariates.
type TargetKey = (Vec<usize>, Vec<String>);

impl ExternalPredictions {
    /// The blocks of `x` (rows `ranges[i]` for `targets[i]`).
    pub fn new(
        x: &perturbench_io::Csr,
        enc: &Encoding,
        targets: &[Target],
        ranges: &[std::ops::Range<usize>],
    ) -> Result<ExternalPredictions> {
        let spec = enc.spec();
        let mut blocks: HashMap<_, VecDeque<_>> = HashMap::new();
        for (t, r) in targets.iter().zip(ranges) {
            let set = PerturbationSet::parse(&t.perturbation, &spec)
                .map_err(|e| Error::msg(format!("perturbation '{}': {e}", t.perturbation)))?;
            let singles = enc.singles(&set)?;
            let cells: Vec<Vec<f32>> = r
                .clone()
                .map(|i| {
                    let (idx, vals) = x.row(i);
                    let mut cell = vec![0f32; x.ncols()];
                    for (&j, &v) in idx.iter().zip(vals) {
                        cell[j as usize] = v;
                    }
                    cell
                })
                .collect();
            blocks
                .entry((singles, t.covariates.clone()))
                .or_default()
                .push_back(cells);
        }
        Ok(ExternalPredictions {
            blocks: Mutex::new(blocks),
        })
    }
}

impl PerturbationModel for ExternalPredictions {
    fn name(&self) -> &str {
        "external"
    }
    fn parallel(&self) -> bool {
        false // blocks are handed out in the targets' order
    }
    fn predict(
        &self,
        singles: &[usize],
        covariates: &[String],
        controls: &[Vec<f32>],
    ) -> std::result::Result<Vec<Vec<f32>>, ModelError> {
        let mut b = self.blocks.lock().unwrap();
        let cells = b
            .get_mut(&(singles.to_vec(), covariates.to_vec()))
            .and_then(|q| q.pop_front())
            .ok_or_else(|| ModelError::Target("no external prediction for this target".into()))?;
        if cells.len() != controls.len() {
            return Err(ModelError::Shape(format!(
                "{} external predictions for {} control cells",
                cells.len(),
                controls.len()
            )));
        }
        Ok(cells)
    }
}

/// Writes the training cells and the requests, runs the command and reads its predictions:
/// the fitted model of the prediction step.
#[allow(clippy::too_many_arguments)]
pub fn predict_external(
    cfg: &ExternalConfig,
    dir: &Path,
    ad: &AnnData,
    train_rows: &[usize],
    design: &Design,
    enc: &Encoding,
    requests: &Requests,
    observer: &dyn Observer,
) -> Result<ExternalPredictions> {
    std::fs::create_dir_all(dir).with_context(|| format!("{}: cannot create", dir.display()))?;
    let files = ExchangeFiles::in_dir(dir);
    let opts = WriteOptions {
        compression: Compression::None,
    };
    observer.stage("writing the external model's inputs");
    let mut train = ad.select_obs(train_rows);
    train.obsm.clear();
    train.uns = [(UNS_KEY.to_string(), design_uns(enc))].into();
    write_h5ad(&files.train, &train, &opts)?;
    drop(train);
    let (req, ranges) = prediction_requests(ad, design, enc, requests)?;
    write_h5ad(&files.requests, &req, &opts)?;
    run_command(cfg, &files, observer)?;
    let x = read_predictions(&files.out, &req)?;
    let model = ExternalPredictions::new(&x, enc, &requests.targets, &ranges)?;
    // The exchanged matrices are not kept (the log and the parameters are).
    for p in [&files.train, &files.requests, &files.out] {
        let _ = std::fs::remove_file(p);
    }
    Ok(model)
}
