//! The `perturbench` command: wiring of the perturbench libraries behind one CLI. The binary
//! (`main.rs`) and the Python module (`perturbench-py`) both run it through [`run_argv`].

mod commands;
mod progress;
mod self_command;

pub use self_command::{set_self_command, SelfCommand};

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};

/// PerturBench in Rust: benchmark models that predict single-cell perturbation responses.
#[derive(Parser, Debug)]
#[command(name = "perturbench", version, about, propagate_version = true)]
struct Cli {
    /// No progress bars or tables on the terminal (errors are still printed).
    #[arg(long, global = true)]
    quiet: bool,
    /// Number of worker threads (default: all cores).
    #[arg(long, global = true, value_name = "N")]
    threads: Option<usize>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Write a simulated perturbation dataset with known ground truth to an .h5ad file.
    Simulate(commands::simulate::Args),
    /// Describe an .h5ad file: shape, encodings, obs columns and the perturbation design.
    Inspect(commands::inspect::Args),
    /// PerturBench's preprocessing: filter, normalise, log1p, HVGs, DEGs per covariate.
    Preprocess(Box<commands::preprocess::Args>),
    /// Label cells train/val/test for a benchmark task (PerturBench's splitters).
    Split(Box<commands::split::Args>),
    /// Score predictions against observed cells (PerturBench's aggregations, metrics, ranks).
    Evaluate(Box<commands::evaluate::Args>),
    /// Split, fit a model on train, predict the evaluation split from its controls, and score it.
    #[command(args_override_self = true)]
    Train(Box<perturbench_experiment::flags::TrainArgs>),
    /// Predict perturbed cells with a saved model for a table of targets.
    Predict(commands::predict::Args),
    /// Tune a model's hyper-parameters (TPE or random search; SQLite or PostgreSQL store).
    #[command(args_override_self = true)]
    Tune(Box<perturbench_experiment::orchestra::TuneOptions>),
    /// Run trials and benchmark jobs from a store until none are left (any number of machines).
    Worker(perturbench_experiment::orchestra::WorkerOptions),
    /// Run a benchmark suite (models × datasets × tasks × seeds); leaderboard and report.
    #[command(args_override_self = true)]
    Benchmark(perturbench_experiment::orchestra::BenchmarkOptions),
    /// Write a self-contained HTML report from output directories.
    Report(commands::report::Args),
    /// The whole pipeline on small simulated datasets in a few minutes, with a report.
    Demo(commands::demo::Args),
    /// Measure perturbench on standard workloads (see bench/ for the side-by-side scripts).
    #[command(subcommand)]
    Bench(commands::bench::BenchCommand),
    /// cell-eval 0.8.2's command line (run, baseline, score): same flags, same files.
    #[command(subcommand, name = "cell-eval")]
    CellEval(commands::cell_eval::CellEvalCommand),
}

/// Settings every command receives.
#[derive(Debug, Clone, Copy)]
pub struct Global {
    /// Suppress progress bars and tables.
    pub quiet: bool,
}

fn dispatch(cli: Cli, matches: &clap::ArgMatches) -> anyhow::Result<()> {
    if let Some(n) = cli.threads {
        if n == 0 {
            anyhow::bail!("--threads must be at least 1");
        }
        rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .build_global()
            .map_err(|e| anyhow::anyhow!("cannot start {n} threads: {e}"))?;
    }
    let g = Global { quiet: cli.quiet };
    match cli.command {
        Command::Simulate(a) => commands::simulate::run(a, g),
        Command::Inspect(a) => commands::inspect::run(a, g),
        Command::Split(a) => commands::split::run(*a, g),
        Command::Preprocess(a) => commands::preprocess::run(*a, g),
        Command::Evaluate(a) => commands::evaluate::run(*a, g),
        Command::Train(a) => {
            let m = matches
                .subcommand_matches("train")
                .expect("the train subcommand was parsed");
            commands::train::run(*a, m, g)
        }
        Command::Predict(a) => commands::predict::run(a, g),
        Command::Tune(a) => commands::tune::run(*a, g),
        Command::Worker(a) => commands::worker::run(a, g),
        Command::Benchmark(a) => commands::benchmark::run(a, g),
        Command::Report(a) => commands::report::run(a, g),
        Command::Demo(a) => commands::demo::run(a, g),
        Command::Bench(b) => commands::bench::run(b, g),
        Command::CellEval(c) => commands::cell_eval::run(c, g),
    }
}

/// How a command line ended.
#[derive(Debug)]
pub enum Outcome {
    /// The command ran to completion.
    Done,
    /// clap answered the command line itself (`--help`, `--version`, a usage error).
    Clap(clap::Error),
}

/// Runs the command line `argv` (`argv[0]` is the program name). Errors are the command's
/// errors (printed by the binary as `error: {e:#}`).
pub fn run_argv(argv: Vec<String>) -> anyhow::Result<Outcome> {
    let argv = commands::cell_eval::expand_short_flags(argv);
    let matches = match Cli::command().try_get_matches_from(argv) {
        Ok(m) => m,
        Err(e) => return Ok(Outcome::Clap(e)),
    };
    let cli = match Cli::from_arg_matches(&matches) {
        Ok(c) => c,
        Err(e) => return Ok(Outcome::Clap(e)),
    };
    dispatch(cli, &matches)?;
    Ok(Outcome::Done)
}

/// Runs the command line like the `perturbench` binary: prints clap's answers and errors,
/// returns the process exit code.
pub fn main_argv(argv: Vec<String>) -> i32 {
    match run_argv(argv) {
        Ok(Outcome::Done) => 0,
        Ok(Outcome::Clap(e)) => {
            // clap styles the text only on a terminal, as the binary always did.
            let _ = e.print();
            e.exit_code()
        }
        Err(e) => {
            eprintln!("error: {e:#}");
            1
        }
    }
}
