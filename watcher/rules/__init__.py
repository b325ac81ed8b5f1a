"""Rules: which events raise alerts, and the alerts' text.

    events.py     Event (a fact added, changed or removed; a source failing or recovering)
                  and what a rule's templates see of one
    model.py      what a rule in rules/*.yaml may say; templates checked when it loads
    evaluate.py   pure: (rules, event) -> alerts
    render.py     amounts and statuses in words, page text escaped for HTML and markdown
    testing.py    `watcher rules test`: rules/tests/*.yaml through the real pipeline

Loading the rule files is watcher.config.rules.
"""

from watcher.rules.evaluate import evaluate
from watcher.rules.events import Event
from watcher.rules.model import Rule

__all__ = ["Event", "Rule", "evaluate"]
