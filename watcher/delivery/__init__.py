"""Delivery: how alerts in the outbox reach people.

    routing.py    routes (immediate | digest), quiet hours, which targets an alert reaches
    enqueue.py    alerts -> outbox rows, with realert enforced against the store
    fold.py       pure: due deliveries -> messages (digests, alert-storm summaries)
    pace.py       at most one message per interval per target (Slack: 1/s)
    dispatch.py   claim due rows, send each message, mark sent only on success
    notify.py     the only outbound messages: one to one Apprise target, or the console
    apprise_plugins.py   load only the Apprise plugins the targets use
"""
