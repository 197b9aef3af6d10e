# Shared prologue of the Python-comparison benchmarks; sourced, not run.
# bench_setup NAME PY_ENV PIP_SPEC WORK_DIR: sets `root` (the repository), `work` (WORK_DIR or
# bench-out/NAME, created), `py` (the interpreter named by the environment variable PY_ENV, or
# a venv under `work` with PIP_SPEC installed once) and `bin` (the release binary, built if
# missing; PERTURBENCH_BIN overrides it).
bench_setup() {
  local name="$1" py_env="$2" spec="$3" dir="${4:-}"
  root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
  work="${dir:-$root/bench-out/$name}"
  mkdir -p "$work"
  py="${!py_env:-$work/venv/bin/python}"
  if [ ! -x "$py" ]; then
    python3 -m venv "$work/venv"
    "$work/venv/bin/pip" install -q "$spec"
    py="$work/venv/bin/python"
  fi
  bin="${PERTURBENCH_BIN:-$root/target/release/perturbench}"
  [ -x "$bin" ] || (cd "$root" && cargo build --release -p perturbench)
}
