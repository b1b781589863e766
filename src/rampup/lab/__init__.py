"""The warmup lab: real training runs that show what warmup does (``rampup lab``, ``rampup demo``).

Tasks, trials and sweeps need PyTorch (``pip install 'rampup[torch]'``); it is imported only when a
trial runs. The report needs matplotlib (``pip install 'rampup[plot]'``). See docs/lab.md.
"""

from rampup.lab.custom import LabTask
from rampup.lab.result import TrialConfig, TrialResult
from rampup.lab.runner import SweepSummary, plan_trials, run_sweep, run_trial, schedule_for
from rampup.lab.store import DEFAULT_DB, Store, TrialRow
from rampup.lab.tasks import TASKS, OptimizerSettings, Task, get_task

__all__ = [
    "DEFAULT_DB",
    "TASKS",
    "LabTask",
    "OptimizerSettings",
    "Store",
    "SweepSummary",
    "Task",
    "TrialConfig",
    "TrialResult",
    "TrialRow",
    "get_task",
    "plan_trials",
    "run_sweep",
    "run_trial",
    "schedule_for",
]
