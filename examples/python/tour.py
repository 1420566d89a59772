"""A tour of `flywheel env-server` from Python: every kind of environment and
what the server says when a request is wrong.

    python3 examples/python/tour.py --url http://127.0.0.1:8765 [--json]

  1. a task: create a session, read its prompt, grade a wrong answer, close it;
  2. a multi-turn episode (guess-number-v1): binary search on the
     higher/lower hints until the episode is done;
  3. a game (tictactoe-v1): both sides play the lowest legal cell until the
     game ends;
  4. mistakes: an unknown environment, an illegal move, a closed session.

With --json it prints what happened (transcripts, moves, errors) on stdout,
which the test suite replays against the environments themselves.
"""

import argparse
import json
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from flywheel_env import EnvClient, EnvServerError  # noqa: E402


def task_demo(envs):
    s = envs.create_session("addsub-v1", seed=7, difficulty=3)
    verdict = envs.verify(s["session"], "Answer: not a number")
    again = envs.get_session(s["session"])
    envs.close(s["session"])
    print("task: %r -> %s" % (s["prompt"], verdict["reason"]), file=sys.stderr)
    return {"prompt": s["prompt"], "same_prompt_again": again["prompt"] == s["prompt"], "verdict": verdict}


def episode_demo(envs, seed):
    s = envs.create_session("guess-number-v1", seed=seed, difficulty=2)
    hi = int(re.search(r"from 1 to (\d+)", s["observation"]).group(1))
    lo, steps = 1, []
    observation, done = s["observation"], False
    while not done:
        guess = (lo + hi) // 2
        r = envs.step(s["session"], "Answer: %d" % guess)
        steps.append({"action": "Answer: %d" % guess, "observation": r["observation"], "reward": r["reward"], "done": r["done"]})
        observation, done = r["observation"], r["done"]
        if "higher" in observation:
            lo = guess + 1
        elif "lower" in observation:
            hi = guess - 1
    envs.close(s["session"])
    print("episode: done after %d guesses, total reward %g" % (len(steps), r["totalReward"]), file=sys.stderr)
    return {"seed": seed, "difficulty": 2, "first": s["observation"], "steps": steps, "total_reward": r["totalReward"], "reason": r["info"].get("reason")}


def game_demo(envs):
    s = envs.create_session("tictactoe-v1")
    state = s
    while state["result"] is None:
        state = envs.play(s["session"], min(state["legalMoves"]))
    envs.close(s["session"])
    print("game: %s after %d moves\n%s" % ({1: "X won", -1: "O won", 0: "draw"}[state["result"]], len(state["moves"]), state["board"]), file=sys.stderr)
    return {"moves": state["moves"], "result": state["result"], "board": state["board"]}


def mistakes(envs):
    out = {}
    for name, call in [
        ("unknown_env", lambda: envs.create_session("addsub", seed=1)),
        ("bad_seed", lambda: envs.create_session("addsub-v1", seed=-3)),
        ("illegal_move", lambda: illegal_move(envs)),
        ("closed_session", lambda: closed_session(envs)),
    ]:
        try:
            call()
            out[name] = None
        except EnvServerError as err:
            out[name] = {"status": err.status, "code": err.code, "field": err.field, "message": str(err)}
            print("%s: %s" % (name, err), file=sys.stderr)
    return out


def illegal_move(envs):
    s = envs.create_session("connect4-v1")
    try:
        envs.play(s["session"], 9)
    finally:
        envs.close(s["session"])


def closed_session(envs):
    s = envs.create_session("retry-arith-v1", seed=2)
    envs.close(s["session"])
    envs.step(s["session"], "Answer: 1")


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--url", default="http://127.0.0.1:8765")
    p.add_argument("--seed", type=int, default=11)
    p.add_argument("--json", action="store_true")
    args = p.parse_args()
    envs = EnvClient(args.url)
    report = {
        "health": envs.health(),
        "envs": [e["id"] for e in envs.list_envs()],
        "routes": [r["method"] + " " + r["path"] for r in envs.schema()["routes"]],
        "task": task_demo(envs),
        "episode": episode_demo(envs, args.seed),
        "game": game_demo(envs),
        "mistakes": mistakes(envs),
        "open_sessions_after": envs.health()["sessions"],
    }
    if args.json:
        print(json.dumps(report))


if __name__ == "__main__":
    main()
