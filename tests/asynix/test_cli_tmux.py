"""``asynix`` on a real terminal: tmux runs it, types into it and reads its screen.

This is the one test on real time by nature (a real terminal, a real process): it polls
tmux's screen for a bounded time and never asserts on durations. A wrapper script
records the terminal's settings (``stty -g``) before asynix starts and after it exits,
and asynix's exit status, so the test can check that raw mode was undone. The shell
runs as root, so its prompt is ``# ``.
"""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
WAIT = 30.0  # seconds of real time before giving up on the screen


class Tmux:
    def __init__(self, tmp_path):
        self.socket = f"asynix-test-{os.getpid()}-{tmp_path.name}"
        self.tmp = tmp_path

    def __call__(self, *args, check=True):
        return subprocess.run(
            ["tmux", "-L", self.socket, *args],
            capture_output=True,
            text=True,
            timeout=30,
            check=check,
        )

    def start(self, cols=80, rows=24):
        script = self.tmp / "run.sh"
        script.write_text(
            "#!/bin/sh\n"
            f"cd {ROOT}\n"
            f"export PYTHONPATH={ROOT}\n"
            f"stty -g > {self.tmp}/before\n"
            f"sh -c 'echo $$ > {self.tmp}/pid; exec \"$0\" -m asynix --log {self.tmp}/log' "
            f"{sys.executable}\n"
            f"echo $? > {self.tmp}/status\n"
            f"stty -g > {self.tmp}/after\n"
        )
        script.chmod(0o755)
        self("new-session", "-d", "-s", "t", "-x", str(cols), "-y", str(rows), str(script))

    def screen(self):
        return self("capture-pane", "-p", "-t", "t", check=False).stdout

    def wait_for(self, predicate, what):
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline:
            if predicate():
                return
            time.sleep(0.05)
        pytest.fail(f"{what} within {WAIT}s; screen:\n{self.screen()}")

    def alive(self):
        return self("has-session", "-t", "t", check=False).returncode == 0


@pytest.fixture
def tmux(tmp_path):
    t = Tmux(tmp_path)
    try:
        yield t
    finally:
        t("kill-server", check=False)
        tmpdir = Path(os.environ.get("TMUX_TMPDIR", "/tmp"))
        (tmpdir / f"tmux-{os.getuid()}" / t.socket).unlink(missing_ok=True)


def _lines(screen):
    return [line.rstrip() for line in screen.splitlines()]


def test_shell_on_a_real_terminal(tmux, tmp_path):
    tmux.start()
    tmux.wait_for(lambda: "#" in _lines(tmux.screen()), "no '# ' prompt")
    pane_tty = tmux("display-message", "-p", "-t", "t", "#{pane_tty}").stdout.strip()
    during = subprocess.run(
        ["stty", "-g", "-F", pane_tty], capture_output=True, text=True, check=True
    ).stdout
    assert during != (tmp_path / "before").read_text()  # raw mode while asynix runs

    tmux("send-keys", "-t", "t", "echo hello", "Enter")
    expected = ["# echo hello", "hello", "#"]
    tmux.wait_for(lambda: _lines(tmux.screen())[:3] == expected, f"no {expected}")

    tmux("send-keys", "-t", "t", "exit 4", "Enter")
    tmux.wait_for(lambda: not tmux.alive(), "the session did not end")
    assert (tmp_path / "status").read_text() == "4\n"
    assert (tmp_path / "after").read_text() == (tmp_path / "before").read_text()


def test_sigterm_restores_the_terminal(tmux, tmp_path):
    tmux.start()
    tmux.wait_for(lambda: "#" in _lines(tmux.screen()), "no '# ' prompt")
    pid = int((tmp_path / "pid").read_text())  # python -m asynix
    os.kill(pid, 15)
    tmux.wait_for(lambda: not tmux.alive(), "the session did not end")
    assert (tmp_path / "status").read_text() == f"{128 + 15}\n"
    assert (tmp_path / "after").read_text() == (tmp_path / "before").read_text()


def test_window_size_follows_the_real_terminal(tmux, tmp_path):
    tmux.start(cols=100, rows=30)
    tmux.wait_for(lambda: "#" in _lines(tmux.screen()), "no '# ' prompt")
    tmux("send-keys", "-t", "t", "stty size", "Enter")
    tmux.wait_for(lambda: "30 100" in _lines(tmux.screen()), "no initial size")
    tmux("resize-window", "-t", "t", "-x", "90", "-y", "20")  # a SIGWINCH for asynix
    tmux("send-keys", "-t", "t", "clear; stty size", "Enter")
    tmux.wait_for(lambda: "20 90" in _lines(tmux.screen()), "no new size")
    tmux("send-keys", "-t", "t", "exit", "Enter")
    tmux.wait_for(lambda: not tmux.alive(), "the session did not end")
    assert (tmp_path / "status").read_text() == "0\n"
