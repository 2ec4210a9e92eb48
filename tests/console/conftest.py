"""The console's rig: a seeded registry, real Mosquitto with the fleet's accounts and ACL, the floor arbiters,
and the console server on loopback. ``rig = console_rig(units=...)`` -> .srv (ConsoleServer), .broker, .reg."""
import types

import pytest

from fixtures.console import UNITS, radio_password, seed_registry, wait_until
from htctl.mosquitto import fleet_rights
from htcc.console.settings import Settings

CC_PW = "pw-console-cc"


@pytest.fixture
def console_rig(tmp_path, mosquitto, arbiter, console_server):
    def start(units=UNITS, extra_users=None, arbiters=True, **settings_kw):
        reg = seed_registry(tmp_path / "registry.sqlite", units)
        tgs = {u[0]: u[4] for u in units}
        users = {u: radio_password(u) for u in tgs}
        users.update({"cc": CC_PW, "arb-a": "pw-arb-a", "arb-b": "pw-arb-b"})
        users.update(extra_users or {})
        m = mosquitto(users=users, acl=fleet_rights("kota", tgs, command_center=("cc",)))
        from htctl import registry
        conn = registry.connect(str(reg))
        key_hex = registry.fleet_config(conn)["audio.key"]     # the fleet key: radios, arbiters and console share it
        conn.close()
        if arbiters:
            arbiter(m, "kota", tuple(sorted({t for v in tgs.values() for t in v})), key=bytes.fromhex(key_hex))
        st = Settings(registry=str(reg), broker_port=m.port, broker_password=CC_PW, **settings_kw)
        srv = console_server(st)
        wait_until(lambda: srv.app.state.bus.online, 60, what="console connected to the broker")
        return types.SimpleNamespace(srv=srv, broker=m, reg=reg, tgs=tgs, settings=st, key_hex=key_hex)
    return start
