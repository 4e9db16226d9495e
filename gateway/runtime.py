"""Process-wide tuning of the gateway, applied once its clients are built.

- **One BLAS thread.** The gateway's matrix work is small: MMR's candidate similarities (about 100 x 384),
  the detector's exemplar scores (a few thousand x 384). OpenBLAS splits even these across every core and
  waits for its threads; on a small box whose cores Postgres, Redis and the embedding model share, those
  threads wait for a core. Measured on the 2-core build machine under load: MMR over 108 candidates took
  13.8 ms at the median and 29 ms at p95 with OpenBLAS's threads, 0.1 / 0.4 ms with one.
- **Startup objects frozen.** ``gc.freeze()`` moves everything alive after startup (modules, settings,
  the detector's model) out of the collector's generations, so a collection pause scans only what requests
  allocate.
"""

from __future__ import annotations

import gc
import logging

from threadpoolctl import threadpool_limits

logger = logging.getLogger(__name__)

BLAS_THREADS = 1


def limit_blas_threads() -> None:
    """Every BLAS library numpy loaded runs on ``BLAS_THREADS`` threads from now on (process-wide)."""
    threadpool_limits(limits=BLAS_THREADS, user_api="blas")


def tune_after_startup() -> None:
    """Call when every long-lived client is built, before the first request; ``release_at_shutdown`` undoes
    the freeze (a process that builds several apps, the tests, would otherwise keep each one's garbage)."""
    limit_blas_threads()
    gc.collect()
    gc.freeze()
    logger.debug("%d startup objects frozen out of garbage collection", gc.get_freeze_count())


def release_at_shutdown() -> None:
    gc.unfreeze()
