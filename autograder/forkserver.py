"""The fork server: import the grader's heavy modules once, then fork one grading child per request.

    python -m autograder.forkserver    (started by autograder.runner.ForkServer)

Reads one JSON request per line on stdin ({"args", "cwd", "timeout", "memory_bytes"}), answers
one JSON line on stdout ({"returncode": int or null after the timeout, "stderr": its end}).
Requests run one at a time, so the server stays single-threaded, as fork requires.
"""
import ctypes
import importlib
import json
import os
import resource
import select
import signal
import sys
import tempfile
import traceback

from autograder.runner import STDERR_TAIL
from learnerbox.worker import PR_SET_CHILD_SUBREAPER, kill_descendants

# torch._dynamo: what a torch optimizer's first call imports (~2 s), here once for every child
PRELOAD = ("torch", "torch._dynamo", "numpy", "pytest", "autograder.child")


def serve():
    for module in PRELOAD:
        importlib.import_module(module)
    # orphans of a run (a worker's detached child, outside bubblewrap) are reparented here, to be killed
    ctypes.CDLL(None).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    for line in sys.stdin:
        reply = run_forked(**json.loads(line))
        sys.stdout.write(json.dumps(reply) + "\n")
        sys.stdout.flush()


def run_forked(args: list[str], cwd: str, timeout: float, memory_bytes: int) -> dict:
    with tempfile.TemporaryFile() as stderr:
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:
            become_child(args, cwd, stderr.fileno(), memory_bytes)
        returncode = wait(pid, timeout)
        kill_descendants()
        stderr.seek(0)
        tail = stderr.read()[-STDERR_TAIL:].decode(errors="replace")
    return {"returncode": returncode, "stderr": tail}


def become_child(args: list[str], cwd: str, stderr_fd: int, memory_bytes: int):
    """Turn this fork into `python -m autograder.child *args` run in `cwd`; never returns."""
    code = 1
    try:
        os.setsid()  # its own process group: a timeout kills whatever it started, too
        resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
        devnull = os.open(os.devnull, os.O_RDWR)
        os.dup2(devnull, 0)
        os.dup2(devnull, 1)
        os.dup2(stderr_fd, 2)
        os.chdir(cwd)
        sys.path[0] = cwd  # as `python -m` run in cwd would have it
        sys.argv = ["autograder.child", *args]
        code = sys.modules["autograder.child"].main(args)
    except SystemExit as exit:
        code = exit_code(exit)
    except BaseException:
        traceback.print_exc()
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(code if isinstance(code, int) else 1)


def exit_code(exit: SystemExit) -> int:
    """What the interpreter would exit with (it prints a non-integer code to stderr)."""
    if exit.code is None or isinstance(exit.code, int):
        return exit.code or 0
    print(exit.code, file=sys.stderr)
    return 1


def wait(pid: int, timeout: float) -> int | None:
    """The child's exit code (negative: killed by that signal), or None if it ran past `timeout`."""
    pidfd = os.pidfd_open(pid)
    try:
        finished, _, _ = select.select([pidfd], [], [], timeout)
        if not finished:
            os.killpg(pid, signal.SIGKILL)
        _, status = os.waitpid(pid, 0)
    finally:
        os.close(pidfd)
    return os.waitstatus_to_exitcode(status) if finished else None


if __name__ == "__main__":
    serve()
