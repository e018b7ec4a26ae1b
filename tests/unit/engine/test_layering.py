"""The engine never imports pulumi, nor the sandbox or infra layers."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def test_engine_imports_no_pulumi_and_no_upper_layer():
    modules = sorted(p.stem for p in (ROOT / "bluegreen" / "engine").glob("*.py") if p.stem != "__init__")
    code = (
        "import importlib, sys\n"
        f"for m in {modules!r}: importlib.import_module('bluegreen.engine.' + m)\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] == 'pulumi' or m.startswith('pulumi_')\n"
        "             or m.startswith('bluegreen.sandbox') or m.startswith('bluegreen.infra'))\n"
        "print(','.join(bad))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert len(modules) > 10
    assert done.stdout.strip() == ""


def test_sandbox_rehearsal_and_command_line_import_no_pulumi():
    """The sandbox, the rehearsal and the command line (``rehearse --stack`` reads the stack file through
    bluegreen.infra.stack_file) run without pulumi installed."""
    modules = sorted(
        "bluegreen.sandbox." + ".".join(p.relative_to(ROOT / "bluegreen" / "sandbox").with_suffix("").parts)
        for p in (ROOT / "bluegreen" / "sandbox").rglob("*.py") if p.stem != "__init__"
    ) + ["bluegreen.rehearsal", "bluegreen.stack_scenario", "bluegreen.cli", "bluegreen.infra.stack_file"]
    code = (
        "import importlib, sys\n"
        f"for m in {modules!r}: importlib.import_module(m)\n"
        "print(','.join(sorted(m for m in sys.modules if m.split('.')[0] == 'pulumi' or m.startswith('pulumi_'))))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "bluegreen.sandbox.pool_fit" in modules and "bluegreen.sandbox.instance_types" in modules
    assert done.stdout.strip() == ""
