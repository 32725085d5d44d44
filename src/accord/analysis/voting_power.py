"""Voting power of EU Council members under the rule in force on a date: Shapley–Shubik or Banzhaf.

The backtest weighs Council members by a power index rather than by raw votes because votes
are not power: under the EU-15 rule Luxembourg's 2 of 87 votes (2.3%) give it 2.07% of the
pivots, Spain's 8 give 9.5%. The periods, weights and quotas are those of
:data:`COUNCIL_PERIODS`, each with its source.

Plain weighted games (one weight vector and a quota) go to the maintained ``powerindex``
package. Composite rules (Nice: votes *and* a number of members; Lisbon: members *and*
population, or enough members to leave no blocking minority) are counted exactly with a
two-dimensional generating function over (coalition size k, weight w): the others'
coalitions are counted once for all players, each player's are recovered by dividing its
factor (1 + y·x^w_i) out, and player i is pivotal for a coalition S of the others when S
loses and S ∪ {i} wins. Shapley–Shubik weighs a pivotal S of size k by k!(n−1−k)!/n!,
Banzhaf counts swings (Bilbao, Fernández, Jiménez & López 2002, "Voting power in the
European Union enlargement", EJOR 143:181–196, for the method).

Example (the EEC-6 Council of 1958, weights 4, 4, 4, 2, 2, 1, quota 12; Straffin 1993):

>>> [round(x, 4) for x in shapley_shubik([4, 4, 4, 2, 2, 1], 12)]
[0.2333, 0.2333, 0.2333, 0.15, 0.15, 0.0]
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Mapping, Sequence

import numpy as np

EU15 = ("at", "be", "dk", "fi", "fr", "de", "el", "ie", "it", "lu", "nl", "pt", "es", "se", "uk")
"""DEU's codes of the EU-15 members (``el`` = Greece)."""
ACCESSION_2004 = ("cy", "cz", "ee", "hu", "lv", "lt", "mt", "pl", "sk", "si")
ACCESSION_2007 = ("bu", "ro")
"""DEU codes ``bu`` = Bulgaria, ``cr`` = Croatia."""
ACCESSION_2013 = ("cr",)

_PRE_NICE = {"de": 10, "fr": 10, "it": 10, "uk": 10, "es": 8, "be": 5, "el": 5, "nl": 5,
             "pt": 5, "at": 4, "se": 4, "dk": 3, "ie": 3, "fi": 3, "lu": 2}
_TRANSITIONAL_2004 = {**_PRE_NICE, "pl": 8, "cz": 5, "hu": 5, "sk": 3, "lt": 3, "ee": 3,
                      "lv": 3, "si": 3, "cy": 2, "mt": 2}
_NICE = {"de": 29, "fr": 29, "it": 29, "uk": 29, "es": 27, "pl": 27, "ro": 14, "nl": 13,
         "be": 12, "el": 12, "pt": 12, "cz": 12, "hu": 12, "at": 10, "se": 10, "bu": 10,
         "dk": 7, "ie": 7, "fi": 7, "sk": 7, "lt": 7, "cr": 7, "lu": 4, "ee": 4, "lv": 4,
         "si": 4, "cy": 4, "mt": 3}

LISBON_POPULATION_2016 = {
    "de": 82.2, "fr": 66.7, "uk": 65.3, "it": 60.7, "es": 46.4, "pl": 38.0, "ro": 19.8,
    "nl": 17.0, "be": 11.3, "el": 10.8, "cz": 10.6, "pt": 10.3, "se": 9.9, "hu": 9.8,
    "at": 8.7, "bu": 7.2, "dk": 5.7, "fi": 5.5, "sk": 5.4, "ie": 4.7, "cr": 4.2, "lt": 2.9,
    "si": 2.1, "lv": 2.0, "ee": 1.3, "cy": 0.85, "lu": 0.58, "mt": 0.43}
"""Populations in millions as of 1 January 2016 (Eurostat), rounded to 0.1 million (0.01
below one million). Typed from general knowledge of Eurostat's table, not checked against it
here (no network), and not the Council's own Annex III figures (Council Decision (EU)
2015/2393 and its yearly successors). Used for every Lisbon date; pass ``populations=`` to
:func:`council_power` to use the official figures of a year."""


@dataclass(frozen=True)
class CouncilRule:
    """A Council voting rule: who votes, with what weight, and which coalitions win.

    A coalition wins when its weight reaches ``quota`` *and* it has at least ``min_members``
    members, or when it has at least ``enough_members`` members (Lisbon's "a blocking minority
    needs four members"). ``weights`` are votes (pre-Nice, Nice), population in units of
    ``1/resolution`` of the total (Lisbon), or all 1 (unanimity)."""

    name: str
    members: tuple[str, ...]
    weights: tuple[int, ...]
    quota: int
    min_members: int = 0
    enough_members: int | None = None
    source: str = ""

    @property
    def plain(self) -> bool:
        """A weighted game with one quota (what ``powerindex`` computes)."""
        return self.min_members <= 1 and self.enough_members is None


@dataclass(frozen=True)
class CouncilPeriod:
    """A stretch of time with one membership and one QMV rule (first and last day inclusive)."""

    name: str
    start: dt.date
    end: dt.date
    weights: Mapping[str, int] | None
    """Votes per member; None under Lisbon (population and members instead)."""
    quota: int | None
    min_members_commission: int
    """Members needed on a Commission proposal (0: votes suffice)."""
    min_members_other: int
    """Members needed on an act not proposed by the Commission (DEU ``counvte`` ``QMV(10)``)."""
    source: str


_AMSTERDAM = ("Art. 205(2) TEC (Amsterdam consolidation, OJ C 340, 10.11.1997): 62 of 87 votes, "
              "cast by at least 10 members where the act is not on a Commission proposal; "
              "CVCE 'Weighting of votes in the Council'; euabc.com 'Qualified majority'")
_ACT_2003 = ("Act of Accession 2003 (OJ L 236, 23.9.2003), transitional weighting of votes "
             "for 1 May - 31 October 2004 (88 of 124, a majority of members, two "
             "thirds where not on a Commission proposal, as CVCE gives it) and the Nice weights from 1 November 2004 "
             "(232 of 321, a majority of members, two thirds where not on a Commission proposal); "
             "Treaty of Nice Protocol on the enlargement; CVCE; euabc.com")
_ACT_2005 = ("Act of Accession 2005 (OJ L 157, 21.6.2005): Nice weights for EU-27, 255 of 345, "
             "14 members (18 where not on a Commission proposal); CVCE")
_ACT_2012 = ("Act of Accession 2012 (OJ L 112, 24.4.2012): Croatia 7 votes, 260 of 352, 15 "
             "members; EUR-Lex glossary 'Qualified majority'")
_LISBON = ("Art. 16(4) TEU and Art. 238(3) TFEU: 55% of members (72% where not on a Commission "
           "proposal) representing 65% of the population; a blocking minority needs at least "
           "four members (Protocol 36, Art. 3, the Nice rule on request until 31.3.2017 is not "
           "modelled); EUR-Lex glossary 'Weighting of votes in the Council'")


def _d(y, m, d):
    return dt.date(y, m, d)


COUNCIL_PERIODS: tuple[CouncilPeriod, ...] = (
    CouncilPeriod("EU-15 pre-Nice", _d(1995, 1, 1), _d(2004, 4, 30), _PRE_NICE, 62, 0, 10,
                  _AMSTERDAM),
    CouncilPeriod("EU-25 transitional", _d(2004, 5, 1), _d(2004, 10, 31), _TRANSITIONAL_2004,
                  88, 13, 17, _ACT_2003),
    CouncilPeriod("EU-25 Nice", _d(2004, 11, 1), _d(2006, 12, 31),
                  {k: v for k, v in _NICE.items() if k not in ACCESSION_2007 + ACCESSION_2013},
                  232, 13, 17, _ACT_2003),
    CouncilPeriod("EU-27 Nice", _d(2007, 1, 1), _d(2013, 6, 30),
                  {k: v for k, v in _NICE.items() if k not in ACCESSION_2013}, 255, 14, 18,
                  _ACT_2005),
    CouncilPeriod("EU-28 Nice", _d(2013, 7, 1), _d(2014, 10, 31), dict(_NICE), 260, 15, 19,
                  _ACT_2012),
    CouncilPeriod("EU-28 Lisbon", _d(2014, 11, 1), _d(2020, 1, 31), None, None, 0, 0, _LISBON),
)
"""Every period DEU's decisions fall in (1996–2019). Weights and quotas as tabulated by CVCE
('Weighting of votes in the Council') and euabc.com, the same as the capability table of
``hamzagul07/schelling`` (``src/schelling/backtest/capability.py``); the totals (87, 124, 321,
345, 352) are checked by the tests."""

RULES = ("QMV", "QMV(10)", "Unan")
"""DEU ``counvte`` codes: qualified majority on a Commission proposal; qualified majority
not on a Commission proposal (the pre-Nice "62 votes cast by at least 10 members"); unanimity."""


def period_on(date: dt.date) -> CouncilPeriod:
    """The Council period in force on ``date`` (ValueError outside 1995-01-01 – 2020-01-31)."""
    for p in COUNCIL_PERIODS:
        if p.start <= date <= p.end:
            return p
    raise ValueError(f"no Council period known for {date.isoformat()}; "
                     f"expected a date from 1995-01-01 to 2020-01-31")


def council_rule(date: dt.date, rule: str, *, populations: Mapping[str, float] | None = None,
                 resolution: float = 1e-4) -> CouncilRule:
    """The voting game of the Council on ``date`` under ``counvte`` code ``rule``.

    Under Lisbon the population weights are shares of the members' total rounded to
    ``resolution`` (1e-4: 0.01 percentage points), which moves no index by more than 1e-4."""
    if rule not in RULES:
        raise ValueError(f"voting rule {rule!r}; expected one of {', '.join(RULES)}")
    period = period_on(date)
    if period.weights is not None:
        members = tuple(period.weights)
    else:
        members = tuple(LISBON_POPULATION_2016)
    n = len(members)
    if rule == "Unan":
        return CouncilRule(f"{period.name}, unanimity", members, (1,) * n, n,
                           source=period.source + "; unanimity: every member a veto player")
    other = rule == "QMV(10)"
    if period.weights is not None:
        need = period.min_members_other if other else period.min_members_commission
        return CouncilRule(f"{period.name}, {rule}", members,
                           tuple(period.weights[m] for m in members), int(period.quota),
                           min_members=need, source=period.source)
    pop = dict(LISBON_POPULATION_2016 if populations is None else populations)
    missing = [m for m in members if m not in pop]
    if missing:
        raise ValueError(f"populations: no figure for {', '.join(missing)}")
    total = sum(pop[m] for m in members)
    units = round(1 / resolution)
    weights = tuple(int(round(pop[m] / total * units)) for m in members)
    share = 0.72 if other else 0.55
    return CouncilRule(f"{period.name}, {rule}", members, weights,
                       int(math.ceil(0.65 * sum(weights) - 1e-9)),
                       min_members=int(math.ceil(share * n - 1e-9)),
                       enough_members=None if other else n - 3, source=period.source)


def _counts_without_each(weights: np.ndarray) -> np.ndarray:
    """``[n, n, W+1]``: for each player i, the number of coalitions of the *others* of size k
    and weight w (exact integers)."""
    n = weights.size
    total = int(weights.sum())
    full = np.zeros((n + 1, total + 1), dtype=np.int64)
    full[0, 0] = 1
    for w in weights:  # multiply by (1 + y x^w): one vector step per player
        full[1:, w:] += full[:-1, : total + 1 - w].copy()
    out = np.zeros((n, n, total + 1), dtype=np.int64)
    for i, w in enumerate(weights):  # divide (1 + y x^w_i) out: N[k] = F[k] - N[k-1] shifted
        c = out[i]
        c[0] = full[0]
        for k in range(1, n):
            c[k] = full[k]
            c[k, w:] -= c[k - 1, : total + 1 - w]
    return out


def _pivots(rule: CouncilRule) -> tuple[np.ndarray, np.ndarray]:
    """``[n, n]`` (player, size of the others' coalition) pivot counts and the player weights."""
    w = np.asarray(rule.weights, dtype=np.int64)
    n = w.size
    counts = _counts_without_each(w)
    total = int(w.sum())
    k = np.arange(n + 1)[:, None]
    x = np.arange(total + 1)[None, :]

    def wins(size, weight):
        ok = (weight >= rule.quota) & (size >= rule.min_members)
        if rule.enough_members is not None:
            ok |= size >= rule.enough_members
        return ok

    lose = ~wins(k[:n], x)
    piv = np.empty((n, n), dtype=np.int64)
    for i in range(n):
        joined = wins(k[1:n + 1], x + w[i])
        piv[i] = (counts[i] * (lose & joined)).sum(axis=1)
    return piv, w


def shapley_shubik(weights: Sequence[int], quota: int, *, min_members: int = 0,
                   enough_members: int | None = None) -> np.ndarray:
    """Shapley–Shubik index of each player (sums to 1)."""
    rule = CouncilRule("game", tuple(map(str, range(len(weights)))), tuple(map(int, weights)),
                       int(quota), min_members, enough_members)
    return _index(rule, "ssi")


def banzhaf(weights: Sequence[int], quota: int, *, min_members: int = 0,
            enough_members: int | None = None, normalised: bool = True) -> np.ndarray:
    """Banzhaf index: swings over all swings (``normalised``) or over 2^(n−1) (absolute)."""
    rule = CouncilRule("game", tuple(map(str, range(len(weights)))), tuple(map(int, weights)),
                       int(quota), min_members, enough_members)
    if normalised:
        return _index(rule, "banzhaf")
    return swings(rule) / 2.0 ** (len(weights) - 1)


def swings(rule: CouncilRule) -> np.ndarray:
    """Banzhaf swings (integers) of each member."""
    piv, _ = _pivots(rule)
    return piv.sum(axis=1)


def _index(rule: CouncilRule, index: str) -> np.ndarray:
    n = len(rule.members)
    # powerindex's calc_* divide by zero when one player alone reaches the quota: those
    # games (never a Council's) go to the generating function below
    if rule.plain and index in ("ssi", "banzhaf") and max(rule.weights) < rule.quota:
        import powerindex as px

        game = px.Game(quota=rule.quota, weights=list(rule.weights))
        if index == "ssi":
            game.calc_shapley_shubik()
            return np.asarray(game.shapley_shubik, dtype=float)
        game.calc_banzhaf()
        return np.asarray(game.banzhaf, dtype=float)
    piv, _ = _pivots(rule)
    if index == "banzhaf":
        s = piv.sum(axis=1).astype(float)
        return s / s.sum()
    k = np.arange(n)
    coef = np.exp(np.array([math.lgamma(j + 1) + math.lgamma(n - j) - math.lgamma(n + 1)
                            for j in k]))
    return piv @ coef


INDICES = ("ssi", "banzhaf", "votes")
"""``ssi`` Shapley–Shubik, ``banzhaf`` normalised Banzhaf, ``votes`` the vote (or population)
shares themselves."""


@lru_cache(maxsize=256)
def _council_power_cached(period: str, rule: str, index: str, pops: tuple | None
                          ) -> tuple[tuple[str, float], ...]:
    p = next(x for x in COUNCIL_PERIODS if x.name == period)
    game = council_rule(p.start, rule, populations=None if pops is None else dict(pops))
    if index == "votes":
        w = np.asarray(game.weights, float)
        values = w / w.sum()
    else:
        values = _index(game, index)
    return tuple(zip(game.members, map(float, values)))


def council_power(date: dt.date, rule: str, index: str = "ssi", *,
                  populations: Mapping[str, float] | None = None) -> dict[str, float]:
    """Each Council member's power (summing to 1) under ``rule`` on ``date``."""
    if index not in INDICES:
        raise ValueError(f"index {index!r}; expected one of {', '.join(INDICES)}")
    period = period_on(date)
    pops = None if populations is None else tuple(sorted(populations.items()))
    return dict(_council_power_cached(period.name, rule, index, pops))


SUPRANATIONAL = ("largest_state", "dropped", "procedure")
"""How the Commission (``com``) and the Parliament (``ep``) are weighed beside the Council:
``largest_state`` both at the power of the largest member (the DEU reviewers' setting that
scores 23.00 on the 351 issues); ``dropped`` both at 0 (Council-centric, Thomson & Hosli
2006); ``procedure`` the Commission at the largest member's power under every procedure and
the Parliament there only under co-decision (``COD``), at 0 under consultation, where its
opinion does not bind (accord's reading of the treaties, not a published estimate)."""

POWER = ("auto", "file", "ssi", "banzhaf", "votes", "equal")
"""Capability of DEU actors: ``file`` the ``c<actor>`` columns; ``ssi``/``banzhaf``/``votes``
the Council rule in force at the decision date; ``equal`` 1 for everyone (the old setting);
``auto`` ``file`` where the file has capability columns, else ``ssi`` where it codes the
voting rule, else ``equal``."""


def deu_capability(data, power: str = "auto", supranational: str = "largest_state"
                   ) -> tuple[np.ndarray, str, dict]:
    """``[n, a]`` capabilities of a :class:`~accord.scenario.io.deu.DeuData` (in percent of
    the Council's power), the resolved ``power`` and counts of what could not be weighed.

    An issue without a coded rule or date keeps equal capabilities (counted as
    ``power_unknown``); an actor with a stance but no vote in the Council of the day (not a
    member, not ``com``/``ep``) gets 0 (counted as ``stance_without_vote``)."""
    if power not in POWER:
        raise ValueError(f"power {power!r}; expected one of {', '.join(POWER)}")
    if supranational not in SUPRANATIONAL:
        raise ValueError(f"supranational {supranational!r}; expected one of "
                         f"{', '.join(SUPRANATIONAL)}")
    n, a = data.position.shape
    if power == "auto":
        power = ("file" if data.capability_given else
                 "ssi" if any(data.rule) and any(d is not None for d in data.decided) else "equal")
    notes = {"power_unknown": 0, "stance_without_vote": 0}
    if power == "file":
        return np.array(data.capability, float), power, notes
    cap = np.ones((n, a))
    if power == "equal":
        return cap, power, notes
    codes = [x.lower() for x in data.actors]
    for k in range(n):
        rule, date = data.rule[k], data.decided[k]
        if not rule or date is None:
            notes["power_unknown"] += 1
            continue
        try:
            p = council_power(date, rule, power)
        except ValueError:
            notes["power_unknown"] += 1
            continue
        top = max(p.values())
        proc = data.procedure[k].upper() if data.procedure else ""
        for j, x in enumerate(codes):
            if x == "com":
                v = 0.0 if supranational == "dropped" else top
            elif x == "ep":
                v = (top if supranational == "largest_state"
                     or (supranational == "procedure" and proc == "COD") else 0.0)
            else:
                v = p.get(x, 0.0)
                if x not in p and not np.isnan(data.position[k, j]):
                    notes["stance_without_vote"] += 1
            cap[k, j] = 100.0 * v
    return cap, power, notes


__all__ = ["SUPRANATIONAL", "POWER", "deu_capability", "CouncilRule", "CouncilPeriod", "COUNCIL_PERIODS", "RULES", "INDICES",
           "LISBON_POPULATION_2016", "period_on", "council_rule", "council_power",
           "shapley_shubik", "banzhaf", "swings"]
