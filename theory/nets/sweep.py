"""Where do the paper's claims hold for small networks? A sweep of teacher–student settings (claims C1, C2, C3, C5).

``python -m theory.nets.sweep --grid NAME --out DIR [--seeds N] [--workers W | --scheduler ADDRESS | --slurm …]``
trains, for every :class:`Setting` of a grid and seed, a one-hot teacher (seed 100·s), and with seed 100·s + 1 a
distilled student, a one-hot *control* (the student's seed and budget without a teacher), a late student
(one-hot → KD at half its epochs) and an early student (KD → one-hot at half its epochs), then measures them
(:mod:`theory.nets.outcome`). Runs go to the run store ``--runs DIR`` (default ``<out>/runs``; give a figure and a
sweep the same ``--runs`` to share runs) and are reused. It writes ``sweep.json`` (every number), ``sweep.md``
(the table) and ``sweep.csv`` (one line per setting × seed × run; :func:`theory.nets.sweep_table.read_table`)
into ``--out``, after every completed setting.

Where it runs (:mod:`theory.engine`, guide in docs/sweeps.md): ``--workers W`` worker processes on this machine
(default: one per GPU, else one per core; ``--workers 1`` runs here, as a sequential sweep), ``--scheduler
ADDRESS`` an existing Dask cluster, ``--slurm`` SLURM jobs. The runs form a task graph: each run is a task keyed
``run-<config hash>``, a student's depending on its teacher's (the control has no teacher), and each setting and
seed a ``measure`` task depending on its five runs. A teacher shared by several settings is one task; should two
processes still ask for one run, the store's claim makes one train it while the other waits. A failed run is
reported (``sweep.md``, ``sweep.csv``, the rows' ``errors``) and the rest goes on.

Measured per setting (means over seeds):

* C1 — OLS slope of φ(p_student) on φ(p_teacher), teacher's top-1 class (:func:`theory.metrics.exaggeration`),
  train and test; and the same slope for the one-hot control against the teacher (two independently trained
  networks: the regression-dilution baseline, < 1 whenever the two disagree at random). Holds: test slope > 1.
* C2 — gain of KD over the control, and the fraction of it the late student recovers,
  (acc_late − acc_control) / (acc_KD − acc_control) (and the fraction the early student keeps). Holds: recovered
  ≥ ½; not judged (–) when the KD gain is below :data:`MIN_GAIN`.
* C3 — at equal progress on the top-10 eigendirections of an RBF input kernel on ``track_points`` training points,
  the bottom (20–100) progress of the one-hot control minus the student's (:func:`~theory.metrics
  .matched_deficit`). Holds: ≥ 80 % of matched points have a positive deficit.
* C5 — student test accuracy minus teacher test accuracy, beside the teacher's training accuracy (the confounder).
"""
from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import os
import sys
import warnings
from pathlib import Path

from ..engine import SchedulerUnreachable, Task, exit_once, open_client, run_graph, task_resources
from .grids import GRIDS, with_data_dir
from .outcome import MIN_GAIN, claims, configs_for, finite_mean, markdown, measure, verdicts
from .store import Run
from .sweep_table import read_table, write_files
from .training import train

__all__ = ["GRIDS", "configs_for", "measure", "claims", "run_sweep", "sweep_settings", "SweepResult",
           "sweep_graph", "run_task", "measure_task", "read_table", "build_parser", "runs_dir", "main", "MIN_GAIN",
           "markdown", "ROLES"]

_verdicts = verdicts  # the old private name (tests, notebooks)

#: the runs of one setting and seed, in the order of :func:`~theory.nets.outcome.configs_for`.
ROLES = ("teacher", "student", "control", "late", "early")
_NUMBERS = ("train_accuracy", "train_accuracy_clean", "test_accuracy", "test_nll", "train_loss")


def run_task(config, run_dir, progress: bool = False, fault_marker=None) -> dict:
    """Trains (or reuses) one run into the store; its final numbers (what a ``run-<hash>`` task returns).

    ``fault_marker`` (fault injection, tests): this process exits abruptly after the run's first checkpoint,
    holding its claim, unless the file ``fault_marker`` exists (:func:`theory.engine.exit_once`, which writes
    the run's metrics at that moment into it).
    """
    if fault_marker is not None and not os.path.exists(fault_marker):
        _exit_after_first_checkpoint(fault_marker)
    run = train(config, run_dir, progress=progress)
    summary = run.summary()
    final = summary["final"]
    return dict(hash=run.hash, epochs=summary["epochs"], best_test_accuracy=summary["best_test_accuracy"],
                seconds_total=summary["seconds_total"], **{k: final[k] for k in _NUMBERS if k in final})


def _exit_after_first_checkpoint(marker) -> None:
    save = Run.save_checkpoint

    def save_then_exit(run, epoch, state):
        save(run, epoch, state)
        exit_once(marker, (run.path / "metrics.jsonl").read_text())

    Run.save_checkpoint = save_then_exit  # this process only; it ends at the next checkpoint


def measure_task(setting, seed: int, run_dir) -> dict:
    """What a ``measure-…`` task returns: :func:`~theory.nets.outcome.measure` of the stored runs."""
    return measure(setting, seed, run_dir)


def _setting_key(setting, seed: int) -> str:
    text = json.dumps(dataclasses.asdict(setting), sort_keys=True, default=str)
    return f"measure-{hashlib.sha256(text.encode()).hexdigest()[:16]}-{seed}"


def sweep_graph(settings, seeds, run_dir, *, progress: bool = False, resources=None, fault=None):
    """The sweep's tasks and where each is used.

    Returns:
      ``(tasks, uses, failed)``: the :class:`~theory.engine.Task` list (one per distinct run, then one
      ``measure`` per setting and seed); ``uses[(i, seed)]`` = ``{role: key}`` of setting ``i`` (``"measure"``
      included); ``failed[(i, seed)]`` = the error of a setting whose configs could not be built.
      ``fault = (role, marker)`` arms :func:`run_task`'s fault injection in the first setting's run of that role.
    """
    tasks, uses, failed = {}, {}, {}
    run_dir = str(run_dir)

    def add(config, kwargs):
        key = f"run-{config.hash()}"
        if key not in tasks:
            depends = () if config.teacher is None else (add(config.teacher, {}),)
            tasks[key] = Task(key, run_task, (config, run_dir, progress), dict(kwargs), depends, resources)
        return key

    for i, setting in enumerate(settings):
        for seed in seeds:
            try:
                configs = configs_for(setting, seed)
            except ValueError as error:
                failed[(i, seed)] = f"{type(error).__name__}: {error}"
                continue
            keys = {}
            for role, config in configs.items():
                armed = fault is not None and fault[0] == role and i == 0 and seed == seeds[0]
                keys[role] = add(config, {"fault_marker": str(fault[1])} if armed else {})
            keys["measure"] = _setting_key(setting, seed)
            tasks[keys["measure"]] = Task(keys["measure"], measure_task, (setting, seed, run_dir), {},
                                          tuple(keys[r] for r in ROLES), resources)
            uses[(i, seed)] = keys
    return list(tasks.values()), uses, failed


@dataclasses.dataclass
class SweepResult:
    """``rows``: one per setting (seed means, verdicts, ``per_seed``; ``errors`` when a task failed);
    ``records``: one per setting × seed × role, as in ``sweep.csv``."""

    rows: list
    records: list

    @property
    def failures(self) -> list:
        return [dict(name=row["name"], **e) for row in self.rows for e in row.get("errors", ())]


def _row(setting, seeds, uses, results, failed) -> tuple[dict, list]:
    """The row of one setting and its csv records, from the finished tasks."""
    per_seed, errors, records = [], [], []
    fields = {f"setting.{k}": v for k, v in dataclasses.asdict(setting).items() if k != "name"}
    for seed in seeds:
        if seed in failed:
            errors.append(dict(seed=seed, role="configs", status="failed", error=failed[seed]))
            continue
        for role, key in uses[seed].items():
            result = results[key]
            record = dict(setting=setting.name, seed=seed, role=role, key=key, status=result.status,
                          error=result.error, task_seconds=result.seconds)
            record.update({k: v for k, v in (result.value if result.ok else {}).items()
                           if not isinstance(v, (dict, list, tuple))})  # replicates stay in sweep.json
            record.update(fields)
            records.append(record)
            if not result.ok:
                errors.append(dict(seed=seed, role=role, status=result.status, error=result.error))
        if results[uses[seed]["measure"]].ok:
            per_seed.append(results[uses[seed]["measure"]].value)
    row = dict(setting=dataclasses.asdict(setting), name=setting.name, seeds=list(seeds))
    if per_seed:
        row.update({key: finite_mean([r[key] for r in per_seed]) for key, value in per_seed[0].items()
                    if not isinstance(value, (dict, list, tuple))})
        row["per_seed"] = per_seed  # before the verdicts: their intervals resample the seeds' replicates
        row.update(verdicts(row))
    if errors:
        row["errors"] = errors
    return row, records


def sweep_settings(settings, seeds, run_dir, *, client=None, out=None, progress: bool = False, retries: int = 1,
                   resources=None, log=print, fault=None) -> SweepResult:
    """Trains and measures every setting for every seed on ``client`` (None: in this process).

    Example (IPython, an existing cluster)::

        from dask.distributed import Client
        from theory.nets.sweep import GRIDS, sweep_settings
        result = sweep_settings(GRIDS["focus"], range(3), "results/runs", client=Client("tcp://head:8786"),
                                out="results/sweep")

    Args:
      settings: :class:`~theory.nets.experiment.Setting` values; seeds: the seeds (0, 1, …).
      run_dir: the run store (shared by every worker: a file system they all see).
      client: a :class:`distributed.Client`, or None for the sequential run here.
      out: write ``sweep.json``, ``sweep.md`` and ``sweep.csv`` there after each completed setting (None: not).
      progress: per-run epoch bars (in this process only; the sweep's own bar shows whenever stderr is a terminal).
      retries: further attempts of a run that raised (a dead worker's run is rescheduled regardless).
      resources: per-task worker resources (default :func:`theory.engine.task_resources`: ``{"GPU": 1}`` when the
        client's workers declare GPUs).
      log: called with one line per completed setting.
      fault: fault injection for tests, ``(role, marker path)`` (see :func:`sweep_graph`).
    """
    seeds = list(seeds)
    if resources is None and client is not None:
        resources = task_resources(client)
    tasks, uses, failed = sweep_graph(settings, seeds, run_dir, progress=progress, resources=resources, fault=fault)
    pending = {i: {key for seed in seeds for key in uses.get((i, seed), {}).values()} for i in range(len(settings))}
    finished: dict = {}
    done_rows: dict = {}
    done_records: dict = {}

    def complete(i):
        row, records = _row(settings[i], seeds, {s: uses[(i, s)] for s in seeds if (i, s) in uses}, finished,
                            {s: failed[(i, s)] for s in seeds if (i, s) in failed})
        done_rows[i], done_records[i] = row, records
        if out is not None:
            order = sorted(done_rows)
            write_files(out, [done_rows[j] for j in order], [r for j in order for r in done_records[j]])
        log(_summary_line(row))

    def on_result(result):
        finished[result.key] = result
        for i, keys in pending.items():
            if i not in done_rows and keys <= finished.keys():
                complete(i)

    for i, keys in pending.items():  # settings without tasks (their configs failed)
        if not keys:
            complete(i)
    run_graph(tasks, client, retries=retries, progress=True, on_result=on_result, desc="sweep")
    order = sorted(done_rows)
    return SweepResult([done_rows[i] for i in order], [r for i in order for r in done_records[i]])


def _summary_line(row) -> str:
    if "test_slope" not in row:
        return f"{row['name']:<40} FAILED: " + "; ".join(f"seed {e['seed']} {e['role']}: {e['error']}"
                                                        for e in row["errors"] if e["status"] == "failed")
    line = (f"{row['name']:<40} test slope {row['test_slope']:.3f} (control {row['control_test_slope']:.3f}) "
            f"train slope {row['train_slope']:.3f} acc T/S/ctl {row['teacher_test_accuracy']:.3f}/"
            f"{row['student_test_accuracy']:.3f}/{row['control_test_accuracy']:.3f} late "
            f"{row['late_test_accuracy']:.3f} C3 {row['c3_frac_positive']:.2f}")
    return line + (f" ({len(row['errors'])} tasks failed or skipped)" if "errors" in row else "")


def run_sweep(settings, seeds, run_dir, *, progress: bool = False, log=print, client=None, out=None,
              retries: int = 1) -> list[dict]:
    """Measures every setting for every seed; returns one row per setting (seed means and per-seed values).

    The rows of :func:`sweep_settings` (which see for ``client``, ``out`` and ``retries``).
    """
    return sweep_settings(settings, seeds, run_dir, client=client, out=out, progress=progress, log=log,
                          retries=retries).rows


def build_parser() -> argparse.ArgumentParser:
    """The command line of ``python -m theory.nets.sweep``."""
    parser = argparse.ArgumentParser(prog="python -m theory.nets.sweep", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", required=True, help="directory for sweep.json, sweep.md and sweep.csv")
    parser.add_argument("--runs", default=None, metavar="DIR", help="the run store (default <out>/runs)")
    parser.add_argument("--run-dir", dest="run_dir", default=None, help=argparse.SUPPRESS)  # deprecated: --runs
    parser.add_argument("--grid", default="default", choices=sorted(GRIDS))
    parser.add_argument("--only", nargs="*", default=None, help="setting names (or substrings) to run")
    parser.add_argument("--seeds", type=int, default=1, help="number of seeds (0 .. seeds-1)")
    parser.add_argument("--data-dir", dest="data_dir", default=None, metavar="DIR",
                        help="directory of the file datasets (CIFAR python-pickle batches) of the grid's settings")
    parser.add_argument("--dry-run", dest="dry_run", action="store_true",
                        help="list the runs the sweep would train and their estimated cost; train nothing")
    parser.add_argument("--progress", action="store_true", help="show a progress bar per run (in this process)")
    parser.add_argument("--retries", type=int, default=1, help="further attempts of a run that raised (default 1)")
    where = parser.add_argument_group("where the runs train (one of; docs/sweeps.md)")
    choice = where.add_mutually_exclusive_group()
    choice.add_argument("--workers", type=int, default=None, metavar="W",
                        help="worker processes on this machine (default: one per GPU, else one per core); "
                             "1 runs in this process, as a sequential sweep")
    choice.add_argument("--scheduler", default=None, metavar="ADDRESS",
                        help="join an existing Dask cluster, e.g. tcp://head-node:8786")
    choice.add_argument("--slurm", action="store_true", help="start workers as SLURM jobs (dask-jobqueue)")
    where.add_argument("--threads", type=int, default=None,
                       help="XLA/BLAS threads per worker (local default: this machine's cores, as a sequential "
                            "run: bit-identical numbers on CPU; SLURM default: cores / worker processes)")
    where.add_argument("--memory-fraction", dest="memory_fraction", type=float, default=None,
                       help="share of a GPU's memory one worker may take (default: allocate on demand)")
    where.add_argument("--timeout", type=float, default=10.0, help="seconds to wait for --scheduler (default 10)")
    slurm = parser.add_argument_group("SLURM (with --slurm)")
    slurm.add_argument("--queue", default=None, help="partition (#SBATCH -p)")
    slurm.add_argument("--account", default=None, help="account (#SBATCH -A)")
    slurm.add_argument("--walltime", default="01:00:00", help="per job (default 01:00:00)")
    slurm.add_argument("--cores", type=int, default=4, help="CPU cores per job (default 4)")
    slurm.add_argument("--memory", default="16GB", help="memory per job (default 16GB)")
    slurm.add_argument("--gpus-per-job", dest="gpus_per_job", type=int, default=0,
                       help="GPUs per job (--gres=gpu:N; one worker per GPU); default 0")
    slurm.add_argument("--jobs", type=int, default=1, help="jobs to scale to (default 1)")
    slurm.add_argument("--host", default=None, help="address the scheduler listens on (reachable from the nodes)")
    slurm.add_argument("--interface", default=None, help="network interface of the workers, e.g. ib0")
    slurm.add_argument("--prologue", action="append", default=[], metavar="LINE",
                       help="shell line run before each worker (repeatable), e.g. 'module load cuda'")
    slurm.add_argument("--print-job-script", action="store_true", help="print the job script and exit")
    return parser


def runs_dir(args) -> str:
    """The run store of parsed arguments: ``--runs``, else the deprecated ``--run-dir``, else ``<out>/runs``."""
    if args.runs is not None:
        return args.runs
    if args.run_dir is not None:
        warnings.warn("--run-dir is deprecated; use --runs DIR.", DeprecationWarning, stacklevel=2)
        return args.run_dir
    return os.path.join(args.out, "runs")


def slurm_options(args) -> dict:
    """The :func:`theory.engine.slurm_cluster` options of parsed arguments."""
    return dict(queue=args.queue, account=args.account, walltime=args.walltime, cores=args.cores,
                memory=args.memory, gpus_per_job=args.gpus_per_job, host=args.host, interface=args.interface,
                prologue=tuple(args.prologue), threads=args.threads, memory_fraction=args.memory_fraction)


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.slurm and args.print_job_script:
        from ..engine import slurm_job_script

        print(slurm_job_script(**slurm_options(args)))
        return 0
    settings = GRIDS[args.grid]
    if args.only:
        settings = [s for s in settings if any(o in s.name for o in args.only)]
    if args.data_dir is not None:
        if not os.path.isdir(args.data_dir):
            parser.error(f"--data-dir {args.data_dir!r} is not a directory.")
        settings = with_data_dir(settings, args.data_dir)
    runs = runs_dir(args)
    for name in ("workers", "threads", "jobs", "seeds"):
        if getattr(args, name) is not None and getattr(args, name) < 1:
            parser.error(f"--{name} must be at least 1, got {getattr(args, name)}.")
    if args.dry_run:
        from .plan import plan, plan_table

        try:
            rows = plan(settings, range(args.seeds))
        except (ValueError, OSError) as error:
            parser.error(f"cannot plan grid {args.grid!r}: {error}")
        print(plan_table(rows))
        return 0
    if args.scheduler is not None:
        where = dict(scheduler=args.scheduler, timeout=args.timeout)
    elif args.slurm:
        where = dict(slurm=slurm_options(args), jobs=args.jobs)
    else:
        where = dict(workers=args.workers, threads=args.threads, memory_fraction=args.memory_fraction)
    try:
        with open_client(**where) as client:
            if client is not None:
                print(f"Dask scheduler {client.scheduler.address} (dashboard {client.dashboard_link})",
                      file=sys.stderr)
            gpus = bool(args.gpus_per_job) if args.slurm else None
            resources = task_resources(client, gpus) if client is not None else None
            result = sweep_settings(settings, range(args.seeds), runs, client=client, out=Path(args.out),
                                    progress=args.progress, retries=args.retries, resources=resources)
    except SchedulerUnreachable as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(markdown([row for row in result.rows if "test_slope" in row]))
    for failure in result.failures:
        if failure["status"] == "failed":
            print(f"FAILED {failure['name']} seed {failure['seed']} {failure['role']}: {failure['error']}")
    return 1 if result.failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
