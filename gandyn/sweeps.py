"""Sweeps of a GAN game over loss × regularizer × method × step size × seed, written row
by row and resumable (`gandyn sweep` on the command line)."""

from ._sweep import (
    COLUMNS as COLUMNS,
    MAX_RUNS as MAX_RUNS,
    MAX_SEED as MAX_SEED,
    MAX_STEPS as MAX_STEPS,
    STATUSES as STATUSES,
    SweepSpec as SweepSpec,
    ranking as ranking,
    read_rows as read_rows,
    run_sweep as run_sweep,
)
