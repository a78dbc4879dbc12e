"""``search:`` sweeps: Optuna proposes the settings and learns from each trial's days.

Trials are asked in batches of ``batch``: a batch's runs (trial x day) go to the sweep's long-lived
workers together, and once all of them are in, its trials are told in trial order. So what a seed
proposes depends on the seed, the space and the results only, never on the number of workers or
on which run finished first.

A resumed search needs no Optuna storage: the study lives in memory and is asked and told again
from trial 0. The same seed proposes the same settings, their runs are found in the results by
run key (not run again) and told the values read back from the same rows, so the study reaches
the state it had when it stopped and goes on from there. The results table stays the one truth:
no study file can be a row ahead of it or behind. (A run that failed has no row: it is retried on
resume, and if it succeeds then, the trials after it may differ from the first attempt's.)
"""
from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from ..config.schema.parameters import INT_PARAMETERS
from .objective import judge
from .settings import Setting, SettingError
from .spec import Search, Sweep

if TYPE_CHECKING:
    import optuna

    from .runner import Plan, Runs
    from .store import SweepStore

def distributions(search: Search) -> dict[str, "optuna.distributions.BaseDistribution"]:
    from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

    out: dict[str, Any] = {}
    for name, space in sorted(search.params.items()):
        if space.choices is not None:
            out[name] = CategoricalDistribution(tuple(space.choices))
        elif name in INT_PARAMETERS:
            assert space.low is not None and space.high is not None, "checked by SearchRange"
            out[name] = IntDistribution(int(space.low), int(space.high), log=space.log, step=int(space.step or 1))
        else:
            assert space.low is not None and space.high is not None, "checked by SearchRange"
            out[name] = FloatDistribution(float(space.low), float(space.high), log=space.log,
                                          step=None if space.step is None else float(space.step))
    return out


def corner_settings(sweep: Sweep) -> list[Setting]:
    """The space's lowest and highest values at once: the settings a plan checks before a search
    starts (a t_hedge_ms range reaching risk.max_unhedged_ms is refused there, not at trial 17)."""
    assert sweep.search is not None
    ends: dict[str, tuple[int | float, int | float]] = {}
    for name, space in sweep.search.params.items():
        values = space.choices if space.choices is not None else [space.low, space.high]
        ends[name] = (min(v for v in values if v is not None), max(v for v in values if v is not None))
    return [sweep.setting({name: e[i] for name, e in ends.items()}) for i in (0, 1)]


def trial_setting(sweep: Sweep, params: dict[str, Any]) -> Setting:
    """The setting of a trial's parameters; float noise of a stepped range (0.30000000000000004)
    is cut to 6 significant digits so labels and ``--set`` stay readable and exact."""
    return sweep.setting({k: (int(v) if k in INT_PARAMETERS else float(f"{v:.6g}")) for k, v in params.items()})


def new_study(sweep: Sweep) -> "optuna.Study":
    import optuna

    search, objective = sweep.search, sweep.model.objective
    assert search is not None
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    sampler: optuna.samplers.BaseSampler
    if search.sampler == "random":
        sampler = optuna.samplers.RandomSampler(seed=search.seed)
    else:
        startup: dict[str, Any] = {} if search.startup_trials is None else {"n_startup_trials": search.startup_trials}
        sampler = optuna.samplers.TPESampler(
            seed=search.seed, constant_liar=True,       # a batch's pending trials steer the next ask away
            **startup)
    return optuna.create_study(study_name=sweep.name, sampler=sampler,
                               direction="maximize" if objective.maximize else "minimize")


def run_search(plan: "Plan", store: "SweepStore", runs: "Runs") -> None:
    """Ask, run and tell every trial of the plan's search (see the module's docstring)."""
    from optuna.trial import TrialState

    sweep = plan.sweep
    search = sweep.search
    assert search is not None
    study = new_study(sweep)
    space = distributions(search)
    store.clear_trials(sweep.name)
    while len(study.trials) < search.trials:
        batch = [study.ask(space) for _ in range(min(search.batch, search.trials - len(study.trials)))]
        settings = [trial_setting(sweep, t.params) for t in batch]
        specs: dict[int, list] = {}
        for trial, setting in zip(batch, settings):
            try:
                specs[trial.number] = plan.runs_for(setting)
            except SettingError:
                specs[trial.number] = []          # told as failed below
        runs.run(plan.day_by_day([s for group in specs.values() for s in group]),
                 pool_size=search.batch * len(plan.dates))
        for trial, setting in zip(batch, settings):
            keys = {s.key for s in specs[trial.number]}
            rows = store.rows(sweep.name, keys) if keys else []
            value, violations, breaches = judge(rows, sweep.model.objective)
            complete = bool(keys) and len(rows) == len(keys) and value is not None
            if complete:
                for name, violation in zip(sweep.model.objective.constraints, violations):
                    trial.set_constraint(name, violation)   # > 0: infeasible (TPE models it apart)
                study.tell(trial, value)
            else:
                study.tell(trial, state=TrialState.FAIL)
            store.set_trial({"sweep_id": sweep.name, "trial": trial.number, "setting": setting.label(),
                             "setting_json": json.dumps(setting.as_json(), sort_keys=True),
                             "state": "complete" if complete else "failed", "value": value if complete else None,
                             "feasible": complete and not breaches})
