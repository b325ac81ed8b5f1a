"""``watcher extract`` and ``watcher eval``: the facts of one page, and extraction scored
on labelled pages."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from watcher.cli.common import JsonOption, fail, guarded, load_runtime, out, print_json, user_errors
from watcher.config.sources import Reader
from watcher.models import AmountRole
from watcher.service.runtime import Runtime
from watcher.service.settings import Settings

GIA_READER = Reader(title="span#PRHeadlineSpan", body="span#pressrelease",
                    drop=("div.mB15.f15",))


def _read_target(target: str, runtime: Runtime) -> tuple[bytes, str, str]:
    path = Path(target)
    if path.is_dir():
        raise fail(f"{target}: a directory; give one saved page (a file) or an http(s) URL")
    if path.exists():
        try:
            return path.read_bytes(), "", path.resolve().as_uri()
        except OSError as exc:
            raise fail(f"{target}: cannot read it: {exc.strerror or exc}") from None
    if not target.startswith(("http://", "https://")):
        raise fail(f"{target}: no such file, and not an http(s) URL")

    async def get() -> tuple[bytes, str, str]:
        async with runtime.network() as fetcher:
            result = await fetcher.fetch(target)
        if result.error:
            raise fail(f"{target}: {result.error}")
        return result.content, result.content_type, target

    return asyncio.run(get())


def extract(
    target: Annotated[str, typer.Argument(
        metavar="PAGE", help="A saved page (file) or an http(s) URL.")],
    explain: Annotated[bool, typer.Option("--explain",
        help="Show the sentence and cue behind each fact.")
                       ] = False,
    json_output: JsonOption = False,
) -> None:
    """Print the facts of one page. Nothing is stored."""
    from watcher.extract import extract as extract_facts
    from watcher.read import ensure_readable, read_page

    runtime = guarded(lambda: load_runtime(init=False))
    content, content_type, url = _read_target(target, runtime)
    with user_errors():
        ensure_readable(content, content_type, url)
        reader = GIA_READER if b'id="pressrelease"' in content else None
        document = read_page(content, content_type, url=url, source="cli", reader=reader)
        facts = extract_facts(document, runtime.gazetteer)
    if json_output:
        print_json([{"kind": str(f.kind), "name": f.name, "key": f.key,
                     "amount_hkd": f.amount_hkd, "status": str(f.status) if f.status else None,
                     "attributes": dict(f.attributes),
                     "amounts": [a.as_json() | {"cue": a.cue} for a in f.amounts],
                     "evidence": f.evidence, "cue": f.cue, "language": f.language}
                    for f in facts])
        return
    table = Table("#", "kind", "name", "size (HKD)", "other amounts", "status",
                  title=document.title or url)
    for number, f in enumerate(facts, 1):
        others = "; ".join(f"{a.role}: {a.hkd:,}" for a in f.amounts
                           if a.role is not AmountRole.SIZE)
        table.add_row(str(number), str(f.kind), f.name,
                      f"{f.amount_hkd:,}" if f.amount_hkd else "", others,
                      str(f.status or ""))
    out.print(table)
    if explain:  # one block per fact: a table column is too narrow for a sentence
        for number, f in enumerate(facts, 1):
            # page text is escaped: "[...]" in a sentence is not rich markup
            roles = "".join(
                f"\n   {a.role}: {escape(a.text)}"
                f"{' (was HK$' + format(a.previous_hkd, ',') + ')' if a.previous_hkd else ''}"
                f"{' (earlier)' if a.earlier else ''} because '{escape(a.cue)}'"
                for a in f.amounts)
            out.print(f"[bold]{number}. {escape(f.name)}[/bold]\n"
                      f"   sentence: {escape(f.evidence)}\n   why: {escape(f.cue)}{roles}",
                      highlight=False)


def eval_command(
    directory: Annotated[Path, typer.Argument(
        metavar="DIRECTORY", help="A directory of labelled pages (see docs/eval.md).")
                         ] = Path("tests/eval"),
    part: Annotated[str | None, typer.Option(
        metavar="PART", help="Only this part: dev, test (real pages) or handmade.")] = None,
    worst: Annotated[int, typer.Option(metavar="N", help="How many of the worst pages to list "
                                                         "(dev and handmade only, unless "
                                                         "--part test).")] = 5,
    export_dismissed: Annotated[Path | None, typer.Option(
        metavar="DIR",
        help="Instead of scoring: write each page a change was dismissed on (watcher "
             "dismiss) into this directory as a new case, its label pre-filled for a "
             "person to check.")] = None,
    json_output: JsonOption = False,
) -> None:
    """Score extraction on labelled pages: precision, recall and F1 per fact kind, amounts
    (exact, and their roles), statuses, per part (real pages split into dev and test,
    and the hand-made pages) and language, and the worst pages. Nothing is stored."""
    if export_dismissed is not None:
        from watcher.cli.dismissals import export_dismissed as export

        written = export(export_dismissed)
        if json_output:
            print_json({"directory": str(export_dismissed), "cases": written})
        else:
            out.print(f"wrote {written} dismissed page(s) to {export_dismissed} as cases "
                      "to check (docs/eval.md)", markup=False, highlight=False)
        return
    from watcher.eval import PARTS, evaluate, floors_of, measures, verdict

    if part is not None and part not in PARTS:
        raise fail(f"--part {part!r}: not a part (parts: {', '.join(PARTS)})")
    if worst < 0:
        raise fail(f"--worst {worst}: give 0 or more")

    def work() -> Any:
        from watcher.extract import Gazetteer
        from watcher.extract.baseline import load_baseline

        gazetteer = Gazetteer.from_baseline(load_baseline(Settings().baseline_file))
        return evaluate(directory, gazetteer)

    report = guarded(work)
    parts = [p for p in PARTS if (part is None or p == part) and report.subset(p).pages]
    if json_output:
        print_json({p: {lang or "all": report.subset(p, lang).as_json(worst)
                        | {"misses": verdict(report.subset(p, lang), floors_of(p))}
                        for lang in (None, "en", "zh") if report.subset(p, lang).pages}
                    for p in parts})
        return
    for name in parts:
        sub = report.subset(name)
        table = Table("measure", "precision", "recall", "F1", "right", "extra", "missed",
                      title=f"{name}: {len(sub.pages)} pages "
                            f"({len(sub.subset(language='en').pages)} en, "
                            f"{len(sub.subset(language='zh').pages)} zh)")
        for label, c in measures(sub):
            table.add_row(label, f"{c.precision:.3f}", f"{c.recall:.3f}", f"{c.f1:.3f}",
                          str(c.tp), str(c.fp), str(c.fn))
        out.print(table)
        for lang in ("en", "zh"):
            one = sub.subset(language=lang)
            if one.pages:
                kinds = ", ".join(f"{k} {c.precision:.2f}/{c.recall:.2f}"
                                  for k, c in one.kinds.items())
                out.print(f"  {lang}: {kinds}; amounts exact {one.amounts_exact:.2f}, "
                          f"role errors {one.role_errors}, status {one.status_accuracy:.2f}",
                          highlight=False)
        out.print(f"  amounts exact: {sub.amounts_exact:.3f} of {sub.sizes_given} sizes given; "
                  f"amount-role errors: {sub.role_errors}; status accuracy: "
                  f"{sub.status_accuracy:.3f}; negative pages: {sub.negative_pages}, funding "
                  f"facts on them: {sub.negative_funding}", highlight=False)
        pages = sub.worst(worst) if name != "test" or part == "test" else []
        if pages:
            listing = Table("page", "mistakes", "what went wrong", title=f"{name}: worst pages")
            for page in pages:
                listing.add_row(page.case, str(page.errors), escape("\n".join(page.mistakes)))
            out.print(listing)
        for miss in verdict(sub, floors_of(name)):
            out.print(f"  below threshold: {miss}", markup=False, highlight=False)
