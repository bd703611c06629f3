"""What a new user meets without reading further than the README: the default results
folder, errors from --set, a bad option, a group that is not there."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

import simdc.cli as cli
from simdc.cli import app

CONFIG = ('[simulation]\nduration_s = 600\nplatforms = ["vm"]\n[host]\ncpu_cores = 16\nmemory_gib = 32\n'
          '[workload.synthetic]\narrival_rate_per_s = 0.01\n')


def test_two_runs_started_together_each_get_their_own_default_folder(tmp_path):
    """Two `simdc run c.toml` at once, neither given --out: each writes a whole results
    folder of its own under results/ (the second was refused: 'another simdc run (pid …)
    is writing it', both having picked results/c-STAMP)."""
    (tmp_path / "c.toml").write_text(CONFIG)
    command = [sys.executable, "-m", "simdc", "run", "c.toml", "--format", "csv"]
    runs = [subprocess.Popen(command, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for _ in range(2)]
    done = [run.communicate(timeout=120) for run in runs]
    assert [run.returncode for run in runs] == [0, 0], done
    folders = sorted((tmp_path / "results").iterdir())
    assert len(folders) == 2 and all((folder / "manifest.json").is_file() for folder in folders), folders
    assert all(folder.name.startswith("c-") for folder in folders)


def test_a_default_folder_taken_in_the_same_second_gets_a_suffix(tmp_path, monkeypatch, frozen_results_clock):
    """The name another run made a moment ago (results/c-STAMP) is left alone: -2."""
    monkeypatch.chdir(tmp_path)
    Path("c.toml").write_text(CONFIG)
    Path("results/c-20261130-091004").mkdir(parents=True)
    result = CliRunner().invoke(app, ["run", "c.toml"])
    assert result.exit_code == 0, result.output
    assert not any(Path("results/c-20261130-091004").iterdir())
    assert Path("results/c-20261130-091004-2/manifest.json").is_file()


@pytest.mark.parametrize("command", [["run", "c.toml"], ["sweep", "c.toml", "--grid", "host.memory_gib=16,32",
                                                         "--workers", "1"]])
def test_an_interrupted_run_leaves_no_empty_default_folder(tmp_path, monkeypatch, command):
    """The default folder is made before the run; a run that writes nothing removes it."""
    import simdc.sweeping

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "simulate", interrupted)
    monkeypatch.setattr(simdc.sweeping, "run_point", interrupted)
    monkeypatch.chdir(tmp_path)
    Path("c.toml").write_text(CONFIG)
    result = CliRunner().invoke(app, command)
    assert result.exit_code == 130, result.output
    assert not Path("results").exists() or not any(Path("results").iterdir()), list(Path("results").iterdir())


CONFIGS = Path(__file__).resolve().parents[1] / "configs"


@pytest.mark.parametrize("override, expected", [
    ("cells.1.share=0", "--set cells.1.share=0: must be > 0 (got 0)"),
    ("workload.synthetic.sizes=[{cpu_cores=2}]",
     "--set workload.synthetic.sizes=[{cpu_cores=2}]: workload.synthetic.sizes[0].memory_gib: required key is missing"),
])
def test_an_error_in_a_value_from_set_names_the_set_not_the_file(override, expected):
    """cells.toml says share = 0.3 for cells[1]: its 0 came from --set, and the error said
    'configs/cells.toml: cells[1].share: ...' (list entries are [1] in the message, .1 in
    --set); so did a whole list given by --set, for a key inside it."""
    config = CONFIGS / ("cells.toml" if override.startswith("cells") else "host64g.toml")
    result = CliRunner().invoke(app, ["run", str(config), "--no-write", "--set", override])
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.exit_code == 2 and f"error: {expected}" in lines, lines
    assert all(str(config) not in line and config.name not in line for line in lines), lines


def test_a_ctrl_c_while_the_options_are_parsed_still_says_interrupted(monkeypatch, capsys):
    """typer turns a KeyboardInterrupt before the command runs (while it parses the
    options, ~0.5 s into `simdc run`) into exit code 130 and nothing else; the command's
    own handler never saw it. The entry point now says 'interrupted' then too, once."""
    import typer.core

    import simdc.__main__ as entry

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(typer.core.TyperCommand, "make_context", interrupted)
    monkeypatch.setattr(entry, "_ignore_interrupts", lambda: None)  # this process's SIGINT stays as it is
    monkeypatch.setattr(sys, "argv", ["simdc", "run", "c.toml"])
    with pytest.raises(SystemExit) as done:
        entry.main()
    assert done.value.code == 130
    assert capsys.readouterr().err == "interrupted\n"


def test_a_ctrl_c_in_the_command_is_said_once(tmp_path, monkeypatch, capsys):
    """The command's handler says it ('interrupted; nothing written'); the entry point adds nothing."""
    import simdc.__main__ as entry

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "simulate", interrupted)
    monkeypatch.setattr(entry, "_ignore_interrupts", lambda: None)
    monkeypatch.chdir(tmp_path)
    Path("c.toml").write_text(CONFIG)
    monkeypatch.setattr(sys, "argv", ["simdc", "run", "c.toml", "--no-write"])
    with pytest.raises(SystemExit) as done:
        entry.main()
    assert done.value.code == 130
    assert capsys.readouterr().err == "interrupted; nothing written\n"


def test_a_ctrl_c_python_swallows_while_modules_load_still_ends_the_command(tmp_path, monkeypatch, capsys):
    """A Ctrl-C raised inside a weak reference's callback (the import machinery's module
    locks use them) is one Python prints as "Exception ignored in ..." and drops: CI saw
    `simdc run` then run on and write its results. Raised that way here, as a module
    loads: one line, exit 130, nothing written, no traceback."""
    import importlib
    import weakref

    import simdc.__main__ as entry

    real = importlib.import_module

    def import_module(name, *args, **kwargs):
        class Held:
            pass

        def callback(_):
            raise KeyboardInterrupt

        held = Held()
        ref = weakref.ref(held, callback)  # noqa: F841 (alive until the callback has run)
        del held  # the callback runs now; Python hands its exception to sys.unraisablehook
        return real(name, *args, **kwargs)

    monkeypatch.setattr(cli.importlib, "import_module", import_module)
    monkeypatch.setattr(entry, "_ignore_interrupts", lambda: None)
    monkeypatch.chdir(tmp_path)
    Path("c.toml").write_text(CONFIG)
    monkeypatch.setattr(sys, "argv", ["simdc", "run", "c.toml", "--out", "run"])
    with pytest.raises(SystemExit) as done:
        entry.main()
    assert done.value.code == 130
    err = capsys.readouterr().err
    assert err == "interrupted; nothing written\n", err
    assert not Path("run").exists()


def test_a_mistyped_option_is_one_line_as_the_readme_shows(monkeypatch, capsys):
    """The README quotes `error: simdc run: No such option: --bogus (see --help)`; click
    added '(Possible options: --out)', a suggestion that shares only the dashes and two
    letters. A close name is still suggested."""
    import re

    import simdc.__main__ as entry

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    quoted = re.search(r"`(error: simdc run: No such option: --bogus[^`]*)`", readme).group(1)
    said = {}
    for option in ("--bogus", "--ovewrite"):
        monkeypatch.setattr(sys, "argv", ["simdc", "run", "c.toml", option])
        with pytest.raises(SystemExit) as done:
            entry.main()
        assert done.value.code == 2
        said[option] = capsys.readouterr().err.strip()
    assert said["--bogus"] == quoted
    assert said["--ovewrite"].startswith("error: simdc run: No such option: --ovewrite (did you mean --overwrite")
    assert said["--ovewrite"].endswith("?) (see --help)") and "\n" not in said["--ovewrite"]


@pytest.mark.parametrize("argv", [["simdc"], ["simdc", "trace"]])
def test_no_command_is_the_help_and_one_line_saying_what_is_missing(monkeypatch, capsys, argv):
    """`simdc` or `simdc trace` alone prints the help, then said `error: simdc:  (see --help)`:
    a message with nothing in it."""
    import simdc.__main__ as entry

    monkeypatch.setattr(sys, "argv", argv)
    with pytest.raises(SystemExit) as done:
        entry.main()
    assert done.value.code == 2
    out = capsys.readouterr()
    assert "Usage:" in out.out + out.err
    said = [line for line in out.err.splitlines() if line.startswith("error:")]
    assert said == [f"error: {' '.join(argv)}: missing command: give one of the commands listed above (see --help)"]


@pytest.mark.parametrize("config, expected", [
    ("host64g.toml", "error: --group 'nosuch': no such group; this config's hosts are one [host] table"),
    ("fleet.toml", "error: --group 'nosuch': no such group; groups: 'general', 'large'"),
])
def test_plan_refuses_an_unknown_group_for_any_fleet(config, expected):
    """On a single [host] --group was silently ignored (and the whole fleet scaled)."""
    result = CliRunner().invoke(app, ["plan", str(CONFIGS / config), "--slo", "rejection_rate<=0.01",
                                      "--group", "nosuch"])
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.exit_code == 2 and len(lines) == 1 and lines[0].startswith(expected), lines


def test_report_rewrites_its_own_report_but_not_a_file_simdc_did_not_write(tmp_path):
    """RESULTS_DIR/report.html is derived from the folder: `simdc report` writes it again
    (the README now says so); a report.html of someone else's needs --overwrite."""
    (tmp_path / "c.toml").write_text(CONFIG)
    results = tmp_path / "r"
    runner = CliRunner()
    assert runner.invoke(app, ["run", str(tmp_path / "c.toml"), "--out", str(results)]).exit_code == 0
    report = results / "report.html"
    for _ in range(2):
        result = runner.invoke(app, ["report", str(results)])
        assert result.exit_code == 0, result.output
        assert '<meta name="generator" content="simdc">' in report.read_text()
    report.write_text("<html>my notes</html>\n")
    result = runner.invoke(app, ["report", str(results)])
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.exit_code == 2 and len(lines) == 1 and str(report) in lines[0] and "--overwrite" in lines[0]
    assert report.read_text() == "<html>my notes</html>\n"
    assert runner.invoke(app, ["report", str(results), "--overwrite"]).exit_code == 0
    assert "my notes" not in report.read_text()


@pytest.mark.parametrize("argv", [["plan"], ["sweep"], ["run"], ["report"], ["trace", "convert"]])
def test_help_keeps_each_sentence_whole(argv):
    """Every paragraph of a command's docstring is read as one line, wrapped once at the
    terminal's width: typer's rich help kept a later paragraph's line breaks and wrapped
    again, breaking `simdc plan --help` mid-sentence ("half-width" / "(Student's t)")."""
    import inspect

    command = app if argv[0] != "trace" else cli.trace_app
    name = argv[-1]
    info = next(c for c in command.registered_commands if (c.name or c.callback.__name__) in (name, f"{name}_command",
                                                                                              f"trace_{name}"))
    paragraphs = inspect.cleandoc(info.callback.__doc__).split("\n\n")
    said = CliRunner().invoke(app, argv + ["--help"], terminal_width=2000, env={"COLUMNS": "2000"}).output
    for paragraph in paragraphs:
        sentence = " ".join(line.strip() for line in paragraph.splitlines())
        assert sentence in " ".join(said.split()), sentence  # whole: never broken by a kept line break
        assert sentence in said, f"broken across lines: {sentence!r}"
