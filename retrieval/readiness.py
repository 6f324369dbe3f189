"""Readiness for a load balancer (GET /readyz): a small list of named checks, each one thing a
worker needs before it should get traffic. A check is a name and a probe that returns None
when ready and raises (or returns a reason) otherwise; add one beside the others (a Redis check,
say) and /readyz reports it by name."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Check:
    name: str
    probe: object  # () -> None when ready, else a reason string; may raise


def checks(assistant):
    """The checks of this worker: the store is loaded, PostgreSQL answers when configured."""
    found = [Check("store", assistant.store_state)]
    if assistant.database is not None:
        found.append(Check("postgresql", assistant.database.ping))
    return found


def run(found):
    """(ready, {name: "ok" or the reason it is not ready}), every check run."""
    results = {}
    for check in found:
        try:
            problem = check.probe()
        except Exception as exc:  # a probe's failure is the answer, never a 500
            problem = str(exc) or type(exc).__name__
        results[check.name] = "ok" if problem is None else problem
    return all(v == "ok" for v in results.values()), results
