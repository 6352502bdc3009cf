"""The registry as a PACT v3 host system: its labels served as ProductFootprints.

``ids`` (label id <-> footprint id), ``mapping`` (label -> ProductFootprint), ``models`` and
``services`` (PACT clients, access tokens, pagination cursors, events), ``views`` (the
``/auth/token``, ``/3/footprints`` and ``/3/events`` routes and PACT's own error bodies) and
``cli`` (``flask pact clients …``).
"""
