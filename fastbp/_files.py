"""Files replaced whole: written beside their target, then renamed over it.

``fastbp.save``, ``plot_loss_curve`` and the benchmark reports write through
``replace_file``: the new content goes to a temporary file in the target's
directory, is flushed to disk, and ``os.replace`` puts it in the target's place in
one step. Whatever stops the write (a full disk, a file-size limit, Ctrl-C, a
kill), the target is the old file or the whole new one, never a part. A kill
(SIGKILL, power loss) between the write and the rename may leave the temporary
file: its name, ``.<target>.<random>.fastbp-partial``, says what it is, and
``fastbp.load`` refuses it.
"""

import os
import secrets
import stat

PARTIAL_SUFFIX = ".fastbp-partial"


def is_partial(path):
    """Whether ``path`` is named as ``replace_file``'s temporary files are."""
    name = os.path.basename(os.fsdecode(path))
    return name.startswith(".") and name.endswith(PARTIAL_SUFFIX)


def replace_file(path, write):
    """Make ``path`` a new file holding what ``write(f)`` writes to the binary file ``f``.

    ``path`` is the old file or the complete new one at every moment. The new
    file gets the permissions ``open(path, "w")`` would give it: the old file's
    mode (and owner, where the process may set it), or for a new file 0o666 less
    the umask. Through a symbolic link, the file it points to is replaced, as
    ``open`` writes there. A path that exists and is not a regular file (a device,
    a pipe) is written in place, as ``open`` would.
    """
    path = os.fspath(path)
    target = os.path.realpath(os.fsdecode(path))  # (bytes paths: decoded as os does)
    try:
        old = os.stat(target)
    except FileNotFoundError:
        old = None
    if old is not None and not stat.S_ISREG(old.st_mode):
        with open(target, "wb") as f:
            write(f)
        return
    directory, name = os.path.split(target)
    fd, partial = _create_partial(directory, name, path)
    try:
        if old is not None:
            _copy_ownership(fd, old)
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(partial, target)
    except BaseException:
        try:
            os.unlink(partial)
        except FileNotFoundError:
            pass
        raise
    _sync_directory(directory)


def _create_partial(directory, name, path):
    """A new, empty temporary file beside the target: (fd, its path). Created with mode
    0o666 so that the process's umask applies, as to a file ``open`` creates."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
    while True:
        # the target's name, shortened to leave room within a file name's 255 bytes
        partial = os.path.join(directory, f".{name[:200]}.{secrets.token_hex(4)}{PARTIAL_SUFFIX}")
        try:
            return os.open(partial, flags, 0o666), partial
        except FileExistsError:
            continue
        except OSError as exc:  # reported for the path the caller gave, not ours
            raise type(exc)(exc.errno, exc.strerror, path) from None


def _copy_ownership(fd, old):
    os.fchmod(fd, stat.S_IMODE(old.st_mode))
    if (old.st_uid, old.st_gid) != (os.geteuid(), os.getegid()):
        try:
            os.fchown(fd, old.st_uid, old.st_gid)
        except PermissionError:  # only root may give a file away
            pass


def _sync_directory(directory):
    """Flush the rename to disk (POSIX; a directory cannot be opened so on Windows)."""
    try:
        fd = os.open(directory or ".", os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def replace_text(path, text):
    """``replace_file`` with ``text``, UTF-8."""
    replace_file(path, lambda f: f.write(text.encode("utf-8")))
