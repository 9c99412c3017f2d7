"""Files replaced whole: written beside their target, then renamed over it.

``fastbp.save``, ``plot_loss_curve``, the demo, the generated kernels and the
benchmark reports write through ``replace_file``: the new content goes to a
temporary file in the target's directory, is flushed to disk, and ``os.replace``
puts it in the target's place in one step. Whatever stops the write (a full disk,
a file-size limit, an exception, a kill), the target is the old file or the whole
new one, never a part; Ctrl-C is held until the file is whole or cleaned up
(``_interrupts``). A kill (SIGKILL, power loss) between the write and the rename
may leave the temporary file: its name, ``.<target>.<random>.fastbp-partial``,
says what it is, and ``fastbp.load`` refuses it.
"""

import os
import secrets
import stat

from ._interrupts import HeldInterrupt

PARTIAL_SUFFIX = ".fastbp-partial"


def is_partial(path):
    """Whether ``path`` is named as ``replace_file``'s temporary files are."""
    name = os.path.basename(os.fsdecode(path))
    return name.startswith(".") and name.endswith(PARTIAL_SUFFIX)


def replace_file(path, write):
    """Make ``path`` a new file holding what ``write(f)`` writes to the binary file ``f``.

    ``path`` is the old file or the complete new one at every moment. It takes the
    permissions ``open(path, "w")`` would give it: the old file's mode (and owner
    and group, where the process may set them), or for a new file 0o666 less the
    umask; a file ``open`` may not write is a PermissionError here too. Through a
    symbolic link, the file it points to is replaced, as ``open`` writes there. A
    path that exists and is not a regular file (a device, a pipe) is written in
    place, as ``open`` would.
    """
    path = os.fspath(path)
    name = os.fsdecode(path)  # (bytes paths: decoded as os decodes them)
    if name.endswith(os.sep) or (os.altsep and name.endswith(os.altsep)):
        raise IsADirectoryError(21, "Is a directory", path)
    if is_partial(name):
        raise ValueError(f"{path!r} is named as fastbp's temporary files are; choose another name.")
    target = os.path.realpath(name)
    try:
        old = os.stat(target)
    except FileNotFoundError:
        old = None
    if old is not None and not stat.S_ISREG(old.st_mode):
        with open(target, "wb") as f:
            write(f)
        return
    if old is not None:
        os.close(os.open(target, os.O_WRONLY))  # what open(path, "w") may not write
    with HeldInterrupt():
        _replace(target, write, old, path)


def _replace(target, write, old, path):
    directory, name = os.path.split(target)
    fd, partial = _create_partial(directory, name, path)
    try:
        with os.fdopen(fd, "wb") as f:
            if old is not None:
                _copy_ownership(partial, old)
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
    # the target's name shortened to 200 bytes, within a file name's 255 with the rest
    short = os.fsdecode(os.fsencode(name)[:200])
    while True:
        partial = os.path.join(directory, f".{short}.{secrets.token_hex(4)}{PARTIAL_SUFFIX}")
        try:
            return os.open(partial, flags, 0o666), partial
        except FileExistsError:
            continue
        except OSError as exc:  # reported for the path the caller gave, not ours
            raise type(exc)(exc.errno, exc.strerror, path) from None


def _copy_ownership(partial, old):
    os.chmod(partial, stat.S_IMODE(old.st_mode))
    geteuid = getattr(os, "geteuid", None)  # (POSIX only)
    if geteuid is None or (old.st_uid, old.st_gid) == (geteuid(), os.getegid()):
        return
    try:
        os.chown(partial, old.st_uid, old.st_gid)
    except PermissionError:  # only root gives a file away; a member may set the group
        try:
            os.chown(partial, -1, old.st_gid)
        except PermissionError:
            pass


def _sync_directory(directory):
    """Flush the rename to disk (POSIX; a directory cannot be opened so on Windows)."""
    try:
        fd = os.open(directory or ".", os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:  # some file systems cannot sync a directory: the rename is done
        pass
    finally:
        os.close(fd)


def replace_text(path, text):
    """``replace_file`` with ``text``, UTF-8."""
    replace_file(path, lambda f: f.write(text.encode("utf-8")))
