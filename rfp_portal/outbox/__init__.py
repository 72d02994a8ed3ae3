"""The outbox sender: composes due messages (``compose``), delivers them (``transports``, which
needs no Flask), and records what happened (``sender``). Rows get into the outbox through
``services/outbox.py``, in the transaction of the event that causes them."""
