"""Routing: which provider should take a task, and why the others should not.

:class:`Router` is built once from the config and the resolved providers;
:meth:`Router.route` is a pure function of a task and :class:`RouterInputs`.
"""

from switchboard.router.decision import REJECTION_RULES, Candidate, Rejection, RouteDecision
from switchboard.router.route import HealthLike, Router, RouterInputs, present_keys
from switchboard.router.tasktype import BUILTIN_TASK_TYPES, Classifier, classify, task_types

__all__ = [
    "BUILTIN_TASK_TYPES",
    "REJECTION_RULES",
    "Candidate",
    "Classifier",
    "HealthLike",
    "Rejection",
    "RouteDecision",
    "Router",
    "RouterInputs",
    "classify",
    "present_keys",
    "task_types",
]
