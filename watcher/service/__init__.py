"""The service around the pipeline: the daemon and what it needs to run for months.

    schedule.py   the daemon (``watcher run``): APScheduler jobs per source and for the
                  outbox, reload on SIGHUP, clean stop on SIGTERM
    cadence.py    when each source is due: interval with jitter, or cron in Hong Kong time
    runtime.py    everything a poll needs, loaded once from the settings (engine, sources,
                  rules, targets, gazetteer, fetcher, page budget, metrics)
    settings.py   WATCHER_* environment variables and watcher.toml
    backfill.py   ``watcher backfill``: the GIA archive read day by day, like polls
    http.py       /healthz and /metrics (and the web pages) beside the daemon
    observe.py    the Prometheus metrics
    logs.py       log lines, human or JSON, with credentials in URLs redacted
    pidfile.py    the daemon's pid file, and ``watcher reload`` finding it
    relaunch.py   ``watcher run`` restarting itself under ``python -OO``
    memory.py     glibc malloc tuning and handing free memory back after polls
"""
