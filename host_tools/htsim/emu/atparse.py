"""AT command-line parsing for the emulator: split one line into commands, split arguments, error type.

A real modem's parser hunts for "AT" and then reads basic commands (E0, V1, &F, S3=13…) and extended
commands (+CPIN?, +CIPSEND=0,5, *…) chained with ';'. We accept the same and reject anything else with ERROR.
"""

BASIC_WITH_NUM = "EVQZIHXOLMACTP"   # single-letter basic commands with an optional number


class AtError(Exception):
    """A command failed. cme/cms: code for +CME/+CMS ERROR; info: lines printed before the final ERROR."""

    def __init__(self, cme=None, cms=None, info=None, final=None):
        Exception.__init__(self, cme if cme is not None else cms)
        self.cme = cme
        self.cms = cms
        self.info = list(info or [])
        self.final = final   # a custom final line instead of ERROR (e.g. "SEND FAIL")


class Cmd:
    """One command: name (upper case, e.g. '+CPIN', 'E', '&F', 'S3'), kind exec|set|read|test, args."""

    __slots__ = ("name", "kind", "argstr", "args")

    def __init__(self, name, kind, argstr=""):
        self.name = name
        self.kind = kind
        self.argstr = argstr
        self.args = split_args(argstr) if kind == "set" else []

    def __repr__(self):
        return "Cmd(%r, %r, %r)" % (self.name, self.kind, self.argstr)

    def arg(self, i, default=None):
        """Argument i without quotes; default when missing or empty."""
        if i >= len(self.args) or self.args[i] == "":
            return default
        return unquote(self.args[i])

    def int(self, i, default=None, lo=None, hi=None):
        v = self.arg(i)
        if v is None:
            if default is None:
                raise AtError()
            return default
        try:
            n = int(v, 10)
        except ValueError:
            raise AtError() from None
        if (lo is not None and n < lo) or (hi is not None and n > hi):
            raise AtError()
        return n

    def quoted(self, i):
        return i < len(self.args) and self.args[i].startswith('"')


def unquote(s):
    s = s.strip()
    if len(s) >= 2 and s[0] == '"' and s[-1] == '"':
        return s[1:-1]
    return s


def split_args(s):
    out, cur, q = [], [], False
    for ch in s:
        if ch == '"':
            q = not q
            cur.append(ch)
        elif ch == "," and not q:
            out.append("".join(cur).strip())
            cur = []
        else:
            cur.append(ch)
    out.append("".join(cur).strip())
    if q:
        raise AtError()   # unterminated string
    return out


def find_at(text):
    """Index just after the 'AT' that starts the command, or -1. Leading noise before AT is skipped, like
    the hunt-for-'A' parser in real modems."""
    up = text.upper()
    i = up.find("AT")
    return -1 if i < 0 else i + 2


def _printable(s):
    return all(32 <= ord(ch) < 127 for ch in s)


def parse_line(body):
    """Split the text after 'AT' into Cmd objects. Raises AtError on a syntax error."""
    if not _printable(body):
        raise AtError()
    cmds, i, n = [], 0, len(body)
    while i < n:
        ch = body[i]
        if ch in " ;":
            i += 1
            continue
        if ch in "+*$^#":
            i = _extended(body, i, cmds)
        elif ch == "&":
            j = i + 2
            while j < n and body[j].isdigit():
                j += 1
            if i + 1 >= n or not body[i + 1].isalpha():
                raise AtError()
            cmds.append(Cmd("&" + body[i + 1].upper(), "set" if j > i + 2 else "exec", body[i + 2:j]))
            i = j
        elif ch in "Ss" and i + 1 < n and body[i + 1].isdigit():
            j = i + 1
            while j < n and body[j].isdigit():
                j += 1
            name = "S" + body[i + 1:j]
            if body.startswith("?", j):
                cmds.append(Cmd(name, "read"))
                i = j + 1
            elif body.startswith("=", j):
                k = j + 1
                while k < n and body[k].isdigit():
                    k += 1
                cmds.append(Cmd(name, "set", body[j + 1:k]))
                i = k
            else:
                raise AtError()
        elif ch in "Dd":
            cmds.append(Cmd("D", "set", body[i + 1:]))
            i = n
        elif ch.upper() in BASIC_WITH_NUM:
            j = i + 1
            while j < n and body[j].isdigit():
                j += 1
            cmds.append(Cmd(ch.upper(), "set" if j > i + 1 else "exec", body[i + 1:j]))
            i = j
        else:
            raise AtError()
    return cmds


def _extended(body, i, cmds):
    n = len(body)
    j = i + 1
    while j < n and (body[j].isalnum() or body[j] in "_&"):
        j += 1
    if j == i + 1:
        raise AtError()
    name = body[i:j].upper()
    if body.startswith("=?", j):
        kind, k = "test", j + 2
    elif body.startswith("?", j):
        kind, k = "read", j + 1
    elif body.startswith("=", j):
        kind, k = "set", j + 1
    else:
        kind, k = "exec", j
    e, q = k, False
    while e < n and (q or body[e] != ";"):
        if body[e] == '"':
            q = not q
        e += 1
    argstr = body[k:e]
    if kind != "set" and argstr.strip():
        raise AtError()
    cmds.append(Cmd(name, kind, argstr))
    return e
