"""``watcher dismiss``, and ``watcher eval --export-dismissed``: a person says a change is
wrong, and each page a change was dismissed on becomes a new evaluation case.

An exported case is a real page in the format of tests/eval/real (docs/eval.md): the
page's text as stored, headline on the first line (``<name>.txt``), and a label file
(``<name>.yaml``: url, language, published, facts) pre-filled from the facts watcher
stored for the page, minus the dismissed claim. It is a draft for a person to check, not
a label: what watcher read wrongly once may be wrong elsewhere on the page too.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
import yaml

from watcher import store
from watcher.cli.common import JsonOption, fail, guarded, load_runtime, out, print_json
from watcher.store import dismissals
from watcher.store.timeutil import utcnow

# The kinds a label lists (watcher.eval.labels), and the roles it gives amounts other than
# the size; an old value stated beside a size or a cap is a ``previous_*`` role.
_LABEL_KINDS = ("funding", "facility", "organisation")
_LABEL_ROLES = ("added", "cap_per_project", "grant", "project_cost", "threshold",
                "private_investment", "other")
_PREVIOUS = {"size": "previous_size", "cap_per_project": "previous_cap"}
_CLAIM_ROLES = {"amount_hkd": "size", "cap_per_project_hkd": "cap_per_project",
                "threshold_hkd": "threshold", "added_hkd": "added"}


def dismiss(
    change_id: Annotated[int, typer.Argument(help="The change's id (watcher log).")],
    reason: Annotated[str, typer.Option(help="Why it is wrong, kept with the change.")] = "",
    json_output: JsonOption = False,
) -> None:
    """Say a change is wrong: it stays in the log marked dismissed, the fact goes back to
    what it was before it, and the same claim never alerts again."""
    runtime = guarded(load_runtime)
    with store.transaction(runtime.engine) as session:
        done = dismissals.dismiss(session, change_id, reason, utcnow())
    if done is None:
        raise fail(f"no change with id {change_id}")
    if json_output:
        print_json({"id": change_id, "already": done.already, "restored": done.restored,
                    "held_back": done.held_back})
        return
    if done.already:
        out.print(f"change {change_id} was already dismissed", markup=False)
        return
    out.print(f"dismissed change {change_id}; the fact is back to "
              f"{done.restored or 'nothing known'}"
              + (f"; {done.held_back} waiting deliveries will not be sent"
                 if done.held_back else ""), markup=False, highlight=False)


def export_dismissed(directory: Path) -> int:
    """Write each dismissed change's page and draft label into ``directory``; how many."""
    runtime = guarded(load_runtime)
    with store.transaction(runtime.engine) as session:
        pages = dismissals.dismissed_pages(session)
    try:
        directory.mkdir(parents=True, exist_ok=True)
        for page in pages:
            stem = directory / f"dismissed-{page.change_id}-{page.language}"
            stem.with_suffix(".txt").write_text(
                f"{' '.join(page.title.split())}\n{page.text.strip()}\n", encoding="utf-8")
            stem.with_suffix(".yaml").write_text(
                yaml.safe_dump(draft_label(page), sort_keys=False, allow_unicode=True,
                               width=88), encoding="utf-8")
    except OSError as exc:
        raise fail(f"{directory}: {exc.strerror or exc}") from None
    return len(pages)


def draft_label(page: dismissals.DismissedPage) -> dict[str, Any]:
    """The label file of a dismissed page: its facts as stored, without the claim."""
    facts = []
    for fact in page.facts:
        if fact.kind not in _LABEL_KINDS:
            continue
        label: dict[str, Any] = {"kind": fact.kind, "key": fact.key, "name": fact.name,
                                 "amount_hkd": fact.amount_hkd, "status": fact.status,
                                 "amounts": _label_amounts(fact.amounts)}
        if fact.key == page.fact_key:
            if page.change_type in ("new", "seen"):
                continue  # the fact itself was the mistake
            label = _without_claim(label, page.claimed)
        facts.append(label)
    published = page.published_at.date() if page.published_at else None
    return {"url": page.url, "language": page.language, "published": published,
            "note": (f"Exported from change {page.change_id}, dismissed "
                     f"{page.dismissed_at:%Y-%m-%d}"
                     + (f" ({page.reason})" if page.reason else "")
                     + ": the facts are watcher's, without the dismissed claim "
                     f"{_claim_text(page.claimed)}. Check every fact against the page "
                     "before adding this case."),
            "facts": facts}


def _label_amounts(amounts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for amount in amounts:
        role = str(amount.get("role", "other"))
        if amount.get("earlier"):
            continue  # a past value: labels leave it out
        if role in _LABEL_ROLES:
            out.append({"role": role, "hkd": int(amount["hkd"]),
                        "text": str(amount.get("text", "")),
                        "qualifier": str(amount.get("qualifier", ""))})
        if amount.get("previous_hkd") is not None and role in _PREVIOUS:
            out.append({"role": _PREVIOUS[role], "hkd": int(amount["previous_hkd"])})
    return out


def _without_claim(label: dict[str, Any], claimed: dict[str, Any]) -> dict[str, Any]:
    label = dict(label)
    if "amount_hkd" in claimed and str(label["amount_hkd"]) == str(claimed["amount_hkd"]):
        label["amount_hkd"] = None
    if "status" in claimed and label["status"] == claimed["status"]:
        label["status"] = None
    wrong = {(_CLAIM_ROLES[k], str(v)) for k, v in claimed.items() if k in _CLAIM_ROLES}
    label["amounts"] = [a for a in label["amounts"]
                        if (a["role"], str(a["hkd"])) not in wrong]
    return label


def _claim_text(claimed: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in sorted(claimed.items())) or "(nothing)"
