"""Ray, imported only when a distributed function runs (``import echoic`` never needs it)."""
from __future__ import annotations

import logging
from typing import Any, Optional

from ..errors import UnsupportedError

#: What `pip install "echoic[ray]"` pins; the tests run against this version.
RAY_REQUIREMENT = "ray[data]==2.60.0"


def import_ray() -> Any:
    try:
        import ray
        import ray.data  # noqa: F401  (the batch pipeline needs it; fail here, not mid-job)
    except ImportError as exc:
        raise UnsupportedError(f"echoic.distributed needs Ray: pip install 'echoic[ray]' ({RAY_REQUIREMENT}); "
                               f"cause: {exc}") from None
    return ray


def connect(address: Optional[str] = None) -> bool:
    """Joins a Ray cluster unless this process already has: ``address`` "auto" (the cluster this
    machine belongs to, or $RAY_ADDRESS), "host:port" (that head node), or None (start a local
    Ray on this machine). Returns whether this call connected (then the caller disconnects)."""
    ray = import_ray()
    if ray.is_initialized():
        return False
    kwargs: dict = {"logging_level": logging.WARNING, "log_to_driver": False}
    if address is None:
        kwargs["include_dashboard"] = False
    ray.init(address=address, **kwargs)
    return True


def disconnect() -> None:
    ray = import_ray()
    ray.shutdown()
