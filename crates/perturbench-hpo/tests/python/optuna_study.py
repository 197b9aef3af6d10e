"""Optuna's side of the interoperability tests; prints JSON on stdout.

    optuna_study.py dump URL STUDY       load the study; its trials, importances, plots
    optuna_study.py create URL STUDY N   create a study over perturbench's synthetic space
                                         and run N trials (plus one enqueued, left WAITING)
    optuna_study.py continue URL STUDY N run N more trials of an existing study
    optuna_study.py watch URL STUDY N [READY]
                                         read the study repeatedly until it has N finished
                                         trials (a reader next to running workers); creates
                                         the file READY once it reads
"""
import json
import math
import sys
import time

import optuna

optuna.logging.set_verbosity(optuna.logging.WARNING)


def storage_url(url):
    # SQLAlchemy's default PostgreSQL driver is psycopg 3; the tests install psycopg2.
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        try:
            import psycopg  # noqa: F401
        except ImportError:
            return "postgresql+psycopg2://" + url.split("://", 1)[1]
    return url


def number(v):
    if v is None:
        return None
    if math.isinf(v):
        return "inf" if v > 0 else "-inf"
    if math.isnan(v):
        return "nan"
    return v


def trial_json(t):
    return {
        "number": t.number,
        "state": t.state.name,
        "params": t.params,
        "distributions": {k: type(d).__name__ for k, d in t.distributions.items()},
        "value": number(t.value) if t.values is not None else None,
        "intermediate": [[s, number(v)] for s, v in sorted(t.intermediate_values.items())],
        "user_attrs": t.user_attrs,
        "started": t.datetime_start.isoformat() if t.datetime_start else None,
        "completed": t.datetime_complete.isoformat() if t.datetime_complete else None,
    }


def objective(trial):
    # perturbench tune --synthetic's function over its space.
    x = trial.suggest_float("x", 1e-4, 1.0, log=True)
    n = trial.suggest_int("n", 1, 9)
    c = trial.suggest_categorical("c", ["a", "b", "c"])
    for step in range(3):
        trial.report(float(step) + x, step)
    trial.set_user_attr("from", "optuna")
    return math.log(x / 1e-2) ** 2 / 4.0 + (n - 5.0) ** 2 / 8.0 + (0.0 if c == "b" else 1.0)


def main():
    cmd, url, name = sys.argv[1], storage_url(sys.argv[2]), sys.argv[3]
    if cmd == "dump":
        study = optuna.load_study(study_name=name, storage=url)
        out = {
            "direction": study.direction.name,
            "trials": [trial_json(t) for t in study.get_trials(deepcopy=False)],
            "importance": None,
            "plots": [],
        }
        complete = study.get_trials(states=(optuna.trial.TrialState.COMPLETE,))
        if len(complete) >= 2:
            out["importance"] = optuna.importance.get_param_importances(study)
            import optuna.visualization as vis

            for plot in (
                vis.plot_optimization_history,
                vis.plot_param_importances,
                vis.plot_intermediate_values,
                vis.plot_parallel_coordinate,
                vis.plot_slice,
            ):
                plot(study)
                out["plots"].append(plot.__name__)
            out["best_value"] = number(study.best_value)
            out["rows"] = len(study.trials_dataframe())
        print(json.dumps(out))
    elif cmd == "create":
        study = optuna.create_study(
            study_name=name, storage=url, direction="minimize",
            sampler=optuna.samplers.RandomSampler(seed=1),
        )
        study.optimize(objective, n_trials=int(sys.argv[4]))
        study.enqueue_trial({"x": 0.01, "n": 5, "c": "b"})
        print(json.dumps({"trials": [trial_json(t) for t in study.get_trials()]}))
    elif cmd == "continue":
        study = optuna.load_study(study_name=name, storage=url)
        study.optimize(objective, n_trials=int(sys.argv[4]))
        print(json.dumps({"trials": [trial_json(t) for t in study.get_trials()]}))
    elif cmd == "watch":
        want, reads, deadline = int(sys.argv[4]), 0, time.time() + 300
        ready = sys.argv[5] if len(sys.argv) > 5 else None
        while time.time() < deadline:
            if ready:
                optuna.storages.RDBStorage(url).get_all_studies()
                open(ready, "w").close()
                ready = None
            try:
                study = optuna.load_study(study_name=name, storage=url)
            except KeyError:
                time.sleep(0.1)  # not created yet
                continue
            trials = study.get_trials(deepcopy=False)
            study.trials_dataframe()
            reads += 1
            for t in trials:
                # What a worker has written is whole when Optuna sees it.
                if t.state == optuna.trial.TrialState.COMPLETE:
                    assert t.value is not None and len(t.params) == 3, t
                if t.state == optuna.trial.TrialState.RUNNING:
                    assert t.datetime_start is not None, t
            done = [t for t in trials if t.state.is_finished()]
            if len(done) >= want:
                print(json.dumps({"reads": reads, "finished": len(done)}))
                return
            time.sleep(0.1)
        sys.exit("timed out waiting for %d finished trials" % want)
    else:
        sys.exit("unknown command " + cmd)


if __name__ == "__main__":
    main()
