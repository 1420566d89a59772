"""flywheel's verifiers as the reward function of a Python RL trainer.

A trainer such as TRL's GRPOTrainer takes a dataset of prompts and reward
functions `reward_func(prompts, completions, **kwargs) -> list[float]`, where
kwargs carries the dataset's other columns, one list entry per completion.
Here the dataset rows carry `env`, `seed` and `difficulty`, so the reward
function can ask the env server to grade each completion against the task it
was generated from; no answer key ever reaches Python.

With TRL and a model it would read:

    from datasets import Dataset
    from trl import GRPOConfig, GRPOTrainer
    envs = EnvClient("http://127.0.0.1:8765")
    trainer = GRPOTrainer(
        model="Qwen/Qwen2.5-0.5B-Instruct",
        reward_funcs=[flywheel_reward(envs)],
        train_dataset=Dataset.from_list(build_dataset(envs, "addsub-v1", n=1000)),
        args=GRPOConfig(num_generations=8),
    )
    trainer.train()

No LLM is available here, so main() runs the same reward function inside a
fake GRPO-style loop: a toy "policy" (it parses the arithmetic prompt and
answers right with probability --skill, else slips a digit or writes junk)
samples a group of completions per prompt, the server grades them, and the
group-normalized advantages a GRPO update would use are printed.

    python3 examples/python/reward_fn_example.py --url http://127.0.0.1:8765 [--json]
"""

import argparse
import json
import random
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from flywheel_env import EnvClient  # noqa: E402


def build_dataset(envs, env, n, difficulty=None, first_seed=0):
    """Dataset rows {prompt, env, seed, difficulty}: what GRPOTrainer's train_dataset holds."""
    items = [{"env": env, "seed": first_seed + i} for i in range(n)]
    if difficulty is not None:
        for item in items:
            item["difficulty"] = difficulty
    return [{"prompt": t["prompt"], "env": t["env"], "seed": t["seed"], "difficulty": t["difficulty"]} for t in envs.tasks(items)]


def completion_text(completion):
    """TRL passes plain strings, or for chat datasets a list of messages ending with the assistant's."""
    if isinstance(completion, str):
        return completion
    return completion[-1]["content"]


def flywheel_reward(envs):
    """A TRL-style reward function that grades every completion of a batch in one request."""

    def reward_func(prompts, completions, env, seed, difficulty, **kwargs):
        items = [
            {"env": e, "seed": s, "difficulty": d, "completion": completion_text(c)}
            for e, s, d, c in zip(env, seed, difficulty, completions)
        ]
        return [verdict["reward"] for verdict in envs.verify_batch(items)]

    reward_func.__name__ = "flywheel_reward"  # TRL logs rewards under the function's name
    return reward_func


def toy_policy(prompt, rng, skill):
    """Stands in for an LLM on addsub-v1 prompts ('add 482+39', 'sub 48-391'): (completion, what it did)."""
    m = re.fullmatch(r"(add|sub) (\d+)([+-])(\d+)", prompt.strip())
    if m is None or rng.random() < 0.15:
        return rng.choice(["I am not sure.", "Answer:", "Answer: many", "The result is large."]), "junk"
    a, b = int(m.group(2)), int(m.group(4))
    exact = a + b if m.group(3) == "+" else a - b
    if rng.random() < skill:
        return "Answer: %d" % exact, "correct"
    return "Answer: %d" % (exact + rng.choice([-10, -1, 1, 10])), "slip"


def group_advantages(rewards):
    """GRPO's advantage: each reward minus its group's mean, over the group's standard deviation."""
    mean = sum(rewards) / len(rewards)
    std = (sum((r - mean) ** 2 for r in rewards) / len(rewards)) ** 0.5
    return [(r - mean) / (std + 1e-4) for r in rewards]


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--url", default="http://127.0.0.1:8765")
    p.add_argument("--env", default="addsub-v1")
    p.add_argument("--prompts", type=int, default=8, help="prompts per step")
    p.add_argument("--group", type=int, default=4, help="completions per prompt (GRPO's num_generations)")
    p.add_argument("--steps", type=int, default=3)
    p.add_argument("--skill", type=float, default=0.6)
    p.add_argument("--seed", type=int, default=0, help="seeds the toy policy (the same seed gives the same run)")
    p.add_argument("--json", action="store_true", help="print every graded completion as JSON on stdout")
    args = p.parse_args()

    envs = EnvClient(args.url)
    reward_func = flywheel_reward(envs)
    rng = random.Random(args.seed)
    dataset = build_dataset(envs, args.env, n=args.prompts * args.steps)
    graded = []
    for step in range(args.steps):
        batch = dataset[step * args.prompts:(step + 1) * args.prompts]
        rows = [row for row in batch for _ in range(args.group)]  # each prompt repeated group times, as GRPO samples
        samples = [toy_policy(row["prompt"], rng, args.skill) for row in rows]
        completions = [c for c, _ in samples]
        rewards = reward_func(
            prompts=[r["prompt"] for r in rows],
            completions=completions,
            env=[r["env"] for r in rows],
            seed=[r["seed"] for r in rows],
            difficulty=[r["difficulty"] for r in rows],
        )
        advantages = []
        for g in range(0, len(rewards), args.group):
            advantages += group_advantages(rewards[g:g + args.group])
        for row, (completion, kind), reward, adv in zip(rows, samples, rewards, advantages):
            graded.append({"step": step, "env": row["env"], "seed": row["seed"], "difficulty": row["difficulty"],
                           "completion": completion, "kind": kind, "reward": reward, "advantage": round(adv, 4)})
        mean = sum(rewards) / len(rewards)
        print("step %d: mean reward %.3f over %d completions" % (step, mean, len(rewards)), file=sys.stderr)
    if args.json:
        print(json.dumps({"env": args.env, "graded": graded}))


if __name__ == "__main__":
    main()
