"""The ``asynix`` command line: ``-c LINE``, exit statuses, ``trace``, options, logging.

In-process tests call :func:`asynix.cli.main` (it runs trio itself, so they are plain
functions); the subprocess tests run ``python -m asynix`` as a user would. Interactive
mode on a real terminal is tested in ``test_cli_tmux.py``.
"""

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import structlog

from asynix import cli

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _restore_logging():
    saved = structlog.get_config()
    yield
    structlog.configure(**saved)  # the CLI configures logging globally


def asynix(*args):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "asynix", *args],
        cwd=ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


# -- in process ------------------------------------------------------------------------


def test_command_prints_output_and_exits_0(capsys):
    assert cli.main(["-c", "echo hello world"]) == 0
    assert capsys.readouterr().out == "hello world\n"


@pytest.mark.parametrize(
    ("line", "status"),
    [
        ("true", 0),
        ("false", 1),
        ("exit 3", 3),
        ("echo a; exit 42", 42),
    ],
)
def test_command_exit_status(capsys, line, status):
    assert cli.main(["-c", line]) == status


def test_stdout_and_stderr_go_to_stdout_in_order(capsys):
    assert cli.main(["-c", "echo out; echo err >&2; exit 5"]) == 5
    assert capsys.readouterr() == ("out\nerr\n", "")


def test_unknown_command_is_127(capsys):
    assert cli.main(["-c", "no-such-command"]) == 127
    assert "no-such-command" in capsys.readouterr().out  # the shell's complaint


def test_syntax_error_is_2(capsys):
    assert cli.main(["-c", "if then fi )"]) == 2
    assert capsys.readouterr().out != ""  # the shell says what is wrong


def test_death_by_signal_is_128_plus_signal(capsys):
    assert cli.main(["-c", "kill -9 $$"]) == 128 + 9


def test_options_reach_boot(capsys, monkeypatch):
    seen = {}
    real_boot = cli.boot

    def spy(**options):
        seen.update(options)
        return real_boot(**options)

    monkeypatch.setattr(cli, "boot", spy)
    args = ["--memory", "16M", "--seed", "7", "--policy", "random", "--workers", "2"]
    assert cli.main([*args, "-c", "echo ok"]) == 0
    assert capsys.readouterr().out == "ok\n"
    assert seen == {
        "memory": 16 * 2**20,
        "seed": 7,
        "policy": "random",
        "workers": 2,
        "trace": None,
    }


@pytest.mark.parametrize(("code", "status"), [(0, 0), (1, 1), (255, 255), (-9, 137), (-15, 143)])
def test_shell_status(code, status):
    assert cli.shell_status(code) == status


@pytest.mark.parametrize(
    ("text", "size"), [("4096", 4096), ("16K", 16384), ("64M", 64 * 2**20), ("1g", 2**30)]
)
def test_memory_sizes(text, size):
    assert cli._memory_size(text) == size


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--memory", "12345"], "--memory: 12345: not a positive multiple of 4096"),
        (["--memory", "0"], "--memory: 0: not a positive multiple of 4096"),
        (["--memory", "lots"], "--memory: not a size: 'lots'"),
        (["--memory", "8T"], "--memory: not a size: '8T'"),
        (["--workers", "1"], "--workers: 1: VFS needs at least 2 workers"),
        (["--policy", "lifo"], "--policy: invalid choice: 'lifo'"),
    ],
)
def test_bad_options_are_refused(capsys, args, message):
    with pytest.raises(SystemExit) as exc:
        cli.main([*args, "-c", "true"])
    assert exc.value.code == 2
    assert message in capsys.readouterr().err


def test_disk_is_refused_clearly(capsys):
    assert cli.main(["--disk", "disk.img", "-c", "true"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("asynix: --disk: disk images are not supported yet")


def test_logging_goes_to_the_given_file_at_warning_and_above():
    out = io.StringIO()
    cli._configure_logging(out)
    log = structlog.get_logger("asynix.test")
    log.info("quiet please")
    log.warning("something odd", pid=7)
    text = out.getvalue()
    assert "quiet please" not in text
    assert "something odd" in text
    assert "pid=7" in text
    assert "\x1b[" not in text  # no colours in a log file


def test_log_option_sends_logging_to_a_file(tmp_path, capsys):
    path = tmp_path / "logs" / "asynix.log"
    assert cli.main(["--log", str(path), "-c", "true"]) == 0
    assert path.exists()
    assert capsys.readouterr().err == ""


def test_default_log_path_follows_xdg_state_home(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    assert cli.default_log_path() == tmp_path / "asynix" / "asynix.log"
    monkeypatch.delenv("XDG_STATE_HOME")
    assert cli.default_log_path() == Path.home() / ".local" / "state" / "asynix" / "asynix.log"


# -- trace -----------------------------------------------------------------------------


def _thread_events(events, tid):
    return [e for e in events if e.get("tid") == tid and e.get("ph") == "i"]


def test_trace_writes_perfetto_json_with_the_shell(tmp_path, capsys):
    path = tmp_path / "run.json"
    assert cli.main(["trace", "-o", str(path), "-c", "echo traced"]) == 0
    assert capsys.readouterr().out == "traced\n"
    trace = json.loads(path.read_text())
    events = trace["traceEvents"]
    tracks = [e["args"]["name"] for e in events if e.get("name") == "thread_name"]
    names = {name for track in tracks for name in track.split(" / ")}
    assert {"pm", "vfs", "vm", "tty", "collect", "sh", "echo"} <= names
    # The shell: the process that exec'd (PmExec), then wrote its output and exited.
    shells = {
        e["tid"]
        for e in events
        if e.get("name") == "send" and e.get("args", {}).get("mtype") == "PmExec"
    }
    assert shells
    mtypes = [e["args"].get("mtype") for tid in shells for e in _thread_events(events, tid)]
    assert "VfsWrite" in mtypes
    assert "PmExit" in mtypes
    assert all(isinstance(e["ts"], (int, float)) for e in events if "ts" in e)


def test_trace_needs_an_output_file(capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main(["trace", "-c", "true"])
    assert exc.value.code == 2
    assert "-o" in capsys.readouterr().err


# -- as a program ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "status"),
    [
        ("echo hi", 0),
        ("false", 1),
        ("no-such-command", 127),
        ("if then fi )", 2),
        ("exit 3", 3),
    ],
)
def test_python_m_asynix_exit_status(line, status):
    proc = asynix("-c", line)
    assert proc.returncode == status, proc.stderr


def test_python_m_asynix_output_on_stdout():
    proc = asynix("-c", "echo one; echo two")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "one\ntwo\n"
    assert proc.stderr == ""  # quiet: no log lines below warnings


def test_python_m_asynix_trace(tmp_path):
    path = tmp_path / "t.json"
    proc = asynix("trace", "-o", str(path), "-c", "echo hi")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "hi\n"
    assert json.loads(path.read_text())["traceEvents"]


def test_interactive_needs_a_terminal():
    proc = asynix()
    assert proc.returncode == 2
    assert "must be a terminal" in proc.stderr
