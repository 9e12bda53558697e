"""Start one submission's worker zygote, sandboxed by bubblewrap where it can run.

Under bubblewrap (`bwrap`, Linux) the zygote and every process learner code starts share a PID
namespace of their own (killing the sandbox kills them all), have no network, see the Python
environment read-only, a private read-only copy of the submission's folder, `coursekit` and
`learnerbox`, and a private 64 MiB /tmp — nothing of `source/`, `solutions/`, `autograder/`, the
gradebook, other submissions or the home directory — with a scrubbed environment. Elsewhere
(macOS, containers without user namespaces) the zygote is a plain process: the process boundary
and the limits still hold, the file system and the network are not hidden.

Either way, a watchdog thread here adds up the memory and the number of all the submission's
processes and kills them all past MEMORY_BYTES or MAX_PROCESSES.
"""
import functools
import os
import resource
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from autograder.course import REPO
from learnerbox import wire

MEMORY_BYTES = 4 << 30
MAX_PROCESSES = 64
TMP_BYTES = 64 << 20
STARTUP_SECONDS = 60
WATCH_SECONDS = 0.1
SUBMISSION_FILE_BYTES = 8 << 20
SUBMISSION_FILES = 50
WORKER_LIMITS = {"RLIMIT_CPU": 300, "RLIMIT_FSIZE": 64 << 20, "RLIMIT_NOFILE": 256, "RLIMIT_CORE": 0,
                 "RLIMIT_MSGQUEUE": 0, "RLIMIT_AS": MEMORY_BYTES}
# `import matplotlib...` is imported at first use (learnerbox.definitions); `from matplotlib` is not
PRELOAD = {"torch": "torch", "numpy": "numpy", "regex": "regex"}
EAGER_PRELOAD = {"matplotlib": "matplotlib.pyplot"}
# a torch optimizer's first call imports torch._dynamo (~2 s): once per submission, not per exercise
USE_PRELOAD = {"torch.optim": "torch._dynamo"}


class SandboxStopped(Exception):
    """The worker side is gone: it crashed, was killed, or broke the channel; the message says why."""


class WorkerTimeout(Exception):
    """The worker did not answer in time."""


@functools.cache
def bubblewrap_available() -> bool:
    if sys.platform != "linux" or shutil.which("bwrap") is None:
        return False
    probe = subprocess.run(["bwrap", "--unshare-all", "--die-with-parent", "--ro-bind", "/", "/", "true"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return probe.returncode == 0


def modules_to_preload(code: str, checks: str = "") -> list[str]:
    """The heavy modules a notebook imports or its code and checks use, so that the zygote imports
    them once for all its workers."""
    return [module for name, module in PRELOAD.items() if f"import {name}" in code or f"from {name}" in code] + \
        [module for name, module in EAGER_PRELOAD.items() if f"from {name}" in code] + \
        [module for name, module in USE_PRELOAD.items() if name in code + checks]


class Sandbox:
    """A zygote (learnerbox.worker) for one submission, and the channel to it.

    `mode` is "bubblewrap" (sandboxed), "fork" (unsandboxed, forked from this process, which has
    already imported torch: call it before loading anything secret) or "subprocess" (unsandboxed,
    a fresh interpreter)."""

    def __init__(self, submission: Path, preload: list[str], mode: str, plots: bool = False):
        self.mode = mode
        self.folder = Path(tempfile.mkdtemp(prefix="grading-"))
        self.stderr = tempfile.TemporaryFile()
        self.stopped = ""  # why the sandbox was stopped, once it has been
        self.ready = False
        copy = self.folder / "submission"
        copy_submission(submission, copy)
        scratch = self.folder / "scratch"
        scratch.mkdir()
        fonts = matplotlib_font_cache() if plots else None
        if fonts and mode != "bubblewrap":
            (scratch / "matplotlib").mkdir()
            shutil.copyfile(fonts, scratch / "matplotlib" / fonts.name)
        control_read, self.control = os.pipe()
        if mode == "bubblewrap":
            workdir = f"/home/learner/{submission.parent.name or 'submission'}"
            command = bubblewrap_command(copy, workdir, [str(control_read), "/tmp", *preload], fonts)
            self.process = Spawned(command, None, {"PATH": os.environ.get("PATH", "/usr/bin:/bin")},
                                   self.stderr.fileno(), control_read)
        elif mode == "subprocess":
            command = [sys.executable, "-m", "learnerbox.worker", str(control_read), str(scratch), *preload]
            self.process = Spawned(command, copy, worker_environment(str(scratch), str(REPO)), self.stderr.fileno(),
                                   control_read)
        else:
            self.process = Forked(copy, scratch, preload, self.stderr.fileno(), control_read)
        os.close(control_read)
        self.channel = TrustedChannel(self.process.read_fd, self.process.write_fd)
        self.watchdog = threading.Thread(target=self._watch, daemon=True)
        self.watchdog.start()

    def wait_ready(self):
        if not self.ready:
            reply = self.receive(time.monotonic() + STARTUP_SECONDS, "starting the grading worker")
            if reply != {"ready": True}:
                self.stop(f"the grading worker did not start ({self._stderr_tail()})")
            self.ready = True

    def send(self, message: dict, deadline: float):
        self._check_running()
        try:
            self.channel.send(message, deadline)
        except (OSError, WorkerTimeout) as error:
            self.stop(f"the worker stopped reading ({type(error).__name__})")

    def receive(self, deadline: float, doing: str):
        self._check_running()
        try:
            return self.channel.receive(deadline)
        except WorkerTimeout:
            raise
        except EOFError:
            self.stop(self.stopped or f"the grading worker ended while {doing} ({self._stderr_tail()})")
        except wire.WireError as error:
            self.stop(f"your code broke the grader's channel while {doing}: {error}")

    def interrupt(self, deadline: float):
        """Kill the running worker (it ran out of time) and wait for the zygote to report it ended."""
        try:
            os.write(self.control, b"k")
            while "ended" not in self.receive(deadline, "stopping a worker that ran too long"):
                pass
        except (OSError, WorkerTimeout):
            self.stop("a worker that ran too long could not be stopped")

    def stop(self, why: str):
        """Kill every process of the submission and raise SandboxStopped(why)."""
        self.stopped = self.stopped or why
        self.close()
        raise SandboxStopped(self.stopped)

    def close(self):
        if not self.process.closed:
            self.process.kill()
            self.process.close()
            os.close(self.control)
            shutil.rmtree(self.folder, ignore_errors=True)
            self.stderr.close()

    def _check_running(self):
        if self.stopped:
            raise SandboxStopped(self.stopped)

    def _watch(self):
        while not self.process.closed and not self.stopped:
            usage = [rss for _, rss in processes_under(self.process.pid)]
            reason = ""
            if sum(usage) > MEMORY_BYTES:
                reason = f"its processes used more than {MEMORY_BYTES >> 30} GiB of memory together"
            elif len(usage) > MAX_PROCESSES:
                reason = f"it started more than {MAX_PROCESSES} processes"
            if reason:
                self.stopped = f"it was stopped: {reason}"
                self.process.kill()
                return
            time.sleep(WATCH_SECONDS)

    def _stderr_tail(self) -> str:
        try:
            self.stderr.seek(0, os.SEEK_END)
            size = self.stderr.tell()
            self.stderr.seek(max(0, size - 2000))
            lines = self.stderr.read().decode(errors="replace").strip().splitlines()
            return lines[-1][:300] if lines else "no message"
        except (OSError, ValueError):
            return "no message"


class Spawned:
    """The zygote as a new program (bubblewrap, or a fresh interpreter), in a session of its own."""

    def __init__(self, command: list[str], cwd, env, stderr_fd: int, control_fd: int):
        to_worker, from_worker = os.pipe(), os.pipe()
        self.popen = subprocess.Popen(command, cwd=cwd, env=env, stdin=to_worker[0], stdout=from_worker[1],
                                      stderr=stderr_fd, pass_fds=(control_fd,), preexec_fn=_limit_memory,
                                      start_new_session=True)
        self.pid = self.popen.pid
        self._keep(to_worker, from_worker)

    def _keep(self, to_worker, from_worker):
        os.close(to_worker[0])
        os.close(from_worker[1])
        self.write_fd, self.read_fd = to_worker[1], from_worker[0]
        self.closed = False

    def kill(self):
        """Kill the zygote, its session and everything below it (orphans stay below its subreaper)."""
        for pid in [self.pid, *descendants(self.pid)]:
            _kill(pid)
        try:
            os.killpg(self.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass

    def close(self):
        self.closed = True
        self._reap()
        for fd in (self.read_fd, self.write_fd):
            os.close(fd)

    def _reap(self):
        self.popen.wait()


class Forked(Spawned):
    """The zygote as a fork of this process: torch and friends are already imported."""

    def __init__(self, copy: Path, scratch: Path, preload: list[str], stderr_fd: int, control_fd: int):
        to_worker, from_worker = os.pipe(), os.pipe()
        self.pid = os.fork()
        if self.pid == 0:
            try:
                os.setsid()
                _limit_memory()
                os.dup2(to_worker[0], 0)
                os.dup2(from_worker[1], 1)
                os.dup2(stderr_fd, 2)
                os.dup2(control_fd, 3)
                os.closerange(4, resource.getrlimit(resource.RLIMIT_NOFILE)[0])
                os.chdir(copy)
                os.environ.clear()
                os.environ.update(worker_environment(str(scratch), str(REPO)))
                sys.argv = ["learnerbox.worker"]  # the trusted process's arguments name its results file
                from learnerbox.worker import zygote
                zygote(3, scratch, preload)
            finally:
                os._exit(0)
        self._keep(to_worker, from_worker)

    def _reap(self):
        try:
            os.waitpid(self.pid, 0)
        except ChildProcessError:
            pass


class TrustedChannel:
    """Frames to and from the worker, each read or write with a deadline."""

    def __init__(self, read_fd: int, write_fd: int):
        self.read_fd = read_fd
        self.write_fd = write_fd
        os.set_blocking(write_fd, False)

    def send(self, value, deadline: float):
        view = memoryview(wire.encode(value))
        while view:
            self._wait(self.write_fd, deadline, write=True)
            try:
                view = view[os.write(self.write_fd, view):]
            except BlockingIOError:
                continue

    def receive(self, deadline: float):
        return wire.decode(wire.read_frame(self.read_fd, lambda: self._wait(self.read_fd, deadline)))

    @staticmethod
    def _wait(fd: int, deadline: float, write: bool = False):
        left = deadline - time.monotonic()
        ready = select.select([], [fd], [], max(0.0, left)) if write else select.select([fd], [], [], max(0.0, left))
        if not any(ready):
            raise WorkerTimeout


def bubblewrap_command(copy: Path, workdir: str, arguments: list[str], fonts: Path | None = None) -> list[str]:
    command = ["bwrap", "--unshare-all", "--die-with-parent", "--new-session", "--clearenv",
               "--proc", "/proc", "--dev", "/dev", "--size", str(TMP_BYTES), "--tmpfs", "/tmp"]
    if fonts:
        command += ["--ro-bind", str(fonts), f"/tmp/matplotlib/{fonts.name}"]
    for path in ("/usr", "/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d", "/etc/fonts",
                 "/etc/localtime", *python_paths()):
        if os.path.lexists(path):
            command += ["--symlink", os.readlink(path), path] if os.path.islink(path) else ["--ro-bind", path, path]
    for link in ("/bin", "/lib", "/lib64", "/sbin"):
        if os.path.islink(link):
            command += ["--symlink", os.readlink(link), link]
        elif os.path.isdir(link):
            command += ["--ro-bind", link, link]
    for package in ("learnerbox", "coursekit"):
        command += ["--ro-bind", str(REPO / package), str(REPO / package)]
    command += ["--ro-bind", str(copy), workdir, "--chdir", workdir]
    for name, value in worker_environment("/tmp", str(REPO)).items():
        command += ["--setenv", name, value]
    return command + [sys.executable, "-m", "learnerbox.worker", *arguments]


def python_paths() -> list[str]:
    """The interpreter's installation and its site-packages, outermost first."""
    import site
    paths = {sys.base_prefix, sys.prefix, sys.exec_prefix, *site.getsitepackages()}
    paths.add(str(Path(sys.executable).resolve().parent.parent))
    ordered = sorted(paths, key=len)
    return [p for i, p in enumerate(ordered) if not any(p.startswith(q + os.sep) for q in ordered[:i])]


def matplotlib_font_cache() -> Path | None:
    """The font list the grader's own matplotlib cached (where matplotlib.get_cachedir() puts it
    on Linux; found without importing matplotlib, ~0.5 s). A sandbox starts with an empty config
    folder, where `import matplotlib.pyplot` would otherwise rebuild it every time (~0.5-1 s)."""
    folder = os.environ.get("MPLCONFIGDIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "matplotlib")
    found = sorted(Path(folder).glob("fontlist-v*.json"), key=lambda path: path.stat().st_mtime)
    return found[-1] if found else None


def worker_environment(scratch: str, pythonpath: str) -> dict:
    """All the environment learner code sees: nothing of the grader's own."""
    return {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": scratch, "TMPDIR": scratch, "LANG": "C.UTF-8",
            "PYTHONPATH": pythonpath, "PYTHONHASHSEED": "0", "PYTHONDONTWRITEBYTECODE": "1",
            "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "MPLBACKEND": "Agg",
            "MPLCONFIGDIR": f"{scratch}/matplotlib"}


def copy_submission(submission: Path, copy: Path):
    """The notebook and the regular files beside it (a module it imports, a data file), capped."""
    copy.mkdir()
    folder = submission.parent
    siblings = sorted(p for p in folder.iterdir() if p.is_file() and not p.is_symlink() and p != submission) \
        if folder.is_dir() else []
    for path in [submission, *siblings][:SUBMISSION_FILES]:
        if path.is_file() and not path.is_symlink() and path.stat().st_size <= SUBMISSION_FILE_BYTES:
            shutil.copyfile(path, copy / path.name)


def processes_under(root: int) -> list[tuple[int, int]]:
    """(pid, resident bytes) of `root` and every process below it."""
    table = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat", "rb") as stat:
                    fields = stat.read().rsplit(b")", 1)[1].split()
                table[int(entry)] = (int(fields[1]), int(fields[21]) * resource.getpagesize())
            except (OSError, IndexError, ValueError):
                continue
    found, frontier = [], [root]
    while frontier:
        parent = frontier.pop()
        if parent in table:
            found.append((parent, table[parent][1]))
        frontier += [pid for pid, (ppid, _) in table.items() if ppid == parent]
    return found


def descendants(root: int) -> list[int]:
    return [pid for pid, _ in processes_under(root) if pid != root]


def _kill(pid: int):
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def _limit_memory():
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_BYTES, MEMORY_BYTES))
