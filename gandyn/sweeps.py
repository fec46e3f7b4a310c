"""Sweeps of a GAN game over loss × regularizer × method × step size × seed, written row
by row and resumable (`gandyn sweep` on the command line); sweeps of training runs
(`TrainSweepSpec`); any sweep's share for one of several processes (`run_share`) and
the merge of every process's shards (`merge`)."""

from ._sweep import MAX_RUNS as MAX_RUNS, SweepSpec as SweepSpec
from ._sweep_grid import run_sweep as run_sweep
from ._sweep_results import (
    COLUMNS as COLUMNS,
    STATUSES as STATUSES,
    ranking as ranking,
    read_rows as read_rows,
)
from ._shards import merge as merge, run_share as run_share
from ._spec import MAX_SEED as MAX_SEED, MAX_STEPS as MAX_STEPS  # the same bounds as `simulate`
from ._train_sweep import TrainSweepSpec as TrainSweepSpec, final_metric as final_metric
