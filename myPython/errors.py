"""One error family and one exit-code convention for every tool of the project.

Every error a user can cause (a bad argument, a bad input file, a model whose
prototxt and weights disagree, a damaged store) is a `DeepRetrievalError`
subclass whose message is one line naming the input. The CLI turns them into
``deep-retrieval <command>: error: <message>`` and an exit code:

* ``EXIT_OK`` (0): done;
* ``EXIT_FAILURE`` (1): the work failed (bad input, model, store, I/O);
* ``EXIT_USAGE`` (2): bad arguments, refused before any work (argparse uses 2 too);
* ``EXIT_INTERRUPTED`` (130): Ctrl-C; what was committed stays committed.
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


class DeepRetrievalError(Exception):
    """Base class of the errors a user can cause; `str()` is one line."""

    exit_code = EXIT_FAILURE


class UsageError(DeepRetrievalError, ValueError):
    """Arguments that cannot work (checked before any work starts)."""

    exit_code = EXIT_USAGE


class InputError(DeepRetrievalError, ValueError):
    """An image, video or list file that cannot be used; the message names it."""


class ModelError(DeepRetrievalError, ValueError):
    """A model that cannot be loaded: missing files, prototxt and weights that do not match."""


class StoreError(DeepRetrievalError):
    """A descriptor store that is missing, of another model, or damaged."""


def one_line(exc: BaseException) -> str:
    """The first line of an exception's message (its type name when empty)."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def exit_code_of(exc: BaseException) -> int:
    if isinstance(exc, KeyboardInterrupt):
        return EXIT_INTERRUPTED
    return getattr(exc, "exit_code", EXIT_FAILURE)
