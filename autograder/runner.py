"""Start the trusted grading processes: `run(args, cwd)` runs `python -m autograder.child *args` once.

A grading run is a process of its own (its own session, a memory cap, stdin and stdout on
/dev/null, a wall timeout). It runs no learner code itself: it starts the submission's worker
(autograder.sandbox) in the mode `sandbox_mode` names. Two runners do this:

* `ForkServer` (Linux): a server process imports torch, pytest and the grader once, then forks
  one child per run. `import torch` takes ~2 s, longer than most gradings, so a class of
  notebooks or a catalogue of mutants grades several times faster.
* `Subprocesses` (anywhere): a fresh interpreter per run. macOS cannot safely fork a process
  that has imported torch; and one notebook alone grades faster this way.

Both return (exit code, or None after the timeout; the end of the child's stderr).
`child_runner(sandbox)` picks the runner and the worker's sandbox: bubblewrap where it can run.
"""
import json
import os
import resource
import subprocess
import sys
import tempfile

from autograder.course import REPO

MEMORY_BYTES = 4 << 30
WALL_SECONDS = 120
STDERR_TAIL = 4096


def child_env() -> dict:
    env = dict(os.environ, PYTHONHASHSEED="0", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1",
               MPLBACKEND="Agg", PYTHONDONTWRITEBYTECODE="1", PYTEST_DISABLE_PLUGIN_AUTOLOAD="1")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    return env


def limit_memory():
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_BYTES, MEMORY_BYTES))


class Runner:
    """Runs grading children; a context manager, so that a server it started is stopped.
    `sandbox_mode`: how the children start learner workers ("bubblewrap", "fork", "subprocess")."""
    sandbox_mode = "subprocess"

    def run(self, args: list[str], cwd: str) -> tuple[int | None, str]:
        raise NotImplementedError

    def close(self):
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class Subprocesses(Runner):
    def run(self, args: list[str], cwd: str) -> tuple[int | None, str]:
        try:
            process = subprocess.run([sys.executable, "-m", "autograder.child", *args], cwd=cwd, env=child_env(),
                                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE, timeout=WALL_SECONDS,
                                     preexec_fn=limit_memory, start_new_session=True)
        except subprocess.TimeoutExpired:
            return None, ""
        return process.returncode, process.stderr[-STDERR_TAIL:].decode(errors="replace")


class ForkServer(Runner):
    """The client side of `python -m autograder.forkserver`: one JSON line per run, each way."""

    def __init__(self):
        self.server = None
        self.log = None

    def run(self, args: list[str], cwd: str) -> tuple[int | None, str]:
        if self.server is None or self.server.poll() is not None:
            self._start()
        request = {"args": args, "cwd": cwd, "timeout": WALL_SECONDS, "memory_bytes": MEMORY_BYTES}
        try:
            self.server.stdin.write(json.dumps(request) + "\n")
            self.server.stdin.flush()
            reply = json.loads(self.server.stdout.readline())
        except (BrokenPipeError, json.JSONDecodeError):
            raise RuntimeError(f"the grader's fork server stopped: {self._log_tail()}") from None
        return reply["returncode"], reply["stderr"]

    def _start(self):
        self.close()
        self.log = tempfile.TemporaryFile()
        self.server = subprocess.Popen([sys.executable, "-m", "autograder.forkserver"], cwd=REPO, env=child_env(),
                                       stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.log, text=True)

    def _log_tail(self) -> str:
        self.log.seek(0)
        return self.log.read()[-STDERR_TAIL:].decode(errors="replace").strip() or "no message"

    def close(self):
        if self.server is not None:
            self.server.stdin.close()
            self.server.wait()
            self.server = None
        if self.log is not None:
            self.log.close()
            self.log = None


class SandboxUnavailable(RuntimeError):
    pass


def child_runner(sandbox: bool | None = None, many: bool = True) -> Runner:
    """The fastest runner this platform supports; use it as a context manager.
    sandbox: True requires bubblewrap, False grades unsandboxed, None uses bubblewrap if it runs.
    many: whether it will grade more than one notebook. The fork server's imports pay off from its
    second run; one run is faster in a fresh interpreter, which imports only what that run needs
    (02's checks never import torch) and starts the sandbox while it imports."""
    from autograder.sandbox import bubblewrap_available
    runner = ForkServer() if sys.platform == "linux" and many else Subprocesses()
    if sandbox is not False and bubblewrap_available():
        runner.sandbox_mode = "bubblewrap"
    elif sandbox:
        raise SandboxUnavailable(SANDBOX_MISSING)
    else:
        runner.sandbox_mode = "fork" if isinstance(runner, ForkServer) else "subprocess"
    return runner


SANDBOX_MISSING = ("bubblewrap (`bwrap`) is not installed or cannot create namespaces here "
                   "(on Debian or Ubuntu: apt-get install bubblewrap)")
NOT_SANDBOXED = ("note: grading is not sandboxed (bubblewrap cannot run here): learner code runs in "
                 "separate processes with limits, but can read the file system and use the network")
