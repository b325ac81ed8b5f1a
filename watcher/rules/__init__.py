"""Rules: which events raise alerts, and the alerts' text.

    model.py      what a rule in rules/*.yaml may say (templates checked when it loads),
                  and loading the rule files
    evaluate.py   Event (a fact added, changed or removed; a source failing or
                  recovering) and pure evaluation: (rules, event) -> alerts
    render.py     amounts and statuses in words, page text escaped for HTML and markdown
    testing.py    `watcher rules test`: rules/tests/*.yaml through the real pipeline
"""

from watcher.rules.evaluate import Event, evaluate
from watcher.rules.model import Rule

__all__ = ["Event", "Rule", "evaluate"]
