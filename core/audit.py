"""The audit trail's writer, shared by every door to child-level data: the API (records, exports, a run's
rejected rows, sign-ins), the dashboard (through the API), the CLI (`kpidash records`, `rejects`,
`export annex-a`) and the scheduler (team packs written to disk). Each access leaves one entry: who,
what, how many records, from where and through which door (`channel`).

Written in its own transaction, so the entry stays even when the request or job then fails. Text is
stored as one line: control characters (a newline in a username typed at the sign-in form) are
written escaped, so nothing a user types can forge a line of `kpidash audit` or of a log.
"""

from __future__ import annotations

import getpass
import os
import re
import socket
from typing import Any

from sqlalchemy import Engine, String

from core.appdb import load_models

AUDIT_TABLE = "audit_log"
# a view, a file, a run's rejected rows, a sign-in; data removed (retention), backed up, restored; the
# board's loop: analysis written, an action agreed or changed, a board pack published; a user added or changed
EVENTS = ("records", "export", "rejects", "login_failed", "prune", "backup", "restore", "analysis", "action", "pack",
          "user_change")
CHANNELS = ("api", "dashboard", "cli", "scheduler")

# C0 and C1 controls, DEL, line and paragraph separators, and bidirectional overrides (which can make a
# line read as something else in a terminal).
_UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def one_line(text: str) -> str:
    """Text with every control character written as an escape (`\\n` -> `\\x0a`): safe in one line."""
    return _UNPRINTABLE.sub(lambda m: f"\\x{ord(m.group()):02x}" if ord(m.group()) < 256 else f"\\u{ord(m.group()):04x}",
                            text)


def record(engine: Engine, event: str, outcome: str, **fields: Any) -> None:
    """Append one entry (fields: the audit_log columns: username, role, kpi, level, unit, date_from, ...,
    channel). Text is made one line and cut to its column's width, on every database alike."""
    table = load_models().tables[AUDIT_TABLE]  # the table is declared with the API's models
    values: dict[str, Any] = {"event": event, "outcome": outcome, **fields}
    for name, value in values.items():
        if isinstance(value, str):
            value = one_line(value)
            length = getattr(table.c[name].type, "length", None) if isinstance(table.c[name].type, String) else None
            values[name] = value[:length] if length else value
    with engine.begin() as conn:
        conn.execute(table.insert().values(**values))


def command_line_actor() -> tuple[str, str]:
    """Who runs a CLI command and from where, for its audit entry: the operating-system account, and
    the SSH client's address when the command came over SSH (else `local:<host>`)."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = f"uid {os.getuid()}"
    ssh = os.environ.get("SSH_CLIENT") or os.environ.get("SSH_CONNECTION") or ""
    address = ssh.split()[0] if ssh.split() else f"local:{socket.gethostname()}"
    return user, address


def record_command(engine: Engine, event: str, **fields: Any) -> None:
    """The entry of a CLI command that hands out child-level data (`kpidash records`, `rejects`, `export
    annex-a`): the operating-system account, where it ran from, channel `cli`. Written before the data
    is shown (or, for a file, the file is kept), so a command whose entry cannot be written shows nothing."""
    user, address = command_line_actor()
    record(engine, event, "ok", username=user, client_address=address, channel="cli", **fields)
