"""The Command Center console (issue 10): a web app operators open in a browser, next to the broker.

    from htcc.console.app import create_app
    from htcc.console.settings import Settings
    app = create_app(Settings(registry="/var/lib/htctl/registry.sqlite", broker_password=pw))
    uvicorn.run(app, host="127.0.0.1", port=8080)          # `htctl console serve` does this

What lives where (the seam with the desk voice engine, ``htcc.desk``, is in ``app.py``'s docstring):
  settings.py   what the server needs to start (registry, broker, escalation hook, session length)
  store.py      the console's tables in the fleet registry: operators, sessions, the append-only audit log,
                the emergency journal, roll calls and their schedules
  bus.py        the ONE MQTT connection to the broker (the firmware's own client, ht.mqtt), shared
  fleet.py      registry units joined with live presence and telemetry: the readiness board's rows
  hub.py        the one authenticated WebSocket per browser: JSON messages, binary frames for audio
  alarms.py     emergencies: alarm, acknowledge, journal, escalation after N seconds
  rollcall.py   roll calls (absen): start, live answers, history, schedules, CSV
  texts.py      Bahasa Indonesia first, English beside it
  app.py        the Starlette app: pages, API, login, CSRF
"""
