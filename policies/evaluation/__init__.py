"""Evaluation campaigns: many tasks, many seeds, any policy, resumable and reproducible.

    from policies.evaluation import EvalConfig, evaluate, compare_runs
    summary = evaluate(EvalConfig(policy="expert:PickPlace", tasks=["PickPlace"], out=Path("runs/a")))

Outputs in the campaign directory:
    episodes.jsonl  one record per episode: task, robot, seed, index, instruction,
                    success, steps, sim_time_s, safety_interventions (+ safety_by_kind),
                    policy_calls, video (relative path or null), and `timing`
                    (wall_s, cpu_s, policy_ms_p50, policy_ms_p99, policy_cpu_ms, policy_ms_hist),
                    the only part that differs between two runs of the same campaign.
    summary.json    per task and overall: success rate, 95% Wilson interval, mean steps,
                    CPU-ms of policy compute per success, latency p50/p99.
    report.md/.html tables, plots (plots/*.png) and videos (videos/*).
    run.json        the campaign's identity (policy, robot, seed, max_steps), checked on resume.
"""

from policies.evaluation.compare import compare_runs, format_comparison
from policies.evaluation.records import EpisodeLog, read_records, without_timing
from policies.evaluation.rollout import EpisodeJob, EpisodeResult, rollout_episode
from policies.evaluation.run import EvalConfig, episode_seed, evaluate, plan_episodes
from policies.evaluation.stats import mcnemar_exact, wilson_interval
from policies.evaluation.summary import summarize

__all__ = [
    "EpisodeJob", "EpisodeLog", "EpisodeResult", "EvalConfig", "compare_runs", "episode_seed", "evaluate",
    "format_comparison", "mcnemar_exact", "plan_episodes", "read_records", "rollout_episode", "summarize",
    "wilson_interval", "without_timing",
]
