"""Generated files in the exact DEU III layout, for tests, benchmarks and a first run.

The real DEU files are not bundled (their licence is unconfirmed); this writes a file a DEU
reader must handle the same way: 75 columns in the codebook's names, ``;``-delimited,
``999`` for every missing cell, salience 0 without a position for states that were not yet
members (and for some members without a stance), a few positions without a salience,
missing reference points and outcomes, proposals with several issues, and final acts spread
over the pre-Nice, Nice and Lisbon periods. Outcomes are drawn around a Council-power ×
salience weighted mean with noise and a pull to the scale's ends, so that the models have
something to find, but no model's answer is the truth.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np

from ..scenario.io.deu import METADATA
from .voting_power import ACCESSION_2004, ACCESSION_2007, ACCESSION_2013, EU15, council_power

ACTORS = ("com", "ep", "at", "be", "bu", "cr", "cy", "cz", "dk", "ee", "fi", "fr", "de", "el",
          "hu", "ie", "it", "lv", "lt", "lu", "mt", "nl", "pl", "pt", "ro", "si", "sk", "es",
          "se", "uk")
"""DEU's actor codes in file order."""

_PERIODS = ((dt.date(1997, 1, 1), dt.date(2004, 4, 1), 0.47),
            (dt.date(2004, 5, 5), dt.date(2004, 10, 20), 0.02),
            (dt.date(2004, 11, 10), dt.date(2013, 6, 1), 0.43),
            (dt.date(2015, 1, 10), dt.date(2019, 6, 1), 0.08))


def _members(date: dt.date) -> tuple[str, ...]:
    m = EU15
    if date >= dt.date(2004, 5, 1):
        m += ACCESSION_2004
    if date >= dt.date(2007, 1, 1):
        m += ACCESSION_2007
    if date >= dt.date(2013, 7, 1):
        m += ACCESSION_2013
    return m


def _ddmmyy(d: dt.date) -> str:
    return d.strftime("%d-%m-%y")


def write_synthetic_deu(path: str | Path, *, issues: int = 364, proposals: int = 141,
                        seed: int = 0, delimiter: str = ";", missing: str = "999",
                        noise: float = 18.0) -> Path:
    """Write a DEU III-layout file of ``issues`` rows in ``proposals`` proposals."""
    rng = np.random.default_rng(seed)
    path = Path(path)
    sizes = np.ones(proposals, int)
    extra = rng.multinomial(issues - proposals, rng.dirichlet(np.full(proposals, 0.8)))
    sizes += extra
    header = list(METADATA) + [f"p{x}" for x in ACTORS] + [f"s{x}" for x in ACTORS] + ["rp", "out"]
    lines = [delimiter.join(header)]
    k_issue = 0
    for k_prop, size in enumerate(sizes):
        period = rng.choice(len(_PERIODS), p=[w for *_, w in _PERIODS])
        lo, hi, _ = _PERIODS[period]
        final = lo + dt.timedelta(days=int(rng.integers(0, (hi - lo).days)))
        intro = final - dt.timedelta(days=int(rng.integers(200, 1200)))
        cod = rng.random() < 0.6
        prnr = f"{'d' if cod else 'n'}{intro.year % 100:02d}{k_prop:03d}"
        rule = "Unan" if rng.random() < 0.2 else ("QMV(10)" if rng.random() < 0.01 else "QMV")
        members = _members(final)
        power = council_power(final, rule)
        finact = missing if rng.random() < 0.01 else _ddmmyy(final)
        for j in range(size):
            k_issue += 1
            binary = rng.random() < 0.2
            pos = {}
            sal = {}
            for x in ACTORS:
                member = x in members or x in ("com", "ep")
                if not member:
                    sal[x] = 0.0  # DEU III: salience 0 for non-members, no position
                    continue
                if rng.random() < 0.15 or (x == "ep" and not cod and rng.random() < 0.5):
                    sal[x] = 0.0  # a member without a stance: a lone salience
                    continue
                pos[x] = float(rng.choice([0.0, 100.0]) if binary
                               else rng.choice([0, 10, 25, 30, 50, 60, 70, 75, 90, 100]))
                sal[x] = float(rng.choice([0, 30, 40, 50, 60, 70, 80, 90, 100]))
            if size > 2 and j == 0 and k_prop % 37 == 5:  # an issue with too few actors
                pos = dict(list(pos.items())[:2])
            w = {x: (power.get(x, max(power.values())) * sal[x]) for x in pos}
            tot = sum(w.values())
            mean = (sum(pos[x] * w[x] for x in pos) / tot if tot > 0
                    else float(np.mean(list(pos.values()))) if pos else 50.0)
            out = float(np.clip(mean + rng.normal(0, noise), 0, 100))
            if binary or rng.random() < 0.25:
                out = 100.0 if out >= 50 else 0.0
            rp = float(rng.choice([0, 0, 100, 50, 20]))
            cells = [str(k_prop + 1), str(k_issue), prnr, f"Proposal {k_prop + 1}",
                     f"{prnr}i{j + 1}", "Reg" if rng.random() < 0.5 else "Dir",
                     "Agri" if rng.random() < 0.3 else "IM", "COD" if cod else "CNS", rule,
                     str((3 if cod else 1) + (rule == "Unan")), str(size), _ddmmyy(intro), finact]
            ps = []
            for x in ACTORS:
                if x in pos and rng.random() < 0.005:  # a position without a salience
                    ps.append((f"{pos[x]:g}", missing))
                else:
                    ps.append((f"{pos[x]:g}" if x in pos else missing,
                               f"{sal[x]:g}" if x in sal else missing))
            cells += [p for p, _ in ps] + [s for _, s in ps]
            cells += [missing if rng.random() < 0.28 else f"{rp:g}",
                      missing if rng.random() < 0.03 else f"{round(out):d}"]
            lines.append(delimiter.join(cells))
    path.write_text("\n".join(lines) + "\n")
    return path


__all__ = ["write_synthetic_deu", "ACTORS"]
