"""Ranking the providers that passed every check (see :mod:`switchboard.router.route`).

Each candidate gets three components, all in 0..1 and higher-is-better:

* ``cheapness``: ``(cheapest + 1) / (cost + 1)`` over the candidates' estimated costs
  in micro-dollars; 1.0 for the cheapest, toward 0 for dearer ones. The ratio does not
  depend on the currency scale, and the ``+ 1`` keeps free providers well defined.
* ``success``: the smoothed success rate on this task type, ``(s + 1) / (n + 2)``, so
  a provider without history scores 0.5 and one lucky run is not a perfect record.
* ``quality``: the provider's configured prior.

Strategies: ``cheapest`` ranks by estimated cost (ties: quality); ``best`` by success,
then quality, then cost; ``balanced`` by ``[routing.weights]``-weighted sum of the three
(ties: cost). Providers a route rule prefers come first, in the rule's order. Remaining
ties keep the providers' config order.
"""

from __future__ import annotations

from collections.abc import Mapping

from switchboard.config.schema import Weights
from switchboard.money import Micros
from switchboard.router.decision import Candidate
from switchboard.router.plan import ProviderFacts

Survivor = tuple[ProviderFacts, Micros, Micros]
"""A provider that passed every check, with its estimated and maximum cost."""

# place in the prefer list, three sort keys, config index, then the payload:
# facts, est_cost, max_cost, cheapness, success, score
_Row = tuple[int, float, float, float, int, ProviderFacts, Micros, Micros, float, float, float]


def score_formula(strategy: str, weights: Weights) -> str:
    """How ``strategy`` turns the breakdown into the score, for ``--explain``."""
    if strategy == "cheapest":
        return "cheapness (ties: higher quality first)"
    if strategy == "best":
        return "success (ties: quality, then lower cost)"
    return (
        f"{weights.cost:g} x cheapness + {weights.success:g} x success"
        f" + {weights.quality:g} x quality"
    )


def rank(
    kept: list[Survivor],
    strategy: str,
    weights: tuple[float, float, float],
    success: Mapping[str, tuple[int, int]],
    prefer: Mapping[str, int],
    prefer_note: str,
) -> list[Candidate]:
    """Order ``kept`` by ``strategy``; ``prefer`` maps a preferred provider to its place.

    ``weights`` are the balanced strategy's (cost, success, quality) weights.
    """
    if not kept:
        return []
    cheapest = min(item[1] for item in kept)
    w_cost, w_success, w_quality = weights
    unpreferred = len(prefer)
    rows: list[_Row] = []
    for f, est, max_cost in kept:
        history = success.get(f.name)
        rate = (history[0] + 1) / (history[1] + 2) if history else 0.5
        cheap = (cheapest + 1) / (est + 1)
        quality = f.quality
        place = prefer.get(f.name, unpreferred) if prefer else 0
        if strategy == "cheapest":
            score = cheap
            rows.append((place, est, -quality, 0, f.index, f, est, max_cost, cheap, rate, score))
        elif strategy == "best":
            score = rate
            rows.append(
                (place, -rate, -quality, est, f.index, f, est, max_cost, cheap, rate, score)
            )
        else:
            score = w_cost * cheap + w_success * rate + w_quality * quality
            rows.append((place, -score, est, 0, f.index, f, est, max_cost, cheap, rate, score))
    rows.sort()
    ranked = [
        Candidate(
            f.name,
            f.model,
            score,
            {"cheapness": cheap, "success": rate, "quality": f.quality, "total": score},
            est,
            max_cost,
            [*f.notes],
        )
        for place, _, _, _, _, f, est, max_cost, cheap, rate, score in rows
    ]
    if prefer:
        for candidate in ranked:
            if candidate.provider not in prefer:
                break
            candidate.reasons.insert(0, prefer_note)
    return ranked
