"""When a failed task is tried again: only for what a second attempt can cure.

A database blip (the server restarting, a dropped connection), an MLflow or Prefect server
briefly away, a network file system timing out: these pass, so the task is tried again after 5,
10 and 20 seconds (with jitter, so runs that failed together do not return together). A contract
violation, a missing file, a bad parameter or a bug fails the same way every time: the task
fails at once, naming it. Only tasks that can safely run twice take ``TRANSIENT_RETRIES``
(reads, and writes that replace their own output or record by key).
"""

from __future__ import annotations

import errno
from typing import Any

# Errors that are an OSError yet are a fact about the input, not a passing condition.
PERMANENT_OS_ERRORS = (
    FileNotFoundError,
    FileExistsError,
    IsADirectoryError,
    NotADirectoryError,
    PermissionError,
)
DELAYS_S = [5.0, 10.0, 20.0]


# An OSError is transient only when it says so: a network or NFS hiccup (a disk full or a
# read-only file system is not cured by waiting a few seconds).
TRANSIENT_ERRNOS = {
    errno.ETIMEDOUT,
    errno.ECONNRESET,
    errno.ECONNREFUSED,
    errno.ECONNABORTED,
    errno.EHOSTUNREACH,
    errno.ENETUNREACH,
    errno.ESTALE,
    errno.EAGAIN,
}


def _transient_os_error(error: BaseException) -> bool:
    if isinstance(error, ConnectionError | TimeoutError):
        return True
    if type(error).__name__ in ("ConnectionError", "Timeout", "ReadTimeout", "ConnectTimeout"):
        return True  # requests' errors (OSError subclasses without an errno)
    return isinstance(error, OSError) and error.errno in TRANSIENT_ERRNOS


def _transient_types() -> tuple[type[BaseException], ...]:
    found: list[type[BaseException]] = []
    try:
        import sqlalchemy.exc

        found += [sqlalchemy.exc.OperationalError, sqlalchemy.exc.InterfaceError]
    except ImportError:  # pragma: no cover - sqlalchemy is a dependency
        pass
    try:
        import psycopg

        found += [psycopg.OperationalError, psycopg.InterfaceError]
    except ImportError:  # pragma: no cover
        pass
    return tuple(found)


def _chain(error: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    while error is not None and all(error is not s for s in seen):
        seen.append(error)
        error = error.__cause__ or error.__context__
    return seen


def is_transient(error: BaseException) -> bool:
    """Whether ``error`` (or what caused it) is a condition that passes."""
    transient = _transient_types()
    for link in _chain(error):
        if isinstance(link, PERMANENT_OS_ERRORS):
            return False
        if _transient_os_error(link) or (transient and isinstance(link, transient)):
            return True
        if _mlflow_unavailable(link):
            return True
    return False


def _mlflow_unavailable(error: BaseException) -> bool:
    """MLflow's client gives up with an MlflowException after its own HTTP retries; a 5xx or
    an unreachable server is worth another go, a missing model or alias is not."""
    if type(error).__name__ not in ("MlflowException", "RestException"):
        return False
    code = getattr(error, "error_code", "")
    return code in ("INTERNAL_ERROR", "TEMPORARILY_UNAVAILABLE", "REQUEST_LIMIT_EXCEEDED")


def retry_if_transient(task: Any, task_run: Any, state: Any) -> bool:
    """Prefect's ``retry_condition_fn``: retry the failed task only for a transient error."""
    try:
        error = state.result(raise_on_failure=False)
    except Exception as raised:  # the result could not be read back: judge what was raised
        error = raised
    return isinstance(error, BaseException) and is_transient(error)


TRANSIENT_RETRIES: dict[str, Any] = {
    "retries": len(DELAYS_S),
    "retry_delay_seconds": DELAYS_S,
    "retry_jitter_factor": 0.5,
    "retry_condition_fn": retry_if_transient,
}
