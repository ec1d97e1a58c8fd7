"""Data residency by labels: a labelled task only runs on providers with the required tags."""

from __future__ import annotations

from switchboard.errors import PolicyDenied
from switchboard.policies.base import Policy, PolicyContext


class LabelPolicy(Policy):
    """``[routing].label_requires_tags`` enforced at run time, whatever picked the provider.

    The router already filters on it; this guard also covers a provider forced with
    ``--provider`` or swapped in code.
    """

    name = "labels"

    def before_run(self, ctx: PolicyContext) -> None:
        required = ctx.config.routing.label_requires_tags
        tags = ctx.provider.tags
        for label in sorted(ctx.task.labels):
            missing = sorted(set(required.get(label, ())) - tags)
            if missing:
                raise PolicyDenied(
                    self.name,
                    f"task labelled {label!r} needs a provider tagged {', '.join(missing)};"
                    f" {ctx.provider.name!r} is not",
                    hint=f"choose a provider with those tags, or add them to"
                    f" providers.{ctx.provider.name}.tags if it really is",
                )
