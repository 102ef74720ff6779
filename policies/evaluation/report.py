"""`DIR/report.md` and `DIR/report.html`: the tables, plots and videos of one campaign.

Plots (PNG, in DIR/plots/): success rate per task with its Wilson interval, the
policy's compute latency histogram (merged from every episode), and episode
lengths for successes and failures. Videos are the episodes recorded up front
(``--videos K``: the first K of each task), shown per task as failures then successes.
Both files reference plots and videos by relative path, so DIR can be moved whole.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from policies.evaluation.records import Record, write_bytes_atomic
from policies.evaluation.stats import bin_edges_ms, merge_histograms
from policies.evaluation.summary import OVERALL

COLUMNS = (
    ("task", "task"), ("episodes", "episodes"), ("success", "success"), ("95% CI", "ci"),
    ("mean steps", "mean_steps"), ("safety", "safety_interventions"),
    ("policy p50 ms", "policy_ms_p50"), ("policy p99 ms", "policy_ms_p99"),
    ("CPU-ms / success", "cpu_ms_per_success"),
)


def write_report(out: Path, records: Sequence[Record], summary: dict[str, Any]) -> dict[str, Path]:
    """Render plots, report.md and report.html into `out`; returns the paths written by name."""
    out = Path(out)
    plots = {
        "success": _plot_success(out / "plots" / "success_by_task.png", summary),
        "latency": _plot_latency(out / "plots" / "latency_hist.png", records),
        "length": _plot_lengths(out / "plots" / "episode_length.png", records, list(summary["tasks"])),
    }
    rows = _table_rows(summary)
    videos = _videos_by_task(records)
    write_bytes_atomic(out / "report.md", _markdown(summary, rows, plots, videos, out).encode())
    write_bytes_atomic(out / "report.html", _html(summary, rows, plots, videos, out).encode())
    return {**plots, "markdown": out / "report.md", "html": out / "report.html"}


def _table_rows(summary: dict[str, Any]) -> list[list[str]]:
    groups = [*summary["tasks"].items(), (OVERALL, summary[OVERALL])]
    return [[_cell(key, name, group) for _, key in COLUMNS] for name, group in groups]


def _cell(key: str, name: str, group: dict[str, Any]) -> str:
    if key == "task":
        return name
    if key == "success":
        rate = group["success_rate"]
        return "-" if rate is None else f"{group['successes']}/{group['episodes']} ({100 * rate:.1f}%)"
    if key == "ci":
        return f"[{100 * group['ci_low']:.1f}%, {100 * group['ci_high']:.1f}%]"
    value = group.get(key)
    if value is None:
        return "-"
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def _videos_by_task(records: Sequence[Record]) -> dict[str, list[Record]]:
    videos: dict[str, list[Record]] = {}
    for record in records:
        if record.get("video"):
            videos.setdefault(record["task"], []).append(record)
    return {task: sorted(rs, key=lambda r: (r["success"], r["index"])) for task, rs in videos.items()}


# -- plots -----------------------------------------------------------------------


def _figure(width: float = 6.4, height: float = 3.6) -> Any:
    from matplotlib.figure import Figure  # no pyplot: no GUI backend, safe in any process

    figure = Figure(figsize=(width, height), layout="constrained")
    return figure, figure.add_subplot()


def _save(figure: Any, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=100)
    return path


def _plot_success(path: Path, summary: dict[str, Any]) -> Path:
    names = [*summary["tasks"], OVERALL]
    groups = [summary["tasks"].get(n) or summary[OVERALL] for n in names]
    rates = [100 * (g["success_rate"] or 0.0) for g in groups]
    low = [r - 100 * g["ci_low"] for r, g in zip(rates, groups, strict=True)]
    high = [100 * g["ci_high"] - r for r, g in zip(rates, groups, strict=True)]
    figure, axes = _figure(max(4.0, 1.2 * len(names) + 2), 3.6)
    colors = ["tab:blue"] * len(summary["tasks"]) + ["tab:gray"]
    axes.bar(range(len(names)), rates, yerr=[low, high], capsize=4, color=colors)
    axes.set_xticks(range(len(names)), [n.split("/")[-1] for n in names], rotation=20)
    axes.set_ylim(0, 105)
    axes.set_ylabel("success rate (%)")
    axes.set_title(f"success per task with {100 * summary['confidence']:.0f}% Wilson intervals")
    return _save(figure, path)


def _plot_latency(path: Path, records: Sequence[Record]) -> Path:
    histogram = merge_histograms(r["timing"].get("policy_ms_hist", []) for r in records)
    figure, axes = _figure()
    for bin_index, count in histogram.items():
        low, high = bin_edges_ms(bin_index)
        axes.bar(low, count, width=high - low, align="edge", color="tab:blue")
    if histogram:
        axes.set_xscale("log")
    else:
        axes.text(0.5, 0.5, "not measured (e.g. evaluated via a launch file)", ha="center",
                  transform=axes.transAxes)
    axes.set_xlabel("policy compute per call (ms, wall clock)")
    axes.set_ylabel("calls")
    axes.set_title("policy latency")
    return _save(figure, path)


def _plot_lengths(path: Path, records: Sequence[Record], tasks: list[str]) -> Path:
    figure, axes = _figure()
    longest = max((r["steps"] for r in records), default=1)
    bins = list(range(0, longest + 2, max(1, (longest + 1) // 30)))
    for outcome, color in ((True, "tab:green"), (False, "tab:red")):
        steps = [r["steps"] for r in records if bool(r["success"]) == outcome]
        if steps:
            axes.hist(steps, bins=bins, alpha=0.6, color=color, label="success" if outcome else "failure")
    axes.set_xlabel("episode length (steps)")
    axes.set_ylabel("episodes")
    axes.set_title(f"episode length, {len(tasks)} task(s)")
    if records:
        axes.legend()
    return _save(figure, path)


# -- documents -------------------------------------------------------------------


def _title(summary: dict[str, Any]) -> str:
    run = summary.get("run", {})
    return f"Evaluation of {run.get('policy', '?')} on {run.get('robot', '?')} (seed {run.get('seed', '?')})"


def _markdown(summary: dict, rows: list[list[str]], plots: dict[str, Path],
              videos: dict[str, list[Record]], out: Path) -> str:
    header = [name for name, _ in COLUMNS]
    lines = [f"# {_title(summary)}", "", "| " + " | ".join(header) + " |",
             "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    lines += ["", "CPU-ms / success: policy CPU time over all episodes divided by the successes.", ""]
    for name, path in plots.items():
        lines += [f"![{name}]({path.relative_to(out)})", ""]
    if videos:
        lines += ["## Videos", ""]
    for task, recorded in videos.items():
        lines += [f"### {task}", ""]
        for r in recorded:
            label = f"{'success' if r['success'] else 'failure'}: seed {r['seed']}, {r['steps']} steps"
            lines.append(f"- {label}: " + (f"![{label}]({r['video']})" if r["video"].endswith(".gif")
                                           else f"[{r['video']}]({r['video']})"))
        lines.append("")
    return "\n".join(lines)


def _html(summary: dict, rows: list[list[str]], plots: dict[str, Path],
          videos: dict[str, list[Record]], out: Path) -> str:
    esc = html.escape
    head = "".join(f"<th>{esc(name)}</th>" for name, _ in COLUMNS)
    body = "".join("<tr>" + "".join(f"<td>{esc(c)}</td>" for c in row) + "</tr>" for row in rows)
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'>",
        f"<title>{esc(_title(summary))}</title>",
        "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}"
        "td,th{border:1px solid #ccc;padding:4px 8px;text-align:right}"
        "figure{display:inline-block;margin:4px;text-align:center}</style></head><body>",
        f"<h1>{esc(_title(summary))}</h1>",
        f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>",
        "<p>CPU-ms / success: policy CPU time over all episodes divided by the successes.</p>",
    ]
    parts += [f"<img src='{esc(str(p.relative_to(out)))}' alt='{esc(n)}'>" for n, p in plots.items()]
    if videos:
        parts.append("<h2>Videos</h2>")
    for task, recorded in videos.items():
        parts.append(f"<h3>{esc(task)}</h3>")
        for r in recorded:
            label = esc(f"{'success' if r['success'] else 'failure'}: seed {r['seed']}, {r['steps']} steps")
            src = esc(r["video"])
            media = (f"<img src='{src}' width='192'>" if src.endswith(".gif")
                     else f"<video src='{src}' width='192' controls loop muted></video>")
            parts.append(f"<figure>{media}<figcaption>{label}</figcaption></figure>")
    parts.append("</body></html>")
    return "\n".join(parts)
