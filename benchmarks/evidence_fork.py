"""A fork server for the evidence's project commands: import once, fork once per command.

A training run of a baseline on the digits takes 3-4 s of training and 8-9 s of imports
in a new process (torch 3 s, scikit-learn 2 s for the split, torch._dynamo 2 s inside
the first optimizer, matplotlib 1-2 s for the curves): two thirds of every evidence
run was Python starting. A server started in the project folder imports those and every
module of the project's package once, then forks a child per command; the child runs
`cli.main(args)` (what `python -m <package> ARGS` runs), its stdout and stderr going to
files, and exits with main's code. Each command still runs in a process of its own: it
starts from the same fresh state a new process has after those imports (the runs seed
everything themselves), and nothing it does reaches the next one.
tests/test_evidence_lab.py checks that a run through the server and the same run as a
plain subprocess write the same numbers.

Protocol (one JSON object a line): the client writes {"args": [...], "stdout": path,
"stderr": path}; the server answers {"returncode": int, "cpu_seconds": float} when the
child has exited (`os.wait4`, so the CPU seconds are that child's alone). End of input
ends the server.

    python benchmarks/evidence_fork.py PACKAGE      # in the project folder, src/ on PYTHONPATH
"""

from __future__ import annotations

import importlib
import json
import os
import queue
import subprocess
import sys
import tempfile
import threading
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO


def preload(package: str) -> Any:
    """Import what every command imports, and the package's every module; the cli module."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot  # noqa: F401
    import sklearn.model_selection  # noqa: F401
    import torch
    import torch._dynamo  # noqa: F401  (imported by the first optimizer of every run)

    assert torch.get_num_threads() >= 1
    cli = importlib.import_module(f"{package}.cli")
    for path in sorted(Path(cli.__file__).parent.glob("*.py")):
        if path.stem not in {"__main__", "__init__"}:
            importlib.import_module(f"{package}.{path.stem}")
    return cli


def threads() -> int:
    """This process's OS threads (Linux); forking is only safe with one."""
    try:
        return len(os.listdir("/proc/self/task"))
    except OSError:
        return 1


def child(cli: Any, request: dict[str, Any]) -> None:
    """In the forked child: run the command, its output to the request's files; never returns."""
    code = 1
    try:
        for fd, name in ((1, "stdout"), (2, "stderr")):
            target = os.open(request[name], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
            os.dup2(target, fd)
            os.close(target)
        sys.argv = [cli.__package__, *request["args"]]
        code = int(cli.main(list(request["args"])) or 0)
    except SystemExit as stop:
        if isinstance(stop.code, int):
            code = stop.code
        elif stop.code is not None:
            print(stop.code, file=sys.stderr)
    except BaseException:  # the child's own traceback, as a plain process would print it
        traceback.print_exc()
    finally:
        try:
            import logging

            logging.shutdown()
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(code)


def serve(package: str, lines: TextIO, answers: TextIO) -> None:
    cli = preload(package)
    if threads() != 1:  # a thread in the server would be missing, half-way, in the child
        raise SystemExit(f"evidence_fork: {threads()} threads after the imports; cannot fork")
    for line in lines:
        request = json.loads(line)
        pid = os.fork()
        if pid == 0:
            child(cli, request)
        _, status, usage = os.wait4(pid, 0)
        reply = {
            "returncode": os.waitstatus_to_exitcode(status),
            "cpu_seconds": usage.ru_utime + usage.ru_stime,
        }
        answers.write(json.dumps(reply) + "\n")
        answers.flush()


class Forks:
    """`jobs` fork servers for one project; `run` takes a free one (threads may share this)."""

    def __init__(self, project: Path, package: str, env: dict[str, str], jobs: int) -> None:
        self.project, self.package, self.env, self.jobs = project, package, env, jobs
        self.free: queue.Queue[subprocess.Popen] = queue.Queue()
        self.started: list[subprocess.Popen] = []
        self.lock = threading.Lock()
        self.logs = Path(tempfile.mkdtemp(prefix="evidence-fork-"))

    def _server(self) -> subprocess.Popen:
        try:
            return self.free.get_nowait()
        except queue.Empty:
            pass
        with self.lock:
            if len(self.started) < self.jobs:
                server = subprocess.Popen(
                    [sys.executable, __file__, self.package],
                    cwd=self.project,
                    env=self.env,
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    text=True,
                )
                self.started.append(server)
                return server
        return self.free.get()

    def run(self, args: Sequence[str]) -> tuple[subprocess.CompletedProcess, float]:
        """`python -m <package> ARGS` in a forked child: its result (output captured, as
        subprocess.run gives it) and its CPU seconds."""
        server = self._server()
        try:
            with tempfile.NamedTemporaryFile(dir=self.logs, delete=False) as out:
                pass
            err = Path(out.name + ".err")
            request = {"args": list(args), "stdout": out.name, "stderr": str(err)}
            assert server.stdin is not None and server.stdout is not None
            server.stdin.write(json.dumps(request) + "\n")
            server.stdin.flush()
            answer = server.stdout.readline()
            if not answer:
                raise SystemExit(f"the fork server of {self.package} stopped (exit code "
                                 f"{server.wait()}): see its error output above")  # fmt: skip
            reply = json.loads(answer)
            texts = [Path(out.name).read_text(errors="replace"), err.read_text(errors="replace")]
            Path(out.name).unlink()
            err.unlink()
        finally:
            self.free.put(server)
        done = subprocess.CompletedProcess(
            [self.package, *args], reply["returncode"], texts[0], texts[1]
        )
        return done, float(reply["cpu_seconds"])

    def close(self) -> None:
        for server in self.started:
            if server.stdin is not None:
                server.stdin.close()
            server.wait()
        self.started.clear()
        self.free = queue.Queue()
        for path in self.logs.glob("*"):
            path.unlink()
        self.logs.rmdir()


if __name__ == "__main__":
    serve(sys.argv[1], sys.stdin, sys.stdout)
