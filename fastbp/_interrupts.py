"""Ctrl-C during training, taken where the model's state is whole.

Python raises KeyboardInterrupt between any two bytecodes. Raised between an
epoch kernel's return and the bookkeeping of that epoch, it left the weights one
epoch ahead of ``n_iter_``, ``loss_curve_`` and the optimizer. So while a fit
trains on the main thread, SIGINT only records that it came (``HeldInterrupt``),
and the fit asks at the points where its state is whole: after each epoch (the
epoch is kept, and the fit stops as scikit-learn's does on Ctrl-C), before each
L-BFGS evaluation (the fit raises KeyboardInterrupt, as scikit-learn's does, and
is undone). One that comes after the last such point is delivered when the
training ends. ``_files.replace_file`` holds SIGINT the same way while it writes.

Only the main thread receives signals in Python, and only it may set their
handlers: fits in other threads run without one, unless the thread was started
for them by a caller that holds SIGINT on the main thread (``fastbp.fit_many``):
``stopping_with(event)`` then makes their ``take()`` answer whether it was set.
A handler the user installed is kept and called at the same points, in place of
the default one; SIG_IGN and SIG_DFL are left alone. Inside a held block, a
nested one (a fit in a fit) passes what it takes to the outer one, which stops too.
"""

import contextvars
import signal
import threading

# a threading.Event set when the main thread took a SIGINT for the fits of this
# worker thread (``stopping_with``); None outside such threads
_STOP = contextvars.ContextVar("fastbp_stop", default=None)


def stopping_with(event):
    """Run in the context a worker thread's fits will run in (``contextvars.Context.run``
    on a copy of the caller's): those fits stop, as on Ctrl-C, at their next whole
    state after ``event`` is set."""
    _STOP.set(event)


class HeldInterrupt:
    """``with HeldInterrupt() as interrupt:``: SIGINT is held inside the block.

    ``interrupt.take()`` returns True (once per SIGINT) if a held SIGINT is to stop
    the work here: the handler that was installed raised KeyboardInterrupt for it
    (the default handler does). Any other exception from that handler propagates;
    a handler that returns lets the work go on. A SIGINT still held when the block
    ends is delivered then, whether the block ended normally or by an exception.
    """

    def __init__(self):
        self._previous = None
        self._held = None
        self._stop = _STOP.get()

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            previous = signal.getsignal(signal.SIGINT)
            # SIG_IGN, SIG_DFL or a handler installed outside Python: left as they are
            if callable(previous):
                signal.signal(signal.SIGINT, self._hold)
                self._previous = previous
        return self

    def _hold(self, signum, frame):
        self._held = (signum, frame)

    def take(self):
        """Deliver a held SIGINT to the previous handler now; True if it asked to stop."""
        if self._held is None:
            return self._stop is not None and self._stop.is_set()
        held, self._held = self._held, None
        if isinstance(getattr(self._previous, "__self__", None), HeldInterrupt):
            self._previous(*held)  # an outer held block: it is told, and this one stops
            return True
        try:
            self._previous(*held)
        except KeyboardInterrupt:
            return True
        return False

    def raise_if_held(self):
        """Deliver a held SIGINT now: KeyboardInterrupt, if the previous handler raises it."""
        if self.take():
            raise KeyboardInterrupt

    def __exit__(self, exc_type, exc, tb):
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)
            previous, self._previous = self._previous, None
            if self._held is not None:
                held, self._held = self._held, None
                previous(*held)
        return False
