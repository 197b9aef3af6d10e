//! `perturbench._native`: the `perturbench` command line inside Python, and `evaluate` /
//! `split` on in-memory AnnData objects. The pure-Python package (`python/perturbench`)
//! builds the API on it.

mod api;
mod memory;

use pyo3::exceptions::{PyFileNotFoundError, PyKeyError, PyValueError};
use pyo3::prelude::*;
use std::path::PathBuf;

/// Phrases of the libraries' messages about a missing obs column or key.
const MISSING_KEY: [&str; 3] = ["has no column", "no obs column", "not found in obs"];

/// Maps a command's error to the Python exception carrying the CLI's message: a missing file
/// is `FileNotFoundError`, a missing obs column or key `KeyError`, anything else `ValueError`.
pub(crate) fn to_py_err(e: anyhow::Error) -> PyErr {
    let msg = format!("{e:#}");
    let not_found = e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::NotFound)
    }) || msg.contains("No such file");
    if not_found {
        PyFileNotFoundError::new_err(msg)
    } else if MISSING_KEY.iter().any(|m| msg.contains(m)) {
        PyKeyError::new_err(msg)
    } else {
        PyValueError::new_err(msg)
    }
}

/// Runs a `perturbench` command line (`argv[0]` is the program name) without the GIL.
/// Returns `(code, text, is_error)`: code 0 and no text when the command ran; clap's text
/// (help, version, usage error) and exit code otherwise. Raises the command's error as an
/// exception carrying the CLI's message.
#[pyfunction]
fn run(py: Python<'_>, argv: Vec<String>) -> PyResult<(i32, String, bool)> {
    match py.detach(|| perturbench::run_argv(argv)) {
        Ok(perturbench::Outcome::Done) => Ok((0, String::new(), false)),
        Ok(perturbench::Outcome::Clap(e)) => {
            Ok((e.exit_code(), e.render().to_string(), e.use_stderr()))
        }
        Err(e) => Err(to_py_err(e)),
    }
}

/// Runs a `perturbench` command line like the binary (prints errors, returns the exit code).
#[pyfunction]
fn main(py: Python<'_>, argv: Vec<String>) -> i32 {
    py.detach(|| perturbench::main_argv(argv))
}

/// Sets the command that re-runs perturbench for tune/benchmark/worker trials, e.g.
/// `[sys.executable, "-m", "perturbench"]`. Only the first call counts.
#[pyfunction]
fn set_self_command(command: Vec<String>) -> PyResult<()> {
    let mut it = command.into_iter();
    let exe = it
        .next()
        .ok_or_else(|| PyValueError::new_err("the self command is empty"))?;
    perturbench::set_self_command(perturbench::SelfCommand {
        exe: PathBuf::from(exe),
        prefix: it.map(Into::into).collect(),
    });
    Ok(())
}

/// The native module.
#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(run, m)?)?;
    m.add_function(wrap_pyfunction!(main, m)?)?;
    m.add_function(wrap_pyfunction!(set_self_command, m)?)?;
    m.add_function(wrap_pyfunction!(api::evaluate, m)?)?;
    m.add_function(wrap_pyfunction!(api::split, m)?)?;
    m.add_function(wrap_pyfunction!(api::prediction_requests, m)?)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
