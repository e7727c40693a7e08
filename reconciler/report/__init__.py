"""Renderers: a plan (and later a drift) as text, markdown or JSON. They read, never decide."""
