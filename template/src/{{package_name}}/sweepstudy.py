"""A sweep's study and its storage: made and filled once, claimed trial by trial by any
number of workers (here or on other machines), with heartbeats, and a dead worker's trial
queued again."""

from __future__ import annotations

import itertools
import os
import socket
import threading
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import optuna
from optuna.trial import FrozenTrial, TrialState

from . import task
from .errors import ConfigError

optuna.logging.set_verbosity(optuna.logging.WARNING)
warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)

HEARTBEAT = 10  # seconds between a running trial's signs of life in the storage
WORKER = f"{socket.gethostname()}:{os.getpid()}"  # who runs a trial (to spot dead workers)


def open_study(name: str, url: str, plan: dict[str, Any] | None) -> optuna.Study:
    """The study `name` in `url`: made and filled when new (plan given), else checked
    against `plan`; a worker (plan None) takes the study as it is."""
    try:
        storage = optuna.storages.RDBStorage(
            url,
            heartbeat_interval=HEARTBEAT,
            grace_period=6 * HEARTBEAT,
            heartbeat_stale_trial_callback=optuna.storages.RetryHeartbeatStaleTrialCallback(),
        )
    except Exception as err:  # a bad URL, a missing driver, a server that is not there
        cause = err.__cause__ or err  # e.g. the database driver that is not installed
        reason = str(cause).strip().splitlines()[0] if str(cause).strip() else type(err).__name__
        raise ConfigError(f"Cannot open the sweep storage {url}: {reason}") from None
    direction = "maximize" if task.HIGHER_IS_BETTER else "minimize"
    # steps are epochs (from 1): the first is never judged, and nothing before 3 finished trials
    pruner = optuna.pruners.MedianPruner(n_startup_trials=3, n_warmup_steps=2)
    kind = dict(storage=storage, sampler=optuna.samplers.TPESampler(), pruner=pruner)
    try:
        study = optuna.create_study(study_name=name, direction=direction, **kind)  # type: ignore[arg-type]
    except optuna.exceptions.DuplicatedStudyError:
        study = optuna.load_study(study_name=name, **kind)  # type: ignore[arg-type]
    else:
        if plan is None:  # a --worker started before its sweep: leave no empty study
            optuna.delete_study(study_name=name, storage=storage)
            raise ConfigError(f"There is no sweep named {name!r} in {url}.")
        study.set_user_attr("plan", plan)
        enqueue(study, plan)
        return study
    for _ in range(50):  # a study made a moment ago by another machine gets its plan
        if "plan" in study.user_attrs or plan is None:
            break
        time.sleep(0.1)
    if plan is not None and study.user_attrs.get("plan") != plan:
        raise ConfigError(
            f"A sweep named {name!r} exists in {url} with other parameters; choose another "
            "--name, or repeat its own arguments to continue it."
        )
    return study


def enqueue(study: optuna.Study, plan: dict[str, Any]) -> None:
    """The grid (x seeds) as enqueued trials; a search as `trials` empty slots."""
    if plan["search"]:
        for _ in range(plan["trials"]):
            study.enqueue_trial({})
        return
    keys = list(plan["grid"])
    for values in itertools.product(*plan["grid"].values()):
        study.enqueue_trial(dict(zip(keys, values, strict=True)))


def storage_of(study: optuna.Study) -> Any:
    """The study's storage (RDBStorage behind Optuna's cache): claims and heartbeats."""
    return study._storage


def requeue_dead(study: optuna.Study) -> None:
    """Trials left running by a worker of this machine that is gone: failed, queued again."""
    host = socket.gethostname()
    for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        owner, _, pid = str(trial.user_attrs.get("worker", "")).rpartition(":")
        if owner == host and pid.isdigit() and not _alive(int(pid)):
            fail_and_requeue(study, trial)


def fail_and_requeue(study: optuna.Study, trial: FrozenTrial) -> None:
    storage = storage_of(study)
    try:
        if not storage.set_trial_state_values(trial._trial_id, state=TrialState.FAIL):
            return
    except optuna.exceptions.UpdateFinishedTrialError:
        return
    optuna.storages.RetryHeartbeatStaleTrialCallback()(study, storage.get_trial(trial._trial_id))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def claim(study: optuna.Study) -> optuna.Trial | None:
    """A waiting trial, now running and ours; None when the queue is empty."""
    optuna.storages.fail_stale_trials(study)  # other machines' dead workers
    storage = storage_of(study)
    for frozen in study.get_trials(deepcopy=False, states=(TrialState.WAITING,)):
        try:
            if storage.set_trial_state_values(frozen._trial_id, state=TrialState.RUNNING):
                trial = optuna.Trial(study, frozen._trial_id)
                trial.set_user_attr("worker", WORKER)
                return trial
        except optuna.exceptions.UpdateFinishedTrialError:
            continue  # another worker took it and finished it meanwhile
    return None


@contextmanager
def heartbeat(study: optuna.Study, trial: optuna.Trial) -> Iterator[None]:
    """Signs of life while the trial trains, so other machines see when it died."""
    done = threading.Event()

    def beat() -> None:
        while True:
            storage_of(study).record_heartbeat(trial._trial_id)
            if done.wait(HEARTBEAT):
                return

    thread = threading.Thread(target=beat, daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join()
