"""The simpy engine: segments and routes (:mod:`.network`), TCP endpoints (:mod:`.tcp`), kernel timers
(:mod:`.timers`), a conntrack table (:mod:`.conntrack`) and the world of one run (:mod:`.world`).

Every time is a real-world second. The engine knows no middlebox or probe kind: their models are
injected (:mod:`natsim.middleboxes`, :mod:`natsim.probes`); ``natsim.run.predict`` puts them together.
``docs/model.md`` states what is modelled and what is assumed.
"""
