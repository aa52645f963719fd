"""A scenario that runs in a few seconds, shared by tests: three send-test connections idle 1, 2 and
3 min against a 2 min NAT timeout, at 60x."""

TINY = """name: tiny
topology: home-nat
time_scale: 60
captures: false
middleboxes:
  router: {idle_timeout: 2m}
probes:
  - {name: send, kind: tcp-send, options: {connections: 3, step: 1m, user_timeout: 2m}}
expect:
  send: {first_dead: 1}
"""
