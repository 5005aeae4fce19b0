"""Old names kept working for one release (0.2), with a DeprecationWarning that says the new one."""
from __future__ import annotations

import warnings
from typing import Optional, TypeVar

T = TypeVar("T")


def renamed_argument(owner: str, old: str, old_value: Optional[T], new: str, new_value: T) -> T:
    """The value of keyword ``new``, or of its deprecated spelling ``old`` when that was given."""
    if old_value is None:
        return new_value
    warnings.warn(f"{owner}({old}=...) is deprecated: use {new}=", DeprecationWarning, stacklevel=3)
    return old_value
