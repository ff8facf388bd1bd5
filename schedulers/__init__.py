"""Scheduler strategies, one module each, plus the protocol they implement.

Every module here is loaded through the ``schedbench.schedulers`` entry-point group, the
same path a third-party plugin takes. Nothing in this package imports the harness
(``bench``): a scheduler sees only a clock and the rocket coroutines it is given.
"""
