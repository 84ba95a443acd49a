"""sockscope: record, replay and export what a socket server's threads do."""

import sys as _sys

__version__ = "0.1.0"


def _interrupted_while_starting(signum: int, frame: object) -> None:
    _sys.stderr.write("interrupted\n")
    raise SystemExit(130)


def _hold_ctrl_c() -> None:
    """From here until :func:`tracer.entry.main` takes it back, a Ctrl-C says "interrupted" and exits 130.

    Instead of a ``KeyboardInterrupt`` traceback from inside an import.  Only for the ``sockscope``
    command (tracer/entry.py says what is left before this runs); not if the shell ignores Ctrl-C (``&``).
    """
    import _signal  # built in: nothing to find on disk

    if _signal.getsignal(_signal.SIGINT) is _signal.default_int_handler:
        _signal.signal(_signal.SIGINT, _interrupted_while_starting)


# pip's console script imports this package first: the earliest line of ours that runs. No other importer is
# touched (its Ctrl-C stays a KeyboardInterrupt).
if str(getattr(_sys.modules.get("__main__"), "__file__", None) or "").endswith(("sockscope", "sockscope-script.py")):
    _hold_ctrl_c()
