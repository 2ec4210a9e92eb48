"""Embedded pure-Python MQTT 3.1.1 broker for `make demo` (zero install): amqtt in a background thread.

    b = EmbeddedBroker(users={"u1": "pw"}, acl=mosquitto.fleet_rights(...))
    port = b.start()      # free loopback port unless one is given
    ...
    b.stop()

users None = anonymous allowed. acl {user: (publish filters, subscribe filters)} is the same shape
Mosquitto's acl_file is generated from, so the demo enforces the production rules. A denied PUBLISH is
dropped silently and a denied SUBSCRIBE gets 0x80, as with Mosquitto.
"""
import asyncio
import logging
import threading
from dataclasses import dataclass, field

from amqtt.broker import Broker
from amqtt.contexts import Action
from amqtt.plugins.base import BaseAuthPlugin, BaseTopicPlugin

from htctl.mosquitto import BrokerError, free_port
from ht.mqtt.packet import topic_matches


class UserPasswordAuth(BaseAuthPlugin):
    """amqtt plugin: accept only the users given to EmbeddedBroker (plain compare, in-memory)."""

    @dataclass
    class Config:
        users: dict = field(default_factory=dict)
        anonymous: bool = True

    async def authenticate(self, *, session):
        if self.config.anonymous:
            return True
        want = self.config.users.get(session.username)
        return want is not None and session.password == want


class TopicACL(BaseTopicPlugin):
    """amqtt plugin: {user: (publish filters, subscribe filters)}; users not listed may do nothing."""

    @dataclass
    class Config:
        rights: dict = field(default_factory=dict)

    async def topic_filtering(self, *, session=None, topic=None, action=None):
        if not topic:
            return False
        if topic.startswith("$"):
            return True  # broker-internal ($SYS) traffic
        user = session.username if session else None
        pub, sub = self.config.rights.get(user, ((), ()))
        allowed = pub if action == Action.PUBLISH else sub
        if action == Action.SUBSCRIBE:
            # a subscription filter is allowed only if it is inside a granted filter
            return any(_filter_within(topic, f) for f in allowed)
        return any(topic_matches(f, topic) for f in allowed)


def _filter_within(req, granted):
    r = req.split("/")
    g = granted.split("/")
    for i, part in enumerate(g):
        if part == "#":
            return True
        if i >= len(r):
            return False
        if part == "+":
            if r[i] == "#":
                return False
            continue
        if part != r[i]:
            return False
    return len(r) == len(g)


class EmbeddedBroker:
    def __init__(self, host="127.0.0.1", port=0, users=None, acl=None):
        self.host = host
        self.port = port
        self.users = users
        self.acl = acl
        self._loop = None
        self._thread = None
        self._broker = None
        self._error = None

    def _config(self):
        plugins = {"htsim.embedded_broker.UserPasswordAuth": {"users": dict(self.users or {}),
                                                     "anonymous": self.users is None}}
        if self.acl is not None:
            plugins["htsim.embedded_broker.TopicACL"] = {"rights": {u: (list(p), list(s)) for u, (p, s) in self.acl.items()}}
        return {"listeners": {"default": {"type": "tcp", "bind": "%s:%d" % (self.host, self.port),
                                          "max_connections": 0}},
                "timeout_disconnect_delay": 0, "plugins": plugins}

    def start(self, timeout=10.0):
        if self._thread is not None:
            return self.port
        if not self.port:
            self.port = free_port(self.host)
        logging.getLogger("amqtt").setLevel(logging.CRITICAL)  # its own chatter is not ours to print
        ready = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(ready,), name="embedded-broker", daemon=True)
        self._thread.start()
        if not ready.wait(timeout) or self._error:
            self.stop()
            raise BrokerError("embedded broker did not start on %s:%d: %s" % (self.host, self.port, self._error),
                              hint="is the port taken? use port=0 for a free one")
        return self.port

    def _run(self, ready):
        self._loop = asyncio.new_event_loop()
        asyncio.set_event_loop(self._loop)
        try:
            self._broker = Broker(self._config(), loop=self._loop)
            self._loop.run_until_complete(self._broker.start())
        except Exception as e:
            self._error = repr(e)
            ready.set()
            return
        ready.set()
        self._loop.run_forever()
        self._loop.close()

    def stop(self):
        loop, t = self._loop, self._thread
        if loop is None or t is None:
            self._thread = None
            return
        if self._broker is not None and not self._error:
            fut = asyncio.run_coroutine_threadsafe(self._broker.shutdown(), loop)
            try:
                fut.result(10)
            except Exception:
                pass  # shutting down anyway
        loop.call_soon_threadsafe(loop.stop)
        t.join(10)
        self._thread = self._loop = self._broker = None

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()
