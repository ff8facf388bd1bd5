"""Placeholder while the module is written."""

DEFAULT_THRESHOLD = 0.10


def compare_documents(*args: object, **kwargs: object) -> object:
    raise NotImplementedError
