"""The Routes rule, once, for validation's reachability check and for the model's legs and tariffs (DESIGN).

For a flow of material m from o to d, the Routes row that matches with the
highest score applies:

    score = 4·[material named] + 2·[origin named] + 1·[destination named]

("*" matches every region, a blank material every material), so the
patterns are tried from the highest score down. A flow that no row matches
is allowed at zero cost. A blank `allowed` is allowed; a blank transport
cost or tariff is 0. A later row for the same (origin, destination,
material) replaces an earlier one; the reader reports such rows as
duplicates.

Of each row only what a leg needs is kept: a case may have a row per lane.
"""

from __future__ import annotations

from collections.abc import Iterable
from itertools import chain, compress, groupby
from operator import itemgetter

from model.case.reader import Record, values_of

WILDCARD = "*"
Leg = tuple[float, float]  # (transport_usd_per_t, tariff_pct)


class RouteRules:
    """The Routes sheet's rule for any flow (o, d, m): `leg`, `tariff`, `ok`; for many at once: `destinations`, `legs`."""

    def __init__(self, origins: Iterable, destinations: Iterable, materials: Iterable, allowed: Iterable,
                 transport: Iterable, tariff: Iterable):
        """One value per Routes row in each column, blanks as None."""
        keys = list(zip(origins, destinations, materials))
        is_open = [ok is not False for ok in allowed]
        self._transport, self._tariff = list(transport), list(tariff)  # a leg's numbers are made when it is asked for
        # (origin, destination, material) -> the row's position, for rows allowed (open) and not (closed)
        rows = range(len(keys))
        self.open: dict[tuple, int] = dict(zip(compress(keys, is_open), compress(rows, is_open)))
        shut = [not ok for ok in is_open]
        self.closed: dict[tuple, int] = dict(zip(compress(keys, shut), compress(rows, shut)))
        if len(self.open) + len(self.closed) < len(keys) or not self.open.keys().isdisjoint(self.closed):
            # a key twice: the later row replaces the earlier
            self.open, self.closed = {}, {}
            for key, ok, k in zip(keys, is_open, rows):
                self.open.pop(key, None)
                self.closed.pop(key, None)
                (self.open if ok else self.closed)[key] = k
        self._memo: dict[tuple[str, str, str], tuple | None] = {}  # what `leg`, `tariff` and `ok` were asked about
        self._by_origin: dict[tuple, tuple[set, set]] | None = None  # see `destinations`

    @classmethod
    def from_records(cls, records: list[Record]) -> RouteRules:
        """From the Routes sheet's records as read (blanks still blank)."""
        return cls(*(values_of(records, c) for c in ("origin", "destination", "material", "allowed",
                                                     "transport_usd_per_t", "tariff_pct")))

    @classmethod
    def from_table(cls, table) -> RouteRules:
        """From a Case's Routes table (defaults applied)."""
        return cls(*(table[c] for c in ("origin", "destination", "material", "allowed", "transport_usd_per_t",
                                        "tariff_pct")))

    def _resolve(self, o: str, d: str, m: str) -> tuple[Leg | None, float] | None:
        """(leg, or None when closed; tariff) of the Routes row that applies to (o, d, m), None when no row matches."""
        for k in ((o, d, m), (o, WILDCARD, m), (WILDCARD, d, m), (WILDCARD, WILDCARD, m),
                  (o, d, None), (o, WILDCARD, None), (WILDCARD, d, None), (WILDCARD, WILDCARD, None)):
            row = self.open.get(k)
            if row is not None:
                leg = (float(self._transport[row] or 0.0), float(self._tariff[row] or 0.0))
                return leg, leg[1]
            row = self.closed.get(k)
            if row is not None:
                return None, float(self._tariff[row] or 0.0)
        return None

    def _rule(self, o: str, d: str, m: str) -> tuple[Leg | None, float] | None:
        key = (o, d, m)
        if key not in self._memo:
            self._memo[key] = self._resolve(o, d, m)
        return self._memo[key]

    def leg(self, o: str, d: str, m: str) -> Leg | None:
        """(transport_usd_per_t, tariff_pct) of an allowed leg, None when the leg is closed."""
        return _leg_of(self._rule(o, d, m))

    def ok(self, o: str, d: str, m: str) -> bool:
        """Whether the rule allows the flow."""
        return self.leg(o, d, m) is not None

    def tariff(self, o: str, d: str, m: str) -> float:
        """The tariff of the row matching (o, d, m), allowed or not: on tonnes of origin o re-exported to d."""
        r = self._rule(o, d, m)
        return 0.0 if r is None else r[1]

    def destinations(self, o: str, m: str, regions: set) -> set:
        """The regions d that ok(o, d, m) allows, for all of them at once: each score from the lowest up
        overrides the ones below it, a * row for every destination, a named row for its own."""
        if self._by_origin is None:  # (origin or *, material or None) -> (destinations named open, named closed)
            by: dict[tuple, tuple[set, set]] = {}
            for which, keys in ((0, self.open), (1, self.closed)):
                for group, run in groupby(keys, key=itemgetter(0, 2)):  # runs of rows of one origin, merged below
                    sets = by.get(group)  # a sheet usually lists an origin's rows together, but need not
                    if sets is None:
                        sets = by[group] = (set(), set())
                    sets[which].update(map(itemgetter(1), run))
            for sets in by.values():
                sets[0].discard(WILDCARD)  # a * destination is no named one
                sets[1].discard(WILDCARD)
            self._by_origin = by
        out = set(regions)  # no row matches: allowed
        for mat in (None, m):
            for origin in (WILDCARD, o):
                every = (origin, WILDCARD, mat)
                if every in self.open:
                    out = set(regions)
                elif every in self.closed:
                    out = set()
                named = self._by_origin.get((origin, mat))
                if named is not None:
                    out -= named[1]
                    out |= named[0] & regions
        return out

    def _open_by_default(self, m: str) -> bool:
        """Whether a pair no row names is allowed for m (the wildcard rows, or no row at all)."""
        for k in ((WILDCARD, WILDCARD, m), (WILDCARD, WILDCARD, None)):
            if k in self.open or k in self.closed:
                return k in self.open
        return True

    def _named(self, m: str, holders: set, users: set) -> set[tuple[str, str]]:
        """(holder, user) pairs that a row for m (or for every material) names by origin, destination or both."""
        cand = set()
        for o, d, mm in chain(self.open, self.closed):
            if mm not in (m, None):
                continue
            if o != WILDCARD and d != WILDCARD:
                if o in holders and d in users:
                    cand.add((o, d))
            elif o != WILDCARD:
                if o in holders:
                    cand |= {(o, u) for u in users}
            elif d != WILDCARD and d in users:
                cand |= {(h, d) for h in holders}
        return cand

    def legs(self, src: dict[str, set], use: dict[str, set]) -> dict[tuple[str, str, str], Leg]:
        """Allowed legs (o, d, m), o ≠ d, o able to hold m and d to use it -> (transport, tariff_pct).

        When the wildcard rows close unnamed pairs, only pairs some row names can be open, so only those are
        resolved; otherwise every (holder, user) pair is. Each pair is resolved once and not kept.
        """
        out = {}
        for m in sorted(set(src) & set(use)):
            holders, users = src[m], use[m]
            if self._open_by_default(m):
                pairs = ((o, d) for o in sorted(holders) for d in sorted(users))
            else:
                pairs = iter(sorted(self._named(m, holders, users)))
            for o, d in pairs:
                if o == d:
                    continue
                if (leg := _leg_of(self._resolve(o, d, m))) is not None:
                    out[o, d, m] = leg
        return out


def _leg_of(rule: tuple | None) -> Leg | None:
    """The leg a resolved Routes rule gives: open at zero cost when no row matches, None when closed."""
    return (0.0, 0.0) if rule is None else rule[0]
