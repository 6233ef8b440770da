"""Prepares the Rasa server: its Python 3.10 environment and a model trained on the project.

Both live outside the clone, keyed by content, so they are built once and reused until what they
come from changes: the environment by ``requirements-rasa.txt``, the model by the files of
``chatbot/project``. ``python -m chatbot.rasa_setup model`` prints the model's path (training
it first if needed); ``env`` prints the environment's ``rasa`` executable.
"""

from __future__ import annotations

import argparse
import fcntl
import glob
import hashlib
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent
PROJECT = PACKAGE / "project"
REQUIREMENTS = PACKAGE / "requirements-rasa.txt"


class RasaSetupError(RuntimeError):
    """The Rasa environment or model could not be prepared; the message says what to do."""


def home() -> Path:
    return Path(os.environ.get("ENLACE_RASA_HOME") or Path.home() / ".cache" / "enlace-rasa")


def _digest(paths: list[Path]) -> str:
    sha = hashlib.sha256()
    for path in sorted(paths):
        sha.update(str(path.relative_to(PACKAGE)).encode())
        sha.update(path.read_bytes())
    return sha.hexdigest()[:16]


def project_files() -> list[Path]:
    """The files a model is trained from (tests excluded: they do not change the model)."""
    files = [PROJECT / "config.yml", PROJECT / "domain.yml"]
    files += sorted((PROJECT / "data").rglob("*.yml"))
    return files


def python310() -> str:
    """A Python 3.10 interpreter: ``ENLACE_RASA_PYTHON``, pyenv's, or ``python3.10`` on PATH."""
    explicit = os.environ.get("ENLACE_RASA_PYTHON")
    if explicit:
        return explicit
    # pyenv's own install first: its shim on PATH fails unless 3.10 is the active version.
    pyenv_root = os.environ.get("PYENV_ROOT") or str(Path.home() / ".pyenv")
    candidates = sorted(glob.glob(f"{pyenv_root}/versions/3.10.*/bin/python3.10"))
    if candidates:
        return candidates[-1]
    found = shutil.which("python3.10")
    if found and "/shims/" not in found:
        return found
    raise RasaSetupError(
        "Rasa 3.6 needs Python 3.10: install it (e.g. `pyenv install 3.10`) or set ENLACE_RASA_PYTHON"
    )


def venv_dir() -> Path:
    return home() / f"venv-{_digest([REQUIREMENTS])}"


def rasa_executable() -> Path:
    """The ``rasa`` of an environment built from ``requirements-rasa.txt`` (built if missing)."""
    venv = venv_dir()
    rasa = venv / "bin" / "rasa"
    done = venv / ".enlace-complete"
    with _locked(venv.with_name(venv.name + ".lock")):
        if done.exists():
            return rasa
        print(
            "Preparing the Rasa environment (Python 3.10, first time only: a few minutes) ...",
            file=sys.stderr,
            flush=True,
        )
        # A half-built environment (an interrupted install) is started again from nothing.
        shutil.rmtree(venv, ignore_errors=True)
        log = venv.with_name(venv.name + ".log")
        with log.open("wb") as output:
            steps = [
                [python310(), "-m", "venv", str(venv)],
                [str(venv / "bin" / "python"), "-m", "pip", "install", "--upgrade", "pip"],
                [str(venv / "bin" / "python"), "-m", "pip", "install", "-r", str(REQUIREMENTS)],
            ]
            for step in steps:
                if subprocess.run(step, stdout=output, stderr=subprocess.STDOUT, check=False).returncode:
                    raise RasaSetupError(f"preparing the Rasa environment failed: see {log}")
        done.touch()
        print("Rasa environment ready.", file=sys.stderr, flush=True)
    return rasa


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    """One preparer at a time (the run command and a test may start together)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def model_path() -> Path:
    return home() / "models" / f"enlace-{_digest(project_files())}.tar.gz"


def ensure_model() -> Path:
    """The trained model for the project's current files, training it only when they changed."""
    model = model_path()
    if model.exists():
        return model
    rasa = rasa_executable()
    with _locked(model.parent / ".train.lock"):
        if not model.exists():
            _train(rasa, model)
    return model


def _train(rasa: Path, model: Path) -> None:
    print("Training the Rasa model (the chatbot's files changed) ...", file=sys.stderr, flush=True)
    model.parent.mkdir(parents=True, exist_ok=True)
    run_rasa(
        rasa,
        ["train", "--fixed-model-name", model.name.removesuffix(".tar.gz"), "--out", str(model.parent)],
    )
    if not model.exists():
        raise RasaSetupError(f"rasa train did not write {model}")


def run_rasa(rasa: Path, args: list[str], **kwargs: object) -> subprocess.CompletedProcess[bytes]:
    """Runs ``rasa <args>`` in the project folder, quietly unless it fails."""
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONWARNINGS": "ignore"}
    result = subprocess.run(
        [str(rasa), *args], cwd=PROJECT, env=env, capture_output=True, check=False, **kwargs
    )  # type: ignore[call-overload]
    if result.returncode != 0:
        sys.stderr.write(result.stdout.decode(errors="replace")[-4000:])
        sys.stderr.write(result.stderr.decode(errors="replace")[-4000:])
        raise RasaSetupError(f"rasa {args[0]} failed (exit {result.returncode})")
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("what", choices=["env", "model"])
    args = parser.parse_args(argv)
    try:
        print(rasa_executable() if args.what == "env" else ensure_model())
    except RasaSetupError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
