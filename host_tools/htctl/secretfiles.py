"""Secret files at rest: the registry (it holds the fleet voice key and every unit's broker password hash),
Mosquitto's passwd/acl, TLS private keys. Each is created 0600 from its first byte (never written 0644 and
chmod-ed later: a reader could open it in between), or 0640 for a group when a service running as another
user must read it (``$HTCTL_SECRET_GROUP``, e.g. ``mosquitto`` or ``htcc``: the service's group, not "all").

Library code: raises :class:`~htctl.errors.UserError` for a group that does not exist; never prints.
"""
from __future__ import annotations

import grp
import os
import pathlib

from .errors import UserError

OWNER_ONLY = 0o600
GROUP_READ = 0o640


def group_id(group: str | None = None) -> int | None:
    """The gid of ``group`` (default ``$HTCTL_SECRET_GROUP``), or None when no group is asked for."""
    group = group if group is not None else os.environ.get("HTCTL_SECRET_GROUP") or None
    if not group:
        return None
    try:
        return grp.getgrnam(group).gr_gid if not group.isdigit() else int(group)
    except KeyError:
        raise UserError("group %r does not exist (HTCTL_SECRET_GROUP)" % group,
                        hint="create it (groupadd) or name the group the service runs as, e.g. mosquitto")


def mode_for(gid: int | None) -> int:
    return OWNER_ONLY if gid is None else GROUP_READ


def secure(path: str | os.PathLike[str], group: str | None = None) -> None:
    """Bring an existing file to 0600 (0640 + group when asked for)."""
    gid = group_id(group)
    os.chmod(path, mode_for(gid))
    if gid is not None:
        os.chown(path, -1, gid)


def create_empty(path: str | os.PathLike[str], group: str | None = None) -> None:
    """Create ``path`` empty with the secret mode, unless it exists (sqlite then fills it)."""
    gid = group_id(group)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode_for(gid))
    except FileExistsError:
        return
    try:
        os.fchmod(fd, mode_for(gid))      # the umask may have taken bits away from the group mode
        if gid is not None:
            os.fchown(fd, -1, gid)
    finally:
        os.close(fd)


def write(path: str | os.PathLike[str], data: bytes | str, group: str | None = None,
          uid: int = -1, gid: int | None = None) -> pathlib.Path:
    """Write ``data`` atomically (temporary file + rename) with the secret mode from creation on.

    uid/gid: chown the file (the broker's account when htctl runs as root); gid overrides the group setting.
    """
    p = pathlib.Path(path)
    if gid is None:
        gid = group_id(group)
    mode = mode_for(gid) if gid is None or uid == -1 else OWNER_ONLY
    tmp = p.with_name(p.name + ".tmp")
    if tmp.exists():
        tmp.unlink()
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        os.fchmod(fd, mode)
        if uid != -1 or gid is not None:
            os.fchown(fd, uid, -1 if gid is None else gid)
        os.write(fd, data.encode() if isinstance(data, str) else data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, p)
    return p
