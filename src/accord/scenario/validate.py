"""Checks every reader shares: scales, ranges, saliences, capabilities, evidence references.

Readers parse; this module judges. Each problem is located by the file and line stored on
the offending Quantity, so a CSV row and a YAML line are reported the same way.
"""

from __future__ import annotations

import math

from ..errors import Collector
from .model import DISTRIBUTIONS, Quantity, Scenario


def _finite(x: float | None) -> bool:
    return x is not None and isinstance(x, (int, float)) and math.isfinite(x)


def check_quantity(q: Quantity, field: str, lo: float | None, hi: float | None,
                   expected: str, out: Collector) -> None:
    """A number, its range and distribution, against the bounds [lo, hi] (None: open)."""
    if not _finite(q.value):
        out.add(q.line, field, q.value, "a finite number", file=q.file)
        return
    if (lo is not None and q.value < lo) or (hi is not None and q.value > hi):
        out.add(q.line, field, q.value, expected, file=q.file)
    rl = q.range_line or q.line
    if (q.low is None) != (q.high is None):
        out.add(rl, f"{field}.range", (q.low, q.high), "both ends of the range",
                file=q.file)
    elif q.low is not None and q.high is not None:
        if not (_finite(q.low) and _finite(q.high)) or q.low > q.high:
            out.add(rl, f"{field}.range", [q.low, q.high], "[low, high] with low <= high",
                    file=q.file)
        elif not (q.low <= q.value <= q.high):
            out.add(rl, f"{field}.range", [q.low, q.high],
                    f"a range that contains the value {q.value:g}", file=q.file)
        elif (lo is not None and q.low < lo) or (hi is not None and q.high > hi):
            out.add(rl, f"{field}.range", [q.low, q.high], f"a range within "
                    f"[{'-inf' if lo is None else f'{lo:g}'}, {'inf' if hi is None else f'{hi:g}'}]",
                    file=q.file)
    if q.dist not in DISTRIBUTIONS:
        out.add(q.line, f"{field}.dist", q.dist, f"one of {', '.join(DISTRIBUTIONS)}",
                file=q.file)
    for ev in q.evidence:
        if ev.quote is not None and ev.source is None:
            out.add(ev.line or q.line, f"{field}.evidence", ev.quote[:60],
                    "a quote with its source id (source: ...)", file=ev.file or q.file)


def check_scenario(sc: Scenario, out: Collector) -> None:
    """Every semantic rule, for the base coding and every view."""
    for a in sc.actors:
        check_quantity(a.capability, f"actors.{a.id}.capability", 0.0, None,
                       "a capability >= 0", out)
        if a.no_deal is not None:
            check_quantity(a.no_deal, f"actors.{a.id}.no_deal", 0.0, 1.0,
                           "a no-deal utility in [0, 1]", out)
    for deal, members in sc.deals.items():
        for issue in members:
            if issue not in sc.issue_ids:
                out.add(None, f"deals.{deal}.issues", issue,
                        f"an issue id ({', '.join(sc.issue_ids)})")
    issues = {x.id: x for x in sc.issues}
    for x in sc.issues:
        if not (_finite(x.low) and _finite(x.high)) or not x.low < x.high:
            out.add(None, f"issues.{x.id}.scale", [x.low, x.high], "[low, high] with low < high")
            continue
        if x.status_quo_quantity is not None:
            check_quantity(x.status_quo_quantity, f"issues.{x.id}.status_quo", x.low, x.high,
                           f"a point on the scale [{x.low:g}, {x.high:g}]", out)
        elif x.status_quo is not None and not (x.low <= x.status_quo <= x.high):
            out.add(None, f"issues.{x.id}.status_quo", x.status_quo,
                    f"a point on the scale [{x.low:g}, {x.high:g}]")
        for point, _label in x.anchors:
            if not (x.low <= point <= x.high):
                out.add(None, f"issues.{x.id}.anchors", point,
                        f"an anchor on the scale [{x.low:g}, {x.high:g}]")

    def check_stances(stances, prefix: str) -> None:
        for (actor, issue), st in stances.items():
            if st is None or issue not in issues:
                continue
            x = issues[issue]
            check_quantity(st.position, f"{prefix}{actor}.{issue}.position", x.low, x.high,
                           f"a position on the issue's scale [{x.low:g}, {x.high:g}]", out)
            v = st.salience.value
            hint = (f" (on a 0–100 scale? write {v / 100:g})"
                    if _finite(v) and 1 < v <= 100 else "")
            check_quantity(st.salience, f"{prefix}{actor}.{issue}.salience", 0.0, 1.0,
                           "a salience in [0, 1]" + hint, out)

    check_stances(sc.stances, "")
    for v in sc.views.values():
        check_stances(v.stances, f"views.{v.id}.")
        for actor, q in v.capability.items():
            check_quantity(q, f"views.{v.id}.{actor}.capability", 0.0, None,
                           "a capability >= 0", out)
        for actor, q in v.no_deal.items():
            check_quantity(q, f"views.{v.id}.{actor}.no_deal", 0.0, 1.0,
                           "a no-deal utility in [0, 1]", out)
        for issue, q in v.status_quo.items():
            if issue in issues:
                x = issues[issue]
                check_quantity(q, f"views.{v.id}.issues.{issue}.status_quo", x.low, x.high,
                               f"a point on the scale [{x.low:g}, {x.high:g}]", out)
    for q, field in _all_quantities(sc):
        for ev in q.evidence:
            if ev.source is not None and sc.sources and ev.source not in sc.sources:
                out.add(ev.line or q.line, f"{field}.evidence.source", ev.source,
                        f"a source id declared under sources ({', '.join(sc.sources)})",
                        file=ev.file or q.file)
    _check_outlook(sc, issues, out)
    if sum(a.capability.value for a in sc.actors if _finite(a.capability.value)) <= 0 and sc.actors:
        out.add(None, "actors.capability", 0, "at least one actor with capability > 0")


OUTLOOK_BOUNDS = {"cost": (0.0, 1.0, "a monthly cost of fighting in [0, 1] utility per month"),
                  "p_holds": (0.0, 1.0, "a probability in (0, 1]"),
                  "renewal_cost": (0.0, 1.0, "a utility loss in [0, 1]"),
                  "capability_trend": (None, None, "a finite number (capability per month)")}


def _check_outlook(sc: Scenario, issues: dict, out: Collector) -> None:
    """Outlook inputs: bounds of costs and beliefs, red lines on the scale, durability ratios,
    events in order."""
    def actor_fields(actor_id: str, values, prefix: str) -> None:
        for f, q in values:
            lo, hi, expected = OUTLOOK_BOUNDS[f]
            check_quantity(q, f"{prefix}{actor_id}.{f}", lo, hi, expected, out)
            if f == "p_holds" and _finite(q.value) and q.value <= 0:
                out.add(q.line, f"{prefix}{actor_id}.p_holds", q.value, expected, file=q.file)

    def red_line(actor_id: str, issue: str, rl, prefix: str, position) -> None:
        if rl is None or issue not in issues:
            return
        x, field = issues[issue], f"{prefix}{actor_id}.red_lines.{issue}"
        if rl.low is None and rl.high is None:
            out.add(rl.line, field, {}, "min:, max: or both (the acceptable settlements)",
                    file=rl.file)
            return
        for b in (rl.low, rl.high):
            if b is not None and not (_finite(b) and x.low <= b <= x.high):
                out.add(rl.line, field, b, f"bounds on the issue's scale [{x.low:g}, {x.high:g}]",
                        file=rl.file)
        if rl.low is not None and rl.high is not None and rl.low > rl.high:
            out.add(rl.line, field, [rl.low, rl.high], "min <= max", file=rl.file)
        elif position is not None and _finite(position) and not (
                (rl.low is None or position >= rl.low) and (rl.high is None or position <= rl.high)):
            out.add(rl.line, field, [rl.low, rl.high],
                    f"a red line that admits the actor's own position {position:g}", file=rl.file)

    def durability(d, prefix: str) -> None:
        for issue, q in d.items():
            check_quantity(q, f"{prefix}durability.{issue}", 0.0, None,
                           "a breakdown hazard ratio > 0", out)
            if _finite(q.value) and q.value <= 0:
                out.add(q.line, f"{prefix}durability.{issue}", q.value,
                        "a breakdown hazard ratio > 0", file=q.file)

    def events(evs, prefix: str) -> None:
        for e in evs:
            field = f"{prefix}events.{e.name}"
            if e.until is not None and e.until < e.date:
                out.add(e.line, f"{field}.until", str(e.until), f"a date on or after {e.date}",
                        file=e.file)
            if e.announced is not None and e.announced > e.date:
                out.add(e.line, f"{field}.announced", str(e.announced),
                        f"a date on or before the event's date {e.date}", file=e.file)
            if e.hazard_ratio is not None:
                check_quantity(e.hazard_ratio, f"{field}.hazard_ratio", 0.0, None,
                               "a hazard ratio >= 0", out)

    for a in sc.actors:
        actor_fields(a.id, [(f, getattr(a, f)) for f in OUTLOOK_BOUNDS if getattr(a, f)], "actors.")
        for issue, rl in a.red_lines.items():
            st = sc.stances.get((a.id, issue))
            red_line(a.id, issue, rl, "actors.", st.position.value if st else None)
    durability(sc.durability, "")
    events(sc.events, "")
    for v in sc.views.values():
        for (actor, f), q in v.outlook.items():
            actor_fields(actor, [(f, q)], f"views.{v.id}.")
        for (actor, issue), rl in v.red_lines.items():
            st = v.stances.get((actor, issue)) or sc.stances.get((actor, issue))
            red_line(actor, issue, rl, f"views.{v.id}.", st.position.value if st else None)
        durability(v.durability, f"views.{v.id}.")
        events(v.events, f"views.{v.id}.")
    for x in sc.issues:
        if x.trend is not None:
            check_quantity(x.trend, f"issues.{x.id}.trend", None, None,
                           "a finite drift (scale units per month)", out)


def _all_quantities(sc: Scenario):
    for x in sc.issues:
        if x.status_quo_quantity is not None:
            yield x.status_quo_quantity, f"issues.{x.id}.status_quo"
    for d, ev in sc.deal_evidence.items():      # the claim that these issues settle apart
        yield Quantity(float(len(sc.deals[d])), evidence=ev), f"deals.{d}"
    for a in sc.actors:
        yield a.capability, f"actors.{a.id}.capability"
        if a.veto_quantity is not None:
            yield a.veto_quantity, f"actors.{a.id}.veto"
        if a.no_deal is not None:
            yield a.no_deal, f"actors.{a.id}.no_deal"
    for (actor, issue), st in sc.stances.items():
        yield st.position, f"{actor}.{issue}.position"
        yield st.salience, f"{actor}.{issue}.salience"
    yield from _outlook_quantities(sc)
    for v in sc.views.values():
        for actor, q in v.capability.items():
            yield q, f"views.{v.id}.{actor}.capability"
        for actor, q in v.veto_quantity.items():
            yield q, f"views.{v.id}.{actor}.veto"
        for actor, q in v.no_deal.items():
            yield q, f"views.{v.id}.{actor}.no_deal"
        for issue, q in v.status_quo.items():
            yield q, f"views.{v.id}.issues.{issue}.status_quo"
        for (actor, issue), st in v.stances.items():
            if st is not None:
                yield st.position, f"views.{v.id}.{actor}.{issue}.position"
                yield st.salience, f"views.{v.id}.{actor}.{issue}.salience"


def _outlook_quantities(sc: Scenario):
    """The outlook inputs that carry evidence: red lines, delivery vetoes, costs, beliefs,
    trends, durability and events (so `accord evidence check` checks their quotes too)."""
    from .model import OUTLOOK_ACTOR_FIELDS, Quantity

    def carrier(obj) -> Quantity:
        return Quantity(0.0, evidence=obj.evidence, file=obj.file, line=obj.line)

    def events(evs, prefix):
        for e in evs:
            yield carrier(e), f"{prefix}events.{e.name}"
            if e.hazard_ratio is not None:
                yield e.hazard_ratio, f"{prefix}events.{e.name}.hazard_ratio"

    for x in sc.issues:
        if x.trend is not None:
            yield x.trend, f"issues.{x.id}.trend"
    for a in sc.actors:
        for f in OUTLOOK_ACTOR_FIELDS:
            if getattr(a, f) is not None:
                yield getattr(a, f), f"actors.{a.id}.{f}"
        if a.delivers is not None:
            yield carrier(a.delivers), f"actors.{a.id}.delivers"
        for issue, rl in a.red_lines.items():
            yield carrier(rl), f"actors.{a.id}.red_lines.{issue}"
    for issue, q in sc.durability.items():
        yield q, f"durability.{issue}"
    yield from events(sc.events, "")
    for v in sc.views.values():
        p = f"views.{v.id}."
        for (actor, f), q in v.outlook.items():
            yield q, f"{p}{actor}.{f}"
        for actor, d in v.delivers.items():
            if d is not None:
                yield carrier(d), f"{p}{actor}.delivers"
        for (actor, issue), rl in v.red_lines.items():
            if rl is not None:
                yield carrier(rl), f"{p}{actor}.red_lines.{issue}"
        for issue, q in v.trend.items():
            yield q, f"{p}issues.{issue}.trend"
        for issue, q in v.durability.items():
            yield q, f"{p}durability.{issue}"
        yield from events(v.events, p)


all_quantities = _all_quantities
