"""The ``watcher`` command (the console script is ``watcher.cli:app``).

One module per group of commands; this table registers them, in the order ``watcher
--help`` lists them:

    common.py       shared output and errors, the global options
    alerts.py       rules check, rules test, notify-test
    setup.py        init, validate
    poll.py         check, backfill
    daemon.py       run, reload, serve
    history.py      log, show, sources, prune
    dismissals.py   dismiss, and eval's --export-dismissed
    extraction.py   extract, eval
    outbox.py       outbox (list, retry)
"""

from watcher.cli import (
    alerts,
    common,
    daemon,
    dismissals,
    extraction,
    history,
    outbox,
    poll,
    setup,
)
from watcher.cli.common import Typer

app = Typer(help="Watch official pages for new funds, changed amounts and new "
                 "facilities, and alert.", no_args_is_help=True,
            pretty_exceptions_enable=False, add_completion=False)
app.add_typer(outbox.outbox_app, name="outbox")
app.add_typer(alerts.rules_app, name="rules")
app.command("notify-test")(alerts.notify_test)
app.callback()(common.main)
app.command()(setup.init)
app.command()(poll.check)
app.command()(daemon.run)
app.command()(daemon.reload)
app.command()(daemon.serve)
app.command()(history.log)
app.command()(history.show)
app.command()(dismissals.dismiss)
app.command()(extraction.extract)
app.command("eval")(extraction.eval_command)
app.command("sources")(history.sources_command)
app.command()(setup.validate)
app.command()(history.prune)
app.command()(poll.backfill)

__all__ = ["app"]
