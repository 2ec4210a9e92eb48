"""The modem's AT command interpreter: one command line at a time, like the module's own.

It reads lines from the modem's input buffer, dispatches each command of a line to its handler (the
``COMMANDS`` tables of cmd_general, cmd_msg and the family module, all ``handler(modem, cmd, reply)``),
and writes the reply: response lines, the final result, lines printed after it. URCs that arrive while a
command runs are held and released after its final result - or, with urc_interleave, sometimes between the
response lines and the final result, which real modems also do.
"""
from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from . import cmd_general, cmd_msg, cmd_tls
from .atio import CME_TEXT, CMS_TEXT, MAX_LINE, OVERFLOW, Reply
from .atparse import AtError, find_at, parse_line

if TYPE_CHECKING:
    from .modem import Modem


class CommandWorker:
    def __init__(self, modem: Modem, log_limit: int) -> None:
        self.m = modem
        d = modem.d
        self.handlers: dict[str, Any] = {}
        for table in (cmd_general.COMMANDS, cmd_msg.COMMANDS, modem.fam.COMMANDS, cmd_tls.commands(d.family)):
            self.handlers.update(table)
        self.handlers[d.power_off_cmd] = cmd_general.power_off
        self.handlers[d.iccid_cmd] = cmd_general.iccid
        self.log: list[str] = []      # every command line the host sent (the last log_limit)
        self.log_limit = log_limit
        self.task: asyncio.Task[None] | None = None
        self.busy = False
        self.held: list[bytes] = []

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        self.task = loop.create_task(self._work())

    def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            self.task = None

    def reset(self) -> None:
        self.busy = False
        self.held = []

    def urc(self, item: bytes) -> None:
        """A framed URC: written now, or held until the running command's final result."""
        if self.busy:
            self.held.append(item)
        else:
            self.m.uart.write(item)

    def _release_held(self) -> None:
        held, self.held = self.held, []
        for item in held:
            self.m.uart.write(item)

    async def _work(self) -> None:
        while True:
            line = await self.m.rxbuf.read_line(MAX_LINE)
            try:
                await self._handle(line)
            except asyncio.CancelledError:
                raise
            except Exception as e:       # never let one bad line silence the modem for good
                self.m.note("internal error in worker: %r" % (e,))
                self.busy = False
                self.m.uart.write(b"\r\nERROR\r\n")

    async def _handle(self, line: bytes | object) -> None:
        if line is OVERFLOW:
            self._log("<overlong line>")
            self.m.uart.write(b"\r\nERROR\r\n")
            return
        line = line.lstrip(b"\n")
        if self.m.echo:
            self.m.uart.write(line + b"\r")
        if not line.strip(b" \t\n"):
            return
        text = line.decode("latin-1")
        self._log(text.strip())
        r = Reply(self.m)
        self.busy = True
        try:
            i = find_at(text)
            if i < 0:
                raise AtError()
            for c in parse_line(text[i:].rstrip("\n")):
                h = self.handlers.get(c.name)
                if h is None:
                    raise AtError()
                res = h(self.m, c, r)
                if asyncio.iscoroutine(res):
                    res = await res
                if res is not None:
                    r.final = res
        except AtError as e:
            r.items.extend(e.info)
            r.final = self.error_final(e)
        except asyncio.CancelledError:
            raise
        except Exception as e:           # an emulator bug must not kill the modem: report it and go on
            self.m.note("internal error on %r: %r" % (text, e))
            r.final = "ERROR"
        if self.m.slow_s:
            await self.m.sleep(self.m.slow_s)
        self._flush(r)
        self.busy = False
        self._release_held()

    def _log(self, text: str) -> None:
        self.log.append(text)
        del self.log[:-self.log_limit]

    def _flush(self, r: Reply) -> None:
        out = bytearray(self.m.frame(r.items))
        if self.m.urc_interleave and self.m.rng.random() < 0.5:
            held, self.held = self.held, []
            for item in held:
                out += item
            if self.m.rng.random() < 0.3:
                out += b"\r\n" + self.m.benign_urc().encode() + b"\r\n"
        if r.final is not None:
            out += b"\r\n" + r.final.encode("latin-1") + b"\r\n"
        out += self.m.frame(r.after)
        self.m.uart.write(bytes(out))

    def error_final(self, e: AtError) -> str:
        """The final result line for a failed command, as +CMEE asks."""
        if e.final:
            return e.final
        if e.cme is not None and self.m.cmee:
            return "+CME ERROR: %s" % (CME_TEXT.get(e.cme, "unknown") if self.m.cmee == 2 else e.cme)
        if e.cms is not None and self.m.cmee:
            return "+CMS ERROR: %s" % (CMS_TEXT.get(e.cms, "unknown error") if self.m.cmee == 2 else e.cms)
        return "ERROR"
