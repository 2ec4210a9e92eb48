"""What the console server needs to start. Plain data; ``htctl console serve`` fills it from flags, the
environment and the registry (the broker password only from $HTCTL_BROKER_PASSWORD or a file, never a flag)."""
from __future__ import annotations

import dataclasses


@dataclasses.dataclass
class Settings:
    registry: str                          # the fleet registry (sqlite); the console's tables live there too
    broker_host: str = "127.0.0.1"
    broker_port: int = 1883
    broker_user: str = "cc"                # a console account (`htctl broker write --console cc`)
    broker_password: str | None = None
    fleet: str | None = None               # None: the registry's fleet id
    keepalive_s: int = 30
    lang: str = "id"                       # default language of pages (each operator may switch)
    session_hours: float = 12.0            # a login lasts a shift
    secure_cookies: bool = False           # True behind HTTPS (docs/DEPLOY.md): cookies only over TLS
    ack_timeout_s: float = 60.0            # an emergency nobody acknowledged for this long is escalated
    escalate_command: str | None = None    # run with the alarm as JSON on stdin (e.g. an SMS gateway script)
    escalate_url: str | None = None        # or POSTed there as JSON
    rollcall_grace_ms: int = 3000          # an answer's trip back after the radio's own deadline
    registry_refresh_s: float = 60.0       # registry changes (new units, SIM prices) reach the board this fast
    data_dir: str | None = None            # recordings and backups (the desk engine's recorder uses it)
    max_message_bytes: int = 2048          # presence/telemetry/alerts larger than this are refused as bad input
    bad_input_log: int = 50                # how many recent bad messages the console keeps to show
    client_id: str | None = None           # MQTT client id (default "console-<user>")
    desk: bool = True                      # talk, listen and the recorder (htcc.desk); False: a board-only console
