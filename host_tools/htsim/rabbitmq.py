"""A RabbitMQ cluster (MQTT plugin) on loopback: the adversarial broker CI proves floor control against.

    c = RabbitCluster(nodes=3)
    c.start()                 # 10-40 s: three Erlang VMs, nodes 2..n joined to node 1
    c.mqtt_ports              # [p1, p2, p3], one MQTT 3.1.1 listener per node (127.0.0.1)
    c.user, c.password        # the MQTT account (anonymous is refused)
    c.stop_node(1)            # `rabbitmqctl -n rabbit2@localhost stop`: a node fails, the others carry on
    c.start_node(1)           # it comes back and rejoins from its own mnesia
    c.stop()                  # every node, then our private epmd; nothing of ours survives

Why RabbitMQ: DESIGN.md "Scale". A cluster routes a PUBLISH on the publisher's node and forwards it to each
subscriber's queue on that queue's node, so two publishers on different nodes reach two subscribers in
different orders (MQTT promises order per publisher only). Retained messages are kept per node.

Isolation: each cluster has its own epmd (ERL_EPMD_PORT, started and owned here), its own Erlang cookie (a
private HOME), its own mnesia/log/config directories, and private AMQP/MQTT/distribution ports, all bound to
127.0.0.1, so it never meets the system's rabbitmq-server or another test's cluster. Nodes are stopped with
`rabbitmqctl stop` (killing the launcher script would leave the Erlang VM running); a VM that still lives
after that is killed by its process group, and an atexit hook covers an interpreter that exits early.
"""
from __future__ import annotations

import atexit
import os
import pathlib
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import weakref

from htctl.mosquitto import BrokerError, free_port

SERVER = "/usr/lib/rabbitmq/bin/rabbitmq-server"   # the real script (/usr/sbin's wrapper su's to rabbitmq)
CTL = "/usr/lib/rabbitmq/bin/rabbitmqctl"
EPMD = shutil.which("epmd") or "/usr/bin/epmd"
HOST = "127.0.0.1"
_LIVE: weakref.WeakSet = weakref.WeakSet()


def installed() -> bool:
    """True when Debian's rabbitmq-server (with its MQTT plugin) and Erlang's epmd are present."""
    return os.path.exists(SERVER) and os.path.exists(CTL) and os.path.exists(EPMD)


def _listening(port: int) -> bool:
    try:
        socket.create_connection((HOST, port), timeout=0.5).close()
        return True
    except OSError:
        return False


class RabbitNode:
    """One node's names, ports and process. Built by RabbitCluster."""

    def __init__(self, index: int, base: pathlib.Path) -> None:
        self.index = index
        self.name = "rabbit%d@localhost" % (index + 1)
        self.amqp_port = free_port()
        self.mqtt_port = free_port()
        self.dist_port = free_port()
        self.dir = base / ("rabbit%d" % (index + 1))
        self.proc: subprocess.Popen | None = None

    def config(self) -> str:
        # new-style rabbitmq.conf; the MQTT listener and AMQP listener on loopback only
        return "\n".join([
            "listeners.tcp.local = %s:%d" % (HOST, self.amqp_port),
            "mqtt.listeners.tcp.local = %s:%d" % (HOST, self.mqtt_port),
            "mqtt.allow_anonymous = false",
            "mqtt.vhost = /",
            "mqtt.exchange = amq.topic",
            "loopback_users = none",
            "log.console = false",
            "log.file.level = warning",
            # the disk alarm would block publishers on a nearly full CI disk; this rig is tiny
            "disk_free_limit.absolute = 1MB",
            "",
        ])

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None


class RabbitCluster:
    """n RabbitMQ nodes joined into one cluster on loopback, each with an MQTT listener."""

    def __init__(self, nodes: int = 3, workdir: str | os.PathLike[str] | None = None, user: str = "ht",
                 password: str | None = None) -> None:
        if nodes < 1:
            raise ValueError("a cluster needs at least one node")
        self._own_dir = workdir is None
        self.dir = pathlib.Path(workdir or tempfile.mkdtemp(prefix="ht-rabbit-"))
        self.dir.mkdir(parents=True, exist_ok=True)
        self.user = user
        self.password = password or secrets.token_hex(8)
        self.epmd_port = free_port()
        self.home = self.dir / "home"
        self.nodes = [RabbitNode(i, self.dir) for i in range(nodes)]
        self.epmd: subprocess.Popen | None = None
        self._atexit = False

    @property
    def mqtt_ports(self) -> list[int]:
        return [n.mqtt_port for n in self.nodes]

    # -- environment ------------------------------------------------------------------------------------

    def _base_env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("RABBITMQ_", "ERL_"))}
        env.update({
            "HOME": str(self.home),                     # $HOME/.erlang.cookie: one cookie per cluster
            "ERL_EPMD_PORT": str(self.epmd_port),
            "ERL_EPMD_ADDRESS": HOST,
            "RABBITMQ_CONF_ENV_FILE": str(self.dir / "rabbitmq-env.conf"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(self.dir / "enabled_plugins"),
            # the CLI's own distribution port: any free one (default 35672-35682 is shared machine-wide)
            "RABBITMQ_CTL_DIST_PORT_MIN": "0",
            "RABBITMQ_CTL_DIST_PORT_MAX": "0",
            "RABBITMQ_CTL_ERL_ARGS": "-kernel inet_dist_use_interface {127,0,0,1}",
        })
        return env

    def _node_env(self, node: RabbitNode) -> dict[str, str]:
        env = self._base_env()
        d = node.dir
        env.update({
            "RABBITMQ_NODENAME": node.name,
            "RABBITMQ_NODE_IP_ADDRESS": HOST,
            "RABBITMQ_NODE_PORT": str(node.amqp_port),
            "RABBITMQ_DIST_PORT": str(node.dist_port),
            "RABBITMQ_MNESIA_BASE": str(d / "mnesia"),
            "RABBITMQ_LOG_BASE": str(d / "log"),
            "RABBITMQ_CONFIG_FILE": str(d / "rabbitmq.conf"),
            "RABBITMQ_ADVANCED_CONFIG_FILE": str(d / "advanced.config"),
            "RABBITMQ_PID_FILE": str(d / "rabbit.pid"),
            "RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS": "-kernel inet_dist_use_interface {127,0,0,1}",
        })
        return env

    def _write_files(self) -> None:
        self.home.mkdir(exist_ok=True)
        cookie = self.home / ".erlang.cookie"
        if not cookie.exists():
            cookie.write_text(secrets.token_hex(16).upper())
            os.chmod(cookie, 0o400)                         # Erlang refuses a cookie others can read
        (self.dir / "rabbitmq-env.conf").write_text("")     # not /etc/rabbitmq/rabbitmq-env.conf
        (self.dir / "enabled_plugins").write_text("[rabbitmq_mqtt].\n")
        for n in self.nodes:
            for sub in ("mnesia", "log"):
                (n.dir / sub).mkdir(parents=True, exist_ok=True)
            (n.dir / "rabbitmq.conf").write_text(n.config())
            (n.dir / "advanced.config").write_text("[].\n")

    # -- control ---------------------------------------------------------------------------------------

    def ctl(self, node: RabbitNode | int, *args: str, timeout: float = 60.0, check: bool = True) -> str:
        """Run `rabbitmqctl -n <node> args...` against this cluster; -> its stdout."""
        if isinstance(node, int):
            node = self.nodes[node]
        try:
            r = subprocess.run([CTL, "-q", "-n", node.name, *args], env=self._base_env(), capture_output=True,
                               text=True, timeout=timeout, cwd=self.dir)
        except subprocess.TimeoutExpired as e:
            raise BrokerError("rabbitmqctl %s on %s timed out" % (" ".join(args), node.name)) from e
        if check and r.returncode != 0:
            raise BrokerError("rabbitmqctl %s on %s failed (%d): %s %s" % (
                " ".join(args), node.name, r.returncode, r.stdout.strip(), r.stderr.strip()),
                hint="see %s" % (node.dir / "log"))
        return r.stdout

    def _start_epmd(self) -> None:
        # our own epmd, in the foreground, so we hold its pid and it dies with the cluster
        self.epmd = subprocess.Popen([EPMD, "-port", str(self.epmd_port), "-address", HOST],
                                     env=self._base_env(), stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + 10
        while not _listening(self.epmd_port):
            if self.epmd.poll() is not None or time.monotonic() > deadline:
                raise BrokerError("epmd did not listen on %s:%d" % (HOST, self.epmd_port))
            time.sleep(0.05)

    def _launch(self, node: RabbitNode) -> None:
        log = open(node.dir / "stdout.log", "ab")
        node.proc = subprocess.Popen([SERVER], env=self._node_env(node), stdout=log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, cwd=node.dir, start_new_session=True)
        log.close()

    def _await(self, node: RabbitNode, deadline: float) -> None:
        while time.monotonic() < deadline:
            if not node.alive:
                raise BrokerError("%s exited at start-up: %s" % (node.name, self.log(node)[-2000:]),
                                  hint="see %s" % (node.dir / "log"))
            if _listening(node.mqtt_port):
                return
            time.sleep(0.2)
        raise BrokerError("%s did not open its MQTT port %d in time" % (node.name, node.mqtt_port),
                          hint="see %s" % (node.dir / "log"))

    def start(self, timeout: float = 180.0) -> list[int]:
        """Start every node, join nodes 2..n to node 1, add the MQTT user. -> the MQTT ports."""
        if not installed():
            raise BrokerError("rabbitmq-server not found", hint="run `make sysdeps` (Debian rabbitmq-server)")
        self._write_files()
        if not self._atexit:
            _LIVE.add(self)
            self._atexit = True
        deadline = time.monotonic() + timeout
        try:
            self._start_epmd()
            for n in self.nodes:
                self._launch(n)
            for n in self.nodes:
                self._await(n, deadline)
            first = self.nodes[0]
            for n in self.nodes[1:]:
                self.ctl(n, "stop_app")
                self.ctl(n, "join_cluster", first.name)
                self.ctl(n, "start_app")
                self._await(n, deadline)
            self.ctl(first, "add_user", self.user, self.password)
            self.ctl(first, "set_permissions", "-p", "/", self.user, ".*", ".*", ".*")
            self.ctl(first, "delete_user", "guest", check=False)
        except BaseException:
            self.stop()
            raise
        return self.mqtt_ports

    def running_nodes(self, via: int = 0) -> list[str]:
        """Names of the nodes the cluster sees running, asked of node `via`."""
        out = self.ctl(via, "eval", "rabbit_nodes:all_running().")
        return sorted(w.strip(" []'\n") for w in out.split(",") if "@" in w)

    def stop_node(self, i: int, timeout: float = 60.0) -> None:
        """Stop node i's Erlang VM the way an operator would (`rabbitmqctl stop`)."""
        node = self.nodes[i]
        if node.alive:
            self.ctl(node, "stop", timeout=timeout, check=False)
        self._reap(node, timeout)

    def start_node(self, i: int, timeout: float = 120.0) -> int:
        """Start a stopped node again; it rejoins the cluster from its own mnesia. -> its MQTT port."""
        node = self.nodes[i]
        if not node.alive:
            self._launch(node)
            self._await(node, time.monotonic() + timeout)
            self.ctl(node, "await_startup", timeout=timeout)
        return node.mqtt_port

    def _reap(self, node: RabbitNode, timeout: float) -> None:
        p = node.proc
        if p is None:
            return
        try:
            p.wait(timeout)
        except subprocess.TimeoutExpired:
            # the VM ignored the stop: the whole process group (sh, beam.smp, erl_child_setup) goes
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            p.wait()
        node.proc = None

    def stop(self) -> None:
        """Stop every node with rabbitmqctl, then our epmd. Safe to call twice."""
        for n in self.nodes:
            if n.alive:
                self.ctl(n, "stop", timeout=60, check=False)
        for n in self.nodes:
            self._reap(n, 30)
        e, self.epmd = self.epmd, None
        if e is not None and e.poll() is None:
            e.terminate()
            try:
                e.wait(5)
            except subprocess.TimeoutExpired:
                e.kill()
                e.wait()

    def cleanup(self) -> None:
        self.stop()
        _LIVE.discard(self)
        if self._own_dir:
            shutil.rmtree(self.dir, ignore_errors=True)

    def log(self, node: RabbitNode | int = 0) -> str:
        """The node's stdout plus its log files (start-up errors show up here)."""
        if isinstance(node, int):
            node = self.nodes[node]
        parts = sorted(node.dir.glob("stdout.log")) + sorted((node.dir / "log").glob("*.log"))
        return "".join(p.read_text(errors="replace") for p in parts)

    def __enter__(self) -> RabbitCluster:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.cleanup()


@atexit.register
def _stop_all() -> None:
    # an interpreter that exits without cleanup (Ctrl-C, a failing bench) must not leave Erlang VMs behind
    for c in list(_LIVE):
        try:
            c.cleanup()
        except Exception:
            pass
