"""Shared by the bench scripts: run the calling script inside a virtual
environment under /tmp that has the reference library (crdt-merge 0.9.5 from
PyPI) and numpy, creating it on first use."""

import os
import subprocess
import sys

VENV = "/tmp/crdt-merge-0.9.5-venv"


def ensure_venv(script):
    """Re-executes `script` (the caller's __file__) inside the venv, unless
    already there."""
    if os.environ.get("CRDT_BENCH_IN_VENV") == "1":
        return
    python = os.path.join(VENV, "bin", "python")
    if not os.path.exists(python):
        subprocess.check_call([sys.executable, "-m", "venv", VENV])
        subprocess.check_call([python, "-m", "pip", "install", "-q", "crdt-merge==0.9.5", "numpy"])
    env = dict(os.environ, CRDT_BENCH_IN_VENV="1")
    os.execve(python, [python, os.path.abspath(script)] + sys.argv[1:], env)
