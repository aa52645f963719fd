"""RFC 5780 NAT behaviour discovery: the ``nat-type`` probe (:mod:`.kinds`) and the STUN server of
``natsim serve --stun`` (:mod:`.stun_server`).

Layers inside: the judges (:mod:`.judges`, pure), the tests over any network (:mod:`.discovery`,
:mod:`.exchange`), the real network (:mod:`.udp`) and the server's answers (:mod:`.answers`), both on
aioice's codec (:mod:`.codec`).
"""
