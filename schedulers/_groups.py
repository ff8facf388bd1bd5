"""Exception groups from structured-concurrency loops (trio nurseries, anyio task groups).

Shared by the schedulers that run rockets in a nursery or task group: a failing rocket's
exception arrives wrapped in a group, and the harness reports the exception itself, as
asyncio's ``gather`` does, when it is the only one.
"""

from __future__ import annotations


def sole_exception(group: BaseExceptionGroup[BaseException]) -> BaseException:
    """The one leaf of a chain of single-exception groups, or the group itself."""
    leaf: BaseException = group
    while isinstance(leaf, BaseExceptionGroup) and len(leaf.exceptions) == 1:
        leaf = leaf.exceptions[0]
    return group if isinstance(leaf, BaseExceptionGroup) else leaf
