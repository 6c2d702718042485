"""The claims report: one table of the paper's claims with the numbers measured, then every figure.

Built from the stored results of ``paper_figs.py`` (``<out>/<figure>.json`` and ``<out>/<figure>.png``), so it
never retrains anything: ``python paper_figs.py --report`` rebuilds it from what is on disk, and
``python paper_figs.py --fig all`` regenerates every figure and then builds it.

Each figure's ``claims(data)`` returns :class:`theory.evidence.Claim` values, stored as rows ``{claim, setting,
statement, measured, criterion, verdict, evidence}`` (:meth:`~theory.evidence.Claim.to_dict`). A row whose
``claim`` starts with ``C1`` … ``C5`` counts towards that claim of docs/maths.md §1; other rows (checks of the
closed forms against simulation, for instance) are listed as consistency checks. Rows are grouped by the kind
of evidence, theory (closed forms and kernel models) or networks (trained networks), from each figure's
``KIND`` (:func:`figures.kinds`).

Verdict of a claim over several settings (:func:`theory.evidence.aggregate`): "reproduced" when every setting
reproduced it, "not reproduced" when none did, "partly reproduced (k/n settings)" otherwise, and "not run"
when no figure measured it (with "inconclusive" settings as that function says). A verdict never goes beyond
its rows.
"""
from __future__ import annotations

import base64
import html
import json
import re
from pathlib import Path

from theory.evidence import VERDICTS, Claim, aggregate, paper_claim  # noqa: F401 (VERDICTS, aggregate: public here)

from .output import atomic_write, stale_files

#: docs/maths.md §1, in short.
CLAIMS = {
    "C1": "Low-confidence underfitting: the student exaggerates the teacher's confidence (OLS slope of "
    "φ(p_st) on φ(p_te) > 1; below the teacher on low-confidence points).",
    "C2": "Late distillation: switching from one-hot to the distillation loss midway recovers much of the gain.",
    "C3": "Exaggerated implicit bias: at equal progress on top eigendirections the student has less progress on "
    "bottom ones.",
    "C4": "Gradient denoiser: the one-hot gradient is the distillation gradient plus zero-mean label noise, "
    "largest on hard points; a teacher close to p* removes it.",
    "C5": "The student generalises better than its teacher (conditional on confounders; distillation can hurt).",
}


def claim_of(row: dict) -> str | None:
    """The claim of docs/maths.md §1 a row counts towards (``"C3 (network)"`` → ``"C3"``), or None for a check."""
    return paper_claim(row.get("claim", ""))


def rows_of(result: dict) -> list:
    """The claim rows of a figure's result, whether stored (dicts) or fresh (:class:`~theory.evidence.Claim`)."""
    return [claim.to_dict() if isinstance(claim, Claim) else claim for claim in result.get("claims", [])]


class ResultsError(ValueError):
    """The stored results cannot make a report: none at all, or a figure's JSON that cannot be read."""


def load_results(out, names) -> dict:
    """``{name: stored JSON or None}`` for each figure name (None when the figure has not been run).

    Raises :class:`ResultsError` naming the file when a ``<name>.json`` is not valid JSON or not a figure's
    result (a JSON object with a list of ``claims``).
    """
    results = {}
    for name in names:
        path = Path(out) / f"{name}.json"
        if not path.exists():
            results[name] = None
            continue
        try:
            result = json.loads(path.read_text())
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
            raise ResultsError(f"cannot read {str(path)!r}: {error}; delete it or rerun that figure.") from None
        if not isinstance(result, dict) or not isinstance(result.get("claims", []), list):
            raise ResultsError(f"{str(path)!r} is not a figure result (a JSON object with a list of claims); "
                               "delete it or rerun that figure.")
        results[name] = result
    return results


def claims_table(results: dict, kinds: dict) -> list:
    """Rows of the claims table: one per claim C1–C5 with theory and networks side by side."""
    table = []
    for claim, statement in CLAIMS.items():
        entry = {"claim": claim, "statement": statement}
        for kind in ("theory", "networks"):
            rows = [
                dict(row, figure=name)
                for name, result in results.items()
                if result is not None and kinds.get(name) == kind
                for row in rows_of(result)
                if claim_of(row) == claim
            ]
            entry[kind] = dict(rows=rows, verdict=aggregate([r["verdict"] for r in rows]))
        table.append(entry)
    return table


def interval_text(row: dict) -> str:
    """The 95 % intervals of a row's evidence that its ``measured`` text does not show (" 95% CI [a, b]"), the
    tolerance of an exact value (" ± tol"), or ""."""
    if "[" in row.get("measured", ""):
        return ""
    parts = []
    for part in row.get("evidence", []):
        if part.get("interval") and None not in part["interval"]:
            parts.append(f"95% CI [{part['interval'][0]:.4g}, {part['interval'][1]:.4g}]")
        elif part.get("kind") == "exact" and part.get("tolerance") is not None:
            parts.append(f"exact ± {part['tolerance']:.0e}")
    return f" ({'; '.join(parts)})" if parts else ""


def _cell(kind_entry) -> str:
    if not kind_entry["rows"]:
        return "**not run**"
    lines = [f"**{kind_entry['verdict']}**"]
    for row in kind_entry["rows"]:
        lines.append(
            f"`{row['figure']}` {row['claim']}: {row['measured']}{interval_text(row)} — *{row['verdict']}* "
            f"({row['setting']}; criterion: {row['criterion']})"
        )
    return "<br>".join(line.replace("|", "\\|") for line in lines)


#: what a researcher with CIFAR and a GPU runs to test the paper's own setting (the ``paper`` grid).
PAPER_COMMAND = "python -m theory.nets.sweep --grid paper --data-dir /path/to/cifar --out results/paper --seeds 5"


def _percent(interval) -> str:
    if not interval or interval[0] is None:
        return "–"
    value, low, high = interval
    if low is None:
        return f"{100 * value:.2f}%"
    return f"{100 * value:.2f}% [{100 * low:.1f}, {100 * high:.1f}]"


def _slope(interval) -> str:
    if not interval or interval[0] is None:
        return "–"
    value, low, high = interval
    return f"{value:.3f}" if low is None else f"{value:.3f} [{low:.3f}, {high:.3f}]"


def _number(value, digits=3) -> str:
    return "–" if value is None or value != value else f"{value:.{digits}f}"


def settings_markdown(rows: list, paper_rows=()) -> list:
    """The settings table (issue 14, item 6) as Markdown lines: one row per stored (dataset, teacher → student,
    τ) and the paper's known rows ("paper" beside ours, or "not run here")."""
    out = ["", "## Settings (from the stored runs)", "",
           "Per (dataset, teacher → student, τ): test accuracies of the teacher, the one-hot student (control) and "
           "the KD student; the C1 slopes with their 95% bootstrap intervals; the regime variables: the teacher's "
           "saturation (fraction of targets softmax(z/τ) with top probability > 1 − 10⁻³) and entropy on the "
           "training points, r · σS/σT of the test slope, the fraction of points whose φ the clip at 1e-7 moves "
           "(docs/uncertainty.md).", ""]
    head = ("| dataset | teacher → student | τ | seeds | teacher acc | one-hot student | KD student | train slope | "
            "test slope | T saturation / entropy (train) | r · σS/σT (test) | clip moved |")
    out += [head, "|" + "---|" * (head.count("|") - 1)]
    for row in rows:
        noise = f", noise {row['label_noise']:g}" if row["label_noise"] else ""
        control = row.get("control_test_accuracy")
        out.append(
            f"| {row['dataset']}{noise} | {row['teacher']} → {row['student']} | {row['temperature']:g} | "
            f"{row['seeds']} | {_percent(row['teacher_test_accuracy'])} | "
            f"{'–' if control is None else f'{100 * control:.2f}%'} | {_percent(row['student_test_accuracy'])} | "
            f"{_slope(row['train_slope'])} | {_slope(row['test_slope'])} | "
            f"{_number(row.get('train_saturation'), 2)} / {_number(row.get('train_teacher_entropy'), 2)} | "
            f"{_number(row.get('test_correlation'))} · {_number(row.get('test_spread_ratio'))} | "
            f"{_number(row.get('test_clip_moved'), 2)} |")
    for paper in paper_rows:
        matched = paper.get("ours", [])
        ours = (f"ours: {len(matched)} row(s) above" if matched else "not run here (needs CIFAR and a GPU)")
        out.append(f"| **paper**: {paper['label']} | {paper['teacher_model']} → {paper['student_model']} | "
                   f"paper's | – | {paper['teacher']:.2f}% | – | {paper['student']:.2f}% | – | – | – | – | "
                   f"{ours} |")
    if not rows:
        out += ["", "No distilled student is stored in the run store; the network figures and the sweep store "
                    "theirs there (--runs)."]
    notes = sorted({row["bootstrap"] for row in rows})
    if notes:
        out += ["", "Intervals: " + "; ".join(notes) + "."]
    return out


def regime_markdown(results: dict, kinds: dict, settings: list) -> list:
    """Where the verdicts were measured (issue 14, item 8), and the one command that tests the paper's setting."""
    out = ["", "## In which regime these verdicts were measured", ""]
    for kind in ("theory", "networks"):
        where = sorted({row["setting"].split(";")[0].split(", τ")[0] for name, result in results.items()
                        if result is not None and kinds.get(name) == kind for row in rows_of(result)})
        if where:
            out.append(f"- **{kind}**: " + "; ".join(where[:12]) + (" …" if len(where) > 12 else "") + ".")
    datasets = sorted({row["dataset"] for row in settings})
    cifar = any(d.startswith("cifar") for d in datasets)
    out += ["", "Every network verdict carries its regime in its setting text (the teacher's saturation on the "
                "training points and r · σS/σT where measured) and its 95% bootstrap interval. Stored network "
                f"settings: {', '.join(datasets) or 'none'}. "
                + ("" if cifar else "None is the paper's CIFAR-100/ImageNet setting: the network verdicts here are "
                   "about small networks on the embedded data, not about the paper's ResNets."),
            "", f"To test the paper's own setting (CIFAR and a GPU): `{PAPER_COMMAND}`; for runs trained elsewhere: "
                "`python -m theory.measure --teacher T.npz --student S.npz --control C.npz --out DIR`."]
    return out


def markdown(results: dict, kinds: dict, descriptions: dict, stale: dict | None = None, settings=None,
             paper_rows=()) -> str:
    """The report as Markdown (figures referenced as PNG files beside it).

    ``stale``: ``{name: [image files that do not belong to <name>.json]}`` (:func:`figures.output.stale_files`),
    flagged under the figure. ``settings``: the rows of :func:`theory.nets.table.settings_rows` (None: no settings
    table); ``paper_rows``: the paper's known rows, each with ``ours`` (our matching rows).
    """
    table = claims_table(results, kinds)
    out = ["# Does it pay to disobey? Claims report", ""]
    ran = [name for name, result in results.items() if result is not None]
    missing = [name for name, result in results.items() if result is None]
    out.append(f"Figures run: {', '.join(ran) or 'none'}." + (f" Not run: {', '.join(missing)}." if missing else ""))
    out += ["", "| claim | theory (closed forms, kernel models) | networks |", "|---|---|---|"]
    for entry in table:
        out.append(f"| **{entry['claim']}** {entry['statement']} | {_cell(entry['theory'])} | {_cell(entry['networks'])} |")
    checks = [
        dict(row, figure=name)
        for name, result in results.items()
        if result is not None
        for row in rows_of(result)
        if claim_of(row) is None
    ]
    if checks:
        out += ["", "## Consistency checks", "", "| figure | check | measured | criterion | verdict |", "|---|---|---|---|---|"]
        for row in checks:
            out.append(
                f"| {row['figure']} | {row['claim']}: {row['statement']} | {row['measured']} | {row['criterion']} | "
                f"{row['verdict']} |".replace("\n", " ")
            )
    if settings is not None:
        out += settings_markdown(settings, paper_rows)
    out += regime_markdown(results, kinds, settings or [])
    out += ["", "## Figures", ""]
    for name in ran:
        result = results[name]
        measured = result.get("source") == "theory.measure"
        image = [] if measured and not result.get("panels") else [f"![{name}]({name}.png)", ""]
        out += [f"### `{name}`", "", descriptions.get(name, ""), "", *image]
        for file in (stale or {}).get(name, []):
            out += [f"**Warning:** {file} does not belong to {name}.json (its SHA-256 differs from the one "
                    "recorded there: an interrupted write); regenerate the figure.", ""]
        reading = "; ".join(f"{r['claim']} {r['verdict']} ({r['measured']})" for r in rows_of(result))
        seconds = result.get("seconds")
        timing = f" Computed in {seconds:.0f} s." if isinstance(seconds, (int, float)) else ""
        out += [f"Reading: {reading}.{timing} Regenerate: `python paper_figs.py --fig {name}`.", ""]
    return "\n".join(out) + "\n"


def html_page(text: str, out) -> str:
    """A self-contained HTML page from the report's Markdown: tables, headings, and PNGs embedded as data URIs."""
    body, in_table = [], False
    for line in text.splitlines():
        if line.startswith("|"):
            cells = [c.strip() for c in re.split(r"(?<!\\)\|", line.strip())[1:-1]]
            if set("".join(cells)) <= set("-"):
                continue
            tag = "th" if not in_table else "td"
            if not in_table:
                body.append("<table>")
                in_table = True
            body.append("<tr>" + "".join(f"<{tag}>{_inline(c)}</{tag}>" for c in cells) + "</tr>")
            continue
        if in_table:
            body.append("</table>")
            in_table = False
        image = re.match(r"!\[(.*)\]\((.*)\)", line)
        if image:
            path = Path(out) / image.group(2)
            if path.exists():
                data = base64.b64encode(path.read_bytes()).decode()
                body.append(f'<img alt="{html.escape(image.group(1))}" src="data:image/png;base64,{data}">')
            else:
                body.append(f"<p><em>missing image {html.escape(image.group(2))}</em></p>")
        elif line.startswith("#"):
            level = len(line) - len(line.lstrip("#"))
            body.append(f"<h{level}>{_inline(line[level:].strip())}</h{level}>")
        elif line.strip():
            body.append(f"<p>{_inline(line)}</p>")
    if in_table:
        body.append("</table>")
    style = (
        "body{font-family:sans-serif;max-width:1200px;margin:2em auto;font-size:14px}"
        "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:4px;vertical-align:top}"
        "img{max-width:100%}code{background:#f4f4f4}"
    )
    return f"<!doctype html><html><head><meta charset='utf-8'><title>Claims report</title><style>{style}</style></head><body>{''.join(body)}</body></html>"


def _inline(text: str) -> str:
    text = html.escape(text.replace("\\|", "|"), quote=False).replace("&lt;br&gt;", "<br>")
    text = re.sub(r"\*\*(.+?)\*\*", r"<b>\1</b>", text)
    text = re.sub(r"`(.+?)`", r"<code>\1</code>", text)
    return re.sub(r"(?<![\w*])\*(?!\s)(.+?)(?<!\s)\*(?![\w*])", r"<i>\1</i>", text)


def settings_of(runs) -> tuple:
    """The settings table's rows from the run store ``runs`` and the paper's rows with our matches
    (:mod:`theory.nets.table`; imported only when the store exists)."""
    if runs is None or not Path(runs).is_dir():
        return None, ()
    from theory.nets import table

    rows = table.settings_rows(runs)
    return rows, tuple(dict(paper, ours=table.paper_match(paper, rows)) for paper in table.PAPER_ROWS)


def _measure_panels(out, result: dict) -> bool:
    """Draw ``<out>/measure.png`` from a ``measure.json`` (:mod:`figures.measured`); False when it cannot."""
    try:
        import matplotlib.pyplot as plt

        from .measured import plot
        from .output import save_figure

        figure = plot(result)
        save_figure(figure, Path(out) / "measure.png")
        plt.close(figure)
        return True
    except (KeyError, TypeError, ValueError, IndexError):  # a measure.json without the per-seed panels
        return False


def build(out, names, kinds: dict, descriptions: dict, runs=None) -> tuple:
    """Write ``<out>/report.md`` and a self-contained ``<out>/report.html``; returns their paths.

    ``runs``: the run store of the settings table (default ``<out>/runs``; no table when it does not exist).
    A ``<out>/measure.json`` written by ``python -m theory.measure --out <out>`` joins the figures as the
    network evidence "measure" (runs trained elsewhere).

    A report from a run store alone (a sweep's runs, no figure results: ``paper_figs.py --report --out DIR
    --runs RUNS``) holds the settings table only.

    Raises :class:`ResultsError` when ``out`` holds no figure's result and the store no teacher → student pair,
    or a result cannot be read.
    """
    names, kinds = list(names), dict(kinds)
    if (Path(out) / "measure.json").is_file() and "measure" not in names:
        names.append("measure")
        kinds["measure"] = "networks"
        descriptions = dict(descriptions, measure="runs trained elsewhere (python -m theory.measure)")
    results = load_results(out, names)
    if results.get("measure") is not None:
        results["measure"]["panels"] = _measure_panels(out, results["measure"])
    settings, paper_rows = settings_of(Path(out) / "runs" if runs is None else runs)
    if not any(result is not None for result in results.values()) and not settings:
        raise ResultsError(f"no figure results in {str(out)!r} (no <figure>.json there) and no teacher → student "
                           f"runs in the run store; run `python paper_figs.py --fig NAME --out {out}` or a sweep "
                           "with --runs first.")
    stale = {name: stale_files(out, name, result) for name, result in results.items() if result is not None}
    text = markdown(results, kinds, descriptions, stale, settings, paper_rows)
    md_path = atomic_write(Path(out) / "report.md", lambda tmp: Path(tmp).write_text(text))
    page = html_page(text, out)
    html_path = atomic_write(Path(out) / "report.html", lambda tmp: Path(tmp).write_text(page))
    return md_path, html_path
