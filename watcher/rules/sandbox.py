"""The environment rule templates run in: Jinja2's sandbox, bounded in what it builds.

Jinja2's ``SandboxedEnvironment`` keeps templates away from Python's internals and caps
``range()`` at 100,000 items, but not the text a template can build:
``{{ 'a' * 3000000000 }}`` was folded at load time and ended in a MemoryError traceback.
Here every way of building a large value from a small template is checked before it
runs, against ``MAX_TEXT`` characters (an alert's subject and body are a few hundred):

- the operators ``*`` (a string or list repeated), ``+`` (two joined), ``%`` (a format
  with a width) and ``**`` (a huge integer): intercepted, so Jinja2 no longer folds them
  at load time either;
- the width of ``center``, ``ljust``, ``rjust``, ``zfill``, ``expandtabs``, ``indent``,
  the growth of ``replace``, and the widths in ``format`` (method and filter);
- the rendered text itself, taken piece by piece (``render``), so loops cannot pile up
  more than ``MAX_TEXT`` either.

A template past a bound raises ``SecurityError`` (a TemplateError): at load, the rule's
``file:line:col`` and the bound; at alert time, the rule's fallback alert.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sized
from typing import Any

from jinja2 import Template
from jinja2.exceptions import SecurityError
from jinja2.filters import do_center, do_format, do_indent, do_replace
from jinja2.runtime import Context
from jinja2.sandbox import SandboxedEnvironment

MAX_TEXT = 100_000  # characters (or items) one value or one rendering may hold
MAX_INTEGER_BITS = 4096  # 10**1233: far beyond any amount of money

# Format widths and precisions: "%10s", "%.3f", "{:>10}", "{0:^{1}}" (nested: refused below).
_PERCENT_WIDTH = re.compile(r"%[-#0 +]*(\d*)(?:\.(\d+))?")
_BRACE_WIDTH = re.compile(r"\{[^{}]*:[^{}]*?(\d+)(?:\.(\d+))?[^{}]*\}")
_WIDTH_METHODS = {"center", "ljust", "rjust", "zfill", "expandtabs"}


def _too_big(size: int, what: str = "a text") -> SecurityError:
    unit = "items" if what == "a list" else "characters"
    return SecurityError(f"the template builds {what} of {size:,} {unit} "
                         f"(the most is {MAX_TEXT:,})")


def _check_size(size: int, sample: object = "") -> None:
    if size > MAX_TEXT:
        raise _too_big(size, "a list" if isinstance(sample, list | tuple) else "a text")


def _check_widths(spec: str) -> None:
    """Refuse a format string whose widths or precisions exceed MAX_TEXT."""
    for pattern in (_PERCENT_WIDTH, _BRACE_WIDTH):
        for match in pattern.finditer(spec):
            for number in match.groups():
                if number and (len(number) > 6 or int(number) > MAX_TEXT):
                    raise SecurityError(f"a format width of {number} is more than "
                                        f"{MAX_TEXT:,}")
    if re.search(r"\{[^{}]*\{", spec):
        raise SecurityError("nested format fields (a width from an argument) are not "
                            "allowed in rule templates")


def _check_repeat(left: Any, right: Any) -> None:
    for sequence, times in ((left, right), (right, left)):
        if isinstance(sequence, str | list | tuple | bytes) and isinstance(times, int):
            _check_size(len(sequence) * times, sequence)


def _check_power(base: Any, exponent: Any) -> None:
    if isinstance(base, int) and isinstance(exponent, int) and exponent > 0:
        bits = max(abs(base).bit_length(), 1) * exponent
        if abs(base) > 1 and bits > MAX_INTEGER_BITS:
            raise SecurityError(f"the template builds an integer of about {bits:,} bits "
                                f"(the most is {MAX_INTEGER_BITS:,})")


def _check_replace(text: Any, old: Any, new: Any, count: Any = None) -> None:
    if isinstance(text, str) and isinstance(old, str) and isinstance(new, str):
        times = text.count(old) if old else len(text) + 1
        if isinstance(count, int) and count >= 0:
            times = min(times, count)
        _check_size(len(text) + times * max(len(new) - len(old), 0))


def _bounded_center(value: str, width: int = 80) -> str:
    _check_size(width)
    return do_center(value, width)


def _bounded_indent(value: str, width: int | str = 4, first: bool = False,
                    blank: bool = False) -> str:
    size = width if isinstance(width, int) else len(width)
    _check_size(size * (str(value).count("\n") + 1) + len(str(value)))
    return do_indent(value, width, first, blank)


def _bounded_format(value: str, *args: Any, **kwargs: Any) -> str:
    _check_widths(str(value))
    return do_format(value, *args, **kwargs)


def _bounded_replace(eval_ctx: Any, value: str, old: str, new: str,
                     count: int | None = None) -> str:
    _check_replace(str(value), old, new, count)
    return do_replace(eval_ctx, value, old, new, count)


_bounded_replace.jinja_pass_arg = do_replace.jinja_pass_arg  # type: ignore[attr-defined]


class RuleEnvironment(SandboxedEnvironment):
    """Jinja2's sandbox with the bounds of the module docstring."""

    intercepted_binops = frozenset({"*", "+", "%", "**"})

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.filters.update(center=_bounded_center, indent=_bounded_indent,
                            format=_bounded_format, replace=_bounded_replace)

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        if operator == "*":
            _check_repeat(left, right)
        elif operator == "+" and isinstance(left, Sized) and isinstance(right, Sized):
            _check_size(len(left) + len(right), left)
        elif operator == "%" and isinstance(left, str):
            _check_widths(left)
        elif operator == "**":
            _check_power(left, right)
        return super().call_binop(context, operator, left, right)

    def call(__self, __context: Context, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        name = getattr(__obj, "__name__", "")
        owner = getattr(__obj, "__self__", None)
        if isinstance(owner, str):
            if name in _WIDTH_METHODS:
                width = max([0, *(a for a in (*args, *kwargs.values()) if isinstance(a, int))])
                tabs = owner.count("\t") + 1 if name == "expandtabs" else 1
                _check_size(len(owner) + width * tabs)
            elif name == "replace":
                _check_replace(owner, *args, **kwargs)
        return super().call(__context, __obj, *args, **kwargs)

    def wrap_str_format(self, value: Any) -> Any:
        # str.format and format_map reach templates through here, not through call().
        wrapped = super().wrap_str_format(value)
        if wrapped is not None:
            _check_widths(value.__self__)
        return wrapped


def render(template: Template, context: Mapping[str, Any]) -> str:
    """``template`` rendered with ``context``, taken piece by piece and refused once it
    passes ``MAX_TEXT`` characters."""
    pieces: list[str] = []
    size = 0
    for piece in template.generate(**context):
        size += len(piece)
        if size > MAX_TEXT:
            raise _too_big(size, "an alert")
        pieces.append(piece)
    return "".join(pieces)
