//! The command that runs this program again: trials of tune, benchmark and worker are child
//! processes `SELF train --config FILE --out DIR`. For the binary that is its own executable;
//! under Python it is `[python, -m, perturbench]`, which the Python module sets.

use anyhow::Context;
use std::ffi::OsString;
use std::path::PathBuf;
use std::sync::OnceLock;

/// A program and the arguments that precede the subcommand.
#[derive(Debug, Clone)]
pub struct SelfCommand {
    /// The executable.
    pub exe: PathBuf,
    /// Arguments before `train` (e.g. `-m perturbench`).
    pub prefix: Vec<OsString>,
}

static SELF_COMMAND: OnceLock<SelfCommand> = OnceLock::new();

/// Sets the command that runs this program again (once per process; later calls are ignored).
pub fn set_self_command(cmd: SelfCommand) {
    let _ = SELF_COMMAND.set(cmd);
}

/// The command set by [`set_self_command`], or this executable.
pub fn self_command() -> anyhow::Result<SelfCommand> {
    if let Some(c) = SELF_COMMAND.get() {
        return Ok(c.clone());
    }
    let exe = std::env::current_exe().context("cannot locate the perturbench executable")?;
    Ok(SelfCommand {
        exe,
        prefix: Vec::new(),
    })
}
