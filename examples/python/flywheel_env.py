"""A client of `flywheel env-server`, using only the Python standard library.

Copy this file next to your trainer (Python 3.8+, no dependencies):

    from flywheel_env import EnvClient

    envs = EnvClient("http://127.0.0.1:8765")          # token: FLYWHEEL_ENV_TOKEN by default
    s = envs.create_session("addsub-v1", seed=4)        # {"session", "kind": "task", "prompt", ...}
    envs.verify(s["session"], "Answer: 53")             # {"reward": 1, "ok": True, "reason": "correct"}
    envs.verify_batch([{"env": "addsub-v1", "seed": 4, "completion": "Answer: 53"}])  # no session needed

Every method returns the server's JSON as dicts and lists (the shapes are in
docs/env-server.md and at GET /schema). Every failure raises EnvServerError,
whose message names the method and URL and whose fields say what went wrong:
status (0 when no HTTP answer came), code ('bad_request', 'not_found', ...,
or 'unreachable' / 'timeout' / 'bad_response') and field (the request field
the server refused, when there is one).
"""

import json
import os
import socket
import urllib.error
import urllib.parse
import urllib.request

__all__ = ["EnvClient", "EnvServerError"]


class EnvServerError(Exception):
    def __init__(self, message, url, status, code, field=None):
        super().__init__(message)
        self.url = url
        self.status = status
        self.code = code
        self.field = field


class EnvClient:
    def __init__(self, url="http://127.0.0.1:8765", token=None, timeout=30.0):
        self.url = url.rstrip("/")
        self.token = token if token is not None else os.environ.get("FLYWHEEL_ENV_TOKEN")
        self.timeout = timeout

    # ---------------------------------------------------------------- the routes

    def health(self):
        return self._call("GET", "/health")

    def schema(self):
        return self._call("GET", "/schema")

    def list_envs(self):
        return self._call("GET", "/envs")["envs"]

    def create_session(self, env, seed=0, difficulty=None):
        """A task's prompt, an episode's first observation or a game's initial position."""
        body = {"env": env, "seed": seed}
        if difficulty is not None:
            body["difficulty"] = difficulty
        return self._call("POST", "/sessions", body)

    def get_session(self, session):
        return self._call("GET", "/sessions/" + _quote(session))

    def step(self, session, action):
        """Multi-turn: one action -> {observation, reward, done, info, turn, totalReward}."""
        return self._call("POST", "/sessions/" + _quote(session) + "/step", {"action": action})

    def verify(self, session, completion):
        """Single-turn: the verdict {reward, ok, reason, detail?} of a completion of the session's task."""
        return self._call("POST", "/sessions/" + _quote(session) + "/verify", {"completion": completion})

    def play(self, session, move):
        """Games: play a move for the player to move -> the new position (result set once over)."""
        return self._call("POST", "/sessions/" + _quote(session) + "/play", {"move": move})

    def close(self, session):
        return self._call("DELETE", "/sessions/" + _quote(session))

    def tasks(self, items):
        """Prompts of many tasks without sessions: items are {env, seed, difficulty?}."""
        return self._call("POST", "/tasks", {"items": list(items)})["tasks"]

    def verify_batch(self, items):
        """Verdicts of many completions without sessions, in order: items are {env, seed, difficulty?, completion}."""
        return self._call("POST", "/verify", {"items": list(items)})["results"]

    # ---------------------------------------------------------------- plumbing

    def _call(self, method, path, body=None):
        url = self.url + path
        where = method + " " + url
        data = None if body is None else json.dumps(body).encode("utf-8")
        req = urllib.request.Request(url, data=data, method=method)
        if data is not None:
            req.add_header("Content-Type", "application/json")
        if self.token:
            req.add_header("Authorization", "Bearer " + self.token)
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as res:
                status, text = res.status, res.read().decode("utf-8")
        except urllib.error.HTTPError as err:  # a 4xx or 5xx: the server's JSON error
            status, text = err.code, err.read().decode("utf-8", "replace")
        except (socket.timeout, TimeoutError):
            raise EnvServerError("%s: no answer within %g s" % (where, self.timeout), url, 0, "timeout") from None
        except urllib.error.URLError as err:
            if isinstance(err.reason, (socket.timeout, TimeoutError)):
                raise EnvServerError("%s: no answer within %g s" % (where, self.timeout), url, 0, "timeout") from None
            raise EnvServerError("%s: cannot reach the env server (%s)" % (where, err.reason), url, 0, "unreachable") from None
        except OSError as err:  # e.g. the connection was reset mid-answer
            raise EnvServerError("%s: cannot reach the env server (%s)" % (where, err), url, 0, "unreachable") from None
        try:
            value = json.loads(text)
        except ValueError:
            raise EnvServerError("%s: HTTP %d with a body that is not JSON: %s" % (where, status, text[:120]), url, status, "bad_response") from None
        if 200 <= status < 300:
            return value
        error = value.get("error") if isinstance(value, dict) else None
        if not isinstance(error, dict) or "message" not in error:
            raise EnvServerError("%s: HTTP %d: %s" % (where, status, text[:200]), url, status, "bad_response")
        message = "%s: %d %s: %s" % (where, status, error.get("code"), error["message"])
        raise EnvServerError(message, url, status, error.get("code"), error.get("field"))


def _quote(session):
    return urllib.parse.quote(str(session), safe="")
