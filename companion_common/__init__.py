"""Code the three services share; each service's image copies this package next to its own.

``weak_secrets``, ``validation`` and ``visible_text`` need nothing beyond the standard library, and they are
all the bot imports from here: its image has neither FastAPI nor prometheus-client. ``asgi`` (error answers and the
middlewares both HTTP services install) and ``metrics`` (HTTP request metrics) are for the gateway and the
embedding service.
"""
