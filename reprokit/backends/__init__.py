"""The backends a claim runs in. Each is a module with the same functions (see ``keras.py``).

Importing this package imports neither TensorFlow nor torch: ``load`` imports a backend's module,
and the module imports its framework, only when a test first needs it.
"""

from __future__ import annotations

import importlib
import os
from types import ModuleType

from reprokit.errors import ReprokitError

# name -> (module, KERAS_BACKEND it needs or None)
BACKENDS: dict[str, tuple[str, str | None]] = {
    "keras": ("reprokit.backends.keras", "tensorflow"),
    "keras-jax": ("reprokit.backends.keras", "jax"),
    "keras-torch": ("reprokit.backends.keras", "torch"),
    "torch": ("reprokit.backends.torch", None),
}
DEFAULT = ("keras", "torch")


def parse(option: str) -> tuple[str, ...]:
    """``"keras,torch"`` -> ``("keras", "torch")``, with a clear error for an unknown name."""
    names = tuple(n.strip() for n in option.split(",") if n.strip())
    unknown = [n for n in names if n not in BACKENDS]
    if unknown or not names:
        raise ReprokitError(f"--backend {option!r}: unknown backend {', '.join(unknown) or '(none)'}; "
                            f"choose from {', '.join(BACKENDS)} (comma-separated)")
    keras_ones = {BACKENDS[n][1] for n in names if BACKENDS[n][1]}
    if len(keras_ones) > 1:
        raise ReprokitError(f"--backend {option!r}: Keras runs one backend per process "
                            f"({', '.join(sorted(keras_ones))} asked); run them in separate pytest runs "
                            "(tox -e keras, keras-jax, ...)")
    return names


def keras_backend_for(names: tuple[str, ...]) -> str | None:
    for n in names:
        if BACKENDS[n][1]:
            return BACKENDS[n][1]
    return None


def load(name: str) -> ModuleType:
    """The backend module for ``name``; Keras's backend is fixed per process, so it must match."""
    module, keras_backend = BACKENDS[name]
    if keras_backend:
        current = os.environ.setdefault("KERAS_BACKEND", keras_backend)
        if current != keras_backend:
            raise ReprokitError(f"backend {name!r} needs KERAS_BACKEND={keras_backend}, but this process "
                                f"has KERAS_BACKEND={current}; run it in its own pytest run")
        try:
            importlib.import_module(keras_backend)
        except ImportError:
            raise ReprokitError(f"backend {name!r} needs the package {keras_backend!r}; "
                                f"install it (pip install -c constraints.txt {keras_backend})") from None
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name not in FRAMEWORKS:
            raise
        raise ReprokitError(f"backend {name!r} needs the package {exc.name!r}, which is not installed; "
                            f"install it (pip install -c constraints.txt -e \".[{FRAMEWORKS[exc.name]}]\")") from None


FRAMEWORKS = {"keras": "keras", "tensorflow": "tensorflow", "torch": "torch", "jax": "jax"}  # package: extra
